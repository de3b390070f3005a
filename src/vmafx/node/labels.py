"""Node labels: `VMAFX_NODE_LABELS=tier=heavy,site=zampp2` → {"tier": "heavy", "site": "zampp2"}.

Jobs require labels as hard filters, so a typo must fail loudly at start-up rather than leave a
node that silently never matches.
"""

from __future__ import annotations

import re

from vmafx.errors import ConfigError

#: Keys and values: a letter or digit, then letters, digits, `.`, `_` or `-`; at most 63 chars.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_EXAMPLE = "Write them as VMAFX_NODE_LABELS=tier=heavy,site=zampp2."


def parse_labels(text: str | None, *, source: str = "VMAFX_NODE_LABELS") -> dict[str, str]:
    """Comma-separated `key=value` pairs; empty or unset gives {}. ConfigError on anything else."""
    labels: dict[str, str] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep:
            raise ConfigError(f"{source}: label {item!r} has no '=' value.", hint=_EXAMPLE)
        for what, token in (("key", key), ("value", value)):
            if not _TOKEN.fullmatch(token):
                raise ConfigError(
                    f"{source}: label {what} {token!r} in {item!r} is not valid; use letters, "
                    "digits, '.', '_' or '-' (at most 63, starting with a letter or digit).",
                    hint=_EXAMPLE,
                )
        if key in labels:
            raise ConfigError(
                f"{source}: label {key!r} is given twice ({labels[key]!r} and {value!r}).",
                hint="Keep one value per key.",
            )
        labels[key] = value
    return labels


def format_labels(labels: dict[str, str]) -> str:
    """The inverse of `parse_labels`, keys sorted (for logs and flags)."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))
