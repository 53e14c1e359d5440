"""Operators (tenants) and their credentials: created with a first API key and a One Wallet token."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kassa import apikeys, audit_log, auth, errors
from kassa.audit_log import Actor, AuditRecord
from kassa.store import codec
from kassa.store.access_store import AccessStore

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
    actor: Actor | None = None,
    key_id: str | None = None,
) -> NewOperator:
    """Create an operator; the secrets are returned once and only their hashes are stored.

    ``api_key``, ``onewallet_token`` and the first key's ``key_id`` let a local demo or the sample events
    use known values; otherwise they are random.
    ``promo_balance`` is where One Wallet promo payouts go: the cash balance (default) or the bonus.
    """
    if not OPERATOR_ID.match(operator_id):
        raise errors.InvalidRequest("operator id must be lowercase letters, digits and dashes (max 63)")
    scopes = auth.parse_scopes(scopes)
    if promo_balance not in ("cash", "bonus"):
        raise errors.InvalidRequest("promo balance must be cash or bonus")
    key, secret = apikeys.first_key(operator_id, scopes, key_id)
    api_key = api_key or secret
    onewallet_token = onewallet_token or auth.new_secret(auth.ONEWALLET_TOKEN_PREFIX)
    details = {"name": key.name, "scopes": list(scopes), "role": key.role, "expiresAt": None}
    record = AuditRecord(
        operator_id, audit_log.KEY_CREATED, actor or audit_log.cli_actor(), {"keyId": key.key_id}, details
    )
    store.create_operator(
        key,
        auth.secret_hash(api_key),
        auth.secret_hash(onewallet_token),
        promo_balance,
        (audit or AuditPolicy()).as_item(),
        record,
    )
    return NewOperator(operator_id, api_key, key.key_id, scopes, onewallet_token)


def rotate_onewallet_token(store: AccessStore, operator_id: str) -> str:
    """A new One Wallet token for the operator; the old one stops working at once."""
    token = auth.new_secret(auth.ONEWALLET_TOKEN_PREFIX)
    store.replace_onewallet_token(operator_id, auth.secret_hash(token))
    return token
