"""The MCP server: every tool and resource, each a thin call into `jobs`, `local` or `catalog`.

Tool input schemas come from the typed signatures (with `Field` descriptions), output schemas
from the `schemas` models. A `VmafxError` becomes a tool error (`isError`) whose text is the
CLI's message and hint (`ToolError`); anything else is the SDK's generic crash message.
Without a farm only the local tools are listed, so a model is never offered a tool that can
only fail.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from vmafx import __version__
from vmafx.client.port import ControllerClient
from vmafx.core.jobs import JobState
from vmafx.core.scores import headline_score
from vmafx.errors import VmafxError
from vmafx.mcp import catalog, jobs
from vmafx.mcp.callers import bearer_of
from vmafx.mcp.farm import Farm
from vmafx.mcp.local import LocalScoring, score_request
from vmafx.mcp.resources import add_resources
from vmafx.mcp.schemas import (
    CancelOut,
    CorpusOut,
    FeaturesOut,
    JobOut,
    JobsOut,
    ModelsOut,
    NodesOut,
    PendingOut,
    ScoreOut,
    TuneCrfOut,
    TuneLadderOut,
    VersionsOut,
)
from vmafx.mcp.tuning import LocalTuning

P = ParamSpec("P")
T = TypeVar("T")
INSTRUCTIONS = """vmafx measures video quality with the real libvmaf (VMAF, PSNR, SSIM…).
Use `score` to compare encodes with their reference; `tune_crf` finds the cheapest encode
that reaches a VMAF target and `tune_ladder` builds a per-title bitrate ladder (both run on this
server's machine). With a farm configured, long work is a job:
tools return a job id at once; follow it with `wait_job` (progress notifications), inspect it
with `get_job`, and ask `explain_pending` why it waits. Paths are file paths as the scoring
machine (or the farm's nodes) see them."""
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

JobId = Annotated[str, Field(description="The job id (a unique prefix of 4+ characters will do).")]
Paths = Annotated[
    list[str],
    Field(min_length=1, max_length=32, description="One or more distorted (encoded) videos."),
]
Models = Annotated[
    list[str],
    Field(
        description="libvmaf models: built-in names (see list_models) or model JSON files.",
        max_length=8,
    ),
]
Features = Annotated[
    list[str],
    Field(
        description="Extra metrics, e.g. psnr, float_ssim, float_ms_ssim, cambi (list_features).",
        max_length=16,
    ),
]


def tool_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A VmafxError raised by the tool becomes a tool error with the CLI's exact text."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except VmafxError as error:
            raise ToolError(str(error)) from None

    return wrapper


def build_server(
    farm: Farm | None,
    local: LocalScoring | None = None,
    tuning: LocalTuning | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer[Any]:
    """The server with the local tools always and the farm tools when `farm` is given; with
    `token_verifier` and `auth`, HTTP callers must show a bearer token it accepts."""
    local = local or LocalScoring()
    server: MCPServer[Any] = MCPServer(
        "vmafx",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
        token_verifier=token_verifier,
        auth=auth,
    )
    _local_tools(server, farm, local)
    _tune_tools(server, tuning or LocalTuning())
    if farm is not None:
        _farm_tools(server, farm)
        add_resources(server, farm)
    return server


def _local_tools(server: MCPServer[Any], farm: Farm | None, local: LocalScoring) -> None:
    where = "on the farm (a job)" if farm else "on this machine"

    @server.tool(
        annotations=WRITES if farm else READ_ONLY,
        description=(
            f"Score DISTORTED videos against a REFERENCE with the real libvmaf, {where}. Returns "
            "pooled VMAF (mean, harmonic mean, 1%/5% lows…) and any extra metrics per distorted "
            "input, like `vmafx score --format json`. On a farm it waits up to wait_s; if the job "
            "is still running it returns its job_id: follow it with wait_job."
        ),
    )
    @tool_errors
    async def score(
        reference: Annotated[str, Field(description="The reference (original) video path.")],
        distorted: Paths,
        ctx: Context[Any, Any],
        models: Models = ["vmaf_v0.6.1"],  # noqa: B006 - pydantic copies defaults
        features: Features = [],  # noqa: B006
        subsample: Annotated[int, Field(ge=1, le=1000, description="Score every Nth frame.")] = 1,
        scale: Annotated[
            bool, Field(description="Scale a distorted input of another size (bicubic).")
        ] = True,
        wait_s: Annotated[
            float, Field(ge=0, le=3600, description="Farm only: how long to wait for the result.")
        ] = 300,
        check_inputs: Annotated[
            bool, Field(description="Farm only: check the files exist on this machine first.")
        ] = True,
    ) -> ScoreOut:
        if farm is None:
            request = score_request(
                reference,
                distorted,
                models=models,
                features=features,
                subsample=subsample,
                scale=scale,
                timeout_s=None,
            )

            async def frames(done: int, total: int) -> None:
                await ctx.report_progress(done, total or None, "frames scored")

            report = await local.score(request, frames)
            body = report.as_dict()
            return ScoreOut(
                ran_on="local",
                vmaf=headline_score(body),
                elapsed_s=round(report.elapsed_s, 3),
                **body,
            )
        bearer = bearer_of(ctx)
        job_request = jobs.score_job_request(
            reference,
            distorted,
            models=models,
            features=features,
            subsample=subsample,
            scale=scale,
            check_inputs=check_inputs,
        )

        async def work(client: ControllerClient) -> ScoreOut:
            job = (await client.submit_job(job_request)).job
            details = await jobs.follow(client, job.id, wait_s, _progress(ctx))
            return _farm_score(
                details.job, details.attempts[-1].where if details.attempts else None
            )

        return await farm.call(work, bearer)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def list_models() -> ModelsOut:
        """The libvmaf models `score` accepts by name (VMAF variants for 1080p, 4K, phone…)."""
        return catalog.models()

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def list_features() -> FeaturesOut:
        """The extra metrics `score` can compute beside VMAF (PSNR, SSIM, MS-SSIM, CAMBI…)."""
        return catalog.features(farm is not None)

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def versions() -> VersionsOut:
        """Versions of vmafx, the MCP SDK, ffmpeg and libvmaf, and the farm's address."""
        return catalog.versions(local.last_versions, farm.where if farm else None)


HERE_EVEN_WITH_A_FARM = (
    " It runs on the machine this MCP server runs on, with its ffmpeg, even when a farm is "
    "configured (there is no farm tune job yet), so paths are as this machine sees them."
)
Heights = Annotated[
    list[int],
    Field(
        min_length=1,
        max_length=12,
        description="Resolutions to measure, as heights (above the source's are skipped).",
    ),
]


def _tune_tools(server: MCPServer[Any], tuning: LocalTuning) -> None:
    @server.tool(
        annotations=WRITES,
        description=(
            "Find the cheapest encode of SOURCE that reaches a VMAF TARGET: the highest CRF "
            "(CQ/QP for hardware encoders) whose VMAF over the whole source is at least target, "
            "with as few full encodes as possible (cheap sample probes first, then full encodes "
            "scored on every frame). Returns what `vmafx tune crf --format json` prints: crf, "
            "vmaf, kbps, size_bytes, full_encodes, probes, cost, hit, encoder, preset. Takes "
            "minutes on long or large inputs; sends a progress notification per probe step. "
            "Probes are cached: calling again with the same arguments encodes nothing. If no "
            "CRF reaches the target the error names the best VMAF and its CRF. To compare "
            "existing encodes use `score` instead." + HERE_EVEN_WITH_A_FARM
        ),
    )
    @tool_errors
    async def tune_crf(
        source: Annotated[str, Field(description="The input to encode (the VMAF reference).")],
        target: Annotated[
            float, Field(description="VMAF to reach, 0–100 (93: transparent for most viewers).")
        ],
        encoder: Annotated[
            str,
            Field(description="ffmpeg encoder: libx264, libx265, libsvtav1, libvpx-vp9, …"),
        ],
        ctx: Context[Any, Any],
        preset: Annotated[
            str | None, Field(description="Encoder preset (slow, veryfast, 6…).")
        ] = None,
        metric: Annotated[
            Literal["vmaf", "vmaf_neg", "vmaf_4k", "p5"],
            Field(description="What must reach target (p5: the 5% low of per-frame VMAF)."),
        ] = "vmaf",
        crf_step: Annotated[
            float | None, Field(gt=0, description="Grid step of the answer (default 1).")
        ] = None,
        tolerance: Annotated[
            float, Field(ge=0, description="Stop at VMAF in [target, target+tolerance].")
        ] = 0,
        min_crf: Annotated[float | None, Field(description="Lowest CRF (best quality).")] = None,
        max_crf: Annotated[float | None, Field(description="Highest CRF (smallest file).")] = None,
        scale: Annotated[
            str | None, Field(description="Encode at WIDTHxHEIGHT (scored at the source's).")
        ] = None,
        out: Annotated[
            str | None, Field(description="Write the chosen encode to this path.")
        ] = None,
    ) -> TuneCrfOut:
        body = await tuning.crf(
            _activity(ctx), source, target, encoder, preset=preset, metric=metric,
            crf_step=1.0 if crf_step is None else crf_step, tolerance=tolerance,
            min_crf=min_crf, max_crf=max_crf, scale=scale, out=out,
        )  # fmt: skip
        return TuneCrfOut(**body)

    @server.tool(
        annotations=WRITES,
        description=(
            "Build a per-title bitrate ladder for SOURCE: encode it at a few CRFs per resolution, "
            "score each after upscaling to the source's size, take the upper convex hull of "
            "(log bitrate, VMAF) and pick rungs on it (by count, by VMAF targets, or spread). "
            "Returns what `vmafx tune ladder --format json` prints: points, hull, rungs (width, "
            "height, crf, kbps, vmaf each). Spends one full encode per point: minutes on long "
            "inputs; sends a progress notification per step. With hls_dir it also writes the "
            "rungs as HLS renditions and a master playlist." + HERE_EVEN_WITH_A_FARM
        ),
    )
    @tool_errors
    async def tune_ladder(
        source: Annotated[str, Field(description="The input (the VMAF reference).")],
        encoder: Annotated[
            str,
            Field(description="ffmpeg encoder: libx264, libx265, libsvtav1, libvpx-vp9, …"),
        ],
        ctx: Context[Any, Any],
        resolutions: Heights = [1080, 720, 540, 360, 240],  # noqa: B006 - pydantic copies
        rungs: Annotated[
            int | None, Field(ge=1, le=20, description="How many rungs to pick (default 4).")
        ] = None,
        targets: Annotated[
            list[float] | None,
            Field(max_length=20, description="A rung per VMAF target, e.g. [95, 90, 85, 75]."),
        ] = None,
        max_kbps: Annotated[float | None, Field(ge=1, description="Top bitrate.")] = None,
        top_vmaf: Annotated[
            float | None, Field(description="Spend no bits above this VMAF.")
        ] = None,
        min_gap: Annotated[
            str | None,
            Field(description="Between rungs: a bitrate ratio such as '1.5x' or VMAF such as '6'."),
        ] = None,
        preset: Annotated[str | None, Field(description="Encoder preset.")] = None,
        points: Annotated[int, Field(ge=2, le=30, description="Encodes per resolution.")] = 6,
        min_crf: Annotated[float | None, Field(description="Lowest CRF measured.")] = None,
        max_crf: Annotated[float | None, Field(description="Highest CRF measured.")] = None,
        hls_dir: Annotated[
            str | None,
            Field(description="Also write the rungs as HLS and master.m3u8 in this folder."),
        ] = None,
    ) -> TuneLadderOut:
        body = await tuning.ladder(
            _activity(ctx), source, encoder, preset=preset, heights=tuple(resolutions),
            rungs=rungs, targets=tuple(targets or ()), max_kbps=max_kbps, top_vmaf=top_vmaf,
            min_gap=min_gap, points=points, min_crf=min_crf, max_crf=max_crf, hls_dir=hls_dir,
        )  # fmt: skip
        return TuneLadderOut(**body)


def _activity(ctx: Context[Any, Any]) -> Callable[[int, str], Awaitable[None]]:
    async def report(step: int, message: str) -> None:
        await ctx.report_progress(step, None, message)

    return report


def _progress(ctx: Context[Any, Any]) -> jobs.OnJobProgress:
    async def report(done: float, message: str) -> None:
        await ctx.report_progress(done, 100, message)

    return report


def _farm_score(job: Any, where: str | None) -> ScoreOut:
    if job.state is JobState.COMPLETED:
        result = job.result or {}
        return ScoreOut(
            ran_on="farm",
            reference=str(job.spec.get("reference", "")),
            results=jobs.result_items(job),
            versions=dict(result.get("versions") or {}),
            vmaf=headline_score(result),
            elapsed_s=result.get("elapsed_s"),
            job_id=job.id,
            state=job.state.value,
            where=where,
        )
    if job.is_terminal:
        lines = (job.error or "").splitlines()
        raise VmafxError(
            f"job {job.id} {job.state.value}: {lines[0] if lines else 'no reason given'}"
        )
    return ScoreOut(
        ran_on="farm",
        reference=str(job.spec.get("reference", "")),
        job_id=job.id,
        state=job.state.value,
        where=where,
        note=f"still {job.state.value}; call wait_job with job_id {job.id} for the result.",
    )


def _farm_tools(server: MCPServer[Any], farm: Farm) -> None:
    @server.tool(annotations=WRITES)
    @tool_errors
    async def submit_job(
        kind: Annotated[
            Literal["score", "encode", "thumbnail", "filmstrip", "infer", "health"],
            Field(description="What the job does."),
        ],
        spec: Annotated[
            dict[str, Any],
            Field(
                description=(
                    'The job\'s spec, e.g. score: {"reference": "/media/ref.mp4", "distorted": '
                    '["/media/crf28.mp4"]}; encode: {"source": "/media/master.mov", '
                    '"output": "/media/out.mp4", "codec": "hevc", '
                    '"rate_control": {"mode": "crf", "value": 23}}; health (decode every '
                    'frame, errors with their times): {"source": "/media/master.mov"}.'
                )
            ),
        ],
        ctx: Context[Any, Any],
        queue: Annotated[str | None, Field(description="Queue (default: the kind).")] = None,
        priority: Annotated[int, Field(description="Higher runs first.")] = 0,
        labels: Annotated[dict[str, str], Field(description="Node labels it needs.")] = {},  # noqa: B006
        gpu_vendor: Annotated[str | None, Field(description="nvidia, intel, amd…")] = None,
        encoder: Annotated[str | None, Field(description="Pin an encoder (hevc_nvenc…).")] = None,
        batch_id: Annotated[str | None, Field(description="Group jobs (corpus_status).")] = None,
        idempotency_key: Annotated[
            str | None, Field(description="A repeat with the same key returns the first job.")
        ] = None,
    ) -> JobOut:
        """Submit any farm job and return it at once (state pending) — follow it with wait_job.
        For scoring prefer `score`, which builds the spec and waits for the result."""
        request = jobs.job_request(
            kind,
            spec,
            queue=queue,
            priority=priority,
            labels=labels,
            gpu_vendor=gpu_vendor,
            encoder=encoder,
            batch_id=batch_id,
            idempotency_key=idempotency_key,
        )

        async def work(client: ControllerClient) -> JobOut:
            return JobOut.of((await client.submit_job(request)).job)

        return await farm.call(work, bearer_of(ctx))

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def get_job(job_id: JobId, ctx: Context[Any, Any]) -> JobOut:
        """One job: state, progress, result (pooled metrics), error, why it is pending, and every
        attempt with the host and GPU it ran on."""
        return await farm.call(lambda c: jobs.get_job(c, job_id), bearer_of(ctx))

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def wait_job(
        job_id: JobId,
        ctx: Context[Any, Any],
        timeout_s: Annotated[
            float, Field(ge=0, le=3600, description="Return after this long even if it runs.")
        ] = 300,
    ) -> JobOut:
        """Wait until a job ends (or timeout_s passes), sending progress notifications; returns
        the job. If its state is still pending or running, call wait_job again."""
        return await farm.call(
            lambda c: jobs.wait_job(c, job_id, timeout_s, _progress(ctx)), bearer_of(ctx)
        )

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
    @tool_errors
    async def cancel_job(
        job_id: JobId,
        ctx: Context[Any, Any],
        reason: Annotated[str | None, Field(description="Recorded as the job's error.")] = None,
    ) -> CancelOut:
        """Cancel a pending or running job (its node stops it); a finished job stays as it is."""
        return await farm.call(lambda c: jobs.cancel_job(c, job_id, reason), bearer_of(ctx))

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def list_jobs(
        ctx: Context[Any, Any],
        states: Annotated[
            list[Literal["pending", "running", "completed", "failed", "cancelled"]],
            Field(description="Only jobs in these states (none: all)."),
        ] = [],  # noqa: B006
        kinds: Annotated[list[str], Field(description="score, encode, …")] = [],  # noqa: B006
        queue: str | None = None,
        batch_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of a previous page.")] = None,
        search: Annotated[
            str | None,
            Field(
                description="Words that all match: a file name, the start of a job id, a node "
                "or the error; file:, id:, node:, error:, state:, kind:, queue: narrow a word "
                "(e.g. 'state:failed crf38')."
            ),
        ] = None,
    ) -> JobsOut:
        """The newest jobs first, each with state, where it runs, progress, score and why it
        waits (without spec and result: get_job has them)."""
        return await farm.call(
            lambda c: jobs.list_jobs(
                c,
                states=list(states),
                kinds=kinds,
                queue=queue,
                batch_id=batch_id,
                limit=limit,
                cursor=cursor,
                search=search,
            ),
            bearer_of(ctx),
        )

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def list_nodes(
        ctx: Context[Any, Any],
        include_offline: Annotated[
            bool, Field(description="Also nodes whose session ran out.")
        ] = False,
    ) -> NodesOut:
        """The farm's nodes: host, GPUs, verified encoders, queues, labels, slots in use."""
        return await farm.call(lambda c: jobs.list_nodes(c, include_offline), bearer_of(ctx))

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def explain_pending(job_id: JobId, ctx: Context[Any, Any]) -> PendingOut:
        """Why a job waits and which node could run it: the controller's recorded reason plus,
        for every live node, whether it meets the job's queue and requirements and why not."""
        return await farm.call(lambda c: jobs.explain_pending(c, job_id), bearer_of(ctx))

    @server.tool(annotations=READ_ONLY)
    @tool_errors
    async def corpus_status(
        batch_id: Annotated[
            str, Field(description="The batch id (a corpus run's is in its .run.json: batch_id).")
        ],
        ctx: Context[Any, Any],
    ) -> CorpusOut:
        """Progress of a corpus run on the farm (all jobs of one batch id): jobs per state,
        fraction finished, mean VMAF so far, and the failures with their errors."""
        return await farm.call(lambda c: jobs.corpus_status(c, batch_id), bearer_of(ctx))
