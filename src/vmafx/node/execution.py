"""Running one claimed job: its handler on a worker thread, progress to the controller at a
bounded rate, then one final report (or a release), retried while the controller is away.

The job stays in `RunningJobs` until its report is in, so heartbeats keep its lease alive
while the report is retried.

Each handler runs on a thread of its own. When its job is cancelled (by the controller, for a
lost lease, or at shutdown) the handler has `abandon_after_s` to stop (ffmpeg is terminated
through the cancel token); a handler stuck in a blocking call that ignores the token (an `open`
of a FIFO that nobody writes) is abandoned: its thread is left behind and counted
(`vmafx_node_handlers_abandoned_total`), the job is settled as cancelled, and the slot is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping

from vmafx.client.port import ControllerClient
from vmafx.core.attempts import Attribution
from vmafx.core.jobs import JobKind
from vmafx.core.messages import Claim, NodeRegistration, NodeReport
from vmafx.core.specs import check_finite_json, parse_spec
from vmafx.errors import UnavailableError, UsageError, VmafxError
from vmafx.media.runner import KILL_GRACE_S
from vmafx.node.backoff import Backoff
from vmafx.node.handlers.base import Handler, JobContext, JobOutput, JobProgress
from vmafx.node.metrics import NodeMetrics
from vmafx.node.outcomes import Verdict, decide, describe
from vmafx.node.placement import GpuPool
from vmafx.node.running import CANCELLED_BY_CONTROLLER, RunningJobs, RunningTask

log = logging.getLogger(__name__)

#: Tries of a final report (or release) before it is given up (the lease then expires).
REPORT_TRIES = 8


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionSettings:
    node_name: str
    #: Seconds between two heartbeats naming one running job (its progress, and how its
    #: cancel is heard: a cancelled job's ffmpeg stops about this long after the cancel).
    progress_interval_s: float = 1.0
    report_backoff_base_s: float = 0.5
    report_backoff_cap_s: float = 15.0
    #: After a cancel: how long the handler may take to stop before its thread is abandoned.
    abandon_after_s: float = KILL_GRACE_S + 2.0


class JobExecutor:
    def __init__(
        self,
        client: ControllerClient,
        handlers: Mapping[JobKind, Handler],
        running: RunningJobs,
        settings: ExecutionSettings,
        *,
        gpus: GpuPool | None = None,
        metrics: NodeMetrics | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.handlers = handlers
        self.running = running
        self.settings = settings
        self.gpus = gpus or GpuPool()
        self.metrics = metrics
        self.stopping = stopping
        self.progress_reports = 0
        #: Handlers that did not stop after their job was cancelled; their threads are left.
        self.abandoned = 0

    async def execute(self, claim: Claim, session: NodeRegistration) -> None:
        """Run `claim`'s job to its end and tell the controller how it ended."""
        task = RunningTask(claim, session)
        self.running.add(task)
        self._count_running()
        job = claim.job
        log.info(
            "job %s started (%s, attempt %d)",
            job.id,
            job.kind,
            job.attempt,
            extra={"job_id": job.id, "kind": job.kind, "attempt": job.attempt},
        )
        try:
            output, error = await self._run(task)
            outcome = await self._settle(task, output, error)
        finally:
            self.running.remove(task)
            self._count_running()
        if self.metrics is not None:
            self.metrics.job_ended(job.kind.value, outcome, time.monotonic() - task.started)
        log.info("job %s %s", job.id, outcome, extra={"job_id": job.id, "outcome": outcome})

    def _count_running(self) -> None:
        if self.metrics is not None:
            self.metrics.running.set(len(self.running))

    async def _run(self, task: RunningTask) -> tuple[JobOutput | None, BaseException | None]:
        job = task.claim.job
        handler = self.handlers.get(job.kind)
        if handler is None:
            kinds = ", ".join(sorted(kind.value for kind in self.handlers))
            error = UsageError(
                f"node {self.settings.node_name} has no handler for {job.kind} jobs "
                f"(it runs {kinds}), yet it was subscribed to queue {job.queue!r}.",
                hint="Take that queue out of the node's VMAFX_NODE_QUEUES.",
            )
            return None, error

        def on_progress(progress: JobProgress) -> None:
            task.progress = progress

        try:
            spec = parse_spec(job.kind, job.spec)  # once: handlers take the typed spec
        except UsageError as error:
            return None, error
        context = JobContext(
            job=job,
            spec=spec,
            scoring_roots=task.claim.scoring_roots,
            signed_inputs=task.claim.signed_inputs,
            signed_outputs=task.claim.signed_outputs,
            cancel=task.cancel,
            progress=on_progress,
            gpus=self.gpus,
        )
        future = _start_handler(handler, context, name=f"vmafx-job-{job.id}")
        await self._pump_progress(task, future)
        if not future.done():
            future.cancel()  # what the abandoned thread ends with is dropped
            return None, self._abandon(task)
        try:
            return future.result(), None
        except Exception as error:  # every failure becomes a report, never a dead slot
            if not isinstance(error, VmafxError):
                log.exception("handler crashed", extra={"job_id": job.id})
            return None, error

    def _abandon(self, task: RunningTask) -> VmafxError:
        """The handler ignored its cancel: leave its thread behind and free the slot."""
        self.abandoned += 1
        if self.metrics is not None:
            self.metrics.abandoned.inc()
        message = (
            f"the handler of job {task.job_id} did not stop within "
            f"{self.settings.abandon_after_s:g} s of being cancelled ({task.cancel.reason}); "
            "its thread is abandoned (stuck in a blocking call) and the slot is free again"
        )
        log.error(
            "%s; %d abandoned on this node so far",
            message,
            self.abandoned,
            extra={"job_id": task.job_id},
        )
        return VmafxError(message + ".")

    async def _pump_progress(self, task: RunningTask, future: asyncio.Future[JobOutput]) -> None:
        """Send a heartbeat naming the job every `progress_interval_s` until it ends (or until
        `abandon_after_s` after a cancel, when it does not end), whether or not its progress
        moved: the answer is how a cancel reaches a running job within about that interval
        (an encoder that writes no frame for minutes, libaom, is stopped as promptly)."""
        cancelled_at: float | None = None
        while True:
            wait_s = self.settings.progress_interval_s
            if cancelled_at is None and task.cancel.cancelled:
                cancelled_at = time.monotonic()
            if cancelled_at is not None:
                left = cancelled_at + self.settings.abandon_after_s - time.monotonic()
                if left <= 0:
                    return
                wait_s = min(wait_s, left)
            done, _ = await asyncio.wait({future}, timeout=wait_s)
            if done:
                return
            if not task.cancel.cancelled:
                await self._send_progress(task)

    async def _send_progress(self, task: RunningTask) -> None:
        """A heartbeat naming this one job: progress has one channel (the heartbeat) and one
        type (`RunningJob`); it renews the job's lease and hears of its cancel at once."""
        try:
            answer = await self.client.heartbeat(
                task.session, running=[task.running_job()], draining=self.stopping()
            )
        except VmafxError as error:  # best effort: the next beat carries the progress again
            log.debug("progress not sent", extra={"job_id": task.job_id, "error": str(error)})
            return
        self.progress_reports += 1
        if task.job_id in answer.cancel_job_ids:
            self.running.cancel(task.job_id, CANCELLED_BY_CONTROLLER)

    async def _settle(
        self, task: RunningTask, output: JobOutput | None, error: BaseException | None
    ) -> str:
        """Report or release the job; returns the outcome label for the metrics."""
        if output is not None:
            try:
                check_finite_json(output.result)
            except UsageError as bad:
                output, error = None, bad
        if output is not None:
            await self._deliver(task, self._completion(task, output))
            return "completed"
        assert error is not None
        job = task.claim.job
        decision = decide(
            error,
            task.cancel,
            attempt=job.attempt,
            node=self.settings.node_name,
            stopping=self.stopping(),
        )
        if decision.verdict is Verdict.RELEASE:
            log.warning("job handed back: %s", decision.message, extra={"job_id": job.id})
            await self._release(task, decision.message)
        else:
            log.warning("job failed: %s", decision.message, extra={"job_id": job.id})
            report = NodeReport(
                job_id=job.id,
                attempt=job.attempt,
                error=decision.message,
                attribution=Attribution(gpu=self.gpus.only),
            )
            await self._deliver(task, report)
        return decision.outcome

    def _completion(self, task: RunningTask, output: JobOutput) -> NodeReport:
        if output.fallback is not None and self.metrics is not None:
            fallback = output.fallback
            self.metrics.fell_back(fallback.from_encoder, fallback.to_encoder)
        return NodeReport(
            job_id=task.job_id,
            attempt=task.claim.job.attempt,
            result=output.result,
            score=output.score,
            features=dict(output.features),
            attribution=Attribution(
                gpu=output.gpu or self.gpus.only,
                encoder=output.encoder,
                fallback=output.fallback is not None,
            ),
        )

    async def _deliver(self, task: RunningTask, report: NodeReport) -> None:
        await self._retrying(
            task, "report", lambda: self.client.report_result(task.session, report)
        )

    async def _release(self, task: RunningTask, reason: str) -> None:
        await self._retrying(
            task,
            "release",
            lambda: self.client.release_jobs(task.session, [task.ref], reason=reason),
        )

    async def _retrying(
        self, task: RunningTask, what: str, call: Callable[[], Awaitable[object]]
    ) -> None:
        """Make `call`, again while the controller is unavailable (up to REPORT_TRIES)."""
        backoff = Backoff(self.settings.report_backoff_base_s, self.settings.report_backoff_cap_s)
        extra = {"job_id": task.job_id}
        for attempt in range(1, REPORT_TRIES + 1):
            try:
                answer = await call()
            except UnavailableError as error:
                if attempt == REPORT_TRIES:
                    log.error("%s lost, the controller stayed away: %s", what, error, extra=extra)
                    return
                await asyncio.sleep(backoff.next_delay())
                continue
            except VmafxError as error:  # fenced, unknown job or session: nothing to retry
                log.warning("%s refused: %s", what, describe(error), extra=extra)
                return
            if isinstance(answer, str) and answer:
                log.info("%s not applied: %s", what, answer, extra=extra)
            return


def _start_handler(
    handler: Handler, context: JobContext, *, name: str
) -> asyncio.Future[JobOutput]:
    """Run `handler` on a daemon thread of its own (one that may be abandoned without holding
    up the next job or the process's exit); its outcome lands in the returned future."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[JobOutput] = loop.create_future()

    def settle(output: JobOutput | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            assert output is not None
            future.set_result(output)

    def work() -> None:
        try:
            output = handler.run(context)
        except BaseException as error:  # handed to the event loop, not lost
            outcome: tuple[JobOutput | None, BaseException | None] = (None, error)
        else:
            outcome = (output, None)
        # The loop may have closed meanwhile (an abandoned handler): nobody waits for it then.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=name, daemon=True).start()
    return future
