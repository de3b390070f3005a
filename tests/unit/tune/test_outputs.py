"""The ladder's plot, HLS master playlist and orchestration, and the local session."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vmafx.errors import FfmpegError, InputNotFoundError, TargetUnreachableError
from vmafx.tune.history import History
from vmafx.tune.hls import Rendition, master_playlist, segment_durations
from vmafx.tune.hull import Point
from vmafx.tune.ladder import LadderRequest, build_ladder, crf_grid, sizes
from vmafx.tune.plot import ladder_svg
from vmafx.tune.run import farm_hls
from vmafx.tune.search import Measurement, SearchSettings
from vmafx.tune.session import TuneRequest, run_search, software_fallback


def test_the_svg_is_well_formed_and_shows_every_resolution_and_rung() -> None:
    points = [Point(640, 360, 30, 500, 80), Point(1280, 720, 30, 1500, 90)]
    svg = ladder_svg(points, points, points[1:], "clip <1>")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "360p" in svg and "720p" in svg and "720p 1500k" in svg and "clip &lt;1&gt;" in svg


def test_the_master_playlist_lists_renditions_by_bitrate() -> None:
    text = master_playlist([
        Rendition("720p/index.m3u8", 1280, 720, 2_000_000, 2_600_000),
        Rendition("360p/index.m3u8", 640, 360, 500_000, 700_000),
    ])  # fmt: skip
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "RESOLUTION=640x360" in lines[3] and lines[4] == "360p/index.m3u8"
    assert "BANDWIDTH=2600000,AVERAGE-BANDWIDTH=2000000" in lines[5]


def test_segment_durations_are_read_from_a_media_playlist() -> None:
    text = "#EXTM3U\n#EXTINF:4.000000,\nseg000.m4s\n#EXTINF:1.5,\nseg001.m4s\n#EXT-X-ENDLIST\n"
    assert segment_durations(text) == [("seg000.m4s", 4.0), ("seg001.m4s", 1.5)]


def test_resolutions_above_the_source_are_skipped_and_widths_stay_even() -> None:
    chosen, skipped = sizes(1280, 720, [1080, 720, 360, 240])
    assert chosen == [(1280, 720), (640, 360), (426, 240)]
    assert skipped == ["1080p is above the source's 720p"]


def test_the_ladder_stops_spending_bits_above_top_vmaf() -> None:
    asked: list[tuple[int, float]] = []

    def at(width: int, height: int, crf: float) -> Measurement:
        asked.append((height, crf))
        vmaf = min(100.0, 120 - crf * 2 - (720 - height) / 20)
        return Measurement(vmaf, 10, 10, 0.1, "full", 1000, 4000 * height / 720 / (crf / 10), False)

    request = LadderRequest((720, 360), crf_grid(18, 42, 5), targets=(70, 60), top_vmaf=70)
    result = build_ladder(request, 1280, 720, at)
    assert (720, 18.0) not in asked  # 720p reached 70 at CRF 24
    assert all(r.vmaf >= 60 for r in result.rungs) and result.rungs
    assert result.as_dict()["scored_at"].startswith("source resolution")


class FakeEvaluator:
    segments = ("one",)

    def __init__(self, encoder: str, fail_after: int | None = None, best: float = 100.0) -> None:
        self.encoder = encoder
        self.calls = 0
        self.fail_after = fail_after
        self.best = best
        self.delivered: list[tuple[float, Path]] = []

    def __call__(self, crf: float, stage: str) -> Measurement:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise FfmpegError("nvenc: no capable device")
        vmaf = min(self.best, 130 - 1.5 * crf)
        return Measurement(vmaf, 100 if stage == "full" else 30, 100, 1.0, stage, 1000, 50.0)

    def deliver(self, crf: float, out: Path) -> int:
        self.delivered.append((crf, out))
        return 0


def _request(encoder: str, out: Path | None = None) -> TuneRequest:
    return TuneRequest(encoder, None, "vmaf", SearchSettings(target=93, lo=10, hi=51), out)


def test_a_session_delivers_the_confirming_encode_and_remembers_the_answer(tmp_path: Path) -> None:
    made: list[FakeEvaluator] = []

    def make(encoder: str) -> FakeEvaluator:
        made.append(FakeEvaluator(encoder))
        return made[-1]

    history = History(tmp_path / "h.json")
    report = run_search(
        _request("libx264", tmp_path / "o.mp4"), make, history, 100, lambda _: "crf"
    )
    assert report.result.crf == 24 and made[0].delivered == [(24, tmp_path / "o.mp4")]
    assert history.records()[0].crf == 24
    data = report.as_dict()
    assert {"crf", "vmaf", "kbps", "size_bytes", "full_encodes", "probes", "cost", "hit"} <= set(
        data
    )
    assert data["full_encodes"] <= 2


def test_a_hardware_encoder_failing_mid_search_falls_back_to_software(tmp_path: Path) -> None:
    def make(encoder: str) -> FakeEvaluator:
        return FakeEvaluator(encoder, fail_after=2 if encoder == "hevc_nvenc" else None)

    report = run_search(_request("hevc_nvenc"), make, History(tmp_path / "h.json"), 100, str)
    assert report.encoder == "libx265" and report.fallback is not None
    assert report.fallback.encoder == "hevc_nvenc" and "no capable device" in report.fallback.reason
    assert report.as_dict()["fallback"]["to"] == "libx265"


def test_a_software_encoder_failing_is_not_hidden(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError):
        run_search(
            _request("libx264"),
            lambda e: FakeEvaluator(e, fail_after=1),
            History(tmp_path / "h"),
            100,
            str,
        )
    assert software_fallback("libx264") is None


def test_an_unreachable_target_names_the_best_vmaf_and_its_crf(tmp_path: Path) -> None:
    with pytest.raises(TargetUnreachableError) as caught:
        run_search(
            _request("libx264"), lambda e: FakeEvaluator(e, best=88.0), History(tmp_path / "h"), 100,
            lambda _: "crf",
        )  # fmt: skip
    assert caught.value.best_vmaf == 88.0 and caught.value.best_crf == 10
    assert "best measured is 88.00 at crf 10" in str(caught.value)
    assert caught.value.exit_code == 22


def test_farm_hls_refuses_rungs_this_machine_cannot_see_and_says_where_to_run_it(
    tmp_path: Path,
) -> None:
    seen = tmp_path / "90p_crf30.mkv"
    seen.write_bytes(b"x")
    rungs = [{"width": 160, "height": 90, "crf": 30.0, "output": str(seen)},
             {"width": 96, "height": 54, "crf": 34.0, "output": "/node-only/54p_crf34.mkv"}]  # fmt: skip
    with pytest.raises(InputNotFoundError, match="/node-only/54p_crf34.mkv") as error:
        farm_hls(rungs, tmp_path / "hls")
    assert "not visible on this machine" in str(error.value)
    assert "storage both the nodes and this machine mount" in str(error.value.hint)
    assert not (tmp_path / "hls").exists()  # nothing half-written
