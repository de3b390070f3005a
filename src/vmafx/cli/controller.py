"""`vmafx controller`: run the controller; `vmafx controller migrate`: update the store's schema.

The controller's modules (grpcio, SQLAlchemy, prometheus-client) are imported only when one of
these commands runs, so `vmafx score` works without the `controller` extra.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

HELP = """Run the controller: the farm's durable job queue, node registry and scheduler.

Serves gRPC (vmafx.controller.v1, wire-compatible with the original platform) and HTTP, each
on loopback by default. The store defaults to SQLite in your state folder; for PostgreSQL pass
--store postgresql://USER@HOST:5432/DB and run `vmafx controller migrate` first.

Examples:

    vmafx controller --scoring-root /media

    vmafx controller --grpc-listen 0.0.0.0:9090 --store postgresql://vmafx@db:5432/vmafx

Every flag is also an environment variable: VMAFX_CONTROLLER_GRPC_LISTEN,
VMAFX_CONTROLLER_HTTP_LISTEN, VMAFX_STORE_URL, VMAFX_SCORING_ROOTS (comma list),
VMAFX_AUTH_DISABLED, VMAFX_CONTROLLER_MODEL_DIR. SIGTERM or Ctrl-C stops it cleanly (exit 0).
"""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode="markdown")


@app.callback(invoke_without_command=True)
def controller(
    ctx: typer.Context,
    grpc_listen: str | None = typer.Option(
        None, "--grpc-listen", help="gRPC address HOST:PORT [default: 127.0.0.1:9090]."
    ),
    http_listen: str | None = typer.Option(
        None, "--http-listen", help="HTTP address HOST:PORT [default: 127.0.0.1:8080]."
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="sqlite:///PATH or postgresql://… [default: SQLite in the state folder].",
    ),
    scoring_root: list[Path] | None = typer.Option(
        None,
        "--scoring-root",
        help="A folder local inputs must lie under (repeat it for several); "
        "with none, every local path is refused.",
    ),
    auth_disabled: bool = typer.Option(
        False,
        "--auth-disabled",
        help="Accept calls without a token (only when every listener is on loopback).",
    ),
    model_dir: Path | None = typer.Option(
        None,
        "--model-dir",
        help="The trainer's checkpoint folder (registry.json), listed by GET /v1/models "
        "[default: the trainer's default folder].",
    ),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from vmafx.config import controller_settings  # noqa: PLC0415
    from vmafx.controller.main import run  # noqa: PLC0415

    settings = controller_settings(
        flags={
            "grpc_listen": grpc_listen,
            "http_listen": http_listen,
            "store_url": store,
            "scoring_roots": [str(root) for root in scoring_root] if scoring_root else None,
            "auth_disabled": True if auth_disabled else None,
            "model_dir": model_dir,
        }
    )
    logging.getLogger("vmafx").setLevel(min(logging.getLogger().level, logging.INFO))
    raise typer.Exit(run(settings))


@app.command("migrate")
def migrate(
    store: str | None = typer.Option(
        None,
        "--store",
        help="sqlite:///PATH or postgresql://… "
        "[default: VMAFX_STORE_URL, else SQLite in the state folder].",
    ),
) -> None:
    """Bring the store's schema up to date (safe to run from several replicas at once)."""
    from vmafx.config import controller_settings  # noqa: PLC0415
    from vmafx.controller.main import migrate as run_migrate  # noqa: PLC0415
    from vmafx.controller.main import store_url  # noqa: PLC0415

    url = store_url(controller_settings(flags={"store_url": store}))
    revision = run_migrate(url)
    typer.echo(f"store schema is at revision {revision}")
