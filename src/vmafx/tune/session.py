"""One `vmafx tune crf` run on this machine: prior → search → delivery → history.

Takes its collaborators (an evaluator factory, the history, where to deliver) from the caller:
the CLI builds them from ffmpeg; the farm's `tune` job will build them from probe jobs (the
search itself, `vmafx.tune.search.search_crf`, takes any `evaluate` callable).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from vmafx.errors import FfmpegError, TargetUnreachableError
from vmafx.media.encoders import ENCODERS
from vmafx.tune.history import History
from vmafx.tune.prior import Record, predict
from vmafx.tune.search import Evaluate, Probe, SearchResult, SearchSettings, search_crf

log = logging.getLogger(__name__)


class TuneEvaluator(Protocol):
    """What a session needs of an evaluator (`FfmpegEvaluator` is the real one)."""

    segments: tuple[Any, ...]

    def __call__(self, crf: float, stage: str) -> Any: ...

    def deliver(self, crf: float, out: Path) -> int: ...


@dataclasses.dataclass(frozen=True)
class TuneRequest:
    encoder: str
    preset: str | None
    metric: str
    settings: SearchSettings
    out: Path | None = None


@dataclasses.dataclass(frozen=True)
class Fallback:
    encoder: str
    to: str
    reason: str


@dataclasses.dataclass(frozen=True)
class TuneReport:
    result: SearchResult
    encoder: str
    preset: str | None
    parameter: str
    input_frames: int
    prior_crf: float
    prior_source: str
    delivered: Path | None = None
    delivery_frames: int = 0
    fallback: Fallback | None = None
    #: What `vmaf` and the target are on (`--metric`: vmaf, vmaf_neg, vmaf_4k, p5).
    metric: str = "vmaf"

    @property
    def chosen(self) -> Probe | None:
        if self.result.crf is None:
            return None
        return next(p for p in self.result.probes if p.stage == "full" and p.crf == self.result.crf)

    def _spent(self) -> list[Probe]:
        """Probes that encoded now (those the cache served cost nothing this time)."""
        return [p for p in self.result.probes if not p.measurement.cached]

    def cost(self) -> float:
        """Frames encoded by this run (probes and delivery) ÷ the input's frames."""
        encoded = sum(p.measurement.frames_encoded for p in self._spent())
        return (encoded + self.delivery_frames) / self.input_frames

    def full_encodes(self) -> int:
        """Full-length encodes spent (a whole-input cheap probe counts; the delivered one too)."""
        count = sum(p.measurement.frames_encoded >= self.input_frames for p in self._spent())
        return count + (self.delivery_frames >= self.input_frames)

    def as_dict(self) -> dict[str, Any]:
        chosen = self.chosen
        m = chosen.measurement if chosen else None
        best = self.result.best
        return {
            "crf": self.result.crf,
            "parameter": self.parameter,
            "metric": self.metric,
            "vmaf": m.vmaf if m else None,
            "kbps": m.kbps if m else None,
            "size_bytes": m.size_bytes if m else None,
            "hit": self.result.hit,
            "encoder": self.encoder,
            "preset": self.preset,
            "full_encodes": self.full_encodes(),
            "cost": round(self.cost(), 3),
            "probes": [
                {
                    "crf": p.crf,
                    "vmaf": round(p.vmaf, 3),
                    "frames_encoded": p.measurement.frames_encoded,
                    "frames_scored": p.measurement.frames_scored,
                    "kind": p.measurement.kind,
                    "seconds": p.measurement.seconds,
                    "cached": p.measurement.cached,
                }
                for p in self.result.probes
            ],
            "reason": self.result.reason,
            "best": {"crf": best.crf, "vmaf": round(best.vmaf, 3)} if best else None,
            "prior": {"crf": round(self.prior_crf, 2), "source": self.prior_source},
            "output": str(self.delivered) if self.delivered else None,
            "fallback": dataclasses.asdict(self.fallback) if self.fallback else None,
        }


def software_fallback(encoder: str) -> str | None:
    """The software encoder of the same codec a failing hardware encoder falls back to."""
    info = ENCODERS[encoder]
    if not info.hardware:
        return None
    return next(e.name for e in ENCODERS.values() if e.codec == info.codec and not e.hardware)


def run_search(
    request: TuneRequest,
    make_evaluator: Callable[[str], TuneEvaluator],
    history: History,
    input_frames: int,
    parameter: Callable[[str], str],
) -> TuneReport:
    """Search (falling back to software once if a hardware encoder fails), deliver, remember."""
    try:
        return _run(request, make_evaluator, history, input_frames, parameter, None)
    except FfmpegError as error:
        fallback = software_fallback(request.encoder)
        if fallback is None:
            raise
        log.warning("%s failed mid-search; falling back to %s", request.encoder, fallback)
        reason = error.message
        moved = dataclasses.replace(request, encoder=fallback)
        note = Fallback(request.encoder, fallback, reason)
        return _run(moved, make_evaluator, history, input_frames, parameter, note)


def _run(
    request: TuneRequest,
    make_evaluator: Callable[[str], TuneEvaluator],
    history: History,
    input_frames: int,
    parameter: Callable[[str], str],
    fallback: Fallback | None,
) -> TuneReport:
    evaluator = make_evaluator(request.encoder)
    kind = "sample" if evaluator.segments else "subsampled"
    preset = request.preset or ""
    prior = predict(
        history.records(),
        encoder=request.encoder,
        preset=preset,
        metric=request.metric,
        target=request.settings.target,
        cheap_kind=kind,
    )
    evaluate: Evaluate = evaluator
    result = search_crf(evaluate, request.settings, prior)
    if result.crf is None:
        assert result.best is not None
        name = parameter(request.encoder)
        raise TargetUnreachableError(
            f"no {name} from {request.settings.lo:g} to {request.settings.hi:g} reaches "
            f"VMAF {request.settings.target:g} with {request.encoder}: the best measured is "
            f"{result.best.vmaf:.2f} at {name} {result.best.crf:g}.",
            best_crf=result.best.crf,
            best_vmaf=result.best.vmaf,
            hint="Lower --target, lower --min-crf, or use a slower --preset.",
        )
    history.add(
        Record(
            encoder=request.encoder,
            preset=preset,
            metric=request.metric,
            target=request.settings.target,
            crf=result.crf,
            slope=result.slope,
            sample_bias=result.sample_bias,
            cheap_kind=kind,
        )
    )
    frames = evaluator.deliver(result.crf, request.out) if request.out else 0
    return TuneReport(
        result=result,
        encoder=request.encoder,
        preset=request.preset,
        parameter=parameter(request.encoder),
        input_frames=input_frames,
        prior_crf=prior.crf,
        prior_source=prior.source,
        delivered=request.out,
        delivery_frames=frames,
        fallback=fallback,
        metric=request.metric,
    )
