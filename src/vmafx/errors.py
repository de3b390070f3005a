"""Every error vmafx raises on purpose, in one tree.

Each error carries structured fields and a one-paragraph message that names what went wrong,
where, and how to fix it. Entry points map them to an exit code (CLI), an HTTP status or a
gRPC code, each from one table (`EXIT_CODES` here; the HTTP and gRPC tables live with their
transports).

    VmafxError                              exit 1
    ├── ConfigError                          exit 2   bad setting or flag value
    ├── UsageError                           exit 2   a request that makes no sense as given
    ├── InputError                           exit 3   an input file the user named
    │   ├── InputNotFoundError               exit 3   missing file
    │   ├── NotVideoError                    exit 4   unreadable / not a video / corrupt
    │   ├── RawVideoError                    exit 5   raw YUV: no size, or size not dividing file
    │   └── InputOutsideRootsError           exit 13  path outside the scoring roots
    ├── MismatchError                        exit 6   frame count / frame rate differ
    ├── UnknownModelError                    exit 7   libvmaf model not found
    ├── UnknownFeatureError                  exit 8   libvmaf feature not in this build
    ├── FfmpegError                          exit 9   ffmpeg failed (returncode, argv, stderr_tail)
    │   ├── FfmpegNotFoundError              exit 10  no ffmpeg binary
    │   ├── FfmpegCapabilityError            exit 11  ffmpeg lacks libvmaf (or another filter)
    │   ├── FfmpegTimeoutError               exit 12  ran past its timeout
    │   └── FfmpegCancelledError             exit 130 cancelled or killed by a signal
    ├── ScoreLogError                        exit 9   libvmaf's log is missing or malformed
    ├── NotFoundError                        exit 14  a job, node or token that does not exist
    ├── ConflictError                        exit 15  a state change that is not allowed
    │   └── StaleAttemptError                exit 15  a report from a fenced (superseded) attempt
    ├── AuthError                            exit 16  missing / wrong token, role too low
    └── UnavailableError                     exit 17  a service (store, controller) is not reachable
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


class UnavailableError(VmafxError):
    exit_code = 17


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
