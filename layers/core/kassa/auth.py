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
LOCK = "wallets:lock"  # lock and unlock wallets
ADJUST = "adjustments:write"  # the adjustment movement
RECONCILE = "reconcile"  # start and read reconciliation runs and wallet audits
AUDIT_READ = "audit:read"  # the audit log of privileged acts
KEYS = "keys:manage"  # create, list and revoke API keys
SCOPES = (READ, WRITE, SESSIONS, ADMIN, LOCK, ADJUST, RECONCILE, AUDIT_READ, KEYS)

# Named bundles of scopes, accepted wherever scopes are; a key stores the scopes its role resolved to.
ROLES: dict[str, tuple[str, ...]] = {
    "owner": SCOPES,
    "finance": (READ, ADJUST, RECONCILE, AUDIT_READ),
    "support": (READ, LOCK, AUDIT_READ),
    "integration": (READ, WRITE, SESSIONS),
    "readonly": (READ,),
}

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


def resolve_scopes(scopes: list[str] | tuple[str, ...] | str | None, role: str | None) -> tuple[str, ...]:
    """The scopes a key is given: listed, or its role's (one of the two)."""
    if (scopes is None) == (role is None):
        raise errors.InvalidRequest("give either scopes or a role")
    if role is not None:
        if role not in ROLES:
            raise errors.InvalidRequest(f"role must be one of {', '.join(ROLES)}")
        return ROLES[role]
    assert scopes is not None
    return parse_scopes(scopes)


def role_of(scopes: tuple[str, ...] | frozenset[str]) -> str | None:
    """The role whose scopes these are exactly, if any (a key shows its role when it has one)."""
    return next((name for name, bundle in ROLES.items() if set(bundle) == set(scopes)), None)


def effective(scopes: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
    """What scopes allow: ``admin`` implies every scope."""
    return frozenset(SCOPES) if ADMIN in scopes else frozenset(scopes)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an operator, the key it used, and what that key may do (``admin``: everything)."""

    operator_id: str
    scopes: frozenset[str]
    key_id: str = ""
    key_name: str = ""

    @property
    def actor(self) -> dict[str, str]:
        """Who this is in the audit trail (``kassa.audit_log``)."""
        return {"keyId": self.key_id, "name": self.key_name}

    def require(self, scope: str) -> None:
        if scope not in effective(self.scopes):
            raise errors.Forbidden(f"this API key lacks the {scope} scope")

    def lacks(self, wanted: tuple[str, ...]) -> list[str]:
        """The scopes of ``wanted`` this key does not hold (what a key it creates may not have)."""
        held = effective(self.scopes)
        return [scope for scope in wanted if scope not in held]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
