"""Which inputs and outputs a job may name: local paths under the scoring roots, no URLs.

Deny by default: with no scoring root configured, every local path is refused. A path must be
absolute and, after resolving symlinks and `..`, lie under one of the roots; so must a score
job's model files. The rest of the input policy (`vmafx.core.input_policy`) is checked here too,
as far as it can be without opening media: at most 4,096 characters, no playlist or concat list
by name, and an input that exists must be a regular file (an output must not be a folder).
URLs are refused: `file://` (give the path), remote ones (http, https, gs, az; s3 only where the
tenant has a storage allow-list, `vmafx.controller.storage`) and ffmpeg's own protocols
(`concat:`, `subfile:`, `pipe:` …). A root may contain
`{tenant}`, replaced by the job's tenant (a tenant containing `/ \\ : .` is never substituted).
The node checks again before it opens anything (it gets the roots with every claim).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from vmafx.controller.storage import StorageAccess
from vmafx.core.input_policy import (
    check_path_text,
    check_regular_file,
    check_single_file_name,
    check_single_output_name,
    is_model_path,
    url_error,
    url_scheme,
)
from vmafx.core.jobs import JobKind
from vmafx.core.remote import is_object_url
from vmafx.errors import InputOutsideRootsError, UsageError

#: How long the roots a claim tells the node are reused before they are resolved again.
ROOTS_TOLD_TTL_S = 1.0
_UNSAFE_TENANT = ("/", "\\", ":", ".")

#: Spec fields naming files, per kind (a list field names several).
PATH_FIELDS: Mapping[JobKind, tuple[str, ...]] = {
    JobKind.SCORE: ("reference", "distorted"),
    JobKind.ENCODE: ("source", "output"),
    JobKind.THUMBNAIL: ("source", "output"),
    JobKind.FILMSTRIP: ("source", "output"),
    JobKind.INFER: (),
    JobKind.TUNE: ("source", "output"),
    JobKind.HEALTH: ("source",),
}


def _spec_paths(kind: JobKind, spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name in PATH_FIELDS[kind]:
        value = spec.get(name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if isinstance(item, str):
                yield (f"{name}[{index}]" if isinstance(value, list) else name), item


class InputPolicy:
    """Checks the files a job names against the scoring roots and the input policy."""

    def __init__(
        self, roots: Sequence[str | Path] = (), storage: StorageAccess | None = None
    ) -> None:
        self._roots = tuple(str(root) for root in roots)
        #: Object URLs: per-tenant allow-lists, and the signing of claims.
        self.storage = storage or StorageAccess()
        self._told: dict[str, tuple[float, tuple[str, ...]]] = {}

    def roots_to_tell(self, tenant: str) -> tuple[str, ...]:
        """`roots_for`, resolved at most once a second per tenant: what a claim tells the node
        (a hint for its own checks; the controller's checks resolve afresh each time)."""
        now = time.monotonic()
        told = self._told.get(tenant)
        if told is None or now - told[0] > ROOTS_TOLD_TTL_S:
            told = self._told[tenant] = (now, self.roots_for(tenant))
        return told[1]

    def roots_for(self, tenant: str) -> tuple[str, ...]:
        """The roots for `tenant`, `{tenant}` expanded and symlinks resolved."""
        found: list[str] = []
        for template in self._roots:
            unsafe = not tenant or any(mark in tenant for mark in _UNSAFE_TENANT)
            if "{tenant}" in template and unsafe:
                continue
            found.append(os.path.realpath(template.replace("{tenant}", tenant)))
        return tuple(found)

    def check_spec(self, kind: JobKind, spec: Mapping[str, Any], tenant: str) -> None:
        """Raise unless every path in `spec` (inputs, outputs, model files) is allowed."""
        for field, value in _spec_paths(kind, spec):
            if is_object_url(value) and self.storage.configured:
                check_path_text(value, field)
                self.storage.check(value, tenant, kind, field)
                if kind is JobKind.TUNE and not spec.get("output"):
                    raise UsageError(
                        f"tune job of the object {value!r} names no output; its probes and "
                        "the chosen encode go beside the source by default, which an object "
                        "has not.",
                        hint="Give output: a local path under a scoring root.",
                    )
                continue
            self.check(value, tenant, field=field)
        if kind is JobKind.SCORE:
            models = spec.get("models")
            for index, model in enumerate(models if isinstance(models, list) else []):
                if isinstance(model, str) and is_model_path(model):
                    self.check(model, tenant, field=f"models[{index}]")

    def check(self, value: str, tenant: str, *, field: str = "input") -> None:
        """Raise unless `value` is an absolute path under the tenant's roots that names a file
        a node can open: no URL, no playlist or list of files, nothing but a regular file (or
        nothing yet) there now. Stat only: the controller opens no media."""
        check_path_text(value, field)
        scheme = url_scheme(value)
        if scheme is not None:
            raise url_error(field, value, scheme)
        self._check_path(value, tenant, field)
        if field == "output":
            check_single_output_name(value, field)
        else:
            check_single_file_name(value, field)
        self._check_file(value, field)

    @staticmethod
    def _check_file(value: str, field: str) -> None:
        """What is there now, if anything (the node checks again when it runs the job)."""
        try:
            mode = os.stat(value).st_mode
        except OSError:
            return  # not there yet, or not visible here: the node decides
        if field == "output":
            if stat.S_ISDIR(mode):
                raise UsageError(
                    f"output {value!r} is a folder; an output names the file to write.",
                    hint=f"For example: {value.rstrip(os.sep)}/out.mp4",
                )
            return
        check_regular_file(value, field)

    def _check_path(self, value: str, tenant: str, field: str) -> None:
        if not os.path.isabs(value):
            raise UsageError(
                f"{field} {value!r} is a relative path; nodes cannot know what it is relative to.",
                hint="Give an absolute path under a scoring root.",
            )
        roots = self.roots_for(tenant)
        if not roots:
            raise InputOutsideRootsError(
                f"{field} {value!r} is a local path, and no scoring root is configured, so "
                "every local path is refused.",
                path=value,
                hint="Start the controller with --scoring-root DIR (or VMAFX_SCORING_ROOTS).",
            )
        resolved = os.path.realpath(value)
        if not any(_is_under(resolved, root) for root in roots):
            where = f" (it resolves to {resolved})" if resolved != value else ""
            raise InputOutsideRootsError(
                f"{field} {value!r} lies outside the scoring roots{where}.",
                path=value,
                hint=f"Move it under one of: {', '.join(roots)}.",
            )


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
