"""`vmafx up`: a working farm in one command (controller + node(s) + trainer, SQLite, loopback)."""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console
from rich.markup import escape

from vmafx.cli.farm import FarmSettings, LocalFarm, trainer_available
from vmafx.cli.remote import DEFAULT_CONTROLLER

HELP = """Start a whole farm on this machine: controller, node(s) and (with the `train` extra) the
trainer, on loopback, with the job store in SQLite in your state folder. Re-running resumes the
same store. Ctrl-C stops everything cleanly: nodes finish or hand back their jobs first.

Local inputs are allowed under the current folder (and any --scoring-root).

    vmafx up                 # then open the printed UI address
    vmafx up --nodes 2       # two local nodes
    vmafx demo               # from another terminal: a small encode ladder
"""


class _Stop:
    requested = False


def up(
    nodes: int = typer.Option(1, min=1, max=16, help="Local nodes to start."),
    grpc_listen: str = typer.Option("127.0.0.1:9090", help="Controller gRPC address."),
    http_listen: str = typer.Option("127.0.0.1:8080", help="Controller HTTP address (UI, REST)."),
    store: str | None = typer.Option(None, help="Store URL [default: SQLite in the state folder]."),
    scoring_root: list[Path] = typer.Option([], help="More folders local inputs may lie under."),
    no_trainer: bool = typer.Option(False, "--no-trainer", help="Do not start the trainer."),
) -> None:
    console = Console(stderr=True)
    roots = (Path.cwd().resolve(), *(p.resolve() for p in scoring_root))
    settings = FarmSettings(grpc_listen, http_listen, store, nodes, roots, not no_trainer)
    farm = LocalFarm(settings)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        _Stop.requested = True

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with console.status("starting the controller and nodes…"):
            farm.start()
            farm.wait_nodes()
        _announce(console, settings, farm.node_http, farm.trainer_status)
        watch(farm, _Stop)
    finally:
        with console.status("stopping: nodes drain first…"):
            farm.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    console.print("stopped; nothing was lost (the store keeps every job).")


def watch(farm: LocalFarm, stop: type[_Stop], poll_s: float = 0.5) -> None:
    """Until Ctrl-C: a part that stops on its own ends `vmafx up` with its reason (exit 17)."""
    while not stop.requested:
        farm.raise_for_dead_child()
        time.sleep(poll_s)


def client_flags(settings: FarmSettings) -> str:
    """What client commands need to reach this farm: nothing on the default gRPC port."""
    return (
        ""
        if settings.grpc_listen == DEFAULT_CONTROLLER
        else f" --controller {settings.grpc_listen}"
    )


def _announce(
    console: Console,
    settings: FarmSettings,
    node_http: Sequence[str] = (),
    trainer_status: str | None = None,
) -> None:
    if trainer_status:
        trainer = f"on (status http://{trainer_status}/status)"
    elif settings.trainer and not trainer_available():
        trainer = "off (pip install 'vmafx[train]')"
    else:
        trainer = "off"
    console.print(f"[bold green]vmafx is up[/]  UI: [bold]{escape(settings.ui_url)}[/]")
    nodes = f" (HTTP {', '.join(node_http)})" if node_http else ""
    console.print(
        f"  gRPC {escape(settings.grpc_listen)}; {settings.nodes} node(s){nodes}; trainer {trainer}"
    )
    logs, root = escape(str(settings.log_dir)), escape(str(settings.scoring_roots[0]))
    console.print(f"  logs in {logs}; inputs allowed under {root}")
    flags = escape(client_flags(settings))
    console.print(
        f"  submit work: [bold]vmafx jobs submit score REF.mp4 DIS.mp4{flags}[/]  "
        f"or  [bold]vmafx demo{flags}[/]"
    )
    console.print("  Ctrl-C stops everything.")
