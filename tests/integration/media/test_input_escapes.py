"""The input policy in the media layer with the real ffmpeg and PyAV: a playlist, a concat list
or an image sequence under tenant B's root cannot make the probe or the scoring run read tenant
A's clip, a FIFO is refused before anything opens it, and a file named with ffmpeg's URL syntax
is that one file."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from pathlib import Path

import av
import pytest
from tests.input_escapes import Tenants, copy_as, make_clip, make_tenants

from vmafx.errors import InputError, NotVideoError
from vmafx.media import graph
from vmafx.media.ffmpeg import ffmpeg_info, locate
from vmafx.media.probe import probe
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Tenants:
    return make_tenants(tmp_path_factory.mktemp("tenants"))


@pytest.fixture
def tenants(made: Tenants, tmp_path: Path) -> Tenants:
    """A fresh copy per test, so the files one test adds do not leak into another."""
    shutil.copytree(made.a_root.parent, tmp_path, dirs_exist_ok=True)
    a_root, b_root = tmp_path / "tenant-a", tmp_path / "tenant-b"
    return Tenants(a_root, b_root, a_root / "secret.mp4", b_root / "ref.mp4", b_root / "dis.mp4")


def scorer() -> LibvmafScorer:
    return LibvmafScorer(ffmpeg_info(), SubprocessRunner())


def vmaf(reference: Path | str, distorted: Path | str) -> float:
    request = ScoreRequest(str(reference), (str(distorted),), graph.ScoreOptions(threads=2))
    return scorer().score(request).results[0].pooled["vmaf_v0.6.1"].mean


def test_without_the_policy_ffmpeg_would_read_the_other_tenants_clip(tenants: Tenants):
    """The attack is real: the HLS demuxer opens the file a playlist names."""
    with av.open(str(tenants.playlist())) as container:
        assert container.format.name == "hls"
        assert container.streams.video[0].codec_context.width == 320


def test_a_playlist_pointing_outside_the_roots_is_refused_by_name(tenants: Tenants):
    playlist = tenants.playlist()
    with pytest.raises(NotVideoError, match=r"steal.m3u8 is an HLS playlist, which would make"):
        probe(str(playlist))


@pytest.mark.parametrize("kind", ["playlist", "concat_list"])
def test_a_list_of_files_under_a_video_name_is_refused_by_its_content(tenants: Tenants, kind):
    disguised = getattr(tenants, kind)("innocent.mp4")
    expected = "an HLS playlist" if kind == "playlist" else "an ffmpeg concat list"
    with pytest.raises(NotVideoError, match=f"innocent.mp4 is {expected}") as caught:
        probe(str(disguised))
    assert caught.value.exit_code == 4


def test_the_scoring_run_itself_refuses_a_playlist_even_past_the_probe(tenants: Tenants):
    """ffmpeg's own whitelists hold where a check before it was skipped or raced."""
    disguised = tenants.playlist()
    info = probe(str(tenants.ref))
    command = graph.build_score_command(
        ffmpeg_info().path,
        (graph.Input(str(tenants.ref)), info),
        [(graph.Input(str(disguised)), dataclasses.replace(info, path=str(disguised)))],
        graph.ScoreOptions(threads=1),
        str(tenants.b_root),
    )
    result = SubprocessRunner().run(command.argv, timeout_s=60)
    assert result.returncode != 0
    assert "Format not on whitelist" in result.stderr


def test_an_image_sequence_pattern_is_refused(tenants: Tenants):
    frames = tenants.b_root / "frames"
    frames.mkdir()
    subprocess.run(
        [locate(), "-v", "error", "-i", str(tenants.secret), str(frames / "img%03d.png")],
        check=True,
        timeout=60,
    )
    pattern = copy_as(frames / "img001.png", frames / "img%03d.png")
    with pytest.raises(NotVideoError, match="is not a video vmafx can read"):
        probe(str(pattern))


def test_a_fifo_is_refused_at_once_instead_of_blocking_the_probe(tenants: Tenants):
    fifo = tenants.fifo()
    started = time.monotonic()
    with pytest.raises(InputError, match=r"live.mp4 is a FIFO \(named pipe\), not a regular"):
        scorer().score(ScoreRequest(str(tenants.ref), (str(fifo),), timeout_s=5))
    assert time.monotonic() - started < 60  # before: blocked forever in av.open


@pytest.mark.parametrize("name", ["concat:ref.mp4|dis.mp4", "file:dis.mp4", "subfile:dis.mp4"])
def test_a_file_named_with_ffmpeg_url_syntax_is_that_one_file(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch, name: str
):
    """Its score is the score of its own content, not of the files its name spells."""
    monkeypatch.chdir(tenants.b_root)
    other = make_clip(tenants.b_root / "other.mp4", crf=30, source="testsrc")
    copy_as(other, tenants.b_root / name)
    assert vmaf("ref.mp4", name) == pytest.approx(vmaf("ref.mp4", "other.mp4"), abs=1e-6)


def test_legitimate_containers_still_score(tenants: Tenants):
    mkv = tenants.b_root / "dis.mkv"
    make_clip(mkv, crf=45)
    assert 0 < vmaf(tenants.ref, mkv) < 100
