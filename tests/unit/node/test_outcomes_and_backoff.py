"""What becomes of a job whose handler raised; the backoff of a node whose controller is away."""

from __future__ import annotations

import asyncio
import errno

import pytest

from vmafx.core.messages import NodeRegistration
from vmafx.core.nodes import NodeCapabilities
from vmafx.errors import (
    AuthError,
    FfmpegCancelledError,
    FfmpegError,
    InputNotFoundError,
    NotVideoError,
    OutputWriteError,
    OverloadedError,
    UnavailableError,
)
from vmafx.media.runner import CancelToken
from vmafx.node.backoff import Backoff
from vmafx.node.outcomes import Verdict, decide, is_machine_fault
from vmafx.node.running import CANCELLED_BY_CONTROLLER, SHUTTING_DOWN
from vmafx.node.session import SessionKeeper


def cancelled(reason: str) -> CancelToken:
    token = CancelToken()
    token.cancel(reason)
    return token


def test_a_job_interrupted_by_shutdown_is_released():
    decision = decide(
        FfmpegCancelledError("stopped"), cancelled(SHUTTING_DOWN), attempt=1, node="n"
    )
    assert (decision.verdict, decision.outcome) == (Verdict.RELEASE, "released")
    assert decision.message == "node shutting down (n), job interrupted"


def test_an_ffmpeg_that_got_the_stop_signal_itself_while_the_node_stops_is_released():
    error = FfmpegError(
        "ffmpeg failed while scoring (exit code 255).",
        returncode=255,
        stderr_tail="Exiting normally, received signal 15.",
    )
    decision = decide(error, CancelToken(), attempt=1, node="n", stopping=True)
    assert (decision.verdict, decision.outcome) == (Verdict.RELEASE, "released")
    assert decide(error, CancelToken(), attempt=1, node="n").verdict is Verdict.FAIL
    misfiled = NotVideoError("ffmpeg could not decode /m/a.mp4.", hint="received signal 2.")
    assert decide(misfiled, CancelToken(), attempt=1, node="n", stopping=True).outcome == "released"


def test_a_job_cancelled_by_the_controller_is_reported_failed_with_the_reason():
    token = cancelled(CANCELLED_BY_CONTROLLER)
    decision = decide(FfmpegCancelledError("stopped"), token, attempt=1, node="n")
    assert (decision.verdict, decision.outcome) == (Verdict.FAIL, "cancelled")
    assert decision.message == "cancelled by the controller while running on n"


def test_a_bad_input_fails_the_job_with_its_own_message():
    error = InputNotFoundError("the source /m/a.mov does not exist (any more) on this node.")
    decision = decide(error, CancelToken(), attempt=1, node="n")
    assert (decision.verdict, decision.message) == (Verdict.FAIL, str(error))


def disk_full() -> OutputWriteError:
    try:
        raise OutputWriteError("writing /out/a.mp4 failed: no space left on device.") from OSError(
            errno.ENOSPC, "No space left on device"
        )
    except OutputWriteError as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        FfmpegCancelledError("ffmpeg was killed by signal 9 before it finished."),
        disk_full(),
        MemoryError(),
    ],
)
def test_machine_faults_are_released_to_run_again(error):
    assert is_machine_fault(error)
    decision = decide(error, CancelToken(), attempt=2, node="n")
    assert (decision.verdict, decision.outcome) == (Verdict.RELEASE, "retried")
    assert decision.message.startswith("machine fault on n: ")


def test_a_machine_fault_on_the_third_attempt_fails_the_job():
    decision = decide(disk_full(), CancelToken(), attempt=3, node="n")
    assert decision.verdict is Verdict.FAIL
    assert "no space left on device" in decision.message
    assert "attempt 3 of 3, the last on n" in decision.message


def test_a_bug_in_a_handler_fails_the_job_as_an_internal_error():
    decision = decide(KeyError("width"), CancelToken(), attempt=1, node="n")
    assert decision.message == "internal error on node n: KeyError: 'width'"


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half():
    backoff = Backoff(0.5, 4.0, uniform=lambda low, high: (low, high))  # type: ignore[arg-type,return-value]
    assert [backoff.next_delay() for _ in range(6)] == [
        (0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.0, 4.0), (2.0, 4.0),
    ]  # fmt: skip
    backoff.reset()
    assert backoff.next_delay() == (0.25, 0.5)


class Refusing:
    """A client whose register_node fails `times` times with `error`, then succeeds."""

    def __init__(self, times: int, error: Exception) -> None:
        self.times, self.error, self.calls = times, error, 0

    async def register_node(self, name, capabilities):
        self.calls += 1
        await asyncio.sleep(0)
        if self.calls <= self.times:
            raise self.error
        return NodeRegistration(
            node_id=f"node-{self.calls}", session_token="t", heartbeat_interval_s=10, lease_ttl_s=60
        )


@pytest.mark.anyio
async def test_registration_backs_off_while_the_controller_is_away():
    client = Refusing(4, UnavailableError("controller not reachable"))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    keeper = SessionKeeper(client, "n", NodeCapabilities(), backoff=Backoff(0.5, 30.0), sleep=sleep)  # type: ignore[arg-type]
    session = await keeper.session()
    assert session.node_id == "node-5"
    assert len(slept) == 4
    assert all(0.25 <= delay <= 4.0 for delay in slept)
    assert slept[-1] > slept[0]


@pytest.mark.anyio
async def test_concurrent_callers_share_one_registration():
    client = Refusing(0, UnavailableError("-"))
    keeper = SessionKeeper(client, "n", NodeCapabilities())  # type: ignore[arg-type]
    sessions = await asyncio.gather(*(keeper.session() for _ in range(5)))
    assert client.calls == 1
    assert len({s.node_id for s in sessions}) == 1


@pytest.mark.anyio
async def test_a_refused_token_is_not_retried():
    client = Refusing(1, AuthError("the token is not valid."))
    keeper = SessionKeeper(client, "n", NodeCapabilities())  # type: ignore[arg-type]
    with pytest.raises(AuthError):
        await keeper.session()
    assert client.calls == 1


@pytest.mark.anyio
async def test_a_forgotten_session_is_registered_again_on_next_use():
    client = Refusing(0, UnavailableError("-"))
    keeper = SessionKeeper(client, "n", NodeCapabilities())  # type: ignore[arg-type]
    first = await keeper.session()
    keeper.forget(first)
    second = await keeper.session()
    assert (first.node_id, second.node_id, keeper.registrations) == ("node-1", "node-2", 2)


@pytest.mark.anyio
async def test_a_busy_controller_is_called_again_after_its_retry_after_with_jitter():
    client = Refusing(2, OverloadedError("busy registering", retry_after_s=8.0))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    draws = iter([0.0, 1.0])
    keeper = SessionKeeper(client, "n", NodeCapabilities(), sleep=sleep, jitter=lambda: next(draws))  # type: ignore[arg-type]
    session = await keeper.session()
    assert session.node_id == "node-3"
    assert slept == [8.0, 10.0]  # the retry-after, stretched by 0-25 %
