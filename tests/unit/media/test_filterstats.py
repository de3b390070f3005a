"""Reading the stats files of ffmpeg's own psnr and ssim filters."""

from __future__ import annotations

import pytest

from vmafx.errors import ScoreLogError
from vmafx.media.filterstats import PSNR_IDENTICAL, parse_filter_stats

PSNR = (
    "n:1 mse_avg:8.49 mse_y:8.90 mse_u:7.81 mse_v:7.51 psnr_avg:38.84 psnr_y:38.64 psnr_u:39.20 "
    "psnr_v:39.37 \n"
    "n:2 mse_avg:0.00 mse_y:0.00 mse_u:0.00 mse_v:0.00 psnr_avg:inf psnr_y:inf psnr_u:inf "
    "psnr_v:inf \n"
)
SSIM = "n:1 Y:0.980763 U:0.986530 V:0.994107 All:0.983948 (17.944819)\n"


def test_psnr_stats_become_the_vocabularys_four_series():
    frames = parse_filter_stats("psnr", PSNR)
    assert list(frames) == ["psnr_avg", "psnr_y", "psnr_u", "psnr_v"]
    assert frames["psnr_y"] == [38.64, PSNR_IDENTICAL]  # identical frames: ffmpeg says inf


def test_ssim_stats_become_the_vocabularys_four_series():
    frames = parse_filter_stats("ssim", SSIM)
    assert frames == {
        "ssim_all": [0.983948], "ssim_y": [0.980763], "ssim_u": [0.98653], "ssim_v": [0.994107]
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text"),
    [("ssim", ""), ("ssim", "n:1 Y:0.98 U:0.98\n"), ("ssim", "n:1 Y:nan U:1 V:1 All:1 (1)\n")],
)
def test_a_malformed_or_empty_stats_file_is_an_error_never_a_zero(name: str, text: str):
    with pytest.raises(ScoreLogError):
        parse_filter_stats(name, text, where="d.mp4")
