"""A `tune` job over the farm, as a pure function of the probe jobs it has so far. No I/O.

The controller's tuner (`vmafx.controller.tuning`) calls `TuneDriver.step(children)` whenever a
probe job changes: `children` maps each probe's key to what the store holds of its job. A target
search *replays* the local tuner's own search (`vmafx.tune.search.search_crf`) with an
`evaluate` that answers from the finished probes; the first probe that is not measured yet
stops the replay and becomes a job to submit. The search is deterministic, so a replay over the
same measurements takes the same path: nothing but the child jobs in the store is state, and a
controller that restarts (or another replica) goes on where the last one stopped. A ladder asks
the local ladder's placement (`vmafx.tune.ladder.plan_for`, `vmafx.tune.refine.next_probes`)
for the next points given the measured ones, and ends with its `finish` (hull and rungs).

Parallel probes: when fewer than `parallel` probes run, the replay is continued past the missing
probe with the value the fit expects there, and the probe the search would ask for next is
submitted too (a cheap probe always; a full one only when it is the neighbouring step of the
one in flight: the bracket's two candidates, one of which proves the other). A guess that turns
out wrong costs that probe; it is listed in the result as not used.

Each probe is an `encode` child with `score_after` (scored with the metric's model): a sample
probe is one child per sample segment (trimmed; the VMAF is the frame-weighted mean of the
segments', or for `p5` the 5th percentile of all their frames, read from each segment's
per-frame series), a full probe one child of the whole input whose output is kept: the chosen
one is the deliverable. With `scale`, every probe encodes at that size (scored after bicubic
upscaling to the source's size, as the node's scorer does for any smaller output).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from vmafx.core.pooling import percentile
from vmafx.core.scores import DEFAULT_MODEL
from vmafx.core.specs import CODECS, TUNE_METRICS, TuneSpec
from vmafx.errors import UsageError
from vmafx.tune.curve import MonotoneCurve
from vmafx.tune.hull import Gap, Point
from vmafx.tune.ladder import LadderRequest, crf_grid, finish, plan_for, sizes
from vmafx.tune.plan import Segment, metric_label, plan_samples, quality_scale
from vmafx.tune.prior import Record, predict
from vmafx.tune.refine import Probe, next_probes
from vmafx.tune.search import (
    CHEAP,
    FULL,
    Measurement,
    Prior,
    SearchResult,
    SearchSettings,
    search_crf,
)

#: Software encoders: name → (codec, option family), as `vmafx.media.encoders` knows them.
SOFTWARE = {
    "libx264": ("h264", "x264"),
    "libx265": ("hevc", "x265"),
    "libsvtav1": ("av1", "svtav1"),
    "libaom-av1": ("av1", "aom"),
    "libvpx-vp9": ("vp9", "vpx"),
}
HARDWARE_FAMILIES = ("nvenc", "qsv", "vaapi", "amf")
#: The key prefix of a delivery: the encode of a chosen probe (or a ladder rung) whose
#: measurement came from an earlier search, made again for its file (not scored).
DELIVER = "deliver:"
DEFAULT_HEIGHTS = (1080, 720, 540, 360, 240)
#: Most frames of a score_after's per-frame series kept whole in the job's result (the node's
#: `vmafx.node.handlers.score.INLINE_POINTS`; longer ones are decimated). A p5 over sample
#: segments needs every segment's frames: longer segments make the cheap probes whole-input.
SERIES_POINTS = 200


def encoder_family(name: str) -> tuple[str, str]:
    """(codec, family) of an encoder name, or UsageError."""
    if name in SOFTWARE:
        return SOFTWARE[name]
    codec, _, family = name.partition("_")
    if family in HARDWARE_FAMILIES and codec in CODECS:
        return codec, family
    known = ", ".join([*SOFTWARE, *(f"<codec>_{f}" for f in HARDWARE_FAMILIES)])
    raise UsageError(f"encoder {name!r} is not one vmafx can drive.", hint=f"Use one of: {known}.")


def choose_encoder(spec: TuneSpec, nodes: Mapping[str, Sequence[str]]) -> str:
    """The one encoder every probe of this tune uses (a search on mixed encoders would fit two
    curves as one): the spec's, else a hardware encoder of the codec that a live node verified
    (hw prefer|require), else the codec's software encoder. `nodes`: live node → its verified
    encoders. UsageError naming the nodes when none has it."""

    def having(name: str) -> list[str]:
        return sorted(node for node, encoders in nodes.items() if name in encoders)

    if spec.encoder is not None:
        codec, _ = encoder_family(spec.encoder)
        if codec != spec.codec:
            raise UsageError(f"encoder {spec.encoder} makes {codec}, not {spec.codec}.")
        candidates = [spec.encoder]
    else:
        hardware = [f"{spec.codec}_{family}" for family in HARDWARE_FAMILIES]
        software = [name for name, (codec, _) in SOFTWARE.items() if codec == spec.codec]
        candidates = {"prefer": hardware + software, "require": hardware, "never": software}[
            spec.hw
        ]
    for name in candidates:
        if having(name):
            return name
    listed = "; ".join(f"{node}: {', '.join(sorted(e)) or 'none'}" for node, e in nodes.items())
    raise UsageError(
        f"no live node has verified {' or '.join(candidates)} for this tune job "
        f"(live nodes: {listed or 'none'}).",
        hint="Start a node with that encoder, or name one the nodes have (--encoder).",
    )


@dataclasses.dataclass(frozen=True)
class ProbeJob:
    """One child job to submit: an encode at `crf` (of one segment, or of the whole input)."""

    key: str
    crf: float
    kind: str
    output: str
    segment: Segment | None = None
    size: tuple[int, int] | None = None
    speculative: bool = False


@dataclasses.dataclass(frozen=True)
class Child:
    """What the store holds of one probe job."""

    key: str
    job_id: str
    state: str
    result: Mapping[str, Any] | None = None
    error: str | None = None
    #: `host / GPU` of the attempt that finished it (as the Jobs page shows it).
    where: str | None = None
    gpu: str | None = None
    attempts: int = 1
    #: The name of the node that finished it.
    node: str | None = None
    #: Measured by an earlier search of the same content (`vmafx.tune.kept`): no job of
    #: this search, its file not this search's.
    cached: bool = False

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "failed", "cancelled")


@dataclasses.dataclass(frozen=True)
class Step:
    """What the tuner does next: submit probes, cancel some, and/or end the tune job."""

    submit: tuple[ProbeJob, ...] = ()
    cancel: tuple[str, ...] = ()
    result: dict[str, Any] | None = None
    error: str | None = None
    progress: float = 0.0
    #: What a finished search learned, for the controller's history.
    record: Record | None = None


class _MissingError(Exception):
    def __init__(self, crf: float, stage: str, size: tuple[int, int] | None = None) -> None:
        super().__init__(f"{stage} {crf:g}")
        self.crf, self.stage, self.size = crf, stage, size


@dataclasses.dataclass(frozen=True)
class SourceFacts:
    width: int | None
    height: int | None
    frames: int | None
    fps: float | None


class TuneDriver:
    """One tune job's plan: its settings, encoder, prior and probe naming."""

    def __init__(
        self, job_id: str, spec: TuneSpec, encoder: str, records: Sequence[Record] = ()
    ) -> None:
        self.job_id = job_id
        self.spec = spec
        self.encoder = encoder
        codec, family = encoder_family(encoder)
        self.scale = quality_scale(family, codec)
        self.facts = SourceFacts(
            spec.source_width, spec.source_height, spec.source_frames, spec.source_fps
        )
        self.model, self.statistic = TUNE_METRICS[spec.metric]
        self.size = (spec.scale.width, spec.scale.height) if spec.scale else None
        frames, fps = self.facts.frames, self.facts.fps
        planned = plan_samples(frames, fps) if spec.samples and frames and fps else ()
        if self.statistic != "mean" and any(s.frames > SERIES_POINTS for s in planned):
            planned = ()
        self.segments: tuple[Segment, ...] = planned
        self.cheap_kind = "sample" if self.segments else "full"
        self.prior: Prior = predict(
            records,
            encoder=encoder,
            preset=spec.preset or "",
            metric=spec.metric,
            target=spec.target_vmaf if spec.target_vmaf is not None else 93.0,
            cheap_kind=self.cheap_kind,
        )
        lo = self.scale.default_min if spec.min_crf is None else spec.min_crf
        hi = self.scale.default_max if spec.max_crf is None else spec.max_crf
        if spec.mode == "ladder" and spec.min_crf is None:
            lo = self.scale.default_min + 8
        if not self.scale.lowest <= lo <= hi <= self.scale.highest:
            raise UsageError(
                f"min_crf {lo:g} / max_crf {hi:g} must satisfy {self.scale.lowest} ≤ min ≤ "
                f"max ≤ {self.scale.highest} for {encoder}."
            )
        self.lo, self.hi = float(lo), float(hi)
        out = PurePath(spec.output) if spec.output else _beside(spec.source, ".tune")
        if spec.mode == "ladder":
            self.work, self.deliver_as = PurePath(spec.output or out), None
        else:
            self.work = out.parent / f".{out.stem}.tune"
            self.deliver_as = out
        #: The ladder's last placement and the points it was made from: the tuner steps every
        #: second, a placement (tens to hundreds of ms at 5 resolutions) only when one finishes.
        self._placed: tuple[tuple[Point, ...], list[Probe]] | None = None

    # --- naming probes ------------------------------------------------------------------------
    def _probes(self, crf: float, stage: str, size: tuple[int, int] | None) -> list[ProbeJob]:
        p = self.scale.parameter
        if size is not None:
            w, h = size
            name = f"{h}p_{p}{crf:g}"
            return [ProbeJob(f"ladder:{w}x{h}:{crf:g}", crf, "full", self._out(name), None, size)]
        if stage == CHEAP and self.segments:
            return [
                ProbeJob(
                    f"sample:{crf:g}:{i}",
                    crf,
                    "sample",
                    self._out(f"sample{i}_{p}{crf:g}"),
                    s,
                    self.size,
                )
                for i, s in enumerate(self.segments)
            ]
        out = self._out(f"full_{p}{crf:g}")
        return [ProbeJob(f"full:{crf:g}", crf, "full", out, None, self.size)]

    def probes_at(self, crf: float, stage: str, size: tuple[int, int] | None) -> list[ProbeJob]:
        """The child jobs of one probe: at `crf`, cheap or full, at a ladder's `size`."""
        return self._probes(crf, stage, size)

    def unscorable(self, child: Child) -> str | None:
        """Why a completed probe cannot be measured with this tune's metric (None: it can)."""
        return self._unscorable(child)

    def _out(self, name: str) -> str:
        return str(self.work / f"{name}.mkv")

    # --- measurements from children --------------------------------------------------------------
    def _measure(
        self, children: Mapping[str, Child], probes: Sequence[ProbeJob]
    ) -> Measurement | None:
        results = []
        for probe in probes:
            child = children.get(probe.key)
            if child is None or child.state != "completed" or child.result is None:
                return None
            results.append(child.result)
        frames, seconds, size = [], 0.0, 0
        for result in results:
            after = result.get("score_after") or {}
            frames.append(int(after.get("frame_count") or result.get("frames") or 1))
            seconds += float(result.get("elapsed_s") or 0.0)
            size += int(result.get("bytes") or 0)
        total = sum(frames)
        vmaf = self._pool([r["score_after"] for r in results], frames)
        full = probes[0].kind == "full"
        kbps = results[0].get("bitrate_kbps") if full else None
        return Measurement(
            vmaf=vmaf,
            frames_encoded=total,
            frames_scored=total,
            seconds=round(seconds, 3),
            kind=probes[0].kind,
            size_bytes=size if full else None,
            kbps=float(kbps) if isinstance(kbps, int | float) else None,
            encoder=str(results[0].get("encoder") or self.encoder),
        )

    def _pool(self, afters: Sequence[Mapping[str, Any]], frames: Sequence[int]) -> float:
        """The metric over one probe's children: the model's mean (frame-weighted over
        segments), or its p5 (of one child; over segments, of all their frames' values)."""
        if self.statistic == "mean":
            total = sum(frames)
            return sum(float(a["vmaf"]) * f for a, f in zip(afters, frames, strict=True)) / total
        if len(afters) == 1:
            return float(afters[0]["pooled"][self.model][self.statistic])
        values = [float(v) for a in afters for v in a["series"][self.model]]
        return percentile(values, float(self.statistic.removeprefix("p")))

    def _unscorable(self, child: Child) -> str | None:
        """Why a completed probe cannot be measured with this tune's metric (None: it can)."""
        after = (child.result or {}).get("score_after")
        if not (isinstance(after, dict) and "vmaf" in after):
            why = after.get("error") if isinstance(after, dict) else "no score_after"
            return f"was not scored: {why}"
        model = after.get("model", DEFAULT_MODEL)
        if model != self.model:
            return f"was scored with {model}, not {self.model} (metric {self.spec.metric})"
        if self.statistic == "mean":
            return None
        pooled = (after.get("pooled") or {}).get(self.model) or {}
        series = (after.get("series") or {}).get(self.model)
        if self.statistic not in pooled:
            return f"has no {self.statistic} of {self.model} in its score_after"
        if child.key.startswith("sample:") and (
            not isinstance(series, list) or len(series) != after.get("frame_count")
        ):
            return f"has no whole per-frame series of {self.model} to pool {self.statistic} from"
        return None

    # --- one step -------------------------------------------------------------------------------
    def step(self, children: Mapping[str, Child]) -> Step:
        """What to do now, given every probe job so far (by key)."""
        for child in children.values():
            if child.state in ("failed", "cancelled"):
                return Step(error=f"probe {child.key} ({child.job_id}) {child.state}: "
                            f"{child.error or 'no reason given'}")  # fmt: skip
            scored = child.state == "completed" and not child.key.startswith(DELIVER)
            why = self._unscorable(child) if scored else None
            if why is not None:
                return Step(error=f"probe {child.key} ({child.job_id}) {why}")
        if self.spec.mode == "ladder":
            return self._ladder_step(children)
        return self._search_step(children)

    def settings(self) -> SearchSettings:
        target = self.spec.target_vmaf
        assert target is not None
        return SearchSettings(
            target=target,
            lo=self.lo,
            hi=self.hi,
            step=self.spec.crf_step,
            tolerance=self.spec.tolerance,
        )

    def _replay(
        self, children: Mapping[str, Child], guesses: Mapping[str, float]
    ) -> SearchResult | _MissingError:
        def evaluate(crf: float, stage: str) -> Measurement:
            probes = self._probes(crf, stage, None)
            found = self._measure(children, probes)
            if found is not None:
                return found
            if probes[0].key in guesses:
                return Measurement(guesses[probes[0].key], 0, 0, 0.0, "guess")
            raise _MissingError(crf, stage)

        try:
            return search_crf(evaluate, self.settings(), self.prior)
        except _MissingError as missing:
            return missing

    def _search_step(self, children: Mapping[str, Child]) -> Step:
        outcome = self._replay(children, {})
        if isinstance(outcome, SearchResult):
            if outcome.crf is not None:
                delivery = self._delivery(children, [(outcome.crf, None)])
                if delivery is not None:
                    return delivery
            return self._finish(children, outcome)
        running = sum(not c.finished for c in children.values())
        wanted = self._probes(outcome.crf, outcome.stage, None)
        submit = [p for p in wanted if p.key not in children]
        slots = self.spec.parallel - running - len(submit)
        guesses: dict[str, float] = {}
        last = outcome
        while slots > 0:
            key = self._probes(last.crf, last.stage, None)[0].key
            guesses[key] = self._expected(children, last.crf, last.stage)
            nxt = self._replay(children, guesses)
            if not isinstance(nxt, _MissingError):
                break
            adjacent = abs(nxt.crf - last.crf) <= self.spec.crf_step + 1e-9
            if nxt.stage == FULL and not (last.stage == FULL and adjacent):
                break
            extra = [
                dataclasses.replace(p, speculative=True)
                for p in self._probes(nxt.crf, nxt.stage, None)
                if p.key not in children and p.key not in {q.key for q in submit}
            ]
            submit += extra
            slots -= max(1, len(extra))
            last = nxt
        used = len({c.key for c in children.values()}) + len(submit)
        if used > self.spec.max_probes * max(1, len(self.segments)):
            return Step(error=self._budget_error(children))
        if not submit and not running:
            return Step(error="the search is stuck: nothing to probe and nothing running")
        measured = sum(c.state == "completed" for c in children.values())
        progress = min(0.95, measured / max(1, measured + running + len(submit) + 1))
        return Step(submit=tuple(submit), progress=progress)

    def _delivery(
        self, children: Mapping[str, Child], chosen: Sequence[tuple[float, tuple[int, int] | None]]
    ) -> Step | None:
        """The step that makes the chosen encodes measured by an earlier search again, for
        their files (one unscored encode each), or None when every one is here."""
        submit, waiting = [], False
        for crf, size in chosen:
            probe = self._probes(crf, FULL, size)[0]
            if not children[probe.key].cached:
                continue
            key = DELIVER + probe.key
            made = children.get(key)
            if made is None:
                submit.append(dataclasses.replace(probe, key=key, kind="deliver"))
            elif not made.finished:
                waiting = True
        if not submit and not waiting:
            return None
        return Step(submit=tuple(submit), progress=0.95)

    def _delivered(self, children: Mapping[str, Child], key: str) -> Child | None:
        """The child that holds the file of probe `key`: its delivery when it was cached."""
        child = children.get(key)
        if child is not None and child.cached:
            return children.get(DELIVER + key)
        return child

    def _expected(self, children: Mapping[str, Child], crf: float, stage: str) -> float:
        """The VMAF the fit expects at (crf, stage) from what is measured so far."""
        kind = "sample" if stage == CHEAP and self.segments else "full"
        points = []
        values = {c.key.split(":")[1] for c in children.values() if not c.key.startswith(DELIVER)}
        for value in sorted(values, key=float):
            m = self._measure(children, self._probes(float(value), stage, None))
            if m is not None and m.kind == kind:
                points.append((float(value), m.vmaf))
        if points:
            return MonotoneCurve.fit(points, outside_slope=self.prior.slope)(crf)
        target = self.settings().target - (self.prior.sample_bias if kind == "sample" else 0.0)
        return target + self.prior.slope * (crf - self.prior.crf)

    def _budget_error(self, children: Mapping[str, Child]) -> str:
        best = self._best_full(children)
        tail = (
            f"; the best measured is {self._metric_name()} {best[1]:.2f} at {self._name()} "
            f"{best[0]:g}"
            if best
            else ""
        )
        return f"the probe budget (max_probes {self.spec.max_probes}) is spent{tail}"

    def _name(self) -> str:
        return self.scale.parameter

    def _metric_name(self) -> str:
        return metric_label(self.spec.metric)

    def _best_full(self, children: Mapping[str, Child]) -> tuple[float, float] | None:
        fulls = []
        for child in children.values():
            if child.key.startswith("full:"):
                m = self._measure(children, [ProbeJob(child.key, 0, "full", "")])
                if m is not None:
                    fulls.append((float(child.key.split(":")[1]), m.vmaf))
        return max(fulls, key=lambda x: (x[1], -x[0])) if fulls else None

    def _finish(self, children: Mapping[str, Child], result: SearchResult) -> Step:
        cancel = tuple(c.job_id for c in children.values() if not c.finished)
        if result.crf is None:
            assert result.best is not None
            name = self._name()
            return Step(
                cancel=cancel,
                error=(
                    f"no {name} from {self.lo:g} to {self.hi:g} reaches {self._metric_name()} "
                    f"{self.settings().target:g} with {self.encoder}: the best measured is "
                    f"{result.best.vmaf:.2f} at {name} {result.best.crf:g} ({result.reason})."
                ),
            )
        body = self._search_json(children, result)
        record = Record(
            encoder=self.encoder,
            preset=self.spec.preset or "",
            metric=self.spec.metric,
            target=self.settings().target,
            crf=result.crf,
            slope=result.slope,
            sample_bias=result.sample_bias,
            cheap_kind=self.cheap_kind,
        )
        return Step(cancel=cancel, result=body, progress=1.0, record=record)

    def _search_json(self, children: Mapping[str, Child], result: SearchResult) -> dict[str, Any]:
        assert result.crf is not None
        chosen = self._delivered(children, f"full:{result.crf:g}")
        assert chosen is not None
        used = {(p.crf, p.measurement.kind) for p in result.probes}
        probes = self.probes_json(children, used)
        frames = self.facts.frames or int((chosen.result or {}).get("frames") or 0) or 1
        deliveries = [c for c in children.values() if c.key.startswith(DELIVER)]
        spent = sum(p["frames_encoded"] for p in probes if not p["cached"]) + sum(
            int((c.result or {}).get("frames") or 0) for c in deliveries
        )
        full_encodes = sum(p["kind"] == "full" and not p["cached"] for p in probes)
        full_encodes += len(deliveries)
        m = self._measure(children, self._probes(result.crf, FULL, None))
        assert m is not None
        fitted = self.curve(probes, result.sample_bias)
        outputs = [p["output"] for p in probes if p["kind"] == "full" and p["output"]]
        return {
            "mode": "target",
            "target": self.settings().target,
            "metric": self.spec.metric,
            "model": self.model,
            "statistic": self.statistic,
            "scale": f"{self.size[0]}x{self.size[1]}" if self.size else None,
            "crf": result.crf,
            "parameter": self.scale.parameter,
            "vmaf": round(m.vmaf, 3),
            "kbps": m.kbps,
            "size_bytes": m.size_bytes,
            "hit": True,
            "encoder": self.encoder,
            "preset": self.spec.preset,
            "full_encodes": full_encodes,
            "cost": round(spent / frames, 3),
            "probes": probes,
            "curve": fitted,
            "reason": result.reason,
            "prior": {"crf": round(self.prior.crf, 2), "source": self.prior.source},
            "sample_bias": round(result.sample_bias, 3),
            "output": (chosen.result or {}).get("output"),
            "deliver_as": str(self.deliver_as) if self.deliver_as else None,
            # The chosen probe fell back to software (a failing hardware encoder): from, to, why.
            "fallback": (chosen.result or {}).get("fallback"),
            "chosen_job": chosen.job_id,
            "chosen_where": chosen.where,
            "chosen_node": chosen.node,
            "discarded": [o for o in outputs if o != (chosen.result or {}).get("output")],
            "range": [self.lo, self.hi],
        }

    def probes_json(
        self, children: Mapping[str, Child], used: set[tuple[float, str]] | None = None
    ) -> list[dict[str, Any]]:
        """Every finished probe (a sample probe's segments together), oldest key order."""
        groups: dict[tuple[float, str, str], list[Child]] = {}
        for child in children.values():
            if child.key.startswith(DELIVER):
                continue
            kind, first_part, *rest = child.key.split(":")
            size = first_part if kind == "ladder" else ""
            value = float(rest[0]) if kind == "ladder" else float(first_part)
            groups.setdefault((value, kind, size), []).append(child)
        out = []
        for (crf, kind, size), members in sorted(groups.items()):
            probes = [ProbeJob(c.key, crf, "sample" if kind == "sample" else "full", "")
                      for c in members]  # fmt: skip
            m = self._measure(children, probes)
            if m is None:
                continue
            first = members[0].result or {}
            cached = all(c.cached for c in members)
            out.append(
                {
                    "crf": crf,
                    "vmaf": round(m.vmaf, 3),
                    "kind": m.kind,
                    "size": size or None,
                    "frames_encoded": m.frames_encoded,
                    "frames_scored": m.frames_scored,
                    "seconds": m.seconds,
                    "kbps": m.kbps,
                    "encoder": m.encoder,
                    "fallback": first.get("fallback"),
                    # an earlier search's file: not this one's to deliver or remove
                    "output": first.get("output") if m.kind == "full" and not cached else None,
                    "used": used is None or (crf, m.kind) in used,
                    "cached": cached,
                    "jobs": [c.job_id for c in members],
                    "nodes": sorted({c.node for c in members if c.node}),
                    "where": sorted({c.where for c in members if c.where}),
                    "gpu": sorted({c.gpu for c in members if c.gpu}),
                    "attempts": max(c.attempts for c in members),
                }
            )
        return out

    def curve(self, probes: Sequence[Mapping[str, Any]], bias: float) -> list[dict[str, float]]:
        """The fitted full-quality curve at each grid step between the measured CRFs."""
        points: dict[float, float] = {}
        for p in probes:
            if p["kind"] == "sample":
                points.setdefault(p["crf"], p["vmaf"] + bias)
        points.update({p["crf"]: p["vmaf"] for p in probes if p["kind"] == "full"})
        if not points:
            return []
        fit = MonotoneCurve.fit(list(points.items()), outside_slope=self.prior.slope)
        lo, hi = min(points), max(points)
        count = round((hi - lo) / self.spec.crf_step) + 1
        grid = [lo + i * self.spec.crf_step for i in range(count)]
        return [{"crf": round(c, 3), "vmaf": round(fit(c), 3)} for c in grid]

    # --- ladders --------------------------------------------------------------------------------
    def ladder_request(self) -> LadderRequest:
        spec = self.spec
        heights = tuple(_height(r) for r in spec.resolutions) if spec.resolutions else None
        gap = None
        if spec.min_gap:
            try:
                gap = Gap.parse(spec.min_gap)
            except ValueError as error:
                raise UsageError(f"tune spec.min_gap {spec.min_gap!r}: {error}.") from None
        return LadderRequest(
            heights or DEFAULT_HEIGHTS,
            crf_grid(self.lo, self.hi, spec.points),
            spec.rungs,
            spec.targets or (),
            spec.max_kbps,
            spec.top_vmaf,
            gap,
            step=spec.crf_step,
        )

    def _ladder_step(self, children: Mapping[str, Child]) -> Step:
        """The local ladder's own placement (`vmafx.tune.refine` through `ladder.plan_for`):
        the points it asks for next, given the measured ones, minus those in flight."""
        width, height = self.facts.width, self.facts.height
        if not width or not height:
            return Step(error="a ladder needs source_width and source_height in the tune spec "
                        "(vmafx tune ladder --controller fills them)")  # fmt: skip
        request = self.ladder_request()
        chosen, skipped = sizes(width, height, request.heights)
        plan = plan_for(request, chosen)
        measured: list[Point] = []
        for w, h in chosen:
            for crf in plan.candidates:
                m = self._measure(children, self._probes(crf, FULL, (w, h)))
                if m is not None:
                    measured.append(Point(w, h, crf, m.kbps or 0.0, round(m.vmaf, 3)))
        running = [c for c in children.values() if not c.finished]
        if self._placed is None or self._placed[0] != tuple(measured):
            placed = next_probes(plan, measured, batch=max(1, self.spec.parallel))
            self._placed = (tuple(measured), placed)
        wanted = self._placed[1]
        if not wanted and not running:
            fresh_points = sum(
                not c.cached for c in children.values() if c.key.startswith("ladder:")
            )
            result = finish(request, measured, skipped, fresh_points)
            rungs = [(p.crf, (p.width, p.height)) for p in result.rungs]
            delivery = self._delivery(children, rungs)
            if delivery is not None:
                return delivery
            return Step(result=self._ladder_json(children, result), progress=1.0)
        fresh = [
            probe
            for w, h, crf in wanted
            for probe in self._probes(crf, FULL, (w, h))
            if probe.key not in children
        ]
        submit = fresh[: max(0, self.spec.parallel - len(running))]
        progress = min(0.95, len(measured) / max(1, plan.budget))
        return Step(submit=tuple(submit), progress=progress)

    def _ladder_json(self, children: Mapping[str, Child], result: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": "ladder", **result.as_dict()}

        def located(point: Point) -> dict[str, Any]:
            key = self._probes(point.crf, FULL, (point.width, point.height))[0].key
            measured = children.get(key)
            # a point measured by an earlier search has its file only once delivered (rungs)
            child = self._delivered(children, key) or measured
            extra: dict[str, Any] = {"output": None, "where": None, "node": None, "job": None}
            if child is not None:
                output = None if child.cached else (child.result or {}).get("output")
                extra = {"output": output, "where": child.where, "node": child.node,
                         "job": child.job_id}  # fmt: skip
            return {**point.as_dict(), **extra, "cached": bool(measured and measured.cached)}

        body["points"] = [located(p) for p in result.points]
        body["rungs"] = [located(p) for p in result.rungs]
        body["encoder"] = self.encoder
        body["metric"] = self.spec.metric
        body["parameter"] = self.scale.parameter
        body["probes"] = self.probes_json(children)
        body["output"] = str(self.work)
        return body


def _height(text: str) -> int:
    value = text.strip().lower().removesuffix("p")
    if "x" in value:
        value = value.split("x")[1]
    if not value.isdigit() or not 16 <= int(value) <= 8640:
        raise UsageError(
            f"tune spec.resolutions item {text!r} is not a height.", hint="Write 720 or 1280x720."
        )
    return int(value)


def _beside(source: str, suffix: str) -> PurePath:
    path = PurePath(source)
    return path.parent / f"{path.stem}{suffix}{path.suffix or '.mkv'}"


def child_spec(driver: TuneDriver, probe: ProbeJob) -> dict[str, Any]:
    """The `encode` spec of one probe job."""
    spec = driver.spec
    fps = driver.facts.fps or 0.0
    body: dict[str, Any] = {
        "source": spec.source,
        "output": probe.output,
        "codec": spec.codec,
        # Hardware: a node whose encoder fails mid-search falls back to software (recorded in
        # the probe's result, shown per probe).
        "hw": "never" if driver.encoder in SOFTWARE else "prefer",
        "encoder": driver.encoder,
        "rate_control": {"mode": driver.scale.parameter, "value": probe.crf},
        "audio": "none",
        "score_after": probe.kind != "deliver",  # a delivery's measurement is an earlier one
    }
    if driver.model != DEFAULT_MODEL and probe.kind != "deliver":  # unset: every node's model
        body["score_model"] = driver.model
    if spec.preset:
        body["preset"] = spec.preset
    if probe.size is not None:
        body["resolution"] = {"width": probe.size[0], "height": probe.size[1]}
    if probe.segment is not None and fps > 0:
        # Half a frame early: the seek keeps the segment's first frame whatever the rounding.
        start = max(0.0, probe.segment.start - 0.5) / fps
        body["trim"] = {
            "start_s": round(start, 6),
            "duration_s": round(probe.segment.frames / fps, 6),
        }
    return body
