"""The trial-encode probe with the real ffmpeg (imageio-ffmpeg's build).

This machine has no GPU: the software encoders must verify, and NVENC (listed by the build)
must not, with the reason. Hardware encoders are never run on real hardware here.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vmafx.media.encoders import ENCODERS
from vmafx.media.ffmpeg import locate
from vmafx.media.runner import SubprocessRunner
from vmafx.node.encoder_probe import probe_encoders

pytestmark = pytest.mark.integration

SOFTWARE = {"libx264", "libx265", "libsvtav1", "libaom-av1", "libvpx-vp9"}
HAS_NVIDIA = Path("/dev/nvidiactl").exists()


@pytest.fixture(scope="module")
def report_and_time(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("encoder-cache")
    start = time.monotonic()
    report = probe_encoders(locate(), SubprocessRunner(), cache_dir=cache)
    return report, time.monotonic() - start, cache


def test_every_software_encoder_verifies(report_and_time):
    report, _, _ = report_and_time
    assert report.verified >= SOFTWARE, report.failures


@pytest.mark.skipif(HAS_NVIDIA, reason="an NVIDIA driver is present: NVENC may really work")
def test_nvenc_is_listed_by_the_build_but_not_verified_and_says_why(report_and_time):
    report, _, _ = report_and_time
    assert "h264_nvenc" not in report.verified
    failure = report.failures["h264_nvenc"]
    assert failure.reason.startswith("exit code ")
    assert any(word in failure.reason.lower() for word in ("cuda", "nvenc", "device"))
    assert failure.stderr_tail


def test_every_encoder_vmafx_drives_is_either_verified_or_explained(report_and_time):
    report, elapsed, _ = report_and_time
    assert set(report.verified) | set(report.failures) == set(ENCODERS)
    assert not set(report.verified) & set(report.failures)
    assert elapsed < 30


def test_the_second_start_reads_the_cache(report_and_time):
    report, _, cache = report_and_time
    start = time.monotonic()
    again = probe_encoders(locate(), SubprocessRunner(), cache_dir=cache)
    assert again.from_cache
    assert again.verified == report.verified
    assert time.monotonic() - start < 1.0
