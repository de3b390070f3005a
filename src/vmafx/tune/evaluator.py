"""The `evaluate` callable that runs ffmpeg on this machine: encode (samples or the whole input)
at one quality setting, score it with libvmaf, remember the result in the probe cache.

The only module of `vmafx.tune` that starts processes, and only through `vmafx.media` (the
encoders' argv builders, the runner, the scorer). Full encodes are kept in a work folder so the
confirming probe becomes the deliverable (`deliver` remuxes it to the user's file).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from vmafx.errors import FfmpegError, NotVideoError
from vmafx.media.encoder_options import RateControl
from vmafx.media.encoders import EncodeSpec, encode_argv, encoder_info
from vmafx.media.ffmpeg import FfmpegInfo
from vmafx.media.graph import ScoreOptions
from vmafx.media.probe import probe
from vmafx.media.runner import FfmpegRunner, RunResult
from vmafx.media.scorer import LibvmafScorer, ScoreRequest
from vmafx.media.urls import local_input_args
from vmafx.tune.cache import ProbeCache, content_hash, probe_key
from vmafx.tune.plan import Segment, metric, plan_samples, quality_scale, subsample_for
from vmafx.tune.search import CHEAP, Measurement

log = logging.getLogger(__name__)

#: Told what the evaluator is doing now ("encode crf 28 (sample)", "score crf 28 (sample)").
Activity = Callable[[str], None]
_RATE_MODE = {"crf": "crf", "cq": "cq", "qp": "qp"}


@dataclasses.dataclass(frozen=True)
class Source:
    path: str
    content: str
    width: int
    height: int
    fps: float
    frames: int


def open_source(path: str) -> Source:
    """Probe the input once: its size, frame rate, frame count and content hash."""
    info = probe(path)
    frames = info.frame_count
    if frames is None and info.duration_s is not None:
        frames = round(info.duration_s * float(info.fps))
    if not frames:
        raise NotVideoError(
            f"{path} has no countable video frames, so no quality can be measured over it.",
            path=path,
            hint="Re-encode it to a single-file container (mp4, mkv) first.",
        )
    return Source(path, content_hash(path), info.width, info.height, float(info.fps), frames)


@dataclasses.dataclass(frozen=True)
class EvaluatorSettings:
    encoder: str
    preset: str | None = None
    metric: str = "vmaf"
    #: Encode at this size (scored after bicubic upscaling to the source's size).
    size: tuple[int, int] | None = None
    threads: int = 0
    #: Make cheap probes from samples when the input is long enough.
    samples: bool = True


class FfmpegEvaluator:
    """`evaluate(crf, "cheap" | "full") -> Measurement` for one source, encoder and settings."""

    def __init__(
        self,
        *,
        ffmpeg: FfmpegInfo,
        runner: FfmpegRunner,
        source: Source,
        settings: EvaluatorSettings,
        cache: ProbeCache,
        work: Path,
        on_activity: Activity | None = None,
    ) -> None:
        self.ffmpeg = ffmpeg
        self.runner = runner
        self.source = source
        self.settings = settings
        self.cache = cache
        self.work = work / source.content[:16]
        self.on_activity = on_activity or (lambda _: None)
        self.info = encoder_info(settings.encoder)
        self.scale = quality_scale(self.info.family, self.info.codec)
        self.model, self.statistic = metric(settings.metric)
        self.segments: tuple[Segment, ...] = (
            plan_samples(source.frames, source.fps) if settings.samples else ()
        )
        # no probe run before each scoring run: the source and its encodes are checked after
        # it, from the run's own input dump (`LibvmafScorer` unprobed, issue 13)
        self._scorer = LibvmafScorer(ffmpeg.path, runner, unprobed=True)
        #: CRFs whose full encode this evaluator wrote into the work folder.
        self._made: set[float] = set()

    # --- the callable ---------------------------------------------------------------------------
    def __call__(self, crf: float, stage: str) -> Measurement:
        kind = ("sample" if self.segments else "subsampled") if stage == CHEAP else "full"
        key = self.key(crf, kind)
        found = self.cache.get(key)
        if found is not None:
            return found
        started = time.monotonic()
        if kind == "sample":
            reference = self._sample_reference()
            # per process: the sample encode is removed once scored, and two searches of one
            # source at once (the benchmark's pools did) must not remove each other's
            encoded = self.work / f"sample-{key[:16]}-{os.getpid()}.mkv"
            frames = self._encode(reference, encoded, crf, kind)
            subsample = 1
        else:
            reference = Path(self.source.path)
            encoded = self.full_path(crf)
            frames = 0 if encoded.exists() else self.encode_full(crf)
            subsample = subsample_for(self.source.frames) if kind == "subsampled" else 1
        vmaf, scored = self._score(str(reference), encoded, crf, kind, subsample)
        size = encoded.stat().st_size
        if kind == "sample":
            encoded.unlink(missing_ok=True)
        seconds = self.source.frames / self.source.fps
        measurement = Measurement(
            vmaf=vmaf,
            frames_encoded=frames,
            frames_scored=scored,
            seconds=round(time.monotonic() - started, 3),
            kind=kind,
            size_bytes=size if kind != "sample" else None,
            kbps=round(size * 8 / seconds / 1000, 1) if kind != "sample" else None,
            encoder=self.info.name,
        )
        self.cache.put(key, measurement)
        return measurement

    def key(self, crf: float, kind: str) -> str:
        s = self.settings
        return probe_key(
            source=self.source.content,
            encoder=s.encoder,
            preset=s.preset,
            size=s.size,
            crf=crf,
            kind=kind,
            model=self.model,
            statistic=self.statistic,
            segments=[dataclasses.astuple(x) for x in self.segments] if kind == "sample" else None,
            subsample=subsample_for(self.source.frames) if kind == "subsampled" else 1,
        )

    def full_path(self, crf: float) -> Path:
        return self.work / f"full-{self.key(crf, 'full')[:16]}.mkv"

    # --- delivering -----------------------------------------------------------------------------
    def deliver(self, crf: float, out: Path) -> int:
        """Write the full encode at `crf` to `out` (remuxed); frames encoded to do it (0 when
        the confirming probe's encode was still there)."""
        encoded = self.full_path(crf)
        frames = 0 if encoded.exists() else self.encode_full(crf)
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [self.ffmpeg.path, "-hide_banner", "-nostdin", "-v", "error", "-y"]
        argv += [*local_input_args(str(encoded)), "-map", "0", "-c", "copy", str(out)]
        self._check(self.runner.run(argv), f"writing {out}")
        return frames

    def encode_full(self, crf: float) -> int:
        """Encode the whole input at `crf` into the work folder; frames encoded."""
        self._made.add(crf)
        return self._encode(Path(self.source.path), self.full_path(crf), crf, "full")

    def forget_encodes(self, keep: float | None = None) -> None:
        """Remove this search's kept full encodes except the one at `keep` (the answer, so a
        later `--out` costs nothing)."""
        kept = self.full_path(keep) if keep is not None else None
        for crf in list(self._made):
            path = self.full_path(crf)
            if path != kept:
                path.unlink(missing_ok=True)
                self._made.discard(crf)

    # --- steps ----------------------------------------------------------------------------------
    def _sample_reference(self) -> Path:
        """The sample segments, losslessly cut into one clip (made once, kept in the work dir)."""
        parts = "+".join(
            f"between(n\\,{s.start}\\,{s.start + s.frames - 1})" for s in self.segments
        )
        path = self.work / f"samples-{probe_key(segments=parts)[:12]}.mkv"
        if path.exists():
            return path
        self.work.mkdir(parents=True, exist_ok=True)
        self.on_activity("cutting samples")
        tmp = path.with_suffix(f".part{os.getpid()}.mkv")  # two searches of one source at once
        argv = [self.ffmpeg.path, "-hide_banner", "-nostdin", "-v", "error", "-y"]
        argv += [*local_input_args(self.source.path), "-map", "0:v:0"]
        argv += ["-vf", f"select={parts},setpts=N/FRAME_RATE/TB", "-c:v", "ffv1", "-an", str(tmp)]
        self._check(self.runner.run(argv), "cutting the sample segments")
        os.replace(tmp, path)
        return path

    def _encode(self, reference: Path, out: Path, crf: float, kind: str) -> int:
        self.work.mkdir(parents=True, exist_ok=True)
        info, s = self.info, self.settings
        width, height = s.size if s.size else (None, None)
        spec = EncodeSpec(
            source=str(reference),
            output=str(out),
            codec=info.codec,
            hw="require" if info.hardware else "never",
            encoder=info.name,
            rate_control=RateControl(_RATE_MODE[self.scale.parameter], crf),
            preset=s.preset,
            width=width,
            height=height,
            audio="none",
        )
        self.on_activity(f"encode {self.scale.parameter} {crf:g} ({kind})")
        tmp = out.with_suffix(f".part{os.getpid()}.mkv")
        argv = encode_argv(self.ffmpeg.path, spec, info.name)
        argv[-1] = argv[-1].replace(str(out), str(tmp))
        self._check(self.runner.run(argv), f"encoding with {info.name} at {crf:g}")
        os.replace(tmp, out)
        if kind == "sample":
            return sum(x.frames for x in self.segments)
        return self.source.frames

    def _score(
        self, reference: str, encoded: Path, crf: float, kind: str, subsample: int
    ) -> tuple[float, int]:
        self.on_activity(f"score {self.scale.parameter} {crf:g} ({kind})")
        options = ScoreOptions(
            models=(self.model,),
            subsample=subsample,
            threads=self.settings.threads or (os.cpu_count() or 1),
            feature_vector=False,
        )
        report = self._scorer.score(ScoreRequest(reference, (str(encoded),), options))
        result = report.results[0]
        return float(getattr(result.pooled[self.model], self.statistic)), result.scored_frames

    @staticmethod
    def _check(result: RunResult, what: str) -> None:
        if result.returncode != 0:
            raise FfmpegError(
                f"ffmpeg failed {what} (exit code {result.returncode}).",
                argv=result.argv,
                returncode=result.returncode,
                stderr_tail=result.tail(),
            )


def package_hls(evaluator: FfmpegEvaluator, crf: float, folder: Path) -> tuple[Path, int, int]:
    """The full encode at `crf` as an HLS rendition (fMP4 segments) in `folder`: its media
    playlist, average and peak bit/s."""
    encoded = evaluator.full_path(crf)
    if not encoded.exists():
        evaluator.encode_full(crf)
    return package_rendition(evaluator.ffmpeg.path, evaluator.runner, encoded, folder)


def package_rendition(
    ffmpeg: str, runner: FfmpegRunner, encoded: Path, folder: Path
) -> tuple[Path, int, int]:
    """`encoded` remuxed (no re-encode) as an HLS rendition of fMP4 segments in `folder`: its
    media playlist, average and peak bit/s. The local ladder's rungs and a farm ladder's
    (the nodes' files) go through this one command."""
    from vmafx.tune.hls import segment_durations  # noqa: PLC0415 - only the ladder needs it

    folder.mkdir(parents=True, exist_ok=True)
    playlist = folder / "index.m3u8"
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y"]
    argv += [*local_input_args(str(encoded)), "-map", "0:v:0", "-c", "copy", "-f", "hls"]
    argv += ["-hls_time", "4", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4"]
    argv += ["-hls_segment_filename", str(folder / "seg%03d.m4s"), str(playlist)]
    FfmpegEvaluator._check(runner.run(argv), f"packaging {folder} as HLS")
    segments = segment_durations(playlist.read_text())
    seconds = sum(d for _, d in segments) or 1.0
    total = sum((folder / uri).stat().st_size for uri, _ in segments)
    peak = max(((folder / uri).stat().st_size * 8 / d for uri, d in segments if d > 0), default=0)
    return playlist, round(total * 8 / seconds), round(peak)


def render_png(ffmpeg: FfmpegInfo, runner: FfmpegRunner, svg: Path, png: Path) -> bool:
    """Rasterise the SVG with ffmpeg's librsvg decoder; False when this ffmpeg lacks it."""
    from vmafx.media.svgplot import render_png as render  # noqa: PLC0415

    return render(ffmpeg.path, runner, svg, png)
