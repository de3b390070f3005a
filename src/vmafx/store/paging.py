"""Opaque cursors for newest-first job listings: the (created_at, id) of the last job shown."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from vmafx.core.jobs import Job
from vmafx.errors import UsageError
from vmafx.store.port import MAX_PAGE

Position = tuple[datetime, str]


def encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, job_id = raw.split("|", 1)
        created = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise UsageError(
            f"cursor {cursor!r} is not valid.",
            hint="Pass back the next_cursor of the previous page unchanged.",
        ) from None
    if created.tzinfo is None:
        raise UsageError(f"cursor {cursor!r} is not valid.")
    return created, job_id


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"page size must lie in [1, {MAX_PAGE}], got {limit}.")
    return limit


def is_before(job: Job, position: Position) -> bool:
    """Whether `job` comes after `position` in newest-first order."""
    return (job.created_at, job.id) < position
