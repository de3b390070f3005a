"""The farm's tune driver as a pure function of its probe jobs: it replays the local search over
measured children, asks for the probes the search needs (and a speculative neighbour when a slot
is free), and ends with the same answer as the local tuner on the same curve."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.core.specs import TuneSpec
from vmafx.errors import UsageError
from vmafx.tune import farm
from vmafx.tune.farm import Child, ProbeJob, TuneDriver, child_spec, choose_encoder
from vmafx.tune.prior import predict
from vmafx.tune.refine import next_probes
from vmafx.tune.search import Measurement, SearchSettings, search_crf


def curve(crf: float) -> float:
    """A typical x264 curve: 99 at CRF 10, falling faster as the CRF grows."""
    return 99.0 - 0.02 * (crf - 10) ** 2 - 0.5 * (crf - 10)


def spec(**fields: Any) -> TuneSpec:
    body = {"source": "/media/src.y4m", "codec": "h264", "target_vmaf": 90, "output": "/o/x.mkv"}
    return TuneSpec.from_json({**body, **fields})


class Farm:
    """Runs probe jobs from a table, one 'node' per slot; `where` names the node."""

    def __init__(self, driver: TuneDriver, bias: float = -0.6) -> None:
        self.driver = driver
        self.children: dict[str, Child] = {}
        self.bias = bias
        self.submitted: list[list[ProbeJob]] = []
        self.cancelled: list[str] = []

    def result(self, probe: ProbeJob) -> dict[str, Any]:
        vmaf = curve(probe.crf) + (self.bias if probe.kind == "sample" else 0.0)
        frames = probe.segment.frames if probe.segment else 240
        return {
            "output": probe.output,
            "bytes": int(200_000 / probe.crf),
            "bitrate_kbps": round(16_000 / probe.crf, 1),
            "frames": frames,
            "elapsed_s": 1.0,
            "encoder": "libx264",
            "score_after": {"vmaf": vmaf, "frame_count": frames},
        }

    def run(self, *, finish_each_round: bool = True, limit: int = 40) -> Any:
        for round_ in range(limit):
            step = self.driver.step(self.children)
            self.cancelled += step.cancel
            if step.result is not None or step.error is not None:
                return step
            self.submitted.append(list(step.submit))
            for i, probe in enumerate(step.submit):
                node = f"node{i % 2}"
                self.children[probe.key] = Child(probe.key, f"job-{probe.key}", "running")
                if finish_each_round:
                    self.children[probe.key] = Child(
                        probe.key, f"job-{probe.key}", "completed", self.result(probe),
                        where=f"{node}-{round_}", node=node,
                    )  # fmt: skip
        raise AssertionError("the driver never finished")


def local_answer(target: float, bias: float, settings_driver: TuneDriver) -> float | None:
    def evaluate(crf: float, stage: str) -> Measurement:
        cheap = stage == "cheap" and settings_driver.segments
        vmaf = curve(crf) + (bias if cheap else 0.0)
        return Measurement(vmaf, 1, 1, 0.0, "sample" if cheap else "full")

    prior = predict([], encoder="libx264", preset="", metric="vmaf", target=target,
                    cheap_kind=settings_driver.cheap_kind)  # fmt: skip
    settings = SearchSettings(target=target, lo=10, hi=45)
    return search_crf(evaluate, settings, prior).crf


@pytest.mark.parametrize("target", [80.0, 85.0, 90.0, 95.0])
@pytest.mark.parametrize("facts", [{}, {"source_frames": 240, "source_fps": 24.0}])
def test_the_farm_search_answers_what_the_local_search_answers_on_the_same_curve(target, facts):
    driver = TuneDriver("t1", spec(target_vmaf=target, **facts), "libx264")
    farm = Farm(driver)
    step = farm.run()
    assert step.error is None, step.error
    assert step.result["crf"] == local_answer(target, farm.bias, driver)
    assert step.result["vmaf"] >= target
    assert curve(step.result["crf"] + 1) < target  # the highest passing CRF, proven
    assert step.record is not None and step.record.crf == step.result["crf"]


def test_sample_probes_are_one_trimmed_child_per_segment_and_their_vmaf_is_frame_weighted():
    driver = TuneDriver("t1", spec(source_frames=240, source_fps=24.0), "libx264")
    assert driver.segments and driver.cheap_kind == "sample"
    first = driver.step({})
    samples = [p for p in first.submit if p.kind == "sample"]
    assert len({p.crf for p in samples}) >= 1
    assert {p.key for p in samples if p.crf == samples[0].crf} == {
        f"sample:{samples[0].crf:g}:{i}" for i in range(len(driver.segments))
    }
    body = child_spec(driver, samples[0])
    segment = driver.segments[0]
    start = max(0, segment.start - 0.5) / 24
    assert body["trim"] == pytest.approx({"start_s": start, "duration_s": segment.frames / 24})
    assert body["score_after"] is True
    assert body["rate_control"] == {"mode": "crf", "value": samples[0].crf}
    assert body["output"].startswith("/o/.x.tune/")
    farm = Farm(driver)
    step = farm.run()
    kinds = {p["kind"] for p in step.result["probes"]}
    assert kinds == {"sample", "full"}
    assert step.result["deliver_as"] == "/o/x.mkv"
    assert step.result["output"].startswith("/o/.x.tune/full_crf")


def test_a_free_slot_runs_the_next_probe_the_fit_expects_in_parallel():
    driver = TuneDriver("t1", spec(parallel=2), "libx264")
    first = driver.step({})
    assert len(first.submit) == 2
    assert [p.speculative for p in first.submit] == [False, True]
    assert first.submit[0].crf != first.submit[1].crf
    alone = TuneDriver("t1", spec(parallel=1), "libx264").step({})
    assert [p.key for p in alone.submit] == [first.submit[0].key]


def test_while_probes_run_the_driver_waits_and_asks_for_nothing_twice():
    driver = TuneDriver("t1", spec(), "libx264")
    first = driver.step({})
    running = {p.key: Child(p.key, f"j-{p.key}", "running") for p in first.submit}
    again = driver.step(running)
    assert again.submit == () and again.result is None and again.error is None


def test_probes_the_search_did_not_need_are_cancelled_and_listed_as_unused():
    driver = TuneDriver("t1", spec(parallel=3), "libx264")
    farm = Farm(driver)
    step = farm.run()
    unused = [p for p in step.result["probes"] if not p["used"]]
    used = [p for p in step.result["probes"] if p["used"]]
    assert used and all(p["where"] and p["nodes"] for p in used)
    assert step.result["cost"] == pytest.approx(len(step.result["probes"]), abs=0.01)
    assert len(unused) + len(used) == len(step.result["probes"])


def test_a_probe_still_running_when_the_search_ends_is_cancelled():
    driver = TuneDriver("t1", spec(parallel=2), "libx264")
    farm = Farm(driver)
    done = farm.run()
    keys = {p["crf"] for p in done.result["probes"]}
    spare = ProbeJob("full:44", 44.0, "full", "/o/.x.tune/full_crf44.mkv")
    assert 44.0 not in keys
    children = {**farm.children, spare.key: Child(spare.key, "job-spare", "pending")}
    assert driver.step(children).cancel == ("job-spare",)


def test_an_unreachable_target_fails_naming_the_best_vmaf_and_its_crf():
    driver = TuneDriver("t1", spec(target_vmaf=99.9, min_crf=12, max_crf=30), "libx264")
    step = Farm(driver).run()
    assert step.result is None
    assert "no crf from 12 to 30 reaches VMAF 99.9 with libx264" in step.error
    assert f"the best measured is {curve(12):.2f} at crf 12" in step.error


def test_a_failed_probe_fails_the_tune_job_with_its_reason():
    driver = TuneDriver("t1", spec(), "libx264")
    [probe, *_] = driver.step({}).submit
    failed = {probe.key: Child(probe.key, "j1", "failed", error="3 leases lost: n1, n2, n1")}
    step = driver.step(failed)
    assert step.error is not None and "3 leases lost" in step.error and "j1" in step.error


def test_a_probe_requeued_after_its_node_died_is_waited_for_not_resubmitted():
    driver = TuneDriver("t1", spec(parallel=1), "libx264")
    [probe] = driver.step({}).submit
    requeued = {probe.key: Child(probe.key, "j1", "pending", attempts=2)}
    assert driver.step(requeued).submit == ()


def test_the_encoder_is_one_a_live_node_verified_hardware_first_when_preferred():
    nodes = {"a": ("libx264",), "b": ("libx264", "h264_nvenc")}
    assert choose_encoder(spec(), nodes) == "h264_nvenc"
    assert choose_encoder(spec(hw="never"), nodes) == "libx264"
    with pytest.raises(UsageError, match=r"no live node has verified libx265.*a: libx264"):
        choose_encoder(spec(codec="hevc", encoder="libx265"), nodes)
    with pytest.raises(UsageError, match="makes hevc, not h264"):
        choose_encoder(spec(encoder="libx265"), nodes)
    nvenc = TuneDriver("t1", spec(), "h264_nvenc")
    [probe, *_] = nvenc.step({}).submit
    body = child_spec(nvenc, probe)
    assert body["rate_control"]["mode"] == "cq" and body["hw"] == "prefer"


@pytest.mark.parametrize("points", [3, 5])
def test_a_ladder_asks_for_its_points_a_slot_at_a_time_and_ends_with_rungs(points):
    facts = {"source_width": 640, "source_height": 360, "source_frames": 24, "source_fps": 24.0}
    driver = TuneDriver(
        "t1",
        spec(mode="ladder", target_vmaf=None, resolutions=["360", "180"], points=points, rungs=2,
             parallel=2, output="/o/ladder", **facts),
        "libx264",
    )  # fmt: skip
    children: dict[str, Child] = {}
    for _ in range(40):
        step = driver.step(children)
        if step.result is not None or step.error is not None:
            break
        assert 0 < len(step.submit) <= 2
        for probe in step.submit:
            assert probe.size is not None and probe.output.startswith("/o/ladder/")
            w, h = probe.size
            vmaf = curve(probe.crf) - (8.0 if h < 360 else 0.0)
            kbps = 40_000 / probe.crf * (w * h) / (640 * 360)
            result = {"output": probe.output, "bitrate_kbps": kbps, "encoder": "libx264",
                      "score_after": {"vmaf": vmaf, "frame_count": 24}}  # fmt: skip
            children[probe.key] = Child(probe.key, f"j{len(children)}", "completed", result, None,
                                        "host / L4", node="n1")  # fmt: skip
    assert step.error is None and step.result is not None
    # The ends and middle of each resolution first, then refinements within the budget.
    assert 6 <= len(step.result["points"]) <= 2 * points
    assert len({(p["height"], p["crf"]) for p in step.result["points"]}) == len(children)
    assert len(step.result["rungs"]) == 2
    assert all(r["node"] == "n1" and r["output"] for r in step.result["rungs"])
    assert step.result["hull"]


def test_a_ladder_without_the_source_size_fails_saying_what_to_give():
    driver = TuneDriver("t1", spec(mode="ladder", target_vmaf=None), "libx264")
    assert "source_width" in (driver.step({}).error or "")


def test_a_ladder_places_its_points_once_per_set_of_measured_points(monkeypatch):
    calls = []

    def counting(plan, measured, *, batch=1):
        calls.append(len(measured))
        return next_probes(plan, measured, batch=batch)

    monkeypatch.setattr(farm, "next_probes", counting)
    facts = {"source_width": 640, "source_height": 360, "source_frames": 24, "source_fps": 24.0}
    driver = TuneDriver(
        "t1",
        spec(mode="ladder", target_vmaf=None, resolutions=["360", "180"], points=4, parallel=2,
             output="/o/ladder", **facts),
        "libx264",
    )  # fmt: skip
    first = driver.step({})
    assert driver.step({}).submit == first.submit  # a round with nothing new: no placement
    assert calls == [0]
    [probe, *_] = first.submit
    result = {"output": probe.output, "bitrate_kbps": 900.0, "encoder": "libx264",
              "score_after": {"vmaf": 90.0, "frame_count": 24}}  # fmt: skip
    done = {probe.key: Child(probe.key, "j0", "completed", result, None, "host", node="n1")}
    driver.step(done)
    driver.step(done)
    assert calls == [0, 1]  # placed again once, when a point was measured
