"""Pure scheduling policy: matching, ordering, leases and backoff, attempt fencing.

No I/O: every function takes the time it needs. The scheduler is a layer below the stores:
they call these functions inside their transactions, and hold a `Scheduler` (the lease
settings) given when they are built.
"""

from vmafx.scheduler.fencing import ReportVerdict, check_report
from vmafx.scheduler.leases import LeaseSettings, after_lost_lease, backoff_delay
from vmafx.scheduler.matching import explain_unschedulable, open_queues, why_not
from vmafx.scheduler.ordering import order_jobs, order_key
from vmafx.scheduler.policy import Scheduler

__all__ = [
    "LeaseSettings",
    "ReportVerdict",
    "Scheduler",
    "after_lost_lease",
    "backoff_delay",
    "check_report",
    "explain_unschedulable",
    "open_queues",
    "order_jobs",
    "order_key",
    "why_not",
]
