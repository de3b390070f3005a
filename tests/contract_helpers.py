"""The contract suite's PostgreSQL fixtures for other layers' tests.

`tests/contract/conftest.py` is a conftest, not an importable module: a layer that needs its
fixtures (a fresh PostgreSQL database per test) loads it under a name of its own and re-exports
what it needs, so pytest registers the fixtures in that layer too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

CONTRACT_CONFTEST = Path(__file__).resolve().parent / "contract" / "conftest.py"


def load_contract_conftest(name: str) -> Any:
    """The contract suite's conftest, loaded as module `name` (one name per loading layer)."""
    spec = importlib.util.spec_from_file_location(name, CONTRACT_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
