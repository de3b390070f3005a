"""`LibvmafScorer`: probe, check, build one ffmpeg run, parse, pool. The `Scorer` port.

Every check that protects against a silently wrong score lives here: frame rates and frame
counts must agree (or the user asks for a sync), sizes are scaled only when allowed, frames
too small for an asked-for metric are refused before the run (`size_limits`), and after it the
frame counts ffmpeg actually decoded are compared again and every metric asked for must be in
the log of every distorted input (`metric_outputs`). A crash of libvmaf on an input of an
unusual size is reported as such (not retried as a machine fault), and a result whose reference
is flat carries a warning (`core.flatness`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal as signals
import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from vmafx.core.features import feature_vector_v1
from vmafx.core.flatness import flat_content_warning
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.pooling import pool
from vmafx.core.remote import RemoteInput
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.core.swapcheck import with_swap_warnings
from vmafx.errors import (
    FfmpegCancelledError,
    FfmpegError,
    LibvmafCrashError,
    MismatchError,
    NotVideoError,
    ScoreLogError,
)
from vmafx.media import graph, hwdecode
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.filterstats import parse_filter_stats
from vmafx.media.metric_outputs import check_complete, expected, libvmaf_reasons
from vmafx.media.probe import _check_exists as check_input
from vmafx.media.probe import is_raw, probe
from vmafx.media.runner import CancelToken, FfmpegRunner, Progress, RunResult
from vmafx.media.size_limits import Frame, refuse_unscorable, unusual
from vmafx.media.vmaflog import (
    VmafLog,
    decoded_frame_counts,
    parse_vmaf_log,
    raise_for_libvmaf_init,
)

#: Called with (frames done, frames expected) as ffmpeg reports progress.
ScoreProgress = Callable[[int, int], None]

#: Signals that mean ffmpeg crashed (rather than being killed by the OOM killer or a person).
_CRASH_SIGNALS = frozenset(
    {signals.SIGSEGV, signals.SIGABRT, signals.SIGBUS, signals.SIGFPE, signals.SIGILL}
)


@dataclasses.dataclass(frozen=True)
class ScoreRequest:
    """One reference and its distorted inputs, with the options to score them by."""

    reference: str
    distorted: tuple[str, ...]
    options: graph.ScoreOptions = dataclasses.field(default_factory=graph.ScoreOptions)
    raw: RawFormat | None = None
    #: Score only the frames both inputs have (off: differing frame counts are an error).
    shortest: bool = False
    timeout_s: float | None = None
    #: Warn when the reference looks like the distorted input of the pair (`core.swapcheck`).
    swap_check: bool = False
    #: At most this many distorted inputs per ffmpeg run (None: all in one run). Each extra
    #: input of a run holds its own decoder and libvmaf state (docs/benchmarks.md, Memory).
    max_parallel: int | None = None
    #: `cpu`, `cuda` (NVDEC) or `auto` (`vmafx.media.hwdecode.choose_decode`); a GPU decode
    #: that fails is run again on the CPU, and the report says so (`ScoreReport.decode`).
    decode: str = "cpu"
    #: Whether an NVIDIA GPU was detected (what `auto` decides on).
    nvidia_gpu: bool = False
    #: Inputs read from object storage or the web, by the name given in `reference` or
    #: `distorted` (their signed URLs never leave the scorer: `vmafx.media.remote`).
    remote: tuple[RemoteInput, ...] = ()

    def remote_for(self, path: str) -> RemoteInput | None:
        return next((item for item in self.remote if item.name == path), None)

    def size_of(self, path: str) -> int:
        """An input's size in bytes (a remote one's as its store reported it)."""
        remote = self.remote_for(path)
        if remote is None:
            return os.path.getsize(path)
        return remote.size or 0


class Scorer(Protocol):
    def score(
        self,
        request: ScoreRequest,
        *,
        on_progress: ScoreProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> ScoreReport: ...


def default_threads() -> int:
    """Every core this process may use (libvmaf's n_threads=0 would mean one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pooled_keys(
    log: VmafLog, models: Sequence[graph.ModelRef], features: Sequence[str]
) -> list[str]:
    """Metrics to report pooled: each model's score and the outputs of the asked-for features."""
    keys: list[str] = []
    for item in expected([m.name for m in models], features):
        keys += [k for k in item.keys(list(log.frames)) if k not in keys]
    return keys


class LibvmafScorer:
    """Scores with the real libvmaf inside ffmpeg.

    Given an `FfmpegInfo` (ffmpeg checked beforehand), inputs are probed with PyAV, frame counts
    included. Given only ffmpeg's path (`vmafx score`), one ffmpeg run probes every input and
    checks ffmpeg's libvmaf at once (`vmafx.media.inputprobe`): it learns no frame counts, so a
    frame-count mismatch is refused after the scoring run, from the frames ffmpeg decoded.
    """

    def __init__(
        self, ffmpeg: FfmpegInfo | str, runner: FfmpegRunner, *, unprobed: bool = False
    ) -> None:
        self._path = ffmpeg if isinstance(ffmpeg, str) else ffmpeg.path
        self._version = None if isinstance(ffmpeg, str) else ffmpeg.version
        self._probe_once = isinstance(ffmpeg, str)
        #: Score without a probe run first where that is safe (`_score_unprobed`).
        self._unprobed = unprobed and self._probe_once
        self._runner = runner

    def _runner_for(self, request: ScoreRequest) -> FfmpegRunner:
        """The runner, made to keep the signed URLs of remote inputs out of what it returns."""
        if not request.remote:
            return self._runner
        from vmafx.media.remote import RedactingRunner  # noqa: PLC0415

        return RedactingRunner(self._runner, request.remote)

    def probe_all(self, request: ScoreRequest) -> tuple[VideoInfo, list[VideoInfo]]:
        if self._probe_once:
            from vmafx.media.inputprobe import probe_inputs  # noqa: PLC0415

            run = probe_inputs(
                self._path,
                [request.reference, *request.distorted],
                request.raw,
                self._runner_for(request),
                remote=request.remote,
            )
            self._version = run.version
            reference, distorted = run.inputs[0], list(run.inputs[1:])
        else:
            reference = probe(request.reference, request.raw, request.remote_for(request.reference))
            distorted = [
                probe(path, request.raw, request.remote_for(path)) for path in request.distorted
            ]
        for info in distorted:
            check_compatible(reference, info, request)
        return reference, distorted

    def score(
        self,
        request: ScoreRequest,
        *,
        on_progress: ScoreProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> ScoreReport:
        if self._unprobed and may_skip_probe(request):
            report = self._score_unprobed(request, on_progress, cancel)
            if report is not None:
                return report
        reference, distorted = self.probe_all(request)
        return self._score_probed(request, reference, distorted, on_progress, cancel)

    def _score_probed(
        self,
        request: ScoreRequest,
        reference: VideoInfo,
        distorted: list[VideoInfo],
        on_progress: ScoreProgress | None,
        cancel: CancelToken | None,
    ) -> ScoreReport:
        size = request.max_parallel or len(distorted)
        if size >= len(distorted):
            return self._score_pass(request, reference, distorted, on_progress, cancel)
        # Several passes of at most `max_parallel` distorted inputs each: the reference is
        # decoded once per pass, and memory grows with the inputs of one pass only.
        passes = range(0, len(distorted), size)
        reports = []
        for done, start in enumerate(passes):

            def progress(frames: int, total: int, done: int = done) -> None:
                if on_progress is not None:
                    on_progress(done * total + frames, total * len(passes))

            part = dataclasses.replace(request, distorted=request.distorted[start : start + size])
            reports.append(
                self._score_pass(part, reference, distorted[start : start + size], progress, cancel)
            )
        return ScoreReport(
            request.reference,
            tuple(result for report in reports for result in report.results),
            reports[0].versions,
            sum(report.elapsed_s for report in reports),
            reports[0].decode,
        )

    def _score_pass(
        self,
        request: ScoreRequest,
        reference: VideoInfo,
        distorted: list[VideoInfo],
        on_progress: ScoreProgress | None,
        cancel: CancelToken | None,
    ) -> ScoreReport:
        """One ffmpeg run: every distorted input of `request` against the reference."""
        choice = hwdecode.choose_decode(
            request.decode, reference, distorted, nvidia_gpu=request.nvidia_gpu
        )
        if choice.used == "cuda":
            try:
                return self._score_decoded(
                    request, reference, distorted, on_progress, cancel, choice
                )
            except GpuDecodeFailedError as failed:
                choice = hwdecode.DecodeChoice(choice.asked, "cpu", f"NVDEC failed: {failed}")
        return self._score_decoded(request, reference, distorted, on_progress, cancel, choice)

    def _score_decoded(
        self,
        request: ScoreRequest,
        reference: VideoInfo,
        distorted: list[VideoInfo],
        on_progress: ScoreProgress | None,
        cancel: CancelToken | None,
        choice: hwdecode.DecodeChoice,
    ) -> ScoreReport:
        """The run itself, decoding as `choice` says; GpuDecodeFailedError where a GPU decode
        made ffmpeg fail (the caller runs it again on the CPU)."""
        options = dataclasses.replace(request.options, decode=choice.used)
        frame = Frame(reference.width, reference.height, reference.pix_fmt)
        refuse_unscorable(frame, reference.path, options.models, options.features)
        expected = max(_frames_expected(info) for info in [reference, *distorted])

        def progress(p: Progress) -> None:
            if on_progress is not None:
                on_progress(p.frame, expected)

        with tempfile.TemporaryDirectory(prefix="vmafx-score-") as log_dir:
            command = self._command(request, [reference, *distorted], options, log_dir)
            result = self._run(command.argv, request, frame, cancel, progress)
            if result.returncode != 0 and "cuda" in command.decoded and not _cancelled(cancel):
                raise GpuDecodeFailedError(gpu_failure_line(result.stderr))
            self._raise_for_failure(result, request)
            return self._report(request, reference, distorted, options, choice, command, result)

    def _score_unprobed(
        self,
        request: ScoreRequest,
        on_progress: ScoreProgress | None,
        cancel: CancelToken | None,
    ) -> ScoreReport | None:
        """Score with no probe run before (issue 13): the scoring run's own stderr says what the
        probe would have (ffmpeg prints the same banner and input dump before it scores), and
        every check the probe feeds runs after the fact. The run is built as if every input
        matched the reference; the result stands only where the graph the real inputs call for
        is that same graph (same size, pixel format and frame rate: no scale, format or fps
        filter; the frame clock's time base does not change which frames pair). None where it
        cannot stand or the run failed: the caller then probes and scores as before, so every
        refusal and error is the one the probed path gives."""
        from vmafx.media.inputprobe import described_inputs  # noqa: PLC0415

        paths = [request.reference, *request.distorted]
        for path in paths:
            check_input(path)  # the input policy, before ffmpeg opens anything
        options = dataclasses.replace(request.options, decode="cpu")
        choice = hwdecode.DecodeChoice("cpu", "cpu", "asked for")

        def progress(p: Progress) -> None:
            if on_progress is not None:
                on_progress(p.frame, 0)  # the total is in the dump, read after the run

        with tempfile.TemporaryDirectory(prefix="vmafx-score-") as log_dir:
            command = self._command(request, [_assumed(path) for path in paths], options, log_dir)
            argv = [arg for arg in command.argv if arg != "-hide_banner"]  # the banner: version
            try:
                result = self._runner_for(request).run(
                    argv, timeout_s=request.timeout_s, cancel=cancel, on_progress=progress
                )
            except FfmpegCancelledError:
                if _cancelled(cancel):
                    raise
                return None  # a crash signal: the probed run says whose fault it is
            described = described_inputs(result.stderr, paths)
            if described is None or not described[1]:
                return None  # an input ffmpeg could not describe, or no libvmaf: probe and say
            self._version, _, infos = described
            reference, distorted = infos[0], infos[1:]
            for info in distorted:
                check_compatible(reference, info, request)
            frame = Frame(reference.width, reference.height, reference.pix_fmt)
            refuse_unscorable(frame, reference.path, options.models, options.features)
            same_rate = [dataclasses.replace(info, fps=_UNPROBED_RATE) for info in infos]
            if self._command(request, same_rate, options, log_dir).argv != command.argv:
                # the inputs need a scale, format or fps filter: run the graph they call for
                # (what the probe would have told, without probing again)
                return self._score_probed(request, reference, distorted, on_progress, cancel)
            self._raise_for_failure(result, request)  # the run the probed path would have made
            command = dataclasses.replace(command, argv=argv)
            return self._report(request, reference, distorted, options, choice, command, result)

    def _command(
        self,
        request: ScoreRequest,
        infos: Sequence[VideoInfo],
        options: graph.ScoreOptions,
        log_dir: str,
    ) -> graph.ScoreCommand:
        return graph.build_score_command(
            self._path,
            (self._input(request.reference, request), infos[0]),
            [
                (self._input(p, request), i)
                for p, i in zip(request.distorted, infos[1:], strict=True)
            ],
            options,
            log_dir,
            shortest=request.shortest or options.sync_fps,
        )

    def _report(
        self,
        request: ScoreRequest,
        reference: VideoInfo,
        distorted: Sequence[VideoInfo],
        options: graph.ScoreOptions,
        choice: hwdecode.DecodeChoice,
        command: graph.ScoreCommand,
        result: RunResult,
    ) -> ScoreReport:
        """A successful run's logs (still in the run's log folder) → checked, pooled results."""
        frame = Frame(reference.width, reference.height, reference.pix_fmt)
        logs = [
            self._read_log(path, dis, result.stderr)
            for path, dis in zip(command.log_paths, request.distorted, strict=True)
        ]
        native = [
            read_filter_stats(stats, log.frame_nums, dis)
            for stats, log, dis in zip(command.stats_paths, logs, request.distorted, strict=True)
        ]
        models = {m.name: m.spec for m in command.models}
        for log, dis in zip(logs, request.distorted, strict=True):
            check_complete(
                list(log.frames),
                models,
                command.features,
                distorted=dis,
                frame=frame,
                stderr=result.stderr,
            )
        decoded = decoded_frame_counts(result.stderr)
        results = []
        for i, (log, info) in enumerate(zip(logs, distorted, strict=True)):
            count = self._frames_compared(request, reference, info, decoded, i + 1)
            results.append(self._result(log, native[i], info, reference, command, options, count))
        if request.swap_check:
            results = with_swap_warnings(results, reference, distorted, request.size_of)
        versions = {"ffmpeg": self._version or "unknown", "libvmaf": logs[0].version}
        decode = None
        if request.decode != "cpu":
            decode = {**choice.to_json(), "inputs": list(command.decoded)}
        return ScoreReport(request.reference, tuple(results), versions, result.elapsed_s, decode)

    def _run(
        self,
        argv: list[str],
        request: ScoreRequest,
        frame: Frame,
        cancel: CancelToken | None,
        progress: Callable[[Progress], None],
    ) -> RunResult:
        """Run ffmpeg; a crash signal on an oddly sized input is libvmaf's, not the machine's."""
        try:
            return self._runner_for(request).run(
                argv, timeout_s=request.timeout_s, cancel=cancel, on_progress=progress
            )
        except FfmpegCancelledError as error:
            crash = libvmaf_crash(error, request.reference, frame, cancel)
            if crash is None:
                raise
        raise crash  # outside the except block: not chained to the machine-fault error

    @staticmethod
    def _input(path: str, request: ScoreRequest) -> graph.Input:
        remote = request.remote_for(path)
        raw = request.raw if is_raw(path) and remote is None else None
        return graph.Input(path, raw, remote)

    def _raise_for_failure(self, result: RunResult, request: ScoreRequest) -> None:
        if result.returncode == 0:
            return
        raise_for_libvmaf_init(result.stderr)
        if request.remote:
            from vmafx.media.remote import remote_error  # noqa: PLC0415

            error = remote_error(request.remote, result.stderr)
            if error is not None:
                raise error
        tail = result.tail()
        signal = re.search(r"received signal (\d+)", result.stderr)
        if signal:
            raise FfmpegCancelledError(
                f"ffmpeg was stopped by signal {signal.group(1)} before it finished scoring.",
                argv=result.argv,
                returncode=result.returncode,
                stderr_tail=tail,
                hint="Nothing was scored; run it again.",
            )
        for path in (request.reference, *request.distorted):
            if _decode_failed(path, result.stderr):
                raise NotVideoError(
                    f"ffmpeg could not decode {path}; it may be corrupt or truncated.",
                    path=path,
                    hint="Re-encode or re-download the file, then score again.\n" + tail,
                )
        raise FfmpegError(
            f"ffmpeg failed while scoring {', '.join(request.distorted)} against "
            f"{request.reference} (exit code {result.returncode}).",
            argv=result.argv,
            returncode=result.returncode,
            stderr_tail=tail,
            hint="The last lines of ffmpeg's output below say why.",
        )

    @staticmethod
    def _read_log(path: str, where: str, stderr: str = "") -> VmafLog:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            reasons = "; ".join(dict.fromkeys(libvmaf_reasons(stderr).values()))
            if reasons:
                raise ScoreLogError(
                    f"libvmaf wrote no log for {where}: {reasons}.",
                    hint="Use the model vmaf_v0.6.1 (the default) or score a larger input.",
                ) from None
            raise ScoreLogError(
                f"libvmaf wrote no log for {where}.", hint="Run again; report a bug if it repeats."
            ) from None
        return parse_vmaf_log(text, where=where)

    @staticmethod
    def _frames_compared(
        request: ScoreRequest,
        reference: VideoInfo,
        distorted: VideoInfo,
        decoded: dict[int, int],
        index: int,
    ) -> int:
        ref_n, dis_n = decoded.get(0), decoded.get(index)
        if ref_n is None or dis_n is None:
            raise ScoreLogError(
                "ffmpeg did not report how many frames it decoded, so vmafx cannot vouch "
                "that the inputs were compared frame for frame.",
                hint="Use an ffmpeg 6.1 or newer (VMAFX_FFMPEG), or unset VMAFX_FFMPEG.",
            )
        if request.shortest or request.options.sync_fps:
            return min(ref_n, dis_n) if not request.options.sync_fps else ref_n
        if ref_n != dis_n:
            raise frame_count_error(reference.path, ref_n, distorted.path, dis_n)
        return ref_n

    @staticmethod
    def _result(
        log: VmafLog,
        native: dict[str, list[float]],
        info: VideoInfo,
        reference: VideoInfo,
        command: graph.ScoreCommand,
        options: graph.ScoreOptions,
        frame_count: int,
    ) -> ScoreResult:
        keys = pooled_keys(log, command.models, command.features)
        pooled = {k: pool(log.frames[k], log.pooled.get(k)) for k in keys}
        pooled.update({k: pool(values) for k, values in native.items()})
        features = (
            feature_vector_v1(log.frames, where=info.path) if options.feature_vector else None
        )
        chain = graph.distorted_chain(reference, info, options).split(",")
        adjustments = tuple(f for f in chain if not f.startswith(("setpts=", "settb=")))
        flat = flat_content_warning(log.frames)
        return ScoreResult(
            distorted=info.path,
            frame_count=frame_count,
            scored_frames=len(log.frame_nums),
            pooled=pooled,
            # ffmpeg's psnr_y (asked for as `psnr`) over libvmaf's (the feature vector's)
            frames={**log.frames, **native},
            frame_nums=log.frame_nums,
            features=features,
            adjustments=adjustments,
            warnings=(flat,) if flat else (),
            models=tuple(m.name for m in command.models),
        )


class GpuDecodeFailedError(Exception):
    """A run that decoded on the GPU failed; the message is ffmpeg's telling line."""


def _cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled


_GPU_MARKERS = ("cuda", "hwaccel", "hwdownload", "nvdec", "cuvid", "hw_frames", "hardware")


def gpu_failure_line(stderr: str) -> str:
    """The line of ffmpeg's stderr that says why a GPU decode failed (else its last line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if any(marker in line.lower() for marker in _GPU_MARKERS) and (
            "error" in line.lower() or "fail" in line.lower() or "impossible" in line.lower()
        ):
            return line[:300]
    return lines[-1][:300] if lines else "ffmpeg failed without a message"


def read_filter_stats(
    stats: dict[str, str], frame_nums: Sequence[int], where: str
) -> dict[str, list[float]]:
    """The per-frame series of ffmpeg's own metric filters for one distorted input, on the
    frames libvmaf scored (every frame, or every Nth with a subsample), keyed as the metric
    vocabulary says (`psnr_avg`, `ssim_all`, ...)."""
    series: dict[str, list[float]] = {}
    for name, path in stats.items():
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise ScoreLogError(
                f"ffmpeg's {name} filter wrote no stats for {where}.",
                hint="Run again; report a bug if it repeats.",
            ) from None
        for key, values in parse_filter_stats(name, text, where=where).items():
            if frame_nums and max(frame_nums) >= len(values):
                raise ScoreLogError(
                    f"ffmpeg's {name} filter scored {len(values)} frames of {where} but libvmaf "
                    f"scored frame {max(frame_nums)}; the two cannot be lined up.",
                    hint="Run again; report a bug with both inputs if it repeats.",
                )
            series[key] = [values[n] for n in frame_nums]
    return series


def _frames_expected(info: VideoInfo) -> int:
    """Frames to expect, for progress: the count probed, else duration times frame rate."""
    if info.frame_count:
        return info.frame_count
    if info.duration_s and info.fps:
        return round(info.duration_s * float(info.fps))
    return 0


#: The frame clock's rate in a run built before the inputs are known (any rate pairs frame i
#: with frame i: `graph.frame_clock` numbers frames, and both inputs share the time base).
_UNPROBED_RATE = Fraction(1)


def _assumed(path: str) -> VideoInfo:
    """An input as the unprobed run assumes it: the reference's twin (no scale, format or fps
    filter in the graph); `LibvmafScorer._score_unprobed` checks the assumption after the run."""
    return VideoInfo(path, 0, 0, "unknown", 8, _UNPROBED_RATE, False, None, None, "", "")


def may_skip_probe(request: ScoreRequest) -> bool:
    """Whether a request may be scored with no probe run first: local files in containers
    (raw YUV and remote inputs are described by other means), decoded on the CPU, one pass,
    no frame-rate conversion (whose graph depends on both rates)."""
    return (
        not request.remote
        and request.raw is None
        and request.decode == "cpu"
        and not request.options.sync_fps
        and (request.max_parallel is None or request.max_parallel >= len(request.distorted))
        and not any(is_raw(path) for path in (request.reference, *request.distorted))
    )


_DECODE_FAILURES = (
    "Invalid data found",
    "moov atom not found",
    "Error opening input",
    "End of file",
)


def _decode_failed(path: str, stderr: str) -> bool:
    """Did ffmpeg say it could not read `path`? (Never matches its "0 decode errors" summary.)"""
    return any(
        path in line and any(marker in line for marker in _DECODE_FAILURES)
        for line in stderr.splitlines()
    )


def libvmaf_crash(
    error: FfmpegCancelledError, reference: str, frame: Frame, cancel: CancelToken | None
) -> LibvmafCrashError | None:
    """A crash signal while scoring frames of an unusual size, as the input's fault (else None)."""
    if cancel is not None and cancel.cancelled:
        return None
    number = -error.returncode if error.returncode is not None else 0
    if number not in _CRASH_SIGNALS or not unusual(frame):
        return None
    name = signals.Signals(number).name
    return LibvmafCrashError(
        f"libvmaf crashed ({name}, signal {number}) while scoring against {reference} "
        f"({frame.size}, {frame.pix_fmt}): libvmaf fails on frames of this size or shape, so "
        "running it again would crash again.",
        signal=number,
        argv=error.argv,
        returncode=error.returncode,
        stderr_tail=error.stderr_tail,
        hint="Score a larger input, or drop the metrics that are size-limited (cambi, "
        "float_ms_ssim, speed_chroma, speed_temporal, the vmaf_v1.0.16 models).",
    )


def frame_count_error(ref: str, ref_n: int, dis: str, dis_n: int) -> MismatchError:
    return MismatchError(
        f"The reference {ref} has {ref_n} frames but the distorted {dis} has {dis_n}; "
        "comparing them frame by frame would give a wrong score.",
        hint="Trim them to the same frames, or pass --sync shortest to score only the "
        f"first {min(ref_n, dis_n)} frames of each.",
    )


def check_compatible(reference: VideoInfo, distorted: VideoInfo, request: ScoreRequest) -> None:
    """Refuse pairs that would score wrong without an explicit option."""
    opts = request.options
    if distorted.fps != reference.fps and not opts.sync_fps:
        raise MismatchError(
            f"The reference {reference.path} runs at {float(reference.fps):.3f} fps but the "
            f"distorted {distorted.path} at {float(distorted.fps):.3f} fps; frames would be "
            "compared out of step.",
            hint="Pass --sync fps to convert the distorted input to the reference's frame rate "
            "(ffmpeg's fps filter) and score the frames they share.",
        )
    if (distorted.width, distorted.height) != (
        reference.width,
        reference.height,
    ) and not opts.scale:
        raise MismatchError(
            f"The distorted {distorted.path} is {distorted.size} but the reference "
            f"{reference.path} is {reference.size}, and --no-scale forbids scaling.",
            hint="Drop --no-scale to scale the distorted input to the reference with bicubic.",
        )
    counts_known = reference.frame_count is not None and distorted.frame_count is not None
    if counts_known and not (request.shortest or opts.sync_fps):
        assert reference.frame_count is not None and distorted.frame_count is not None
        if reference.frame_count != distorted.frame_count:
            raise frame_count_error(
                reference.path, reference.frame_count, distorted.path, distorted.frame_count
            )
