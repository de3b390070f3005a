"""Sample plans, the probe cache, the learned prior."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.errors import UsageError
from vmafx.tune.cache import ProbeCache, content_hash, probe_key
from vmafx.tune.history import History
from vmafx.tune.plan import metric, plan_samples, quality_scale
from vmafx.tune.prior import Record, predict
from vmafx.tune.search import Measurement


def test_long_inputs_get_samples_spread_over_them_covering_at_most_a_third() -> None:
    segments = plan_samples(24 * 600, 24.0)
    assert len(segments) == 12
    assert sum(s.frames for s in segments) <= 24 * 600 / 3
    assert segments[0].start < 24 * 60 and segments[-1].start > 24 * 500


def test_an_input_shorter_than_a_sample_has_no_samples() -> None:
    assert plan_samples(30, 24.0) == ()


def test_hardware_av1_uses_the_0_to_63_scale() -> None:
    assert quality_scale("nvenc", "av1").highest == 63
    assert quality_scale("nvenc", "h264").parameter == "cq"


def test_an_unknown_metric_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UsageError, match="vmaf_neg"):
        metric("psnr")


def test_the_cache_survives_a_restart_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "probes.jsonl"
    cache = ProbeCache(path)
    key = probe_key(source="abc", crf=30)
    cache.put(key, Measurement(91.5, 24, 24, 0.4, "sample"))
    with path.open("a") as out:
        out.write('{"key": "torn')
    again = ProbeCache(path)
    found = again.get(key)
    assert found is not None and found.vmaf == 91.5 and found.cached


def test_the_content_hash_follows_the_bytes_not_the_name(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"x" * 1000)
    b.write_bytes(b"x" * 1000)
    assert content_hash(str(a)) == content_hash(str(b))
    b.write_bytes(b"x" * 999 + b"y")
    assert content_hash(str(a)) != content_hash(str(b))


def test_the_prior_learns_from_earlier_searches_of_the_same_encoder(tmp_path: Path) -> None:
    history = History(tmp_path / "history.json")
    history.add(Record("libx264", "fast", "vmaf", 93, 30, -1.0, -0.5))
    history.add(Record("libx265", "fast", "vmaf", 93, 10, -1.0, 0.0))
    prior = predict(history.records(), encoder="libx264", preset="fast", metric="vmaf", target=91)
    assert prior.crf == 32 and prior.sample_bias == -0.5 and "1 earlier search" in prior.source


def test_a_corrupt_history_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text("{not json")
    assert History(path).records() == []
