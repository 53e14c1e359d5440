"""The audit trail: one immutable record per privileged act, written in the act's own transaction.

A record says what was done (``action``), by whom (``actor``: an API key ``{"keyId", "name"}``, Kassa
itself ``{"system": "<function>"}``, or the CLI ``{"cli": "<operating-system user>"}``), to what
(``target``: the player, key or run), with what was decided (``details``) and the API request it came
from (``requestId``). The store puts it beside the act, so there is never an act without its record nor
a record without its act; nothing ever updates or deletes one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from kassa.clock import now_iso

KEY_CREATED = "key_created"
KEY_REVOKED = "key_revoked"
WALLET_LOCKED = "wallet_locked"
WALLET_UNLOCKED = "wallet_unlocked"
ADJUSTMENT_APPLIED = "adjustment_applied"
RECONCILIATION_STARTED = "reconciliation_started"
STALE_BET_REFUNDED = "stale_bet_refunded"
TOKEN_ROTATED = "onewallet_token_rotated"  # noqa: S105 - an action name, not a secret
SETTINGS_CHANGED = "settings_changed"
ACTIONS = (
    KEY_CREATED,
    KEY_REVOKED,
    WALLET_LOCKED,
    WALLET_UNLOCKED,
    ADJUSTMENT_APPLIED,
    RECONCILIATION_STARTED,
    STALE_BET_REFUNDED,
    TOKEN_ROTATED,
    SETTINGS_CHANGED,
)

Actor = dict[str, str]


def system_actor(function: str) -> Actor:
    return {"system": function}


# Kassa's own acts: the reconciliation function's scheduled audits, report runs and stale bets' refunds.
RECONCILIATION = system_actor("ReconciliationFunction")


def cli_actor() -> Actor:
    import getpass  # only a shell needs it: not at import, on every function's cold start

    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        user = "unknown"
    return {"cli": user}


@dataclass(frozen=True)
class AuditRecord:
    operator_id: str
    action: str
    actor: Actor
    target: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    at: str = field(default_factory=now_iso)
    event_id: str = field(default_factory=lambda: secrets.token_hex(8))

    def as_dict(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "at": self.at,
            "action": self.action,
            "actor": self.actor,
            "target": self.target,
            "details": self.details,
            "requestId": self.request_id,
        }
