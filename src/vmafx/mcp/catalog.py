"""What `vmaf-mcp` offered that still makes sense: the libvmaf models and features vmafx knows,
and the versions of everything involved."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from vmafx import __version__
from vmafx.config import ffmpeg_settings
from vmafx.core.metrics import accepted_names
from vmafx.errors import VmafxError
from vmafx.mcp.schemas import FeaturesOut, ModelOut, ModelsOut, VersionsOut
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.graph import BUILTIN_MODELS, KNOWN_FEATURES

MODEL_NOTES = {
    "vmaf_v0.6.1": "the default: 1080p TV viewed at 3x screen height",
    "vmaf_v0.6.1neg": "no-enhancement-gain: does not reward sharpening or contrast boosts",
    "vmaf_4k_v0.6.1": "4K TV viewed at 1.5x screen height",
    "vmaf_4k_v0.6.1neg": "4K, no-enhancement-gain",
    "vmaf_v1.0.16_3d0h": "viewing at 3 screen heights, newer training set",
    "vmaf_v1.0.16_3d0h_neg": "viewing at 3 screen heights, no-enhancement-gain",
}


def models() -> ModelsOut:
    return ModelsOut(
        models=[ModelOut(name=n, description=MODEL_NOTES.get(n, "")) for n in BUILTIN_MODELS],
        note="Pass names in score's `models`; a path to a libvmaf model JSON file also works. "
        "Each model's pooled metrics are keyed by its name.",
    )


def features(farm: bool) -> FeaturesOut:
    return FeaturesOut(
        local_features=list(KNOWN_FEATURES),
        farm_metrics=accepted_names(),
        note=(
            "With a farm, score takes the names in farm_metrics (metric names and their libvmaf "
            "feature names)."
            if farm
            else "score takes local_features (libvmaf feature names, as `vmafx score --feature`) "
            "and the metric names of farm_metrics (ssim means float_ssim)."
        ),
    )


def versions(last: dict[str, str], controller: str | None) -> VersionsOut:
    try:
        sdk = version("mcp")
    except PackageNotFoundError:  # pragma: no cover - the server runs on it
        sdk = "unknown"
    try:
        info = ffmpeg_info(ffmpeg_settings().path)
    except VmafxError as error:
        return VersionsOut(
            vmafx=__version__,
            mcp_sdk=sdk,
            ffmpeg=None,
            ffmpeg_path=None,
            controller=controller,
            problem=str(error),
        )
    return VersionsOut(
        vmafx=__version__,
        mcp_sdk=sdk,
        ffmpeg=info.version,
        ffmpeg_path=info.path,
        libvmaf=last.get("libvmaf"),
        controller=controller,
    )
