"""The scheduling policy port: the rules a job store applies inside its transactions.

`vmafx.scheduler.Scheduler` is the implementation; a store receives one when it is built
(stores and the scheduler are siblings, so the store depends on this port, not on the module).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job
from vmafx.core.nodes import NodeCapabilities, QueueSelection


class ReportVerdict(StrEnum):
    """What a store does with a node's report for one attempt."""

    #: The reporting attempt holds the job: apply the report.
    APPLY = "apply"
    #: This attempt already ended the job: a repeated report, answered with the job as it is.
    REPEAT = "repeat"
    #: The job ended otherwise (cancelled) while this attempt ran: answered with the job as it is.
    SETTLED = "settled"


class SchedulingPolicy(Protocol):
    def open_queues(
        self,
        caps: NodeCapabilities,
        running: Mapping[str, int],
        wanted: Sequence[str] | None = None,
    ) -> QueueSelection:
        """The queues a node with `running` jobs per queue may take one more job from."""
        ...

    def can_run(self, job: Job, caps: NodeCapabilities) -> bool:
        """Whether a node with `caps` meets every hard requirement of `job`."""
        ...

    def order_key(self, job: Job) -> tuple[int, datetime, str]:
        """Sort key putting the job to claim first at the front."""
        ...

    def lease_expiry(self, now: datetime) -> datetime: ...

    def session_expiry(self, now: datetime) -> datetime: ...

    def after_lost_lease(self, job: Job, lost: Sequence[Attempt], now: datetime) -> Job:
        """The running `job` whose lease just expired: pending with backoff, or failed.

        `lost` lists every attempt of the job whose lease expired, the one just lost included.
        """
        ...

    def check_report(
        self, job: Job, attempt: Attempt | None, number: int, session_id: str
    ) -> ReportVerdict:
        """How to treat a report from attempt `number` of `session_id`; raises when it is stale."""
        ...
