"""The corpus driver scores through the same input policy as `vmafx score`: a clip whose file
is a concat list under a video name fails on its own (exit code 4) and never reads its target."""

from __future__ import annotations

import pytest
from tests.input_escapes import make_tenants

from vmafx.corpus.clips import ClipFailed, ClipJob, ClipScored, ClipSettings, score_clip
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer

pytestmark = pytest.mark.integration


def test_a_disguised_concat_list_clip_fails_alone_and_the_others_score(tmp_path):
    tenants = make_tenants(tmp_path)
    scorer = LibvmafScorer(ffmpeg_info(), SubprocessRunner())
    disguised = tenants.concat_list("clip.mp4")
    settings = ClipSettings(timeout_s=60)
    failed = score_clip(ClipJob("bad", str(disguised), str(tenants.ref)), settings, scorer)
    assert isinstance(failed, ClipFailed)
    assert (failed.error_type, failed.exit_code) == ("NotVideoError", 4)
    assert "clip.mp4 is an ffmpeg concat list" in failed.message
    scored = score_clip(ClipJob("ok", str(tenants.dis), str(tenants.ref)), settings, scorer)
    assert isinstance(scored, ClipScored)
