"""`Scheduler`: the default SchedulingPolicy, wiring matching, ordering, leases and fencing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job
from vmafx.core.nodes import NodeCapabilities, QueueSelection
from vmafx.core.policy import ReportVerdict, SchedulingPolicy
from vmafx.scheduler import fencing, leases, matching, ordering


@dataclasses.dataclass(frozen=True, slots=True)
class Scheduler:
    """Pure scheduling rules with their settings; give one to a JobStore when building it."""

    settings: leases.LeaseSettings = dataclasses.field(default_factory=leases.LeaseSettings)

    def open_queues(
        self,
        caps: NodeCapabilities,
        running: Mapping[str, int],
        wanted: Sequence[str] | None = None,
    ) -> QueueSelection:
        return matching.open_queues(caps, running, wanted)

    def can_run(self, job: Job, caps: NodeCapabilities) -> bool:
        return matching.can_run(job, caps)

    def order_key(self, job: Job) -> tuple[int, datetime, str]:
        return ordering.order_key(job)

    def lease_expiry(self, now: datetime) -> datetime:
        return now + self.settings.lease_ttl

    def session_expiry(self, now: datetime) -> datetime:
        return now + self.settings.session_ttl

    def after_lost_lease(self, job: Job, lost: Sequence[Attempt], now: datetime) -> Job:
        return leases.after_lost_lease(job, lost, now, self.settings)

    def check_report(
        self, job: Job, attempt: Attempt | None, number: int, session_id: str
    ) -> ReportVerdict:
        return fencing.check_report(job, attempt, number, session_id)


if TYPE_CHECKING:
    _conforms: SchedulingPolicy = Scheduler()
