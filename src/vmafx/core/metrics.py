"""The one metric vocabulary: the names users give (`psnr`, `ssim`, `ciede2000`...), which engine
computes each, the libvmaf feature extractor behind it and the output keys it writes.

`vmafx score --feature`, `vmafx jobs submit score --feature`, a score job's `metrics` field, the
corpus in farm mode, MCP and the node all read this table, so a name one of them takes, the others
take too. A metric is accepted by its own name or by its libvmaf feature name (`ssim` or
`float_ssim`). `vmaf` is the models themselves (their scores are keyed by model name, see
`vmafx.core.scores`). Every metric here is computed by libvmaf today; `engine` says so, so that a
metric computed by another engine (ffmpeg's own `psnr`/`ssim` filters) can be added as an entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from vmafx.errors import UnknownFeatureError

LIBVMAF = "libvmaf"


@dataclasses.dataclass(frozen=True, slots=True)
class Metric:
    """One metric: its user name, its engine, the extractor that computes it, what it writes."""

    name: str
    engine: str
    #: The libvmaf feature extractor (libvmaf's `feature=name=...`); "" for `vmaf` (the models).
    feature: str
    #: The output keys (prefixes) it writes in libvmaf's log and in vmafx's pooled metrics.
    outputs: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The names it is accepted by: its own, and its libvmaf feature's when they differ."""
        if self.feature and self.feature != self.name:
            return (self.name, self.feature)
        return (self.name,)


VMAF = Metric("vmaf", LIBVMAF, "", ())
_METRICS = (
    VMAF,
    Metric("psnr", LIBVMAF, "psnr", ("psnr_y", "psnr_cb", "psnr_cr")),
    Metric("psnr_hvs", LIBVMAF, "psnr_hvs", ("psnr_hvs",)),
    Metric("ssim", LIBVMAF, "float_ssim", ("float_ssim",)),
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
#: Older spellings still accepted for one metric (`vmafx jobs submit --feature float_psnr`).
_LEGACY: Mapping[str, str] = {"float_psnr": "psnr"}


def accepted_names() -> list[str]:
    """Every name a metric is accepted by, sorted (for messages)."""
    return sorted({*BY_ANY_NAME, *_LEGACY})


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
    """The libvmaf feature for a name given to local scoring: a metric's user name becomes its
    extractor (`ssim` → `float_ssim`); any other name is passed to libvmaf as it is (local
    scoring also runs libvmaf features outside this vocabulary, and `name:option=...`)."""
    metric = BY_ANY_NAME.get(name)
    return metric.feature if metric is not None and metric.feature else name
