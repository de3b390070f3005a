"""The `vmafx` command: one Typer app; errors become one paragraph and an exit code."""

from __future__ import annotations

import logging

import typer

from vmafx import __version__
from vmafx.cli import controller as controller_cmd
from vmafx.cli import corpus as corpus_cmd
from vmafx.cli import demo as demo_cmd
from vmafx.cli import health as health_cmd
from vmafx.cli import jobs as jobs_cmd
from vmafx.cli import mcp as mcp_cmd
from vmafx.cli import models as models_cmd
from vmafx.cli import node as node_cmd
from vmafx.cli import nodes as nodes_cmd
from vmafx.cli import operator as operator_cmd
from vmafx.cli import score as score_cmd
from vmafx.cli import tokens as tokens_cmd
from vmafx.cli import trainer as trainer_cmd
from vmafx.cli import tune as tune_cmd
from vmafx.cli import up as up_cmd
from vmafx.cli import watch_folders as watch_cmd
from vmafx.cli.entry import run
from vmafx.cli.helptext import examples_kept

app = typer.Typer(
    name="vmafx",
    help="Measure and optimise video quality with the real libvmaf.\n\n"
    "Start with `vmafx score REFERENCE DISTORTED` to score a pair.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
# In the order a newcomer meets them: a farm in one command, then scoring, then the parts.
# Examples are fenced so that Markdown keeps them one per line (`cli.helptext`).
app.command(
    "up", help=examples_kept(up_cmd.HELP), short_help="Start a farm on this machine (UI included)."
)(up_cmd.up)
app.command(
    "demo", help=examples_kept(demo_cmd.HELP), short_help="An encode ladder with VMAF per rung."
)(demo_cmd.demo)
app.command("score", help=examples_kept(score_cmd.HELP), no_args_is_help=True)(score_cmd.score)
app.command("health", help=examples_kept(health_cmd.HELP), no_args_is_help=True)(health_cmd.health)
jobs_cmd.submit_app.command("health", no_args_is_help=True)(health_cmd.submit_health)
app.command(
    "watch",
    help=examples_kept(watch_cmd.HELP),
    short_help="Watch folders: new files become jobs.",
    no_args_is_help=True,
)(watch_cmd.watch)
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(nodes_cmd.app, name="nodes")
app.add_typer(corpus_cmd.app, name="corpus", help="Score a corpus of clips, resumably.")
app.add_typer(tune_cmd.app, name="tune", help="Cheapest encode for a VMAF target; ladders.")
app.add_typer(controller_cmd.app, name="controller")
app.add_typer(node_cmd.app, name="node")
app.command("trainer", help=examples_kept(trainer_cmd.HELP))(trainer_cmd.trainer)
app.add_typer(models_cmd.app, name="models")
app.add_typer(tokens_cmd.app, name="tokens")
app.command(
    "operator",
    help=examples_kept(operator_cmd.HELP),
    short_help="Run the Kubernetes operator (kopf).",
)(operator_cmd.operator)
app.command(
    "mcp", help=examples_kept(mcp_cmd.HELP), short_help="Serve vmafx to AI assistants (MCP)."
)(mcp_cmd.mcp)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmafx {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what vmafx does to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Run the full app (the console script goes through `vmafx.cli.entry.main`)."""
    run(app, "vmafx")
