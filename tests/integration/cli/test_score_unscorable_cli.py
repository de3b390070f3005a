"""`vmafx score` on inputs libvmaf cannot fully score: a precise error and its exit code, never
exit 0 with a metric missing; a flat reference gets a warning (issue 11 rows 5 and 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vmafx.media.ffmpeg import ffmpeg_info

pytestmark = pytest.mark.integration


def vmafx(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VMAFX_FFMPEG"}
    return subprocess.run(
        [sys.executable, "-m", "vmafx", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("unscorable")
    sources = {
        "ref_160x90": "testsrc2=s=160x90:r=10",
        "dis_160x90": "testsrc2=s=160x90:r=10,gblur=sigma=1.5",
        "tiny": "testsrc2=s=16x16:r=10",
        "black": "color=c=black:s=320x180:r=10",
        "white": "color=c=white:s=320x180:r=10",
    }
    paths = {}
    for name, lavfi in sources.items():
        path = folder / f"{name}.mp4"
        subprocess.run(
            [ffmpeg_info().path, "-v", "error", "-y", "-f", "lavfi", "-i", lavfi,
             "-frames:v", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
            check=True, timeout=60,
        )  # fmt: skip
        paths[name] = str(path)
    return paths


@pytest.mark.parametrize(
    ("feature", "says"),
    [
        ("cambi", "cambi needs a width or a height of at least 216"),
        ("float_ms_ssim", "float_ms_ssim needs at least 176x176 (its 5-scale pyramid)"),
    ],
)
def test_a_metric_the_input_is_too_small_for_exits_2_naming_it(clips, feature, says):
    out = vmafx("score", clips["ref_160x90"], clips["dis_160x90"], "-f", feature, "-f", "ciede")
    assert out.returncode == 2, out.stdout + out.stderr
    assert says in out.stderr and f"{clips['ref_160x90']} is 160x90" in out.stderr
    assert f"Drop {feature} from the metrics you asked for" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_16x16_video_exits_4_as_too_small_not_130(clips):
    out = vmafx("score", clips["tiny"], clips["tiny"])
    assert out.returncode == 4, out.stdout + out.stderr
    assert "libvmaf needs frames of at least 17x17" in out.stderr
    assert "check memory" not in out.stderr


def test_black_vs_white_scores_as_libvmaf_does_with_a_flat_content_warning(clips):
    out = vmafx("score", clips["black"], clips["white"], "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["results"][0]
    assert result["pooled"]["vmaf"]["mean"] == pytest.approx(97.428, abs=0.01)
    assert (
        len(result["warnings"]) == 1
        and "VMAF is unreliable on flat content" in (result["warnings"][0])
    )
    table = vmafx("score", clips["black"], clips["white"])
    assert "warning: The reference is flat" in table.stdout.replace("\n", " ")
