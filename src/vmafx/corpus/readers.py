"""Reading a manifest file into column names and raw rows: CSV, JSONL or Parquet.

Readers never stop at the first bad row: a row they cannot read becomes a problem (with its line
or row number) and reading goes on, so validation can list every problem at once.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmafx.corpus import arrow
from vmafx.errors import ManifestError

#: Manifest formats by file extension.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclasses.dataclass
class RawTable:
    """What a reader found: columns in file order, rows by their 1-based number, and problems."""

    format: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    problems: list[str] = dataclasses.field(default_factory=list)


def manifest_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ManifestError(
            f"The manifest {path} has the extension {path.suffix or '(none)'!r}, which is not "
            "a manifest format vmafx reads.",
            path=str(path),
            hint="Use a .csv, .jsonl (or .ndjson) or .parquet file.",
        )
    return fmt


def read_table(path: Path) -> RawTable:
    """Read any manifest format; a file that cannot be opened at all is a ManifestError."""
    fmt = manifest_format(path)
    if not path.is_file():
        raise ManifestError(
            f"The manifest {path} does not exist.",
            path=str(path),
            hint="Check the path (it is taken relative to the current folder).",
        )
    readers: dict[str, Callable[[Path], RawTable]] = {
        "csv": read_csv,
        "jsonl": read_jsonl,
        "parquet": read_parquet,
    }
    try:
        return readers[fmt](path)
    except OSError as exc:
        raise ManifestError(
            f"The manifest {path} cannot be read ({exc.strerror or exc}).",
            path=str(path),
            hint="Check its permissions.",
        ) from None


def read_csv(path: Path) -> RawTable:
    """A header row, then one clip per row; an empty cell is a missing value."""
    table = RawTable("csv", [], [])
    with path.open(newline="", encoding="utf-8-sig", errors="strict") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            table.problems.append(f"line 1: the header cannot be read ({exc})")
            return table
        if header is None:
            return table
        table.columns = [name.strip() for name in header]
        _read_csv_rows(reader, table)
    return table


def _read_csv_rows(reader: Any, table: RawTable) -> None:
    width = len(table.columns)
    row_number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            table.problems.append(f"line {reader.line_num + 1}: cannot be read ({exc})")
            if isinstance(exc, UnicodeDecodeError):
                table.problems.append("the rest of the file was not read: it is not UTF-8 text")
                return
            continue
        if not fields or all(not f.strip() for f in fields):
            continue
        row_number += 1
        if len(fields) != width:
            table.problems.append(
                f"line {reader.line_num}: has {len(fields)} fields but the header has {width}"
            )
            continue
        cells = zip(table.columns, fields, strict=True)
        values = {name: (v if v.strip() else None) for name, v in cells}
        table.rows.append((row_number, values))


def read_jsonl(path: Path) -> RawTable:
    """One JSON object per line; the columns are every key seen, in first-seen order."""
    table = RawTable("jsonl", [], [])
    seen: dict[str, None] = {}
    row_number = 0
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            row_number += 1
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
                table.problems.append(f"line {line_number}: not valid JSON ({reason})")
                continue
            if not isinstance(value, dict):
                table.problems.append(
                    f"line {line_number}: a JSON {type(value).__name__}, not an object"
                )
                continue
            seen.update(dict.fromkeys(str(k) for k in value))
            table.rows.append((row_number, {str(k): v for k, v in value.items()}))
    table.columns = list(seen)
    return table


def read_parquet(path: Path) -> RawTable:
    pq = arrow.parquet()
    pa = arrow.pyarrow()
    try:
        data = pq.read_table(path)
    except (pa.ArrowException, ValueError) as exc:
        raise ManifestError(
            f"The manifest {path} is not a readable Parquet file ({exc}).",
            path=str(path),
            hint="Check that it was written completely, or convert it to CSV or JSONL.",
        ) from None
    rows = [(i, dict(row)) for i, row in enumerate(data.to_pylist(), start=1)]
    return RawTable("parquet", list(data.column_names), rows)
