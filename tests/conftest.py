"""Shared test helpers: fixture paths, and the rule that a missing service skips locally but fails in CI."""

from __future__ import annotations

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
