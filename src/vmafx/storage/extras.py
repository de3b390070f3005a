"""The optional SDK each URL scheme needs, imported only when such a URL is given."""

from __future__ import annotations

import importlib
from types import ModuleType

from vmafx.errors import MissingExtraError

#: scheme → (module to import, vmafx extra, what the extra installs)
SDKS: dict[str, tuple[str, str, str]] = {
    "s3": ("boto3", "s3", "boto3"),
    "gs": ("gcsfs", "gcs", "gcsfs"),
    "az": ("adlfs", "azure", "adlfs"),
    "sftp": ("sshfs", "sftp", "sshfs"),
}


def install_command(scheme: str) -> str:
    return f"pip install 'vmafx[{SDKS[scheme][1]}]'"


def require(scheme: str) -> ModuleType:
    """The SDK module for `scheme`, or MissingExtraError with the command that installs it."""
    module, extra, package = SDKS[scheme]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{scheme}:// URLs need {package}, which is not installed.",
            extra=extra,
            command=install_command(scheme),
        ) from None
