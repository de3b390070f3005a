"""`vmafx nodes list`: the farm's nodes as the controller sees them."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from vmafx.cli.jobviews import node_json, nodes_table
from vmafx.cli.remote import CA, CONTROLLER, FORMAT, TOKEN, TOKEN_FILE, Format, Remote

app = typer.Typer(help="The farm's nodes: GPUs, encoders, queues, slots.", no_args_is_help=True)


@app.command("list")
def list_nodes(
    all_: bool = typer.Option(False, "--all", help="Also nodes whose session ran out."),
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Live (and draining) nodes: host, GPUs, verified encoders, slots in use, last heartbeat."""
    remote = Remote.of(controller, token, token_file, ca)
    views = remote.call(lambda client: client.list_nodes(include_offline=all_))
    if fmt is Format.json:
        sys.stdout.write(json.dumps([node_json(view) for view in views]) + "\n")
    elif not views:
        typer.echo("no live node; start one with `vmafx node --controller ADDRESS`")
    else:
        Console(highlight=False).print(nodes_table(views, datetime.now(UTC)))
