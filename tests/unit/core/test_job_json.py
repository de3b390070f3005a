"""The one JSON form of a job (`vmafx.core.job_json`), which the HTTP API, the CLI's
`--format json` and the MCP tools all print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from vmafx.controller.http import encode
from vmafx.controller.http.schemas import AttemptOut, JobDetailOut, JobOut
from vmafx.core import job_json
from vmafx.core.attempts import Attempt, AttemptOutcome
from vmafx.core.jobs import JobState, Lease
from vmafx.core.messages import JobDetails
from vmafx.core.nodes import GpuInfo
from vmafx.testing import make_job

AT = datetime(2025, 1, 1, 12, 0, 0, 250_731, tzinfo=UTC)
L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1", index=0, memory_mb=23034)


def _details() -> JobDetails:
    job = make_job(
        now=AT,
        state=JobState.RUNNING,
        attempt=1,
        progress=0.5,
        started_at=AT,
        lease=Lease(session_id="s-1", node_name="zampp2-l4", expires_at=AT + timedelta(seconds=30)),
        idempotency_key="upload-4711",
    )
    attempt = Attempt(
        job_id=job.id,
        number=1,
        tenant="acme",
        session_id="s-1",
        node_name="zampp2-l4",
        host="zampp2",
        started_at=AT,
        gpu=L4,
        ended_at=AT + timedelta(seconds=3),
        outcome=AttemptOutcome.COMPLETED,
    )
    return JobDetails(job=job, attempts=(attempt,))


def test_times_are_utc_to_the_millisecond_as_the_http_models_write_them() -> None:
    assert job_json.timestamp(AT) == "2025-01-01T12:00:00.250000Z"
    assert job_json.timestamp(AT.replace(microsecond=999)) == "2025-01-01T12:00:00Z"
    assert job_json.timestamp(AT.astimezone(timezone(timedelta(hours=2)))) == (
        "2025-01-01T12:00:00.250000Z"
    )
    assert job_json.timestamp(None) is None


def test_the_http_models_describe_every_field_the_codec_writes_and_no_other() -> None:
    details = _details()
    body = job_json.details_json(details)
    assert set(body) == set(JobDetailOut.model_fields)
    assert set(job_json.job_json(details.job)) == set(JobOut.model_fields)
    assert set(body["attempts"][0]) == set(AttemptOut.model_fields)


def test_the_http_answer_is_the_codec_json_value_for_value() -> None:
    details = _details()
    assert encode.details_out(details).model_dump(mode="json") == job_json.details_json(details)
    assert encode.job_out(details.job).model_dump(mode="json") == job_json.job_json(details.job)


def test_a_job_json_names_where_it_runs_and_its_lease() -> None:
    details = _details()
    body = job_json.details_json(details)
    assert body["where"] == "zampp2 / L4"
    assert job_json.job_json(details.job)["where"] == "zampp2-l4"  # no attempts: the node
    assert body["lease"] == {
        "node_id": "s-1",
        "node_name": "zampp2-l4",
        "expires_at": "2025-01-01T12:00:30.250000Z",
    }
    assert body["idempotency_key"] == "upload-4711" and body["progress"] == 0.5
