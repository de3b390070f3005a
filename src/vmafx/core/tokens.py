"""API tokens: static keys kept only as a SHA-256 digest, each with one role in one tenant."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"
    NODE = "node"


def token_digest(secret: str) -> str:
    """The hex SHA-256 of a token; the only form in which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    id: str
    tenant: str
    name: str
    role: Role
    token_sha256: str = dataclasses.field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_valid(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at
