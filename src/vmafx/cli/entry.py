"""The `vmafx` entry point: runs a Typer app and turns every error into one paragraph and an
exit code. `vmafx score …`, the command people time against bare ffmpeg, is dispatched without
importing the other commands (controller, node, corpus, …), and a well-formed one without
importing Typer, rich, numpy or PyAV before ffmpeg starts (`vmafx.cli.scoring`)."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

from vmafx.errors import VmafxError, exit_code_for

if TYPE_CHECKING:
    import typer
    from rich.console import Console


def report_error(error: VmafxError, console: Console | None = None) -> int:
    """Print an error as one paragraph (plus ffmpeg's tail) on stderr; return its exit code."""
    from rich.console import Console  # noqa: PLC0415 - only when there is an error to print
    from rich.text import Text  # noqa: PLC0415

    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(Text.assemble(("error: ", "bold red"), str(error)))
    return exit_code_for(error)


def run(app: typer.Typer, prog_name: str, args: list[str] | None = None) -> None:
    import typer  # noqa: PLC0415 - not on `vmafx score`'s fast path

    try:
        # Without standalone mode click *returns* a `typer.Exit`'s code instead of exiting.
        code = app(args=args, standalone_mode=False, prog_name=prog_name)
    except VmafxError as error:
        sys.exit(report_error(error))
    except KeyboardInterrupt:
        _interrupted()
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as error:
        # Usage errors of the click inside Typer (vendored in recent Typer, so matched by shape):
        # they print their own message and usage line.
        show, code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def score_app() -> typer.Typer:
    """`vmafx score` alone (same options, help and errors as through the full app)."""
    import typer  # noqa: PLC0415

    from vmafx.cli import score as score_cmd  # noqa: PLC0415 - the point is to import only this
    from vmafx.cli.helptext import examples_kept  # noqa: PLC0415

    app = typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode="markdown"
    )
    app.command("score", help=examples_kept(score_cmd.HELP), no_args_is_help=True)(score_cmd.score)
    return app


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["score"]:
        # A one-shot command (issue 13): no garbage collection while its modules load (imports
        # make next to no garbage; `run_score` turns it back on for the run), and what is left
        # frozen at exit, so that finalization does not traverse every object once more
        # (~10 ms of a 0.5 s score).
        gc.disable()
        try:
            score_fast(argv[1:])
        finally:
            gc.freeze()
    else:
        from vmafx.cli.app import app  # noqa: PLC0415

        run(app, "vmafx", argv)


def _interrupted() -> None:
    from rich.console import Console  # noqa: PLC0415

    Console(stderr=True).print("interrupted; nothing was written.")
    sys.exit(130)


def score_fast(args: list[str]) -> None:
    """`vmafx score ARGS`: a well-formed command line straight to scoring (`cli.scoring`), any
    other through the Typer command (help, usage errors); errors end the same either way."""
    from vmafx.cli.scoring import main_fast  # noqa: PLC0415

    try:
        main_fast(args, lambda: run(score_app(), "vmafx score", args))
    except VmafxError as error:
        sys.exit(report_error(error))
    except KeyboardInterrupt:
        _interrupted()
