"""Conversions between core values and the gRPC messages, as original clients see them."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest

from vmafx.api import convert as cv
from vmafx.api import nodeconvert as nc
from vmafx.api.pb import controller_pb2 as pb
from vmafx.core.attempts import Attempt, AttemptOutcome, Attribution
from vmafx.core.clock import FakeClock
from vmafx.core.jobs import JobKind, JobState, Lease, Requirements
from vmafx.core.messages import Claim, RunningJob
from vmafx.core.nodes import GpuInfo, NodeCapabilities
from vmafx.core.specs import ScoreSpec
from vmafx.errors import UsageError
from vmafx.testing import make_job

NOW = FakeClock().now()
L4 = GpuInfo(vendor="nvidia", name="NVIDIA L4", uuid="GPU-1", index=0, memory_mb=23034)


def _score_job(**changes):
    spec = {"reference": "/m/ref.mp4", "distorted": ["/m/a.mp4", "/m/b.mp4"]}
    return make_job(spec=spec, now=NOW, **changes)


def test_an_original_submission_with_only_scoring_is_a_score_job():
    message = pb.SubmitJobRequest(
        scoring=pb.ScoringParams(reference="/r.y4m", distorted="/d.y4m", model="m", backend="cuda")
    )
    request = cv.job_request_from_pb(message)
    assert request.kind is JobKind.SCORE
    assert request.spec == ScoreSpec(reference="/r.y4m", distorted=("/d.y4m",), models=("m",))
    assert request.requirements.backend == "cuda"


def test_spec_json_extends_scoring_for_a_score_job():
    message = pb.SubmitJobRequest(
        scoring=pb.ScoringParams(reference="/r.y4m", distorted="/d.y4m"),
        spec_json='{"subsample": 5}',
    )
    spec = cv.job_request_from_pb(message).spec
    assert isinstance(spec, ScoreSpec) and spec.subsample == 5


def test_an_unknown_kind_is_refused_listing_the_kinds():
    with pytest.raises(UsageError, match="unknown job kind 'transcode'"):
        cv.job_request_from_pb(pb.SubmitJobRequest(kind="transcode", spec_json="{}"))


@pytest.mark.parametrize(("text", "problem"), [("{nope", "not valid JSON"), ("[1]", "JSON object")])
def test_bad_spec_json_is_refused_precisely(text, problem):
    with pytest.raises(UsageError, match=problem):
        cv.job_request_from_pb(pb.SubmitJobRequest(kind="encode", spec_json=text))


def test_a_completed_score_job_shows_the_original_fields():
    attempt = Attempt(
        job_id="j", number=1, tenant="acme", session_id="node-7", node_name="zampp2",
        host="zampp2", started_at=NOW, gpu=L4, outcome=AttemptOutcome.COMPLETED, ended_at=NOW,
    )  # fmt: skip
    job = _score_job(
        state=JobState.COMPLETED,
        attempt=1,
        result={"results": [{"pooled": {"psnr_y": {"mean": 40.0}, "vmaf": {"mean": 93.5}}}]},
        updated_at=NOW + timedelta(seconds=42),
    )
    message = cv.job_to_pb(job, (attempt,))
    assert message.status == pb.COMPLETED
    assert message.final_score == 93.5
    assert message.assigned_node == "node-7"
    assert message.scoring.distorted == "/m/a.mp4"
    assert message.scoring.model == "vmaf_v0.6.1"
    assert message.updated_at - message.created_at == 42
    assert message.attribution.gpu_model == "NVIDIA L4"
    assert message.attempts[0].outcome == "completed"


def test_final_score_is_zero_until_completed():
    assert cv.job_to_pb(_score_job(result={"score": 50.0})).final_score == 0.0


def test_a_running_job_names_the_node_holding_its_lease():
    lease = Lease(session_id="node-9", node_name="box", expires_at=NOW)
    message = cv.job_to_pb(_score_job(state=JobState.RUNNING, lease=lease, progress=0.25))
    assert (message.status, message.assigned_node) == (pb.RUNNING, "node-9")
    assert message.progress.percent == 25.0


def test_other_kinds_leave_scoring_unset():
    message = cv.job_to_pb(make_job(JobKind.ENCODE, now=NOW))
    assert not message.HasField("scoring")
    assert json.loads(message.spec_json)["codec"] == "h264"


def test_a_job_reads_back_through_the_message():
    job = _score_job(priority=3, requirements=Requirements(labels={"tier": "heavy"}), batch_id="b")
    back = cv.job_from_pb(cv.job_to_pb(job))
    assert (back.id, back.kind, back.spec, back.priority) == (job.id, job.kind, job.spec, 3)
    assert back.requirements == job.requirements
    assert back.batch_id == "b"


def test_a_running_job_reads_back_whole_through_the_message():
    lease = Lease(session_id="node-9", node_name="box", expires_at=NOW + timedelta(seconds=30))
    job = _score_job(
        state=JobState.RUNNING, attempt=2, lost_leases=1, lease=lease, started_at=NOW,
        available_at=NOW + timedelta(seconds=5), updated_at=NOW + timedelta(seconds=1.5),
    )  # fmt: skip
    message = cv.job_to_pb(job)
    message.attribution.node_name = "box"
    assert cv.job_from_pb(message) == job


def test_a_job_from_an_older_controller_gets_no_lease_or_times_made_up():
    message = pb.Job(
        id="j", status=pb.RUNNING, assigned_node="node-9", created_at=1_700_000_000,
        updated_at=1_700_000_005, kind="score", spec_json="{}",
    )  # fmt: skip
    job = cv.job_from_pb(message)
    assert job.lease is None
    assert job.created_at.timestamp() == job.available_at.timestamp() == 1_700_000_000
    assert job.updated_at.timestamp() == 1_700_000_005


def test_an_original_node_capability_is_a_node_of_that_many_slots():
    caps = nc.capabilities_from_pb(
        pb.NodeCapability(gpu_vendor="nvidia", backends=["cuda"], concurrency=3)
    )
    assert (caps.slots, caps.backends, caps.queues, caps.gpu_vendor) == (3, ("cuda",), (), "nvidia")


def test_capabilities_read_back_through_the_message():
    caps = NodeCapabilities(
        host="zampp2", backends=("cuda",), gpu_vendor="nvidia", gpus=(L4,), encoders=("h264_nvenc",),
        queues=("encode", "score"), slots=3, concurrency={"encode": 2, "score": 1}, labels={"t": "h"},
    )  # fmt: skip
    assert nc.capabilities_from_pb(nc.capabilities_to_pb(caps)) == caps


def test_a_claim_carries_attempt_lease_and_scoring_roots():
    lease = Lease(session_id="n", node_name="n", expires_at=NOW)
    job = _score_job(state=JobState.RUNNING, attempt=2, lease=lease)
    message = nc.claim_to_pb(Claim(job=job, lease_ttl_s=60, scoring_roots=("/media",)))
    assert (message.job.attempt, message.job.lease_ms, list(message.job.scoring_roots)) == (
        2, 60_000, ["/media"],
    )  # fmt: skip
    assert not nc.claim_to_pb(None).HasField("job")


def test_a_report_with_a_non_finite_score_is_refused():
    with pytest.raises(UsageError, match="nan"):
        nc.report_from_pb(pb.ReportResultRequest(job_id="j", final=True, score=math.nan))
    with pytest.raises(UsageError, match="feature adm2"):
        nc.report_from_pb(pb.ReportResultRequest(job_id="j", features={"adm2": math.inf}))


def test_a_report_reads_back_through_the_message():
    report = nc.report_from_pb(
        nc.report_to_pb(
            "n", "t",
            nc.NodeReport(job_id="j", attempt=2, result={"x": 1}, attribution=Attribution(gpu=L4, encoder="libx264", fallback=True)),
        )
    )  # fmt: skip
    assert (report.attempt, report.result, report.attribution.encoder) == (2, {"x": 1}, "libx264")
    assert report.attribution.fallback
    assert report.attribution.gpu.name == "NVIDIA L4"


def test_running_jobs_read_back_with_progress():
    running = RunningJob(job_id="j", attempt=1, progress=0.5, frames=100, fps=24.0, eta_s=3.0)
    assert nc.running_from_pb(nc.running_to_pb(running)) == running


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("depth", [40, 100_000])
def test_spec_json_nested_too_deep_is_refused_naming_the_limit(depth):
    with pytest.raises(UsageError, match="spec_json nests JSON more than 32 levels deep"):
        cv.job_request_from_pb(pb.SubmitJobRequest(kind="encode", spec_json=_nested(depth)))


def test_result_json_nested_too_deep_is_refused_naming_the_field():
    message = pb.ReportResultRequest(result_json=_nested(100_000))
    with pytest.raises(UsageError, match="result_json nests JSON more than 32 levels deep"):
        nc.report_from_pb(message)


def test_an_attempt_read_over_grpc_keeps_its_gpu_memory_and_driver():
    job = _score_job()
    gpu = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=1, memory_mb=23034, driver="550")
    attempt = Attempt(
        job_id=job.id,
        number=1,
        tenant=job.tenant,
        session_id="s-1",
        node_name="zampp2-l4",
        host="zampp2",
        started_at=NOW,
        gpu=gpu,
        ended_at=NOW + timedelta(seconds=2),
        outcome=AttemptOutcome.COMPLETED,
    )
    assert cv.attempt_from_pb(cv.attempt_to_pb(attempt), job) == attempt


def test_times_cross_the_wire_to_the_millisecond_exactly():
    at = NOW.replace(microsecond=123_999)
    assert cv.from_millis(cv.millis(at)) == at.replace(microsecond=123_000)
