"""What a job handler is given and gives back.

A handler runs one job of its kind to completion on a worker thread (ffmpeg blocks), watching
`JobContext.cancel` (the runner terminates ffmpeg when it is set) and calling
`JobContext.progress` as it goes. It returns a `JobOutput`, or raises a `VmafxError` that says
precisely what went wrong; the agent decides from the error whether the job failed or goes back
to be retried (a fault of this machine rather than of the job, see `vmafx.node.outcomes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from vmafx.core.jobs import Job, JsonObject
from vmafx.core.nodes import GpuInfo
from vmafx.core.specs import JobSpec
from vmafx.errors import UsageError
from vmafx.media.runner import CancelToken
from vmafx.node.placement import GpuPool


@dataclasses.dataclass(frozen=True, slots=True)
class JobProgress:
    """How far a job is: `fraction` in [0, 1] when the total is known, frames, speed, ETA,
    and what it does now (`phase`: encoding, scoring, decoding; `encoder` of an encode)."""

    fraction: float | None = None
    frames: int | None = None
    fps: float | None = None
    eta_s: float | None = None
    phase: str | None = None
    encoder: str | None = None

    @classmethod
    def of_frames(
        cls,
        done: int,
        total: int | None,
        elapsed_s: float,
        *,
        phase: str | None = None,
        encoder: str | None = None,
        span: tuple[float, float] = (0.0, 1.0),
    ) -> JobProgress:
        """From frames done out of `total` (None or 0 when unknown) after `elapsed_s` seconds.

        `span` maps this phase's own fraction into the job's (encoding 0-0.8 then scoring
        0.8-1 for an encode scored after), so a job's progress never runs backwards."""
        fps = done / elapsed_s if elapsed_s > 0 and done > 0 else None
        if not total or total <= 0:
            return cls(frames=done, fps=fps, phase=phase, encoder=encoder)
        own = min(1.0, max(0.0, done / total))
        low, high = span
        eta = (total - done) / fps if fps else None
        return cls(
            fraction=low + (high - low) * own,
            frames=done,
            fps=fps,
            eta_s=max(0.0, eta) if eta else eta,
            phase=phase,
            encoder=encoder,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Fallback:
    """A hardware encoder that failed and the encoder the job fell back to."""

    from_encoder: str
    to_encoder: str
    reason: str

    def to_json(self) -> JsonObject:
        return {"from": self.from_encoder, "to": self.to_encoder, "reason": self.reason}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobOutput:
    """A finished job: its result, and what the attempt is attributed to."""

    result: JsonObject
    #: The headline number (a score job's VMAF) for clients of the original API.
    score: float | None = None
    features: Mapping[str, float] = dataclasses.field(default_factory=dict)
    encoder: str | None = None
    gpu: GpuInfo | None = None
    fallback: Fallback | None = None


S = TypeVar("S", bound=JobSpec)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    job: Job
    #: The job's spec, parsed once into its typed form when the node took the job.
    spec: JobSpec
    #: Local paths the job names must resolve under one of these (none: not checked).
    scoring_roots: tuple[str, ...]
    cancel: CancelToken
    progress: Callable[[JobProgress], None]
    gpus: GpuPool
    #: Object URLs of the spec → URLs the controller signed for this claim (never logged).
    signed_inputs: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    signed_outputs: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def spec_as(self, kind: type[S]) -> S:
        """The typed spec, as the handler of `kind`'s jobs expects it."""
        if not isinstance(self.spec, kind):
            raise UsageError(
                f"job {self.job.id} is a {self.job.kind} job; this handler runs {kind.kind} jobs."
            )
        return self.spec


class Handler(Protocol):
    def run(self, context: JobContext) -> JobOutput:
        """Run the job on this thread; raise a VmafxError when it cannot be done."""
        ...
