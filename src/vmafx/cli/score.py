"""`vmafx score REFERENCE DISTORTED...`: the composition root for local scoring."""

from __future__ import annotations

import enum

import typer

from vmafx.cli import options as opts
from vmafx.cli.options import Sync
from vmafx.cli.scoring import ScoreArgs, path_or_url, run_score

HELP = """Score one or more DISTORTED videos against a REFERENCE with the real libvmaf.

The reference comes first, as in libvmaf's own CLI. All metrics and all distorted inputs are
computed in ONE ffmpeg run: the reference is decoded once.

Examples:

    vmafx score ref.mp4 enc_crf23.mp4 enc_crf28.mp4

    vmafx score ref.y4m dis.mkv --model vmaf_v0.6.1 --model vmaf_v0.6.1neg --feature float_ssim

    vmafx score ref.yuv dis.yuv --width 1920 --height 1080 --pix-fmt yuv420p10le --fps 24

    vmafx score ref.mp4 dis.mp4 --format json --per-frame frames.csv

    vmafx score ref.mp4 enc_crf23.mp4 enc_crf28.mp4 --plot frames.svg

    vmafx score s3://media/ref.mp4 s3://media/enc.mp4 --per-frame s3://media/frames.csv

`-f psnr` and `-f ssim` are ffmpeg's own psnr and ssim filters (psnr_avg/y/u/v, ssim_all/y/u/v),
in the same pass; libvmaf's keep their names: float_ssim (downsampled first: reads higher),
float_psnr, ms_ssim. `--max-parallel N` scores N distorted inputs per run when memory is short.

A distorted input of another size is scaled to the reference (bicubic) unless --no-scale;
inputs whose frame rates or frame counts differ are refused unless you pass --sync.
s3:// (gs://, az://, https://) inputs are read by ffmpeg from short-lived signed URLs, with the
AWS_* credentials of the environment (AWS_ENDPOINT_URL for S3-compatible servers); see
docs/storage.md.
"""


class Decode(enum.StrEnum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class Backend(enum.StrEnum):
    libvmaf = "libvmaf"
    torch_cuda = "torch-cuda"


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def score(
    reference: str = typer.Argument(..., help="The reference (original) video."),
    distorted: list[str] = typer.Argument(..., help="One or more distorted (encoded) videos."),
    model: list[str] = opts.MODEL,
    feature: list[str] = opts.FEATURE,
    subsample: int = opts.SUBSAMPLE,
    threads: int = typer.Option(
        0, min=0, help="libvmaf threads; 0 = every core this process may use."
    ),
    width: int | None = opts.WIDTH,
    height: int | None = opts.HEIGHT,
    pix_fmt: str = opts.PIX_FMT,
    fps: str = opts.FPS,
    no_scale: bool = opts.NO_SCALE,
    sync: Sync = opts.SYNC,
    no_features: bool = opts.NO_FEATURES,
    per_frame: str | None = typer.Option(
        None, "--per-frame", help="Write every per-frame value to this CSV (or s3://BUCKET/KEY)."
    ),
    plot: str | None = typer.Option(
        None,
        "--plot",
        help="Draw per-frame VMAF per distorted input, the 3 lowest frames marked, to FILE.svg "
        "or FILE.png (PNG needs an ffmpeg with librsvg).",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Output: table, json or csv."),
    timeout: float | None = opts.TIMEOUT,
    no_swap_check: bool = opts.NO_SWAP_CHECK,
    max_parallel: int | None = typer.Option(
        None,
        "--max-parallel",
        min=1,
        help="Score at most N distorted inputs per ffmpeg run (default: all in one run). Each "
        "extra 1080p input adds about 0.2-0.3 GiB at the peak; lower N when memory is short.",
    ),
    decode: Decode = typer.Option(
        Decode.cpu,
        "--decode",
        help="Decode the inputs on the CPU (default), on an NVIDIA GPU with NVDEC (cuda), or "
        "auto: NVDEC where an NVIDIA GPU is present and the reference is 1080p or larger. A GPU "
        "decode that fails is redone on the CPU; the JSON report's `decode` says which ran. "
        "Never run on GPU hardware yet (docs/gpu.md).",
    ),
    backend: Backend = typer.Option(
        Backend.libvmaf,
        "--backend",
        help="libvmaf (default), or torch-cuda: the vmaf-torch re-implementation on an NVIDIA "
        "GPU (opt-in, labelled NOT libvmaf in every result; vmaf_v0.6.1 only; needs "
        "`pip install 'vmafx[gpu]'`). Never run on GPU hardware yet (docs/gpu.md).",
    ),
) -> None:
    """The same as the fast path (`vmafx.cli.scoring`), reached through Typer."""
    run_score(
        ScoreArgs(
            reference=reference,
            distorted=list(distorted),
            model=list(model),
            feature=list(feature),
            subsample=subsample,
            threads=threads,
            width=width,
            height=height,
            pix_fmt=pix_fmt,
            fps=fps,
            no_scale=no_scale,
            sync=str(sync),
            no_features=no_features,
            per_frame=path_or_url(per_frame),
            plot=path_or_url(plot),
            fmt=str(fmt),
            timeout=timeout,
            no_swap_check=no_swap_check,
            max_parallel=max_parallel,
            decode=str(decode),
            backend=str(backend),
        )
    )
