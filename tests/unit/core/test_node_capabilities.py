"""Node capabilities, sessions and the JSON form stores keep them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core.nodes import GpuInfo, NodeCapabilities, NodeSession, QueueSelection
from vmafx.errors import UsageError

L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=0, memory_mb=23034, driver="550")


def test_capabilities_survive_a_round_trip_through_json():
    caps = NodeCapabilities(
        host="zampp2",
        backends=("cuda", "cpu"),
        gpu_vendor="nvidia",
        gpus=(L4,),
        encoders=("h264_nvenc", "libx264"),
        queues=("encode", "score"),
        slots=3,
        concurrency={"encode": 2, "score": 1},
        labels={"tier": "heavy"},
    )
    assert NodeCapabilities.from_json(caps.to_json()) == caps


def test_vendors_include_every_gpu_and_memory_is_the_largest_gpu():
    arc = GpuInfo(vendor="intel", name="Arc", memory_mb=6144)
    caps = NodeCapabilities(gpu_vendor="nvidia", gpus=(L4, arc))
    assert caps.vendors == {"nvidia", "intel"}
    assert caps.max_gpu_memory_mb == 23034


def test_a_node_needs_a_slot_and_non_negative_concurrency():
    with pytest.raises(UsageError, match="slot"):
        NodeCapabilities(slots=0)
    with pytest.raises(UsageError, match="VMAFX_NODE_CONCURRENCY"):
        NodeCapabilities(concurrency={"encode": -1})


def test_a_session_is_live_until_it_expires_and_its_repr_hides_the_token():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    session = NodeSession(
        id="s1",
        tenant="acme",
        name="zampp2",
        capabilities=NodeCapabilities(),
        token_sha256="f" * 64,
        created_at=start,
        last_seen_at=start,
        expires_at=start + timedelta(seconds=60),
    )
    assert session.is_live(start + timedelta(seconds=60))
    assert not session.is_live(start + timedelta(seconds=61))
    assert "fff" not in repr(session)


def test_queue_selection_admits_allowed_queues_that_are_not_blocked():
    selection = QueueSelection(
        allowed=frozenset({"encode", "score"}), blocked=frozenset({"encode"})
    )
    assert selection.admits("score")
    assert not selection.admits("encode")
    assert not selection.admits("proxy")
    assert QueueSelection(allowed=None).admits("anything")
    assert QueueSelection(allowed=frozenset()).is_empty
