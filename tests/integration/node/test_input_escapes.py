"""The node under the input policy with the real ffmpeg: a job of tenant B naming a playlist,
a concat list or a FIFO under B's root never reads tenant A's clip, never writes it into B's
root and never blocks a slot; B's own clips still score."""

from __future__ import annotations

import pytest
from tests.input_escapes import Tenants, make_tenants
from tests.integration.node.test_handlers_ffmpeg import run

from vmafx.core.jobs import JobKind
from vmafx.errors import InputError, NotVideoError
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.node.handlers.registry import build_handlers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handlers(tmp_path_factory: pytest.TempPathFactory):
    return build_handlers(
        ffmpeg=ffmpeg_info(),
        runner=SubprocessRunner(),
        verified={"libx264"},
        results_dir=tmp_path_factory.mktemp("results"),
        timeout_s=60,
    )


@pytest.fixture
def tenants(tmp_path) -> Tenants:
    return make_tenants(tmp_path)


def test_a_score_job_on_a_playlist_naming_another_tenants_clip_is_refused(handlers, tenants):
    spec = {"reference": str(tenants.ref), "distorted": [str(tenants.playlist())]}
    with pytest.raises(NotVideoError, match=r"distorted\[0\] .*steal.m3u8 is an HLS playlist"):
        run(handlers, JobKind.SCORE, spec, tenants.b_root)


def test_an_encode_of_a_disguised_concat_list_copies_nothing_into_the_tenants_root(
    handlers, tenants
):
    source = tenants.concat_list("master.mp4")
    output = tenants.b_root / "out" / "copy.mp4"
    spec = {"source": str(source), "output": str(output), "codec": "h264", "hw": "never"}
    with pytest.raises(NotVideoError, match="master.mp4 is an ffmpeg concat list"):
        run(handlers, JobKind.ENCODE, spec, tenants.b_root)
    assert not output.exists()


def test_a_thumbnail_of_a_playlist_writes_no_picture_of_another_tenants_clip(handlers, tenants):
    output = tenants.b_root / "thumb.jpg"
    spec = {"source": str(tenants.playlist()), "output": str(output)}
    with pytest.raises(NotVideoError, match="HLS playlist"):
        run(handlers, JobKind.THUMBNAIL, spec, tenants.b_root)
    assert not output.exists()


def test_a_score_job_on_a_fifo_fails_at_once_without_opening_it(handlers, tenants):
    spec = {"reference": str(tenants.ref), "distorted": [str(tenants.fifo())]}
    with pytest.raises(InputError, match="live.mp4 is a FIFO"):
        run(handlers, JobKind.SCORE, spec, tenants.b_root)


def test_the_tenants_own_clips_still_score(handlers, tenants):
    spec = {"reference": str(tenants.ref), "distorted": [str(tenants.dis)], "per_frame": False}
    output = run(handlers, JobKind.SCORE, spec, tenants.b_root)
    assert 0 < output.score < 100
