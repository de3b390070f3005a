"""The real libvmaf on generated clips at and around its measured minimum sizes: what it cannot
score is refused before the run, what slips through is caught after it, and a flat reference is
warned about (issue 11 rows 5 and 8)."""

from __future__ import annotations

import subprocess

import pytest

from vmafx.errors import (
    InputTooSmallError,
    LibvmafCrashError,
    MetricUnavailableError,
    MissingMetricError,
)
from vmafx.media import scorer as scorer_module
from vmafx.media.ffmpeg import ffmpeg_info
from vmafx.media.graph import ScoreOptions
from vmafx.media.runner import SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest
from vmafx.node.outcomes import is_machine_fault

pytestmark = pytest.mark.integration
BLUR = ",gblur=sigma=1.5"


@pytest.fixture(scope="module")
def scorer() -> LibvmafScorer:
    return LibvmafScorer(ffmpeg_info(), SubprocessRunner())


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory):
    """make(source, WxH, pix_fmt) → a 3-frame y4m clip of a lavfi source at exactly WxH
    (sources round odd sizes down, so an even frame is scaled to it), cached per module."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[tuple[str, str, str], str] = {}
    # `then`: filters after the scale, e.g. a blur that makes a distorted version.

    def make(source: str, size: str, pix_fmt: str = "yuv420p", then: str = "") -> str:
        key = (source + then, size, pix_fmt)
        if key not in made:
            path = folder / f"{(source + then).replace('=', '_')}_{size}_{pix_fmt}.y4m"
            width, height = (int(n) for n in size.split("x"))
            even = f"{width + width % 2}x{height + height % 2}"
            lavfi = (
                f"{source}{':' if '=' in source else '='}s={even}:r=10,scale={width}:{height}{then}"
            )
            subprocess.run(
                [ffmpeg_info().path, "-v", "error", "-y", "-f", "lavfi", "-i",
                 lavfi, "-frames:v", "3", "-pix_fmt", pix_fmt,
                 "-strict", "-1", str(path)],
                check=True, timeout=60,
            )  # fmt: skip
            made[key] = str(path)
        return made[key]

    return make


def score(scorer: LibvmafScorer, ref: str, dis: str, *features: str, vector: bool = True):
    options = ScoreOptions(features=features, threads=1, feature_vector=vector)
    return scorer.score(ScoreRequest(ref, (dis,), options)).results[0]


def test_cambi_on_160x90_is_refused_with_the_minimum_and_the_size(scorer, clips):
    clip = clips("testsrc2", "160x90")
    with pytest.raises(MetricUnavailableError) as caught:
        score(scorer, clip, clip, "cambi", "ciede")
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("cambi needs a width or a height of at least 216")
    assert "160x90" in caught.value.message


def test_ms_ssim_on_160x90_is_refused_with_the_minimum_and_the_size(scorer, clips):
    clip = clips("testsrc2", "160x90")
    with pytest.raises(MetricUnavailableError) as caught:
        score(scorer, clip, clip, "float_ms_ssim")
    assert "at least 176x176" in caught.value.message and "160x90" in caught.value.message


def test_a_16x16_video_is_refused_as_too_small_never_as_a_machine_fault(scorer, clips):
    clip = clips("testsrc2", "16x16")
    with pytest.raises(InputTooSmallError) as caught:
        score(scorer, clip, clip)
    assert caught.value.exit_code == 4 and not is_machine_fault(caught.value)


@pytest.mark.parametrize(
    ("size", "pix_fmt", "features", "keys"),
    [
        ("17x17", "yuv420p", ("ciede", "psnr_hvs"), ("vmaf_v0.6.1", "ciede2000", "psnr_hvs")),
        ("17x17", "yuv444p", (), ("vmaf_v0.6.1",)),
        ("176x176", "yuv420p", ("float_ms_ssim",), ("float_ms_ssim",)),
        ("216x17", "yuv420p", ("cambi", "ciede"), ("cambi", "ciede2000")),
        ("1920x161", "yuv420p", ("cambi",), ("cambi",)),
    ],
)
def test_at_the_measured_minimums_every_metric_is_scored(
    scorer, clips, size, pix_fmt, features, keys
):
    # Distorted differs from the reference: ciede2000 of identical frames is infinite (null).
    ref, dis = clips("testsrc2", size, pix_fmt), clips("testsrc2", size, pix_fmt, BLUR)
    result = score(scorer, ref, dis, *features)
    assert set(keys) <= set(result.pooled)


def test_float_extractors_are_reported_under_libvmafs_names(scorer, clips):
    clip = clips("testsrc2", "64x64")
    result = score(scorer, clip, clip, "float_adm", "float_vif")
    assert {"adm2", "vif_scale0"} <= set(result.pooled)


@pytest.fixture
def no_size_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """What libvmaf does below its minimums when vmafx does not refuse first."""
    monkeypatch.setattr(scorer_module, "refuse_unscorable", lambda *args: None)


def test_a_metric_libvmaf_drops_silently_is_an_error_after_the_run(scorer, clips, no_size_check):
    clip = clips("testsrc2", "175x176")
    with pytest.raises(MissingMetricError) as caught:
        score(scorer, clip, clip, "float_ms_ssim")
    assert caught.value.metric == "float_ms_ssim" and caught.value.distorted == clip
    assert "176x176" in caught.value.message


def test_cambi_dropping_ciede_with_it_is_caught_after_the_run(scorer, clips, no_size_check):
    ref, dis = clips("testsrc2", "192x108"), clips("testsrc2", "192x108", then=BLUR)
    with pytest.raises(MissingMetricError) as caught:
        score(scorer, ref, dis, "cambi", "ciede")
    assert "no cambi values" in caught.value.message and "ciede" in caught.value.message


def test_a_libvmaf_segfault_on_a_tiny_input_is_reported_as_its_crash(scorer, clips, no_size_check):
    clip = clips("testsrc2", "16x16")
    with pytest.raises(LibvmafCrashError) as caught:
        score(scorer, clip, clip)
    error = caught.value
    # The heap libvmaf corrupts ends in SIGSEGV, or in glibc's abort (SIGABRT, "munmap_chunk():
    # invalid pointer") when the allocator notices first: a CI run saw both.
    assert error.signal in (6, 11), error
    assert "16x16" in error.message and "check memory" not in str(error)
    assert not is_machine_fault(error)


def test_black_vs_white_keeps_libvmafs_score_and_warns_about_flat_content(scorer, clips):
    black = clips("color=c=black", "320x180")
    white = clips("color=c=white", "320x180")
    result = score(scorer, black, white)
    assert result.pooled["vmaf_v0.6.1"].mean == pytest.approx(97.428, abs=0.01)
    assert len(result.warnings) == 1 and "flat" in result.warnings[0]


def test_textured_content_and_identical_flat_content_get_no_warning(scorer, clips):
    blurred = clips("testsrc2", "320x180", then=BLUR)
    textured = score(scorer, clips("testsrc2", "320x180"), blurred)
    black = clips("color=c=black", "320x180")
    assert textured.warnings == () and score(scorer, black, black).warnings == ()


def test_a_flat_reference_against_texture_is_warned_about_without_the_feature_vector(scorer, clips):
    result = score(
        scorer, clips("color=c=black", "320x180"), clips("testsrc2", "320x180"), vector=False
    )
    assert result.warnings and "flat" in result.warnings[0]
