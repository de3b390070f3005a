"""`FarmExecutor`: scores a corpus through a vmafx controller, one `score` job per clip.

Clips go out in batches (`batch_size` jobs per SubmitJobs call, at most `window` jobs submitted
and not finished at a time), all under one batch id for the run; finished jobs stream back
through a watch on that batch and become the rows local mode writes (`farm_jobs`).

Resuming: the run id is kept in the staging folder (`farm-run-id`), and every job's idempotency
key is the run id and the clip id, so a clip submitted by an interrupted run is picked up, not
submitted again; a picked-up job that failed or was cancelled is submitted once more under
the next key (`…#1`, `…#2`). Ctrl-C stops waiting and leaves the jobs running on the farm (a
re-run collects them), unless `cancel_on_interrupt` asks for them to be cancelled.

The controller client is injected (`FarmClient`: the few verbs used, typed structurally) and
built by the caller inside this executor's event loop, so this module imports no client code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import uuid
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from pathlib import Path
from typing import Any, Protocol, TypeVar

from vmafx.core.jobs import Job, JobState
from vmafx.core.media import RawFormat, VideoInfo
from vmafx.core.messages import JobDetails, JobFilter, JobRequest, Submitted
from vmafx.core.remote import is_object_url
from vmafx.corpus.clips import ClipFailed, ClipJob, ClipOutcome, ClipSettings
from vmafx.corpus.farm_jobs import Probe, job_outcome, score_request
from vmafx.errors import ConflictError, InputError, UsageError, VmafxError, exit_code_for
from vmafx.media.probe import probe

T = TypeVar("T")
RUN_ID_FILE = "farm-run-id"
MAX_KEY = 255
_RETRIED = (JobState.FAILED, JobState.CANCELLED)


class FarmClient(Protocol):
    """What the farm executor asks a controller (a `ControllerClient` has all of it)."""

    async def submit_jobs(
        self, requests: Sequence[JobRequest], *, batch_id: str | None = None
    ) -> list[Submitted]: ...

    async def get_job(self, job_id: str) -> JobDetails: ...

    async def cancel_job(self, job_id: str, reason: str | None = None) -> str: ...

    def watch_jobs(
        self, where: JobFilter | None = None, *, snapshot_only: bool = False
    ) -> AsyncIterator[Job]: ...

    async def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class FarmOptions:
    batch_size: int = 500
    #: Jobs submitted and not finished, at most (more go out as these finish).
    window: int = 5_000
    cancel_on_interrupt: bool = False
    #: With no news from the watch for this long, ask for the oldest unfinished jobs directly.
    idle_check_s: float = 30.0
    idle_check_jobs: int = 100
    #: How often a clip whose farm job failed in an earlier run is submitted again, at most.
    max_resubmits: int = 20
    #: Start a new run id (new jobs for every clip), as `--fresh` asks.
    fresh: bool = False


def idempotency_key(run_id: str, clip_id: str, generation: int = 0) -> str:
    """`vmafx-corpus:RUN:CLIP` (`#N` for a resubmission); long ids are hashed to fit."""
    suffix = f"#{generation}" if generation else ""
    key = f"vmafx-corpus:{run_id}:{clip_id}{suffix}"
    if len(key) <= MAX_KEY:
        return key
    return f"vmafx-corpus:{run_id}:sha256:{hashlib.sha256(clip_id.encode()).hexdigest()}{suffix}"


def read_run_id(folder: Path, *, fresh: bool) -> str:
    """The run id kept in `folder`, made (and kept, atomically) when missing or `fresh`."""
    path = folder / RUN_ID_FILE
    if not fresh and path.exists():
        found = path.read_text().strip()
        if found:
            return found
    run_id = uuid.uuid4().hex[:16]
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f"{RUN_ID_FILE}.{os.getpid()}.partial"
    with temp.open("w") as handle:
        handle.write(run_id + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)
    return run_id


Finished = tuple[ClipJob, Job]
#: A finished job, or a clip whose job the controller refused.
Ready = Finished | ClipFailed
#: Errors by which the controller refuses jobs for what they ask (a path outside the scoring
#: roots, a key used before for another spec): they fail the clip, not the run.
_REFUSED = (UsageError, InputError, ConflictError)


class FarmExecutor:
    """A `ClipExecutor` whose clips are scored by the farm's nodes."""

    def __init__(
        self,
        connect: Callable[[], FarmClient],
        settings: ClipSettings,
        run_folder: Path,
        *,
        target: str = "",
        options: FarmOptions | None = None,
        probe: Probe | None = None,
        runner: asyncio.Runner | None = None,
    ) -> None:
        """`connect` is called once, on this executor's event loop (`runner`, made here unless
        given; a given one is left open by close())."""
        self._connect = connect
        self._settings = settings
        self._folder = run_folder
        self._target = target
        self._options = options or FarmOptions()
        self._probe = probe or probe_clip
        self._runner = runner
        self._own_runner = runner is None
        self._client: FarmClient | None = None
        self._fresh = self._options.fresh
        self._outstanding: dict[str, ClipJob] = {}
        self.run_id: str | None = None
        self.submitted = 0
        self.picked_up = 0
        self.cancelled_on_farm = 0

    @property
    def batch_id(self) -> str | None:
        return f"corpus-{self.run_id}" if self.run_id else None

    @property
    def outstanding(self) -> int:
        """Jobs submitted and not finished (still running on the farm after an interruption)."""
        return len(self._outstanding)

    def describe(self) -> dict[str, Any]:
        return {
            "executor": "farm",
            "controller": self._target,
            "run_id": self.run_id,
            "batch_id": self.batch_id,
            "batch_size": self._options.batch_size,
            "window": self._options.window,
            "jobs_submitted": self.submitted,
            "jobs_picked_up": self.picked_up,
            "cancel_on_interrupt": self._options.cancel_on_interrupt,
        }

    def _call(self, work: Awaitable[T]) -> T:
        if self._runner is None:
            self._runner = asyncio.Runner()

        async def main() -> T:
            return await work

        return self._runner.run(main())

    def run(self, jobs: Iterable[ClipJob]) -> Iterator[ClipOutcome]:
        self._outstanding = {}
        stream = self._stream(list(jobs))
        try:
            while True:
                outcome = self._call(_next(stream))
                if outcome is None:
                    return
                yield outcome
        finally:
            # After an interruption the stream may still be suspended mid-step ("already
            # running"); closing the loop in close() cancels it then.
            with contextlib.suppress(RuntimeError):
                self._call(stream.aclose())

    def cancel(self) -> None:
        """Stop waiting; cancel the unfinished farm jobs only when asked to."""
        if not self._options.cancel_on_interrupt or not self._outstanding:
            return
        if self._client is not None:
            self._call(self._cancel_all(self._client, list(self._outstanding)))

    def close(self) -> None:
        if self._runner is None:
            return
        if self._client is not None:
            with contextlib.suppress(VmafxError, RuntimeError):
                self._call(self._client.close())
            self._client = None
        if self._own_runner:
            self._runner.close()
            self._runner = None

    async def _cancel_all(self, client: FarmClient, job_ids: list[str]) -> None:
        reason = "the corpus run was interrupted (--cancel-on-interrupt)"

        async def one(job_id: str) -> None:
            with contextlib.suppress(VmafxError):
                await client.cancel_job(job_id, reason)
                self.cancelled_on_farm += 1

        for start in range(0, len(job_ids), 50):
            await asyncio.gather(*(one(job_id) for job_id in job_ids[start : start + 50]))

    # --- the run, on the event loop -----------------------------------------------------------

    async def _stream(self, clips: list[ClipJob]) -> AsyncGenerator[ClipOutcome, None]:
        if self._client is None:
            self._client = self._connect()
        client = self._client
        self.run_id = read_run_id(self._folder, fresh=self._fresh)
        self._fresh = False
        events: asyncio.Queue[Job | BaseException] = asyncio.Queue()
        watcher = asyncio.create_task(self._watch(client, events))
        queue, ready = deque(clips), deque[Ready]()
        size, window = max(1, self._options.batch_size), max(1, self._options.window)
        try:
            while queue or self._outstanding or ready:
                while queue and len(self._outstanding) < window:
                    batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                    ready.extend(await self._submit(client, batch))
                if ready:
                    item = ready.popleft()
                    if isinstance(item, ClipFailed):
                        yield item
                    else:
                        yield job_outcome(*item, self._settings, self._probe)
                else:
                    ready.extend(await self._wait(client, events))
        finally:
            watcher.cancel()

    async def _watch(self, client: FarmClient, events: asyncio.Queue[Job | BaseException]) -> None:
        """Every change to the run's jobs into `events` (an error too, then stop)."""
        try:
            while True:
                async for job in client.watch_jobs(JobFilter(batch_id=self.batch_id)):
                    events.put_nowait(job)
                # The stream ended (a controller restarting): open it again; its snapshot
                # covers what happened in between.
                await asyncio.sleep(1.0)
        except Exception as error:
            events.put_nowait(error)

    async def _submit(self, client: FarmClient, clips: list[ClipJob]) -> list[Ready]:
        """Submit a batch; a refused batch goes again clip by clip, so that only the clips
        the controller refuses fail."""
        try:
            return list(await self._submit_batch(client, clips))
        except _REFUSED as error:
            if len(clips) > 1:
                return [item for clip in clips for item in await self._submit(client, [clip])]
            message = f"the controller refused the clip's score job: {error}"
            return [ClipFailed(clips[0].id, type(error).__name__, message, exit_code_for(error))]

    async def _submit_batch(self, client: FarmClient, clips: list[ClipJob]) -> list[Finished]:
        """Submit a batch; jobs already finished (picked up from an earlier run) come back."""
        assert self.run_id is not None
        finished: list[Finished] = []
        todo, generation = clips, 0
        while todo:
            keys = [idempotency_key(self.run_id, clip.id, generation) for clip in todo]
            requests = [
                score_request(c, self._settings, k) for c, k in zip(todo, keys, strict=True)
            ]
            answers = await client.submit_jobs(requests, batch_id=self.batch_id)
            jobs = await _current(client, answers)
            retry: list[ClipJob] = []
            for clip, answer, job in zip(todo, answers, jobs, strict=True):
                again = answer.deduplicated and job.state in _RETRIED
                if again and generation < self._options.max_resubmits:
                    retry.append(clip)
                    continue
                self.picked_up += answer.deduplicated
                self.submitted += not answer.deduplicated
                if job.is_terminal:
                    finished.append((clip, job))
                else:
                    self._outstanding[job.id] = clip
            todo, generation = retry, generation + 1
        return finished

    async def _wait(
        self, client: FarmClient, events: asyncio.Queue[Job | BaseException]
    ) -> list[Finished]:
        """Jobs that finished, from the watch (or, after a quiet spell, from asking)."""
        try:
            first = await asyncio.wait_for(events.get(), self._options.idle_check_s)
        except TimeoutError:
            return await self._ask(client)
        items = [first]
        while not events.empty():
            items.append(events.get_nowait())
        finished: list[Finished] = []
        for item in items:
            if isinstance(item, BaseException):
                raise item
            finished.extend(self._finished(item))
        return finished

    def _finished(self, job: Job) -> list[Finished]:
        if not job.is_terminal or job.id not in self._outstanding:
            return []
        return [(self._outstanding.pop(job.id), job)]

    async def _ask(self, client: FarmClient) -> list[Finished]:
        """The oldest unfinished jobs' states, asked one by one (a watch that missed news)."""
        finished: list[Finished] = []
        for job_id in list(self._outstanding)[: self._options.idle_check_jobs]:
            finished.extend(self._finished((await client.get_job(job_id)).job))
        return finished


async def _current(client: FarmClient, answers: list[Submitted]) -> list[Job]:
    """The submitted jobs as they are now. A picked-up job's state is asked for: a submit
    answer may carry only its id (the gRPC client's does)."""

    async def one(answer: Submitted) -> Job:
        return (await client.get_job(answer.job.id)).job if answer.deduplicated else answer.job

    jobs: list[Job] = []
    for start in range(0, len(answers), 50):
        jobs.extend(await asyncio.gather(*(one(a) for a in answers[start : start + 50])))
    return jobs


async def _next(stream: AsyncIterator[ClipOutcome]) -> ClipOutcome | None:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None


def probe_clip(path: str, raw: RawFormat | None) -> VideoInfo:
    """What the table's width, height and fps columns come from: the clip on this machine, or
    an object read through a URL signed with this machine's own credentials (the `AWS_*`
    variables; the nodes scored it by URLs the controller signed)."""
    if not is_object_url(path):
        return probe(path, raw)
    from vmafx.storage.inputs import open_remote  # noqa: PLC0415 - only for object clips
    from vmafx.storage.registry import store_for  # noqa: PLC0415

    return probe(path, raw, open_remote(path, store_for))
