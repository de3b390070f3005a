"""The `mcp` SDK is the optional `mcp` extra: checked once; missing, the install command."""

from __future__ import annotations

import importlib

from vmafx.errors import MissingExtraError

INSTALL = "pip install 'vmafx[mcp]'"


def require_sdk() -> None:
    """Return when the `mcp` SDK imports, else raise MissingExtraError (exit 19)."""
    try:
        importlib.import_module("mcp.server.mcpserver")
    except ImportError:
        raise MissingExtraError(
            "`vmafx mcp` needs the Model Context Protocol SDK (the `mcp` package), "
            "which is not installed.",
            extra="mcp",
            command=INSTALL,
        ) from None
