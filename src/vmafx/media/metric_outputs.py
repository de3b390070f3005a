"""Which log keys each metric the user asked for must produce, and the check that they did.

libvmaf drops an extractor it cannot run without failing the run (ffmpeg exits 0), so after
every run each model's score and each asked-for feature's outputs must be in the log of every
distorted input; a missing one is an error naming the metric, the input and, where libvmaf or
the size limits say, why. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from vmafx.core.metrics import LIBVMAF, METRICS
from vmafx.errors import MissingMetricError
from vmafx.media.size_limits import Frame, feature_base, model_needs, unmet

#: Which log keys (prefixes) each libvmaf extractor writes, measured on the bundled libvmaf: the
#: metric vocabulary's (`vmafx.core.metrics`), then the extractors only the models and the
#: feature vector use. An extractor not listed writes keys that start with its own name
#: (float_psnr, float_moment, speed_chroma, speed_temporal, float_ansnr, cambi with options...).
OUTPUT_PREFIXES: dict[str, tuple[str, ...]] = {
    **{m.feature: m.outputs for m in METRICS.values() if m.engine == LIBVMAF and m.feature},
    "adm": ("integer_adm", "integer_aim"),
    "vif": ("integer_vif",),
    "motion": ("integer_motion", "VMAF_integer_feature_motion"),
    "float_adm": ("adm2", "adm3", "adm_scale", "aim"),
    "float_vif": ("vif_scale",),
    "float_motion": ("motion",),
    "ssim": ("float_ssim",),
    "ms_ssim": ("float_ms_ssim",),
}


@dataclasses.dataclass(frozen=True)
class Expected:
    """One metric the user asked for: its name and the log keys (prefixes) that prove it ran."""

    metric: str
    #: Exact key (a model's score) or prefixes (a feature's outputs).
    prefixes: tuple[str, ...]
    exact: bool = False

    def present(self, keys: Sequence[str]) -> bool:
        if self.exact:
            return self.prefixes[0] in keys
        return any(k.startswith(self.prefixes) for k in keys)

    def keys(self, keys: Sequence[str]) -> list[str]:
        """The log keys this metric produced, in log order."""
        if self.exact:
            return [k for k in keys if k == self.prefixes[0]]
        return [k for k in keys if k.startswith(self.prefixes)]


def feature_prefixes(feature: str) -> tuple[str, ...]:
    base = feature_base(feature)
    return OUTPUT_PREFIXES.get(base, (base,))


def expected(model_names: Sequence[str], features: Sequence[str]) -> list[Expected]:
    """Every metric asked for: each model's score key, then each feature's outputs."""
    out = [Expected(name, (name,), exact=True) for name in model_names]
    return out + [Expected(f, feature_prefixes(f)) for f in features]


def missing(
    keys: Sequence[str], model_names: Sequence[str], features: Sequence[str]
) -> list[Expected]:
    """The asked-for metrics that left no key in a log holding `keys`."""
    return [e for e in expected(model_names, features) if not e.present(keys)]


_EXTRACTOR_PROBLEM = re.compile(r'problem with feature extractor "([^"]+)"')
_NO_FEATURE = re.compile(r"no feature '([^']+)' at index")


def libvmaf_reasons(stderr: str) -> Mapping[str, str]:
    """What libvmaf itself said about extractors that failed, by extractor name."""
    reasons: dict[str, str] = {}
    for match in _EXTRACTOR_PROBLEM.finditer(stderr):
        reasons.setdefault(
            match.group(1),
            f'libvmaf reported "problem with feature extractor {match.group(1)}" on every frame',
        )
    for match in _NO_FEATURE.finditer(stderr):
        name = match.group(1)
        reasons.setdefault(
            name.split("_", 1)[0], f"libvmaf could not compute the model's feature {name}"
        )
    return reasons


def _why(
    item: Expected, frame: Frame, reasons: Mapping[str, str], models: Mapping[str, str]
) -> str:
    base = feature_base(item.metric)
    needs = model_needs(models.get(item.metric, base)) if item.exact else (base,)
    for name in needs:
        reason = unmet(name, frame)
        if reason is not None:
            return f"{reason}, and the frames compared are {frame.size}"
    for name in (base, *needs):
        if name in reasons:
            return reasons[name]
    if item.exact:
        return "libvmaf wrote no score for this model and gave no reason"
    return "libvmaf skipped the extractor without saying why"


def check_complete(
    keys: Sequence[str],
    models: Mapping[str, str],
    features: Sequence[str],
    *,
    distorted: str,
    frame: Frame,
    stderr: str = "",
) -> None:
    """Raise MissingMetricError for the first asked-for metric a log lacks (never exit 0 on it).

    `models` maps the key each model scores under (`vmaf`, or the model's name) to the model
    as given (a built-in name or a path).
    """
    absent = missing(keys, list(models), features)
    if not absent:
        return
    item = absent[0]
    why = _why(item, frame, libvmaf_reasons(stderr), models)
    others = [e.metric for e in absent[1:]]
    also = f" (nor {', '.join(others)})" if others else ""
    raise MissingMetricError(
        f"libvmaf produced no {item.metric} values for {distorted}{also}: {why}.",
        metric=item.metric,
        distorted=distorted,
        hint=f"Score without {feature_base(item.metric)}, or score a larger input; if the "
        "input is an ordinary video, report it with the command and the input's size.",
    )
