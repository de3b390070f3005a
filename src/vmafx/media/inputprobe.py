"""One ffmpeg process that answers, for every input of a scoring run, what PyAV's probe would:
size, pixel format, frame rate, duration, codec, container, plus ffmpeg's version and whether
it was built with libvmaf (its banner), so `vmafx score` starts ffmpeg once before scoring
instead of three times and never imports PyAV or numpy before the scoring run starts.

The run is `ffmpeg -nostdin [-protocol_whitelist file -format_whitelist ...] -i file:PATH ...`
with no output: ffmpeg opens each input under the input policy's whitelists (the same as the
scoring run and the PyAV probe, `vmafx.media.urls`), prints what it found and stops. Only lines
at ffmpeg's own indentation are read (metadata values are printed further in, so a tag cannot
pose as a stream). What this probe does not learn:

- the frame count (ffmpeg prints none): the scoring run's `-v verbose` summary gives the frames
  each input decoded, and a mismatch is refused after the run (`LibvmafScorer`);
- whether the frame rate varies (`variable_frame_rate` is False here).

An input whose description it cannot read is probed with PyAV instead (`vmafx.media.probe`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from fractions import Fraction

from vmafx.core.media import RawFormat, VideoInfo, bit_depth_of
from vmafx.core.remote import RemoteInput
from vmafx.errors import FfmpegCapabilityError, NotVideoError
from vmafx.media.probe import _check_exists, _sniffed_multi_file, is_raw, probe, probe_raw
from vmafx.media.runner import FfmpegRunner
from vmafx.media.urls import local_input_args, whitelist_args

_INPUT = re.compile(r"^Input #(\d+), ([^,]+(?:,[^,\s]+)*), from '")
_STREAM = re.compile(r"^  Stream #(\d+):\d+\S*: Video: (.*)$")
_DURATION = re.compile(r"^  Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_SIZE = re.compile(r"^(\d+)x(\d+)(?:\s|$)")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(k?) (fps|tbr)$")
_REFS = re.compile(r"^\d+ reference frames?\b")
_VERSION = re.compile(r"^ffmpeg version (\S+)", re.MULTILINE)


def locate_ffmpeg(override: str | None = None) -> str:
    """The ffmpeg `vmafx.media.ffmpeg.locate` would pick, without the `ffmpeg -version` run
    imageio-ffmpeg makes to vouch for its bundled binary: the probe run vouches for it."""
    from vmafx.media.ffmpeg import locate  # noqa: PLC0415

    if override or os.environ.get("IMAGEIO_FFMPEG_EXE"):
        return locate(override)
    bundled = _bundled_binary()
    if bundled is not None:
        return bundled
    try:
        from imageio_ffmpeg import _definitions  # noqa: PLC0415
        from imageio_ffmpeg import binaries as bundled_folder  # noqa: PLC0415

        name = _definitions.FNAME_PER_PLATFORM.get(_definitions.get_platform(), "")
        folder = os.path.dirname(bundled_folder.__file__ or "")
    except (ImportError, AttributeError):
        return locate(override)
    path = os.path.join(folder, name)
    return path if name and os.path.isfile(path) else locate(override)


def _bundled_binary() -> str | None:
    """imageio-ffmpeg's binary found without importing the package (whose __init__ imports
    logging and its subprocess helpers, ~7 ms): a platform wheel ships one `ffmpeg-*` file in
    `imageio_ffmpeg/binaries`. None where that is not so (the import path decides then)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("imageio_ffmpeg")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "binaries")
    try:
        names = [n for n in os.listdir(folder) if n.startswith("ffmpeg-")]
    except OSError:
        return None
    if len(names) != 1:
        return None
    path = os.path.join(folder, names[0])
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@dataclasses.dataclass(frozen=True)
class ProbeRun:
    """What the one probe run learnt: ffmpeg's version and libvmaf, and each input."""

    version: str
    has_libvmaf: bool
    inputs: tuple[VideoInfo, ...]


def probe_command(
    ffmpeg: str, paths: Sequence[str], remote: Sequence[RemoteInput] = ()
) -> list[str]:
    """The probe's argv: every input under the input policy's whitelists, no output (a remote
    input by its signed URL, with the protocols that URL needs and no others)."""
    by_name = {item.name: item for item in remote}
    argv = [ffmpeg, "-nostdin"]
    for path in paths:
        item = by_name.get(path)
        if item is not None:
            argv += [*whitelist_args(item.protocols), "-i", item.url]
        else:
            argv += local_input_args(path)
    return argv


def _fields(description: str) -> list[str]:
    """`h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1], 24 fps`
    split on the commas outside brackets."""
    fields, depth, start = [], 0, 0
    for i, char in enumerate(description):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            fields.append(description[start:i].strip())
            start = i + 1
    fields.append(description[start:].strip())
    return fields


def exact_rate(text: str, kilo: str = "") -> Fraction:
    """ffmpeg prints rates rounded to two decimals; NTSC rates (x/1001) come back exact."""
    value = Fraction(text) * (1000 if kilo else 1)
    if value.denominator == 1:
        return value
    ntsc = Fraction(round(value * Fraction(1001, 1000)) * 1000, 1001)
    if abs(ntsc - value) < Fraction(1, 100):
        return ntsc
    return value.limit_denominator(1001)


@dataclasses.dataclass
class _Seen:
    container: str = ""
    duration_s: float | None = None
    stream: str | None = None


def parse_probe(text: str) -> tuple[str, bool, dict[int, _Seen]]:
    """ffmpeg's banner and input dump → version, libvmaf built in, what each input showed."""
    version = _VERSION.search(text)
    has_libvmaf = any(
        line.startswith("  configuration:") and "--enable-libvmaf" in line.split()
        for line in text.splitlines()
    )
    seen: dict[int, _Seen] = {}
    current: _Seen | None = None
    for line in text.splitlines():
        if match := _INPUT.match(line):
            current = seen.setdefault(int(match.group(1)), _Seen(container=match.group(2)))
        elif line.startswith(("Output #", "Stream mapping:")):
            current = None  # a scoring run's own output streams follow its inputs
        elif current is None:
            continue
        elif match := _DURATION.match(line):
            h, m, s = match.groups()
            current.duration_s = int(h) * 3600 + int(m) * 60 + float(s)
        elif (match := _STREAM.match(line)) and current.stream is None:
            current.stream = match.group(2)
    return (version.group(1) if version else "unknown"), has_libvmaf, seen


def video_info(path: str, seen: _Seen) -> VideoInfo | None:
    """The VideoInfo an input's first video stream line gives, or None if it is not readable."""
    if seen.stream is None:
        return None
    # at `-v verbose` (the scoring run's level) ffmpeg adds "1 reference frame" after the codec
    fields = [f for f in _fields(seen.stream) if not _REFS.match(f)]
    if len(fields) < 3:
        return None
    codec = fields[0].split(" ", 1)[0]
    pix_fmt = fields[1].split("(", 1)[0].strip()
    size = next((m for f in fields[2:] if (m := _SIZE.match(f))), None)
    rates = {m.group(3): (m.group(1), m.group(2)) for f in fields if (m := _RATE.match(f))}
    rate = rates.get("fps") or rates.get("tbr")
    if size is None or rate is None or not re.fullmatch(r"[a-z0-9_]+", pix_fmt):
        return None
    if pix_fmt == "none":
        return None
    return VideoInfo(
        path=path,
        width=int(size.group(1)),
        height=int(size.group(2)),
        pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt),
        fps=exact_rate(*rate),
        variable_frame_rate=False,
        frame_count=None,
        duration_s=seen.duration_s,
        codec=codec,
        container=seen.container,
    )


def probe_inputs(
    ffmpeg: str,
    paths: Sequence[str],
    raw: RawFormat | None,
    runner: FfmpegRunner,
    *,
    remote: Sequence[RemoteInput] = (),
) -> ProbeRun:
    """Probe every input with one ffmpeg run (raw YUV from its size on disk, no run needed for
    it). The input policy's checks run first, on every path, before ffmpeg opens anything
    (a remote input was checked, sniffed and signed by `vmafx.storage` before it got here)."""
    by_name = {item.name: item for item in remote}
    for path in paths:
        if path not in by_name and not is_raw(path):
            _check_exists(path)
    opened = [p for p in paths if p in by_name or not is_raw(p)]
    result = runner.run(probe_command(ffmpeg, opened, remote), timeout_s=60)
    text = result.stderr
    version, has_libvmaf, seen = parse_probe(text)
    if not _VERSION.search(text):  # a wrapper that hides the banner: ask ffmpeg itself
        from vmafx.media.ffmpeg import ffmpeg_info  # noqa: PLC0415

        version = ffmpeg_info(ffmpeg).version
    elif not has_libvmaf:
        raise FfmpegCapabilityError(
            f"The ffmpeg at {ffmpeg} (version {version}) has no libvmaf filter, "
            "so it cannot compute VMAF.",
            hint="Reinstall the Python package that ships it (`pip install --force-reinstall "
            "imageio-ffmpeg`), or set VMAFX_FFMPEG to an ffmpeg built with --enable-libvmaf.",
        )
    infos: list[VideoInfo] = []
    index = 0
    for path in paths:
        if path not in by_name and is_raw(path):
            infos.append(probe_raw(path, raw))
            continue
        got = seen.get(index)
        index += 1
        if got is None:
            _refuse_unopened(path, text, by_name.get(path))
        info = video_info(path, got) if got is not None else None
        infos.append(info if info is not None else probe(path, raw, by_name.get(path)))
    return ProbeRun(version, has_libvmaf, tuple(infos))


def described_inputs(stderr: str, paths: Sequence[str]) -> tuple[str, bool, list[VideoInfo]] | None:
    """What a scoring run's own stderr says of its inputs, as `probe_inputs` would have said it
    (ffmpeg prints the same banner and input dump before it scores): version, libvmaf built in,
    each input in order; None where any input's description cannot be read (the caller then
    probes as usual)."""
    version, has_libvmaf, seen = parse_probe(stderr)
    infos = []
    for index, path in enumerate(paths):
        got = seen.get(index)
        info = video_info(path, got) if got is not None else None
        if info is None:
            return None
        infos.append(info)
    return version, has_libvmaf, infos


def _refuse_unopened(path: str, stderr: str, remote: RemoteInput | None = None) -> None:
    """ffmpeg could not open `path`: a playlist or list of files by its bytes, else not a video
    (the same refusals as the PyAV probe); a remote input: what the object store answered."""
    from vmafx.core.input_policy import READABLE, multi_file_error  # noqa: PLC0415

    if remote is not None:
        from vmafx.media.remote import remote_error, unreadable_remote  # noqa: PLC0415

        raise remote_error([remote], stderr) or unreadable_remote(remote, _reason(stderr, path))

    kind = _sniffed_multi_file(path)
    if kind is not None:
        raise multi_file_error(path, "input", kind)
    reason = _reason(stderr, path)
    raise NotVideoError(
        f"The input {path} is not a video vmafx can read ({reason or 'ffmpeg could not open it'}).",
        path=path,
        hint=f"Check that the file is complete and in a container vmafx reads ({READABLE}); "
        "raw YUV needs a .yuv extension plus --width and --height.",
    )


def _reason(stderr: str, path: str) -> str:
    """ffmpeg 7+: "[in#1 @ 0x..] Error opening input: REASON"; older: "file:PATH: REASON"."""
    reason = ""
    for line in stderr.splitlines():
        if "Error opening input: " in line:
            reason = line.split("Error opening input: ", 1)[1].strip()
        elif line.startswith(f"file:{path}: "):
            reason = line[len(f"file:{path}: ") :].strip()
    return reason
