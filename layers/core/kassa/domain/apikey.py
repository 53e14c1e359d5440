"""An operator's API key as the hierarchy sees it (never its secret: only a hash of it is stored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kassa import auth


@dataclass(frozen=True)
class ApiKey:
    operator_id: str
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: str
    parent_key_id: str | None = None
    ancestors: tuple[str, ...] = ()  # the operator's first key first, the parent last
    expires_at: str | None = None

    @property
    def role(self) -> str | None:
        return auth.role_of(self.scopes)

    def expired(self, now: str) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def as_dict(self) -> dict[str, Any]:
        """What anyone may see of a key: never its secret nor its hash."""
        return {
            "keyId": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "role": self.role,
            "parentKeyId": self.parent_key_id,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
        }
