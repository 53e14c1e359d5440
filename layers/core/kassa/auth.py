"""Credentials: operator API keys, One Wallet tokens and player session ids.

All are random (256 bits), shown once, stored only as SHA-256 hashes and compared in constant time.
A fast hash is right here: the secrets are random, not passwords, so there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from kassa import errors

READ = "wallets:read"
WRITE = "wallets:write"
SESSIONS = "sessions:write"
ADMIN = "admin"
SCOPES = (READ, WRITE, SESSIONS, ADMIN)

API_KEY_PREFIX = "kassa_key_"
ONEWALLET_TOKEN_PREFIX = "kassa_ow_"  # noqa: S105 - a prefix, not a secret
SESSION_PREFIX = "kassa_sid_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_hash(stored: str, presented_secret: str) -> bool:
    return hmac.compare_digest(stored.encode(), secret_hash(presented_secret).encode())


def parse_scopes(scopes: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    wanted = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise errors.InvalidRequest(f"scopes must be among {', '.join(SCOPES)}")
    return tuple(dict.fromkeys(wanted))


@dataclass(frozen=True)
class Principal:
    """Who is calling: an operator and what its key may do. ``admin`` may do everything."""

    operator_id: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes and ADMIN not in self.scopes:
            raise errors.Forbidden(f"this API key lacks the {scope} scope")


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
