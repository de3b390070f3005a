"""`Scheduler`: the lease settings and the rules that need them; a store is built with one.

The rest of the policy is plain functions the stores call directly (`matching`, `ordering`,
`fencing`): the scheduler is a layer below the store, so no port stands between them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job
from vmafx.scheduler import leases
from vmafx.scheduler.cadence import Stretch


@dataclasses.dataclass(frozen=True, slots=True)
class Scheduler:
    """Scheduling settings (lease and session lengths, retry backoff) for a JobStore."""

    settings: leases.LeaseSettings = dataclasses.field(default_factory=leases.LeaseSettings)
    #: The floor of both TTLs as heartbeats slow down in a large farm (`cadence`).
    stretch: Stretch = dataclasses.field(default_factory=Stretch, compare=False)

    @property
    def lease_ttl(self) -> timedelta:
        return max(self.settings.lease_ttl, self.stretch.floor)

    @property
    def session_ttl(self) -> timedelta:
        return max(self.settings.session_ttl, self.stretch.floor)

    def lease_expiry(self, now: datetime) -> datetime:
        return now + self.lease_ttl

    def session_expiry(self, now: datetime) -> datetime:
        return now + self.session_ttl

    def after_lost_lease(self, job: Job, lost: Sequence[Attempt], now: datetime) -> Job:
        """The running `job` whose lease just expired: pending with backoff, or failed.

        `lost` lists every attempt of the job whose lease expired, the one just lost included.
        """
        return leases.after_lost_lease(job, lost, now, self.settings)
