"""Pure builder of the one ffmpeg command that scores N distorted inputs against one reference.

Layout of the command (reference first, as in libvmaf's own CLI):

    ffmpeg -i file:REF -i file:DIS1 ... -filter_complex GRAPH -map [o0] -map [o1] ... -f null -

(each `-i` preceded by the input policy's protocol and format whitelists, `vmafx.media.urls`)

    [0:v]settb=1/R,setpts=N,split=N[r0][r1]...;              reference decoded once, split
    [1:v][setpts=PTS-STARTPTS,fps=R,]settb=1/R,setpts=N[,scale=W:H:flags=bicubic][,format=..][d0];
    [d0][r0]libvmaf=...:log_path=LOG0[o0];                   distorted FIRST, reference SECOND

Both streams are re-timed by frame index in one time base, 1/R for the reference's rate R, so
libvmaf pairs frame i with frame i, as libvmaf's own CLI does. Container timestamps are not
to be trusted for pairing: an MP4 reference (1/12288 time base) against an MKV encode (1/1000)
at 24 fps rounds 41.67 ms frames differently, and ffmpeg's frame sync then pairs neighbours
(measured: VMAF 78.2 instead of 99.8 for a CRF 10 encode). Only with `--sync fps` does the
distorted keep its timestamps long enough for the `fps` filter to convert its rate.

With ffmpeg's own `psnr`/`ssim` filters asked for (`ffmpeg:psnr` in the features), the reference
is split once more per filter and the distorted stream passes through each filter first (they
pass their first input on unchanged), still in the same run, decoded once:

    [d0][r0_psnr]psnr=stats_file=STATS[d0_psnr];[d0_psnr][r0]libvmaf=...[o0]

No I/O here: the result is an argv list and the log paths the caller must read afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from vmafx.core.input_policy import is_model_path
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.metrics import ffmpeg_filter
from vmafx.core.remote import RemoteInput
from vmafx.core.scores import DEFAULT_MODEL
from vmafx.errors import UsageError
from vmafx.media import hwdecode
from vmafx.media.urls import local_input_args, local_url, whitelist_args

#: libvmaf's built-in model versions in the imageio-ffmpeg build (others are tried and reported).
BUILTIN_MODELS: tuple[str, ...] = (
    "vmaf_v0.6.1",
    "vmaf_v0.6.1neg",
    "vmaf_4k_v0.6.1",
    "vmaf_4k_v0.6.1neg",
    "vmaf_v1.0.16_3d0h",
    "vmaf_v1.0.16_3d0h_neg",
)

#: Feature extractors (libvmaf `feature` entries) that yield feature vector v1. libvmaf runs an
#: extractor once when a model already needs it with the same options, so these cost nothing
#: beyond the `psnr` pass (measured: docs/features.md).
VECTOR_EXTRACTORS: dict[str, str] = {
    "adm": "name=adm",
    "vif": "name=vif",
    "motion": "name=motion",
    "psnr": "name=psnr:enable_mse=true",
}

#: Feature names libvmaf 3.x knows; used only to suggest a fix, never to refuse a name.
KNOWN_FEATURES: tuple[str, ...] = (
    "psnr",
    "float_psnr",
    "float_ssim",
    "float_ms_ssim",
    "ciede",
    "cambi",
    "psnr_hvs",
    "float_moment",
    "adm",
    "vif",
    "motion",
    "float_adm",
    "float_vif",
    "float_motion",
    "ssim",
    "ms_ssim",
)


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A libvmaf model: a built-in version name or a JSON file, and the key its score gets."""

    spec: str
    name: str
    is_path: bool

    @property
    def option(self) -> str:
        """This model's entry in libvmaf's `model` list, escaped for libvmaf's key=value parser."""
        kind = "path" if self.is_path else "version"
        return f"{kind}={_bs(self.spec, _KV)}:name={_bs(self.name, _KV)}"


def model_refs(models: Sequence[str]) -> list[ModelRef]:
    """Models as given by the user → ModelRefs, each scored under its own name (the built-in
    version, or the file's stem), the same for one model or several (`vmaf_v0.6.1`)."""
    refs: list[ModelRef] = []
    for spec in models or (DEFAULT_MODEL,):
        if "|" in spec:
            raise UsageError(
                f"The model {spec!r} contains '|', which libvmaf's model list cannot carry.",
                hint="Rename or link the model file to a path without '|'.",
            )
        is_path = is_model_path(spec)
        name = Path(spec).stem if is_path else spec
        refs.append(ModelRef(spec=spec, name=name, is_path=is_path))
    seen: set[str] = set()
    for i, ref in enumerate(refs):
        name = ref.name
        n = 2
        while name in seen:
            name, n = f"{ref.name}_{n}", n + 1
        seen.add(name)
        refs[i] = dataclasses.replace(ref, name=name)
    return refs


@dataclasses.dataclass(frozen=True)
class Input:
    """One input of the command: a path plus, for raw YUV, how to read it; or a remote input
    (`path` is then its name, `remote` the signed URL ffmpeg opens)."""

    path: str
    raw: RawFormat | None = None
    remote: RemoteInput | None = None

    def argv(self) -> list[str]:
        """The input's options and `-i file:PATH` (or the signed URL), under the input policy's
        whitelists."""
        if self.remote is not None:
            return [*whitelist_args(self.remote.protocols), "-i", self.remote.url]
        if self.raw is None:
            return local_input_args(self.path)
        raw = self.raw
        return [
            *whitelist_args(), "-f", "rawvideo", "-pix_fmt", raw.pix_fmt, "-s", raw.size,
            "-framerate", _fraction(raw.fps), "-i", local_url(self.path),
        ]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ScoreOptions:
    """How to score: models, features, subsampling, threads, and the conversions allowed."""

    models: tuple[str, ...] = ("vmaf_v0.6.1",)
    features: tuple[str, ...] = ()
    subsample: int = 1
    threads: int = 1
    scale: bool = True
    #: Convert the distorted input's frame rate to the reference's (`fps` filter) when they differ.
    sync_fps: bool = False
    feature_vector: bool = True
    #: Threads for decoding each input and for the filter graph (None: ffmpeg's own choice, which
    #: uses every core). Many single-threaded runs side by side (a corpus pool) want 1.
    decode_threads: int | None = None
    #: `cuda`: decode every input NVDEC takes on the GPU (`vmafx.media.hwdecode`); `cpu`: none.
    #: (`auto` is resolved to one of them before the command is built.)
    decode: str = "cpu"
    #: The CUDA ordinal NVDEC uses (`-hwaccel_device`); None lets the driver choose.
    cuda_device: int | None = None


@dataclasses.dataclass(frozen=True)
class ScoreCommand:
    """One scoring run's ffmpeg argv, with where each input's libvmaf log goes and what it holds."""

    argv: list[str]
    log_paths: list[str]
    models: list[ModelRef]
    #: The libvmaf features asked for (ffmpeg filters are in `filters`).
    features: list[str]
    #: ffmpeg's own metric filters asked for (`psnr`, `ssim`), in order.
    filters: list[str] = dataclasses.field(default_factory=list)
    #: Per distorted input: each filter's stats file, by filter name.
    stats_paths: list[dict[str, str]] = dataclasses.field(default_factory=list)
    #: Per input, reference first: `cuda` where NVDEC decodes it, else `cpu`.
    decoded: list[str] = dataclasses.field(default_factory=list)


_KV = "\\':"  # libvmaf's key=value pairs and ffmpeg's option level both split on ':'
_GRAPH = "\\'[],;"  # ffmpeg's graph level


def _bs(value: str, chars: str) -> str:
    return "".join("\\" + c if c in chars else c for c in value)


def escape_option(value: str) -> str:
    """Escape a value for both levels of ffmpeg's filtergraph syntax.

    Level 1 (inside one filter's options): backslash-escape `\\`, `'` and `:`.
    Level 2 (the whole graph): backslash-escape `\\`, `'`, `[`, `]`, `,` and `;`.
    """
    return _bs(_bs(value, _KV), _GRAPH)


def _fraction(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def feature_entries(options: ScoreOptions) -> list[str]:
    """libvmaf `feature` entries: the user's extractors plus those feature vector v1 needs."""
    entries = {name: f"name={name}" for name in options.features if not ffmpeg_filter(name)}
    if options.feature_vector:
        entries.update(VECTOR_EXTRACTORS)
    return list(entries.values())


def libvmaf_filter(
    options: ScoreOptions, models: list[ModelRef], log_path: str, *, shortest: bool = False
) -> str:
    parts = [
        "libvmaf=log_fmt=json",
        f"log_path={escape_option(log_path)}",
        f"n_threads={options.threads}",
        f"n_subsample={options.subsample}",
        f"model={_escape_list([m.option for m in models])}",
    ]
    entries = feature_entries(options)
    if entries:
        parts.append("feature=" + _escape_list(entries))
    if shortest:
        parts.append("shortest=1")
    return ":".join(parts)


def _escape_list(entries: Sequence[str]) -> str:
    """A libvmaf list option (`model`, `feature`): entries joined by '|', then both ffmpeg levels.

    libvmaf splits the list on '|' with no escape mechanism, so `model_refs` refuses a '|' in a
    model path; within an entry, key=value pairs are parsed with backslash escapes.
    """
    return escape_option("|".join(entries))


def frame_clock(rate: Fraction) -> str:
    """Timestamps from the frame index at `rate` (see the module docstring), or, for a rate
    nobody knows, the container's timestamps from zero."""
    if not rate or rate <= 0:
        return "setpts=PTS-STARTPTS"
    return f"settb={_fraction(1 / rate)},setpts=N"


def distorted_chain(reference: VideoInfo, distorted: VideoInfo, options: ScoreOptions) -> str:
    """Filters that make a distorted input comparable with the reference, frame for frame."""
    chain = []
    if options.sync_fps and distorted.fps != reference.fps:
        chain += ["setpts=PTS-STARTPTS", f"fps={_fraction(reference.fps)}"]
    chain.append(frame_clock(reference.fps))
    if options.scale and (distorted.width, distorted.height) != (reference.width, reference.height):
        chain.append(f"scale={reference.width}:{reference.height}:flags=bicubic")
    if distorted.pix_fmt != reference.pix_fmt:
        chain.append(f"format={reference.pix_fmt}")
    return ",".join(chain)


def build_score_command(
    ffmpeg: str,
    reference: tuple[Input, VideoInfo],
    distorted: Sequence[tuple[Input, VideoInfo]],
    options: ScoreOptions,
    log_dir: str,
    *,
    shortest: bool = False,
) -> ScoreCommand:
    """The argv that scores every distorted input against the reference in one run."""
    ref_input, ref_info = reference
    models = model_refs(options.models)
    n = len(distorted)
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-v", "verbose"]
    argv += ["-progress", "pipe:1", "-stats_period", "0.5"]
    threads = [] if options.decode_threads is None else ["-threads", str(options.decode_threads)]
    if options.decode_threads is not None:
        argv += ["-filter_complex_threads", str(options.decode_threads)]
    on_gpu = [
        options.decode == "cuda" and hwdecode.nvdec_format(info) is not None
        for info in [ref_info, *(info for _, info in distorted)]
    ]
    hw = hwdecode.input_args(options.cuda_device)
    for gpu, item in zip(on_gpu, [ref_input, *(i for i, _ in distorted)], strict=True):
        argv += threads + (hw if gpu else []) + item.argv()
    heads = [
        hwdecode.download_chain(info) + "," if gpu else ""
        for gpu, info in zip(on_gpu, [ref_info, *(i for _, i in distorted)], strict=True)
    ]
    filters = list(dict.fromkeys(f for e in options.features if (f := ffmpeg_filter(e))))
    ref_labels = [f"[r{i}{s}]" for i in range(n) for s in ["", *(f"_{f}" for f in filters)]]
    split = len(ref_labels)
    graph = [
        f"[0:v]{heads[0]}{frame_clock(ref_info.fps)}"
        + (f",split={split}" if split > 1 else "")
        + "".join(ref_labels)
    ]
    log_paths: list[str] = []
    stats_paths: list[dict[str, str]] = []
    for i, (_, dis_info) in enumerate(distorted):
        chain = distorted_chain(ref_info, dis_info, options)
        graph.append(f"[{i + 1}:v]{heads[i + 1]}{chain}[d{i}]")
        stats: dict[str, str] = {}
        last = f"d{i}"
        for name in filters:
            stats[name] = str(Path(log_dir) / f"{name}_{i}.log")
            graph.append(
                f"[{last}][r{i}_{name}]{metric_filter(name, stats[name], shortest=shortest)}"
                f"[d{i}_{name}]"
            )
            last = f"d{i}_{name}"
        stats_paths.append(stats)
        log_path = str(Path(log_dir) / f"vmaf_{i}.json")
        log_paths.append(log_path)
        graph.append(
            f"[{last}][r{i}]{libvmaf_filter(options, models, log_path, shortest=shortest)}[o{i}]"
        )
    argv += ["-filter_complex", ";".join(graph)]
    for i in range(n):
        argv += ["-map", f"[o{i}]"]
    argv += ["-f", "null", "-"]
    features = [f for f in options.features if not ffmpeg_filter(f)]
    decoded = ["cuda" if gpu else "cpu" for gpu in on_gpu]
    return ScoreCommand(argv, log_paths, models, features, filters, stats_paths, decoded)


def metric_filter(name: str, stats_path: str, *, shortest: bool = False) -> str:
    """ffmpeg's `psnr` or `ssim` filter writing its per-frame values to `stats_path`."""
    return f"{name}=stats_file={escape_option(stats_path)}" + (":shortest=1" if shortest else "")
