"""`tune_crf` and `tune_ladder` through the SDK's in-memory client: the real search and ladder
code (`vmafx.tune.run`, shared with `vmafx tune`), a fake evaluator instead of ffmpeg."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from tests.unit.mcp.conftest import FakeScorer, Rig

from vmafx.mcp.farm import Farm
from vmafx.mcp.local import LocalScoring
from vmafx.mcp.tools import build_server
from vmafx.mcp.tuning import LocalTuning
from vmafx.media.encoders import encoder_info
from vmafx.testing import FakeControllerClient
from vmafx.tune.history import History
from vmafx.tune.plan import quality_scale
from vmafx.tune.search import Measurement

FRAMES = 240


@dataclasses.dataclass(frozen=True)
class FakeSource:
    path: str
    width: int = 1920
    height: int = 1080
    frames: int = FRAMES


@dataclasses.dataclass(frozen=True)
class Settings:
    encoder: str


class FakeEvaluator:
    """VMAF falls 2 points per CRF from 130 (CRF 20 → 90); smaller sizes lose a little more;
    a sample probe reads 1 point high. Kilobits fall 10% per CRF."""

    def __init__(self, encoder: str, size: tuple[int, int] | None, on: Any, log: list[Any]):
        self.settings = Settings(encoder)
        self.segments = ("one sample",)
        self.size = size
        self.on = on
        self.log = log

    def __call__(self, crf: float, stage: str) -> Measurement:
        self.log.append((self.size, crf, stage))
        kind = "sample" if stage == "cheap" else "full"
        self.on(f"encode crf {crf:g} ({kind})")
        self.on(f"score crf {crf:g} ({kind})")
        penalty = 0.0 if self.size is None else 1080 / self.size[1] * 2
        vmaf = min(100.0, 130 - 2 * crf - penalty + (1.0 if kind == "sample" else 0.0))
        kbps = round(8000 * 0.9**crf * (self.size[1] / 1080 if self.size else 1.0), 1)
        frames = 48 if kind == "sample" else FRAMES
        return Measurement(vmaf, frames, frames, 0.1, kind, int(kbps * 1000), kbps)

    def deliver(self, crf: float, out: Path) -> int:
        out.write_bytes(b"encoded")
        return 0

    def forget_encodes(self, keep: float | None = None) -> None:
        pass


class FakeContext:
    """What `vmafx.tune.run` needs of a `TuneContext`, without ffmpeg."""

    def __init__(self, source: str, encoder: str, folder: Path, log: list[Any]) -> None:
        info = encoder_info(encoder)  # the real "not one vmafx can drive" refusal
        self.scale = quality_scale(info.family, info.codec)
        self.source = FakeSource(source)
        self.history = History(folder / "history.json")
        self.log = log

    def evaluator(
        self, encoder: str, preset: str | None, metric: str, size: Any, on: Any
    ) -> FakeEvaluator:
        return FakeEvaluator(encoder, size, on, self.log)


@dataclasses.dataclass
class TuneRig(Rig):
    probes: list[Any] = dataclasses.field(default_factory=list)


async def _rig(tmp_path: Path, farm: Farm | None) -> AsyncIterator[TuneRig]:
    probes: list[Any] = []
    tuning = LocalTuning(lambda source, encoder: FakeContext(source, encoder, tmp_path, probes))
    scorer = FakeScorer()
    controller = FakeControllerClient.in_memory(scoring_roots=[tmp_path])
    server = build_server(farm, LocalScoring(lambda: scorer), tuning)
    async with Client(server) as client:
        yield TuneRig(client, controller, scorer, probes)


@pytest.fixture
async def tune_rig(tmp_path: Path) -> AsyncIterator[TuneRig]:
    async for rig in _rig(tmp_path, None):
        yield rig


async def test_both_tune_tools_are_listed_without_a_farm_and_say_where_they_run(
    tune_rig: TuneRig,
) -> None:
    tools = {tool.name: tool for tool in (await tune_rig.mcp.list_tools()).tools}
    for name in ("tune_crf", "tune_ladder"):
        assert tools[name].output_schema is not None
        assert "even when a farm is configured" in (tools[name].description or "")
    assert tools["tune_crf"].input_schema["required"] == ["source", "target", "encoder"]
    assert tools["tune_ladder"].input_schema["required"] == ["source", "encoder"]


async def test_with_a_farm_the_tune_tools_are_listed_too_and_still_run_here(
    tmp_path: Path,
) -> None:
    controller = FakeControllerClient.in_memory(scoring_roots=[tmp_path])
    async for rig in _rig(tmp_path, Farm("127.0.0.1:9090", lambda token: controller)):
        names = {tool.name for tool in (await rig.mcp.list_tools()).tools}
        assert {"tune_crf", "tune_ladder", "submit_job"} <= names
        body = await rig.call("tune_crf", source="/media/in.mkv", target=90, encoder="libx264")
        assert body["ran_on"] == "local" and body["crf"] == 20


async def test_tune_crf_answers_the_highest_crf_reaching_target_like_the_cli_json(
    tune_rig: TuneRig, tmp_path: Path
) -> None:
    out = tmp_path / "best.mp4"
    body = await tune_rig.call(
        "tune_crf", source="/media/in.mkv", target=90, encoder="libx264", preset="veryfast",
        out=str(out),
    )  # fmt: skip
    assert body["crf"] == 20 and body["vmaf"] == 90 and body["hit"] is True
    assert body["encoder"] == "libx264" and body["preset"] == "veryfast"
    assert body["parameter"] == "crf" and body["output"] == str(out) and out.exists()
    assert {"kbps", "size_bytes", "full_encodes", "probes", "cost", "reason"} <= set(body)
    assert {p["kind"] for p in body["probes"]} == {"sample", "full"}


async def test_tune_crf_sends_a_progress_notification_per_probe_step(
    tune_rig: TuneRig,
) -> None:
    seen: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, message))

    result = await tune_rig.mcp.call_tool(
        "tune_crf",
        {"source": "/media/in.mkv", "target": 90, "encoder": "libx264"},
        progress_callback=progress,
    )
    assert not result.is_error, result.content
    messages = [message for _, message in seen]
    assert messages[0] == "starting" and messages[-1] == "done"
    assert any(m and m.startswith("encode crf") for m in messages)
    assert len(messages) == 2 * len(tune_rig.probes) + 2
    steps = [done for done, _ in seen]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)


async def test_tune_crf_honours_the_crf_range_step_and_scale(tune_rig: TuneRig) -> None:
    body = await tune_rig.call(
        "tune_crf", source="/media/in.mkv", target=80, encoder="libx264", min_crf=21,
        max_crf=23, crf_step=0.5, scale="960x540",
    )  # fmt: skip
    assert body["crf"] == 23  # 130 - 46 - 2 = 82 ≥ 80 at the top of the range
    assert all(21 <= crf <= 23 for _, crf, _ in tune_rig.probes)
    assert {size for size, _, _ in tune_rig.probes} == {(960, 540)}


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"target": 101}, ["target 101 is outside 0–100", "Pick a target such as 93"]),
        ({"encoder": "x264"}, ["encoder 'x264' is not one vmafx can drive", "libx264"]),
        ({"scale": "wide"}, ["--scale 'wide' is not WIDTHxHEIGHT", "1280x720"]),
        ({"min_crf": 40, "max_crf": 30}, ["--min-crf 40 / --max-crf 30 must satisfy"]),
        (
            {"target": 99, "min_crf": 20},
            ["no crf from 20 to", "reaches VMAF 99 with libx264", "best measured is 90.00 at crf 20",
             "Lower --target"],
        ),
    ],
)  # fmt: skip
async def test_tune_crf_refusals_are_tool_errors_with_the_cli_messages(
    tune_rig: TuneRig, arguments: dict[str, Any], words: list[str]
) -> None:
    call = {"source": "/media/in.mkv", "target": 90, "encoder": "libx264"} | arguments
    text = await tune_rig.error("tune_crf", **call)
    for word in words:
        assert word in text, text


async def test_tune_ladder_returns_points_hull_and_rungs_like_the_cli_json(
    tune_rig: TuneRig,
) -> None:
    body = await tune_rig.call(
        "tune_ladder", source="/media/in.mkv", encoder="libx264", resolutions=[1080, 540, 2160],
        rungs=2, min_crf=20, max_crf=30, points=3,
    )  # fmt: skip
    assert {(p["height"], p["crf"]) for p in body["points"]} == {
        (h, c) for h in (1080, 540) for c in (20.0, 25.0, 30.0)
    }
    assert body["hull"] and len(body["rungs"]) == 2
    assert set(body["rungs"][0]) == {"width", "height", "crf", "kbps", "vmaf"}
    assert body["skipped"] == ["2160p is above the source's 1080p"]
    assert body["encodes"] == 6 and body["hls"] is None and body["ran_on"] == "local"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"targets": [95, 120]}, ["target 120 is outside 0–100"]),
        ({"rungs": 2, "targets": [95, 85]}, ["--rungs and --targets both pick rungs"]),
        ({"min_gap": "lots"}, ["--min-gap 'lots'"]),
        ({"encoder": "h264"}, ["encoder 'h264' is not one vmafx can drive"]),
    ],
)
async def test_tune_ladder_refusals_are_tool_errors_with_the_cli_messages(
    tune_rig: TuneRig, arguments: dict[str, Any], words: list[str]
) -> None:
    call = {"source": "/media/in.mkv", "encoder": "libx264"} | arguments
    text = await tune_rig.error("tune_ladder", **call)
    for word in words:
        assert word in text, text
