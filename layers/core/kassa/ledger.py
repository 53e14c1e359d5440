"""Use cases with I/O: read, decide (pure), commit; on contention read again, within a time budget.

This is where exactly-once is made. A retried request finds its own entry on the re-read and is
answered from it, which also covers a commit whose response was lost: the retry reads what was
committed instead of moving money twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from kassa import audit_log, errors
from kassa.audit_log import AuditRecord
from kassa.clock import now_iso
from kassa.deadline import Budget
from kassa.domain.model import GENESIS_HASH, Action, Entry, SinceWithdrawal, Wallet, WalletStatus
from kassa.domain.movements import Movement, MovementRequest, MovementState, Rejection, Replay, decide
from kassa.money import CURRENCY_PATTERN, DEFAULT_SCALE, format_units
from kassa.observability import logger, metrics
from kassa.store.codec import Item
from kassa.store.keys import Key
from kassa.store.ledger_store import LedgerStore, WriteConflict
from kassa.store.outcomes import BACKOFF_CAP_SECONDS, THROTTLE_CAP_SECONDS, Outcome, pause, yield_to_elders


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
    budget: Budget | None = None,
) -> MovementResult:
    """Apply one movement exactly once, or raise the domain error that decides it.

    Contention (a failed condition, a conflict, a throttle, a lost answer) is read and decided again
    after a jittered pause, for as long as the budget lasts (``kassa.deadline``; the native API's by
    default, a protocol passes its own); then nothing was committed and the answer says "retry"."""
    budget = budget or store.budget()
    attempts = busy_rounds = 0
    lean = True  # the first read trusts the commit's conditions for the entry and bet; later ones read them
    wallet: Wallet | None = None
    known: MovementState | None = None  # what a refused commit told us, instead of a new read
    also: list[Item | None] = []
    while True:
        attempts += 1
        if known is None:
            try:
                state, also = store.load(operator_id, player_id, request, also_read, budget, lean=lean)
                lean = False
            except errors.TemporarilyUnavailable:
                break  # the reads themselves stayed throttled until the budget ran out
        else:
            state, known = known, None
        wallet = state.wallet
        try:
            admitted = admit(state, also, request) if admit is not None else request
            decision = decide(state, admitted, now=now_iso())
        except errors.KassaError as error:
            if state.entry_assumed or state.bet_assumed or state.read_eventually:
                # Nothing is committed for this answer, so no condition checks what was assumed (the id is
                # new, the bet as assumed) or read from a replica that may lag (a wallet just opened): a
                # decided id must get its first answer, a known bet its own refusal, so read them
                # consistently and decide again.
                continue
            raise _with_wallet(error, state.wallet) from None
        if isinstance(decision, Replay):
            return _replayed(decision)
        if isinstance(decision, Rejection) and (state.bet_assumed or state.read_eventually):
            # A rejection writes no bet, so no condition would check what was assumed of it, or a bet a
            # replica showed: read them consistently (rejections are rare; the read is cheap beside one).
            continue
        assert state.wallet is not None  # decide() refuses a missing wallet
        try:
            record = _audit_record(decision, request, operator_id, player_id)
            collection_gb = store.commit(decision, read_version=state.wallet.version, record=record)
        except WriteConflict as conflict:
            logger.debug("movement not committed", extra={"attempt": attempts, "why": str(conflict)})
            known, waited = _after(conflict, state, budget, busy_rounds)
            busy_rounds += conflict.outcome is not Outcome.CONDITION_FAILED
            if not waited:
                break
            continue
        facts = {
            "operatorId": operator_id,
            "playerId": player_id,
            "transactionId": request.transaction_id,
            "action": request.action.value,
            "attempts": attempts,
            "requestId": request.origin.request_id,
            "traceId": request.origin.trace_id,
            "protocol": request.origin.protocol,
        }
        _watch_collection(collection_gb, facts)
        if isinstance(decision, Rejection):
            logger.info("movement rejected", extra={**facts, "code": decision.error.code})
            metrics.add_metric(name="MovementsRejected", unit="Count", value=1)
            raise _with_wallet(decision.error, decision.wallet)
        logger.info("movement applied", extra={**facts, "version": decision.wallet.version})
        _count(decision, attempts)
        return MovementResult(decision.entry, decision.wallet, replayed=False)
    metrics.add_metric(name="MovementsGivenUp", unit="Count", value=1)
    logger.warning(
        "movement given up: the wallet stayed busy",
        extra={
            "operatorId": operator_id,
            "playerId": player_id,
            "transactionId": request.transaction_id,
            "attempts": attempts,
        },
    )
    busy = errors.TemporarilyUnavailable("the wallet is busy; nothing was committed, retry")
    raise _with_wallet(busy, wallet)


def _after(
    conflict: WriteConflict, state: MovementState, budget: Budget, busy_rounds: int
) -> tuple[MovementState | None, bool]:
    """How the next round starts after a refused commit: from what is known (None: read again), and
    whether the budget pays for the pause before it (False: give up)."""
    if conflict.outcome is Outcome.TRANSIENT:
        # Another transaction holds the wallet, or DynamoDB throttled: wait a little (jittered), then
        # commit what was decided again; its conditions still guard it, and if the wallet moved on
        # meanwhile the refusal says so (and carries the wallet).
        cap = THROTTLE_CAP_SECONDS if conflict.throttled else BACKOFF_CAP_SECONDS
        return state, pause(busy_rounds, budget, cap=cap, elder_first=not conflict.throttled)
    if conflict.outcome is Outcome.AMBIGUOUS:
        # The answer was lost (a timeout, a 500): back off as from a server error, then read what was
        # committed (the entry is there: a replay; or not: decide anew).
        return None, pause(busy_rounds, budget, cap=THROTTLE_CAP_SECONDS)
    if conflict.entry is not None:
        # The id was decided before (the entry assumed absent is there, and the refusal carries it): answer
        # it as a replay at once, with the wallet as the refusal shows it when it moved on too.
        seen = replace(state, wallet=conflict.wallet_seen or state.wallet, existing=conflict.entry, entry_assumed=False)
        return seen, True
    # The wallet moved on (a failed condition): decide again, soon for a request that has waited long,
    # a little later for a fresh one. When the wallet's condition alone failed, the refusal carries the
    # wallet: no read needed.
    known = replace(state, wallet=conflict.wallet) if conflict.wallet is not None else None
    return known, yield_to_elders(budget)


# Movements that are privileged acts by their action alone; others are by the caller's word (audit_as).
AUDITED_ACTIONS = {Action.ADJUSTMENT: audit_log.ADJUSTMENT_APPLIED}


def _audit_record(
    decision: Movement | Rejection, request: MovementRequest, operator_id: str, player_id: str
) -> AuditRecord | None:
    """The audit record an applied privileged movement commits with (none for others, or a rejection)."""
    action = request.audit_as or AUDITED_ACTIONS.get(request.action)
    if action is None or not isinstance(decision, Movement):
        return None
    entry, wallet = decision.entry, decision.wallet
    details = {
        "transactionId": entry.transaction_id,
        "type": entry.action.value,
        "amount": format_units(entry.amount, wallet.scale),
        "currency": wallet.currency,
        "balance": entry.balance.value,
        "reason": entry.reason,
        "betId": entry.bet_id,
        "version": entry.version,
    }
    return AuditRecord(
        operator_id,
        action,
        request.actor or audit_log.system_actor(request.origin.protocol or "kassa"),
        {"playerId": player_id},
        {name: value for name, value in details.items() if value is not None},
        request.origin.request_id or None,
        at=entry.created_at,
    )


def _replayed(replay: Replay) -> MovementResult:
    metrics.add_metric(name="MovementsReplayed", unit="Count", value=1)
    if not replay.entry.applied:
        raise _with_wallet(errors.from_name(replay.entry.error_code), replay.wallet)
    return MovementResult(replay.entry, replay.wallet, replayed=True)


# A wallet's partition (entries, bets, their local index entries) stops taking writes at 10 GB: warn at half.
COLLECTION_WARNING_GB = 5.0


def _watch_collection(size_gb: float | None, facts: dict[str, object]) -> None:
    if size_gb is None:
        return
    metrics.add_metric(name="WalletCollectionSizeGB", unit="Gigabytes", value=size_gb)
    if size_gb > COLLECTION_WARNING_GB:
        logger.warning("wallet partition nearing DynamoDB's 10 GB limit", extra={**facts, "sizeGB": size_gb})


def _count(movement: Movement, attempts: int) -> None:
    metrics.add_metric(name="MovementsApplied", unit="Count", value=1)
    # Read-decide-commit rounds it took: 1 on a quiet wallet; the dashboard shows what contention costs.
    metrics.add_metric(name="MovementAttempts", unit="Count", value=attempts)
    metrics.add_metric(name=f"Movements_{movement.entry.action.value}", unit="Count", value=1)


def _with_wallet(error: errors.KassaError, wallet: Wallet | None) -> errors.KassaError:
    # Protocols answer rejections with the current balance (One Wallet's non-OK responses do).
    error.wallet = error.wallet or wallet
    return error


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
        since_withdrawal=SinceWithdrawal(),
    )
    store.create_wallet(wallet)
    metrics.add_metric(name="WalletsOpened", unit="Count", value=1)
    return wallet
