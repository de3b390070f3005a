"""`tune_crf` and `tune_ladder` as an assistant calls them: the SDK's in-memory client, the real
server and tuner, real ffmpeg on a tiny generated clip with a narrow CRF range."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mcp import Client

from vmafx.mcp.tools import build_server
from vmafx.media.ffmpeg import locate

pytestmark = pytest.mark.integration


async def test_tune_crf_and_tune_ladder_run_real_encodes_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = tmp_path / "clip.mkv"
    subprocess.run(
        [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=128x72:rate=24", "-t", "1", "-c:v", "ffv1", "-pix_fmt", "yuv420p",
         str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("VMAFX_FFMPEG", raising=False)
    messages: list[str | None] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    async with Client(build_server(None)) as client:
        crf = await client.call_tool(
            "tune_crf",
            {"source": str(clip), "target": 30, "encoder": "libx264", "preset": "ultrafast",
             "min_crf": 30, "max_crf": 32, "out": str(tmp_path / "best.mp4")},
            progress_callback=progress,
        )  # fmt: skip
        assert not crf.is_error, crf.content
        body = crf.structured_content or {}
        assert body["hit"] and 30 <= body["crf"] <= 32 and body["vmaf"] >= 30
        assert body["encoder"] == "libx264" and (tmp_path / "best.mp4").stat().st_size > 0
        assert any(m and m.startswith("encode crf") for m in messages), messages
        ladder = await client.call_tool(
            "tune_ladder",
            {"source": str(clip), "encoder": "libx264", "preset": "ultrafast",
             "resolutions": [72, 36], "points": 2, "min_crf": 30, "max_crf": 40, "rungs": 2},
        )  # fmt: skip
        assert not ladder.is_error, ladder.content
        points = (ladder.structured_content or {})["points"]
        assert {(p["height"], p["crf"]) for p in points} == {
            (h, c) for h in (72, 36) for c in (30.0, 40.0)
        }
