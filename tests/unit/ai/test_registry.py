"""registry.json: round trip, version policies, and what is never served."""

from __future__ import annotations

import json

import pytest

from vmafx.ai.checkpoints import checkpoint_name
from vmafx.ai.figures import Figures
from vmafx.ai.registry import (
    ModelStatus,
    ModelVersion,
    Policy,
    Registry,
    next_version,
    parse_policy,
    read_registry,
    registry_path,
    write_registry,
)
from vmafx.errors import ConfigError, ModelError

STAMP = "2026-01-01T00:00:00+00:00"


def version(v: int, status: str) -> ModelVersion:
    return ModelVersion(v, checkpoint_name(v), f"{v:064x}", ModelStatus(status), STAMP)


def registry(*statuses: str) -> Registry:
    return Registry(
        tuple(version(i + 1, s) for i, s in enumerate(statuses)), "vmafx-features-v1", 80, STAMP
    )


def test_latest_stable_serves_the_newest_active_version():
    assert registry("active", "active", "candidate", "quarantined").stable().version == 2


def test_latest_serves_the_newest_version_that_is_not_quarantined():
    assert registry("active", "candidate", "quarantined").select(Policy("latest")).version == 2


def test_a_quarantined_version_is_never_served_even_when_pinned():
    reg = registry("active", "quarantined")
    assert reg.select(parse_policy("pinned:2")) is None
    assert reg.select(parse_policy("pinned:1")).version == 1
    assert reg.select(parse_policy("pinned:9")) is None


def test_no_version_fits_when_nothing_passed_the_gate():
    assert registry("candidate", "quarantined").stable() is None


@pytest.mark.parametrize("text", ["stable", "pinned:", "pinned:x", "latest-stabel"])
def test_an_unknown_policy_is_a_config_error(text):
    with pytest.raises(ConfigError, match="latest-stable, latest, pinned:<version>"):
        parse_policy(text)


def test_the_registry_round_trips_through_its_file(tmp_path):
    entry = ModelVersion(
        3,
        checkpoint_name(3),
        "ab" * 32,
        ModelStatus.quarantined,
        STAMP,
        step=120,
        samples=1920,
        figures=Figures(0.9, 0.88, 4.5, 50),
        baseline_version=2,
        baseline_figures=Figures(0.95, 0.94, 3.0, 50),
        reason="PLCC drop",
    )
    reg = registry("active", "active").with_version(entry, updated_at=STAMP)
    write_registry(tmp_path, reg)
    back = read_registry(tmp_path)
    assert back == reg
    data = json.loads(registry_path(tmp_path).read_text())
    assert data["format"] == "vmafx-model-registry-v1"
    assert data["versions"][2]["figures"] == {"plcc": 0.9, "srocc": 0.88, "rmse": 4.5, "n": 50}
    assert data["versions"][2]["baseline"]["version"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["registry.json"]  # no temporary left


def test_adding_a_version_replaces_the_entry_of_the_same_number():
    reg = registry("candidate").with_version(version(1, "active"), updated_at="later")
    assert [(v.version, v.status) for v in reg.versions] == [(1, ModelStatus.active)]
    assert reg.updated_at == "later"


def test_a_missing_registry_is_none_and_an_unreadable_one_is_an_error(tmp_path):
    assert read_registry(tmp_path) is None
    registry_path(tmp_path).write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        read_registry(tmp_path)
    registry_path(tmp_path).write_text('{"format": "other", "versions": []}')
    with pytest.raises(ModelError, match="format is 'other'"):
        read_registry(tmp_path)


def test_the_next_version_skips_files_left_by_a_crash(tmp_path):
    assert next_version(tmp_path, None) == 1
    (tmp_path / checkpoint_name(7)).write_bytes(b"x")
    assert next_version(tmp_path, registry("active", "active")) == 8
    assert next_version(tmp_path / "absent", registry("active")) == 2
