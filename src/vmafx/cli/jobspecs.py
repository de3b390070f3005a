"""Job requests from `vmafx jobs submit` flags: absolute paths, local checks, full validation.

Everything here runs before the controller is called, so a typo, a missing file or an encoder
vmafx cannot drive is reported at once with the flag to fix, the same way every time. The
controller validates again (as it does for every client).
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from vmafx.core import specs
from vmafx.core.jobs import Requirements
from vmafx.core.messages import JobRequest
from vmafx.core.metrics import metric_names
from vmafx.errors import InputNotFoundError, UsageError

RATE_MODES = ("crf", "cq", "qp", "bitrate")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Placement:
    """Where a job goes: queue, priority and the node requirements."""

    queue: str | None = None
    priority: int = 0
    labels: Sequence[str] = ()
    gpu_vendor: str | None = None
    encoder: str | None = None

    def requirements(self) -> Requirements:
        pairs: dict[str, str] = {}
        for text in self.labels:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise UsageError(
                    f"--require-label {text!r} is not KEY=VALUE.", hint="For example tier=heavy."
                )
            pairs[key.strip()] = value.strip()
        return Requirements(gpu_vendor=self.gpu_vendor, encoder=self.encoder, labels=pairs)


def is_url(value: str) -> bool:
    scheme = urllib.parse.urlsplit(value).scheme
    return len(scheme) > 1  # one letter is a Windows drive


def absolute(value: str) -> str:
    """A local path made absolute (nodes cannot know the CLI's working folder); URLs unchanged."""
    if is_url(value):
        return value
    return os.path.abspath(os.path.expanduser(value))


def check_exists(field: str, value: str) -> None:
    if is_url(value) and urllib.parse.urlsplit(value).scheme != "file":
        return
    path = urllib.parse.unquote(urllib.parse.urlsplit(value).path) if is_url(value) else value
    if not os.path.exists(path):
        raise InputNotFoundError(
            f"{field} {value} does not exist.",
            path=value,
            hint="Check the path; if it exists only where the nodes run, pass --no-check-inputs.",
        )


def score_request(
    reference: str,
    distorted: Sequence[str],
    *,
    options: Mapping[str, Any],
    placement: Placement,
    check_inputs: bool = True,
) -> JobRequest:
    """A validated score job. `options`: models, features, subsample, no_scale, threads."""
    reference = absolute(reference)
    distorted = [absolute(path) for path in distorted]
    if check_inputs:
        check_exists("reference", reference)
        for index, path in enumerate(distorted):
            check_exists(f"distorted[{index}]", path)
    spec: dict[str, Any] = {
        "reference": reference,
        "distorted": distorted,
        "models": list(options.get("models") or ["vmaf_v0.6.1"]),
        "metrics": metric_names(options.get("features") or ()),
        "subsample": options.get("subsample", 1),
        "scaling": "none" if options.get("no_scale") else "bicubic",
        "threads": options.get("threads") or None,
    }
    return _request(specs.ScoreSpec.from_json(spec), placement)


def rate_control(rates: Mapping[str, float | None]) -> dict[str, Any] | None:
    given = {mode: value for mode, value in rates.items() if value is not None}
    if len(given) > 1:
        flags = ", ".join(f"--{mode}" for mode in given)
        raise UsageError(f"{flags} each set the rate control; give only one of them.")
    for mode, value in given.items():
        return {"mode": mode, "value": int(value) if mode != "bitrate" else value}
    return None


def encode_spec(source: str, output: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of an encode job from its flags (see `vmafx jobs submit encode --help`)."""
    width, height = options.get("width"), options.get("height")
    if (width is None) != (height is None):
        raise UsageError(
            "--width and --height go together.", hint="Give both, e.g. --width 1280 --height 720."
        )
    start, duration = options.get("start"), options.get("duration")
    trim = None
    if start is not None or duration is not None:
        trim = {"start_s": start or 0.0, "duration_s": duration}
    return {
        "source": absolute(source),
        "output": absolute(output),
        "codec": options["codec"],
        "hw": options.get("hw", "prefer"),
        "encoder": options.get("encoder"),
        "rate_control": rate_control({mode: options.get(mode) for mode in RATE_MODES}),
        "preset": options.get("preset"),
        "resolution": {"width": width, "height": height} if width is not None else None,
        "trim": trim,
        "audio": options.get("audio", "copy"),
        "score_after": bool(options.get("score_after")),
    }


def encode_request(
    source: str,
    output: str,
    *,
    options: Mapping[str, Any],
    placement: Placement,
    check_inputs: bool = True,
) -> JobRequest:
    """A validated encode job: the spec's fields, then the encoder rules nodes apply."""
    from vmafx.media.encoders import EncodeSpec  # noqa: PLC0415

    spec = encode_spec(source, output, options)
    if check_inputs:
        check_exists("source", spec["source"])
    typed = specs.EncodeSpec.from_json(spec)
    EncodeSpec.from_job_spec(typed)  # the encoder rules: unknown encoder, preset, size …
    return _request(typed, placement)


def _request(spec: specs.JobSpec, placement: Placement) -> JobRequest:
    return JobRequest(
        spec=spec,
        queue=placement.queue,
        priority=placement.priority,
        requirements=placement.requirements(),
    )
