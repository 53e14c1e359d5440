"""Domain values <-> DynamoDB items (low-level attribute values). Storage shapes stay in the store."""

from __future__ import annotations

from typing import Any

from kassa.domain.model import (
    Action,
    Balance,
    Bet,
    BetState,
    Entry,
    Origin,
    Outcome,
    SinceWithdrawal,
    Wallet,
    WalletStatus,
)
from kassa.store import keys

Item = dict[str, dict[str, Any]]


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def text(item: Item, name: str) -> str:
    return str(item[name]["S"])


def optional_text(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def number(item: Item, name: str) -> int:
    return int(item[name]["N"])


def _optional(name: str, value: str | None) -> Item:
    return {} if value is None else {name: s(value)}


# A wallet's tally since its last withdrawal, on the wallet and on a withdrawal's entry: [deposited, wagered].
SINCE_WITHDRAWAL = "sinceWithdrawal"


def tally_value(since: SinceWithdrawal) -> dict[str, Any]:
    return {"L": [n(since.deposited), n(since.wagered)]}


def _tally(since: SinceWithdrawal | None) -> Item:
    return {} if since is None else {SINCE_WITHDRAWAL: tally_value(since)}


def _tally_from(item: Item) -> SinceWithdrawal | None:
    value = item.get(SINCE_WITHDRAWAL)
    if value is None:
        return None
    deposited, wagered = (int(part["N"]) for part in value["L"])
    return SinceWithdrawal(deposited, wagered)


def wallet_item(wallet: Wallet) -> Item:
    return {
        **keys.wallet(wallet.operator_id, wallet.player_id),
        "type": s("wallet"),
        "kind": s(keys.wallets_kind(wallet.operator_id)),
        "operatorId": s(wallet.operator_id),
        "playerId": s(wallet.player_id),
        "currency": s(wallet.currency),
        "scale": n(wallet.scale),
        "balance": n(wallet.balance),
        "bonus": n(wallet.bonus),
        "status": s(wallet.status.value),
        "version": n(wallet.version),
        "lastHash": s(wallet.last_hash),
        "createdAt": s(wallet.created_at),
        "updatedAt": s(wallet.updated_at),
        **({"recent": s(recent_text(wallet))} if wallet.recent else {}),
        **_tally(wallet.since_withdrawal),
    }


def recent_text(wallet: Wallet) -> str:
    """``Wallet.recent`` as stored: one string, the digests space-separated, newest last."""
    return " ".join(wallet.recent)


def wallet_from_item(item: Item) -> Wallet:
    return Wallet(
        operator_id=text(item, "operatorId"),
        player_id=text(item, "playerId"),
        currency=text(item, "currency"),
        scale=number(item, "scale"),
        balance=number(item, "balance"),
        bonus=number(item, "bonus"),
        status=WalletStatus(text(item, "status")),
        version=number(item, "version"),
        last_hash=text(item, "lastHash"),
        created_at=text(item, "createdAt"),
        updated_at=text(item, "updatedAt"),
        current_session=optional_text(item, "currentSession"),
        recent=tuple((optional_text(item, "recent") or "").split()),
        since_withdrawal=_tally_from(item),
    )


def entry_item(wallet: Wallet, entry: Entry) -> Item:
    item: Item = {
        **keys.entry(wallet.operator_id, wallet.player_id, entry.transaction_id, entry.action.value),
        "type": s("entry"),
        "operatorId": s(wallet.operator_id),
        "playerId": s(wallet.player_id),
        "currency": s(wallet.currency),
        "scale": n(wallet.scale),
        "transactionId": s(entry.transaction_id),
        "action": s(entry.action.value),
        "outcome": s(entry.outcome.value),
        "fingerprint": s(entry.fingerprint),
        "createdAt": s(entry.created_at),
        "correlationId": s(entry.correlation_id),
        "amount": n(entry.amount),
        "balanceKind": s(entry.balance.value),
        "balanceBefore": n(entry.balance_before),
        "balanceAfter": n(entry.balance_after),
        "walletBalance": n(entry.wallet_balance),
        "walletBonus": n(entry.wallet_bonus),
        "version": n(entry.version),
        "walletStatus": s(entry.wallet_status.value),
        **_optional("betId", entry.bet_id),
        **_optional("reason", entry.reason),
        **_optional("errorCode", entry.error_code),
        **_optional("previousHash", entry.previous_hash),
        **_optional("hash", entry.hash),
        **_optional("requestId", entry.origin.request_id or None),
        **_optional("traceId", entry.origin.trace_id or None),
        **_optional("protocol", entry.origin.protocol or None),
        **_tally(entry.since_withdrawal),
    }
    if entry.applied:
        # Only applied entries are history: the sparse index EntriesByVersion orders them.
        item["entryVersion"] = n(entry.version)
    else:
        # A recorded refusal: in the sparse index RejectionsByWallet (the anomaly rules, the round view).
        item["rejectedIn"] = s(keys.wallet_pk(wallet.operator_id, wallet.player_id))
    return item


def entry_from_item(item: Item) -> Entry:
    return Entry(
        transaction_id=text(item, "transactionId"),
        action=Action(text(item, "action")),
        outcome=Outcome(text(item, "outcome")),
        fingerprint=text(item, "fingerprint"),
        created_at=text(item, "createdAt"),
        correlation_id=text(item, "correlationId"),
        amount=number(item, "amount"),
        balance=Balance(text(item, "balanceKind")),
        bet_id=optional_text(item, "betId"),
        reason=optional_text(item, "reason"),
        error_code=optional_text(item, "errorCode"),
        balance_before=number(item, "balanceBefore"),
        balance_after=number(item, "balanceAfter"),
        wallet_balance=number(item, "walletBalance"),
        wallet_bonus=number(item, "walletBonus"),
        version=number(item, "version"),
        wallet_status=WalletStatus(text(item, "walletStatus")),
        previous_hash=optional_text(item, "previousHash"),
        hash=optional_text(item, "hash"),
        origin=Origin(
            optional_text(item, "requestId") or "",
            optional_text(item, "traceId") or "",
            optional_text(item, "protocol") or "",
        ),
        since_withdrawal=_tally_from(item),
    )


def bet_item(operator_id: str, player_id: str, bet: Bet) -> Item:
    return {
        **keys.bet(operator_id, player_id, bet.bet_id),
        "type": s("bet"),
        "betId": s(bet.bet_id),
        "state": s(bet.state.value),
        "amount": n(bet.amount),
        "transactionId": s(bet.transaction_id),
        "createdAt": s(bet.created_at),
        **_optional("settledBy", bet.settled_by),
    }


def bet_from_item(item: Item) -> Bet:
    return Bet(
        bet_id=text(item, "betId"),
        state=BetState(text(item, "state")),
        amount=number(item, "amount"),
        transaction_id=text(item, "transactionId"),
        created_at=text(item, "createdAt"),
        settled_by=optional_text(item, "settledBy"),
    )
