"""Farm statistics drawn from the job store: the figures of the Stats page and `GET /v1/stats`.

One `FarmStats` answers one window `[since, until)` of one tenant:

- `throughput`: jobs that ended (completed or failed) per time bucket, kind, node and state;
- `queues`: jobs waiting or running now, per queue;
- `failures`: the commonest failure reasons (an error's first line, cut to 80 characters);
- `savings`: completed encodes that know their source size, per codec: source and output bytes;
- `vmaf`: completed encodes scored after encoding, per 5-point VMAF bin;
- `busy`: per node and GPU, the seconds its attempts ran inside the window (slot-seconds: a node
  running 4 jobs for an hour is busy 4 h, i.e. 4 jobs on average).

The SQL store computes each figure in one aggregating query (`vmafx.store.sql.stats`); the
in-memory store computes the same with `aggregate` below, which also defines the rounding both
must agree on (times are whole UTC epoch seconds, floored).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from vmafx.core.attempts import Attempt
from vmafx.core.jobs import Job, JobKind, JobState
from vmafx.errors import UsageError

#: Bucket sizes the API accepts, by name.
BUCKETS: Mapping[str, int] = {"15m": 900, "hour": 3600, "day": 86400}
MAX_BUCKETS = 2000
MAX_WINDOW = timedelta(days=400)
REASON_CHARS = 80
TOP_REASONS = 10
VMAF_BIN = 5
VMAF_BINS = 20
NO_NODE = "(none)"
NO_MESSAGE = "(no message)"


def epoch_s(at: datetime) -> int:
    """Whole UTC epoch seconds, floored (what the SQL stores compute too)."""
    return int(at.timestamp() // 1)


@dataclasses.dataclass(frozen=True, slots=True)
class StatsWindow:
    """`[since, until)` cut into buckets of `bucket_s` seconds (aligned on the epoch)."""

    since: datetime
    until: datetime
    bucket_s: int = 3600

    @classmethod
    def last(cls, now: datetime, *, hours: float = 24, bucket: str = "hour") -> StatsWindow:
        """The `hours` before `now`, with a bucket named in `BUCKETS`; a UsageError otherwise."""
        if bucket not in BUCKETS:
            raise UsageError(
                f"bucket {bucket!r} is not one of {', '.join(BUCKETS)}.",
                hint="E.g. bucket=hour for a day, bucket=day for a month.",
            )
        if not 0 < hours <= MAX_WINDOW.total_seconds() / 3600:
            raise UsageError(
                f"hours must be more than 0 and at most {MAX_WINDOW.days * 24}, got {hours}.",
                hint="E.g. hours=24 for the last day, hours=168 for the last week.",
            )
        window = cls(now - timedelta(hours=hours), now, BUCKETS[bucket])
        if window.bucket_count > MAX_BUCKETS:
            raise UsageError(
                f"{hours} hours in buckets of {bucket} make {window.bucket_count} buckets; "
                f"at most {MAX_BUCKETS} are drawn.",
                hint="Pick a larger bucket (bucket=day) or a shorter window.",
            )
        return window

    @property
    def first_bucket(self) -> int:
        return epoch_s(self.since) // self.bucket_s * self.bucket_s

    @property
    def bucket_count(self) -> int:
        return (epoch_s(self.until) - self.first_bucket) // self.bucket_s + 1

    def bucket_of(self, at: datetime) -> int:
        return epoch_s(at) // self.bucket_s * self.bucket_s

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.since <= at < self.until

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "bucket_s": self.bucket_s,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Throughput:
    """Jobs of `kind` that ended as `state` on `node` in the bucket starting at `bucket`."""

    bucket: int  # epoch seconds
    kind: str
    node: str
    state: str
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class QueueCount:
    queue: str
    state: str
    count: int
    oldest_created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class FailureReason:
    reason: str
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class Savings:
    """Completed encodes to `codec` that reported their source's size."""

    codec: str
    jobs: int
    source_bytes: int
    output_bytes: int

    @property
    def saved_bytes(self) -> int:
        return self.source_bytes - self.output_bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Busy:
    """Seconds attempts ran on `node` (and GPU `gpu_uuid`, "" for none) inside the window."""

    node: str
    gpu_uuid: str
    gpu_name: str
    attempts: int
    busy_s: int


@dataclasses.dataclass(frozen=True, slots=True)
class FarmStats:
    window: StatsWindow
    throughput: tuple[Throughput, ...] = ()
    queues: tuple[QueueCount, ...] = ()
    failures: tuple[FailureReason, ...] = ()
    savings: tuple[Savings, ...] = ()
    vmaf_bins: tuple[int, ...] = (0,) * VMAF_BINS
    busy: tuple[Busy, ...] = ()

    @property
    def failed(self) -> int:
        return sum(row.count for row in self.throughput if row.state == JobState.FAILED)

    @property
    def completed(self) -> int:
        return sum(row.count for row in self.throughput if row.state == JobState.COMPLETED)

    def to_json(self) -> dict[str, Any]:
        window = self.window
        seconds = max(1, epoch_s(window.until) - epoch_s(window.since))
        listed = sum(reason.count for reason in self.failures)
        return {
            "window": window.to_json(),
            "totals": {
                "completed": self.completed,
                "failed": self.failed,
                "saved_bytes": sum(row.saved_bytes for row in self.savings),
                "scored_encodes": sum(self.vmaf_bins),
            },
            "throughput": [
                {
                    "bucket": datetime.fromtimestamp(row.bucket, UTC).isoformat(),
                    "kind": row.kind,
                    "node": row.node,
                    "state": row.state,
                    "count": row.count,
                }
                for row in self.throughput
            ],
            "queues": [
                {
                    "queue": row.queue,
                    "state": row.state,
                    "count": row.count,
                    "oldest_created_at": row.oldest_created_at.isoformat(),
                }
                for row in self.queues
            ],
            "failures": [dataclasses.asdict(row) for row in self.failures],
            "failures_other": max(0, self.failed - listed),
            "savings": [
                {**dataclasses.asdict(row), "saved_bytes": row.saved_bytes} for row in self.savings
            ],
            "vmaf": {
                "bin_width": VMAF_BIN,
                "bins": [
                    {"low": index * VMAF_BIN, "count": count}
                    for index, count in enumerate(self.vmaf_bins)
                ],
            },
            "busy": [
                {**dataclasses.asdict(row), "average_jobs": round(row.busy_s / seconds, 3)}
                for row in self.busy
            ],
        }


def failure_reason(error: str | None) -> str:
    """The reason a failure is counted under: its first line, cut to `REASON_CHARS`."""
    line = (error or "").split("\n", 1)[0][:REASON_CHARS]
    return line or NO_MESSAGE


def vmaf_bin(value: float) -> int:
    """The 5-point bin of a VMAF score (100 goes in the top bin, below 0 in the first)."""
    return min(VMAF_BINS - 1, max(0, int(value // VMAF_BIN)))


def fold_bins(counts: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """(raw bin, count) pairs from a store → the `VMAF_BINS` counts (out-of-range folded in)."""
    bins = [0] * VMAF_BINS
    for raw, count in counts:
        bins[min(VMAF_BINS - 1, max(0, raw))] += count
    return tuple(bins)


def top_reasons(counts: Mapping[str, int]) -> tuple[FailureReason, ...]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]
    return tuple(FailureReason(reason, count) for reason, count in ranked)


def _vmaf_after(job: Job) -> float | None:
    after = (job.result or {}).get("score_after")
    value = after.get("vmaf") if isinstance(after, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _sizes(job: Job) -> tuple[str, int, int] | None:
    result = job.result or {}
    source, output = result.get("source_bytes"), result.get("bytes")
    if not isinstance(source, int) or not isinstance(output, int):
        return None
    return str(result.get("codec") or ""), source, output


def clipped_seconds(window: StatsWindow, start: datetime, end: datetime | None) -> int:
    """Whole seconds of `[start, end or until)` inside the window (0 when outside)."""
    low = max(epoch_s(start), epoch_s(window.since))
    high = min(epoch_s(end or window.until), epoch_s(window.until))
    return max(0, high - low)


def aggregate(
    jobs: Sequence[Job],
    attempts: Mapping[str, Mapping[int, Attempt]],
    window: StatsWindow,
    tenant: str,
) -> FarmStats:
    """Every figure of `FarmStats` from plain jobs and attempts (the in-memory store's way)."""
    mine = [job for job in jobs if job.tenant == tenant]
    ended = (JobState.COMPLETED, JobState.FAILED)
    throughput: Counter[tuple[int, str, str, str]] = Counter()
    reasons: Counter[str] = Counter()
    savings: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    bins: Counter[int] = Counter()
    queues: Counter[tuple[str, str]] = Counter()
    oldest: dict[tuple[str, str], datetime] = {}
    for job in mine:
        if not job.state.is_terminal:
            key = (job.queue, job.state.value)
            queues[key] += 1
            oldest[key] = min(oldest.get(key, job.created_at), job.created_at)
            continue
        if job.state not in ended or not window.holds(job.finished_at):
            continue
        assert job.finished_at is not None
        last = attempts.get(job.id, {}).get(job.attempt)
        node = last.node_name if last is not None else NO_NODE
        bucket = window.bucket_of(job.finished_at)
        throughput[bucket, job.kind.value, node, job.state.value] += 1
        if job.state is JobState.FAILED:
            reasons[failure_reason(job.error)] += 1
            continue
        if job.kind is not JobKind.ENCODE:
            continue
        sizes = _sizes(job)
        if sizes is not None:
            row = savings[sizes[0]]
            row[0] += 1
            row[1] += sizes[1]
            row[2] += sizes[2]
        vmaf = _vmaf_after(job)
        if vmaf is not None:
            bins[int(vmaf // VMAF_BIN)] += 1
    busy: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    tenant_jobs = {job.id for job in mine}
    for job_id, numbered in attempts.items():
        if job_id not in tenant_jobs:
            continue
        for attempt in numbered.values():
            if attempt.started_at >= window.until or (
                attempt.ended_at is not None and attempt.ended_at <= window.since
            ):
                continue
            gpu = attempt.gpu
            held = (attempt.node_name, gpu.uuid if gpu else "", gpu.name if gpu else "")
            busy[held][0] += 1
            busy[held][1] += clipped_seconds(window, attempt.started_at, attempt.ended_at)
    return FarmStats(
        window=window,
        throughput=tuple(
            Throughput(bucket, kind, node, state, count)
            for (bucket, kind, node, state), count in sorted(throughput.items())
        ),
        queues=tuple(
            QueueCount(queue, state, count, oldest[queue, state])
            for (queue, state), count in sorted(queues.items())
        ),
        failures=top_reasons(reasons),
        savings=tuple(
            Savings(codec, row[0], row[1], row[2]) for codec, row in sorted(savings.items())
        ),
        vmaf_bins=fold_bins(bins.items()),
        busy=tuple(
            Busy(node, uuid, name, row[0], row[1])
            for (node, uuid, name), row in sorted(busy.items())
        ),
    )
