"""`-f psnr` and `-f ssim` are ffmpeg's own `psnr` and `ssim` filters, computed in the scoring run
itself (issue 13): the figures ffmpeg and ffmpeg-quality-metrics give, not libvmaf's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.conftest import MEDIA

from vmafx.media.filterstats import parse_filter_stats
from vmafx.media.graph import ScoreOptions
from vmafx.media.inputprobe import locate_ffmpeg
from vmafx.media.runner import RunResult, SubprocessRunner
from vmafx.media.scorer import LibvmafScorer, ScoreRequest

pytestmark = pytest.mark.integration
REF = str(MEDIA / "ref.y4m")
DIS = str(MEDIA / "dis.mp4")


class CountingRunner(SubprocessRunner):
    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv, **kwargs) -> RunResult:  # type: ignore[no-untyped-def,override]
        self.argvs.append(list(argv))
        return super().run(argv, **kwargs)


def _score(*features: str, runner: SubprocessRunner | None = None):  # type: ignore[no-untyped-def]
    scorer = LibvmafScorer(locate_ffmpeg(), runner or SubprocessRunner())
    options = ScoreOptions(features=features, threads=2)
    return scorer.score(ScoreRequest(REF, (DIS,), options)).results[0]


def _ffmpeg_alone(name: str, tmp_path: Path) -> dict[str, list[float]]:
    """ffmpeg's filter run directly on the pair, as ffmpeg-quality-metrics runs it."""
    stats = tmp_path / f"{name}.log"
    subprocess.run(
        [locate_ffmpeg(), "-hide_banner", "-v", "error", "-i", DIS, "-i", REF,
         "-lavfi", f"[0:v][1:v]{name}=stats_file={stats}", "-f", "null", "-"],
        check=True, timeout=120,
    )  # fmt: skip
    return parse_filter_stats(name, stats.read_text())


def test_psnr_and_ssim_are_ffmpegs_own_filters_frame_for_frame(tmp_path: Path):
    result = _score("ffmpeg:psnr", "ffmpeg:ssim")
    for name in ("psnr", "ssim"):
        for key, values in _ffmpeg_alone(name, tmp_path).items():
            assert result.frames[key] == values, key
            assert result.pooled[key].mean == pytest.approx(sum(values) / len(values))
    assert list(result.pooled)[1:5] == ["psnr_avg", "psnr_y", "psnr_u", "psnr_v"]
    assert list(result.pooled)[5:9] == ["ssim_all", "ssim_y", "ssim_u", "ssim_v"]


def test_psnr_and_ssim_cost_no_second_run_and_no_second_decode():
    runner = CountingRunner()
    _score("ffmpeg:psnr", "ffmpeg:ssim", runner=runner)
    scoring = [a for a in runner.argvs if "-filter_complex" in a]
    assert len(runner.argvs) == 2 and len(scoring) == 1
    assert scoring[0].count("-i") == 2  # the reference and the distorted input, each once
    graph = scoring[0][scoring[0].index("-filter_complex") + 1]
    assert "psnr=stats_file=" in graph and "ssim=stats_file=" in graph and "libvmaf=" in graph


def test_libvmafs_ssim_keeps_its_libvmaf_name_and_reads_differently():
    result = _score("ffmpeg:ssim", "float_ssim")
    assert {"ssim_all", "ssim_y", "float_ssim"} <= set(result.pooled)
    assert result.pooled["float_ssim"].mean != result.pooled["ssim_y"].mean


def test_pooled_values_are_ffmpeg_quality_metrics_own():
    import ffmpeg_quality_metrics as fqm  # the dev extra installs it

    tool = fqm.FfmpegQualityMetrics(REF, DIS, ffmpeg_path=locate_ffmpeg(), progress=False)
    tool.calculate(["psnr", "ssim"])
    theirs = tool.get_global_stats()
    ours = _score("ffmpeg:psnr", "ffmpeg:ssim").pooled
    for key in ("psnr_avg", "psnr_y", "psnr_u", "psnr_v"):
        # FQM rounds each frame's value and its average to 3 decimals
        assert ours[key].mean == pytest.approx(theirs["psnr"][key]["average"], abs=2e-3), key
        assert ours[key].min == pytest.approx(theirs["psnr"][key]["min"], abs=1e-3), key
    for key, their_key in (("ssim_all", "ssim_avg"), ("ssim_y", "ssim_y"), ("ssim_u", "ssim_u")):
        assert ours[key].mean == pytest.approx(theirs["ssim"][their_key]["average"], abs=2e-3)
