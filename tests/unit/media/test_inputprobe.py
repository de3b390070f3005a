"""Reading ffmpeg's description of its inputs (the one probe run of `vmafx score`)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vmafx.media.inputprobe import exact_rate, parse_probe, probe_command, video_info

DUMP = """ffmpeg version n9.0.2-17 Copyright (c) 2000-2026 the FFmpeg developers
  configuration: --enable-gpl --enable-libvmaf --enable-libx264
Input #0, yuv4mpegpipe, from 'file:/clips/ref.y4m':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 23041 kb/s
  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 320x240, SAR 1:1 DAR 4:3, 25 fps, 25 tbr, 25 tbn
Input #1, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/clips/dis.mp4':
  Metadata:
    comment         : x
                    :   Stream #1:0: Video: h264 (High), yuv420p(tv, progressive), 64x64, 30 fps
  Duration: 00:01:01.50, start: 0.000000, bitrate: 141 kb/s
  Stream #1:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p10le(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 135 kb/s, 23.98 fps, 23.98 tbr, 24k tbn (default)
At least one output file must be specified
"""


def test_the_banner_gives_the_version_and_libvmaf():
    version, has_libvmaf, _ = parse_probe(DUMP)
    assert (version, has_libvmaf) == ("n9.0.2-17", True)
    assert parse_probe(DUMP.replace("--enable-libvmaf ", ""))[1] is False


def test_each_input_gets_its_size_pixel_format_rate_and_duration():
    _, _, seen = parse_probe(DUMP)
    ref = video_info("/clips/ref.y4m", seen[0])
    dis = video_info("/clips/dis.mp4", seen[1])
    assert ref is not None and dis is not None
    assert (ref.width, ref.height, ref.pix_fmt, ref.fps, ref.codec) == (
        320, 240, "yuv420p", Fraction(25), "rawvideo"
    )  # fmt: skip
    assert ref.duration_s == 2.0 and ref.container == "yuv4mpegpipe"
    assert (dis.width, dis.height, dis.pix_fmt, dis.bit_depth) == (1920, 1080, "yuv420p10le", 10)
    assert dis.fps == Fraction(24000, 1001) and dis.duration_s == 61.5
    assert ref.frame_count is None  # the scoring run counts the frames


def test_a_metadata_tag_cannot_pose_as_a_stream():
    """Metadata is printed further in than ffmpeg's own lines, so only the real stream counts."""
    _, _, seen = parse_probe(DUMP)
    assert seen[1].stream is not None and "1920x1080" in seen[1].stream


@pytest.mark.parametrize(
    ("text", "kilo", "rate"),
    [
        ("25", "", Fraction(25)),
        ("29.97", "", Fraction(30000, 1001)),
        ("59.94", "", Fraction(60000, 1001)),
        ("12.5", "", Fraction(25, 2)),
        ("1", "k", Fraction(1000)),
    ],
)
def test_rounded_rates_come_back_exact(text: str, kilo: str, rate: Fraction):
    assert exact_rate(text, kilo) == rate


def test_an_unreadable_stream_line_is_left_to_the_pyav_probe():
    _, _, seen = parse_probe(DUMP.replace("1920x1080 [SAR 1:1 DAR 16:9], ", ""))
    assert video_info("/clips/dis.mp4", seen[1]) is None


def test_every_input_is_opened_under_the_input_policy_whitelists():
    argv = probe_command("ffmpeg", ["/clips/a.mp4", "-x.mkv"])
    assert argv[:2] == ["ffmpeg", "-nostdin"]
    assert argv.count("-protocol_whitelist") == 2 and argv.count("-format_whitelist") == 2
    assert argv[argv.index("-i") + 1] == "file:/clips/a.mp4"
    assert argv[-1] == "file:-x.mkv"
