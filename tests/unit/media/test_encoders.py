"""Encode argv builders for every encoder family, preset and rate-control mapping, validation,
and the order encoders are tried in. Hardware argv is checked as text only: never run on real
hardware here."""

from __future__ import annotations

import dataclasses

import pytest

from vmafx.core import specs
from vmafx.core.jobs import JobKind
from vmafx.core.specs import parse_spec
from vmafx.errors import UsageError
from vmafx.media.encoder_options import RateControl
from vmafx.media.encoders import (
    ENCODERS,
    EncodeSpec,
    HwDevices,
    candidates,
    choose_encoders,
    encode_argv,
    trial_argv,
)

EVERYTHING = frozenset(ENCODERS)


def spec(**fields) -> EncodeSpec:
    values = {"source": "/media/in.mov", "output": "/out/o.mkv", "codec": "hevc"}
    values.update(fields)
    return EncodeSpec(**values)


def crf(value: float) -> RateControl:
    return RateControl("crf", value)


def after(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def video(argv: list[str]) -> list[str]:
    """The encoder and its options: from -c:v up to the audio options."""
    start = argv.index("-c:v")
    end = next(i for i in range(start, len(argv)) if argv[i] in ("-c:a", "-an"))
    return argv[start:end]


def test_an_encode_reports_progress_overwrites_and_reads_the_source_as_a_whitelisted_file():
    argv = encode_argv("ffmpeg", spec(), "libx265")
    assert argv[:2] == ["ffmpeg", "-hide_banner"]
    assert after(argv, "-progress") == "pipe:1"
    assert "-y" in argv and "-nostdin" in argv
    assert after(argv, "-protocol_whitelist") == "file"
    assert after(argv, "-i") == "file:/media/in.mov"
    assert argv[-1] == "file:/out/o.mkv"
    assert argv.index("-protocol_whitelist") < argv.index("-i")


def test_trim_goes_before_the_input_and_scale_into_a_bicubic_filter():
    argv = encode_argv(
        "ffmpeg", spec(trim_start_s=12.5, trim_duration_s=4, width=1280, height=720), "libx265"
    )
    i = argv.index("-i")
    assert after(argv, "-ss") == "12.500" and argv.index("-ss") < i
    assert after(argv, "-t") == "4.000" and argv.index("-t") < i
    assert after(argv, "-vf") == "scale=1280:720:flags=bicubic"


def test_one_missing_dimension_keeps_the_aspect_ratio():
    argv = encode_argv("ffmpeg", spec(height=540), "libx265")
    assert after(argv, "-vf") == "scale=-2:540:flags=bicubic"


def test_no_trim_no_scale_means_neither_option():
    argv = encode_argv("ffmpeg", spec(), "libx265")
    assert "-ss" not in argv and "-t" not in argv and "-vf" not in argv


@pytest.mark.parametrize(
    ("audio", "expected"),
    [("copy", ["-c:a", "copy"]), ("none", ["-an"]), ("aac", ["-c:a", "aac", "-b:a", "160k"])],
)
def test_audio_is_copied_dropped_or_encoded(audio, expected):
    argv = encode_argv("ffmpeg", spec(audio=audio), "libx265")
    assert argv[-1 - len(expected) : -1] == expected
    assert ("0:a?" in argv) == (audio != "none")


@pytest.mark.parametrize(
    ("codec", "encoder", "expected"),
    [
        ("h264", "libx264", ["-c:v", "libx264", "-preset", "slow", "-crf", "23"]),
        ("hevc", "libx265", ["-c:v", "libx265", "-preset", "slow", "-crf", "23"]),
        ("av1", "libsvtav1", ["-c:v", "libsvtav1", "-preset", "6", "-crf", "23"]),
        ("av1", "libaom-av1", ["-c:v", "libaom-av1", "-cpu-used", "3", "-crf", "23", "-b:v", "0"]),
        (
            "vp9",
            "libvpx-vp9",
            ["-c:v", "libvpx-vp9", "-cpu-used", "1", "-crf", "23", "-b:v", "0", "-row-mt", "1"],
        ),
    ],
)
def test_software_encoders_get_their_own_preset_scale_and_crf(codec, encoder, expected):
    argv = encode_argv("ffmpeg", spec(codec=codec, preset="slow", rate_control=crf(23)), encoder)
    assert video(argv) == expected


@pytest.mark.parametrize(
    ("preset", "nvenc", "svt", "qsv", "amf"),
    [
        ("ultrafast", "p1", "13", "veryfast", "speed"),
        ("fast", "p2", "9", "fast", "balanced"),
        ("medium", "p4", "8", "medium", "balanced"),
        ("veryslow", "p7", "2", "veryslow", "quality"),
        ("p5", "p5", "6", "slow", "quality"),
        ("balanced", "p4", "8", "medium", "balanced"),
    ],
)
def test_presets_map_between_families(preset, nvenc, svt, qsv, amf):
    def option(encoder: str, name: str) -> str:
        return after(encode_argv("ffmpeg", spec(codec="av1", preset=preset), encoder), name)

    assert option("av1_nvenc", "-preset") == nvenc
    assert option("libsvtav1", "-preset") == svt
    assert option("av1_qsv", "-preset") == qsv
    assert option("av1_amf", "-quality") == amf


def test_a_numeric_av1_preset_is_svt_native_and_translated_for_the_others():
    s = spec(codec="av1", preset="4")
    assert after(encode_argv("ffmpeg", s, "libsvtav1"), "-preset") == "4"
    assert after(encode_argv("ffmpeg", s, "libaom-av1"), "-cpu-used") == "2"
    assert after(encode_argv("ffmpeg", s, "av1_nvenc"), "-preset") == "p6"


def test_vaapi_has_no_preset_option_but_still_validates_it():
    argv = encode_argv("ffmpeg", spec(preset="slow"), "hevc_vaapi")
    assert "-preset" not in argv and "-quality" not in argv
    with pytest.raises(UsageError, match="preset 'turbo' is not one vmafx knows for hevc"):
        spec(preset="turbo", hw="require", encoder="hevc_vaapi")


def test_nvenc_uses_vbr_with_cq_for_quality_and_constqp_for_qp():
    quality = video(encode_argv("ffmpeg", spec(rate_control=RateControl("cq", 27.5)), "hevc_nvenc"))
    assert quality == [
        "-c:v",
        "hevc_nvenc",
        "-rc",
        "vbr",
        "-cq",
        "27.5",
        "-b:v",
        "0",
        "-pix_fmt",
        "yuv420p",
    ]
    fixed = video(encode_argv("ffmpeg", spec(rate_control=RateControl("qp", 30)), "hevc_nvenc"))
    assert fixed[2:6] == ["-rc", "constqp", "-qp", "30"]


def test_nvenc_can_be_sent_to_one_cuda_device():
    argv = encode_argv("ffmpeg", spec(), "hevc_nvenc", devices=HwDevices(cuda_device=1))
    assert after(argv, "-gpu") == "1"


def test_qsv_initialises_its_device_over_vaapi_before_the_input_and_uploads_frames():
    argv = encode_argv("ffmpeg", spec(width=1280, height=720, rate_control=crf(24)), "hevc_qsv")
    i = argv.index("-i")
    assert argv[argv.index("-init_hw_device") : i][:6] == [
        "-init_hw_device", "vaapi=va:/dev/dri/renderD128",
        "-init_hw_device", "qsv=hw@va",
        "-filter_hw_device", "hw",
    ]  # fmt: skip
    assert after(argv, "-vf") == (
        "scale=1280:720:flags=bicubic,format=nv12,hwupload=extra_hw_frames=64,format=qsv"
    )
    assert after(argv, "-global_quality") == "24"
    assert "-pix_fmt" not in argv


def test_qsv_qp_is_a_constant_qp_for_every_frame_type():
    argv = encode_argv("ffmpeg", spec(rate_control=RateControl("qp", 28)), "hevc_qsv")
    assert video(argv)[2:] == [
        "-q:v", "28", "-i_qfactor", "1.0", "-i_qoffset", "0", "-b_qfactor", "1.0", "-b_qoffset", "0",
    ]  # fmt: skip


def test_amf_uses_its_quality_preset_and_constant_qp_per_frame_type():
    argv = encode_argv(
        "ffmpeg", spec(codec="h264", preset="fast", rate_control=crf(22)), "h264_amf"
    )
    assert video(argv) == [
        "-c:v", "h264_amf", "-quality", "balanced", "-rc", "cqp",
        "-qp_i", "22", "-qp_p", "22", "-qp_b", "22", "-pix_fmt", "nv12",
    ]  # fmt: skip


def test_vaapi_opens_the_render_node_and_uploads_nv12():
    argv = encode_argv(
        "ffmpeg", spec(rate_control=crf(25)), "hevc_vaapi",
        devices=HwDevices(render_device="/dev/dri/renderD129"),
    )  # fmt: skip
    assert after(argv, "-vaapi_device") == "/dev/dri/renderD129"
    assert argv.index("-vaapi_device") < argv.index("-i")
    assert after(argv, "-vf") == "format=nv12,hwupload"
    assert video(argv)[2:] == ["-rc_mode", "CQP", "-qp", "25"]


def test_av1_quality_on_a_q_index_encoder_is_scaled_from_the_0_63_scale():
    s = spec(codec="av1", rate_control=crf(30))
    assert after(encode_argv("ffmpeg", s, "av1_vaapi"), "-global_quality") == "120"
    assert after(encode_argv("ffmpeg", s, "av1_amf"), "-qp_i") == "120"
    assert after(encode_argv("ffmpeg", s, "av1_nvenc"), "-cq") == "30"


@pytest.mark.parametrize(
    ("encoder", "expected"),
    [
        ("libx265", ["-b:v", "4500k"]),
        ("hevc_nvenc", ["-rc", "vbr", "-b:v", "4500k"]),
        ("hevc_qsv", ["-b:v", "4500k", "-maxrate", "9000k"]),
        ("hevc_amf", ["-rc", "vbr_peak", "-b:v", "4500k", "-maxrate", "9000k"]),
        ("hevc_vaapi", ["-rc_mode", "VBR", "-b:v", "4500k", "-maxrate", "9000k"]),
    ],
)
def test_bitrate_is_in_kbit_per_second_for_every_family(encoder, expected):
    argv = encode_argv("ffmpeg", spec(rate_control=RateControl("bitrate", 4500)), encoder)
    joined = " ".join(argv)
    assert " ".join(expected) in joined


def test_ten_bit_is_p010_for_hardware_and_kept_for_software():
    s = spec(pix_fmt="yuv420p10le")
    assert after(encode_argv("ffmpeg", s, "libx265"), "-pix_fmt") == "yuv420p10le"
    assert after(encode_argv("ffmpeg", s, "hevc_nvenc"), "-pix_fmt") == "p010le"
    assert "format=p010le,hwupload" in after(encode_argv("ffmpeg", s, "hevc_qsv"), "-vf")


def test_ten_bit_h264_is_refused_on_qsv_so_it_is_not_a_candidate():
    s = spec(codec="h264", pix_fmt="yuv420p10le")
    with pytest.raises(UsageError, match="h264_qsv cannot encode the pixel format 'yuv420p10le'"):
        encode_argv("ffmpeg", s, "h264_qsv")
    assert "h264_qsv" not in choose_encoders(s, EVERYTHING)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"codec": "h264", "rate_control": crf(60)},
            r"crf 60 is outside the range libx264 accepts \(0–51\)",
        ),
        (
            {"codec": "av1", "rate_control": crf(70)},
            r"outside the range libsvtav1 accepts \(1–63\)",
        ),
        (
            {"codec": "av1", "rate_control": crf(30.5)},
            "libsvtav1 takes a whole-number crf, got 30.5",
        ),
        ({"rate_control": RateControl("bitrate", 8)}, r"bitrate 8 is outside .*16–1000000"),
        ({"preset": "ludicrous"}, "preset 'ludicrous' is not one vmafx knows for hevc"),
        ({"preset": "8"}, "preset '8' is not one vmafx knows for hevc"),
        ({"codec": "av1", "preset": "14"}, "outside the av1 numeric preset range 0–13"),
        ({"codec": "h264", "pix_fmt": "yuv444p12le"}, "libx264 cannot encode the pixel format"),
        ({"codec": "av1", "encoder": "libsvtav1", "pix_fmt": "yuv444p"}, "libsvtav1 cannot encode"),
        ({"pix_fmt": "rgb48be"}, "pixel format 'rgb48be' is not one vmafx encodes"),
        ({"width": 1279, "height": 720}, "width 1279 is odd"),
        ({"width": 8}, "width 8 must be a whole number of pixels in 16–16384"),
        ({"trim_start_s": -1.0}, "trim start -1.0"),
        ({"trim_duration_s": 0.0}, "trim duration 0.0"),
        ({"codec": "mpeg2"}, "codec 'mpeg2' must be one of"),
        ({"hw": "maybe"}, "hw 'maybe' must be one of prefer, require, never"),
        ({"audio": "opus"}, "audio 'opus' must be one of"),
        ({"source": "concat:/a.mp4|/etc/passwd"}, "uses the concat: scheme"),
        ({"source": "subfile:,,start,0,end,0,,:/etc/passwd"}, "uses the subfile: scheme"),
        ({"output": "rtmp://x/y"}, "uses the rtmp: scheme"),
        ({"output": "-"}, "must be a path"),
        ({"source": "/in\n-y.mp4"}, "control character"),
        ({"encoder": "libx264"}, "encoder libx264 makes h264, but the codec is hevc"),
        ({"encoder": "hevc_nvenc", "hw": "never"}, "hardware encoder, but hw is 'never'"),
        ({"encoder": "libx265", "hw": "require"}, "software encoder, but hw is 'require'"),
        ({"encoder": "hevc_mediacodec"}, "encoder 'hevc_mediacodec' is not one vmafx can drive"),
    ],
)
def test_bad_values_are_usage_errors_that_say_what_to_do(fields, message):
    with pytest.raises(UsageError, match=message):
        spec(**fields)


def test_odd_widths_are_fine_for_444():
    assert spec(width=1279, height=719, pix_fmt="yuv444p").width == 1279


def test_a_path_that_looks_like_an_option_or_protocol_stays_a_local_file():
    argv = encode_argv("ffmpeg", spec(source="-i.mov", output="./concat:x.mkv"), "libx265")
    assert after(argv, "-i") == "file:-i.mov"
    assert argv[-1] == "file:./concat:x.mkv"


def test_http_sources_get_the_network_whitelist_and_no_file_access():
    argv = encode_argv("ffmpeg", spec(source="https://cdn.example/in.mp4"), "libx265")
    assert after(argv, "-protocol_whitelist") == "http,https,tcp,tls,crypto"
    assert after(argv, "-i") == "https://cdn.example/in.mp4"


def test_av1_crf_0_is_not_svt_but_libaom_still_takes_it():
    s = spec(codec="av1", rate_control=crf(0))
    assert choose_encoders(s, EVERYTHING)[-1:] == ["libaom-av1"]
    assert "libsvtav1" not in choose_encoders(s, EVERYTHING)


def test_prefer_tries_verified_hardware_first_then_software():
    s = spec(hw="prefer")
    assert choose_encoders(s, {"libx265", "hevc_vaapi", "hevc_nvenc"}) == [
        "hevc_nvenc", "hevc_vaapi", "libx265",
    ]  # fmt: skip


def test_unverified_hardware_is_never_offered():
    assert choose_encoders(spec(), {"libx265"}) == ["libx265"]


def test_require_offers_hardware_only_and_may_offer_nothing():
    assert choose_encoders(spec(hw="require"), {"libx265", "hevc_qsv"}) == ["hevc_qsv"]
    assert choose_encoders(spec(hw="require"), {"libx265"}) == []


def test_never_offers_software_only_and_av1_tries_svt_before_libaom():
    s = spec(codec="av1", hw="never")
    assert choose_encoders(s, EVERYTHING) == ["libsvtav1", "libaom-av1"]


def test_a_pinned_hardware_encoder_falls_back_to_software_only_when_preferred():
    assert choose_encoders(spec(encoder="hevc_nvenc"), EVERYTHING) == ["hevc_nvenc", "libx265"]
    pinned = spec(encoder="hevc_nvenc", hw="require")
    assert choose_encoders(pinned, EVERYTHING) == ["hevc_nvenc"]
    assert choose_encoders(spec(encoder="libx265"), EVERYTHING) == ["libx265"]


def test_an_encoder_that_cannot_take_the_values_is_left_out():
    s = spec(codec="av1", rate_control=RateControl("cq", 55))  # QSV's quality scale stops at 51
    assert choose_encoders(s, EVERYTHING) == [
        "av1_nvenc", "av1_amf", "av1_vaapi", "libsvtav1", "libaom-av1",
    ]  # fmt: skip


def test_an_encoder_the_spec_does_not_allow_is_refused_by_the_builder():
    with pytest.raises(UsageError, match="encoder hevc_nvenc cannot run this job"):
        encode_argv("ffmpeg", spec(hw="never"), "hevc_nvenc")
    assert candidates(spec(hw="never")) == ["libx265"]


def test_the_trial_encodes_one_256x256_frame_to_nowhere_through_the_real_device_chain():
    argv = trial_argv("/opt/ffmpeg", "h264_qsv")
    assert argv[0] == "/opt/ffmpeg"
    assert after(argv, "-i") == "testsrc2=size=256x256:rate=25"
    assert after(argv, "-frames:v") == "1"
    assert argv[-3:] == ["-f", "null", "-"]
    assert "qsv=hw@va" in argv and "-progress" not in argv
    assert after(argv, "-global_quality") == "30"


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_every_encoder_has_a_trial(encoder):
    argv = trial_argv("ffmpeg", encoder)
    assert after(argv, "-c:v") == encoder


def test_a_validated_job_spec_becomes_an_encode_spec():
    job_spec = parse_spec(
        JobKind.ENCODE,
        {
            "source": "/m/in.mov",
            "output": "/m/out.mp4",
            "codec": "av1",
            "rate_control": {"mode": "crf", "value": 32},
            "preset": "fast",
            "resolution": {"width": 1280, "height": 720},
            "trim": {"start_s": 2, "duration_s": 5},
        },
    )
    assert isinstance(job_spec, specs.EncodeSpec)
    s = EncodeSpec.from_job_spec(job_spec)
    assert (s.codec, s.hw, s.rate_control, s.preset) == ("av1", "prefer", crf(32), "fast")
    assert (s.width, s.height, s.trim_start_s, s.trim_duration_s, s.audio) == (
        1280,
        720,
        2,
        5,
        "copy",
    )


def test_devices_are_validated():
    with pytest.raises(UsageError, match="not a DRM device path"):
        HwDevices(render_device="/etc/passwd")
    with pytest.raises(UsageError, match="CUDA device 99"):
        HwDevices(cuda_device=99)


def test_rate_control_refuses_unknown_modes_and_negative_values():
    with pytest.raises(UsageError, match="mode 'vbr'"):
        RateControl("vbr", 1)
    with pytest.raises(UsageError, match="finite number of 0 or more"):
        RateControl("crf", -1)


def test_values_no_hardware_encoder_takes_are_refused_when_hardware_is_required():
    with pytest.raises(UsageError, match="outside the range"):
        spec(hw="require", rate_control=crf(99))
    assert spec(hw="require", rate_control=crf(51)).hw == "require"


@pytest.mark.parametrize("number", [str(n) for n in range(14)])
def test_every_svt_av1_preset_number_reaches_svt_unchanged(number):
    argv = encode_argv("ffmpeg", spec(codec="av1", preset=number), "libsvtav1")
    assert after(argv, "-preset") == number


def test_a_vp9_preset_number_is_libvpx_cpu_used():
    assert (
        after(encode_argv("ffmpeg", spec(codec="vp9", preset="7"), "libvpx-vp9"), "-cpu-used")
        == "7"
    )
    with pytest.raises(UsageError, match="outside the vp9 numeric preset range 0–8"):
        spec(codec="vp9", preset="9")


def test_a_job_can_ask_for_the_pixel_format_the_encoder_takes():
    """The one schema holds pix_fmt, so the 10-bit path runs from a job, not only from code."""
    job_spec = specs.EncodeSpec.from_json(
        {"source": "/m/in.mov", "output": "/m/out.mp4", "codec": "hevc", "pix_fmt": "yuv420p10le"}
    )
    s = EncodeSpec.from_job_spec(job_spec)
    assert after(encode_argv("ffmpeg", s, "libx265"), "-pix_fmt") == "yuv420p10le"
    with pytest.raises(UsageError, match="pixel format 'rgb48be' is not one vmafx encodes"):
        EncodeSpec.from_job_spec(dataclasses.replace(job_spec, pix_fmt="rgb48be"))


def test_an_object_source_is_read_by_its_signed_url_with_only_its_protocols():
    signed = "http://127.0.0.1:9000/media/in.mp4?X-Amz-Signature=abc"
    spec = EncodeSpec(source="s3://media/in.mp4", output="/out/o.mp4", codec="h264")
    with pytest.raises(UsageError, match="s3: scheme"):  # nothing signed: ffmpeg cannot read it
        encode_argv("ffmpeg", spec, "libx264")
    signed_spec = dataclasses.replace(spec, source_signed=signed)
    argv = encode_argv("ffmpeg", signed_spec, "libx264")
    assert argv[argv.index("-i") + 1] == signed
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,tcp"
    assert "X-Amz-Signature" not in repr(signed_spec) and "s3://media/in.mp4" in repr(signed_spec)
    with pytest.raises(UsageError, match="http"):
        dataclasses.replace(spec, source_signed="file:/etc/passwd")
