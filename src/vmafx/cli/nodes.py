"""`vmafx nodes list|drain|resume|concurrency`: the farm's nodes as the controller sees them,
and an operator's hand on them (drain, take back, jobs at once per queue, all live)."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console

from vmafx.cli.jobviews import node_json, nodes_table
from vmafx.cli.remote import CA, CONTROLLER, FORMAT, TOKEN, TOKEN_FILE, Format, Remote
from vmafx.client.port import ControllerClient
from vmafx.core.messages import NodeState, NodeView
from vmafx.errors import NotFoundError, UsageError

T = TypeVar("T")

app = typer.Typer(
    help="The farm's nodes: GPUs, encoders, queues, slots; drain, resume, concurrency.",
    no_args_is_help=True,
)


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


NODE = typer.Argument(..., help="The node's name (as `vmafx nodes list` shows it) or id.")


def find_node(views: list[NodeView], wanted: str) -> NodeView:
    """The node named `wanted` (a live one before a gone one), or whose id it is or begins."""
    named = [view for view in views if view.session.name == wanted]
    if not named:
        named = [view for view in views if view.session.id == wanted]
    if not named and len(wanted) >= 4:
        named = [view for view in views if view.session.id.startswith(wanted)]
    live = [view for view in named if view.state is not NodeState.OFFLINE]
    if len(live) == 1 or (not live and len(named) == 1):
        return (live or named)[0]
    if len(live) > 1:
        ids = ", ".join(view.session.id for view in live)
        raise UsageError(
            f"{len(live)} live nodes are called {wanted!r}: {ids}.",
            hint="Give the node's id instead of its name.",
        )
    known = ", ".join(sorted({view.session.name for view in views})) or "none"
    raise NotFoundError(
        f"no node is called {wanted!r} (nor has that id).",
        hint=f"Nodes the controller knows: {known}. See `vmafx nodes list --all`.",
    )


def _node_call(
    remote: Remote,
    wanted: str,
    act: Callable[[ControllerClient, NodeView], Awaitable[T]],
) -> tuple[NodeView, T]:
    async def work(client: ControllerClient) -> tuple[NodeView, T]:
        view = find_node(await client.list_nodes(include_offline=True), wanted)
        return view, await act(client, view)

    return remote.call(work)


@app.command("drain")
def drain(
    node: str = NODE,
    release_jobs: bool = typer.Option(
        False, "--release-jobs", help="Send its running jobs back to the queue now."
    ),
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Give a node no more work (admin). Its running jobs finish, unless --release-jobs."""
    remote = Remote.of(controller, token, token_file, ca)
    view, result = _node_call(
        remote, node, lambda client, v: client.drain_node(v.session.id, release_jobs=release_jobs)
    )
    released = list(result.released_job_ids)
    if fmt is Format.json:
        out = {"node_id": view.session.id, "name": view.session.name, "released_job_ids": released}
        sys.stdout.write(json.dumps(out) + "\n")
        return
    running = len(view.running_job_ids)
    if released:
        tail = f"; {len(released)} running jobs went back to the queue"
    elif running:
        tail = f"; its {running} running jobs finish first"
    else:
        tail = ""
    typer.echo(f"node {view.session.name} drained: it gets no new work{tail}.")
    typer.echo(f"Take it back with `vmafx nodes resume {view.session.name}`.")


@app.command("resume")
def resume(
    node: str = NODE,
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Take a drained node back (admin): it gets work again."""
    remote = Remote.of(controller, token, token_file, ca)
    view, result = _node_call(remote, node, lambda client, v: client.resume_node(v.session.id))
    if fmt is Format.json:
        out = {"node_id": view.session.id, "name": view.session.name,
               "was_drained": result.was_drained}  # fmt: skip
        sys.stdout.write(json.dumps(out) + "\n")
    elif result.was_drained:
        typer.echo(f"node {view.session.name} resumed: it takes work again.")
    else:
        typer.echo(f"node {view.session.name} was not drained; it takes work as before.")


def parse_limits(pairs: list[str]) -> dict[str, int]:
    """`["encode=2", "score=1"]` (or one `encode=2,score=1`) → {"encode": 2, "score": 1}."""
    limits: dict[str, int] = {}
    for pair in ",".join(pairs).split(","):
        item = pair.strip()
        if not item:
            continue
        queue, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not queue or not value.isdigit():
            raise UsageError(
                f"{item!r} is not QUEUE=LIMIT.",
                hint="E.g. `vmafx nodes concurrency gpu-1 encode=2 score=1` (0 turns a queue off).",
            )
        if queue in limits:
            raise UsageError(f"queue {queue!r} is given twice.")
        limits[queue] = int(value)
    if not limits:
        raise UsageError(
            "name at least one QUEUE=LIMIT.", hint="E.g. `vmafx nodes concurrency gpu-1 encode=2`."
        )
    return limits


@app.command("concurrency")
def concurrency(
    node: str = NODE,
    limits: list[str] = typer.Argument(..., help="QUEUE=LIMIT pairs, e.g. encode=2 score=1."),
    controller: str = CONTROLLER,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    fmt: Format = FORMAT,
) -> None:
    """Change how many jobs a node runs at once per queue, live (admin).

    Claims follow at once; the node adds or retires pull loops on its next heartbeat, without
    a restart. Queues not named keep their limit; 0 turns a queue off on that node.
    """
    wanted = parse_limits(limits)
    remote = Remote.of(controller, token, token_file, ca)
    view, result = _node_call(
        remote, node, lambda client, v: client.set_node_concurrency(v.session.id, wanted)
    )
    if fmt is Format.json:
        out = {"node_id": view.session.id, "name": view.session.name,
               "concurrency": dict(result.concurrency), "slots": result.slots}  # fmt: skip
        sys.stdout.write(json.dumps(out) + "\n")
        return
    text = ", ".join(f"{queue}={limit}" for queue, limit in sorted(result.concurrency.items()))
    typer.echo(f"node {view.session.name}: {text} ({result.slots} slots).")
    typer.echo("The node applies it on its next heartbeat.")
