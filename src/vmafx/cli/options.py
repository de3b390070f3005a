"""Scoring options shared by every command that scores (`vmafx score`, `vmafx corpus score`).

Each is a Typer option defined once, so the flags, defaults and help read the same everywhere;
`score_options` and `raw_format` turn their values into the media layer's types.
"""

from __future__ import annotations

import enum

import typer

from vmafx.core.media import RawFormat, parse_fps
from vmafx.core.metrics import libvmaf_feature
from vmafx.errors import UsageError
from vmafx.media.graph import ScoreOptions


class Sync(enum.StrEnum):
    none = "none"
    shortest = "shortest"
    fps = "fps"


MODEL = typer.Option(
    ["vmaf_v0.6.1"],
    "--model",
    "-m",
    help="libvmaf model: a built-in version (vmaf_v0.6.1, vmaf_v0.6.1neg, vmaf_4k_v0.6.1, "
    "vmaf_v1.0.16_3d0h) or a model JSON file. Repeat for several.",
)
FEATURE = typer.Option(
    [],
    "--feature",
    "-f",
    help="Extra metric: psnr, ssim (ffmpeg's own filters, the figures ffmpeg-quality-metrics "
    "gives), float_ssim, float_psnr, ms_ssim, psnr_hvs, ciede2000, cambi (libvmaf's; float_ssim "
    "downsamples first, so it reads higher than ssim); farm jobs take the same names. Any other "
    "libvmaf feature name (ciede, motion...) too. Repeat for several.",
)
SUBSAMPLE = typer.Option(1, min=1, help="Score every Nth frame (2 is ~1.8x faster).")
WIDTH = typer.Option(None, min=1, help="Width of raw .yuv inputs.")
HEIGHT = typer.Option(None, min=1, help="Height of raw .yuv inputs.")
PIX_FMT = typer.Option("yuv420p", help="Pixel format of raw .yuv inputs (yuv420p10le, ...).")
FPS = typer.Option("24", help="Frame rate of raw .yuv inputs (24, 30000/1001, ...).")
NO_SCALE = typer.Option(
    False, "--no-scale", help="Refuse inputs of different sizes instead of scaling."
)
SYNC = typer.Option(
    Sync.none,
    help="shortest: score only the frames both have; fps: convert the distorted "
    "frame rate to the reference's, then score the frames both have.",
)
NO_FEATURES = typer.Option(False, "--no-features", help="Skip feature vector v1.")
TIMEOUT = typer.Option(None, min=1, help="Stop ffmpeg after this many seconds.")
NO_SWAP_CHECK = typer.Option(
    False,
    "--no-swap-check",
    help="Do not warn when the reference looks like the distorted input (a far lower bit rate "
    "than a distorted input as large or larger): the inputs were likely given the wrong way round.",
)


def raw_format(width: int | None, height: int | None, pix_fmt: str, fps: str) -> RawFormat | None:
    if width is None and height is None:
        return None
    if width is None or height is None:
        raise UsageError(
            "Raw YUV needs both --width and --height.",
            hint="Give both, e.g. --width 1920 --height 1080.",
        )
    return RawFormat(width, height, pix_fmt, parse_fps(fps))


def score_options(
    model: list[str],
    feature: list[str],
    subsample: int,
    threads: int,
    no_scale: bool,
    sync: Sync,
    no_features: bool,
) -> ScoreOptions:
    return ScoreOptions(
        models=tuple(model),
        features=tuple(dict.fromkeys(libvmaf_feature(name) for name in feature)),
        subsample=subsample,
        threads=threads,
        scale=not no_scale,
        sync_fps=sync is Sync.fps,
        feature_vector=not no_features,
    )
