"""Claim order: higher priority first, then older first, then id to break ties the same way
everywhere (the SQL store's ORDER BY says the same thing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vmafx.core.jobs import Job


def order_key(job: Job) -> tuple[int, datetime, str]:
    return (-job.priority, job.created_at, job.id)


def order_jobs(jobs: Iterable[Job]) -> list[Job]:
    """`jobs` in the order they are claimed."""
    return sorted(jobs, key=order_key)
