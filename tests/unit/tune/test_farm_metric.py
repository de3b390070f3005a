"""A farm tune job on another metric or at another size: its probes ask the node for the
metric's model and size, p5 is pooled over the frames of every sample segment, the answer is the
local search's on the same curve, and the result names what it measured."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.core.pooling import percentile
from vmafx.core.specs import TuneSpec
from vmafx.node.handlers.score import INLINE_POINTS
from vmafx.tune.farm import SERIES_POINTS, Child, ProbeJob, TuneDriver, child_spec
from vmafx.tune.plan import plan_samples
from vmafx.tune.prior import predict
from vmafx.tune.search import Measurement, SearchSettings, search_crf

FACTS = {"source_frames": 240, "source_fps": 24.0, "source_width": 160, "source_height": 90}


def p5_at(crf: float) -> float:
    return 95.0 - 0.02 * (crf - 10) ** 2 - 0.6 * (crf - 10)


def spec(**fields: Any) -> TuneSpec:
    body = {"source": "/m/src.mkv", "codec": "h264", "target_vmaf": 85, "output": "/o/x.mkv"}
    return TuneSpec.from_json({**body, **fields})


def series(low: float, frames: int) -> list[float]:
    """A frame series whose 5th percentile is about `low` and whose mean is 4 higher."""
    return [low + (4.0 if i % 10 else -3.0) for i in range(frames)]


def scored(probe: ProbeJob, model: str = "vmaf_v0.6.1") -> dict[str, Any]:
    frames = probe.segment.frames if probe.segment else 240
    values = series(p5_at(probe.crf), frames)
    after = {"vmaf": sum(values) / frames, "frame_count": frames, "model": model,
             "pooled": {model: {"mean": sum(values) / frames, "p5": percentile(values, 5)}},
             "series": {model: values}}  # fmt: skip
    return {"output": probe.output, "bytes": 1000, "bitrate_kbps": 100.0 / probe.crf,
            "frames": frames, "encoder": "libx264", "score_after": after}  # fmt: skip


def run(driver: TuneDriver, model: str = "vmaf_v0.6.1") -> tuple[Any, list[ProbeJob]]:
    children: dict[str, Child] = {}
    submitted: list[ProbeJob] = []
    for _ in range(40):
        step = driver.step(children)
        if step.result is not None or step.error is not None:
            return step, submitted
        submitted += step.submit
        for probe in step.submit:
            children[probe.key] = Child(probe.key, f"job-{probe.key}", "completed",
                                        scored(probe, model), node="n1")  # fmt: skip
    raise AssertionError("the driver never finished")


def local_p5_answer(driver: TuneDriver) -> float | None:
    """The local search on the same frames: samples concatenated, p5 over all their frames."""

    def evaluate(crf: float, stage: str) -> Measurement:
        if stage == "cheap" and driver.segments:
            values = [v for s in driver.segments for v in series(p5_at(crf), s.frames)]
            return Measurement(percentile(values, 5), 1, 1, 0.0, "sample")
        return Measurement(percentile(series(p5_at(crf), 240), 5), 1, 1, 0.0, "full")

    prior = predict([], encoder="libx264", preset="", metric="p5", target=85,
                    cheap_kind=driver.cheap_kind)  # fmt: skip
    return search_crf(evaluate, SearchSettings(target=85, lo=10, hi=45), prior).crf


def test_a_p5_search_answers_what_the_local_search_answers_and_names_its_metric():
    driver = TuneDriver("t1", spec(metric="p5", **FACTS), "libx264")
    assert driver.segments and (driver.model, driver.statistic) == ("vmaf_v0.6.1", "p5")
    step, submitted = run(driver)
    assert step.error is None, step.error
    assert step.result["crf"] == local_p5_answer(driver)
    assert (
        step.result["vmaf"] >= 85 and percentile(series(p5_at(step.result["crf"] + 1), 240), 5) < 85
    )
    assert (step.result["metric"], step.result["statistic"]) == ("p5", "p5")
    assert step.record is not None and step.record.metric == "p5"
    assert all("score_model" not in child_spec(driver, p) for p in submitted)  # the default model


def test_p5_over_sample_segments_is_the_5th_percentile_of_all_their_frames():
    driver = TuneDriver("t1", spec(metric="p5", **FACTS), "libx264")
    probes = [p for p in driver.step({}).submit if p.kind == "sample"]
    crf = probes[0].crf
    segments = [p for p in probes if p.crf == crf]
    assert len(segments) == len(driver.segments) >= 2
    children, values = {}, []
    for index, probe in enumerate(segments):
        result = scored(probe)
        frames = result["score_after"]["series"]["vmaf_v0.6.1"] = series(70.0 + 10 * index,
                                                                           probe.segment.frames)  # fmt: skip
        result["score_after"]["pooled"]["vmaf_v0.6.1"]["p5"] = percentile(frames, 5)
        values += frames
        children[probe.key] = Child(probe.key, f"j{index}", "completed", result)
    [measured] = driver.probes_json(children)
    assert measured["vmaf"] == round(percentile(values, 5), 3)
    each = [c.result["score_after"]["pooled"]["vmaf_v0.6.1"]["p5"] for c in children.values()]
    assert measured["vmaf"] != round(sum(each) / len(each), 3)  # not a mean of percentiles


def test_p5_cheap_probes_encode_the_whole_input_when_a_segment_outgrows_the_inline_series():
    facts = {**FACTS, "source_frames": 120 * 600, "source_fps": 120.0}
    assert max(s.frames for s in plan_samples(120 * 600, 120.0)) > SERIES_POINTS
    assert TuneDriver("t1", spec(metric="p5", **facts), "libx264").segments == ()
    assert TuneDriver("t1", spec(metric="vmaf", **facts), "libx264").segments  # means pool fine


def test_the_drivers_series_limit_is_the_nodes_inline_series_length():
    assert SERIES_POINTS == INLINE_POINTS


@pytest.mark.parametrize(("metric", "model"), [("vmaf_neg", "vmaf_v0.6.1neg"),
                                               ("vmaf_4k", "vmaf_4k_v0.6.1")])  # fmt: skip
def test_probes_of_another_model_ask_the_node_to_score_with_it(metric, model):
    driver = TuneDriver("t1", spec(metric=metric, **FACTS), "libx264")
    step, submitted = run(driver, model)
    assert step.error is None, step.error
    assert {child_spec(driver, p)["score_model"] for p in submitted} == {model}
    assert (step.result["metric"], step.result["model"]) == (metric, model)


def test_a_probe_scored_with_another_model_fails_the_search_naming_both():
    driver = TuneDriver("t1", spec(metric="vmaf_neg"), "libx264")
    [probe] = driver.step({}).submit[:1]
    child = Child(probe.key, "j1", "completed", scored(probe, "vmaf_v0.6.1"))
    step = driver.step({probe.key: child})
    assert step.error is not None
    assert "scored with vmaf_v0.6.1, not vmaf_v0.6.1neg (metric vmaf_neg)" in step.error


def test_a_scaled_search_encodes_every_probe_and_the_deliverable_at_that_size():
    driver = TuneDriver("t1", spec(scale={"width": 96, "height": 54}, **FACTS), "libx264")
    step, submitted = run(driver)
    assert step.error is None, step.error
    assert {p.kind for p in submitted} == {"sample", "full"}
    sizes = {tuple(child_spec(driver, p)["resolution"].values()) for p in submitted}
    assert sizes == {(96, 54)}
    assert step.result["scale"] == "96x54" and step.result["output"].startswith("/o/.x.tune/full")


def test_an_unreachable_p5_target_names_the_metric():
    driver = TuneDriver("t1", spec(metric="p5", target_vmaf=99.5), "libx264")
    step, _ = run(driver)
    assert step.error is not None and "reaches p5 VMAF 99.5 with libx264" in step.error
