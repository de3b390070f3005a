"""The Nodes page's operator actions in Chromium against a real controller: Drain, Resume and
jobs at once per queue, each reaching the controller (and so the node's next heartbeat); and
the GPU load a node's heartbeat brought."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.farm import L4, FakeNode, Farm

from vmafx.core.gpuusage import GpuUsage

pytestmark = pytest.mark.browser


@pytest.fixture
def steered(farm: Farm) -> Iterator[FakeNode]:
    node = farm.node("steer-l4")
    yield node
    farm.run(node.client.release_jobs(node.session, [], end_session=True))
    farm.run(node.close())


def card(node: FakeNode) -> str:
    return f'article.node[data-id="{node.session.node_id}"]'


def test_drain_resume_and_concurrency_from_the_nodes_page(farm, steered, tab):
    usage = GpuUsage(uuid=L4.uuid, index=0, utilization_pct=37.0,
                     encoder_utilization_pct=61.0, encoder_sessions=2, memory_used_mb=1843,
                     memory_total_mb=23034)  # fmt: skip
    farm.run(steered.client.heartbeat(steered.session, gpu_usage=[usage]))
    tab.open(f"{farm.http_url}/ui/#/nodes")
    load = tab.wait_text(f"{card(steered)} .gpu-load", "GPU 37%")
    assert load == "GPU 37% · encoder 61% · 2 encode sessions · 1.8 / 22.5 GB"
    tab.find(f"{card(steered)} button.drain").click()
    tab.wait_text(f"{card(steered)} .badge", "draining")
    assert farm.run(steered.client.heartbeat(steered.session)).drain  # the node hears it
    tab.find(f"{card(steered)} button.resume").click()
    tab.wait_text(f"{card(steered)} .badge", "live")
    assert not farm.run(steered.client.heartbeat(steered.session)).drain
    field = tab.find(f"{card(steered)} input.limits")
    field.clear()
    field.send_keys("encode=2 score=1")
    tab.find(f"{card(steered)} button.set-concurrency").click()
    tab.wait_text(card(steered), "all queues (encode ×2, score ×1)")
    answer = farm.run(steered.client.heartbeat(steered.session))
    assert answer.concurrency == {"encode": 2, "score": 1}
    tab.screenshot("nodes-actions")


def test_a_bad_limit_is_explained_in_the_card(farm, steered, tab):
    tab.open(f"{farm.http_url}/ui/#/nodes")
    field = tab.find(f"{card(steered)} input.limits")
    field.clear()
    field.send_keys("encode=99")
    tab.find(f"{card(steered)} button.set-concurrency").click()
    error = tab.wait_text(f"{card(steered)} .action-error", "whole number in 0-64")
    assert "encode" in error
    field.clear()
    field.send_keys("encode two")
    tab.find(f"{card(steered)} button.set-concurrency").click()
    tab.wait_text(f"{card(steered)} .action-error", "Write QUEUE=LIMIT pairs")
