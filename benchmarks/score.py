"""Scoring speed, as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/score.py [--seconds 10] [--repeat 2]

(a) `vmafx score` wall time / the bare `ffmpeg -lavfi libvmaf` command, same 1080p pair
(b) 4 distorted inputs in one `vmafx score` call / 4 separate calls
(c) frames per second at 540p and 1080p with 1 and 2 threads (bare libvmaf and vmafx)
(d) feature vector v1 on / off
Prints a Markdown table for docs/benchmarks.md. The clips are generated into benchmarks/.work/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WORK = Path(__file__).parent / ".work"
VMAFX = [sys.executable, "-m", "vmafx"]


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(seconds: int) -> dict[str, Path]:
    WORK.mkdir(exist_ok=True)
    clips: dict[str, Path] = {}
    for height, width in ((1080, 1920), (540, 960)):
        ref = WORK / f"ref_{height}p_{seconds}s.mp4"
        if not ref.exists():
            src = f"testsrc2=size={width}x{height}:rate=24:duration={seconds},noise=alls=8:allf=t"
            ff(
                "-f",
                "lavfi",
                "-i",
                src,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "14",
                str(ref),
            )
        clips[f"ref{height}"] = ref
        for crf in (24, 28, 32, 36):
            dis = WORK / f"dis_{height}p_{seconds}s_crf{crf}.mp4"
            if not dis.exists():
                ff(
                    "-i",
                    str(ref),
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    str(crf),
                    str(dis),
                )
            clips[f"dis{height}_{crf}"] = dis
    return clips


def timed(argv: list[str], repeat: int) -> float:
    """Median wall time of `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(first: list[str], second: list[str], repeat: int) -> tuple[float, float]:
    """Median wall times of two commands run alternately, so a burst of load from elsewhere on
    this shared machine falls on both alike."""
    a, b = [], []
    for _ in range(repeat):
        a.append(timed(first, 1))
        b.append(timed(second, 1))
    return statistics.median(a), statistics.median(b)


def bare(ref: Path, dis: Path, threads: int) -> list[str]:
    graph = f"[0:v][1:v]libvmaf=log_fmt=json:log_path={os.devnull}:n_threads={threads}"
    return [
        FFMPEG,
        "-hide_banner",
        "-nostats",
        "-i",
        str(dis),
        "-i",
        str(ref),
        "-lavfi",
        graph,
        "-f",
        "null",
        "-",
    ]


def vmafx(ref: Path, *dis: Path, threads: int, extra: tuple[str, ...] = ()) -> list[str]:
    files = [str(d) for d in dis]
    return [
        *VMAFX,
        "score",
        str(ref),
        *files,
        "--threads",
        str(threads),
        "--format",
        "json",
        *extra,
    ]


def frames_of(seconds: int) -> int:
    return seconds * 24


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    clips = make_clips(args.seconds)
    n, rep = frames_of(args.seconds), args.repeat
    rows: list[tuple[str, str, str]] = []
    ref, dis = clips["ref1080"], clips["dis1080_28"]

    t_bare, t_vmafx = paired(bare(ref, dis, 2), vmafx(ref, dis, threads=2), max(rep, 3))
    rows.append(
        (
            "(a) vmafx score / bare ffmpeg libvmaf, 1080p, 2 threads",
            f"{t_vmafx:.2f} s / {t_bare:.2f} s",
            f"{t_vmafx / t_bare:.3f} (target ≤ 1.05)",
        )
    )

    four = [clips[f"dis1080_{c}"] for c in (24, 28, 32, 36)]
    t_one = timed(vmafx(ref, *four, threads=2), rep)
    t_sep = sum(timed(vmafx(ref, d, threads=2), rep) for d in four)
    rows.append(
        (
            "(b) 4 distorted in one call / 4 separate calls, 1080p",
            f"{t_one:.2f} s / {t_sep:.2f} s",
            f"{t_one / t_sep:.3f} (target ≤ 0.93)",
        )
    )

    for height in (540, 1080):
        r, d = clips[f"ref{height}"], clips[f"dis{height}_28"]
        for threads in (1, 2):
            tb, tv = paired(bare(r, d, threads), vmafx(r, d, threads=threads), rep)
            rows.append(
                (
                    f"(c) {height}p, {threads} thread(s): fps bare / vmafx",
                    f"{n / tb:.1f} / {n / tv:.1f} fps",
                    f"{tv / tb:.3f}",
                )
            )

    t_on, t_off = paired(
        vmafx(ref, dis, threads=2), vmafx(ref, dis, threads=2, extra=("--no-features",)), rep
    )
    rows.append(
        (
            "(d) vmafx with feature vector v1 / with --no-features, 1080p",
            f"{t_on:.2f} s / {t_off:.2f} s",
            f"{t_on / t_off:.3f} (target ≤ 1.25)",
        )
    )
    t_ssim = timed(vmafx(ref, dis, threads=2, extra=("--no-features", "-f", "float_ssim")), rep)
    rows.append(
        (
            "(d') for comparison: --no-features -f float_ssim / --no-features",
            f"{t_ssim:.2f} s / {t_off:.2f} s",
            f"{t_ssim / t_off:.3f}",
        )
    )

    print(f"\n{n} frames per clip, median of {rep} run(s), {os.cpu_count()} cores\n")
    print("| measurement | times | ratio |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
