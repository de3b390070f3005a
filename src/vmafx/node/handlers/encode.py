"""`encode` jobs (queues `encode`, `proxy`, `conform`, `trim`): transcode with the best encoder
verified on this node, fall back to software when hardware fails, optionally score the result.

Encoders are tried in `choose_encoders` order (hardware first when the job allows it and the
node verified it, then software unless hardware is required). A hardware encoder that fails —
a non-zero exit, or killed by a signal (a crashing driver) — is followed by the next candidate
on this same node, and the result records `fallback: {from, to, reason}` (the attempt's
attribution says it fell back). A disk that fills up or a folder it may not write to is never a
reason to fall back: it ends the job with a precise message (a full disk is retried).

Hardware encoders are never run on real hardware in vmafx's tests: a node can declare one it
cannot run (`VMAFX_NODE_DECLARED_ENCODERS`, test only), and its failure exercises this path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Set
from pathlib import Path

from vmafx.core import specs
from vmafx.core.jobs import JsonObject
from vmafx.core.media import VideoInfo
from vmafx.core.nodes import GpuInfo
from vmafx.core.remote import RemoteInput, is_object_url
from vmafx.core.scores import DEFAULT_MODEL
from vmafx.errors import FfmpegCancelledError, FfmpegError, NotVideoError, UsageError
from vmafx.media.encoders import (
    ENCODERS,
    EncodeSpec,
    HwDevices,
    candidates,
    choose_encoders,
    encode_argv,
)
from vmafx.media.probe import probe
from vmafx.media.remote import RedactingRunner, remote_error
from vmafx.media.runner import FfmpegRunner, Progress, RunResult, stderr_tail
from vmafx.media.scorer import Scorer
from vmafx.node.capabilities import FAMILY_VENDORS
from vmafx.node.encoder_probe import headline
from vmafx.node.handlers.base import Fallback, JobContext, JobOutput, JobProgress
from vmafx.node.handlers.files import (
    check_input,
    check_output,
    commit,
    discard,
    local_path,
    raise_for_write_failure,
    temp_output,
)
from vmafx.node.handlers.score import signed_input
from vmafx.node.handlers.score_after import score_after
from vmafx.node.handlers.uploads import remote_output

#: The share of an encode job's progress that encoding takes when it is scored after.
ENCODE_SHARE = 0.8


def trimmed_frames(spec: EncodeSpec, info: VideoInfo | None) -> int | None:
    """How many frames the encode will write (for progress); None when unknown."""
    if info is None or not info.frame_count:
        return None
    fps = float(info.fps) if info.fps else 0.0
    frames = info.frame_count - round(spec.trim_start_s * fps)
    if spec.trim_duration_s is not None and fps > 0:
        frames = min(frames, round(spec.trim_duration_s * fps))
    return max(1, frames)


@dataclasses.dataclass(frozen=True, slots=True)
class EncodeRun:
    """How the encode went: the encoder that made the output, on which GPU, after what."""

    encoder: str
    gpu: GpuInfo | None
    tried: tuple[JsonObject, ...]
    fallback: Fallback | None
    elapsed_s: float


class EncodeHandler:
    def __init__(
        self,
        ffmpeg: str,
        runner: FfmpegRunner,
        verified: Set[str],
        *,
        devices: HwDevices | None = None,
        scorer: Scorer | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.ffmpeg = ffmpeg
        self.runner = runner
        self.verified = frozenset(verified)
        self.devices = devices or HwDevices()
        self.scorer = scorer
        self.timeout_s = timeout_s

    def run(self, context: JobContext) -> JobOutput:
        job_spec = context.spec_as(specs.EncodeSpec)
        runner = self.runner
        signed: str | None = None
        if is_object_url(job_spec.source):  # read by the URL the controller signed for the claim
            source = signed_input(job_spec.source, context, "source")
            runner = RedactingRunner(self.runner, (source,))
            signed = source.url
        remote = remote_output(job_spec.output, context)
        if remote is None:
            spec = dataclasses.replace(EncodeSpec.from_job_spec(job_spec), source_signed=signed)
            return self._encode_to(context, job_spec, spec, None, runner)
        try:  # an object output: encoded to scratch, uploaded once complete (and scored)
            local = dataclasses.replace(job_spec, output=str(remote.path))
            spec = dataclasses.replace(EncodeSpec.from_job_spec(local), source_signed=signed)
            made = self._encode_to(context, local, spec, remote.path, runner)
            made.result["md5"] = remote.upload()
            made.result["output"] = remote.name
            return made
        finally:
            remote.cleanup()

    def _encode_to(
        self,
        context: JobContext,
        job_spec: specs.EncodeSpec,
        spec: EncodeSpec,
        scratch: Path | None,
        runner: FfmpegRunner,
    ) -> JobOutput:
        if spec.source_signed is None:  # an object was checked against the allow-list
            check_input(spec.source, context.scoring_roots, field="source")
        source_path = local_path(spec.source)
        info = probe(source_path) if source_path is not None else None
        output = scratch or check_output(spec.output, context.scoring_roots)
        order = choose_encoders(spec, self.verified)
        if not order:
            raise UsageError(
                f"no encoder verified on this node can make {spec.codec} with hw={spec.hw!r}"
                + (f" and encoder {spec.encoder}" if spec.encoder else "")
                + f" (verified here: {', '.join(sorted(self.verified)) or 'none'}).",
                hint="Submit the job with a requirement on the encoder (requirements.encoder), "
                "so that only a node that has it takes the job.",
            )
        scoring = job_spec.score_after and self.scorer is not None
        span = (0.0, ENCODE_SHARE if scoring else 1.0)
        before = _stat(source_path)
        run = self._encode(context, runner, spec, output, order, info, span)
        result = self._result(spec, output, run)
        if before is not None and before == _stat(source_path):
            # The source as this node read it (unchanged during the encode): the controller
            # keeps a tune probe for later searches only when it matches what the submitter
            # hashed (vmafx.controller.tuning).
            result["source_stat"] = {"size": before[0], "mtime_ns": before[1]}
        unverified = self._unverified_hardware(spec, context)
        if unverified and not ENCODERS[run.encoder].hardware:
            # A GPU of that vendor is here but its encoder failed the node's trial encode (an
            # H100 has no NVENC, say): the job ran on software, and says why.
            result["hardware_unverified"] = {
                "encoders": unverified,
                "reason": "not verified on this node: their trial encode failed at start-up "
                "(`vmafx node --probe` shows why)",
            }
        if source_path is not None and spec.trim_start_s == 0 and spec.trim_duration_s is None:
            # The whole source was encoded: the Stats page counts the bytes saved.
            with contextlib.suppress(OSError):
                result["source_bytes"] = Path(source_path).stat().st_size
        if scoring and self.scorer is not None:
            started = time.monotonic()

            def on_scored(done: int, expected: int) -> None:
                elapsed = time.monotonic() - started
                context.progress(
                    JobProgress.of_frames(
                        done, expected, elapsed, phase="scoring", span=(ENCODE_SHARE, 1.0)
                    )
                )

            context.progress(JobProgress(fraction=ENCODE_SHARE, phase="scoring"))
            result["score_after"] = score_after(
                self.scorer,
                runner,
                self.ffmpeg,
                spec,
                output,
                context.cancel,
                self.timeout_s,
                on_progress=on_scored,
                model=job_spec.score_model or DEFAULT_MODEL,
            )
        score = result.get("score_after", {}).get("vmaf")
        return JobOutput(
            result=result,
            score=score if isinstance(score, float) else None,
            encoder=run.encoder,
            gpu=run.gpu,
            fallback=run.fallback,
        )

    def _unverified_hardware(self, spec: EncodeSpec, context: JobContext) -> list[str]:
        """Hardware encoders this job could have used, for a GPU this node has, that did not
        pass the trial encode."""
        vendors = {gpu.vendor for gpu in context.gpus.gpus}
        return [
            name
            for name in candidates(spec)
            if ENCODERS[name].hardware
            and name not in self.verified
            and vendors & set(FAMILY_VENDORS.get(ENCODERS[name].family, ()))
        ]

    def _encode(
        self,
        context: JobContext,
        runner: FfmpegRunner,
        spec: EncodeSpec,
        output: Path,
        order: list[str],
        info: VideoInfo | None,
        span: tuple[float, float] = (0.0, 1.0),
    ) -> EncodeRun:
        """Try the encoders in order until one writes the output."""
        temp = temp_output(output, context.job.id)
        total = trimmed_frames(spec, info)
        tried: list[JsonObject] = []
        started = time.monotonic()
        try:
            for position, name in enumerate(order):
                trial = self._trial(context, runner, spec, name, temp, total, span)
                if trial.reason is None:
                    commit(temp, output)
                    elapsed = time.monotonic() - started
                    return EncodeRun(name, trial.gpu, tuple(tried), _fallback(tried, name), elapsed)
                raise_for_write_failure(trial.stderr, output)
                if not ENCODERS[name].hardware or position == len(order) - 1:
                    raise _encode_failure(spec, name, trial)
                tried.append({"encoder": name, "error": trial.reason})
        finally:
            discard(temp)
        raise AssertionError("unreachable: the last encoder either succeeds or raises")

    def _trial(
        self,
        context: JobContext,
        runner: FfmpegRunner,
        spec: EncodeSpec,
        name: str,
        temp: Path,
        total: int | None,
        span: tuple[float, float],
    ) -> Trial:
        """One run of ffmpeg with encoder `name` (on the least-loaded fitting GPU if hardware)."""
        info = ENCODERS[name]
        vendors = FAMILY_VENDORS.get(info.family, ()) if info.hardware else ()
        minimum = context.job.requirements.min_gpu_memory_mb
        with context.gpus.using(vendors, minimum) as gpu:  # software: vendors () → no GPU
            devices = self.devices
            if gpu is not None and info.family == "nvenc":
                devices = dataclasses.replace(devices, cuda_device=gpu.index)
            argv = encode_argv(
                self.ffmpeg, dataclasses.replace(spec, output=str(temp)), name, devices=devices
            )
            try:
                result = self._run(context, runner, argv, total, name, span)
            except FfmpegCancelledError as error:
                if context.cancel.cancelled or not info.hardware:
                    raise  # a cancel, or a crash of a software encoder: the machine's fault
                return Trial(error.argv, gpu, error.message, error.stderr_tail, error.returncode)
        # The runner's argv, not ours: a signed source URL is replaced there by its name.
        if result.returncode == 0:
            return Trial(result.argv, gpu, None, result.stderr, 0)
        reason = f"exit code {result.returncode}: {headline(result.stderr)}"
        return Trial(result.argv, gpu, reason, result.stderr, result.returncode)

    def _run(
        self,
        context: JobContext,
        runner: FfmpegRunner,
        argv: list[str],
        total: int | None,
        encoder: str,
        span: tuple[float, float],
    ) -> RunResult:
        started = time.monotonic()
        # Said before ffmpeg's first progress block: an encoder with a long lookahead
        # (libaom) writes no frame for a while, and the job page names the encoder meanwhile.
        context.progress(JobProgress(fraction=span[0], phase="encoding", encoder=encoder))

        def on_progress(step: Progress) -> None:
            elapsed = time.monotonic() - started
            context.progress(
                JobProgress.of_frames(
                    step.frame, total, elapsed, phase="encoding", encoder=encoder, span=span
                )
            )

        return runner.run(
            argv, timeout_s=self.timeout_s, cancel=context.cancel, on_progress=on_progress
        )

    @staticmethod
    def _result(spec: EncodeSpec, output: Path, run: EncodeRun) -> JsonObject:
        made = probe(str(output))
        size = output.stat().st_size
        duration = made.duration_s or 0.0
        result: JsonObject = {
            "output": str(output),
            "codec": spec.codec,
            "encoder": run.encoder,
            "hardware": ENCODERS[run.encoder].hardware,
            "gpu": run.gpu.to_json() if run.gpu is not None else None,
            "bytes": size,
            "width": made.width,
            "height": made.height,
            "frames": made.frame_count,
            "duration_s": round(duration, 3),
            "bitrate_kbps": round(size * 8 / duration / 1000, 1) if duration > 0 else None,
            "elapsed_s": round(run.elapsed_s, 3),
            "tried": list(run.tried),
        }
        if run.fallback is not None:
            result["fallback"] = run.fallback.to_json()
        return result


@dataclasses.dataclass(frozen=True, slots=True)
class Trial:
    """One encoder's run: `reason` None when it succeeded."""

    argv: list[str]
    gpu: GpuInfo | None
    reason: str | None
    stderr: str
    returncode: int | None


def _fallback(tried: list[JsonObject], final: str) -> Fallback | None:
    if not tried:
        return None
    return Fallback(str(tried[0]["encoder"]), final, str(tried[0]["error"]))


def _encode_failure(spec: EncodeSpec, name: str, trial: Trial) -> Exception:
    tail = stderr_tail(trial.stderr)
    if spec.source_signed is not None:  # 403 → released and re-signed; 404 → no such object
        remote = RemoteInput(name=spec.source, url=spec.source_signed)
        known = remote_error((remote,), trial.stderr)
        if known is not None:
            return known
    if "Invalid data found" in tail or "could not find codec parameters" in tail:
        return NotVideoError(
            f"ffmpeg could not decode the source {spec.source}; it may be corrupt or truncated.",
            path=spec.source,
            hint="Re-encode or re-copy the file, then submit the job again.\n" + tail,
        )
    return FfmpegError(
        f"encoding {spec.source} with {name} failed ({trial.reason}).",
        argv=trial.argv,
        returncode=trial.returncode,
        stderr_tail=tail,
        hint="The last lines of ffmpeg's output below say why.",
    )


def _stat(path: str | None) -> tuple[int, int] | None:
    """(size, mtime in ns) of a local file, or None."""
    if path is None:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns
