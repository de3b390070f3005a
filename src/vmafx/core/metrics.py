"""The one metric vocabulary: the names users give (`psnr`, `ssim`, `ciede2000`...), which engine
computes each, the libvmaf feature extractor behind it and the output keys it writes.

`vmafx score --feature`, `vmafx jobs submit score --feature`, a score job's `metrics` field, the
corpus in farm mode, MCP and the node all read this table, so a name one of them takes, the others
take too. A metric is accepted by its own name or by its libvmaf feature name (`ssim` or
`float_ssim`). `vmaf` is the models themselves (their scores are keyed by model name, see
`vmafx.core.scores`). `engine` says what computes each: libvmaf (inside the `libvmaf` filter) or
ffmpeg's own `psnr` and `ssim` filters, in the same filter graph (one decode, the streams split).

`psnr` and `ssim` are ffmpeg's filters, the figures the field compares against (ffmpeg-quality-
metrics, papers, encoder reports); libvmaf's versions keep their libvmaf names: `float_ssim`
(libvmaf downsamples the frames first, so it reads higher than `ssim`: 0.994 against 0.980 on
1080p footage), `float_ms_ssim` (`ms_ssim`) and `float_psnr`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from vmafx.errors import UnknownFeatureError

LIBVMAF = "libvmaf"
FFMPEG = "ffmpeg"
#: How an ffmpeg-filter metric is named in `ScoreOptions.features` (`ffmpeg:ssim`).
FILTER_PREFIX = "ffmpeg:"


@dataclasses.dataclass(frozen=True, slots=True)
class Metric:
    """One metric: its user name, its engine, the extractor that computes it, what it writes."""

    name: str
    engine: str
    #: The libvmaf feature extractor (libvmaf's `feature=name=...`); "" for `vmaf` (the models).
    feature: str
    #: The output keys (prefixes) it writes in libvmaf's log and in vmafx's pooled metrics.
    outputs: tuple[str, ...]
    #: The ffmpeg filter that computes it (engine `ffmpeg`), else "".
    filter: str = ""

    @property
    def request(self) -> str:
        """Its entry in `ScoreOptions.features`: the libvmaf feature, or `ffmpeg:FILTER`."""
        return FILTER_PREFIX + self.filter if self.engine == FFMPEG else self.feature

    @property
    def names(self) -> tuple[str, ...]:
        """The names it is accepted by: its own, its libvmaf feature's when they differ, and its
        `ScoreOptions.features` entry (`ffmpeg:ssim`, what local scoring options carry)."""
        return tuple(dict.fromkeys(n for n in (self.name, self.feature, self.request) if n))


VMAF = Metric("vmaf", LIBVMAF, "", ())
_METRICS = (
    VMAF,
    Metric("psnr", FFMPEG, "", ("psnr_avg", "psnr_y", "psnr_u", "psnr_v"), filter="psnr"),
    Metric("ssim", FFMPEG, "", ("ssim_all", "ssim_y", "ssim_u", "ssim_v"), filter="ssim"),
    Metric("psnr_hvs", LIBVMAF, "psnr_hvs", ("psnr_hvs",)),
    Metric("float_psnr", LIBVMAF, "float_psnr", ("float_psnr",)),
    Metric("float_ssim", LIBVMAF, "float_ssim", ("float_ssim",)),
    Metric("ms_ssim", LIBVMAF, "float_ms_ssim", ("float_ms_ssim",)),
    Metric("ciede2000", LIBVMAF, "ciede", ("ciede2000",)),
    Metric("cambi", LIBVMAF, "cambi", ("cambi",)),
)
#: Every metric by its user name, in the order they are documented.
METRICS: Mapping[str, Metric] = {metric.name: metric for metric in _METRICS}
#: The user names (a score job's `metrics` choices).
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
#: Every accepted name (user names and libvmaf feature names) → its metric.
BY_ANY_NAME: Mapping[str, Metric] = {name: m for m in _METRICS for name in m.names}
#: Older spellings still accepted for one metric.
_LEGACY: Mapping[str, str] = {}


def accepted_names() -> list[str]:
    """Every name a metric is accepted by, sorted (for messages)."""
    return sorted(n for n in {*BY_ANY_NAME, *_LEGACY} if not n.startswith(FILTER_PREFIX))


def metric_named(name: str, *, where: str = "a score job") -> Metric:
    """The metric `name` stands for (its own or its feature's name), or UnknownFeatureError."""
    metric = BY_ANY_NAME.get(_LEGACY.get(name, name))
    if metric is None:
        raise UnknownFeatureError(
            f"{where} cannot compute the feature {name!r}.",
            hint=f"Use one of: {', '.join(accepted_names())}.",
        )
    return metric


def metric_names(names: Iterable[str], *, where: str = "a score job") -> list[str]:
    """A score job's `metrics` for these names: `vmaf` first, each metric once, in order."""
    out = [VMAF.name]
    for name in names:
        metric = metric_named(name, where=where).name
        if metric not in out:
            out.append(metric)
    return out


def libvmaf_feature(name: str) -> str:
    """The `ScoreOptions.features` entry for a name given to local scoring: a metric's user name
    becomes its libvmaf extractor (`ms_ssim` → `float_ms_ssim`) or its ffmpeg filter (`ssim` →
    `ffmpeg:ssim`); any other name is passed to libvmaf as it is (local scoring also runs libvmaf
    features outside this vocabulary, and `name:option=...`)."""
    metric = BY_ANY_NAME.get(name)
    return metric.request if metric is not None and metric.request else name


def ffmpeg_filter(entry: str) -> str | None:
    """The ffmpeg filter a `ScoreOptions.features` entry names (`ffmpeg:ssim` → `ssim`), else
    None (a libvmaf feature)."""
    return entry[len(FILTER_PREFIX) :] if entry.startswith(FILTER_PREFIX) else None


#: ffmpeg-filter metrics by filter name.
BY_FILTER: Mapping[str, Metric] = {m.filter: m for m in _METRICS if m.engine == FFMPEG}
