"""`vmafx nodes drain|resume|concurrency` in process (Typer's CliRunner) against a real
controller (gRPC on loopback, auth on, SQLite) and a fake node driven through the gRPC client:
what the operator types, what the node then hears on its heartbeat, and the claims that follow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from tests.farm import FakeNode, Farm
from tests.integration.cli.test_jobs_cli import run

from vmafx.core.tokens import Role

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(farm: Farm) -> str:
    return farm.token(Role.ADMIN)


@pytest.fixture
def node(farm: Farm, request: pytest.FixtureRequest) -> Iterator[FakeNode]:
    name = f"gpu-{uuid.uuid4().hex[:8]}"
    made = farm.node(name, token=farm.token(Role.NODE), queues=("encode", "score"), slots=2,
                     concurrency={"encode": 1})  # fmt: skip
    yield made
    farm.run(made.close())


def submit_score(farm: Farm, admin: str, queue: str) -> str:
    ref, dis = farm.path("ref.mp4"), farm.path("dis.mp4")
    out = run(farm, admin, "jobs", "submit", "score", ref, dis, "--queue", queue)
    assert out.code == 0, out.stderr
    return out.stdout.split()[3]


def test_drain_then_resume_by_name(farm, admin, node):
    name = _name(farm, node)
    drained = run(farm, admin, "nodes", "drain", name)
    assert drained.code == 0, drained.stderr
    assert f"node {name} drained: it gets no new work." in drained.stdout
    assert f"vmafx nodes resume {name}" in drained.stdout
    assert farm.run(node.client.heartbeat(node.session)).drain
    listed = run(farm, admin, "nodes", "list", "--format", "json").json()
    assert [n["state"] for n in listed if n["name"] == name] == ["draining"]
    resumed = run(farm, admin, "nodes", "resume", name)
    assert (resumed.code, resumed.stdout.strip()) == (
        0,
        f"node {name} resumed: it takes work again.",
    )
    assert not farm.run(node.client.heartbeat(node.session)).drain
    again = run(farm, admin, "nodes", "resume", node.session.node_id, "--format", "json").json()
    assert again == {"node_id": node.session.node_id, "name": name, "was_drained": False}


def test_drain_with_release_jobs_sends_running_jobs_back(farm, admin, node):
    job_id = submit_score(farm, admin, "score")
    farm.run(node.claim("score"))
    out = run(farm, admin, "nodes", "drain", _name(farm, node), "--release-jobs", "--format",
              "json")  # fmt: skip
    assert out.json()["released_job_ids"] == [job_id]
    shown = run(farm, admin, "jobs", "get", job_id, "--format", "json").json()
    assert shown["state"] == "pending"


def test_concurrency_changes_claims_at_once_and_reaches_the_node(farm, admin, node):
    name = _name(farm, node)
    out = run(farm, admin, "nodes", "concurrency", name, "encode=0", "score=2")
    assert out.code == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"node {name}: encode=0, score=2 (2 slots)."
    assert farm.run(node.client.heartbeat(node.session)).concurrency == {"encode": 0, "score": 2}
    submit_encode = run(farm, admin, "jobs", "submit", "encode", farm.path("master.mov"),
                        "--out", farm.path("o.mp4"), "--queue", "encode")  # fmt: skip
    assert submit_encode.code == 0, submit_encode.stderr
    nothing = farm.run(node.client.pull_work(node.session, queues=["encode"], wait_s=0.2))
    assert nothing is None  # encode=0: that queue is off on this node
    listed = run(farm, admin, "nodes", "list", "--format", "json").json()
    [mine] = [n for n in listed if n["name"] == name]
    assert (mine["concurrency"], mine["slots"]) == ({"encode": 0, "score": 2}, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode"], "'encode' is not QUEUE=LIMIT"),
        (["encode=x"], "'encode=x' is not QUEUE=LIMIT"),
        (["encode=65"], "whole number in 0-64"),
        (["thumbnail=1"], "does not take jobs from queue 'thumbnail'"),
    ],
)
def test_bad_limits_are_refused_with_the_fix_and_no_traceback(farm, admin, node, args, message):
    out = run(farm, admin, "nodes", "concurrency", _name(farm, node), *args)
    assert out.code != 0
    assert message in out.stderr and "Traceback" not in out.stderr


def test_an_unknown_node_and_a_token_without_admin_are_explained(farm, admin, node):
    out = run(farm, admin, "nodes", "drain", "no-such-node")
    assert out.code != 0
    assert "no node is called 'no-such-node'" in out.stderr
    assert _name(farm, node) in out.stderr  # the names it knows
    writer = farm.token(Role.WRITER)
    refused = run(farm, writer, "nodes", "resume", _name(farm, node))
    assert refused.code != 0 and "admin" in refused.stderr


def _name(farm: Farm, node: FakeNode) -> str:
    return farm.run(farm.running.service.store.get_node(node.session.node_id)).name


def test_two_live_nodes_of_one_name_are_told_apart_by_id(farm, admin, node):
    name = _name(farm, node)
    twin = farm.node(name, token=farm.token(Role.NODE))
    try:
        out = run(farm, admin, "nodes", "drain", name)
        assert out.code != 0
        assert f"2 live nodes are called {name!r}" in out.stderr
        assert node.session.node_id in out.stderr and "Give the node's id" in out.stderr
        by_id = run(farm, admin, "nodes", "drain", twin.session.node_id[:8])  # an id prefix
        assert by_id.code == 0 and f"node {name} drained" in by_id.stdout
    finally:
        farm.run(twin.close())


def test_nodes_list_shows_each_gpus_load_and_the_limits(farm, admin, node):
    from tests.farm import L4

    from vmafx.core.gpuusage import GpuUsage

    usage = GpuUsage(uuid=L4.uuid, index=0, utilization_pct=37.0, encoder_utilization_pct=61.0,
                     encoder_sessions=2)  # fmt: skip
    farm.run(node.client.heartbeat(node.session, gpu_usage=[usage]))
    name = _name(farm, node)
    [mine] = [n for n in run(farm, admin, "nodes", "list", "--format", "json").json()
              if n["name"] == name]  # fmt: skip
    assert mine["gpu_usage"] == [usage.to_json()] and mine["drain_requested"] is False
    table = run(farm, admin, "nodes", "list").stdout
    [row] = [line for line in table.splitlines() if name in line]
    assert "L4 (22 GB) 37% enc 61%" in row and "encode×1, score" in row
