"""Settings: small dataclasses and one loader.

Precedence, highest first: command-line flags > `VMAFX_<SECTION>_<KEY>` environment variables >
a TOML file (`VMAFX_CONFIG`, default `<config dir>/vmafx/config.toml`) > the dataclass defaults.
Only entry points call `load`; libraries take explicit arguments.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from vmafx.errors import ConfigError

T = TypeVar("T")


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's state folder for vmafx (`$XDG_STATE_HOME/vmafx`, `~/.local/state/vmafx`)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vmafx"


def config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("VMAFX_CONFIG"):
        return Path(env["VMAFX_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vmafx" / "config.toml"


@dataclasses.dataclass(frozen=True)
class FfmpegSettings:
    """`VMAFX_FFMPEG` (no section: the name users know) and `VMAFX_FFMPEG_TIMEOUT_S`."""

    path: str | None = None
    timeout_s: float | None = None


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    model: str = "vmaf_v0.6.1"
    threads: int | None = None
    subsample: int = 1


def _convert(raw: Any, target: Any, where: str) -> Any:
    origin = typing.get_origin(target)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(target) if a is not type(None)]
        if raw is None or raw == "":
            return None
        return _convert(raw, args[0], where)
    try:
        if target is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if target in (int, float, str):
            return target(raw)
        if target is Path:
            return Path(str(raw))
    except ValueError:
        raise ConfigError(
            f"{where} has the value {raw!r}, which is not a valid "
            f"{getattr(target, '__name__', target)}.",
            hint="Fix or unset it.",
        ) from None
    return raw


def load(
    cls: type[T],
    section: str,
    *,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    file: Path | None = None,
) -> T:
    """Build settings `cls` for `section` from flags, environment, file and defaults."""
    env = os.environ if env is None else env
    path = file if file is not None else config_file(env)
    from_file: Mapping[str, Any] = {}
    if path.is_file():
        import tomllib  # noqa: PLC0415 - only with a config file: `vmafx score` starts without

        try:
            from_file = tomllib.loads(path.read_text()).get(section, {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The config file {path} is not valid TOML: {exc}.") from None
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.name
        env_key = f"VMAFX_{section}_{name}".upper() if section else f"VMAFX_{name}".upper()
        if flags and flags.get(name) is not None:
            values[name] = flags[name]
        elif env_key in env:
            values[name] = _convert(
                env[env_key], hints[name], f"The environment variable {env_key}"
            )
        elif name in from_file:
            values[name] = _convert(from_file[name], hints[name], f"[{section}] {name} in {path}")
    return cls(**values)


def ffmpeg_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> FfmpegSettings:
    """`VMAFX_FFMPEG` selects the binary; `VMAFX_FFMPEG_TIMEOUT_S` bounds each run."""
    env = os.environ if env is None else env
    merged = dict(flags or {})
    if merged.get("path") is None and env.get("VMAFX_FFMPEG"):
        merged["path"] = env["VMAFX_FFMPEG"]
    return load(FfmpegSettings, "ffmpeg", flags=merged, env=env)


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
            merged[name] = _convert(raw, bool, key) if name == "auth_disabled" else raw
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


def default_checkpoint_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the trainer writes checkpoints and `registry.json` unless told otherwise."""
    return state_dir(env) / "models"


@dataclasses.dataclass(frozen=True)
class SidecarSettings:
    """The trainer sidecar: every `VMAFX_SIDECAR_*` of DESIGN.md §6, plus `VMAFX_BASE_MODEL_PATH`.

    The first block keeps the original's names and defaults; the rest is vmafx's own (stability
    gate, wire limits, model shape, the `/status` listener; `status_port` empty disables it).
    """

    socket: Path = Path("/tmp/vmafx-sidecar.sock")
    checkpoint_dir: Path | None = None
    replay_capacity: int = 10_000
    pending_capacity: int = 10_000
    batch_size: int = 32
    replay_mix: float = 0.5
    lr: float = 1e-4
    ema_decay: float = 0.999
    ckpt_interval_s: float = 600.0
    min_samples_ckpt: int = 1000
    n_features: int = 80
    base_model_path: Path | None = None
    momentum: float = 0.9
    weight_decay: float = 1e-5
    grad_clip: float = 1.0
    warmup_steps: int = 100
    hidden: int = 64
    holdout_every: int = 10
    holdout_size: int = 500
    gate_min_samples: int = 20
    gate_plcc_delta: float = 0.005
    gate_min_plcc: float = 0.0
    max_line_bytes: int = 65_536
    idle_timeout_s: float = 300.0
    max_connections: int = 64
    status_host: str = "127.0.0.1"
    status_port: int | None = 9475
    seed: int | None = None
    #: `VMAFX_SIDECAR_CUDA=1`: train on the GPU when torch sees one (else the CPU, said why).
    cuda: bool = False

    def checked(self) -> SidecarSettings:
        """These settings, or a ConfigError naming the first value that cannot work."""
        rules: list[tuple[bool, str, str]] = [
            (0.0 <= self.replay_mix < 1.0, "REPLAY_MIX", "must be in [0, 1)"),
            (self.batch_size >= 1, "BATCH_SIZE", "must be at least 1"),
            (self.replay_capacity >= 1, "REPLAY_CAPACITY", "must be at least 1"),
            (self.pending_capacity >= self.batch_size, "PENDING_CAPACITY", "must be ≥ BATCH_SIZE"),
            (self.lr > 0, "LR", "must be positive"),
            (0.0 <= self.ema_decay < 1.0, "EMA_DECAY", "must be in [0, 1)"),
            (self.ckpt_interval_s >= 0, "CKPT_INTERVAL_S", "must be ≥ 0"),
            (self.min_samples_ckpt >= 1, "MIN_SAMPLES_CKPT", "must be at least 1"),
            (self.n_features >= 1, "N_FEATURES", "must be at least 1"),
            (self.hidden >= 1, "HIDDEN", "must be at least 1"),
            (self.holdout_every >= 2, "HOLDOUT_EVERY", "must be at least 2"),
            (self.gate_min_samples >= 3, "GATE_MIN_SAMPLES", "must be at least 3"),
            (self.max_line_bytes >= 1024, "MAX_LINE_BYTES", "must be at least 1024"),
            (self.idle_timeout_s > 0, "IDLE_TIMEOUT_S", "must be positive"),
            (self.max_connections >= 1, "MAX_CONNECTIONS", "must be at least 1"),
        ]
        for ok, key, rule in rules:
            if not ok:
                value = getattr(self, key.lower())
                raise ConfigError(
                    f"VMAFX_SIDECAR_{key} is {value!r}; it {rule}.", hint="Fix or unset it."
                )
        return self


def sidecar_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> SidecarSettings:
    """Trainer settings; `VMAFX_BASE_MODEL_PATH` keeps the original's name (no section)."""
    env = os.environ if env is None else env
    merged = dict(flags or {})
    if merged.get("base_model_path") is None and env.get("VMAFX_BASE_MODEL_PATH"):
        merged["base_model_path"] = Path(env["VMAFX_BASE_MODEL_PATH"])
    settings = load(SidecarSettings, "sidecar", flags=merged, env=env)
    if settings.checkpoint_dir is None:
        settings = dataclasses.replace(settings, checkpoint_dir=default_checkpoint_dir(env))
    return settings.checked()
