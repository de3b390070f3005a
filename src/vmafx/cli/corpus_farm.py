"""`vmafx corpus score --controller ADDR`: the farm executor wired to a gRPC controller client.

The client is built inside the executor's event loop (`Remote.connect`, which says how to
install grpcio when it is missing); an unreachable controller or a refused token ends the run
with the same messages as `vmafx jobs …`. Finished clips are staged as they arrive, so any
such stop loses nothing: run the command again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from vmafx.cli.remote import Remote
from vmafx.corpus.driver import RunInputs
from vmafx.corpus.farm import FarmExecutor, FarmOptions
from vmafx.corpus.output import OutputPaths
from vmafx.errors import AuthError, ForbiddenError, UnavailableError

#: What stands for the ffmpeg version in a farm run's settings fingerprint: the nodes' own
#: ffmpeg and libvmaf versions are in every row.
FARM_FFMPEG = "farm"


def farm_executor(remote: Remote, inputs: RunInputs, *, cancel_on_interrupt: bool) -> FarmExecutor:
    options = FarmOptions(cancel_on_interrupt=cancel_on_interrupt, fresh=inputs.fresh)
    return FarmExecutor(
        remote.connect,
        inputs.settings,
        OutputPaths(inputs.out).staging,
        target=remote.target,
        options=options,
    )


def interrupted_note(executor: FarmExecutor) -> str:
    """What became of the farm jobs still running when the run was interrupted."""
    left = executor.outstanding
    if not left:
        return ""
    if executor.cancelled_on_farm:
        return f" {executor.cancelled_on_farm} unfinished farm job(s) were cancelled."
    return (
        f" {left} farm job(s) of batch {executor.batch_id} were not cancelled and go on "
        "running on the farm (--cancel-on-interrupt cancels them); running the same command "
        "again collects their results without submitting them again."
    )


@contextlib.contextmanager
def reaching(remote: Remote) -> Iterator[None]:
    """Turn "nobody answered" and a refused token into messages saying what to do."""
    try:
        yield
    except UnavailableError as error:
        raise remote.unreachable(error) from None
    except AuthError as error:
        if isinstance(error, ForbiddenError):
            raise
        raise AuthError(
            f"the controller at {remote.target} refused the call: {error.message}",
            hint="Pass a token with --token-file FILE (or VMAFX_TOKEN); an admin creates "
            "one with `vmafx tokens create --role writer --tenant T`.",
        ) from None
