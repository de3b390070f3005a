"""Job events: an append-only log per job that the UI and `/v1/jobs/{id}/events` stream."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    SUBMITTED = "submitted"
    CLAIMED = "claimed"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"
    REQUEUED = "requeued"
    LOG = "log"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobEvent:
    """One event; `seq` grows across the whole store, so it doubles as a resume cursor."""

    seq: int
    job_id: str
    tenant: str
    at: datetime
    type: EventType
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
