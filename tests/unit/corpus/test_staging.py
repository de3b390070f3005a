"""The staging folder: durable appends, resumption, torn lines, settings checks, disk full."""

from __future__ import annotations

import errno
import json
import os

import pytest

from vmafx.corpus import staging as staging_module
from vmafx.corpus.clips import ClipFailed, ClipJob, ClipScored
from vmafx.corpus.fakes import fake_values
from vmafx.corpus.staging import DONE, ROWS, Staging
from vmafx.errors import OutputWriteError, UsageError

FINGERPRINT = {"settings": {"options": {"models": ["vmaf_v0.6.1"]}}, "ffmpeg": "n9"}


def ok(clip_id: str) -> ClipScored:
    return ClipScored(clip_id, fake_values(ClipJob(clip_id, "d.mp4", None)), 0.5)


def failed(clip_id: str) -> ClipFailed:
    return ClipFailed(clip_id, "NotVideoError", "corrupt\nffmpeg said: moov atom not found", 4)


def test_staged_outcomes_survive_reopening_and_done_lists_the_scored_ids(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
        staging.append(failed("b"))
        staging.append(ok("c"))
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert [staging.state(i) for i in "abcd"] == ["scored", "failed", "scored", None]
        assert staging.values("a") == ok("a").values
        assert staging.failure("b") == failed("b")
    assert (tmp_path / DONE).read_text() == "a\nc\n"


def test_a_torn_last_line_is_dropped_and_its_clip_counts_as_not_finished(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
        staging.append(ok("b"))
    rows = tmp_path / ROWS
    whole = rows.read_bytes()
    rows.write_bytes(whole[: len(whole) - 40])  # killed in the middle of writing b's line
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.state("a") == "scored"
        assert staging.state("b") is None
        assert staging.loaded.torn_bytes > 0
        staging.append(ok("b"))
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.values("b") == ok("b").values
        assert staging.loaded.corrupt_lines == 0
    assert (tmp_path / DONE).read_text() == "a\nb\n"
    assert all(json.loads(line) for line in rows.read_text().splitlines())


def test_a_torn_line_left_in_done_is_removed_when_the_folder_is_reopened(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
    with (tmp_path / DONE).open("a") as handle:
        handle.write("ghost\n")  # listed as done but its row never reached the disk
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.state("ghost") is None
    assert (tmp_path / DONE).read_text() == "a\n"


def test_a_corrupt_line_in_the_middle_is_skipped_and_the_rest_kept(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
    line_b = json.dumps({"id": "b", "ok": True, "values": ok("b").values, "elapsed_s": 0.5})
    with (tmp_path / ROWS).open("ab") as handle:
        handle.write(b"\x00\x00garbage\n" + line_b.encode() + b"\n")
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.state("a") == staging.state("b") == "scored"
        assert staging.loaded.corrupt_lines == 1


def test_the_last_outcome_of_a_clip_wins_so_a_retried_failure_becomes_scored(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(failed("a"))
        staging.append(ok("a"))
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.state("a") == "scored"


def test_staging_made_with_other_settings_is_refused_naming_the_difference(tmp_path):
    Staging.open(tmp_path, FINGERPRINT).close()
    other = {"settings": {"options": {"models": ["vmaf_v0.6.1neg"]}}, "ffmpeg": "n9"}
    with pytest.raises(UsageError) as caught:
        Staging.open(tmp_path, other)
    assert "settings.options.models ['vmaf_v0.6.1'] then, ['vmaf_v0.6.1neg'] now" in str(
        caught.value
    )
    assert "--fresh" in str(caught.value)


def test_fresh_discards_what_was_staged(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
    other = {"settings": {}, "ffmpeg": "n10"}
    with Staging.open(tmp_path, other, fresh=True) as staging:
        assert staging.state("a") is None


def test_a_second_run_on_the_same_staging_folder_is_refused(tmp_path):
    with Staging.open(tmp_path, FINGERPRINT), pytest.raises(UsageError, match="lock is held"):
        Staging.open(tmp_path, FINGERPRINT)


def test_a_full_disk_while_staging_says_what_is_safe_and_leaves_no_partial_line(
    tmp_path, monkeypatch
):
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        staging.append(ok("a"))
        real_write = os.write

        def half_then_full(fd, data):
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(staging_module.os, "write", half_then_full)
        with pytest.raises(OutputWriteError) as caught:
            staging.append(ok("b"))
        monkeypatch.undo()
        assert "is full" in str(caught.value)
        assert "The 1 clip(s) finished before it are safe" in str(caught.value)
        assert caught.value.exit_code == 20
    with Staging.open(tmp_path, FINGERPRINT) as staging:
        assert staging.state("a") == "scored"
        assert staging.state("b") is None
        assert staging.loaded.torn_bytes == 0
