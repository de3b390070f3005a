"""Corpus manifests: one row per clip, validated up front with every problem listed at once.

Columns: `id`, `distorted`, `reference` (required, in any order); any other column (MOS,
metadata) is carried through to the output. An empty `reference` marks a no-reference clip:
it is scored against itself, so only the reference-only features mean anything (see
`clips.NO_REFERENCE_MEANINGFUL`). Relative paths are taken from `root`, by default the folder
the manifest is in, so a manifest and its clips can move together.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from vmafx.core.input_policy import MAX_PATH_CHARS, multi_file_name_kind
from vmafx.core.remote import is_object_url
from vmafx.corpus.readers import RawTable, read_table
from vmafx.errors import ManifestError

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "distorted", "reference")
#: Problems shown in the error message; the full list goes to a file when there are more.
SHOWN_PROBLEMS = 30
#: Extensions of headerless YUV files (they need --width and --height).
_RAW_EXTENSIONS = (".yuv", ".raw")
LABELS = ("distorted", "reference")

Scalar = str | int | float | bool | None


@dataclasses.dataclass(frozen=True)
class Clip:
    """One manifest row: paths as written and as resolved, plus carried-through metadata."""

    id: str
    row: int
    distorted: str
    reference: str | None
    distorted_path: str
    reference_path: str | None
    metadata: tuple[Scalar, ...] = ()

    @property
    def no_reference(self) -> bool:
        return self.reference_path is None


@dataclasses.dataclass(frozen=True)
class Manifest:
    path: str
    format: str
    clips: tuple[Clip, ...]
    #: Carried-through columns, in manifest order, with their type: bool, int, float or string.
    metadata_columns: tuple[tuple[str, str], ...] = ()

    @property
    def no_reference_count(self) -> int:
        return sum(1 for clip in self.clips if clip.no_reference)


def load_manifest(
    path: Path,
    *,
    root: Path | None = None,
    raw_size_given: bool = False,
    reserved: Collection[str] = (),
    problems_file: Path | None = None,
) -> Manifest:
    """Read and validate a manifest; a ManifestError lists every problem found."""
    table = read_table(path)
    problems = list(table.problems)
    base = root if root is not None else path.parent
    columns = table.columns
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.insert(0, _missing_columns_problem(missing, columns))
    clashes = [c for c in columns if c in reserved and c not in REQUIRED_COLUMNS]
    problems += [
        f"column {c!r}: clashes with an output column of the same name; rename it" for c in clashes
    ]
    if not table.rows and not missing and not problems:
        problems.append("the manifest has no clips in it")
    clips: list[Clip] = []
    if not missing:
        clips = _clips(table, base, problems, raw_size_given)
    if problems:
        raise _manifest_error(path, problems, problems_file)
    metadata = [c for c in columns if c not in REQUIRED_COLUMNS]
    return _typed(Manifest(str(path), table.format, tuple(clips)), metadata)


def _missing_columns_problem(missing: list[str], columns: list[str]) -> str:
    lower = {c.lower().strip(): c for c in columns}
    near = [f"{lower[m]!r} → {m!r}" for m in missing if m in lower]
    text = (
        f"missing column(s) {', '.join(repr(m) for m in missing)}; the manifest has "
        f"{', '.join(repr(c) for c in columns) or 'no columns'} and needs id, distorted and "
        "reference (leave reference empty for a no-reference clip)"
    )
    return text + (f"; rename {', '.join(near)}" if near else "")


def _clips(table: RawTable, base: Path, problems: list[str], raw_given: bool) -> list[Clip]:
    clips: list[Clip] = []
    rows_of: dict[str, list[int]] = {}
    metadata = [c for c in table.columns if c not in REQUIRED_COLUMNS]
    for number, values in table.rows:
        clip_id = _text(values.get("id"))
        if clip_id is not None:
            rows_of.setdefault(clip_id, []).append(number)
        clip = _clip(number, values, metadata, base, problems, raw_given)
        if clip is not None:
            clips.append(clip)
    for clip_id, rows in rows_of.items():
        if len(rows) > 1:
            problems.append(
                f"id {clip_id!r}: appears {len(rows)} times (rows {', '.join(map(str, rows))})"
            )
    return clips


def _clip(
    number: int,
    values: dict[str, Any],
    metadata: list[str],
    base: Path,
    problems: list[str],
    raw_given: bool,
) -> Clip | None:
    found: list[str] = []
    clip_id = _text(values.get("id"))
    where = f"row {number}" + (f" (id {clip_id!r})" if clip_id else "")
    if clip_id is None:
        found.append(f"row {number}: the id is empty")
    elif "\n" in clip_id or "\r" in clip_id:
        found.append(f"{where}: the id contains a line break")
    distorted = _text(values.get("distorted"))
    reference = _text(values.get("reference"))
    if distorted is None:
        found.append(f"{where}: the distorted path is empty")
    for name in metadata:
        if isinstance(values.get(name), list | dict | tuple):
            found.append(f"{where}: column {name!r} holds a list or object, not a single value")
    resolved = [_resolve(p, base) if p else None for p in (distorted, reference)]
    for label, given, full in zip(LABELS, (distorted, reference), resolved, strict=True):
        if given is not None and full is not None:
            found += _file_problems(where, label, given, full, raw_given)
    problems += found
    if found or clip_id is None or distorted is None or resolved[0] is None:
        return None
    meta = tuple(values.get(name) for name in metadata)
    return Clip(clip_id, number, distorted, reference, resolved[0], resolved[1], meta)


def _text(value: Any) -> str | None:
    """A cell as text: None and blank strings are empty; 7 and 7.0 both read as '7'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _resolve(path: str, base: Path) -> str:
    if is_object_url(path):  # an object: scored on a farm by a URL the controller signs
        return path
    full = Path(os.path.expanduser(path))
    return str(full if full.is_absolute() else base / full)


def _file_problems(where: str, label: str, given: str, full: str, raw_given: bool) -> list[str]:
    shown = given if given == full else f"{given} ({full})"
    if len(full) > MAX_PATH_CHARS:
        size = f"{len(full):,} characters long (the limit is {MAX_PATH_CHARS:,})"
        return [f"{where}: the {label} path is {size}"]
    kind = multi_file_name_kind(full)
    if kind is not None:
        why = "which would make ffmpeg open other files; name the video file itself"
        return [f"{where}: the {label} file {shown} is {kind}, {why}"]
    if is_object_url(full):  # the controller checks its allow-list; the node sniffs it
        if full.lower().endswith(_RAW_EXTENSIONS):
            return [f"{where}: the {label} object {shown} is raw YUV, read from local files only"]
        return []
    if not os.path.exists(full):
        return [f"{where}: the {label} file {shown} does not exist"]
    if not os.path.isfile(full):  # a folder, FIFO, device or socket (regular files only)
        return [f"{where}: the {label} path {shown} is not a regular file"]
    if not os.access(full, os.R_OK):
        return [f"{where}: the {label} file {shown} cannot be read (permission denied)"]
    if full.lower().endswith(_RAW_EXTENSIONS) and not raw_given:
        return [f"{where}: the {label} file {shown} is raw YUV; give --width and --height"]
    return []


def _manifest_error(path: Path, problems: list[str], problems_file: Path | None) -> ManifestError:
    shown = problems[:SHOWN_PROBLEMS]
    lines = "\n".join(f"  - {p}" for p in shown)
    more = len(problems) - len(shown)
    if more and problems_file is not None:
        problems_file.write_text("\n".join(problems) + "\n")
        lines += f"\n  ... and {more} more, every one listed in {problems_file}"
    elif more:
        lines += f"\n  ... and {more} more"
    return ManifestError(
        f"The manifest {path} has {len(problems)} problem(s); nothing was scored:\n{lines}\n",
        path=str(path),
        problems=problems,
        hint="Fix them all, then run the same command again.",
    )


def column_type(values: Iterable[Any], *, numbers_in_text: bool = False) -> str:
    """The output type of a metadata column: bool, int, float, or string for anything else.

    With `numbers_in_text` (CSV, where every cell is text) a column whose every cell is a
    number is numeric, like a MOS or a bitrate; JSONL and Parquet values keep their own types.
    """
    values = list(values)
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "string"
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        return "int"
    if kinds <= {int, float}:
        return "float"
    if kinds == {str} and numbers_in_text:
        return _text_column_type(values)
    return "string"


def _text_column_type(values: list[Any]) -> str:
    texts = [v.strip() for v in values if v is not None]
    if any(len(t) > 1 and t.startswith("0") and t[1].isdigit() for t in texts):
        return "string"  # codes such as 007 keep their zeros
    try:
        numbers = [float(t) for t in texts]
    except ValueError:
        return "string"
    whole = all(t.lstrip("+-").isdigit() for t in texts)
    return "int" if whole and all(math.isfinite(n) for n in numbers) else "float"


def _convert(value: Any, kind: str) -> Scalar:
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return value if isinstance(value, str) else str(value)


def _typed(manifest: Manifest, metadata: list[str]) -> Manifest:
    text = manifest.format == "csv"
    kinds = [
        column_type((clip.metadata[i] for clip in manifest.clips), numbers_in_text=text)
        for i in range(len(metadata))
    ]
    clips = tuple(
        dataclasses.replace(
            clip, metadata=tuple(_convert(v, k) for v, k in zip(clip.metadata, kinds, strict=True))
        )
        for clip in manifest.clips
    )
    return dataclasses.replace(
        manifest, clips=clips, metadata_columns=tuple(zip(metadata, kinds, strict=True))
    )
