"""Every error vmafx raises on purpose, in one tree.

Each error carries structured fields and a one-paragraph message that names what went wrong,
where, and how to fix it. Entry points map them to an exit code (CLI), an HTTP status or a
gRPC code, each from one table (`EXIT_CODES` here; the HTTP and gRPC tables live with their
transports).

    VmafxError                              exit 1
    ├── ConfigError                          exit 2   bad setting or flag value
    ├── UsageError                           exit 2   a request that makes no sense as given
    │   ├── BadSampleError                   exit 2   a training sample the trainer refuses
    │   └── MetricUnavailableError           exit 2   a metric libvmaf cannot compute at this size
    ├── InputError                           exit 3   an input file the user named
    │   ├── ManifestError                    exit 3   corpus manifest: every problem listed
    │   ├── InputNotFoundError               exit 3   missing file
    │   ├── NotVideoError                    exit 4   unreadable / not a video / corrupt
    │   │   └── InputTooSmallError           exit 4   frames too small for libvmaf at all
    │   ├── RawVideoError                    exit 5   raw YUV: no size, or size not dividing file
    │   └── InputOutsideRootsError           exit 13  path outside the scoring roots
    ├── MismatchError                        exit 6   frame count / frame rate differ
    ├── UnknownModelError                    exit 7   libvmaf model not found
    ├── UnknownFeatureError                  exit 8   libvmaf feature not in this build
    ├── FfmpegError                          exit 9   ffmpeg failed (returncode, argv, stderr_tail)
    │   ├── FfmpegNotFoundError              exit 10  no ffmpeg binary
    │   ├── FfmpegCapabilityError            exit 11  ffmpeg lacks libvmaf (or another filter)
    │   ├── FfmpegTimeoutError               exit 12  ran past its timeout
    │   ├── FfmpegCancelledError             exit 130 cancelled or killed by a signal
    │   └── LibvmafCrashError                exit 9   libvmaf crashed on this input (not retried)
    ├── ScoreLogError                        exit 9   libvmaf's log is missing or malformed
    │   └── MissingMetricError               exit 9   a metric asked for is absent from the log
    ├── NotFoundError                        exit 14  a job, node or token that does not exist
    ├── ConflictError                        exit 15  a state change that is not allowed
    │   └── StaleAttemptError                exit 15  a report from a fenced (superseded) attempt
    ├── AuthError                            exit 16  missing, wrong, expired or revoked token
    │   ├── ForbiddenError                   exit 16  a valid token whose role may not do this
    │   └── SignedUrlError                   exit 16  object store refused a signed URL (403)
    ├── UnavailableError                     exit 17  a service (store, controller) is not reachable
    │   └── OverloadedError                  exit 17  the controller refused for now: retry after
    ├── OutputWriteError                     exit 20  output not written: disk full, failed checks
    ├── ClipsFailedError                     exit 21  corpus run done, some clips failed (listed)
    ├── TargetUnreachableError               exit 22  no setting in range reaches a quality target
    └── RunInterruptedError                  exit 130 a long run stopped by Ctrl-C; progress kept
"""

from __future__ import annotations

from collections.abc import Sequence


class VmafxError(Exception):
    """Base of every error vmafx raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


class ConfigError(VmafxError):
    exit_code = 2


class UsageError(VmafxError):
    exit_code = 2


class InputError(VmafxError):
    exit_code = 3

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message, hint=hint)


class InputNotFoundError(InputError):
    exit_code = 3


class NotVideoError(InputError):
    exit_code = 4


class RawVideoError(InputError):
    exit_code = 5


class InputOutsideRootsError(InputError):
    exit_code = 13


class MismatchError(VmafxError):
    exit_code = 6


class UnknownModelError(VmafxError):
    exit_code = 7


class UnknownFeatureError(VmafxError):
    exit_code = 8


class FfmpegError(VmafxError):
    exit_code = 9

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
        hint: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        text = super().__str__()
        if self.stderr_tail:
            text += "\nffmpeg said (last lines):\n" + self.stderr_tail
        return text


class FfmpegNotFoundError(FfmpegError):
    exit_code = 10


class FfmpegCapabilityError(FfmpegError):
    exit_code = 11


class FfmpegTimeoutError(FfmpegError):
    exit_code = 12


class FfmpegCancelledError(FfmpegError):
    exit_code = 130


class ScoreLogError(VmafxError):
    exit_code = 9


class NotFoundError(VmafxError):
    exit_code = 14


class ConflictError(VmafxError):
    exit_code = 15


class AuthError(VmafxError):
    exit_code = 16


class ForbiddenError(AuthError):
    """The caller is known but its role may not do this (gRPC PERMISSION_DENIED, HTTP 403)."""

    exit_code = 16


class SignedUrlError(AuthError):
    """An object store refused a signed URL (expired, altered, or its signer lacks access): a
    farm job is retried with freshly signed URLs (`vmafx.node.outcomes`)."""

    exit_code = 16


class UnavailableError(VmafxError):
    exit_code = 17


class OverloadedError(UnavailableError):
    """The controller refused the call for now (e.g. a registration storm): call again after
    `retry_after_s` seconds, with some jitter."""

    def __init__(self, message: str, *, retry_after_s: float, hint: str | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, hint=hint)


#: The CLI's exit-code table: one row per error class (most specific first).
EXIT_CODES: dict[type[VmafxError], int] = {
    cls: cls.exit_code
    for cls in (
        FfmpegCancelledError,
        FfmpegTimeoutError,
        FfmpegCapabilityError,
        FfmpegNotFoundError,
        FfmpegError,
        ScoreLogError,
        InputOutsideRootsError,
        RawVideoError,
        NotVideoError,
        InputNotFoundError,
        InputError,
        MismatchError,
        UnknownModelError,
        UnknownFeatureError,
        NotFoundError,
        ConflictError,
        ForbiddenError,
        AuthError,
        UnavailableError,
        ConfigError,
        UsageError,
        VmafxError,
    )
}


def exit_code_for(error: BaseException) -> int:
    """The CLI exit code for an error (1 for anything vmafx did not raise on purpose)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


class StaleAttemptError(ConflictError):
    """A report from an attempt that no longer holds its job (lease lost or superseded).

    Maps like the original platform's fenced report: gRPC PERMISSION_DENIED, HTTP 409.
    """

    exit_code = 15

    def __init__(self, message: str, *, job_id: str, attempt: int, hint: str | None = None) -> None:
        self.job_id = job_id
        self.attempt = attempt
        super().__init__(message, hint=hint)


class ModelError(VmafxError):
    """A model checkpoint that cannot be served or written (`path`, `version` when known)."""

    exit_code = 18

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        version: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.version = version
        super().__init__(message, hint=hint)


class MissingExtraError(VmafxError):
    """An optional extra is not installed; `command` is the exact command that installs it."""

    exit_code = 19

    def __init__(self, message: str, *, extra: str, command: str) -> None:
        self.extra = extra
        self.command = command
        super().__init__(message, hint=f"Install it with: {command}")


EXIT_CODES.update(
    {ModelError: ModelError.exit_code, MissingExtraError: MissingExtraError.exit_code}
)


class BadSampleError(UsageError):
    """A line on the trainer's socket that is not a valid sample; `job_id` when it was readable."""

    def __init__(self, message: str, *, job_id: str | None = None) -> None:
        self.job_id = job_id
        super().__init__(message)


class ManifestError(InputError):
    """A corpus manifest that cannot be used; `problems` lists every one found, one per line."""

    def __init__(
        self, message: str, *, path: str, problems: Sequence[str] = (), hint: str | None = None
    ) -> None:
        self.problems = list(problems)
        super().__init__(message, path=path, hint=hint)


class OutputWriteError(VmafxError):
    """An output that could not be written (disk full, permissions) or that failed its checks."""

    exit_code = 20

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message, hint=hint)


class ClipsFailedError(VmafxError):
    """A corpus run that finished but could not score some clips (listed in `failures_path`)."""

    exit_code = 21

    def __init__(
        self, message: str, *, failed: int, failures_path: str, hint: str | None = None
    ) -> None:
        self.failed = failed
        self.failures_path = failures_path
        super().__init__(message, hint=hint)


class RunInterruptedError(VmafxError):
    """A long run stopped by Ctrl-C or SIGTERM; what it finished is kept (it says where)."""

    exit_code = 130


EXIT_CODES.update(
    {
        cls: cls.exit_code
        for cls in (ManifestError, OutputWriteError, ClipsFailedError, RunInterruptedError)
    }
)


class InputTooSmallError(NotVideoError):
    """Frames smaller than libvmaf can score at all (it crashes below 17x17); `size` is WxH."""

    def __init__(self, message: str, *, path: str, size: str, hint: str | None = None) -> None:
        self.size = size
        super().__init__(message, path=path, hint=hint)


class MetricUnavailableError(UsageError):
    """A metric (model or feature) that libvmaf cannot compute on frames of this size."""

    def __init__(
        self, message: str, *, metric: str, path: str, size: str, hint: str | None = None
    ) -> None:
        self.metric = metric
        self.path = path
        self.size = size
        super().__init__(message, hint=hint)


class LibvmafCrashError(FfmpegError):
    """ffmpeg died of a crash signal (SIGSEGV, SIGABRT...) inside libvmaf on an input of an
    unusual size: a fault of the input, not of the machine, so the farm does not retry it."""

    def __init__(
        self,
        message: str,
        *,
        signal: int,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        stderr_tail: str = "",
        hint: str | None = None,
    ) -> None:
        self.signal = signal
        super().__init__(
            message, argv=argv, returncode=returncode, stderr_tail=stderr_tail, hint=hint
        )


class MissingMetricError(ScoreLogError):
    """libvmaf finished but its log lacks a metric the user asked for (`metric`, `distorted`)."""

    def __init__(
        self, message: str, *, metric: str, distorted: str, hint: str | None = None
    ) -> None:
        self.metric = metric
        self.distorted = distorted
        super().__init__(message, hint=hint)


EXIT_CODES.update(
    {
        cls: cls.exit_code
        for cls in (
            InputTooSmallError,
            MetricUnavailableError,
            LibvmafCrashError,
            MissingMetricError,
        )
    }
)


class TargetUnreachableError(VmafxError):
    """No setting in the allowed range reaches the quality target; `best_crf`/`best_vmaf` is the
    best that was measured (the search's probes stay cached)."""

    exit_code = 22

    def __init__(
        self, message: str, *, best_crf: float, best_vmaf: float, hint: str | None = None
    ) -> None:
        self.best_crf = best_crf
        self.best_vmaf = best_vmaf
        super().__init__(message, hint=hint)


EXIT_CODES[TargetUnreachableError] = TargetUnreachableError.exit_code
