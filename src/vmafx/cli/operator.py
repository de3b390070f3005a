"""`vmafx operator`: the composition root of the Kubernetes operator (kopf).

kopf and the operator's handlers are imported only when this command runs (`vmafx score` and
every other command work without the `operator` extra); without kopf it exits 19 with
`pip install 'vmafx[operator]'`. The CLI and the operator are sibling entry points
(import-linter keeps them independent), so `vmafx.operator.main` is loaded by name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from vmafx.cli import remote
from vmafx.errors import ConfigError

HELP = """Run the Kubernetes operator: VmafxJob, VmafxNode and VmafxModelTraining (vmafx.dev/v1).

A VmafxJob is submitted to the controller with its metadata.uid as idempotency key; its state,
score, host, GPU, attempts and pending reason are mirrored into .status every --poll-interval
seconds, and deleting it cancels the job (a finalizer holds the object until the controller
answered). A VmafxNode becomes a Deployment running `vmafx node` for that pool. A
VmafxModelTraining becomes the trainer's ConfigMap and its /status is mirrored into .status.

In a pod it logs in with its service account; elsewhere with ~/.kube/config (or --kube-server).
Watches the namespaces given with --namespace, else the whole cluster. The CRDs are in
deploy/crds/; see docs/operator.md. Needs `pip install 'vmafx[operator]'`.

Example:

    vmafx operator --controller vmafx-controller:9090 --token-file /var/run/vmafx/token -n media
"""


def operator(
    controller: str = remote.CONTROLLER,
    ca: Path | None = remote.CA,
    token: str | None = remote.TOKEN,
    token_file: Path | None = remote.TOKEN_FILE,
    namespace: list[str] = typer.Option(
        [], "--namespace", "-n", help="A namespace to watch (repeat); default: every namespace."
    ),
    poll_interval: float = typer.Option(
        5.0,
        "--poll-interval",
        envvar="VMAFX_OPERATOR_POLL_S",
        help="Seconds between refreshes of a VmafxJob's or a trainer's status.",
    ),
    kube_server: str | None = typer.Option(
        None,
        "--kube-server",
        envvar="VMAFX_OPERATOR_KUBE_SERVER",
        help="The Kubernetes API URL, unauthenticated (tests) [default: in-cluster, "
        "else kubeconfig].",
    ),
    liveness: str | None = typer.Option(
        None,
        "--liveness",
        help="Serve kopf's liveness probe here, e.g. http://0.0.0.0:8080/healthz.",
    ),
) -> None:
    if poll_interval <= 0:
        raise ConfigError(
            f"--poll-interval must be positive, got {poll_interval}.",
            hint="E.g. --poll-interval 5.",
        )
    where = remote.Remote.of(controller, token, token_file, ca)
    main = importlib.import_module("vmafx.operator.main")
    main.require_kopf()
    typer.echo(f"vmafx operator: controller {where.where}, namespaces "
               f"{', '.join(namespace) or 'all'}", err=True)  # fmt: skip
    main.run(
        where.connect,
        namespaces=tuple(namespace),
        poll_s=poll_interval,
        kube_server=kube_server,
        liveness=liveness,
    )
