"""What the tools return: pydantic models (their JSON schemas are the tools' output schemas),
built from core values. Field names follow `vmafx jobs get --format json` and the HTTP API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from vmafx.core.attempts import Attempt
from vmafx.core.job_json import attempt_json, job_json, score_of
from vmafx.core.jobs import Job
from vmafx.core.messages import NodeView


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


class AttemptOut(BaseModel):
    number: int
    node_name: str
    host: str
    where: str = Field(description="`host / GPU model` this attempt ran on, e.g. `zampp2 / L4`.")
    gpu: str | None = Field(default=None, description="GPU model, when the attempt used one.")
    encoder: str | None = None
    fallback: bool = False
    outcome: str | None = Field(default=None, description="completed, failed, released, expired, …")
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        """The one codec's JSON of the attempt (`vmafx.core.job_json`), with the GPU's name."""
        body = attempt_json(attempt)
        gpu = attempt.gpu.name if attempt.gpu else None
        return cls.model_validate({**_known(cls, body), "gpu": gpu})


def _known(model: type[BaseModel], body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `body` that `model` shows."""
    return {name: body[name] for name in model.model_fields if name in body}


#: A score job's headline VMAF; an encode job's VMAF after encoding.
job_score = score_of


class JobOut(BaseModel):
    id: str
    state: str = Field(description="pending, running, completed, failed or cancelled.")
    kind: str
    queue: str
    priority: int
    tenant: str
    where: str | None = Field(default=None, description="`host / GPU` of the last attempt.")
    progress: float | None = Field(default=None, description="Fraction done, 0 to 1.")
    score: float | None = Field(
        default=None, description="Headline VMAF (pooled mean), once known."
    )
    pending_reason: str | None = Field(default=None, description="Why a pending job waits.")
    error: str | None = None
    batch_id: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = Field(
        default=None, description="The full result (pooled metrics per distorted input, versions…)."
    )
    attempts: list[AttemptOut] = Field(
        default_factory=list, description="Every attempt, oldest first: node, host, GPU."
    )

    @classmethod
    def of(cls, job: Job, attempts: Sequence[Attempt] = (), *, full: bool = True) -> JobOut:
        """The one codec's JSON of the job (`vmafx.core.job_json`), in the fields shown here;
        without `full`, no spec or result."""
        body = _known(cls, job_json(job, attempts))
        body["attempts"] = [AttemptOut.of(attempt) for attempt in attempts]
        if not full:
            body["spec"], body["result"] = {}, None
        return cls.model_validate(body)


class JobsOut(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


class CancelOut(BaseModel):
    message: str = Field(description="The controller's answer, e.g. `cancellation requested`.")
    job: JobOut


class NodeOut(BaseModel):
    id: str
    name: str
    state: str = Field(description="live, draining or offline.")
    host: str
    gpu_vendor: str
    gpus: list[str] = Field(description="GPU models with memory, e.g. `L4 (23034 MB)`.")
    encoders: list[str] = Field(description="Encoders verified on this node.")
    queues: list[str] = Field(description="Queues it takes jobs from (empty: every queue).")
    labels: dict[str, str]
    slots: int
    slots_in_use: int
    running_job_ids: list[str]
    last_seen_at: str | None = None

    @classmethod
    def of(cls, view: NodeView) -> NodeOut:
        caps = view.session.capabilities
        return cls(
            id=view.session.id,
            name=view.session.name,
            state=view.state.value,
            host=caps.host,
            gpu_vendor=caps.gpu_vendor,
            gpus=[f"{gpu.name} ({gpu.memory_mb} MB)" for gpu in caps.gpus],
            encoders=list(caps.encoders),
            queues=list(caps.queues),
            labels=dict(caps.labels),
            slots=caps.slots,
            slots_in_use=sum(view.slots_in_use.values()),
            running_job_ids=list(view.running_job_ids),
            last_seen_at=_iso(view.session.last_seen_at),
        )


class NodesOut(BaseModel):
    nodes: list[NodeOut]


class ScoreOut(BaseModel):
    """The same report as `vmafx score --format json` (reference, results with pooled metrics,
    versions), plus where it was computed and, for a farm job, its id and state."""

    ran_on: Literal["local", "farm"] = Field(
        description="local: this machine's ffmpeg; farm: a job on the controller's nodes."
    )
    reference: str
    results: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per distorted input: pooled metrics (mean, harmonic mean, percentiles…), "
        "frame counts, warnings. Empty while a farm job still runs.",
    )
    versions: dict[str, str] = Field(default_factory=dict, description="ffmpeg and libvmaf.")
    vmaf: float | None = Field(
        default=None, description="Headline VMAF of the first distorted input."
    )
    elapsed_s: float | None = None
    job_id: str | None = Field(default=None, description="The farm job (follow it with wait_job).")
    state: str = Field(
        default="completed", description="The farm job's state; local runs: completed."
    )
    where: str | None = Field(default=None, description="`host / GPU` the farm job ran on.")
    note: str | None = None


class PoolingNode(BaseModel):
    name: str
    state: str
    can_run: bool
    reasons: list[str] = Field(description="Why it cannot run the job (empty when it can).")
    slots_free: int


class PendingOut(BaseModel):
    job_id: str
    state: str
    queue: str
    requirements: dict[str, Any]
    pending_reason: str | None = Field(default=None, description="What the controller recorded.")
    runnable_on: list[str] = Field(description="Live nodes that could run it.")
    nodes: list[PoolingNode]
    summary: str = Field(description="One sentence for the user.")


class CorpusOut(BaseModel):
    batch_id: str
    total: int
    counts: dict[str, int] = Field(description="Jobs per state.")
    finished_fraction: float
    mean_vmaf: float | None = Field(
        default=None, description="Mean headline VMAF of completed jobs."
    )
    failed: list[dict[str, str]] = Field(description="Up to 20 failed jobs: id and error.")


class ModelOut(BaseModel):
    name: str
    description: str


class ModelsOut(BaseModel):
    models: list[ModelOut]
    note: str


class FeaturesOut(BaseModel):
    local_features: list[str] = Field(description="libvmaf feature names `score` takes locally.")
    farm_metrics: list[str] = Field(description="Metric names a farm score job takes.")
    note: str


class VersionsOut(BaseModel):
    vmafx: str
    mcp_sdk: str
    ffmpeg: str | None
    ffmpeg_path: str | None
    libvmaf: str | None = Field(
        default=None, description="From the last local score (every score result carries it)."
    )
    controller: str | None = Field(
        default=None, description="The farm's address; None: local only."
    )
    problem: str | None = Field(default=None, description="Why ffmpeg could not be inspected.")


class TuneCrfOut(BaseModel):
    """The same object as `vmafx tune crf --format json`, plus where it ran."""

    ran_on: Literal["local"] = Field(
        default="local", description="Always this MCP server's machine (its ffmpeg)."
    )
    crf: float | None = Field(description="The answer: the highest CRF (CQ/QP) reaching target.")
    parameter: str = Field(description="What the encoder's quality knob is called: crf, cq, qp.")
    vmaf: float | None = Field(description="VMAF of the answer's full encode, every frame scored.")
    kbps: float | None = None
    size_bytes: int | None = None
    hit: bool = Field(description="True when the VMAF lies in [target, target + tolerance].")
    encoder: str = Field(description="The encoder used (differs after a hardware fallback).")
    preset: str | None = None
    full_encodes: int = Field(description="Full-length encodes this run spent (delivery too).")
    cost: float = Field(description="Frames encoded by this run ÷ the input's frames.")
    probes: list[dict[str, Any]] = Field(
        description="Every probe: crf, vmaf, kind (sample/subsampled/full), frames, s, cached."
    )
    reason: str = Field(description="Why the search stopped, in words.")
    best: dict[str, Any] | None = None
    prior: dict[str, Any] | None = None
    output: str | None = Field(default=None, description="Where the answer was written (out).")
    fallback: dict[str, Any] | None = None


class TuneLadderOut(BaseModel):
    """The same object as `vmafx tune ladder --format json` (points, hull, rungs)."""

    ran_on: Literal["local"] = Field(
        default="local", description="Always this MCP server's machine (its ffmpeg)."
    )
    points: list[dict[str, Any]] = Field(
        description="Every measured encode: width, height, crf, kbps, vmaf."
    )
    hull: list[dict[str, Any]] = Field(
        description="The upper convex hull of (log bitrate, VMAF): the efficient points."
    )
    rungs: list[dict[str, Any]] = Field(description="The ladder's rungs, picked on the hull.")
    skipped: list[str] = Field(default_factory=list, description="Resolutions left out, and why.")
    encodes: int = Field(description="Encodes this run spent (cached points cost none).")
    scored_at: str = "source resolution (bicubic upscale)"
    hls: str | None = Field(default=None, description="The master playlist, when hls_dir given.")
