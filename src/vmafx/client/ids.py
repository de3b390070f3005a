"""Job ids as people type them: a full id, or a unique prefix of a recent job's id."""

from __future__ import annotations

from vmafx.client.port import ControllerClient
from vmafx.errors import NotFoundError, UsageError

#: How many of the newest jobs a prefix is looked up among.
PREFIX_SCAN = 5000


async def resolve_id(client: ControllerClient, text: str, *, listing_hint: str) -> str:
    """A full job id from itself or a unique prefix (4+ characters) of the newest `PREFIX_SCAN`
    jobs' ids; `listing_hint` says how this caller lists jobs (named when nothing matches)."""
    text = text.strip().lower()
    if len(text) >= 36:
        return text
    if len(text) < 4:
        raise UsageError(f"job id {text!r} is too short.", hint="Give at least 4 characters.")
    found: set[str] = set()
    cursor, scanned = None, 0
    while scanned < PREFIX_SCAN:
        page = await client.list_jobs(limit=1000, cursor=cursor)
        found |= {job.id for job in page.jobs if job.id.startswith(text)}
        scanned, cursor = scanned + len(page.jobs), page.next_cursor
        if cursor is None:
            break
    if len(found) > 1:
        raise UsageError(f"{len(found)} jobs have ids starting with {text!r}; give more of it.")
    if not found:
        raise NotFoundError(f"no job id starts with {text!r}.", hint=listing_hint)
    return found.pop()
