"""`vmafx corpus score --controller`: a real controller and node score a small corpus, and the
feature table equals what local mode writes for the same manifest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.e2e.conftest import MEDIA, Farm

from vmafx.core.features import NAMES_V1
from vmafx.media.ffmpeg import locate
from vmafx.media.runner import SubprocessRunner, check_returncode

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CRFS = (18, 30, 42, 51)


def make_corpus(media: Path) -> Path:
    """Four encodes of the reference fixture at different CRFs, and one no-reference clip."""
    os.link(MEDIA / "ref.y4m", media / "ref.y4m")
    ffmpeg, runner = locate(), SubprocessRunner()
    lines = ["id,distorted,reference,mos"]
    for crf in CRFS:
        out = media / f"crf{crf}.mp4"
        argv = [ffmpeg, "-hide_banner", "-v", "error", "-y", "-i", str(media / "ref.y4m"),
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(crf), str(out)]  # fmt: skip
        check_returncode(runner.run(argv, timeout_s=30), f"encoding crf {crf}")
        lines.append(f"crf{crf},crf{crf}.mp4,ref.y4m,{100 - crf}")
    os.link(MEDIA / "dis.mp4", media / "alone.mp4")
    lines.append("alone,alone.mp4,,50")
    manifest = media / "clips.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def corpus_score(manifest: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "vmafx", "corpus", "score", str(manifest), "--out", str(out)]
    return subprocess.run(
        [*argv, *extra], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def rows(path: Path) -> dict[str, dict[str, object]]:
    table = pq.read_table(path).to_pylist()
    return {row["id"]: row for row in table}


async def test_a_corpus_scored_through_the_farm_equals_local_mode(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    manifest = make_corpus(media)
    farm = Farm(tmp_path, media)
    try:
        farm.start_controller()
        farm.start_node("corpus-node", queues="score")
        await farm.node_live("corpus-node")
        farmed = corpus_score(manifest, tmp_path / "farm.parquet", "--controller", farm.target)
        assert farmed.returncode == 0, farmed.stderr + "\n".join(p.tail() for p in farm.procs)
        local = corpus_score(manifest, tmp_path / "local.parquet", "--workers", "2")
        assert local.returncode == 0, local.stderr

        ids = pq.read_table(tmp_path / "farm.parquet").column("id").to_pylist()
        assert sorted(ids) == sorted([f"crf{crf}" for crf in CRFS] + ["alone"])
        by_farm, by_local = rows(tmp_path / "farm.parquet"), rows(tmp_path / "local.parquet")
        assert by_farm.keys() == by_local.keys()
        for clip_id, row in by_farm.items():
            mine = by_local[clip_id]
            assert row["vmaf_mean"] == pytest.approx(mine["vmaf_mean"], abs=1e-6), clip_id
            assert (row["width"], row["height"], row["fps"], row["frame_count"]) == (
                mine["width"], mine["height"], mine["fps"], mine["frame_count"]
            )  # fmt: skip
            assert [row[n] for n in NAMES_V1] == pytest.approx([mine[n] for n in NAMES_V1])
            assert row["mos"] == mine["mos"]
        assert by_farm["crf18"]["vmaf_mean"] > by_farm["crf51"]["vmaf_mean"]

        again = corpus_score(manifest, tmp_path / "farm.parquet", "--controller", farm.target)
        assert again.returncode == 0, again.stderr
        assert "5 finished by an earlier run" in again.stdout
    finally:
        if farm.client is not None:
            await farm.client.close()
        farm.kill_all()
