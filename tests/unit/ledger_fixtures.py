"""Small builders for domain tests: wallets, bets and requests with readable defaults."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from kassa.domain.hashchain import recompute
from kassa.domain.model import GENESIS_HASH, Action, Balance, Bet, BetState, Entry, Wallet, WalletStatus
from kassa.domain.movements import MovementRequest

NOW = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-01T00:00:01.000000Z"
OPERATOR = "op-1"
PLAYER = "player-1"
CURRENCY = "EUR"
SCALE = 6
UNIT = 10**SCALE  # units in one major unit


def units(amount: str) -> int:
    return int(Decimal(amount).scaleb(SCALE))


def wallet(
    balance: str = "0", bonus: str = "0", *, locked: bool = False, version: int = 0, last_hash: str = GENESIS_HASH
) -> Wallet:
    return Wallet(
        operator_id=OPERATOR,
        player_id=PLAYER,
        currency=CURRENCY,
        scale=SCALE,
        balance=units(balance),
        bonus=units(bonus),
        status=WalletStatus.LOCKED if locked else WalletStatus.ACTIVE,
        version=version,
        last_hash=last_hash,
        created_at=NOW,
        updated_at=NOW,
    )


def request(action: Action | str, amount: str | Decimal | None, tx: str = "tx-1", **fields: object) -> MovementRequest:
    value = Decimal(amount) if isinstance(amount, str) else amount
    return MovementRequest(action=Action(action), transaction_id=tx, amount=value, **fields)


def open_bet(bet_id: str = "bet-1", amount: str = "5", tx: str = "tx-bet") -> Bet:
    return Bet(bet_id, BetState.OPEN, units(amount), tx, NOW)


def bet_in(state: BetState, bet_id: str = "bet-1", amount: str = "5", tx: str = "tx-bet") -> Bet:
    return replace(
        open_bet(bet_id, amount, tx),
        state=state,
        settled_by=None if state in (BetState.OPEN, BetState.TOMBSTONE) else "tx-settle",
    )


def recomputed_hash(owner: Wallet, entry: Entry, previous_hash: str) -> str:
    return recompute(owner.operator_id, owner.player_id, replace(entry, previous_hash=previous_hash))


def verify_chain(owner: Wallet, applied: list[Entry]) -> None:
    """The auditor's check: versions 1..n, each hash chained to the one before and recomputable."""
    previous = GENESIS_HASH
    for number, entry in enumerate(applied, start=1):
        assert entry.applied
        assert entry.version == number, f"entry {entry.transaction_id} has version {entry.version}, expected {number}"
        assert entry.previous_hash == previous
        assert entry.hash == recomputed_hash(owner, entry, previous)
        previous = entry.hash
    assert owner.last_hash == previous
    assert owner.version == len(applied)


__all__ = [
    "CURRENCY",
    "LATER",
    "NOW",
    "OPERATOR",
    "PLAYER",
    "SCALE",
    "UNIT",
    "Balance",
    "bet_in",
    "open_bet",
    "recomputed_hash",
    "request",
    "units",
    "verify_chain",
    "wallet",
]
