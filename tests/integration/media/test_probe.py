"""Probing real files with PyAV (no ffprobe in the imageio-ffmpeg build)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.conftest import MEDIA

from vmafx.core.media import RawFormat
from vmafx.errors import InputNotFoundError, NotVideoError, RawVideoError
from vmafx.media.probe import probe

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("ref.y4m", "rawvideo", "yuv4mpegpipe"),
        ("dis.mp4", "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("dis.mkv", "h264", "matroska,webm"),
        ("dis.mov", "h264", "mov,mp4,m4a,3gp,3g2,mj2"),
        ("dis.webm", "vp9", "matroska,webm"),
        ("dis.ivf", "vp9", "ivf"),
    ],
)
def test_every_container_gives_geometry_format_rate_and_count(name, codec, container):
    info = probe(str(MEDIA / name))
    assert (info.width, info.height, info.pix_fmt, info.bit_depth) == (80, 48, "yuv420p", 8)
    assert info.fps == Fraction(24)
    assert info.frame_count == 8
    assert (info.codec, info.container) == (codec, container)
    assert not info.variable_frame_rate
    assert info.duration_s == pytest.approx(8 / 24, abs=0.02)


def test_a_variable_frame_rate_is_detected():
    assert probe(str(MEDIA / "vfr.mkv")).variable_frame_rate


def test_raw_yuv_is_measured_from_its_size():
    info = probe(str(MEDIA / "ref_10bit.yuv"), RawFormat(80, 48, "yuv420p10le", Fraction(24)))
    assert (info.frame_count, info.bit_depth, info.container) == (8, 10, "rawvideo")


def test_missing_corrupt_and_non_video_inputs_are_named(tmp_path):
    with pytest.raises(InputNotFoundError, match="nope.mp4"):
        probe(str(tmp_path / "nope.mp4"))
    with pytest.raises(NotVideoError, match="golden.json"):
        probe(str(MEDIA / "golden.json"))
    with pytest.raises(InputNotFoundError, match="folder"):
        probe(str(tmp_path))
    with pytest.raises(RawVideoError, match="no size"):
        probe(str(MEDIA / "ref_10bit.yuv"))
