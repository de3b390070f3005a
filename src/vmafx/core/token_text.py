"""The API token in a file a person wrote (`--token-file`, `VMAFX_TOKEN_FILE`, a node's token).

A token file should hold the secret alone, as `vmafx tokens create … > FILE` writes it. Files
written some other way are read when the token in them is unambiguous: surrounding whitespace
and blank lines are dropped, and of several lines the one that looks like a token is taken (a
static secret `vmafx_…`, or an OIDC JWT `xxx.yyy.zzz`), as with the three lines older vmafx
versions printed. A file with no such line, or with several, is refused with a ConfigError
(exit 2) that says what was found; it never reaches the wire, where a line break in the
`authorization` metadata fails deep inside gRPC.
"""

from __future__ import annotations

import re

from vmafx.errors import ConfigError

#: What every static secret starts with (`controller.auth.new_secret`).
TOKEN_PREFIX = "vmafx_"  # noqa: S105 - a prefix, not a secret
_STATIC = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{8,}")
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
WRITE_HINT = (
    "Write only the secret into the file: `vmafx tokens create --role ROLE --tenant T > FILE` "
    "prints nothing else on stdout."
)


def looks_like_token(line: str) -> bool:
    """A static secret (`vmafx_…`) or a JWT, with nothing else on the line."""
    return bool(_STATIC.fullmatch(line) or _JWT.fullmatch(line))


def token_from_text(text: str, source: str) -> str:
    """The one token in `text` (the contents of `source`, named in errors), else ConfigError."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"{source} is empty.", hint=WRITE_HINT)
    if len(lines) == 1 and not any(char.isspace() for char in lines[0]):
        return lines[0]
    tokens = [line for line in lines if looks_like_token(line)]
    if len(tokens) == 1:
        return tokens[0]
    if not tokens:
        raise ConfigError(
            f"{source} holds {_count(len(lines), 'line')} but no token (a secret starting "
            f"with {TOKEN_PREFIX}, or a JWT) on a line of its own.",
            hint=WRITE_HINT,
        )
    raise ConfigError(
        f"{source} holds {_count(len(tokens), 'token')}; vmafx cannot tell which one to send.",
        hint="Keep one token per file. " + WRITE_HINT,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
