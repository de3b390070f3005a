"""Object storage for farm jobs: per-tenant credentials and URL allow-lists on the controller,
and the short-lived URLs it signs for each claim (nodes hold no cloud credentials).

Configuration, read once by the composition root (`from_config`):

- a folder of per-tenant files, `--storage-dir DIR` (`VMAFX_CONTROLLER_STORAGE_DIR`): `DIR/
  <tenant>.env` holds `KEY=VALUE` lines, the standard `AWS_ACCESS_KEY_ID`,
  `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, `AWS_REGION` (`AWS_SESSION_TOKEN`) plus
  `VMAFX_STORAGE_ALLOW=s3://bucket/prefix/,s3://other/` — the only places that tenant's jobs
  may read or write. The file must not be readable by group or others (like an ssh key).
- or the controller's environment: `VMAFX_STORAGE_ALLOW=tenant=s3://bucket/prefix/,…` with the
  controller's own `AWS_*` credentials for those tenants.

Deny by default: a tenant with no allow-list entry may name no object URL. An allow-list entry
is a bucket plus a key prefix (`s3://media/` the whole bucket, `s3://media/acme/` one folder);
keys with `.` or `..` segments are refused (a server that normalises them would escape the
prefix). At submit the controller checks the URL against the tenant's list (it opens nothing);
at each claim it signs a GET per input and a PUT per output, valid `ttl_s`, so a retried job
gets fresh URLs. Signed URLs travel only in the PullWork answer: never in the store, events,
logs, metrics or the job's JSON.
"""

from __future__ import annotations

import dataclasses
import logging
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vmafx.core.input_policy import (
    check_single_output_name,
    multi_file_error,
    multi_file_name_kind,
)
from vmafx.core.jobs import Job, JobKind
from vmafx.core.remote import ObjectUrl, is_object_url, parse_object_url
from vmafx.errors import ConfigError, ForbiddenError, UsageError

log = logging.getLogger(__name__)

#: Seconds a URL signed for a claim stays valid: a job's lease is renewed by heartbeats, so a
#: long job outlives its lease; ffmpeg checks the URL at every range request.
DEFAULT_CLAIM_TTL_S = 6 * 3600
#: Spec fields a job reads from and writes to, per kind, where object URLs are accepted.
REMOTE_INPUTS: Mapping[JobKind, tuple[str, ...]] = {
    JobKind.SCORE: ("reference", "distorted"),
    JobKind.ENCODE: ("source",),
    # The controller's tuner reads nothing: its probes are encode jobs of this source.
    JobKind.TUNE: ("source",),
}
REMOTE_OUTPUTS: Mapping[JobKind, tuple[str, ...]] = {JobKind.ENCODE: ("output",)}


@dataclasses.dataclass(frozen=True)
class TenantStorage:
    """One tenant's allow-list and the store that signs with its credentials."""

    tenant: str
    allow: tuple[ObjectUrl, ...]
    store: Any = dataclasses.field(repr=False)  # an ObjectStore

    def allows(self, url: ObjectUrl) -> bool:
        """Whether `url` lies in one of the allowed folders (`s3://b/acme` is the folder
        `acme/`, never `acmeX/`; `s3://b/` the whole bucket)."""
        for entry in self.allow:
            if (url.scheme, url.bucket) != (entry.scheme, entry.bucket):
                continue
            folder = entry.key if not entry.key or entry.key.endswith("/") else entry.key + "/"
            if url.key.startswith(folder):
                return True
        return False


class StorageAccess:
    """Checks object URLs against each tenant's allow-list; signs them for claims."""

    def __init__(
        self, tenants: Mapping[str, TenantStorage] | None = None, ttl_s: int = DEFAULT_CLAIM_TTL_S
    ) -> None:
        self._tenants = dict(tenants or {})
        self.ttl_s = ttl_s

    def __repr__(self) -> str:
        return f"StorageAccess(tenants={sorted(self._tenants)})"

    @property
    def configured(self) -> bool:
        return bool(self._tenants)

    @staticmethod
    def names_objects(job: Job) -> bool:
        """Whether the job names any object URL (so a claim has something to sign)."""
        fields = REMOTE_INPUTS.get(job.kind, ()) + REMOTE_OUTPUTS.get(job.kind, ())
        return bool(_values(job.spec, fields))

    def check(self, value: str, tenant: str, kind: JobKind, field: str) -> None:
        """Raise unless the job may name the object URL `value` in `field`."""
        url = parse_object_url(value, field)
        base = field.split("[", 1)[0]
        allowed = REMOTE_INPUTS.get(kind, ()) + REMOTE_OUTPUTS.get(kind, ())
        if base not in allowed:
            raise UsageError(
                f"{field} {value!r}: object URLs are taken by score jobs' reference and "
                f"distorted inputs, encode jobs' source and output and tune jobs' source so "
                f"far, not by {kind.value} jobs' {base}.",
                hint="Give a local path under a scoring root for this field.",
            )
        if base == "output":
            check_single_output_name(url.key, field)
        elif (kind_name := multi_file_name_kind(url.key)) is not None:
            raise multi_file_error(value, field, kind_name)
        segments = url.key.split("/")
        if "." in segments or ".." in segments:
            raise UsageError(
                f"{field} {value!r} has '.' or '..' segments in its key.",
                hint="Name the object by its plain key.",
            )
        entry = self._tenants.get(tenant)
        if entry is None or not entry.allows(url):
            allowed_text = ", ".join(str(a) for a in entry.allow) if entry else "none"
            raise ForbiddenError(
                f"{field} {value!r} is not in tenant {tenant!r}'s storage allow-list "
                f"({allowed_text}).",
                hint="Add its bucket/prefix to VMAFX_STORAGE_ALLOW in the tenant's storage "
                "file on the controller (docs/storage.md).",
            )

    def sign_claim(self, job: Job) -> tuple[dict[str, str], dict[str, str]]:
        """Signed GET URLs for the job's object inputs and PUT URLs for its object outputs."""
        entry = self._tenants.get(job.tenant)
        inputs: dict[str, str] = {}
        outputs: dict[str, str] = {}
        for fields, into, sign in (
            (REMOTE_INPUTS.get(job.kind, ()), inputs, "sign_get"),
            (REMOTE_OUTPUTS.get(job.kind, ()), outputs, "sign_put"),
        ):
            for value in _values(job.spec, fields):
                if entry is None:
                    continue  # refused at submit; the node says so if it was not
                url = parse_object_url(value)
                if entry.allows(url):
                    into[value] = getattr(entry.store, sign)(url, self.ttl_s)
        return inputs, outputs

    @classmethod
    def from_config(
        cls, folder: Path | None, env: Mapping[str, str], *, ttl_s: int = DEFAULT_CLAIM_TTL_S
    ) -> StorageAccess:
        from vmafx.storage.s3 import S3Credentials, S3ObjectStore  # noqa: PLC0415

        tenants: dict[str, TenantStorage] = {}
        for tenant, prefixes in _env_allow(env.get("VMAFX_STORAGE_ALLOW", "")).items():
            store = S3ObjectStore(S3Credentials.from_mapping(env))
            tenants[tenant] = TenantStorage(tenant, prefixes, store)
        if folder is not None:
            for path in sorted(Path(folder).glob("*.env")):
                values = read_env_file(path)
                allow = _prefixes(values.get("VMAFX_STORAGE_ALLOW", ""), str(path))
                credentials = S3Credentials.from_mapping(values)
                if credentials is None:
                    raise ConfigError(
                        f"{path} has no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
                        hint="Put the tenant's credentials in it (docs/storage.md).",
                    )
                tenants[path.stem] = TenantStorage(path.stem, allow, S3ObjectStore(credentials))
        if tenants:
            from vmafx.storage.extras import require  # noqa: PLC0415

            require("s3")  # at start-up, not at the first claim
        for entry in tenants.values():
            log.info(
                "object storage for tenant %s: %s",
                entry.tenant,
                ", ".join(str(a) for a in entry.allow),
            )
        return cls(tenants, ttl_s)


def _values(spec: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    found: list[str] = []
    for name in fields:
        value = spec.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and is_object_url(item):
                found.append(item)
    return found


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines (blank lines and `#` comments skipped); refused when group or others
    may read it, like ssh refuses a private key."""
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} holds credentials but may be read by other users (mode {mode & 0o777:o}).",
            hint=f"chmod 600 {path}",
        )
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise ConfigError(f"{path}:{number} is not KEY=VALUE.")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _prefixes(text: str, where: str) -> tuple[ObjectUrl, ...]:
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if not is_object_url(item):
            raise ConfigError(f"{where}: {item!r} is not an object URL prefix (s3://BUCKET/…).")
        bucket_and_key = item.split("://", 1)[1]
        bucket, _, key = bucket_and_key.partition("/")
        if not bucket:
            raise ConfigError(f"{where}: {item!r} names no bucket.")
        found.append(ObjectUrl(item.split("://", 1)[0].lower(), bucket, key))
    return tuple(found)


def _env_allow(text: str) -> dict[str, tuple[ObjectUrl, ...]]:
    """`tenant=s3://b/p/,tenant2=s3://c/` → per-tenant prefixes."""
    found: dict[str, list[ObjectUrl]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        tenant, eq, prefix = item.partition("=")
        if not eq or not tenant:
            raise ConfigError(
                f"VMAFX_STORAGE_ALLOW entry {item!r} is not TENANT=s3://BUCKET/PREFIX.",
            )
        found.setdefault(tenant.strip(), []).extend(_prefixes(prefix, "VMAFX_STORAGE_ALLOW"))
    return {tenant: tuple(prefixes) for tenant, prefixes in found.items()}
