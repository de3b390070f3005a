"""Tables that fit the terminal: model and metric names whole, and a free-text column (a job's
note, an attempt's error) beside the rows when there is room for it, else under the table, and
never longer than two lines.

A failure note in a column three characters wide wrapped over 30 lines at 80 columns. With
`fit_notes`, the note column is shown only when the terminal leaves it `MIN_WIDTH` characters;
otherwise the table is drawn without it and each note follows on one line of its own, keyed by
the row's first cell (`3f0c2a91  ffmpeg failed while scoring …`). Either way a note is cut to
`MAX_LINES` lines with "…"; the full text is in `--format json` and `vmafx jobs get`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

#: Headers of the free-text columns that move under the table when the terminal is narrow.
NOTE_HEADERS = ("note", "error")
#: The header of the first column of a table of figures per metric or model.
NAME_HEADER = "metric"
MIN_WIDTH = 24
MAX_LINES = 2
ELLIPSIS = "…"
UNBOUNDED = 100_000


def shorten(text: str, limit: int) -> str:
    """The first line of `text`, at most `limit` characters (cut with "…")."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if len(first) <= limit:
        return first
    return first[: max(0, limit - 1)].rstrip() + ELLIPSIS


def within_lines(console: Console, text: str, width: int, lines: int = MAX_LINES) -> str:
    """The first line of `text` wrapped at `width`, cut to `lines` lines (the last ends "…")."""
    wrapped = Text(shorten(text, width * lines * 2)).wrap(console, max(1, width))
    kept = [line.plain.rstrip() for line in wrapped[:lines]]
    if len(wrapped) > lines:
        kept[-1] = kept[-1][: max(0, width - 2)].rstrip() + " " + ELLIPSIS
    return "\n".join(kept)


def natural_width(console: Console, options: ConsoleOptions, table: Table) -> int:
    """How wide `table` is when nothing squeezes it (a measurement is clamped to the width
    it is given, so it is given plenty)."""
    return Measurement.get(console, options.update_width(UNBOUNDED), table).maximum


def _plain(cell: RenderableType) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class FittedNotes:
    """Renders `table` with its note column beside or under the rows (see the module doc)."""

    def __init__(self, table: Table, note: Column) -> None:
        self.table = table
        self.note = note

    def _without_note(self) -> Table:
        rest = copy.copy(self.table)
        rest.columns = [column for column in self.table.columns if column is not self.note]
        return rest

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rest = self._without_note()
        notes = [_plain(cell) for cell in self.note.cells]
        room = self._room(console, options, len(notes))
        if not any(note.strip() for note in notes):
            yield rest
            return
        if room >= MIN_WIDTH:
            cells: list[RenderableType] = [
                Text(within_lines(console, note, room), style="dim") for note in notes
            ]
            beside = copy.copy(self.table)
            beside.columns = [
                *rest.columns,
                dataclasses.replace(self.note, _cells=cells, overflow="fold", width=room),
            ]
            yield beside
            return
        yield rest
        yield from self._notes_under(rest, notes, options.max_width)

    def _room(self, console: Console, options: ConsoleOptions, rows: int) -> int:
        """How wide the note column can be: the table with a one-character note column,
        measured, leaves the rest of the line."""
        probe = copy.copy(self.table)
        narrow = dataclasses.replace(
            self.note, header="", _cells=[""] * rows, width=1, min_width=None, ratio=None
        )
        probe.columns = [c if c is not self.note else narrow for c in self.table.columns]
        natural = natural_width(console, options, probe)
        return options.max_width - natural + 1

    def _notes_under(self, rest: Table, notes: list[str], width: int) -> Iterator[Text]:
        """One line per note: `KEY  note: text…`, cut to the terminal's width."""
        keys = [_plain(cell) for cell in rest.columns[0].cells] if rest.columns else []
        header = _plain(self.note.header)
        for key, note in zip(keys, notes, strict=False):
            if not note.strip():
                continue
            lead = f"{key}  {header}: "
            line = Text(lead, style="bold", no_wrap=True, overflow="ellipsis")
            line.append(shorten(note, width - len(lead)), style="dim")
            yield line


def _is_names_table(table: Table) -> bool:
    return bool(table.columns) and _plain(table.columns[0].header) == NAME_HEADER


def names_fitted(table: Table, console: Console, options: ConsoleOptions) -> Table:
    """A table of figures per name (first column `metric`) whose names are never cut or folded:
    the name column does not wrap and, when the table is wider than the terminal, a figure
    column's header of several words takes a line per word (`harmonic mean` is 13 characters
    over 7-character figures), which leaves room for `vmaf_v0.6.1neg` and six figures in 80."""
    if not _is_names_table(table):
        return table
    name, *figures = table.columns
    whole = copy.copy(table)
    whole.columns = [dataclasses.replace(name, no_wrap=True, overflow="fold"), *figures]
    if natural_width(console, options, whole) <= options.max_width:
        return whole
    whole.columns = [
        whole.columns[0],
        *(
            dataclasses.replace(c, header=c.header.replace(" ", "\n"))
            if c.justify == "right" and isinstance(c.header, str)
            else c
            for c in figures
        ),
    ]
    return whole


class FittedNames:
    """Renders a table of figures per name with `names_fitted`."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield names_fitted(self.table, console, options)


def fit_names(table: Table) -> RenderableType:
    """`table`, its names kept whole at any width when it is a table of figures per name."""
    return FittedNames(table) if _is_names_table(table) else table


def fit_notes(renderable: RenderableType) -> RenderableType:
    """`renderable` fitted to the terminal when it is a table: names whole (`fit_names`), its
    note (or error) column beside or under the rows (`FittedNotes`)."""
    if not isinstance(renderable, Table):
        return renderable
    for column in renderable.columns:
        if _plain(column.header) in NOTE_HEADERS:
            return FittedNotes(renderable, column)
    return fit_names(renderable)
