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


def rotate_onewallet_token(store: AccessStore, operator_id: str, actor: Actor | None = None) -> str:
    """A new One Wallet token for the operator; the old one stops working at once."""
    token = auth.new_secret(auth.ONEWALLET_TOKEN_PREFIX)
    record = AuditRecord(
        operator_id, audit_log.TOKEN_ROTATED, actor or audit_log.cli_actor(), {"operatorId": operator_id}
    )
    store.replace_onewallet_token(operator_id, auth.secret_hash(token), record)
    return token


@dataclass(frozen=True)
class SettingsChange:
    """What an operator's settings become; None leaves a setting as it is."""

    promo_balance: str | None = None
    stale_bet_hours: int | None = None
    refund_stale_bets: bool | None = None

    def as_dict(self) -> dict[str, object]:
        given = {
            "promoBalance": self.promo_balance,
            "staleBetHours": self.stale_bet_hours,
            "refundStaleBets": self.refund_stale_bets,
        }
        return {name: value for name, value in given.items() if value is not None}


def change_settings(
    store: AccessStore, operator_id: str, change: SettingsChange, actor: Actor | None = None
) -> dict[str, object]:
    """Change an operator's settings, with the audit record of old and new values in the same transaction;
    returns the settings as they are now."""
    wanted = change.as_dict()
    if not wanted:
        raise errors.InvalidRequest("name at least one setting to change")
    if change.promo_balance not in (None, "cash", "bonus"):
        raise errors.InvalidRequest("promo balance must be cash or bonus")
    if change.stale_bet_hours is not None and not 1 <= change.stale_bet_hours <= 24 * 365:
        raise errors.InvalidRequest("stale bet hours must be between 1 and 8760")
    before = current_settings(store, operator_id)
    details = {"before": {name: before[name] for name in wanted}, "after": wanted}
    record = AuditRecord(
        operator_id, audit_log.SETTINGS_CHANGED, actor or audit_log.cli_actor(), {"operatorId": operator_id}, details
    )
    after = {**before, **wanted}
    policy = None
    if change.stale_bet_hours is not None or change.refund_stale_bets is not None:
        policy = AuditPolicy(int(str(after["staleBetHours"])), bool(after["refundStaleBets"])).as_item()
    store.change_settings(operator_id, policy, change.promo_balance, record)
    return after


def current_settings(store: AccessStore, operator_id: str) -> dict[str, object]:
    """promoBalance (One Wallet's promo payouts: cash or bonus), staleBetHours and refundStaleBets (the audit's)."""
    operator, token = store.operator_settings(operator_id)
    if operator is None or token is None:
        raise errors.InvalidRequest(f"no operator {operator_id}")
    policy = AuditPolicy.from_item(operator)
    return {
        "promoBalance": codec.optional_text(token, "promoBalance") or "cash",
        "staleBetHours": policy.stale_bet_hours,
        "refundStaleBets": policy.refund_stale_bets,
    }
