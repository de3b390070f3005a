"""The pure parts of farm statistics: windows, buckets, failure reasons, VMAF bins, clipping,
and the JSON the API answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core.stats import (
    VMAF_BINS,
    Busy,
    FailureReason,
    FarmStats,
    Savings,
    StatsWindow,
    Throughput,
    clipped_seconds,
    failure_reason,
    fold_bins,
    top_reasons,
    vmaf_bin,
)
from vmafx.errors import UsageError

NOW = datetime(2026, 12, 6, 18, 30, 15, 500_000, tzinfo=UTC)


def test_the_last_day_in_hours_counts_the_partial_hours_at_both_ends():
    window = StatsWindow.last(NOW, hours=24, bucket="hour")
    assert (window.until - window.since, window.bucket_s) == (timedelta(hours=24), 3600)
    assert window.bucket_count == 25
    assert window.first_bucket == int(datetime(2026, 12, 5, 18, tzinfo=UTC).timestamp())
    assert window.bucket_of(NOW) == int(datetime(2026, 12, 6, 18, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("hours", "bucket", "message"),
    [
        (24, "week", "bucket 'week' is not one of 15m, hour, day"),
        (0, "hour", "hours must be more than 0"),
        (-5, "hour", "hours must be more than 0"),
        (24 * 401, "day", "at most 9600"),
        (24 * 30, "15m", "2881 buckets; at most 2000"),
    ],
)
def test_a_window_that_cannot_be_drawn_is_refused_with_the_fix(hours, bucket, message):
    with pytest.raises(UsageError, match=message) as refused:
        StatsWindow.last(NOW, hours=hours, bucket=bucket)
    assert refused.value.hint


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            "ffmpeg exited 1: moov atom not found\n[mov] details",
            "ffmpeg exited 1: moov atom not found",
        ),
        ("x" * 100, "x" * 80),
        ("", "(no message)"),
        (None, "(no message)"),
        ("\nsecond line only", "(no message)"),
    ],
)
def test_a_failure_counts_under_its_first_line(error, reason):
    assert failure_reason(error) == reason


def test_vmaf_bins_hold_100_in_the_top_bin_and_fold_strays():
    assert (vmaf_bin(0.0), vmaf_bin(4.999), vmaf_bin(95.0), vmaf_bin(100.0), vmaf_bin(-3)) == (
        0, 0, 19, 19, 0,
    )  # fmt: skip
    bins = fold_bins([(20, 2), (19, 1), (-1, 4), (3, 5)])
    assert len(bins) == VMAF_BINS and (bins[0], bins[3], bins[19]) == (4, 5, 3)


def test_top_reasons_rank_by_count_then_text_and_keep_ten():
    counts = {f"reason {i:02d}": i % 4 + 1 for i in range(15)}
    ranked = top_reasons(counts)
    assert len(ranked) == 10
    assert ranked[0] == FailureReason("reason 03", 4) and ranked[1] == FailureReason("reason 07", 4)


def test_busy_seconds_are_clipped_to_the_window_and_a_running_attempt_runs_to_its_end():
    window = StatsWindow(NOW - timedelta(hours=1), NOW)
    before = NOW - timedelta(hours=2)
    assert clipped_seconds(window, before, NOW - timedelta(minutes=30)) == 1800
    assert clipped_seconds(window, NOW - timedelta(minutes=10), None) == 600
    assert clipped_seconds(window, before, before + timedelta(minutes=5)) == 0


def test_the_json_has_totals_other_failures_and_averages():
    window = StatsWindow(NOW - timedelta(hours=2), NOW)
    stats = FarmStats(
        window=window,
        throughput=(Throughput(window.first_bucket, "encode", "n1", "completed", 3),
                    Throughput(window.first_bucket, "score", "n1", "failed", 5)),
        failures=(FailureReason("timed out", 4),),
        savings=(Savings("hevc", 3, 9_000, 4_000),),
        busy=(Busy("n1", "GPU-1", "L4", 8, 3600),),
    )  # fmt: skip
    out = stats.to_json()
    assert out["totals"] == {"completed": 3, "failed": 5, "saved_bytes": 5_000,
                             "scored_encodes": 0}  # fmt: skip
    assert out["failures_other"] == 1  # 5 failed, 4 of them under a listed reason
    assert out["busy"][0]["average_jobs"] == 0.5  # one hour of attempts in two
    assert (
        out["throughput"][0]["bucket"]
        == datetime.fromtimestamp(window.first_bucket, UTC).isoformat()
    )
    assert [b["low"] for b in out["vmaf"]["bins"]][:3] == [0, 5, 10]
