"""`vmafx watch` against a real controller and a real node (issue 18 items 4 and 5): files
dropped into a watched folder become health-check jobs once they stop growing; the node decodes
every frame and reports a corrupted file's errors with their timestamps; a restarted watcher
submits nothing twice; a modified file gets a new job."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from vmafx.core.jobs import JobState
from vmafx.core.messages import JobFilter
from vmafx.media.ffmpeg import locate
from vmafx.media.runner import SubprocessRunner, check_returncode

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
LIBRARY = "watch:incoming"


def make_clip(path: Path, seconds: int = 3, pattern: str = "testsrc2") -> None:
    argv = [locate(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"{pattern}=size=320x240:rate=24:duration={seconds}",
            "-c:v", "libx264", "-g", "24", "-crf", "20", str(path)]  # fmt: skip
    check_returncode(SubprocessRunner().run(argv, timeout_s=60), "making a clip")


def corrupt(clean: Path, broken: Path) -> None:
    """Zeros over 1,500 bytes at 30 % and 60 % of the file: the decoder reports errors there."""
    shutil.copy(clean, broken)
    size = broken.stat().st_size
    with broken.open("r+b") as handle:
        for fraction in (0.3, 0.6):
            handle.seek(int(size * fraction))
            handle.write(bytes(1500))


def age(path: Path, seconds: float = 120) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def library_jobs(farm) -> list:
    return (await farm.client.list_jobs(JobFilter(batch_id=LIBRARY), limit=100)).jobs


async def test_dropped_files_become_health_jobs_once_and_a_changed_file_again(farm, tmp_path):
    farm.start_controller()
    farm.start_node("doctor", queues="health")
    folder = farm.media / "incoming"
    folder.mkdir()
    make_clip(tmp_path / "clean.mp4")
    corrupt(tmp_path / "clean.mp4", folder / "broken.mp4")
    shutil.copy(tmp_path / "clean.mp4", folder / "clean.mp4")
    (folder / "notes.txt").write_text("not a video")
    for path in folder.iterdir():
        age(path)
    await farm.node_live("doctor")
    args = ["watch", str(folder), "--rule", "health", "--settle", "1", "--interval", "0.2",
            "--controller", farm.target]  # fmt: skip
    watcher = farm._spawn("watcher", args, {})

    async def two_done() -> bool:
        jobs = await library_jobs(farm)
        return len(jobs) == 2 and all(job.is_terminal for job in jobs)

    await farm.wait_for(two_done, "both files health-checked", timeout_s=90)
    by_name = {Path(job.spec["source"]).name: job for job in await library_jobs(farm)}
    clean, broken = by_name["clean.mp4"], by_name["broken.mp4"]
    assert clean.state is JobState.COMPLETED and broken.state is JobState.COMPLETED
    assert clean.result["ok"] is True and clean.result["error_count"] == 0
    assert clean.result["frames_decoded"] == clean.result["frames_expected"] == 72
    assert broken.result["ok"] is False and broken.result["error_count"] >= 2
    times = [e["time_s"] for e in broken.result["errors"] if e["stream"] == "video"]
    assert any(0.5 < t < 1.5 for t in times) and any(1.5 < t < 2.5 for t in times), times
    assert all(isinstance(e["frame"], int) for e in broken.result["errors"])

    # A file still being written is not submitted until it holds still for --settle.
    growing = folder / "late.mp4"
    with growing.open("wb") as handle:
        handle.write((tmp_path / "clean.mp4").read_bytes()[:1000])
    time.sleep(0.6)
    assert len(await library_jobs(farm)) == 2
    shutil.copy(tmp_path / "clean.mp4", growing)

    async def three() -> bool:
        return len(await library_jobs(farm)) == 3

    await farm.wait_for(three, "the late file to be submitted once it settled")

    # Restarted, the watcher finds every file already submitted (idempotency keys).
    watcher.popen.send_signal(signal.SIGINT)
    assert watcher.popen.wait(timeout=20) == 130, watcher.tail()
    again = farm._spawn("watcher-2", args, {})
    again.wait_for_line(r"3 files: 0 submitted, 3 seen before")
    assert len(await library_jobs(farm)) == 3

    # A modified file (new size and time) is a new version: a new job.
    make_clip(tmp_path / "other.mp4", seconds=2, pattern="smptebars")
    shutil.copy(tmp_path / "other.mp4", folder / "clean.mp4")
    age(folder / "clean.mp4", 30)

    async def four() -> bool:
        return len(await library_jobs(farm)) == 4

    await farm.wait_for(four, "the modified file to be submitted again")
    again.wait_for_line(r"submitted health job \S+  .*clean\.mp4")
    sources = sorted(Path(job.spec["source"]).name for job in await library_jobs(farm))
    assert sources == ["broken.mp4", "clean.mp4", "clean.mp4", "late.mp4"]
