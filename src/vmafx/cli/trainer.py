"""`vmafx trainer`: the composition root of the trainer sidecar."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from vmafx.ai.trainer import require_torch
from vmafx.ai.trainer.settings import sidecar_settings

HELP = """Run the online trainer: learn from every scored job, publish gated ONNX checkpoints.

Nodes send `{job_id, features, true_score}` lines to the Unix socket; every checkpoint is
judged on a held-out set and listed in `registry.json` in the checkpoint folder. Settings come
from `VMAFX_SIDECAR_*` (DESIGN.md §6) and the flags below; `GET /status` shows the state.
SIGTERM or Ctrl-C stops it within 2 s and removes the socket. Needs `pip install 'vmafx[train]'`.
"""


def trainer(
    socket: Path | None = typer.Option(None, "--socket", help="Unix socket path."),
    checkpoint_dir: Path | None = typer.Option(
        None, "--checkpoint-dir", help="Where checkpoints and registry.json go."
    ),
    base_model: Path | None = typer.Option(
        None, "--base-model", help="Start from this ONNX checkpoint or torch state dict."
    ),
    status_port: int | None = typer.Option(
        None, "--status-port", help="Port of the GET /status listener."
    ),
) -> None:
    flags = {
        "socket": socket,
        "checkpoint_dir": checkpoint_dir,
        "base_model_path": base_model,
        "status_port": status_port,
    }
    settings = sidecar_settings(flags=flags)
    require_torch()
    import torch  # noqa: PLC0415 (the extra is optional)

    from vmafx.ai.trainer.app import TrainerApp  # noqa: PLC0415

    torch.set_num_threads(1)  # a tiny model: threads cost more than they give
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    app = TrainerApp(settings)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    app.start()
    where = f"; /status on port {app.status_server.address[1]}" if app.status_server else ""
    typer.echo(
        f"trainer listening on {settings.socket} ({app.origin} model){where}; "
        f"checkpoints in {settings.checkpoint_dir}",
        err=True,
    )
    try:
        app.wait(stop)  # raises TaskDiedError (exit 1) when a thread of the trainer died
    finally:
        app.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo("trainer stopped", err=True)
