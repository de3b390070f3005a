"""What becomes of a job whose handler raised: failed, or handed back to be retried.

- A job cancelled by the controller is reported failed with the reason (the controller keeps
  it cancelled and drops the report).
- A job interrupted because the node shuts down is released: pending again, not a lost lease.
  That includes an ffmpeg that received the stop signal itself while the node was stopping
  (Ctrl-C reaches the whole process group, systemd signals the whole cgroup).
- A fault of this machine rather than of the job (ffmpeg killed by a signal, a disk that filled
  up, no memory, an I/O error) is released so that it runs again, here or elsewhere, until the
  job has had `MAX_ATTEMPTS` attempts; then it fails naming the fault.
- An object store that refused a signed URL (expired, say, when the job waited long) is
  released too: the controller signs fresh URLs for the next claim.
- Anything else fails the job with the error's own message (which names the file and the fix).
  That includes an input libvmaf cannot score (frames too small: InputTooSmallError, a metric
  the size rules out: MetricUnavailableError, a libvmaf crash on an oddly sized input:
  LibvmafCrashError): running it again, here or elsewhere, would fail the same way.
"""

from __future__ import annotations

import dataclasses
import errno
from enum import StrEnum

from vmafx.errors import (
    FfmpegCancelledError,
    FfmpegNotFoundError,
    LibvmafCrashError,
    SignedUrlError,
    VmafxError,
)
from vmafx.media.runner import CancelToken
from vmafx.node.running import SHUTTING_DOWN

MAX_ATTEMPTS = 3
MAX_ERROR_CHARS = 4000
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM})


class Verdict(StrEnum):
    FAIL = "fail"
    RELEASE = "release"


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    #: The job's error (FAIL) or the reason recorded with the released attempt (RELEASE).
    message: str
    #: The `outcome` label of `vmafx_node_jobs_total`.
    outcome: str


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_machine_fault(error: BaseException) -> bool:
    """Whether `error` says this machine failed rather than the job being impossible."""
    for item in _chain(error):
        if isinstance(item, LibvmafCrashError):  # the input's fault, whatever it wraps
            return False
        if isinstance(item, FfmpegCancelledError | FfmpegNotFoundError | MemoryError):
            return True
        if isinstance(item, OSError) and item.errno in _MACHINE_ERRNOS:
            return True
    return False


def describe(error: BaseException) -> str:
    text = str(error) if isinstance(error, VmafxError) else f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def signalled(error: BaseException) -> bool:
    """Whether ffmpeg ended because it was sent a signal (killed, or SIGTERM/SIGINT handled)."""
    if isinstance(error, FfmpegCancelledError):
        return True
    if not isinstance(error, VmafxError):
        return False
    # ffmpeg's own words; the scorer may have filed the failure as a decode error (its tail
    # says "0 decode errors"), so the whole text is searched, not only FfmpegError's tail.
    return "received signal" in str(error) + getattr(error, "stderr_tail", "")


def decide(
    error: BaseException,
    cancel: CancelToken,
    *,
    attempt: int,
    node: str,
    stopping: bool = False,
) -> Decision:
    """What to do with a job whose handler raised `error` on attempt `attempt` (`stopping`: the
    node is draining)."""
    shutdown = cancel.cancelled and cancel.reason == SHUTTING_DOWN
    if shutdown or (stopping and not cancel.cancelled and signalled(error)):
        return Decision(Verdict.RELEASE, f"{SHUTTING_DOWN} ({node}), job interrupted", "released")
    if cancel.cancelled:
        return Decision(Verdict.FAIL, f"{cancel.reason} while running on {node}", "cancelled")
    text = describe(error)
    if isinstance(error, SignedUrlError):  # the next claim brings freshly signed URLs
        if attempt < MAX_ATTEMPTS:
            return Decision(Verdict.RELEASE, f"signed URL refused on {node}: {text}", "retried")
        return Decision(
            Verdict.FAIL, f"{text}\n(refused on every attempt, the last on {node})", "failed"
        )
    if is_machine_fault(error):
        if attempt < MAX_ATTEMPTS:
            return Decision(Verdict.RELEASE, f"machine fault on {node}: {text}", "retried")
        return Decision(
            Verdict.FAIL,
            f"{text}\n(a fault of the machine, not of the job; it happened on attempt "
            f"{attempt} of {MAX_ATTEMPTS}, the last on {node})",
            "failed",
        )
    if not isinstance(error, VmafxError):
        return Decision(Verdict.FAIL, f"internal error on node {node}: {text}", "failed")
    return Decision(Verdict.FAIL, text, "failed")
