"""`vmafx node`: turn this machine into farm capacity for a controller.

The node's modules (grpcio, prometheus-client) are imported only when the command runs.
"""

from __future__ import annotations

import enum
import json
import logging
from pathlib import Path

import typer

HELP = """Run a node: register with a controller, pull the jobs this machine is fit for
(score, encode/proxy/conform/trim, thumbnail, filmstrip), run them, report.

At start-up the node finds ffmpeg (with libvmaf), detects GPUs (NVML/nvidia-smi, rocm-smi,
clinfo, system_profiler) and verifies each encoder with a one-frame trial encode (cached), then
advertises what it found. It dials out to the controller; no inbound port is needed.

Examples:

    vmafx node --controller farm:9090 --token-file /etc/vmafx/node.token

    vmafx node --controller https://farm:9090 --ca /etc/vmafx/ca.pem --token-file node.token

    vmafx node --queues encode,score --concurrency encode=2,score=1 --labels tier=heavy

    VMAFX_NODE_GPU=GPU-9a8b7c6d-... vmafx node --name zampp2-l4

    vmafx node --probe --format json     (what it would announce; registers nothing)

Every flag is also an environment variable VMAFX_NODE_<FLAG> (VMAFX_NODE_QUEUES, …);
VMAFX_CONTROLLER_ADDR names the controller as in the original platform. Prometheus metrics,
/livez and /readyz are served on --http-listen. SIGTERM drains: no new work, running jobs get
--drain-timeout seconds, the rest goes back to pending; exit 0.
"""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode="markdown")


CONTROLLER = typer.Option(
    None,
    "--controller",
    help="Controller gRPC address HOST:PORT, or https://HOST:PORT for TLS "
    "[default: 127.0.0.1:9090].",
)
CA = typer.Option(
    None,
    "--ca",
    help="CA certificate (PEM) to trust for an https:// controller signed by a private CA "
    "(VMAFX_NODE_CA or VMAFX_CA) [default: the system's CAs].",
)
TOKEN_FILE = typer.Option(
    None, "--token-file", help="File holding a node-role token (none: no token sent)."
)
NAME = typer.Option(None, "--name", help="Node name [default: the hostname].")
QUEUES = typer.Option(
    None,
    "--queues",
    help="Comma list of queues to pull from [default: every queue of a kind it runs].",
)
CONCURRENCY = typer.Option(
    None, "--concurrency", help="Jobs at once per queue, e.g. encode=2,score=1."
)
SLOTS = typer.Option(
    None, "--slots", help="Jobs at once in all [default: the sum of --concurrency, else 1]."
)
LABELS = typer.Option(
    None, "--labels", help="Labels jobs can require, e.g. tier=heavy,site=zampp2."
)
HTTP_LISTEN = typer.Option(
    None, "--http-listen", help="/metrics, /livez, /readyz [default: 127.0.0.1:9091; empty: off]."
)
DRAIN_TIMEOUT = typer.Option(
    None, "--drain-timeout", help="Seconds running jobs get on SIGTERM [default: 30]."
)
BURST = typer.Option(
    False, "--burst", help="Run until the queue has nothing for this node, then exit 0."
)
GPU = typer.Option(None, "--gpu", help="Pin the node to one GPU by UUID (VMAFX_NODE_GPU).")
PROBE = typer.Option(
    False,
    "--probe",
    help="Print what the node would announce and exit, registering nothing: GPUs (NVML and "
    "nvidia-smi), encoders and NVDEC decoders verified by trial, backends.",
)


class ProbeFormat(enum.StrEnum):
    table = "table"
    json = "json"


FORMAT = typer.Option(ProbeFormat.table, "--format", help="--probe output: table or json.")


@app.callback(invoke_without_command=True)
def node(
    ctx: typer.Context,
    controller: str | None = CONTROLLER,
    token_file: Path | None = TOKEN_FILE,
    ca: Path | None = CA,
    name: str | None = NAME,
    queues: str | None = QUEUES,
    concurrency: str | None = CONCURRENCY,
    slots: int | None = SLOTS,
    labels: str | None = LABELS,
    http_listen: str | None = HTTP_LISTEN,
    drain_timeout: float | None = DRAIN_TIMEOUT,
    burst: bool = BURST,
    gpu: str | None = GPU,
    probe: bool = PROBE,
    fmt: ProbeFormat = FORMAT,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    # (gRPC fork support is switched off in vmafx/__init__.py, before gRPC is first imported.)
    from vmafx.node.main import run  # noqa: PLC0415
    from vmafx.node.settings import node_settings  # noqa: PLC0415

    flags = {
        "controller": controller,
        "token_file": token_file,
        "ca": ca,
        "name": name,
        "queues": queues,
        "concurrency": concurrency,
        "slots": slots,
        "labels": labels,
        "http_listen": http_listen,
        "drain_timeout_s": drain_timeout,
        "burst": True if burst else None,
        "gpu": gpu,
    }
    settings = node_settings(flags=flags)
    if probe:
        print_probe(settings, fmt)
        raise typer.Exit(0)
    logging.getLogger("vmafx").setLevel(min(logging.getLogger().level, logging.INFO))
    raise typer.Exit(run(settings))


def print_probe(settings: object, fmt: ProbeFormat) -> None:
    """`vmafx node --probe`: detect, trial, print; nothing is registered or served."""
    from vmafx.config import ffmpeg_settings  # noqa: PLC0415
    from vmafx.media.ffmpeg import ffmpeg_info  # noqa: PLC0415
    from vmafx.media.runner import SubprocessRunner  # noqa: PLC0415
    from vmafx.node.capabilities import load_fake_gpus  # noqa: PLC0415
    from vmafx.node.probe_report import probe_node, render_table  # noqa: PLC0415
    from vmafx.node.settings import NodeSettings  # noqa: PLC0415

    assert isinstance(settings, NodeSettings)
    ffmpeg = ffmpeg_info(ffmpeg_settings().path)
    fake = load_fake_gpus(settings.fake_gpus) if settings.fake_gpus is not None else None
    report = probe_node(settings, ffmpeg, SubprocessRunner(), fake_gpus=fake)
    if fmt == ProbeFormat.json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(render_table(report))
