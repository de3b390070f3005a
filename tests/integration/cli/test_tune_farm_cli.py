"""`vmafx jobs submit encode --target-vmaf` and `vmafx tune crf --controller` in process against a
real controller (its tuner included) with a fake node answering the probe encode jobs from a
known CRF→VMAF curve: the cheapest passing encode is delivered as --out, an unreachable target
fails naming the best VMAF and its CRF, and rate flags that clash with the search are refused."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from tests.farm import FakeNode, Farm, migrated_template
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import report_error
from vmafx.core.messages import NodeReport
from vmafx.errors import VmafxError

pytestmark = pytest.mark.integration
MEDIA = Path(__file__).resolve().parents[2] / "fixtures" / "media"


def vmaf_at(crf: float) -> float:
    return 99.0 - 0.02 * (crf - 10) ** 2 - 0.5 * (crf - 10)


def p5_at(crf: float) -> float:
    """The worst frames: 3 below the mean, and falling faster."""
    return vmaf_at(crf) - 3.0 - 0.1 * (crf - 10)


#: The specs of the probe encode jobs the fake node took, newest last.
SEEN: list[dict] = []


async def answer_probes(node: FakeNode, stop: asyncio.Event) -> None:
    """Take encode jobs and report what a node would: the output written, its VMAF."""
    while not stop.is_set():
        claim = await node.client.pull_work(node.session, queues=["encode"], wait_s=0.2)
        if claim is None:
            continue
        spec = claim.job.spec
        SEEN.append(spec)
        crf = spec["rate_control"]["value"]
        model = spec.get("score_model", "vmaf_v0.6.1")
        Path(spec["output"]).parent.mkdir(parents=True, exist_ok=True)
        Path(spec["output"]).write_bytes(b"x" * int(10_000 / crf))
        source = Path(spec["source"]).stat()  # as the node reports the file it read
        result = {"output": spec["output"], "bytes": int(10_000 / crf), "frames": 24,
                  "bitrate_kbps": round(80 / crf, 2), "encoder": spec["encoder"],
                  "source_stat": {"size": source.st_size, "mtime_ns": source.st_mtime_ns}}  # fmt: skip
        if spec["score_after"]:
            result["score_after"] = {"vmaf": vmaf_at(crf), "frame_count": 24, "model": model,
                                     "pooled": {model: {"mean": vmaf_at(crf), "p5": p5_at(crf)}}}  # fmt: skip
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result)
        await node.client.report_result(node.session, report)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    folder = tmp_path_factory.mktemp("tune-cli")
    made = Farm(folder / "farm", migrated_template(folder))
    node = made.node("cpu-a", encoders=("libx264",), gpus=(), gpu_vendor="cpu")
    stop = asyncio.Event()
    worker = made.start(answer_probes(node, stop))
    try:
        yield made
    finally:
        made.loop.call_soon_threadsafe(stop.set)
        worker.result(10)
        made.run(node.close())
        made.close()


def run(farm: Farm, *args: str) -> tuple[int, str, str]:
    env = {"VMAFX_CONTROLLER_ADDR": farm.grpc_target, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, VmafxError):
        buffer = io.StringIO()
        code = report_error(result.exception, Console(file=buffer, width=200))
        return code, result.stdout, result.stderr + buffer.getvalue()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def expected_crf(target: float, at: Callable[[float], float] = vmaf_at) -> int:
    return max(crf for crf in range(10, 46) if at(crf) >= target)


def test_submit_encode_with_a_target_delivers_the_cheapest_passing_encode_as_out(farm):
    out = Path(farm.path("out/best.mkv"))
    code, stdout, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                               "--out", str(out), "--target-vmaf", "90", "--hw", "never",
                               "--format", "json")  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["crf"] == expected_crf(90) and result["vmaf"] >= 90
    assert result["output"] == str(out) and out.stat().st_size == int(10_000 / result["crf"])
    assert not (out.parent / ".best.tune").exists()  # the other probes' files are gone
    assert result["chosen_node"] == "cpu-a"


def test_tune_crf_with_a_controller_prints_the_probes_and_where_they_ran(farm):
    code, stdout, stderr = run(farm, "tune", "crf", farm.path("master.mov"), "--target", "85",
                               "--encoder", "libx264", "--controller", farm.grpc_target)  # fmt: skip
    assert code == 0, stderr
    assert f"libx264 crf {expected_crf(85)}: VMAF" in stdout
    assert "cpu-a" in stdout


def test_an_unreachable_target_fails_with_the_best_measured_vmaf_and_its_crf(farm):
    code, _, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                          "--out", farm.path("out/never.mkv"), "--target-vmaf", "99.5",
                          "--hw", "never")  # fmt: skip
    assert code != 0
    assert "no crf from 10 to 45 reaches VMAF 99.5 with libx264" in stderr
    assert f"the best measured is {vmaf_at(10):.2f} at crf 10" in stderr


def test_a_fixed_rate_flag_with_a_target_is_refused_before_anything_is_submitted(farm):
    code, _, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                          "--out", farm.path("out/x.mkv"), "--target-vmaf", "90", "--crf", "23")  # fmt: skip
    assert code == 2 and "--crf cannot be combined with --target-vmaf" in stderr


def test_tune_ladder_with_a_controller_prints_the_rungs_and_writes_the_plot(farm):
    source = Path(farm.path("ladder_src.y4m"))
    shutil.copy(MEDIA / "ref.y4m", source)  # 80x48: the CLI probes it for the ladder's sizes
    plot = Path(farm.path("out/ladder.svg"))
    code, stdout, stderr = run(farm, "tune", "ladder", str(source), "--resolutions", "48,24",
                               "--points", "3", "--rungs", "2", "--out", farm.path("out/ladder"),
                               "--plot", str(plot), "--format", "json",
                               "--controller", farm.grpc_target)  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert {(p["width"], p["height"]) for p in result["points"]} == {(80, 48), (40, 24)}
    assert len(result["points"]) == 6 and 1 <= len(result["rungs"]) <= 2
    assert all(r["node"] == "cpu-a" and r["output"].startswith(farm.path("out/ladder/"))
               for r in result["rungs"])  # fmt: skip
    assert plot.read_text().startswith("<svg") and result["plot"] == str(plot)


def test_tune_crf_with_a_controller_searches_on_p5_and_names_it(farm):
    code, stdout, stderr = run(farm, "tune", "crf", farm.path("master.mov"), "--target", "85",
                               "--metric", "p5", "--controller", farm.grpc_target)  # fmt: skip
    assert code == 0, stderr
    assert expected_crf(85, p5_at) != expected_crf(85)  # the two metrics answer apart here
    assert f"libx264 crf {expected_crf(85, p5_at)}: p5 VMAF" in stdout


def test_submit_encode_with_a_target_takes_a_metric_and_a_size_for_every_probe(farm):
    out = Path(farm.path("out/small.mkv"))
    SEEN.clear()
    code, stdout, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                               "--out", str(out), "--target-vmaf", "80", "--metric", "vmaf_neg",
                               "--width", "96", "--height", "54", "--hw", "never",
                               "--format", "json")  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert (result["metric"], result["model"], result["scale"]) == ("vmaf_neg", "vmaf_v0.6.1neg",
                                                                    "96x54")  # fmt: skip
    assert SEEN and all(s["resolution"] == {"width": 96, "height": 54} for s in SEEN)
    assert {s["score_model"] for s in SEEN} == {"vmaf_v0.6.1neg"}
    assert result["crf"] == expected_crf(80) and out.is_file()


def test_a_metric_without_a_target_or_half_a_size_is_refused_before_anything_is_submitted(farm):
    code, _, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                          "--out", farm.path("out/x.mkv"), "--metric", "p5")  # fmt: skip
    assert code == 2 and "--metric is what --target-vmaf is measured on" in stderr
    code, _, stderr = run(farm, "jobs", "submit", "encode", farm.path("master.mov"),
                          "--out", farm.path("out/x.mkv"), "--target-vmaf", "90",
                          "--width", "96")  # fmt: skip
    assert code == 2 and "--width and --height go together with --target-vmaf" in stderr


def test_the_same_search_again_reuses_every_probe_and_encodes_only_the_delivered_file(farm):
    source = Path(farm.path("kept.mov"))
    source.write_bytes(b"content measured once")
    args = ("tune", "crf", str(source), "--target", "88", "--encoder", "libx264",
            "--controller", farm.grpc_target, "--format", "json")  # fmt: skip
    outs = [farm.path("out/kept1.mkv"), farm.path("out/kept2.mkv")]
    code, stdout, stderr = run(farm, *args, "--out", outs[0])
    assert code == 0, stderr
    first = json.loads(stdout)
    assert not any(p["cached"] for p in first["probes"])
    seen = len(SEEN)
    code, stdout, stderr = run(farm, *args, "--out", outs[1])
    assert code == 0, stderr
    second = json.loads(stdout)
    [delivery] = SEEN[seen:]  # no probe: one unscored encode of the chosen CRF, for its file
    assert delivery["score_after"] is False
    assert delivery["rate_control"]["value"] == second["crf"] == first["crf"] == expected_crf(88)
    assert all(p["cached"] for p in second["probes"]) and second["full_encodes"] == 1
    assert Path(outs[1]).stat().st_size == int(10_000 / second["crf"])
    code, stdout, stderr = run(farm, *args[:-2], "--out", outs[1])  # the table says so too
    assert code == 0, stderr
    assert "full (cached)" in stdout

    source.write_bytes(b"content changed since")  # another content: probed again
    seen = len(SEEN)
    code, stdout, stderr = run(farm, *args, "--out", outs[1])
    assert code == 0, stderr
    assert not any(p["cached"] for p in json.loads(stdout)["probes"])
    assert all(spec["score_after"] for spec in SEEN[seen:]) and len(SEEN) - seen >= 2
