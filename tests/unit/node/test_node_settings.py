"""`vmafx node` settings: comma lists, slot counts, the original platform's names, test hooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmafx.controller.service import ServiceSettings
from vmafx.errors import ConfigError
from vmafx.node.agent import AgentSettings
from vmafx.node.settings import (
    node_settings,
    parse_concurrency,
    parse_queues,
    read_token,
    slot_count,
)


def test_queues_are_a_comma_list_and_unset_means_every_queue():
    assert parse_queues(" encode, score ,,encode") == ("encode", "score")
    assert parse_queues(None) == ()


def test_a_malformed_queue_name_is_refused_naming_the_variable():
    with pytest.raises(ConfigError, match="VMAFX_NODE_QUEUES: queue name 'Encode!'"):
        parse_queues("Encode!")


def test_concurrency_is_a_limit_per_queue():
    assert parse_concurrency("encode=2, score=1,thumbnail=0") == {
        "encode": 2,
        "score": 1,
        "thumbnail": 0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("encode", "'encode' is not QUEUE=LIMIT"),
        ("encode=two", "must be a whole number in 0–64, got 'two'"),
        ("encode=-1", "got '-1'"),
        ("encode=1,encode=2", "queue 'encode' is given twice"),
    ],
)
def test_malformed_concurrency_is_a_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_concurrency(text)


@pytest.mark.parametrize(
    ("queues", "concurrency", "slots", "expected"),
    [
        ((), {}, None, 1),
        ((), {"encode": 2, "score": 1}, None, 3),
        (("encode", "score", "thumbnail"), {"encode": 2}, None, 4),
        (("encode",), {"encode": 2}, 8, 8),
    ],
)
def test_the_slot_count_follows_the_queue_limits(queues, concurrency, slots, expected):
    assert slot_count(queues, concurrency, slots) == expected


def test_a_node_with_every_queue_turned_off_is_refused():
    with pytest.raises(ConfigError, match="0 slots"):
        slot_count(("encode",), {"encode": 0}, None)


def test_settings_come_from_node_variables():
    env = {
        "VMAFX_NODE_CONTROLLER": "farm:9090",
        "VMAFX_NODE_QUEUES": "encode,score",
        "VMAFX_NODE_CONCURRENCY": "encode=2,score=1",
        "VMAFX_NODE_LABELS": "tier=heavy,site=zampp2",
        "VMAFX_NODE_DRAIN_TIMEOUT_S": "5",
        "VMAFX_NODE_BURST": "true",
        "VMAFX_NODE_DECLARED_ENCODERS": "h264_nvenc",
    }
    settings = node_settings(env=env)
    assert settings.controller == "farm:9090"
    assert settings.queues == ("encode", "score")
    assert settings.concurrency == {"encode": 2, "score": 1}
    assert settings.labels == {"tier": "heavy", "site": "zampp2"}
    assert (settings.drain_timeout_s, settings.burst, settings.slot_count) == (5.0, True, 3)
    assert settings.declared_encoders == ("h264_nvenc",)


def test_the_original_platforms_controller_address_is_understood():
    env = {"VMAFX_CONTROLLER_ADDR": "ctl:9090", "VMAFX_CONTROLLER_TOKEN_FILE": "/run/t"}
    settings = node_settings(env=env)
    assert (settings.controller, settings.token_file) == ("ctl:9090", Path("/run/t"))


def test_flags_win_over_variables():
    env = {"VMAFX_NODE_CONTROLLER": "a:1", "VMAFX_CONTROLLER_ADDR": "b:2"}
    assert node_settings(env=env).controller == "a:1"
    assert node_settings(flags={"controller": "c:3"}, env=env).controller == "c:3"


def test_a_limit_for_a_queue_the_node_does_not_pull_from_is_refused():
    env = {"VMAFX_NODE_QUEUES": "score", "VMAFX_NODE_CONCURRENCY": "encode=2"}
    with pytest.raises(ConfigError, match="names queue 'encode', which the node does not"):
        node_settings(env=env)


def test_the_token_file_is_read_and_stripped(tmp_path):
    path = tmp_path / "node.token"
    path.write_text("vmafx_abc123\n")
    assert read_token(path) == "vmafx_abc123"
    assert read_token(None) is None


@pytest.mark.parametrize("content", [None, ""])
def test_a_missing_or_empty_token_file_is_a_config_error(tmp_path, content):
    path = tmp_path / "node.token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match="token file"):
        read_token(path)


def test_the_decode_mode_is_checked(tmp_path):
    assert node_settings(env={}).decode == "cpu"
    assert node_settings(env={"VMAFX_NODE_DECODE": "auto"}).decode == "auto"
    with pytest.raises(ConfigError, match="VMAFX_NODE_DECODE is 'gpu'"):
        node_settings(env={"VMAFX_NODE_DECODE": "gpu"})


def test_a_node_long_polls_20_s_by_default_within_the_controllers_cap():
    # A waiting puller costs the controller no store work, so fewer, longer calls are cheaper.
    default = node_settings(env={}).poll_wait_s
    assert default == AgentSettings(name="n").poll_wait_s == 20.0
    assert default < ServiceSettings().max_wait_s
    assert node_settings(env={"VMAFX_NODE_POLL_WAIT_S": "5"}).poll_wait_s == 5.0
