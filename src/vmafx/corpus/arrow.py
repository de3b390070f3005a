"""pyarrow, imported lazily: it is the optional `corpus` extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from vmafx.errors import MissingExtraError

INSTALL = "pip install 'vmafx[corpus]'"


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtraError(
            "Corpus scoring reads and writes Parquet with pyarrow, which is not installed.",
            extra="corpus",
            command=INSTALL,
        ) from None


def pyarrow() -> ModuleType:
    """The `pyarrow` module, or a MissingExtraError naming the install command."""
    return _import("pyarrow")


def parquet() -> ModuleType:
    """The `pyarrow.parquet` module, or a MissingExtraError naming the install command."""
    return _import("pyarrow.parquet")
