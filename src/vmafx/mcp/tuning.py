"""The tuner on this machine for `tune_crf` and `tune_ladder`: the same `vmafx.tune.run`
functions as `vmafx tune crf|ladder`, run in a worker thread so the server keeps answering.

Each thing the evaluators do ("encode crf 28 (sample)", "score crf 28 (sample)") becomes a
progress notification. There is no farm tune job yet, so with a controller configured the tuner
still runs here, on the MCP server's machine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from vmafx.tune import run as tuner

#: Called on the event loop with (steps so far, what the tuner is doing now).
OnActivity = Callable[[int, str], Awaitable[None]]


class LocalTuning:
    """Runs one tuner run at a time (each already keeps every core busy)."""

    def __init__(self, make_context: tuner.MakeContext = tuner.TuneContext) -> None:
        self._make_context = make_context
        self._lock = anyio.Lock()

    async def _run(self, work: Callable[[Callable[[str], None]], Any], on: OnActivity) -> Any:
        steps = [0]

        async def forward(step: int, text: str) -> None:
            await on(step, text)

        def activity(text: str) -> None:  # in the worker thread
            steps[0] += 1
            anyio.from_thread.run(forward, steps[0], text)

        async with self._lock:
            await on(0, "starting")
            result = await anyio.to_thread.run_sync(lambda: work(activity), abandon_on_cancel=True)
            await on(steps[0] + 1, "done")
            return result

    async def crf(
        self,
        on: OnActivity,
        source: str,
        target: float,
        encoder: str,
        *,
        preset: str | None,
        metric: str,
        crf_step: float,
        tolerance: float,
        min_crf: float | None,
        max_crf: float | None,
        scale: str | None,
        out: str | None,
    ) -> dict[str, Any]:
        """`vmafx tune crf --format json`'s object."""
        size = tuner.parse_size(scale)

        def work(activity: Callable[[str], None]) -> dict[str, Any]:
            report = tuner.tune_crf(
                source, target, encoder, preset=preset, metric=metric, crf_step=crf_step,
                tolerance=tolerance, min_crf=min_crf, max_crf=max_crf, size=size,
                out=Path(out) if out else None, on_activity=activity,
                make_context=self._make_context,
            )  # fmt: skip
            return report.as_dict()

        result: dict[str, Any] = await self._run(work, on)
        return result

    async def ladder(
        self,
        on: OnActivity,
        source: str,
        encoder: str,
        *,
        preset: str | None,
        heights: tuple[int, ...],
        rungs: int | None,
        targets: tuple[float, ...],
        max_kbps: float | None,
        top_vmaf: float | None,
        min_gap: str | None,
        points: int,
        min_crf: float | None,
        max_crf: float | None,
        hls_dir: str | None,
    ) -> dict[str, Any]:
        """`vmafx tune ladder --format json`'s object (with `hls` when hls_dir is given)."""

        def work(activity: Callable[[str], None]) -> dict[str, Any]:
            run = tuner.tune_ladder(
                source, encoder, preset=preset, heights=heights, rungs=rungs, targets=targets,
                max_kbps=max_kbps, top_vmaf=top_vmaf, min_gap=min_gap, points=points,
                min_crf=min_crf, max_crf=max_crf, on_activity=activity,
                make_context=self._make_context,
            )  # fmt: skip
            extra = tuner.ladder_outputs(run, encoder, hls=Path(hls_dir) if hls_dir else None)
            return run.result.as_dict() | extra

        result: dict[str, Any] = await self._run(work, on)
        return result
