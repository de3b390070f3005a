"""Opening a job store from its URL: `memory://`, `sqlite:///PATH` or `postgresql://…`."""

from __future__ import annotations

from vmafx.scheduler.policy import Scheduler
from vmafx.store.memory import InMemoryJobStore
from vmafx.store.port import JobStore

MEMORY_URL = "memory://"


def open_job_store(url: str, policy: Scheduler) -> JobStore:
    """The JobStore at `url`. SQL stores need their schema applied first (`upgrade(url)`).

    SQLAlchemy is imported only for SQL URLs, so a memory store works without the
    `controller` extra.
    """
    if url.startswith("memory:"):
        return InMemoryJobStore(policy)
    from vmafx.store.sql import SqlJobStore  # noqa: PLC0415 - keeps sqlalchemy optional

    return SqlJobStore(url, policy)
