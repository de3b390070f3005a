"""Corpus scoring throughput and memory, against scoring the same clips one by one with bare ffmpeg.

    python benchmarks/corpus.py [--clips 200] [--seconds 5] [--refs 10] [--workers 1,2,2p]

Clips: ffmpeg's testsrc2 at 960x540, 24 fps, with temporal noise and a hue shift per reference
(x264 veryfast CRF 14); each distorted clip is one reference re-encoded at CRF 22-42. They are
generated once into benchmarks/.work/.

Measured, each from a cold start:
- bare: `ffmpeg -filter_complex_threads 1 -threads 1 -i DIS -threads 1 -i REF -lavfi
  "[0:v][1:v]libvmaf=n_threads=0:..." -f null -`, one clip (single-threaded: decoders, filter
  graph and libvmaf, whose n_threads=0 computes in the calling thread while 1 adds a worker)
  after another (the issue's baseline). ffmpeg >= 7 still runs demuxers, decoders, the filter
  graph and the muxer in threads of their own, so this "single-threaded" command keeps ~1.5
  cores busy; it is therefore also run confined to one core (`bare, one core`: the same command
  under sched_setaffinity), which is the rate of truly single-threaded scoring;
- vmafx: `python -m vmafx corpus score MANIFEST --out ... --workers W` (fresh output), wall time
  and CPU time of the whole process tree (this process becomes a child subreaper so the pool's
  workers and their ffmpegs are accounted for), and the summed RSS of the tree sampled every
  0.2 s (peak, and the main process at each quarter of the run to show it stays flat).
  A worker count with a `p` (`2p`) adds `--pin-cores`: each worker and its ffmpeg on a core of
  its own.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import imageio_ffmpeg

from vmafx.corpus.clips import ClipSettings
from vmafx.corpus.driver import RunInputs, score_corpus
from vmafx.corpus.fakes import FakeClipExecutor
from vmafx.corpus.manifest import load_manifest

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WORK = Path(__file__).parent / ".work"
CRFS = (22, 26, 30, 34, 38, 42)
PR_SET_CHILD_SUBREAPER = 36
BARE, BARE_ONE_CORE = "bare", "bare1"


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(count: int, seconds: int, refs: int) -> list[tuple[str, Path, Path]]:
    folder = WORK / f"corpus_540p_{seconds}s"
    folder.mkdir(parents=True, exist_ok=True)
    references = []
    for k in range(min(refs, count)):
        ref = folder / f"ref{k:02d}.mp4"
        if not ref.exists():
            src = (
                f"testsrc2=size=960x540:rate=24:duration={seconds},"
                f"noise=alls=8:allf=t:all_seed={k},hue=h={k * 36}"
            )
            ff("-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "veryfast", "-crf", "14",
               str(ref))  # fmt: skip
        references.append(ref)
    clips = []
    for i in range(count):
        ref = references[i % len(references)]
        crf = CRFS[(i // len(references)) % len(CRFS)]
        dis = folder / f"dis{i:03d}_{ref.stem}_crf{crf}.mp4"
        if not dis.exists():
            ff("-i", str(ref), "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
               str(dis))  # fmt: skip
        clips.append((f"clip{i:03d}", dis, ref))
    return clips


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reap_orphans() -> None:
    """Wait for descendants re-parented to us (the pool's forkserver), so their CPU counts."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def bare(clips: list[tuple[str, Path, Path]], *, one_core: bool) -> tuple[float, float]:
    core = min(os.sched_getaffinity(0))
    pin = (lambda: os.sched_setaffinity(0, {core})) if one_core else None
    cpu, start = children_cpu(), time.perf_counter()
    for _, dis, ref in clips:
        graph = "[0:v][1:v]libvmaf=n_threads=0:log_fmt=json:log_path=/dev/null"
        subprocess.run(
            [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
             "-filter_complex_threads", "1", "-threads", "1", "-i", str(dis),
             "-threads", "1", "-i", str(ref), "-lavfi", graph, "-f", "null", "-"],
            check=True, preexec_fn=pin,
        )  # fmt: skip
    return time.perf_counter() - start, children_cpu() - cpu


def _tree_rss() -> tuple[int, int]:
    """(summed RSS of every descendant of this process, RSS of the vmafx main process), bytes."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    names: dict[int, str] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        pid = int(entry)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * page
        names[pid] = cmd.decode(errors="replace")
    me = os.getpid()
    mine = [p for p in parents if _descends(p, me, parents)]
    main = [p for p in mine if "vmafx\0corpus\0score" in names[p]]
    return sum(rss[p] for p in mine), sum(rss[p] for p in main)


def _descends(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    while pid in parents and pid > 1:
        pid = parents[pid]
        if pid == ancestor:
            return True
    return False


def run_vmafx(manifest: Path, variant: str, out_dir: str, extra: list[str]) -> dict[str, object]:
    workers = variant.rstrip("p")
    if variant.endswith("p"):
        extra = [*extra, "--pin-cores"]
    out = Path(out_dir) / f"{manifest.stem}_w{variant}.parquet"
    samples: list[tuple[float, int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total, main = _tree_rss()
            samples.append((time.perf_counter(), total, main))
            stop.wait(0.2)

    cpu, start = children_cpu(), time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    done = subprocess.run(
        [sys.executable, "-m", "vmafx", "corpus", "score", str(manifest), "--out", str(out),
         "--workers", workers, *extra],
        check=False,
        capture_output=True,
        text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    reap_orphans()
    if done.returncode != 0:
        raise SystemExit(f"vmafx failed ({done.returncode}): {done.stderr}")
    quarters = []
    for q in (0.25, 0.5, 0.75, 1.0):
        t = start + q * wall
        quarters.append(max((m for ts, _, m in samples if ts <= t), default=0))
    return {
        "wall": wall,
        "cpu": children_cpu() - cpu,
        "peak_total_rss": max(s[1] for s in samples),
        "main_rss_quarters": quarters,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--refs", type=int, default=10)
    parser.add_argument("--workers", default="1,2,2p")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split the clips into this many chunks and interleave bare/vmafx runs chunk by "
        "chunk (in rotating order), so load from other processes hits every variant alike",
    )
    parser.add_argument(
        "--driver-only",
        type=int,
        default=0,
        metavar="N",
        help="instead: push N clips through the driver with a fake executor (no ffmpeg) and "
        "report its own time per clip and peak memory: the corpus-scale figures",
    )
    parser.add_argument(
        "--vmafx-args",
        default="",
        help='extra options for `vmafx corpus score`, e.g. "--no-features" to compute exactly '
        "what the bare command computes",
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.driver_only:
        driver_only(args.driver_only)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.perf_counter()
    clips = make_clips(args.clips, args.seconds, args.refs)
    generated = time.perf_counter() - started
    variants = [BARE, BARE_ONE_CORE, *args.workers.split(",")]
    totals: dict[str, dict[str, object]] = {}
    loads = []
    with tempfile.TemporaryDirectory(prefix="vmafx-corpus-bench-") as tmp:
        for r in range(args.rounds):
            chunk = clips[r :: args.rounds]
            manifest = Path(tmp) / f"clips{r}.csv"
            rows = [f"{i},{d},{ref}" for i, d, ref in chunk]
            manifest.write_text("id,distorted,reference\n" + "\n".join(rows) + "\n")
            order = variants[r % len(variants) :] + variants[: r % len(variants)]
            for variant in order:
                loads.append(os.getloadavg()[0])
                extra = args.vmafx_args.split()
                if variant in (BARE, BARE_ONE_CORE):
                    result = run_bare(chunk, one_core=variant == BARE_ONE_CORE)
                else:
                    result = run_vmafx(manifest, variant, tmp, extra)
                merge(totals.setdefault(variant, {}), result)
    report(args, clips, loads, totals)
    print(f"\n(total {time.perf_counter() - started:.0f} s, clips generated in {generated:.0f} s)")


def run_bare(clips: list[tuple[str, Path, Path]], *, one_core: bool) -> dict[str, object]:
    wall, cpu = bare(clips, one_core=one_core)
    return {"wall": wall, "cpu": cpu, "peak_total_rss": 0, "main_rss_quarters": []}


def merge(total: dict[str, object], run: dict[str, object]) -> None:
    total["wall"] = float(total.get("wall", 0.0)) + float(run["wall"])
    total["cpu"] = float(total.get("cpu", 0.0)) + float(run["cpu"])
    peak = max(int(total.get("peak_total_rss", 0)), int(run["peak_total_rss"]))
    total["peak_total_rss"] = peak
    total.setdefault("main_rss_quarters", []).append(run["main_rss_quarters"])


def driver_only(count: int) -> None:
    """The driver alone at corpus scale: manifest, staging, final table; no scoring."""
    WORK.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corpus-driver-", dir=WORK) as tmp:
        folder = Path(tmp)
        (folder / "clip.mp4").write_bytes(b"\0")
        rows = "".join(f"c{i:06d},clip.mp4,clip.mp4,{i % 5}\n" for i in range(count))
        (folder / "clips.csv").write_text("id,distorted,reference,mos\n" + rows)
        steps = {}
        start = time.perf_counter()
        manifest = load_manifest(folder / "clips.csv")
        steps["manifest read and validated"] = time.perf_counter() - start
        inputs = RunInputs(manifest, folder / "features.parquet", ClipSettings(), "bench")
        start = time.perf_counter()
        summary = score_corpus(inputs, FakeClipExecutor())
        steps["staged, checked and written"] = time.perf_counter() - start
        size = (folder / "features.parquet").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} clips through the driver (fake executor, {summary.scored} rows, "
          f"{size / 2**20:.0f} MiB Parquet); peak RSS {peak:.0f} MiB")  # fmt: skip
    for step, seconds in steps.items():
        print(f"- {step}: {seconds:.1f} s ({seconds / count * 1000:.2f} ms per clip)")


def report(args, clips, loads, totals) -> None:
    n = len(clips)
    print(
        f"{n} clips, 960x540, {args.seconds} s at 24 fps, {args.rounds} round(s), vmafx options "
        f"{args.vmafx_args or '(none)'}; load average "
        f"at the start of each run: {', '.join(f'{x:.1f}' for x in loads)}\n"
    )
    print(
        "| run | wall s | clips/s | × bare rate | × one-core rate | CPU s | CPU vs bare "
        "| peak RSS (tree) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    bare_wall, bare_cpu = float(totals[BARE]["wall"]), float(totals[BARE]["cpu"])
    one_core_wall = float(totals[BARE_ONE_CORE]["wall"])
    for variant, run in totals.items():
        wall, cpu = float(run["wall"]), float(run["cpu"])
        rss = f"{int(run['peak_total_rss']) / 2**20:.0f} MiB" if run["peak_total_rss"] else "–"
        print(
            f"| {_name(variant)} | {wall:.1f} | {n / wall:.3f} | {bare_wall / wall:.2f} | "
            f"{one_core_wall / wall:.2f} | {cpu:.1f} | {cpu / bare_cpu:.3f} | {rss} |"
        )
    print("\nmain process RSS at 25/50/75/100% of each run (MiB):")
    for variant, run in totals.items():
        for quarters in filter(None, run["main_rss_quarters"]):
            print(f"- {_name(variant)}: {', '.join(f'{q / 2**20:.0f}' for q in quarters)}")


def _name(variant: str) -> str:
    if variant == BARE:
        return "bare ffmpeg, one by one"
    if variant == BARE_ONE_CORE:
        return "bare ffmpeg, one by one, one core"
    pinned = ", pinned" if variant.endswith("p") else ""
    return f"vmafx corpus, {variant.rstrip('p')} worker(s){pinned}"


if __name__ == "__main__":
    main()
