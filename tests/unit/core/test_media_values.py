from fractions import Fraction

import pytest

from vmafx.core.media import RAW_PIX_FMTS, RawFormat, bit_depth_of, parse_fps
from vmafx.errors import RawVideoError


@pytest.mark.parametrize(
    ("pix_fmt", "size"),
    [
        ("yuv420p", 80 * 48 * 3 // 2),
        ("yuv422p", 80 * 48 * 2),
        ("yuv444p", 80 * 48 * 3),
        ("yuv420p10le", 80 * 48 * 3),
        ("yuv422p12le", 80 * 48 * 4),
        ("yuv444p16le", 80 * 48 * 6),
    ],
)
def test_raw_frame_bytes_follow_the_planar_layout(pix_fmt, size):
    assert RawFormat(80, 48, pix_fmt).frame_bytes == size


def test_raw_frame_bytes_round_chroma_up_for_odd_sizes():
    assert RawFormat(3, 3, "yuv420p").frame_bytes == 9 + 2 * 4


def test_every_raw_format_family_is_offered_at_four_depths():
    assert len(RAW_PIX_FMTS) == 12
    assert {RawFormat(2, 2, f).bit_depth for f in RAW_PIX_FMTS} == {8, 10, 12, 16}


def test_an_unknown_raw_pixel_format_is_refused_with_the_list():
    with pytest.raises(RawVideoError, match="yuv420p10le"):
        RawFormat(2, 2, "rgb24")


def test_a_zero_size_is_refused():
    with pytest.raises(RawVideoError, match="0x2"):
        RawFormat(0, 2)


@pytest.mark.parametrize(
    ("text", "value"),
    [("24", 24), ("30000/1001", Fraction(30000, 1001)), ("23.976", Fraction("23.976"))],
)
def test_frame_rates_parse_as_fractions(text, value):
    assert parse_fps(text) == value


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1/0"])
def test_bad_frame_rates_are_refused(text):
    with pytest.raises(RawVideoError):
        parse_fps(text)


@pytest.mark.parametrize(
    ("pix_fmt", "depth"),
    [("yuv420p", 8), ("yuv420p10le", 10), ("gray12le", 12), ("yuv444p16be", 16), ("nv12", 8)],
)
def test_bit_depth_is_read_from_the_pixel_format_name(pix_fmt, depth):
    assert bit_depth_of(pix_fmt) == depth
