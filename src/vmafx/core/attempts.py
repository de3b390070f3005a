"""Attempts: one record per claim of a job, saying who ran it, on what, and how it ended."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from vmafx.core.nodes import GpuInfo


class AttemptOutcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    #: The node gave the job back (drain); not counted as a lost lease.
    RELEASED = "released"
    #: The lease ran out; counted towards the lost-lease limit.
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Attribution:
    """What a node reports about how it ran an attempt (in its final report)."""

    gpu: GpuInfo | None = None
    encoder: str | None = None
    fallback: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One claim of a job by one node session; `number` is the job's attempt (fencing token)."""

    job_id: str
    number: int
    tenant: str
    session_id: str
    node_name: str
    host: str
    started_at: datetime
    gpu: GpuInfo | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    encoder: str | None = None
    fallback: bool = False
    ended_at: datetime | None = None
    outcome: AttemptOutcome | None = None
    error: str | None = None

    @property
    def where(self) -> str:
        """`host / GPU model` as the Jobs page shows it, e.g. `zampp2 / L4`."""
        host = self.host or self.node_name
        return f"{host} / {self.gpu.name}" if self.gpu else host
