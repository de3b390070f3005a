"""One clip: a score report becomes named columns; any error becomes a failure, never a raise."""

from __future__ import annotations

import dataclasses

import pytest
from tests.conftest import MEDIA
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.core.features import NAMES_V1, SCHEMA_V1, FeatureVector
from vmafx.core.pooling import pool
from vmafx.core.scores import ScoreReport, ScoreResult
from vmafx.corpus.clips import (
    ClipFailed,
    ClipJob,
    ClipScored,
    ClipSettings,
    no_reference_meaningful,
    reserved_columns,
    score_clip,
)
from vmafx.errors import MismatchError, UnavailableError, UsageError
from vmafx.media.graph import ScoreOptions

DIS = str(MEDIA / "dis.mp4")
REF = str(MEDIA / "ref.y4m")


@dataclasses.dataclass
class FakeScorer:
    error: BaseException | None = None
    requests: list = dataclasses.field(default_factory=list)

    def score(self, request, *, on_progress=None, cancel=None):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        features = FeatureVector(SCHEMA_V1, NAMES_V1, tuple(float(i) for i in range(80)))
        result = ScoreResult(
            distorted=request.distorted[0],
            frame_count=8,
            scored_frames=4,
            pooled={"vmaf": pool([80.0, 90.0]), "psnr_y": pool([30.0, 40.0])},
            frames={},
            frame_nums=(0, 2),
            features=features,
        )
        return ScoreReport(request.reference, (result,), {"ffmpeg": "n9", "libvmaf": "v3"})


def test_a_scored_clip_becomes_geometry_pooled_metrics_features_and_versions():
    outcome = score_clip(ClipJob("a", DIS, REF), ClipSettings(), FakeScorer())
    assert isinstance(outcome, ClipScored)
    values = outcome.values
    assert (values["width"], values["height"], values["fps"]) == (80, 48, 24.0)
    assert (values["frame_count"], values["scored_frames"]) == (8, 4)
    assert values["vmaf_mean"] == 85.0 and values["psnr_y_max"] == 40.0
    assert [values[n] for n in NAMES_V1] == [float(i) for i in range(80)]
    assert (values["ffmpeg_version"], values["libvmaf_version"]) == ("n9", "v3")


def test_a_no_reference_clip_is_scored_against_itself():
    scorer = FakeScorer()
    score_clip(ClipJob("a", DIS, None), ClipSettings(), scorer)
    assert scorer.requests[0].reference == DIS
    assert scorer.requests[0].distorted == (DIS,)


def test_a_scoring_error_becomes_a_failure_with_its_type_message_and_exit_code():
    scorer = FakeScorer(MismatchError("frame counts differ", hint="pass --sync shortest"))
    outcome = score_clip(ClipJob("a", DIS, REF), ClipSettings(), scorer)
    assert outcome == ClipFailed(
        "a", "MismatchError", "frame counts differ pass --sync shortest", 6, outcome.elapsed_s
    )


def test_an_unexpected_error_is_isolated_too():
    outcome = score_clip(ClipJob("a", DIS, REF), ClipSettings(), FakeScorer(RuntimeError("boom")))
    assert isinstance(outcome, ClipFailed)
    assert (outcome.error_type, outcome.exit_code) == ("RuntimeError", 1)


def test_a_clip_longer_than_max_frames_fails_without_being_scored():
    scorer = FakeScorer()
    outcome = score_clip(ClipJob("a", DIS, REF), ClipSettings(max_frames=5), scorer)
    assert isinstance(outcome, ClipFailed)
    assert "8 frames, more than the --max-frames limit of 5" in outcome.message
    assert scorer.requests == []


def test_a_missing_clip_fails_with_the_input_error():
    outcome = score_clip(ClipJob("a", "/nope.mp4", REF), ClipSettings(), FakeScorer())
    assert isinstance(outcome, ClipFailed) and outcome.exit_code == 3


def test_no_reference_rows_keep_only_geometry_and_reference_only_features_as_meaningful():
    columns = ["width", "fps", "vmaf_mean", "psnr_y_mean", *NAMES_V1, "cambi_mean"]
    meaningful = no_reference_meaningful(columns)
    assert "vmaf_mean" not in meaningful and "psnr_y.mean" not in meaningful
    assert {"width", "fps", "integer_motion2.p95", "cambi_mean"} <= set(meaningful)
    assert "VMAF_integer_feature_motion_sad_score.mean" in meaningful


def test_reserved_columns_include_each_models_pooled_columns():
    reserved = reserved_columns(ScoreOptions(models=("vmaf_v0.6.1", "vmaf_v0.6.1neg")))
    assert {"vmaf_v0.6.1_mean", "vmaf_v0.6.1neg_p95", "width", *NAMES_V1} <= reserved


def test_threads_and_guards_may_change_between_a_run_and_its_resumption_but_options_not():
    base = ClipSettings(options=ScoreOptions(threads=1))
    assert base.fingerprint() == ClipSettings(ScoreOptions(threads=8), max_frames=9).fingerprint()
    assert base.fingerprint() != ClipSettings(ScoreOptions(threads=1, subsample=2)).fingerprint()


def test_farm_mode_refuses_options_a_score_job_cannot_express_before_reading_anything():
    result = CliRunner().invoke(
        app,
        ["corpus", "score", "m.csv", "--out", "f.parquet", "--controller", "farm:9090",
         "--sync", "shortest"],
    )  # fmt: skip
    assert isinstance(result.exception, UsageError)
    assert "--sync shortest" in str(result.exception)


def test_farm_mode_with_no_controller_answering_says_which_address_was_tried(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,distorted,reference\na,{DIS},{REF}\n")
    out = tmp_path / "f.parquet"
    args = ["corpus", "score", str(manifest), "--out", str(out), "--controller", "127.0.0.1:1"]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, UnavailableError)
    assert "no working controller answered at 127.0.0.1:1" in str(result.exception)


@pytest.mark.parametrize("flag", ["--model", "--feature", "--subsample", "--no-scale", "--sync"])
def test_corpus_score_offers_the_scoring_options_of_vmafx_score(flag):
    corpus = CliRunner().invoke(app, ["corpus", "score", "--help"], env={"COLUMNS": "200"})
    single = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    assert flag in corpus.output and flag in single.output
