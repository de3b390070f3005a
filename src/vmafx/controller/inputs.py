"""Which inputs and outputs a job may name: scoring roots for local paths, allowed URL schemes.

Deny by default: with no scoring root configured, every local path is refused. A local path
(plain, or a `file://` URL) must be absolute and, after resolving symlinks and `..`, lie under
one of the roots. Other URLs must use an allowed scheme (file, http, https, s3, gs, az), which
also refuses ffmpeg's own protocols (`concat:`, `subfile:`, `pipe:` …). A root may contain
`{tenant}`, replaced by the job's tenant (a tenant containing `/ \\ : .` is never substituted).
The node checks again before it opens anything (it gets the roots with every claim).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from vmafx.core.jobs import JobKind
from vmafx.errors import InputOutsideRootsError, UsageError

#: How long the roots a claim tells the node are reused before they are resolved again.
ROOTS_TOLD_TTL_S = 1.0
DEFAULT_SCHEMES = frozenset({"file", "http", "https", "s3", "gs", "az"})
_UNSAFE_TENANT = ("/", "\\", ":", ".")

#: Spec fields naming files, per kind (a list field names several).
PATH_FIELDS: Mapping[JobKind, tuple[str, ...]] = {
    JobKind.SCORE: ("reference", "distorted"),
    JobKind.ENCODE: ("source", "output"),
    JobKind.THUMBNAIL: ("source", "output"),
    JobKind.FILMSTRIP: ("source", "output"),
    JobKind.INFER: (),
    JobKind.TUNE: ("source",),
}


def _spec_paths(kind: JobKind, spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name in PATH_FIELDS[kind]:
        value = spec.get(name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if isinstance(item, str):
                yield (f"{name}[{index}]" if isinstance(value, list) else name), item


class InputPolicy:
    """Checks the files a job names against the scoring roots and the allowed URL schemes."""

    def __init__(
        self, roots: Sequence[str | Path] = (), schemes: frozenset[str] = DEFAULT_SCHEMES
    ) -> None:
        self._roots = tuple(str(root) for root in roots)
        self.schemes = schemes
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
        """Raise unless every path or URL in `spec` is allowed for `tenant`."""
        for field, value in _spec_paths(kind, spec):
            self.check(value, tenant, field=field)

    def check(self, value: str, tenant: str, *, field: str = "input") -> None:
        if any(ord(char) < 32 for char in value):
            raise UsageError(f"{field} {value!r} contains control characters.")
        parts = urllib.parse.urlsplit(value)
        scheme = parts.scheme.lower()
        if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
            if scheme not in self.schemes:
                allowed = ", ".join(sorted(self.schemes))
                raise UsageError(
                    f"{field} {value!r} uses the URL scheme {scheme!r}, which is not allowed.",
                    hint=f"Allowed schemes: {allowed}; or give an absolute path.",
                )
            if scheme != "file":
                return
            if parts.netloc not in ("", "localhost"):
                raise UsageError(f"{field} {value!r} names another host in a file:// URL.")
            value = urllib.parse.unquote(parts.path)
        self._check_path(value, tenant, field)

    def _check_path(self, value: str, tenant: str, field: str) -> None:
        if not os.path.isabs(value):
            raise UsageError(
                f"{field} {value!r} is a relative path; nodes cannot know what it is relative to.",
                hint="Give an absolute path under a scoring root, or a URL.",
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
