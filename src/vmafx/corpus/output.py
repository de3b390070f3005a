"""The files a corpus run leaves: the feature table, the failures list, the run manifest.

The feature table is written to a temporary file beside the output, fsynced, checked (row count
read back from the file) and only then renamed over the output, so a reader sees the old table
or the new one, never half of one. Before any of that a consistency check compares the manifest
with what is staged and refuses to write if one clip is missing or counted twice. Rows are
written in manifest order, a few thousand at a time, so memory stays flat for any corpus size.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from vmafx.core.features import NAMES_V1, SCHEMA_V1
from vmafx.corpus import arrow
from vmafx.corpus.clips import (
    GEOMETRY_COLUMNS,
    VERSION_COLUMNS,
    Value,
    no_reference_meaningful,
)
from vmafx.corpus.manifest import Clip, Manifest
from vmafx.corpus.staging import Staging, fsync_dir
from vmafx.errors import OutputWriteError

BATCH_ROWS = 4096
FAILURE_COLUMNS = ("id", "distorted", "reference", "error_type", "exit_code", "error")
_INT_COLUMNS = frozenset(("width", "height", "frame_count", "scored_frames"))
_ARROW_TYPES = {"bool": "bool_", "int": "int64", "float": "float64", "string": "string"}


@dataclasses.dataclass(frozen=True)
class OutputPaths:
    """Every file of one run, named after `--out` (`features.parquet` → `features.*`)."""

    out: Path

    @property
    def _base(self) -> Path:
        stem = self.out.stem if self.out.suffix.lower() in (".parquet", ".pq") else self.out.name
        return self.out.with_name(stem)

    @property
    def staging(self) -> Path:
        return self._base.with_name(self._base.name + ".staging")

    @property
    def failures(self) -> Path:
        return self._base.with_name(self._base.name + ".failures.csv")

    @property
    def run_manifest(self) -> Path:
        return self._base.with_name(self._base.name + ".run.json")

    @property
    def manifest_problems(self) -> Path:
        return self._base.with_name(self._base.name + ".manifest-problems.txt")


@dataclasses.dataclass(frozen=True)
class TableReport:
    rows: int
    failed: int
    measured_columns: tuple[str, ...]
    libvmaf_version: str | None


def consistency_error(what: str, out: Path) -> OutputWriteError:
    return OutputWriteError(
        f"Consistency check failed, so {out} was not written: {what}.",
        path=str(out),
        hint="Every finished clip is still staged; run the same command again. If this "
        "repeats, report a bug with the staging folder.",
    )


def check_complete(manifest: Manifest, staging: Staging, out: Path) -> tuple[int, int]:
    """(scored, failed) over the manifest; refuse when a clip has no outcome."""
    states = [staging.state(clip.id) for clip in manifest.clips]
    missing = [clip.id for clip, state in zip(manifest.clips, states, strict=True) if not state]
    if missing:
        shown = ", ".join(repr(i) for i in missing[:5])
        raise consistency_error(f"{len(missing)} clip(s) have no outcome ({shown})", out)
    scored = states.count("scored")
    failed = states.count("failed")
    if scored + failed != len(manifest.clips):
        raise consistency_error(
            f"{scored} scored + {failed} failed ≠ {len(manifest.clips)} clips", out
        )
    return scored, failed


def measured_columns(first: dict[str, Value]) -> list[str]:
    """Geometry, pooled metrics (in scoring order), the feature vector, versions."""
    fixed = {*GEOMETRY_COLUMNS, *NAMES_V1, *VERSION_COLUMNS}
    pooled = [k for k in first if k not in fixed]
    features = [n for n in NAMES_V1 if n in first]
    return [*GEOMETRY_COLUMNS, *pooled, *features, *VERSION_COLUMNS]


def _schema(manifest: Manifest, measured: Sequence[str], out: Path) -> Any:
    pa = arrow.pyarrow()
    fields = [pa.field("id", pa.string(), nullable=False)]
    fields += [pa.field(n, getattr(pa, _ARROW_TYPES[k])()) for n, k in manifest.metadata_columns]
    fields += [pa.field("distorted", pa.string()), pa.field("reference", pa.string())]
    fields.append(pa.field("no_reference", pa.bool_()))
    for name in measured:
        kind = (
            pa.int64()
            if name in _INT_COLUMNS
            else pa.string()
            if name in VERSION_COLUMNS
            else pa.float64()
        )
        fields.append(pa.field(name, kind))
    names = [f.name for f in fields]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise consistency_error(
            f"the manifest column(s) {', '.join(clashes)} clash with measured columns", out
        )
    return pa.schema(fields)


def _batches(
    manifest: Manifest, staging: Staging, measured: Sequence[str], out: Path
) -> Iterator[dict[str, list[Any]]]:
    expected = set(measured)
    batch: list[tuple[Clip, dict[str, Value]]] = []
    for clip in manifest.clips:
        if staging.state(clip.id) != "scored":
            continue
        values = staging.values(clip.id)
        if set(values) != expected:
            odd = sorted(set(values) ^ expected)[:5]
            raise consistency_error(f"clip {clip.id!r} differs in columns {odd}", out)
        batch.append((clip, values))
        if len(batch) == BATCH_ROWS:
            yield _columns(manifest, batch, measured)
            batch = []
    if batch:
        yield _columns(manifest, batch, measured)


def _columns(
    manifest: Manifest, batch: list[tuple[Clip, dict[str, Value]]], measured: Sequence[str]
) -> dict[str, list[Any]]:
    data: dict[str, list[Any]] = {"id": [c.id for c, _ in batch]}
    for i, (name, _) in enumerate(manifest.metadata_columns):
        data[name] = [c.metadata[i] for c, _ in batch]
    data["distorted"] = [c.distorted for c, _ in batch]
    data["reference"] = [c.reference for c, _ in batch]
    data["no_reference"] = [c.no_reference for c, _ in batch]
    for name in measured:
        data[name] = [v[name] for _, v in batch]
    return data


def _write_batch(writer: Any, batch: Any) -> None:
    """One batch into the Parquet file (a seam for tests that crash mid-write)."""
    writer.write_batch(batch)


def write_table(manifest: Manifest, staging: Staging, out: Path) -> TableReport:
    """Check, then write the feature table atomically; return what was written."""
    scored, failed = check_complete(manifest, staging, out)
    first_id = next((c.id for c in manifest.clips if staging.state(c.id) == "scored"), None)
    first = staging.values(first_id) if first_id is not None else {}
    measured = measured_columns(first) if first else list(GEOMETRY_COLUMNS)
    schema = _schema(manifest, measured, out)
    meta = {
        "feature_schema": SCHEMA_V1 if any(n in first for n in NAMES_V1) else None,
        "no_reference_meaningful": no_reference_meaningful(measured),
    }
    schema = schema.with_metadata({"vmafx.corpus": json.dumps(meta)})
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        written = _write_parquet(tmp, schema, _batches(manifest, staging, measured, out))
        if written != scored:
            raise consistency_error(f"{written} rows written but {scored} clips scored", out)
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except OSError as exc:
        raise write_error(exc, out, "Every scored clip is safe in the staging folder") from None
    finally:
        tmp.unlink(missing_ok=True)
    libvmaf = first.get("libvmaf_version")
    return TableReport(scored, failed, tuple(measured), str(libvmaf) if libvmaf else None)


def _write_parquet(tmp: Path, schema: Any, batches: Iterator[dict[str, list[Any]]]) -> int:
    pa, pq = arrow.pyarrow(), arrow.parquet()
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for data in batches:
            _write_batch(writer, pa.RecordBatch.from_pydict(data, schema=schema))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    rows: int = pq.read_metadata(tmp).num_rows
    return rows


def write_error(exc: OSError, path: Path, safe: str) -> OutputWriteError:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(exc)
    what = "the disk is full" if full else (exc.strerror or str(exc))
    return OutputWriteError(
        f"Could not write {path}: {what}. {safe}; nothing is lost.",
        path=str(path),
        hint=("Free some space" if full else "Fix the folder")
        + ", then run the same command again: finished clips are not scored again.",
    )


def write_failures(manifest: Manifest, staging: Staging, path: Path) -> int:
    """The failed clips, in manifest order, as CSV (id, paths, error); always written."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FAILURE_COLUMNS)
    count = 0
    for clip in manifest.clips:
        if staging.state(clip.id) == "failed":
            failure = staging.failure(clip.id)
            paths = [clip.id, clip.distorted, clip.reference or ""]
            writer.writerow([*paths, failure.error_type, failure.exit_code, failure.message])
            count += 1
    write_atomic(path, buffer.getvalue().encode())
    return count


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(exc, path, "Every finished clip is safe in the staging folder") from None
