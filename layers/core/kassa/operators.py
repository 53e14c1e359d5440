"""Operators (tenants) and their credentials: created with a first API key and a One Wallet token."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from kassa import auth, errors
from kassa.credentials import CredentialCache
from kassa.store import codec
from kassa.store.access_store import API_KEY, AccessStore
from kassa.store.codec import text

OPERATOR_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class AuditPolicy:
    """How the scheduled audit treats an operator's bets: open longer than ``stale_bet_hours`` is stale;
    with ``refund_stale_bets`` the audit refunds them through the ordinary cancel_bet path."""

    stale_bet_hours: int = 72
    refund_stale_bets: bool = False

    def as_item(self) -> codec.Item:
        return {"staleBetHours": {"N": str(self.stale_bet_hours)}, "refundStaleBets": {"BOOL": self.refund_stale_bets}}

    @classmethod
    def from_item(cls, item: codec.Item | None) -> AuditPolicy:
        if not item or "staleBetHours" not in item:
            return cls()
        return cls(int(item["staleBetHours"]["N"]), bool(item.get("refundStaleBets", {}).get("BOOL", False)))


@dataclass(frozen=True)
class NewOperator:
    operator_id: str
    api_key: str
    key_id: str
    scopes: tuple[str, ...]
    onewallet_token: str


def create_operator(
    store: AccessStore,
    operator_id: str,
    scopes: tuple[str, ...] = auth.SCOPES,
    api_key: str | None = None,
    onewallet_token: str | None = None,
    promo_balance: str = "cash",
    audit: AuditPolicy | None = None,
) -> NewOperator:
    """Create an operator; the secrets are returned once and only their hashes are stored.

    ``api_key`` and ``onewallet_token`` let a local demo use known values; otherwise they are random.
    ``promo_balance`` is where One Wallet promo payouts go: the cash balance (default) or the bonus.
    """
    if not OPERATOR_ID.match(operator_id):
        raise errors.InvalidRequest("operator id must be lowercase letters, digits and dashes (max 63)")
    scopes = auth.parse_scopes(scopes)
    if promo_balance not in ("cash", "bonus"):
        raise errors.InvalidRequest("promo balance must be cash or bonus")
    api_key = api_key or auth.new_secret(auth.API_KEY_PREFIX)
    onewallet_token = onewallet_token or auth.new_secret(auth.ONEWALLET_TOKEN_PREFIX)
    key_id = secrets.token_hex(8)
    store.create_operator(
        operator_id,
        key_id,
        auth.secret_hash(api_key),
        scopes,
        auth.secret_hash(onewallet_token),
        promo_balance,
        (audit or AuditPolicy()).as_item(),
    )
    return NewOperator(operator_id, api_key, key_id, scopes, onewallet_token)


# secret hash -> (operator id, key id) of the API key item the index found for it
_api_keys: CredentialCache[tuple[str, str]] = CredentialCache()


def authenticate_api_key(store: AccessStore, api_key: str | None) -> auth.Principal | None:
    """The principal an API key stands for, or None: unknown keys and malformed headers alike.

    One DynamoDB request either way: cold, the index query (its item carries the hash and scopes);
    warm, a strongly consistent read of the key item itself, so a deleted key is refused at once.
    """
    if not api_key or len(api_key) > 512:
        return None
    secret_hash = auth.secret_hash(api_key)
    known = _api_keys.recall(secret_hash)
    item = store.get_api_key(*known) if known else store.find_credential(API_KEY, secret_hash)
    if item is None or not auth.same_hash(text(item, "secretHash"), api_key):
        _api_keys.forget(secret_hash)
        return None
    _api_keys.remember(secret_hash, (text(item, "operatorId"), text(item, "keyId")))
    return auth.Principal(text(item, "operatorId"), frozenset(text(item, "scopes").split()))


@dataclass(frozen=True)
class NewApiKey:
    operator_id: str
    key_id: str
    api_key: str
    scopes: tuple[str, ...]


def create_api_key(store: AccessStore, operator_id: str, scopes: tuple[str, ...] = auth.SCOPES) -> NewApiKey:
    """Another API key for an existing operator (to hand over before revoking the old one); shown once."""
    scopes = auth.parse_scopes(scopes)
    api_key = auth.new_secret(auth.API_KEY_PREFIX)
    key_id = secrets.token_hex(8)
    store.add_api_key(operator_id, key_id, auth.secret_hash(api_key), scopes)
    return NewApiKey(operator_id, key_id, api_key, scopes)


def revoke_api_key(store: AccessStore, operator_id: str, key_id: str) -> None:
    """The key is refused from its next request on; another operator's key id is simply not found."""
    store.delete_api_key(operator_id, key_id)


def rotate_onewallet_token(store: AccessStore, operator_id: str) -> str:
    """A new One Wallet token for the operator; the old one stops working at once."""
    token = auth.new_secret(auth.ONEWALLET_TOKEN_PREFIX)
    store.replace_onewallet_token(operator_id, auth.secret_hash(token))
    return token
