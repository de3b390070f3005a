"""Settings: the loader, and the small settings of `vmafx score` (ffmpeg, scoring).

Precedence, highest first: command-line flags > `VMAFX_<SECTION>_<KEY>` environment variables >
a TOML file (`VMAFX_CONFIG`, default `<config dir>/vmafx/config.toml`) > the dataclass defaults.
Only entry points call `load`; libraries take explicit arguments. The services' settings live
with them (`vmafx.controller.settings`, `vmafx.ai.trainer.settings`, `vmafx.node.settings`),
so that `vmafx score` does not build their large dataclasses at start-up (issue 13).
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


def convert(raw: Any, target: Any, where: str) -> Any:
    origin = typing.get_origin(target)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(target) if a is not type(None)]
        if raw is None or raw == "":
            return None
        return convert(raw, args[0], where)
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
            values[name] = convert(env[env_key], hints[name], f"The environment variable {env_key}")
        elif name in from_file:
            values[name] = convert(from_file[name], hints[name], f"[{section}] {name} in {path}")
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


def default_checkpoint_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the trainer writes checkpoints and `registry.json` unless told otherwise."""
    return state_dir(env) / "models"
