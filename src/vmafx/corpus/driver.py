"""`score_corpus`: score every clip of a manifest that is not finished yet, then write the table.

    open staging (lock, check settings, index finished clips, drop a torn last line)
    → the executor scores the clips still to do; each outcome is staged (fsynced) as it arrives
    → consistency check → feature table (atomic) → failures CSV → run manifest

Interrupt it at any point and run it again: finished clips are skipped, the rest scored. A run
whose clips all finished writes its output even when some failed; the summary says how many.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from vmafx import __version__
from vmafx.corpus import arrow
from vmafx.corpus.clips import ClipJob, ClipOutcome, ClipSettings, no_reference_meaningful
from vmafx.corpus.executor import ClipExecutor
from vmafx.corpus.manifest import Clip, Manifest
from vmafx.corpus.output import (
    OutputPaths,
    TableReport,
    consistency_error,
    write_failures,
    write_json,
    write_table,
)
from vmafx.corpus.staging import Staging

RUN_SCHEMA = "vmafx-corpus-run-v1"


class RunProgress(Protocol):
    """Told where a run starts and of every clip that finishes (a progress bar, a log)."""

    def start(self, total: int, finished: int, failed: int) -> None: ...

    def advance(self, outcome: ClipOutcome) -> None: ...


class NoProgress:
    def start(self, total: int, finished: int, failed: int) -> None:
        pass

    def advance(self, outcome: ClipOutcome) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class RunSummary:
    paths: OutputPaths
    total: int
    scored: int
    failed: int
    #: Clips finished by an earlier run and skipped by this one.
    resumed: int
    #: Clips this run scored (or tried to).
    attempted: int
    elapsed_s: float
    no_reference: int

    @property
    def rate(self) -> float:
        """Clips per second of wall-clock time in this run."""
        return self.attempted / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What a run is asked to do; everything else is derived."""

    manifest: Manifest
    out: Path
    settings: ClipSettings
    ffmpeg_version: str
    fresh: bool = False
    retry_failed: bool = True


def to_do(manifest: Manifest, staging: Staging, *, retry_failed: bool) -> list[Clip]:
    """Clips with no staged outcome, plus failed ones when they are to be retried."""
    wanted = {None, "failed"} if retry_failed else {None}
    return [clip for clip in manifest.clips if staging.state(clip.id) in wanted]


def score_corpus(
    inputs: RunInputs,
    executor: ClipExecutor,
    *,
    progress: RunProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunSummary:
    """Score what is left of the manifest, stage every outcome, write the outputs.

    The caller owns `executor` and closes it; on an interruption the clips in flight are
    cancelled first.
    """
    progress = progress or NoProgress()
    paths = OutputPaths(inputs.out)
    arrow.pyarrow()  # fail before scoring anything when the extra is missing
    started, started_at = clock(), datetime.now(UTC)
    fingerprint = {"settings": inputs.settings.fingerprint(), "ffmpeg": inputs.ffmpeg_version}
    with Staging.open(paths.staging, fingerprint, fresh=inputs.fresh) as staging:
        todo = to_do(inputs.manifest, staging, retry_failed=inputs.retry_failed)
        total = len(inputs.manifest.clips)
        failed_kept = sum(1 for c in inputs.manifest.clips if staging.state(c.id) == "failed")
        progress.start(total, total - len(todo), 0 if inputs.retry_failed else failed_kept)
        _run(todo, staging, executor, progress)
        table = write_table(inputs.manifest, staging, paths.out)
        write_failures(inputs.manifest, staging, paths.failures)
    summary = RunSummary(
        paths=paths,
        total=total,
        scored=table.rows,
        failed=table.failed,
        resumed=total - len(todo),
        attempted=len(todo),
        elapsed_s=clock() - started,
        no_reference=inputs.manifest.no_reference_count,
    )
    write_json(paths.run_manifest, run_manifest(inputs, executor, summary, table, started_at))
    return summary


def _run(todo: list[Clip], staging: Staging, executor: ClipExecutor, progress: RunProgress) -> None:
    """Stage each outcome as it arrives; on any interruption, stop the clips in flight."""
    expected = {clip.id for clip in todo}
    outcomes = executor.run(_jobs(todo))
    try:
        for outcome in outcomes:
            if outcome.id not in expected:
                raise consistency_error(
                    f"the executor returned clip {outcome.id!r}, which was not asked for or "
                    "came twice",
                    staging.folder,
                )
            expected.discard(outcome.id)
            staging.append(outcome)
            progress.advance(outcome)
    except BaseException:
        executor.cancel()
        raise
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()
    if expected:
        raise consistency_error(
            f"the executor returned no outcome for {len(expected)} clip(s)", staging.folder
        )


def _jobs(clips: list[Clip]) -> Iterator[ClipJob]:
    for clip in clips:
        yield ClipJob(clip.id, clip.distorted_path, clip.reference_path)


def run_manifest(
    inputs: RunInputs,
    executor: ClipExecutor,
    summary: RunSummary,
    table: TableReport,
    started_at: datetime,
) -> dict[str, Any]:
    """The run's record: inputs, options, versions, counts, time and rate."""
    manifest = inputs.manifest
    paths = summary.paths
    measured = list(table.measured_columns)
    return {
        "schema": RUN_SCHEMA,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "inputs": {"manifest": manifest.path, "format": manifest.format, "clips": summary.total},
        "outputs": {
            "features": str(paths.out),
            "failures": str(paths.failures),
            "staging": str(paths.staging),
        },
        "options": inputs.settings.as_dict() | {"retry_failed": inputs.retry_failed},
        "execution": executor.describe(),
        "versions": {
            "vmafx": __version__,
            "ffmpeg": inputs.ffmpeg_version,
            "libvmaf": table.libvmaf_version,
            "pyarrow": arrow.pyarrow().__version__,
        },
        "counts": {
            "clips": summary.total,
            "scored": summary.scored,
            "failed": summary.failed,
            "resumed": summary.resumed,
            "attempted_this_run": summary.attempted,
            "no_reference": summary.no_reference,
        },
        "elapsed_s": round(summary.elapsed_s, 3),
        "rate_clips_per_s": round(summary.rate, 4),
        "columns": {"measured": measured, "metadata": [n for n, _ in manifest.metadata_columns]},
        "no_reference": {
            "clips": summary.no_reference,
            "meaning": "scored against themselves: only these columns mean anything for them",
            "meaningful_columns": no_reference_meaningful(measured),
        },
    }
