"""The per-wallet hash chain: hash = H(previous hash, entry).

Computed inline when an entry is decided (the previous hash is on the wallet item that was read), so
writing needs no lock and auditing is a pure recomputation. The canonical form lists every field that
gives an entry its meaning; changing any of them, or removing an entry, breaks every later hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kassa.domain.model import Entry


def entry_digest(
    previous_hash: str,
    *,
    operator_id: str,
    player_id: str,
    transaction_id: str,
    action: str,
    amount: int,
    balance: str,
    balance_before: int,
    balance_after: int,
    version: int,
    bet_id: str | None,
    created_at: str,
    reason: str | None,
    correlation_id: str,
) -> str:
    fields = (
        previous_hash,
        operator_id,
        player_id,
        transaction_id,
        action,
        str(amount),
        balance,
        str(balance_before),
        str(balance_after),
        str(version),
        bet_id or "",
        created_at,
        reason or "",
        correlation_id,
    )
    # A JSON array is an unambiguous encoding: no field value can forge a boundary between fields.
    return hashlib.sha256(json.dumps(fields, ensure_ascii=True).encode()).hexdigest()


def recompute(operator_id: str, player_id: str, entry: Entry) -> str:
    """What ``entry.hash`` must be, given its own fields and the previous hash it names."""
    return entry_digest(
        entry.previous_hash or "",
        operator_id=operator_id,
        player_id=player_id,
        transaction_id=entry.transaction_id,
        action=entry.action.value,
        amount=entry.amount,
        balance=entry.balance.value,
        balance_before=entry.balance_before,
        balance_after=entry.balance_after,
        version=entry.version,
        bet_id=entry.bet_id,
        created_at=entry.created_at,
        reason=entry.reason,
        correlation_id=entry.correlation_id,
    )
