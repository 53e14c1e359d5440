"""Use cases with I/O: read, decide (pure), commit; on contention read again, a bounded number of times.

This is where exactly-once is made. A retried request finds its own entry on the re-read and is
answered from it, which also covers a commit whose response was lost: the retry reads what was
committed instead of moving money twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kassa import errors
from kassa.clock import now_iso
from kassa.domain.model import GENESIS_HASH, Entry, Wallet, WalletStatus
from kassa.domain.movements import Movement, MovementRequest, MovementState, Rejection, Replay, decide
from kassa.money import CURRENCY_PATTERN, DEFAULT_SCALE
from kassa.observability import logger, metrics
from kassa.settings import settings
from kassa.store.codec import Item
from kassa.store.keys import Key
from kassa.store.ledger_store import LedgerStore, WriteConflict

BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.2


@dataclass(frozen=True)
class MovementResult:
    entry: Entry
    # The wallet as it is now (after the movement, or as read for a replay).
    wallet: Wallet
    replayed: bool


# What a protocol checks on the items it read along with the movement (its token, the player's session)
# before the movement is decided: it raises to refuse, or returns the request to decide (which it may
# complete from what it read, e.g. the operator's promo policy).
Admission = Callable[[MovementState, list[Item | None], MovementRequest], MovementRequest]


def move_money(
    store: LedgerStore,
    operator_id: str,
    player_id: str,
    request: MovementRequest,
    *,
    also_read: Sequence[Key] = (),
    admit: Admission | None = None,
) -> MovementResult:
    """Apply one movement exactly once, or raise the domain error that decides it."""
    attempts = max(1, settings().max_attempts)
    for attempt in range(attempts):
        state, also = store.load(operator_id, player_id, request, also_read)
        try:
            admitted = admit(state, also, request) if admit is not None else request
            decision = decide(state, admitted, now=now_iso())
        except errors.KassaError as error:
            raise _with_wallet(error, state.wallet) from None
        if isinstance(decision, Replay):
            return _replayed(decision)
        assert state.wallet is not None  # decide() refuses a missing wallet
        try:
            store.commit(decision, read_version=state.wallet.version)
        except WriteConflict as conflict:
            logger.debug("movement conflict, re-reading", extra={"attempt": attempt, "reason": str(conflict)})
            _backoff(attempt)
            continue
        facts = {
            "operatorId": operator_id,
            "playerId": player_id,
            "transactionId": request.transaction_id,
            "action": request.action.value,
        }
        if isinstance(decision, Rejection):
            logger.info("movement rejected", extra={**facts, "code": decision.error.code})
            metrics.add_metric(name="MovementsRejected", unit="Count", value=1)
            raise _with_wallet(decision.error, decision.wallet)
        logger.info("movement applied", extra={**facts, "version": decision.wallet.version})
        _count(decision)
        return MovementResult(decision.entry, decision.wallet, replayed=False)
    metrics.add_metric(name="MovementsGivenUp", unit="Count", value=1)
    logger.warning(
        "movement given up: the wallet stayed busy",
        extra={"operatorId": operator_id, "playerId": player_id, "transactionId": request.transaction_id},
    )
    busy = errors.TemporarilyUnavailable("the wallet is busy; nothing was committed, retry")
    raise _with_wallet(busy, state.wallet)


def _replayed(replay: Replay) -> MovementResult:
    metrics.add_metric(name="MovementsReplayed", unit="Count", value=1)
    if not replay.entry.applied:
        raise _with_wallet(errors.from_name(replay.entry.error_code), replay.wallet)
    return MovementResult(replay.entry, replay.wallet, replayed=True)


def _count(movement: Movement) -> None:
    metrics.add_metric(name="MovementsApplied", unit="Count", value=1)
    metrics.add_metric(name=f"Movements_{movement.entry.action.value}", unit="Count", value=1)


def _with_wallet(error: errors.KassaError, wallet: Wallet | None) -> errors.KassaError:
    # Protocols answer rejections with the current balance (One Wallet's non-OK responses do).
    error.wallet = error.wallet or wallet
    return error


def _backoff(attempt: int) -> None:
    # Full jitter: concurrent writers to one wallet spread out instead of colliding again in step.
    time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))


def open_wallet(
    store: LedgerStore, operator_id: str, player_id: str, currency: str, scale: int | None = None
) -> Wallet:
    if not CURRENCY_PATTERN.match(currency):
        raise errors.InvalidRequest("currency must be an ISO 4217 code such as EUR")
    now = now_iso()
    wallet = Wallet(
        operator_id=operator_id,
        player_id=player_id,
        currency=currency,
        scale=DEFAULT_SCALE if scale is None else scale,
        balance=0,
        bonus=0,
        status=WalletStatus.ACTIVE,
        version=0,
        last_hash=GENESIS_HASH,
        created_at=now,
        updated_at=now,
    )
    store.create_wallet(wallet)
    metrics.add_metric(name="WalletsOpened", unit="Count", value=1)
    return wallet
