"""Finding jobs among many: the files a job names, and the search text of the Jobs page and
`vmafx jobs list --search` / `jobs cancel --filter` / `jobs retry --filter`.

A search is words separated by spaces; a job matches when it matches every word. A bare word
matches a job whose id starts with it, whose input or output file names contain it, which ran
(or runs) on a node whose name contains it, or whose error contains it (case-insensitive).
A word may be narrowed to one of these with a prefix (`id:`, `file:`, `node:`, `error:`),
and `state:`, `kind:` and `queue:` filter like the structured filters (comma-separated values):

    crf38                      file names, id prefix, node or error containing "crf38"
    state:failed node:gpu-2    failed jobs that ran on a node named like "gpu-2"
    kind:encode,score error:"no space"
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from vmafx.core.jobs import JobKind, JobState, parse_kind, parse_state
from vmafx.errors import UsageError

#: The longest search text accepted.
MAX_SEARCH = 500
#: Most words in one search.
MAX_TERMS = 8
#: Spec fields that name input files, and those that name outputs, per kind.
_INPUTS = ("reference", "distorted", "source")
_OUTPUTS = ("output",)
_FIELD = re.compile(r"^([a-z]+):(.*)$", re.DOTALL)


class Field(StrEnum):
    """What one search word looks at; ANY: all of them."""

    ANY = "any"
    ID = "id"
    FILE = "file"
    NODE = "node"
    ERROR = "error"


_FIELDS = frozenset(field.value for field in Field)


@dataclasses.dataclass(frozen=True, slots=True)
class Term:
    """One search word, lower-cased, and the field it looks at."""

    field: Field
    text: str


#: A word no job matches: what a search becomes whose filters exclude each other.
IMPOSSIBLE = Term(Field.ID, " ")  # no job id starts with a space


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Search:
    """A parsed search: words every match has, plus structured filters it named."""

    terms: tuple[Term, ...] = ()
    states: tuple[JobState, ...] = ()
    kinds: tuple[JobKind, ...] = ()
    queues: tuple[str, ...] = ()


def _paths(value: Any) -> Iterable[str]:
    if isinstance(value, str) and value:
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str) and item:
                yield item


def job_files(spec: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (inputs, outputs) paths a job's spec names, in spec order."""
    inputs = tuple(path for name in _INPUTS for path in _paths(spec.get(name)))
    outputs = tuple(path for name in _OUTPUTS for path in _paths(spec.get(name)))
    return inputs, outputs


def files_text(spec: Mapping[str, Any]) -> str:
    """What a file search looks through: every input and output path, lower-cased, one per
    line (a word never matches across two paths)."""
    inputs, outputs = job_files(spec)
    return "\n".join(path.lower() for path in (*inputs, *outputs))


def base_name(path: str) -> str:
    """The last part of a path or URL, for narrow columns."""
    trimmed = path.rstrip("/\\")
    return os.path.basename(trimmed.replace("\\", "/")) or trimmed


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        raise UsageError(
            f"search {text!r} has an unclosed quote.",
            hint='Close it, e.g. error:"no space left".',
        ) from None


def parse_search(text: str | None) -> Search:
    """The words of `text`, or UsageError naming the one that cannot be read."""
    if not text or not text.strip():
        return Search()
    if len(text) > MAX_SEARCH:
        raise UsageError(f"search text is {len(text)} characters; at most {MAX_SEARCH}.")
    terms: list[Term] = []
    states: list[JobState] = []
    kinds: list[JobKind] = []
    queues: list[str] = []
    for word in _words(text):
        found = _FIELD.match(word)
        name, value = (found.group(1), found.group(2)) if found else ("any", word)
        if not value.strip():
            raise UsageError(
                f"search word {word!r} has nothing after the colon.",
                hint=f"Write {name}:VALUE, e.g. {name}:{'failed' if name == 'state' else 'x'}.",
            )
        values = [part.strip() for part in value.split(",") if part.strip()]
        if name == "state":
            states += [parse_state(part.lower()) for part in values]
        elif name == "kind":
            kinds += [parse_kind(part.lower()) for part in values]
        elif name == "queue":
            queues += values
        elif name in _FIELDS:
            terms.append(Term(Field(name), value.strip().lower()))
        else:
            raise UsageError(
                f"search word {word!r} names an unknown field {name!r}.",
                hint="Fields: id, file, node, error, state, kind, queue; "
                "or leave the prefix out to search them all.",
            )
    if len(terms) > MAX_TERMS:
        raise UsageError(f"search has {len(terms)} words; at most {MAX_TERMS}.")
    return Search(
        terms=tuple(terms), states=tuple(states), kinds=tuple(kinds), queues=tuple(queues)
    )


def narrow(given: tuple[Any, ...], named: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """A structured filter given both ways (a flag and a search word): the values in both,
    either side when the other is empty, None when they exclude each other (nothing matches)."""
    if not given:
        return named
    if not named:
        return given
    both = tuple(value for value in given if value in named)
    return both or None


def term_matches(
    term: Term, *, job_id: str, files: str, nodes: Iterable[str], error: str | None
) -> bool:
    """Whether one job matches one word (the in-memory store's and live streams' rule)."""
    text = term.text.lower()
    field = term.field
    anywhere = field is Field.ANY
    return (
        ((anywhere or field is Field.ID) and job_id.lower().startswith(text))
        or ((anywhere or field is Field.FILE) and text in files)
        or ((anywhere or field is Field.NODE) and any(text in node.lower() for node in nodes))
        or ((anywhere or field is Field.ERROR) and error is not None and text in error.lower())
    )
