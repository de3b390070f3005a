"""The real libvmaf through ffmpeg on tiny committed fixtures, against golden values that the
fixture script took from the bare `ffmpeg -lavfi libvmaf` command."""

from __future__ import annotations

import json
import tempfile
from fractions import Fraction

import pytest
from tests.conftest import MEDIA

from vmafx.core.media import RawFormat
from vmafx.errors import FfmpegCancelledError, MismatchError, NotVideoError, UnknownModelError
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import CancelToken, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration

GOLDEN = json.loads((MEDIA / "golden.json").read_text())
REF = str(MEDIA / "ref.y4m")


@pytest.fixture(scope="module")
def scorer() -> LibvmafScorer:
    return LibvmafScorer(ffmpeg_info(), SubprocessRunner())


#: The golden files hold bare libvmaf's keys; vmafx keys a model by its name (one model too).
GOLDEN_KEYS = {"vmaf": "vmaf_v0.6.1"}


def assert_matches_golden(result, golden, tol=1e-4):
    assert result.scored_frames == golden["frames"]
    for metric, figures in golden["pooled"].items():
        key = GOLDEN_KEYS.get(metric, metric)
        for stat, value in figures.items():
            assert getattr(result.pooled[key], stat) == pytest.approx(value, abs=tol), (
                metric,
                stat,
            )


@pytest.mark.parametrize("name", ["dis.mp4", "dis.mkv", "dis.mov", "dis.webm", "dis.ivf"])
def test_each_container_scores_exactly_as_bare_libvmaf(scorer, name):
    report = scorer.score(
        ScoreRequest(REF, (str(MEDIA / name),), ScoreOptions(features=("psnr",), threads=2))
    )
    assert_matches_golden(report.results[0], GOLDEN[name])
    assert report.versions["libvmaf"] not in ("", "unknown")


def test_raw_10_bit_yuv_matches_libvmaf_to_1e_4(scorer):
    raw = RawFormat(80, 48, "yuv420p10le", Fraction(24))
    request = ScoreRequest(
        str(MEDIA / "ref_10bit.yuv"),
        (str(MEDIA / "dis_10bit.yuv"),),
        ScoreOptions(features=("psnr",)),
        raw=raw,
    )
    result = scorer.score(request).results[0]
    assert_matches_golden(result, GOLDEN["dis_10bit.yuv"])
    assert result.frame_count == 8


def test_a_smaller_distorted_is_scaled_bicubic_like_the_bare_command(scorer):
    result = scorer.score(ScoreRequest(REF, (str(MEDIA / "dis_small.mp4"),))).results[0]
    assert_matches_golden(result, GOLDEN["dis_small.mp4"])
    assert result.adjustments == ("scale=80:48:flags=bicubic",)


def test_several_distorted_in_one_run_score_as_they_do_alone(scorer):
    names = ["dis.mp4", "dis.webm", "dis_small.mp4"]
    together = scorer.score(ScoreRequest(REF, tuple(str(MEDIA / n) for n in names)))
    for name, result in zip(names, together.results, strict=True):
        alone = scorer.score(ScoreRequest(REF, (str(MEDIA / name),))).results[0]
        assert result.pooled["vmaf_v0.6.1"].mean == alone.pooled["vmaf_v0.6.1"].mean
        assert result.features.values == alone.features.values


def test_the_feature_vector_comes_from_the_same_pass(scorer):
    result = scorer.score(ScoreRequest(REF, (str(MEDIA / "dis.mp4"),))).results[0]
    values = dict(zip(result.features.names, result.features.values, strict=True))
    assert len(values) == 80
    assert values["psnr_y.mean"] == pytest.approx(sum(result.frames["psnr_y"]) / 8)
    assert set(result.pooled) == {"vmaf_v0.6.1"}


def test_several_models_report_one_key_each(scorer):
    opts = ScoreOptions(models=("vmaf_v0.6.1", "vmaf_v0.6.1neg"))
    result = scorer.score(ScoreRequest(REF, (str(MEDIA / "dis.mp4"),), opts)).results[0]
    assert set(result.pooled) == {"vmaf_v0.6.1", "vmaf_v0.6.1neg"}
    assert result.pooled["vmaf_v0.6.1"].mean == pytest.approx(
        GOLDEN["dis.mp4"]["pooled"]["vmaf"]["mean"], abs=1e-4
    )


def test_subsampling_scores_every_nth_frame(scorer):
    result = scorer.score(
        ScoreRequest(REF, (str(MEDIA / "dis.mp4"),), ScoreOptions(subsample=3))
    ).results[0]
    assert result.frame_nums == (0, 3, 6)
    assert result.frame_count == 8


def test_no_scale_refuses_a_different_size(scorer):
    with pytest.raises(MismatchError, match="--no-scale"):
        scorer.score(ScoreRequest(REF, (str(MEDIA / "dis_small.mp4"),), ScoreOptions(scale=False)))


def test_a_different_frame_rate_is_refused_unless_synced(scorer):
    with pytest.raises(MismatchError, match="--sync fps"):
        scorer.score(ScoreRequest(REF, (str(MEDIA / "dis_30fps.mp4"),)))
    result = scorer.score(
        ScoreRequest(REF, (str(MEDIA / "dis_30fps.mp4"),), ScoreOptions(sync_fps=True))
    ).results[0]
    assert result.frame_count == 8
    assert "fps=24" in result.adjustments


def test_a_different_frame_count_is_refused_unless_shortest(scorer):
    with pytest.raises(MismatchError, match="8 frames.*6"):
        scorer.score(ScoreRequest(REF, (str(MEDIA / "dis_short.mp4"),)))
    result = scorer.score(
        ScoreRequest(REF, (str(MEDIA / "dis_short.mp4"),), shortest=True)
    ).results[0]
    assert result.frame_count == 6
    assert result.scored_frames == 6


def test_a_truncated_file_is_reported_as_not_video(scorer):
    with pytest.raises(NotVideoError, match="corrupt.mp4"):
        scorer.score(ScoreRequest(REF, (str(MEDIA / "corrupt.mp4"),)))


def test_paths_with_filtergraph_special_characters_survive_escaping(scorer, tmp_path, monkeypatch):
    odd = tmp_path / "logs: a,b [1]; it's"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    result = scorer.score(ScoreRequest(REF, (str(MEDIA / "dis.mp4"),))).results[0]
    assert result.pooled["vmaf_v0.6.1"].mean == pytest.approx(
        GOLDEN["dis.mp4"]["pooled"]["vmaf"]["mean"], abs=1e-4
    )
    with pytest.raises(UnknownModelError, match=r"a,b \[1\]; it's/m:1.json"):
        scorer.score(
            ScoreRequest(
                REF, (str(MEDIA / "dis.mp4"),), ScoreOptions(models=(str(odd / "m:1.json"),))
            )
        )


def test_a_cancelled_run_stops_ffmpeg_and_scores_nothing(scorer):
    token = CancelToken()
    token.cancel("user pressed stop")
    with pytest.raises(FfmpegCancelledError, match="user pressed stop"):
        scorer.score(ScoreRequest(REF, (str(MEDIA / "dis.mp4"),)), cancel=token)


def test_ffmpeg_stopped_mid_run_is_terminated_and_reported(scorer, tmp_path):
    import subprocess

    from vmafx.media.ffmpeg import locate

    clip = tmp_path / "long.mp4"
    subprocess.run(
        [
            locate(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=24:duration=60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    token = CancelToken()
    seen = []

    def on_progress(done, total):
        seen.append(done)
        if done > 0:
            token.cancel("stopped by the test")

    with pytest.raises(FfmpegCancelledError, match="stopped by the test"):
        scorer.score(ScoreRequest(str(clip), (str(clip),)), cancel=token, on_progress=on_progress)
    assert seen and seen[-1] < 1440
