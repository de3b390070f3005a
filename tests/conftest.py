"""Shared test helpers: fixture paths, the rule that a missing service skips locally but fails in
CI, the layer marker of each test folder, and the one async runner (anyio on asyncio)."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

MEDIA = Path(__file__).parent / "fixtures" / "media"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str) -> None:
    """Skip when `what` is missing locally; fail in CI, where everything must be installed."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing in CI; .ci/run must install it")
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def media() -> Path:
    return MEDIA


# --- layers and the one async runner ------------------------------------------------------------
#: The marker each top-level test folder gets, so `-m integration` selects tests/integration.
LAYERS = ("unit", "contract", "integration", "e2e", "browser")
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its folder's layer (`-m integration` selects tests/integration)."""
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every `async def` test on anyio's plugin, the one async runner (no per-file marker)."""
    if collector.istestfunction(obj, name) and inspect.iscoroutinefunction(obj):
        pytest.mark.usefixtures("anyio_backend")(pytest.mark.anyio(obj))


@pytest.fixture
def anyio_backend() -> str:
    """Every async test and fixture runs on asyncio (anyio's pytest plugin is the one runner)."""
    return "asyncio"


from tests.storage_server import seaweed_s3  # noqa: E402, F401 - the S3 server fixture
