import json

import pytest

from vmafx.errors import ScoreLogError, UnknownFeatureError, UnknownModelError
from vmafx.media.vmaflog import decoded_frame_counts, parse_vmaf_log, raise_for_libvmaf_init


def log(frames, pooled=None, version="86da14d"):
    return json.dumps(
        {
            "version": version,
            "fps": 100.0,
            "frames": [{"frameNum": n, "metrics": m} for n, m in frames],
            "pooled_metrics": pooled or {},
            "aggregate_metrics": {},
        }
    )


def test_parser_returns_series_per_metric_and_libvmafs_pooled_figures():
    text = log(
        [(0, {"vmaf": 90.0, "psnr_y": 40.0}), (5, {"vmaf": 80.0, "psnr_y": 30.0})],
        {"vmaf": {"min": 80.0, "max": 90.0, "mean": 85.0, "harmonic_mean": 84.9}},
    )
    parsed = parse_vmaf_log(text)
    assert parsed.version == "86da14d"
    assert parsed.frame_nums == (0, 5)
    assert parsed.frames == {"vmaf": [90.0, 80.0], "psnr_y": [40.0, 30.0]}
    assert parsed.pooled["vmaf"]["harmonic_mean"] == 84.9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"frames": []}), "no scored frames"),
        (json.dumps([1, 2]), "no scored frames"),
        (log([(0, {"vmaf": "x"})]), "non-number vmaf at frame 0"),
        (log([(0, {"vmaf": 1.0}), (1, {"vmaf": 2.0, "psnr_y": 3.0})]), "different frame counts"),
    ],
)
def test_malformed_logs_are_errors_never_zeros(text, match):
    with pytest.raises(ScoreLogError, match=match):
        parse_vmaf_log(text, where="dis.mp4")


def test_nan_in_a_log_is_an_error():
    text = '{"frames": [{"frameNum": 0, "metrics": {"vmaf": NaN}}]}'
    with pytest.raises(ScoreLogError, match="NaN"):
        parse_vmaf_log(text)


def test_decoded_frame_counts_come_from_ffmpegs_verbose_summary():
    stderr = (
        "[in#0/mov @ 0x1]   Input stream #0:0 (video): 24 packets read (80922 bytes); 24 frames decoded; 0 decode errors;\n"
        "[in#1/mov @ 0x2]   Input stream #1:0 (video): 48 packets read (21059 bytes); 48 frames decoded; 0 decode errors;\n"
    )
    assert decoded_frame_counts(stderr) == {0: 24, 1: 48}


def test_an_unknown_builtin_model_names_the_model_and_the_choices():
    with pytest.raises(UnknownModelError, match="'nope'.*vmaf_v0.6.1"):
        raise_for_libvmaf_init(
            "[Parsed_libvmaf_0 @ 0x5] could not load libvmaf model with version: nope\n"
        )


def test_an_unreadable_model_file_names_the_path():
    with pytest.raises(UnknownModelError, match="/m.json"):
        raise_for_libvmaf_init("could not load libvmaf model with path: /m.json\n")


def test_an_unknown_feature_names_the_feature():
    with pytest.raises(UnknownFeatureError, match="'nope'"):
        raise_for_libvmaf_init("[Parsed_libvmaf_0 @ 0x5] problem during vmaf_use_feature: nope\n")


def test_other_stderr_raises_nothing():
    raise_for_libvmaf_init("Invalid data found when processing input\n")
