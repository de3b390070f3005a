"""`vmafx health`, `vmafx jobs submit health` and `vmafx watch --once` in process (Typer's
CliRunner) against a real controller (gRPC + HTTP, SQLite): what each submits, idempotency
across runs, include/exclude globs, the score rule's reference naming, the encode rule's jobs,
and `GET /v1/libraries`."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.farm import Farm, migrated_template
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.core.jobs import JobKind
from vmafx.core.messages import JobFilter
from vmafx.errors import VmafxError

pytestmark = pytest.mark.integration
MEDIA = Path(__file__).resolve().parents[2] / "fixtures" / "media"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    folder = tmp_path_factory.mktemp("watch-cli")
    made = Farm(folder / "farm", migrated_template(folder))
    try:
        yield made
    finally:
        made.close()


def cli(farm: Farm | None, *args: str) -> tuple[int, str]:
    env = {"VMAFX_CONTROLLER_ADDR": farm.grpc_target if farm else "", "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, VmafxError):  # what `main()` prints, with its exit code
        return result.exception.exit_code, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def library(farm: Farm, name: str) -> list:
    where = JobFilter(batch_id=f"watch:{name}")
    return farm.run(farm.running.service.list_jobs(_dev(), where, limit=100)).jobs


def _dev():
    from vmafx.controller.auth import DEV_PRINCIPAL

    return DEV_PRINCIPAL


def settled_copy(source: Path, target: Path, age_s: float = 60) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    then = time.time() - age_s
    os.utime(target, (then, then))


def test_health_here_exits_0_for_a_clean_file_and_1_naming_the_broken_one(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((MEDIA / "dis.mp4").read_bytes()[:600])
    code, out = cli(None, "health", str(MEDIA / "dis.mp4"))
    assert code == 0 and "ok: 8 of 8 frames decoded" in out, out
    code, out = cli(None, "health", str(MEDIA / "dis.mp4"), str(broken))
    assert code == 1, out
    assert "BROKEN" in out and "broken.mp4" in out and "cannot be opened" in out


def test_jobs_submit_health_makes_a_typed_health_job(farm, tmp_path):
    code, out = cli(farm, "jobs", "submit", "health", farm.path("dis.mp4"), "--max-errors", "5")
    assert code == 0, out
    job_id = out.split()[3]  # "submitted health job ID"
    job = farm.run(farm.running.service.get_job(_dev(), job_id)).job
    assert job.kind is JobKind.HEALTH and job.queue == "health"
    assert job.spec == {"source": farm.path("dis.mp4"), "max_errors": 5}
    code, out = cli(farm, "jobs", "submit", "health", str(tmp_path / "absent.mp4"))
    assert code != 0 and "does not exist" in out


def test_watch_once_submits_each_settled_file_once_with_globs_and_again_when_changed(farm):
    folder = farm.media / "lib-a"
    settled_copy(MEDIA / "dis.mp4", folder / "a.mp4")
    settled_copy(MEDIA / "dis.mkv", folder / "sub" / "b.mkv")
    settled_copy(MEDIA / "dis.mov", folder / "skip-me.mov")
    settled_copy(MEDIA / "dis.mp4", folder / ".hidden.mp4")
    settled_copy(MEDIA / "dis.mp4", folder / "c.mp4.part")
    (folder / "growing.mp4").write_bytes((MEDIA / "dis.mp4").read_bytes())  # mtime: now
    args = ["watch", str(folder), "--rule", "health", "--once", "--settle", "30",
            "--exclude", "skip-*"]  # fmt: skip
    code, out = cli(farm, *args)
    assert code == 0, out
    assert "3 files: 2 submitted, 0 seen before, 1 still growing" in out, out
    names = sorted(Path(job.spec["source"]).name for job in library(farm, "lib-a"))
    assert names == ["a.mp4", "b.mkv"]
    assert {job.kind for job in library(farm, "lib-a")} == {JobKind.HEALTH}

    code, out = cli(farm, *args)  # a second run (a restart): nothing new
    assert "3 files: 0 submitted, 2 seen before, 1 still growing" in out, out
    assert len(library(farm, "lib-a")) == 2

    settled_copy(MEDIA / "dis_short.mp4", folder / "a.mp4", age_s=45)  # changed
    code, out = cli(farm, *args)
    assert "1 submitted, 1 seen before" in out, out
    assert [Path(j.spec["source"]).name for j in library(farm, "lib-a")].count("a.mp4") == 2

    body = httpx.get(f"{farm.http_url}/v1/libraries", timeout=10).json()
    [entry] = [item for item in body["libraries"] if item["name"] == "lib-a"]
    assert entry == {"name": "lib-a", "batch_id": "watch:lib-a", "jobs": 3,
                     "states": {"pending": 3}}  # fmt: skip


def test_watch_score_finds_references_by_naming_rule_and_waits_for_missing_ones(farm):
    folder, refs = farm.media / "encodes", farm.media / "refs"
    settled_copy(MEDIA / "dis.mp4", folder / "clip_crf28.mp4")
    settled_copy(MEDIA / "dis.mkv", folder / "other_crf30.mkv")
    settled_copy(MEDIA / "ref.y4m", refs / "clip.y4m")
    args = ["watch", str(folder), "--rule", "score", "--once", "--settle", "1",
            "--reference", str(refs / "{base}.y4m")]  # fmt: skip
    code, out = cli(farm, *args)
    assert code == 0, out
    assert "1 submitted" in out and "1 waiting for a reference" in out, out
    [job] = library(farm, "encodes")
    assert job.spec["reference"] == str(refs / "clip.y4m")
    assert job.spec["distorted"] == [str(folder / "clip_crf28.mp4")]
    settled_copy(MEDIA / "ref.y4m", refs / "other.y4m")
    code, out = cli(farm, *args)
    assert "1 submitted, 1 seen before, 0 still growing, 0 waiting" in out, out


def test_watch_encode_submits_fixed_crf_encodes_or_tune_jobs_to_a_target(farm):
    folder, out_dir = farm.media / "masters", farm.media / "av1"
    settled_copy(MEDIA / "dis.mp4", folder / "m1.mp4")
    code, out = cli(farm, "watch", str(folder), "--rule", "encode", "--once", "--codec", "av1",
                    "--crf", "35", "--out-dir", str(out_dir), "--name", "crf")  # fmt: skip
    assert code == 0, out
    [job] = library(farm, "crf")
    assert job.kind is JobKind.ENCODE
    assert job.spec["rate_control"] == {"mode": "crf", "value": 35.0}
    assert job.spec["output"] == str(out_dir / "m1.mkv")
    code, out = cli(farm, "watch", str(folder), "--rule", "encode", "--once", "--codec", "av1",
                    "--target-vmaf", "93", "--out-dir", str(out_dir), "--name", "tuned")  # fmt: skip
    assert code == 0, out
    [job] = library(farm, "tuned")
    assert job.kind is JobKind.TUNE and job.spec["target_vmaf"] == 93.0
    code, out = cli(farm, "watch", str(folder), "--rule", "encode", "--once")
    assert code != 0 and "--out-dir" in out


def test_the_vmafx_process_exits_1_for_a_broken_file(tmp_path):
    """Through `main()` (not CliRunner): the exit code a command asks for reaches the shell."""
    import subprocess
    import sys

    broken = tmp_path / "broken.mp4"
    broken.write_bytes((MEDIA / "dis.mp4").read_bytes()[:600])
    run = [sys.executable, "-m", "vmafx", "health", str(broken)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
