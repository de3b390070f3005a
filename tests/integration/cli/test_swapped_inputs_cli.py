"""`vmafx score` warns when the reference and a distorted input look swapped (issue 18 item 7):
real ffmpeg encodes of the fixture, the reference given where the distorted belongs."""

from __future__ import annotations

import json
import subprocess

import pytest
from tests.conftest import MEDIA
from tests.integration.cli.test_score_cli import vmafx

from vmafx.media.ffmpeg import locate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def encodes(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(a lossless encode standing in for the reference, a CRF 51 encode of the same clip)."""
    folder = tmp_path_factory.mktemp("swapped")
    paths = []
    for name, quality in (("ref.mp4", ["-qp", "0"]), ("crf51.mp4", ["-crf", "51"])):
        path = folder / name
        subprocess.run(
            [locate(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             "testsrc2=size=320x180:rate=24", "-t", "1", "-c:v", "libx264", *quality,
             "-pix_fmt", "yuv420p", str(path)],
            check=True, timeout=60,
        )  # fmt: skip
        paths.append(str(path))
    return paths[0], paths[1]


def warnings(out: subprocess.CompletedProcess[str]) -> list[str]:
    assert out.returncode == 0, out.stderr
    return [w for result in json.loads(out.stdout)["results"] for w in result["warnings"]]


def test_swapped_inputs_are_scored_with_a_warning_saying_so(encodes):
    ref, crf51 = encodes
    found = warnings(vmafx("score", crf51, ref, "--format", "json"))
    assert len(found) == 1
    assert found[0].startswith(f"the reference ({crf51}, ")
    assert f"is smaller than the distorted input {ref} (" in found[0]
    assert "did you swap them? The reference comes first, as in libvmaf." in found[0]
    assert "--no-swap-check" in found[0]


def test_the_warning_is_in_the_table_too(encodes):
    ref, crf51 = encodes
    out = vmafx("score", crf51, ref, env={"COLUMNS": "300"})
    assert out.returncode == 0, out.stderr
    assert "did you swap them?" in out.stdout


def test_no_swap_check_silences_it(encodes):
    ref, crf51 = encodes
    assert warnings(vmafx("score", crf51, ref, "--format", "json", "--no-swap-check")) == []


def test_inputs_in_the_right_order_get_no_warning(encodes):
    ref, crf51 = encodes
    assert warnings(vmafx("score", ref, crf51, "--format", "json")) == []


def test_an_uncompressed_distorted_input_is_never_compared():
    # A decoded Y4M is far larger than any encode, whatever its quality: its size says nothing.
    dis, y4m = MEDIA / "dis.mp4", MEDIA / "ref.y4m"
    assert warnings(vmafx("score", str(dis), str(y4m), "--format", "json")) == []
