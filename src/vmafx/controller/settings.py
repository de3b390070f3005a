"""`vmafx controller`'s settings (`VMAFX_CONTROLLER_*`, loaded by `vmafx.config.load`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vmafx.config import convert, default_checkpoint_dir, load


@dataclasses.dataclass(frozen=True)
class ControllerSettings:
    """`vmafx controller`: `VMAFX_CONTROLLER_<KEY>`, plus the names the original platform used
    for the store, the scoring roots and auth (`VMAFX_STORE_URL`, `VMAFX_SCORING_ROOTS` as a
    comma list, `VMAFX_AUTH_DISABLED`). `store_url` None means SQLite in the state folder;
    `model_dir` (the trainer's checkpoint folder, read for `GET /v1/models`) None means
    `default_checkpoint_dir()`."""

    grpc_listen: str = "127.0.0.1:9090"
    http_listen: str = "127.0.0.1:8080"
    store_url: str | None = None
    scoring_roots: tuple[str, ...] = ()
    auth_disabled: bool = False
    lease_ttl_s: float = 60.0
    session_ttl_s: float = 60.0
    heartbeat_interval_s: float = 10.0
    #: The farm's heartbeats per second: past `heartbeat_interval_s` × this many nodes, the
    #: interval (and the lease and session TTLs with it) grows to stay under it (0: no cap).
    max_heartbeats_per_s: float = 100.0
    #: RegisterNode calls a second this controller admits (a burst of as many, then refused
    #: with a retry-after the nodes honour; 0: no limit).
    max_registrations_per_s: float = 200.0
    backoff_base_s: float = 5.0
    backoff_max_s: float = 300.0
    sweep_interval_s: float = 5.0
    pending_refresh_s: float = 10.0
    #: How often the store is re-read for each group of alike waiting PullWorks, besides the
    #: wake-ups of new work (seconds).
    repoll_s: float = 1.0
    #: Finished jobs older than this are deleted with their attempts and events (0: keep all).
    retention_days: float = 30.0
    max_wait_ms: int = 30_000
    max_message_bytes: int = 4 * 1024 * 1024
    grace_s: float = 10.0
    model_dir: Path | None = None
    #: TLS for both listeners (both or neither): PEM certificate (chain) and its key.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: OIDC bearer tokens beside the static ones (issuer, audience and JWKS URL, or none).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "vmafx_role"
    oidc_tenant_claim: str = "vmafx_tenant"
    #: `CLAIM_VALUE=ROLE,…` (e.g. IdP groups to roles); None: claim values are role names.
    oidc_role_map: str | None = None
    #: Clock skew allowed on `exp`/`nbf`/`iat`, in seconds.
    oidc_leeway_s: float = 30.0
    #: Object storage: a folder of per-tenant `<tenant>.env` files (credentials + allow-list);
    #: the environment's `VMAFX_STORAGE_ALLOW` works too (`vmafx.controller.storage`).
    storage_dir: Path | None = None
    #: How long URLs signed for a claim stay valid, in seconds.
    storage_url_ttl_s: int = 6 * 3600


#: Settings of `ControllerSettings` read from environment variables outside its section.
_CONTROLLER_ALIASES = {
    "store_url": "VMAFX_STORE_URL",
    "scoring_roots": "VMAFX_SCORING_ROOTS",
    "auth_disabled": "VMAFX_AUTH_DISABLED",
}


def controller_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> ControllerSettings:
    env = os.environ if env is None else env
    merged = dict(flags or {})
    for name, key in _CONTROLLER_ALIASES.items():
        if merged.get(name) is None and env.get(key):
            raw = env[key]
            merged[name] = convert(raw, bool, key) if name == "auth_disabled" else raw
    roots = merged.get("scoring_roots")
    if isinstance(roots, str):
        merged["scoring_roots"] = tuple(part.strip() for part in roots.split(",") if part.strip())
    elif roots is not None:
        merged["scoring_roots"] = tuple(str(root) for root in roots) or None
    settings = load(ControllerSettings, "controller", flags=merged, env=env)
    if isinstance(settings.scoring_roots, str):  # from the config file or the section's env
        text: str = settings.scoring_roots
        parts = tuple(part.strip() for part in text.split(",") if part.strip())
        settings = dataclasses.replace(settings, scoring_roots=parts)
    if settings.model_dir is None:
        settings = dataclasses.replace(settings, model_dir=default_checkpoint_dir(env))
    return settings
