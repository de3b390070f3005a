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

    vmafx controller --grpc-listen 0.0.0.0:9090 --tls-cert tls.crt --tls-key tls.key

With --tls-cert/--tls-key both listeners speak TLS only; clients then write the address as
https://HOST:9090 (with --ca FILE when a private CA signed the certificate). With
--oidc-issuer, --oidc-audience and --oidc-jwks-url, JWTs from that issuer (RS256/ES256) are
accepted beside `vmafx tokens`: the tenant comes from the claim --oidc-tenant-claim
(vmafx_tenant), the role(s) from --oidc-role-claim (vmafx_role), mapped by --oidc-role-map
GROUP=ROLE,… when the claim holds group names.

Every flag is also an environment variable: VMAFX_CONTROLLER_GRPC_LISTEN,
VMAFX_CONTROLLER_HTTP_LISTEN, VMAFX_STORE_URL, VMAFX_SCORING_ROOTS (comma list),
VMAFX_AUTH_DISABLED, VMAFX_CONTROLLER_MODEL_DIR, VMAFX_CONTROLLER_TLS_CERT, _TLS_KEY,
VMAFX_CONTROLLER_OIDC_ISSUER, _OIDC_AUDIENCE, _OIDC_JWKS_URL, _OIDC_ROLE_CLAIM,
_OIDC_TENANT_CLAIM, _OIDC_ROLE_MAP, _OIDC_LEEWAY_S (clock skew, default 30),
VMAFX_CONTROLLER_RETENTION_DAYS. SIGTERM or Ctrl-C stops it cleanly (exit 0).

Several controllers may serve one PostgreSQL store (they wake each other's pullers and
watchers with LISTEN/NOTIFY; one of them runs the periodic sweeps); one SQLite file takes one.
"""

app = typer.Typer(help=HELP, add_completion=False, rich_markup_mode="markdown")

TLS_CERT = typer.Option(
    None, "--tls-cert", help="PEM certificate (chain) to serve gRPC and HTTP over TLS."
)
TLS_KEY = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert.")
OIDC_ISSUER = typer.Option(
    None, "--oidc-issuer", help="Accept OIDC JWTs from this issuer (the token's `iss`)."
)
OIDC_AUDIENCE = typer.Option(
    None, "--oidc-audience", help="The audience OIDC tokens must carry (`aud`)."
)
OIDC_JWKS_URL = typer.Option(
    None,
    "--oidc-jwks-url",
    help="The issuer's JWKS (https://; http:// only on loopback), cached and refetched "
    "for an unknown key id.",
)
OIDC_ROLE_CLAIM = typer.Option(
    None, "--oidc-role-claim", help="Claim holding the role(s), dotted for nested [vmafx_role]."
)
OIDC_TENANT_CLAIM = typer.Option(
    None, "--oidc-tenant-claim", help="Claim holding the tenant [vmafx_tenant]."
)
OIDC_ROLE_MAP = typer.Option(
    None,
    "--oidc-role-map",
    help="Role-claim values to vmafx roles, e.g. vmafx-admins=admin,staff=writer "
    "[default: the values are role names].",
)


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
    storage_dir: Path | None = typer.Option(
        None,
        "--storage-dir",
        help="Object storage: a folder of per-tenant TENANT.env files (AWS_* credentials and "
        "VMAFX_STORAGE_ALLOW=s3://bucket/prefix/,...), mode 0600 (docs/storage.md).",
    ),
    model_dir: Path | None = typer.Option(
        None,
        "--model-dir",
        help="The trainer's checkpoint folder (registry.json), listed by GET /v1/models "
        "[default: the trainer's default folder].",
    ),
    tls_cert: Path | None = TLS_CERT,
    tls_key: Path | None = TLS_KEY,
    oidc_issuer: str | None = OIDC_ISSUER,
    oidc_audience: str | None = OIDC_AUDIENCE,
    oidc_jwks_url: str | None = OIDC_JWKS_URL,
    oidc_role_claim: str | None = OIDC_ROLE_CLAIM,
    oidc_tenant_claim: str | None = OIDC_TENANT_CLAIM,
    oidc_role_map: str | None = OIDC_ROLE_MAP,
    retention_days: float | None = typer.Option(
        None,
        "--retention-days",
        min=0,
        help="Delete jobs finished more than this many days ago, with their attempts and "
        "events; 0 keeps every job [default: 30].",
    ),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from vmafx.controller.main import run  # noqa: PLC0415
    from vmafx.controller.settings import controller_settings  # noqa: PLC0415

    settings = controller_settings(
        flags={
            "grpc_listen": grpc_listen,
            "http_listen": http_listen,
            "store_url": store,
            "scoring_roots": [str(root) for root in scoring_root] if scoring_root else None,
            "auth_disabled": True if auth_disabled else None,
            "model_dir": model_dir,
            "storage_dir": storage_dir,
            "tls_cert": tls_cert,
            "tls_key": tls_key,
            "oidc_issuer": oidc_issuer,
            "oidc_audience": oidc_audience,
            "oidc_jwks_url": oidc_jwks_url,
            "oidc_role_claim": oidc_role_claim,
            "oidc_tenant_claim": oidc_tenant_claim,
            "oidc_role_map": oidc_role_map,
            "retention_days": retention_days,
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
    from vmafx.controller.main import migrate as run_migrate  # noqa: PLC0415
    from vmafx.controller.main import store_url  # noqa: PLC0415
    from vmafx.controller.settings import controller_settings  # noqa: PLC0415

    url = store_url(controller_settings(flags={"store_url": store}))
    revision = run_migrate(url)
    typer.echo(f"store schema is at revision {revision}")
