"""`vmafx node` settings: flags > `VMAFX_NODE_*` > the `[node]` table of the config file > defaults.

Two names come from the original platform: `VMAFX_CONTROLLER_ADDR` (the controller's gRPC
address) and `VMAFX_CONTROLLER_TOKEN_FILE`; the `VMAFX_NODE_*` names win when both are set.
`https://HOST:PORT` dials the controller with TLS, trusting `VMAFX_NODE_CA` (else `VMAFX_CA`,
the name every client shares, used for an https:// controller only) or the system's CAs
(`vmafx.client.tls`).
Queues, concurrency and labels are comma lists:

    VMAFX_NODE_QUEUES=encode,score              (unset: every queue)
    VMAFX_NODE_CONCURRENCY=encode=2,score=1     (jobs at once per queue)
    VMAFX_NODE_LABELS=tier=heavy,site=zampp2

The slot count (pull loops, the original `concurrency`) is `VMAFX_NODE_SLOTS` when set, else
the sum of the per-queue limits (a subscribed queue without a limit counts 1), else 1.

Test-only settings, for machines without the hardware: `VMAFX_NODE_FAKE_GPUS` (a JSON list of
GPUs to advertise instead of detecting) and `VMAFX_NODE_DECLARED_ENCODERS` (encoders to
advertise without a trial encode). A declared encoder that does not work fails at encode time
and the job falls back to software, which is how the fallback is tested end to end.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vmafx.ai.registry import parse_policy
from vmafx.client.tls import parse_address
from vmafx.config import load, state_dir
from vmafx.core.token_text import token_from_text
from vmafx.errors import ConfigError
from vmafx.media.hwdecode import DECODE_MODES
from vmafx.node.labels import parse_labels

MAX_SLOTS = 64
_QUEUE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_ALIASES = {"controller": "VMAFX_CONTROLLER_ADDR", "token_file": "VMAFX_CONTROLLER_TOKEN_FILE"}


@dataclasses.dataclass(frozen=True)
class NodeSettings:
    """Everything `vmafx node` is told; see the module docstring for the names."""

    controller: str = "127.0.0.1:9090"
    token_file: Path | None = None
    ca: Path | None = None
    name: str | None = None
    queues: tuple[str, ...] = ()
    concurrency: Mapping[str, int] = dataclasses.field(default_factory=dict)
    slots: int | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    http_listen: str = "127.0.0.1:9091"
    drain_timeout_s: float = 30.0
    burst: bool = False
    gpu: str | None = None
    #: One PullWork's long-poll. A waiting puller costs the controller nothing between
    #: wake-ups (one store re-read per group of alike pullers), so only the call itself counts:
    #: 20 s (under the controller's 30 s cap) is 1/4 of the calls of 5 s (docs/scale.md).
    poll_wait_s: float = 20.0
    rpc_timeout_s: float = 10.0
    results_dir: Path | None = None
    encoders: tuple[str, ...] = ()
    refresh_probe: bool = False
    render_device: str = "/dev/dri/renderD128"
    feedback_socket: Path | None = None
    #: Checkpoints to serve (None: the trainer's default checkpoint folder), polled this often.
    model_dir: Path | None = None
    model_poll_s: float = 5.0
    model_policy: str = "latest-stable"
    fake_gpus: Path | None = None
    declared_encoders: tuple[str, ...] = ()
    #: How score jobs decode their inputs: cpu, cuda (NVDEC) or auto (`vmafx.media.hwdecode`).
    decode: str = "cpu"

    @property
    def slot_count(self) -> int:
        return slot_count(self.queues, self.concurrency, self.slots)

    @property
    def results_folder(self) -> Path:
        """Where per-frame series are written (`<state dir>/node-results` by default)."""
        return self.results_dir or state_dir() / "node-results"


def parse_queues(text: str | None, *, source: str = "VMAFX_NODE_QUEUES") -> tuple[str, ...]:
    """`encode,score` → ("encode", "score"); empty or unset → () (every queue)."""
    queues = [item.strip() for item in (text or "").split(",") if item.strip()]
    for queue in queues:
        if not _QUEUE.fullmatch(queue):
            raise ConfigError(
                f"{source}: queue name {queue!r} is not valid.",
                hint="Use lower-case letters, digits, '-' or '_', "
                "e.g. VMAFX_NODE_QUEUES=encode,score.",
            )
    return tuple(dict.fromkeys(queues))


def parse_concurrency(
    text: str | None, *, source: str = "VMAFX_NODE_CONCURRENCY"
) -> dict[str, int]:
    """`encode=2,score=1` → {"encode": 2, "score": 1}; a limit of 0 turns a queue off."""
    example = "Write it as VMAFX_NODE_CONCURRENCY=encode=2,score=1."
    limits: dict[str, int] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        queue, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not _QUEUE.fullmatch(queue):
            raise ConfigError(f"{source}: {item!r} is not QUEUE=LIMIT.", hint=example)
        if not value.isdigit() or int(value) > MAX_SLOTS:
            raise ConfigError(
                f"{source}: the limit of queue {queue!r} must be a whole number in 0–{MAX_SLOTS}, "
                f"got {value!r}.",
                hint=example,
            )
        if queue in limits:
            raise ConfigError(f"{source}: queue {queue!r} is given twice.", hint=example)
        limits[queue] = int(value)
    return limits


def slot_count(queues: tuple[str, ...], concurrency: Mapping[str, int], slots: int | None) -> int:
    """How many jobs the node runs at once (one pull loop each)."""
    if slots is None:
        if queues:
            slots = sum(concurrency.get(queue, 1) for queue in queues)
        else:
            slots = sum(concurrency.values()) or 1
    if not 1 <= slots <= MAX_SLOTS:
        raise ConfigError(
            f"the node would run {slots} slots; it needs 1 to {MAX_SLOTS}.",
            hint="Set VMAFX_NODE_SLOTS, or give some queue a limit above 0 in "
            "VMAFX_NODE_CONCURRENCY.",
        )
    return slots


def _split(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return tuple(str(item) for item in value)


def _pairs(value: Any) -> str:
    """A `k=v,k=v` string from a string, or from a table in the config file."""
    if isinstance(value, Mapping):
        return ",".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def _parsed(settings: NodeSettings) -> NodeSettings:
    """The settings with comma lists parsed and every value checked."""
    raw: Any = settings
    queues = parse_queues(raw.queues if isinstance(raw.queues, str) else ",".join(raw.queues))
    concurrency = parse_concurrency(_pairs(raw.concurrency))
    labels = parse_labels(_pairs(raw.labels))
    unsubscribed = sorted(set(concurrency) - set(queues)) if queues else []
    if unsubscribed:
        raise ConfigError(
            f"VMAFX_NODE_CONCURRENCY names queue {unsubscribed[0]!r}, which the node does not "
            f"subscribe to (VMAFX_NODE_QUEUES={','.join(queues)}).",
            hint="Add it to the queues, or drop its limit.",
        )
    if settings.drain_timeout_s < 0 or settings.poll_wait_s < 0 or settings.rpc_timeout_s <= 0:
        raise ConfigError(
            "drain timeout and poll wait must be 0 or more seconds, the RPC timeout positive."
        )
    if not settings.model_poll_s > 0:
        raise ConfigError(
            f"VMAFX_NODE_MODEL_POLL_S is {settings.model_poll_s!r}; it must be a positive "
            "number of seconds.",
            hint="E.g. VMAFX_NODE_MODEL_POLL_S=5.",
        )
    parse_policy(settings.model_policy)  # raises ConfigError naming the three policies
    if settings.decode not in DECODE_MODES:
        raise ConfigError(
            f"VMAFX_NODE_DECODE is {settings.decode!r}; it must be cpu, cuda or auto.",
            hint="cpu (the default) decodes on the CPU; auto uses NVDEC on an NVIDIA GPU for "
            "1080p and larger references.",
        )
    parse_address(settings.controller, ca=settings.ca)  # raises ConfigError when unusable
    parsed = dataclasses.replace(
        settings,
        queues=queues,
        concurrency=dict(concurrency),
        labels=dict(labels),
        encoders=_split(settings.encoders),
        declared_encoders=_split(settings.declared_encoders),
        name=settings.name or None,
    )
    parsed.slot_count  # noqa: B018 - raises ConfigError when the slot count cannot work
    return parsed


def node_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> NodeSettings:
    """Settings for `vmafx node` from flags, the environment, the config file and defaults."""
    env = os.environ if env is None else env
    merged = dict(flags or {})
    for name, key in _ALIASES.items():
        own = f"VMAFX_NODE_{name.upper()}"
        if merged.get(name) is None and own not in env and env.get(key):
            merged[name] = env[key] if name == "controller" else Path(env[key])
    settings = load(NodeSettings, "node", flags=merged, env=env)
    if settings.ca is None and env.get("VMAFX_CA") and settings.controller.startswith("https://"):
        # The CA every client shares, for a TLS controller; `--ca`/VMAFX_NODE_CA win.
        settings = dataclasses.replace(settings, ca=Path(env["VMAFX_CA"]))
    return _parsed(settings)


def read_token(path: Path | None) -> str | None:
    """The node token from `--token-file` (the one token in it, see `core.token_text`); None
    without one."""
    if path is None:
        return None
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise ConfigError(
            f"the token file {path} cannot be read ({error.strerror or error}).",
            hint="Create a node token with `vmafx tokens create --role node` and write it there.",
        ) from None
    return token_from_text(text, f"the token file {path}")
