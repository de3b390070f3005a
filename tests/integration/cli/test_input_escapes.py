"""`vmafx score` under the input policy, as a user runs it: a real process, real ffmpeg, the
exit code from the README's table and the message on stderr, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.input_escapes import Tenants, copy_as, make_clip, make_tenants

pytestmark = pytest.mark.integration


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    return make_tenants(tmp_path)


def vmafx(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    return subprocess.run(
        [sys.executable, "-m", "vmafx", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,  # before the fix a FIFO made this hang forever
    )


def refused(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert done.returncode == code, done.stderr
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_playlist_naming_another_tenants_clip_exits_4(tenants: Tenants):
    tenants.playlist()
    done = vmafx("score", "ref.mp4", "steal.m3u8", cwd=tenants.b_root)
    refused(done, 4, "The input steal.m3u8 is an HLS playlist, which would make ffmpeg open other")


def test_a_concat_list_under_a_video_name_exits_4(tenants: Tenants):
    tenants.concat_list("joined.mp4")
    done = vmafx("score", "ref.mp4", "joined.mp4", cwd=tenants.b_root)
    refused(done, 4, "The input joined.mp4 is an ffmpeg concat list")


def test_a_fifo_exits_3_at_once_instead_of_hanging_past_the_timeout(tenants: Tenants):
    tenants.fifo()
    done = vmafx("score", "ref.mp4", "live.mp4", "--timeout", "5", cwd=tenants.b_root)
    refused(done, 3, "The input live.mp4 is a FIFO (named pipe), not a regular file")


def test_a_folder_exits_3(tenants: Tenants):
    (tenants.b_root / "clips").mkdir()
    done = vmafx("score", "ref.mp4", "clips", cwd=tenants.b_root)
    refused(done, 3, "The input clips is a folder, not a video file")


def test_a_path_longer_than_the_limit_exits_2(tenants: Tenants):
    done = vmafx("score", "ref.mp4", "a" * 5000 + ".mp4", cwd=tenants.b_root)
    refused(done, 2, "input is 5,004 characters long; paths are limited to 4,096")


@pytest.mark.parametrize("name", ["concat:ref.mp4|dis.mp4", "file:dis.mp4"])
def test_a_file_named_with_ffmpeg_url_syntax_scores_its_own_content(tenants: Tenants, name):
    other = make_clip(tenants.b_root / "other.mp4", crf=30, source="testsrc")
    copy_as(other, tenants.b_root / name)
    scores = []
    for distorted in (name, "other.mp4"):
        done = vmafx("score", "ref.mp4", distorted, "--format", "json", cwd=tenants.b_root)
        assert done.returncode == 0, done.stderr
        scores.append(json.loads(done.stdout)["results"][0]["pooled"]["vmaf"]["mean"])
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)
