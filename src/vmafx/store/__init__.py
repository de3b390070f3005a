"""The job store: the `JobStore` port, an in-memory store, and SQL stores (SQLite, PostgreSQL).

The SQL store lives in `vmafx.store.sql` and imports SQLAlchemy; importing this package does
not, so a node or a test that only needs the port stays light.
"""

from vmafx.core.messages import JobPage
from vmafx.store.memory import InMemoryJobStore
from vmafx.store.opening import MEMORY_URL, open_job_store
from vmafx.store.port import JobQuery, JobStore, LeaseRenewal, QueueDepth

__all__ = [
    "MEMORY_URL",
    "InMemoryJobStore",
    "JobPage",
    "JobQuery",
    "JobStore",
    "LeaseRenewal",
    "QueueDepth",
    "open_job_store",
]
