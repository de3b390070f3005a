"""Thumbnail and filmstrip argv: seeking, scaling, tiling, image format, safe URLs."""

from __future__ import annotations

import pytest

from vmafx.errors import UsageError
from vmafx.media.images import filmstrip_argv, filmstrip_step, image_args, thumbnail_argv


def test_a_thumbnail_seeks_before_the_input_and_writes_one_scaled_frame():
    argv = thumbnail_argv("ffmpeg", "/m/a.mov", "/t/a.jpg", at_s=12.5, width=320)
    assert argv[argv.index("-ss") + 1] == "12.500"
    assert argv.index("-ss") < argv.index("-i")
    assert argv[argv.index("-i") + 1] == "file:/m/a.mov"
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-frames:v") + 1] == "1"
    assert argv[argv.index("-vf") + 1] == "scale=320:-2:flags=bicubic"
    assert argv[-1] == "file:/t/a.jpg"


def test_a_thumbnail_without_width_keeps_the_source_size():
    assert "-vf" not in thumbnail_argv("ffmpeg", "/m/a.mov", "/t/a.png")


def test_a_filmstrip_takes_evenly_spaced_frames_into_one_tile_row():
    argv = filmstrip_argv("ffmpeg", "/m/a.mov", "/t/s.png", count=10, frame_count=250, width=160)
    chain = argv[argv.index("-vf") + 1]
    assert chain == "select=not(mod(n\\,25)),scale=160:-2:flags=bicubic,tile=10x1"
    assert "-progress" in argv


def test_a_short_source_gives_every_frame_to_the_filmstrip():
    assert filmstrip_step(4, 10) == 1


@pytest.mark.parametrize(
    ("name", "codec"), [("a.jpg", "mjpeg"), ("a.JPEG", "mjpeg"), ("a.png", "png")]
)
def test_the_image_format_follows_the_extension(name, codec):
    args = image_args(name)
    assert args[args.index("-c:v") + 1] == codec


def test_an_unknown_image_extension_is_refused():
    with pytest.raises(UsageError, match=r"must end in \.jpg, \.jpeg or \.png"):
        image_args("/t/a.gif")


def test_a_source_url_scheme_other_than_http_is_refused():
    with pytest.raises(UsageError, match="concat: scheme"):
        thumbnail_argv("ffmpeg", "concat:/a|/b", "/t/a.jpg")
