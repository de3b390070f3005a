"""Matching jobs to nodes, with the reasons a job cannot run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vmafx.core.jobs import JobKind, Requirements
from vmafx.core.nodes import GpuInfo, NodeCapabilities, NodeSession
from vmafx.scheduler.matching import (
    can_run,
    explain_unschedulable,
    open_queues,
    unmet_requirements,
    why_not,
)
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
L4 = GpuInfo(vendor="nvidia", name="L4", memory_mb=23034)
T4 = GpuInfo(vendor="nvidia", name="T4", memory_mb=15360)
ARC = GpuInfo(vendor="intel", name="Arc A380", memory_mb=6144)


def job(kind=JobKind.ENCODE, queue=None, **requirements):
    return make_job(kind, now=NOW, queue=queue, requirements=Requirements(**requirements))


def session(name, **caps):
    return NodeSession(
        id=name,
        tenant="acme",
        name=name,
        capabilities=NodeCapabilities(**caps),
        token_sha256="0" * 64,
        created_at=NOW,
        last_seen_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
    )


def test_a_job_without_requirements_runs_on_any_subscribed_node():
    assert can_run(job(), NodeCapabilities())


def test_a_job_needing_a_verified_encoder_skips_nodes_that_only_list_it_elsewhere():
    reasons = unmet_requirements(
        Requirements(encoder="hevc_nvenc"), NodeCapabilities(encoders=("libx265",))
    )
    assert reasons == ["needs encoder hevc_nvenc (not verified on this node)"]


def test_backend_must_be_advertised_by_the_node():
    reasons = unmet_requirements(Requirements(backend="cuda"), NodeCapabilities(backends=("cpu",)))
    assert reasons == ["needs backend cuda (node offers cpu)"]


def test_gpu_vendor_matches_the_advertised_vendor_or_any_gpu():
    assert (
        unmet_requirements(
            Requirements(gpu_vendor="intel"), NodeCapabilities(gpu_vendor="nvidia", gpus=(L4, ARC))
        )
        == []
    )
    assert unmet_requirements(Requirements(gpu_vendor="amd"), NodeCapabilities()) == [
        "needs a amd GPU (node has cpu)"
    ]


def test_min_gpu_memory_needs_one_gpu_that_large_of_the_wanted_vendor():
    heavy = Requirements(gpu_vendor="intel", min_gpu_memory_mb=16000)
    reasons = unmet_requirements(heavy, NodeCapabilities(gpus=(L4, ARC)))
    assert reasons == ["needs a GPU with at least 16000 MB (largest here: 6144 MB)"]
    assert (
        unmet_requirements(Requirements(min_gpu_memory_mb=16000), NodeCapabilities(gpus=(T4, L4)))
        == []
    )


def test_labels_must_all_match_and_the_reason_names_what_the_node_has():
    caps = NodeCapabilities(labels={"tier": "light"})
    reasons = unmet_requirements(Requirements(labels={"tier": "heavy", "zone": "eu"}), caps)
    assert reasons == [
        "needs label tier=heavy (node has tier=light)",
        "needs label zone=eu (node has no zone)",
    ]


def test_a_node_never_takes_jobs_from_queues_it_does_not_subscribe_to():
    assert why_not(job(queue="proxy"), NodeCapabilities(queues=("encode",))) == [
        "not subscribed to queue proxy (subscribed: encode)"
    ]
    assert why_not(job(), NodeCapabilities(concurrency={"encode": 0})) == [
        "runs no encode jobs (concurrency 0)"
    ]


def test_explanation_says_why_each_node_cannot_run_the_job():
    nodes = [session("weak", gpus=(T4,)), session("cpu")]
    reason = explain_unschedulable(job(min_gpu_memory_mb=20000), nodes)
    assert reason.startswith("no live node can run it")
    assert "weak: needs a GPU with at least 20000 MB (largest here: 15360 MB)" in reason
    assert "cpu: needs a GPU with at least 20000 MB (largest here: 0 MB)" in reason


def test_no_explanation_when_one_node_can_run_the_job():
    nodes = [session("weak", gpus=(T4,)), session("strong", gpus=(L4,))]
    assert explain_unschedulable(job(min_gpu_memory_mb=20000), nodes) is None


def test_explanation_with_no_live_nodes_says_so_and_long_lists_are_summarised():
    assert explain_unschedulable(job(), []) == "no live node is registered"
    many = [session(f"n{i}", queues=("score",)) for i in range(7)]
    assert explain_unschedulable(job(), many).endswith("and 3 more nodes")


def test_open_queues_blocks_queues_at_their_limit_and_everything_when_slots_are_full():
    caps = NodeCapabilities(slots=3, concurrency={"encode": 2, "score": 1})
    selection = open_queues(caps, {"encode": 2})
    assert not selection.admits("encode")
    assert selection.admits("score")
    assert selection.admits("thumbnail")
    assert open_queues(caps, {"encode": 2, "score": 1}).is_empty


def test_open_queues_narrows_the_subscription_to_the_queues_asked_for():
    caps = NodeCapabilities(queues=("encode", "score"), slots=4)
    selection = open_queues(caps, {}, wanted=["score", "proxy"])
    assert selection.allowed == {"score"}
    assert open_queues(NodeCapabilities(slots=2), {}, wanted=["proxy"]).allowed == {"proxy"}
