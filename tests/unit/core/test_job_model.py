"""Job kinds, states and transitions, queues, requirements, and building a new job."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vmafx.core.jobs import (
    JobKind,
    JobState,
    Requirements,
    can_transition,
    check_queue,
    check_transition,
    default_queue,
    parse_kind,
    parse_state,
)
from vmafx.errors import ConflictError, UsageError
from vmafx.testing import make_job

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SCORE_SPEC = {"reference": "/r.mp4", "distorted": "/d.mp4"}


def test_kinds_are_the_design_s_six_and_the_health_check():
    assert [kind.value for kind in JobKind] == [
        "score",
        "encode",
        "thumbnail",
        "filmstrip",
        "infer",
        "tune",
        "health",
    ]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (JobState.PENDING, JobState.RUNNING),
        (JobState.PENDING, JobState.CANCELLED),
        (JobState.RUNNING, JobState.PENDING),
        (JobState.RUNNING, JobState.COMPLETED),
        (JobState.RUNNING, JobState.FAILED),
        (JobState.RUNNING, JobState.CANCELLED),
    ],
)
def test_allowed_transitions_follow_the_state_machine(source, target):
    assert can_transition(source, target)


@pytest.mark.parametrize("terminal", [JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED])
def test_terminal_states_are_sticky(terminal):
    assert terminal.is_terminal
    assert not any(can_transition(terminal, target) for target in JobState)


def test_a_pending_job_cannot_complete_without_running():
    assert not can_transition(JobState.PENDING, JobState.COMPLETED)


def test_new_job_is_pending_in_the_queue_named_after_its_kind():
    job = make_job(tenant="acme", kind=JobKind.SCORE, spec=SCORE_SPEC, now=NOW)
    assert (job.state, job.queue, job.attempt, job.created_at, job.available_at) == (
        JobState.PENDING,
        "score",
        0,
        NOW,
        NOW,
    )
    assert default_queue(JobKind.THUMBNAIL) == "thumbnail"


@pytest.mark.parametrize("queue", ["proxy", "conform", "trim", "encode", "my-gpu-pool"])
def test_encode_jobs_may_go_to_proxy_conform_trim_or_own_queues(queue):
    assert check_queue(JobKind.ENCODE, queue) == queue


def test_a_score_job_cannot_go_to_a_queue_reserved_for_encodes():
    with pytest.raises(UsageError, match="reserved for encode jobs"):
        check_queue(JobKind.SCORE, "proxy")


def test_a_queue_name_with_odd_characters_is_refused():
    with pytest.raises(UsageError, match="not valid"):
        check_queue(JobKind.SCORE, "Score Queue!")


def test_unknown_kind_and_state_list_the_valid_ones():
    with pytest.raises(UsageError, match="score, encode"):
        parse_kind("transcode")
    with pytest.raises(UsageError, match="pending, running"):
        parse_state("done")
    assert parse_kind("infer") is JobKind.INFER


def test_requirements_refuse_negative_memory_and_non_string_labels():
    with pytest.raises(UsageError, match="min_gpu_memory_mb"):
        Requirements(min_gpu_memory_mb=-1)
    with pytest.raises(UsageError, match="labels"):
        Requirements(labels={"tier": 3})  # type: ignore[dict-item]
    assert Requirements().is_empty


def test_new_job_refuses_out_of_range_priority_and_empty_tenant():
    with pytest.raises(UsageError, match="priority"):
        make_job(tenant="acme", kind=JobKind.SCORE, spec=SCORE_SPEC, now=NOW, priority=10**9)
    with pytest.raises(UsageError, match="tenant"):
        make_job(tenant="", kind=JobKind.SCORE, spec=SCORE_SPEC, now=NOW)


def test_conflict_error_names_the_job_and_the_states():
    with pytest.raises(ConflictError, match="job j1 is completed and cannot become running"):
        check_transition("j1", JobState.COMPLETED, JobState.RUNNING)
