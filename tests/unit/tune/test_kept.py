"""Which farm probe is which content's (`vmafx.tune.kept`): a key per source content and
encode spec, a probe named back from its child key, and which measurements may be kept."""

from __future__ import annotations

from typing import Any

import pytest

from vmafx.core.specs import TuneSpec
from vmafx.tune.farm import Child, TuneDriver
from vmafx.tune.kept import cache_key, keepable, probe_for

IDENTITY = {"source_sha256": "ab" * 32, "source_size": 1000, "source_mtime_ns": 7}
FACTS = {"source_frames": 240, "source_fps": 24.0, "source_width": 160, "source_height": 90}


def driver(**fields: Any) -> TuneDriver:
    body = {"source": "/media/src.y4m", "codec": "h264", "target_vmaf": 90,
            "output": "/o/x.mkv", **IDENTITY, **FACTS, **fields}  # fmt: skip
    return TuneDriver("t1", TuneSpec.from_json(body), "libx264")


def keys(d: TuneDriver, crf: float, stage: str) -> list[str | None]:
    return [cache_key(d, p) for p in d.probes_at(crf, stage, None)]


def test_the_key_follows_content_and_encode_settings_not_paths_or_job_ids():
    base = keys(driver(), 27, "full")
    assert base == keys(driver(output="/elsewhere/y.mkv", source="/other/name.y4m"), 27, "full")
    assert base == keys(TuneDriver("t2", driver().spec, "libx264"), 27, "full")
    for other in (
        keys(driver(), 28, "full"),
        keys(driver(preset="slow"), 27, "full"),
        keys(driver(metric="vmaf_neg"), 27, "full"),
        keys(driver(scale={"width": 96, "height": 54}), 27, "full"),
        keys(driver(source_sha256="cd" * 32), 27, "full"),
    ):
        assert other != base
    samples = keys(driver(), 27, "cheap")
    assert len(samples) == len(set(samples)) >= 2 and base[0] not in samples


def test_without_the_source_identity_nothing_has_a_key():
    bare = {"source_sha256": None, "source_size": None, "source_mtime_ns": None}
    assert keys(driver(**bare), 27, "full") == [None]


def test_half_an_identity_is_refused_where_the_spec_enters():
    from vmafx.errors import UsageError

    with pytest.raises(UsageError, match="give all three"):
        driver(source_size=None)


@pytest.mark.parametrize(("stage", "size"), [("full", None), ("cheap", None), ("full", (96, 54))])
def test_a_child_key_names_its_probe_back(stage, size):
    d = driver()
    for probe in d.probes_at(23, stage, size):
        assert probe_for(d, probe.key) == probe
    assert probe_for(d, "deliver:full:23") is None
    assert probe_for(d, "full:not-a-number") is None


def child(**result: Any) -> Child:
    body = {"score_after": {"vmaf": 91.0, "frame_count": 24},
            "source_stat": {"size": 1000, "mtime_ns": 7}, **result}  # fmt: skip
    return Child("full:27", "j1", "completed", body)


def test_only_a_measurement_of_the_hashed_file_is_kept():
    d = driver()
    assert keepable(d, child())
    assert not keepable(d, child(source_stat={"size": 1000, "mtime_ns": 8}))
    assert not keepable(d, child(source_stat={"size": 1001, "mtime_ns": 7}))
    assert not keepable(d, child(source_stat=None))
    assert not keepable(d, child(score_after={"error": "scoring failed"}))
    cached = Child("full:27", "j1", "completed", child().result, cached=True)
    assert not keepable(d, cached)
    bare = {"source_sha256": None, "source_size": None, "source_mtime_ns": None}
    assert not keepable(driver(**bare), child())
