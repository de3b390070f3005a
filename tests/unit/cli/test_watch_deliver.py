"""`vmafx watch --rule encode --target-vmaf`: a finished tune job's chosen encode is moved from
the tuner's hidden `.NAME.tune/` folder into `--out-dir`, once (a controller answering the
library's finished tune jobs, faked here: the real tuner needs a farm and minutes)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from vmafx.cli.watch_folders import FolderWatcher, Rule, deliver_tuned
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter, JobPage
from vmafx.testing import make_job


class Controller:
    def __init__(self, jobs):
        self.jobs = jobs
        self.asked: list[JobFilter] = []

    async def list_jobs(self, where=None, *, limit=100, cursor=None):
        self.asked.append(where)
        return JobPage(jobs=self.jobs, next_cursor=None)


def test_the_chosen_encode_is_moved_into_the_out_dir_once(tmp_path):
    out_dir = tmp_path / "av1"
    hidden = out_dir / ".m2.mkv.tune"
    hidden.mkdir(parents=True)
    (hidden / "crf31.mkv").write_bytes(b"chosen")
    (hidden / "crf35.mkv").write_bytes(b"discarded")
    spec = {"source": "/m/m2.mov", "codec": "av1", "target_vmaf": 93}
    job = make_job(JobKind.TUNE, spec=spec, now=datetime(2026, 1, 1, tzinfo=UTC))
    result = {"mode": "target", "output": str(hidden / "crf31.mkv"),
              "deliver_as": str(out_dir / "m2.mkv"), "discarded": [str(hidden / "crf35.mkv")]}  # fmt: skip
    done = dataclasses.replace(job, state=JobState.COMPLETED, result=result)
    controller = Controller([done])
    rule = Rule(kind="encode", out_dir=str(out_dir), target_vmaf=93)
    watcher = FolderWatcher([tmp_path], rule, name="masters")

    assert asyncio.run(deliver_tuned(controller, watcher)) == [str(out_dir / "m2.mkv")]
    assert (out_dir / "m2.mkv").read_bytes() == b"chosen"
    assert not hidden.exists()
    [asked] = controller.asked
    assert asked.batch_id == "watch:masters" and asked.kinds == (JobKind.TUNE,)
    assert asked.states == (JobState.COMPLETED,)
    assert asyncio.run(deliver_tuned(controller, watcher)) == []  # once
