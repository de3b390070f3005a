"""The node's half of the input policy: what `check_input` and the score handler refuse before
anything is opened (no process runs here; real ffmpeg is in tests/integration/node)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tests.unit.node.test_handlers import MEDIA, FakeScorer, context, score_spec

from vmafx.core.jobs import JobKind
from vmafx.errors import InputError, InputOutsideRootsError, NotVideoError, UsageError
from vmafx.node.handlers.files import check_input, check_output
from vmafx.node.handlers.score import ScoreHandler


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "tenant-b"
    folder.mkdir()
    shutil.copy(MEDIA / "ref.y4m", folder / "ref.y4m")
    shutil.copy(MEDIA / "dis.mp4", folder / "dis.mp4")
    return folder


def test_a_fifo_under_the_roots_is_refused_without_opening_it(root):
    fifo = root / "dis.mp4.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a FIFO \(named pipe\), not a regular file") as caught:
        check_input(str(fifo), [str(root)], field="distorted[0]")
    assert caught.value.exit_code == 3


def test_a_playlist_under_the_roots_is_refused_by_its_name(root, tmp_path):
    other = tmp_path / "tenant-a" / "secret.mp4"
    playlist = root / "steal.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXTINF:10,\n{other}\n#EXT-X-ENDLIST\n")
    with pytest.raises(NotVideoError, match="steal.m3u8 is an HLS playlist"):
        check_input(str(playlist), [str(root)], field="reference")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://cdn.example/a.mp4", "is a remote"),
        ("s3://bucket/a.mp4", "is a remote"),
        ("file:///etc/passwd", "is a file: URL; nodes open local paths only"),
        ("concat:/a.mp4|/b.mp4", "scheme .concat., which is not allowed"),
        ("/m/" + "a" * 5000 + ".mp4", "paths are limited to 4,096"),
    ],
)
def test_urls_and_overlong_paths_are_refused_on_the_node(root, value, message):
    with pytest.raises(UsageError, match=message):
        check_input(value, [str(root)])


def test_a_score_job_whose_model_file_lies_outside_the_roots_is_refused(root, tmp_path):
    model = tmp_path / "tenant-a" / "model.json"
    model.parent.mkdir()
    model.write_text("{}")
    scorer = FakeScorer()
    job = context(JobKind.SCORE, score_spec(root, models=[str(model)]), root)
    with pytest.raises(InputOutsideRootsError, match=r"models\[0\] .*model.json lies outside"):
        ScoreHandler(scorer, tmp_path / "results").run(job)
    assert scorer.requests == []


def test_a_score_job_whose_reference_is_a_fifo_never_reaches_the_scorer(root, tmp_path):
    os.mkfifo(root / "live.y4m")
    scorer = FakeScorer()
    job = context(JobKind.SCORE, score_spec(root, reference=str(root / "live.y4m")), root)
    with pytest.raises(InputError, match="live.y4m is a FIFO"):
        ScoreHandler(scorer, tmp_path / "results").run(job)
    assert scorer.requests == []


def test_an_output_whose_muxer_writes_several_files_is_refused_on_the_node(root):
    with pytest.raises(UsageError, match="names an HLS playlist, whose muxer writes segment"):
        check_output(str(root / "out" / "ladder.m3u8"), [str(root)])
    assert not (root / "out").exists()
