"""Money movements as pure decisions: (state read, request) -> what to write, or a domain error.

No I/O here. The store reads the state in one call, asks ``decide`` and commits the answer
in one conditional transaction; on a concurrent change it reads again and asks again. Every rule of
money lives in this module, and the protocol adapters only translate into it.

``decide`` does what every movement shares (the wallet exists, the currency is the wallet's, a known
transaction id replays, the amount is exact) and hands over to the action's use case: ``deposit``,
``withdraw``, ``place_bet``, ``settle_bet``, ``cancel_bet``, ``adjust``, ``pay_promo``.

``decide`` raises for rejections that must not stick to the transaction id (unknown wallet, bad
amount, conflicting payload: a corrected retry may succeed) and returns a ``Rejection`` for business
rejections that are final for that id (insufficient funds, locked wallet, settled bet): they are
recorded so a retry gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from kassa import errors
from kassa.domain.hashchain import entry_digest
from kassa.domain.model import Action, Balance, Bet, BetState, Entry, Origin, Outcome, SinceWithdrawal, Wallet
from kassa.money import canonical, to_units

# Actions that need a bet id, and those whose amount must be strictly positive.
BET_ACTIONS = frozenset({Action.BET, Action.WIN, Action.REFUND})
POSITIVE_ACTIONS = frozenset({Action.DEPOSIT, Action.WITHDRAWAL})
# Actions a locked wallet refuses: money leaving the player's control. Settlements still apply.
LOCK_BLOCKED = frozenset({Action.WITHDRAWAL, Action.BET})
# How many of its last applied movements a wallet names (``Wallet.recent``): 16 digests of 12 characters
# keep the wallet item well under the 1 KB a write unit covers.
RECENT_KEPT = 16
RECENT_DIGEST_CHARS = 12


def recent_key(transaction_id: str, action: Action) -> str:
    """A movement's (transaction id, action) as the wallet remembers it: short, so a false match only
    costs a read of an entry that is not there."""
    return hashlib.sha256(f"{action.value}\x00{transaction_id}".encode()).hexdigest()[:RECENT_DIGEST_CHARS]


@dataclass(frozen=True)
class MovementRequest:
    action: Action
    transaction_id: str
    amount: Decimal | None
    bet_id: str | None = None
    reason: str | None = None
    currency: str | None = None
    balance: Balance = Balance.CASH
    correlation_id: str = ""
    origin: Origin = field(default_factory=Origin)
    # Who asked, for the audit trail of the acts it records (an adjustment, a stale bet's refund).
    actor: dict[str, str] | None = None
    # The audit trail's action for this movement when applied, where the action alone does not say it
    # (an adjustment always is one: ``kassa.ledger``).
    audit_as: str | None = None

    @property
    def fingerprint(self) -> str:
        """What makes two requests with one id "the same": only the fields the decision depends on.

        A refund's amount is not among them (it refunds the stored bet amount, whatever it says).
        """
        amount = "" if self.action is Action.REFUND or self.amount is None else canonical(self.amount)
        parts = (self.action.value, amount, self.bet_id or "", self.reason or "", self.balance.value)
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass(frozen=True)
class MovementState:
    wallet: Wallet | None
    existing: Entry | None = None
    bet: Bet | None = None
    # The bet was not read but assumed (``assumable_bet``): only a commit whose condition checks it may
    # rely on it, so a rejection decided on it is decided again on the bet as read.
    bet_assumed: bool = False
    # The entry was not read but assumed absent (the wallet does not name the id among its recent ones):
    # the commit's entry put requires it absent, and a refusal of that condition carries the entry; a
    # decision that raises, committing nothing, is made again on the entry as read.
    entry_assumed: bool = False
    # The wallet, entry and bet were read eventually consistent (as a replica had them, maybe a moment
    # old): an entry found is the decided one (entries never change) and the wallet was then read again,
    # consistently; otherwise only a commit's conditions make what was read true, so a decision that raises
    # or a rejection is made again on a consistent read.
    read_eventually: bool = False


def assumable_bet(request: MovementRequest) -> tuple[bool, Bet | None]:
    """Whether the bet need not be read because the commit's own condition asserts what the decision
    assumes, and the bet to assume: a bet's id is unused (its put requires the item absent); a win's bet
    is open (its update requires state open, and writes nothing else of the bet). A refund needs the
    stake, so it reads. Saves one read unit on most movements; a wrong assumption fails the commit."""
    if request.action is Action.BET:
        return True, None
    if request.action is Action.WIN and request.bet_id:
        return True, Bet(request.bet_id, BetState.OPEN, amount=0, transaction_id="", created_at="")
    return False, None


@dataclass(frozen=True)
class BetWrite:
    """The bet item after the decision; ``expected`` is the state it must still have (None: new)."""

    bet: Bet
    expected: BetState | None


@dataclass(frozen=True)
class Movement:
    wallet: Wallet
    entry: Entry
    bet: BetWrite | None


@dataclass(frozen=True)
class Rejection:
    """A final business rejection, recorded under the transaction id (no money moves)."""

    error: errors.KassaError
    wallet: Wallet
    entry: Entry
    bet: BetWrite | None = None


@dataclass(frozen=True)
class Replay:
    """The id was decided before with the same payload: answer as then, write nothing."""

    entry: Entry
    wallet: Wallet


Decision = Movement | Rejection | Replay


def decide(state: MovementState, request: MovementRequest, *, now: str) -> Decision:
    wallet = state.wallet
    if wallet is None:
        raise errors.WalletNotFound()
    if request.currency is not None and request.currency != wallet.currency:
        raise errors.CurrencyMismatch(f"currency must be the wallet's currency {wallet.currency}")
    if state.existing is not None:
        if state.existing.fingerprint != request.fingerprint:
            raise errors.IdempotencyConflict()
        return Replay(state.existing, wallet)
    units = _units(request, wallet)
    return USE_CASES[request.action](state, wallet, request, units, now)


def _units(request: MovementRequest, wallet: Wallet) -> int:
    if request.action in BET_ACTIONS and not request.bet_id:
        raise errors.InvalidRequest(f"betId is required for {request.action.value}")
    if request.action is Action.ADJUSTMENT and not request.reason:
        raise errors.InvalidRequest("reason is required for an adjustment")
    if request.amount is None:
        if request.action is Action.REFUND:
            return 0
        raise errors.InvalidAmount("amount is required")
    units = to_units(request.amount, wallet.scale)
    if request.action is Action.ADJUSTMENT:
        if units == 0:
            raise errors.InvalidAmount("an adjustment must not be zero")
    elif units < 0 or (units == 0 and request.action in POSITIVE_ACTIONS):
        raise errors.InvalidAmount(
            "amount must be positive" if request.action in POSITIVE_ACTIONS else "amount must not be negative"
        )
    return units


def deposit(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    return _apply(wallet, request, units, now)


def withdraw(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    if wallet.locked:
        return _reject(errors.WalletLocked(), wallet, request, now)
    return _debit(wallet, request, units, now)


def place_bet(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    bet = state.bet
    # A known bet id is a duplicate before it is anything else: a replayed debit is never refused
    # for funds or a lock it did not meet the first time.
    if bet is not None and bet.state is BetState.TOMBSTONE:
        return _reject(errors.BetCancelledBeforePlaced(), wallet, request, now)
    if bet is not None:
        raise errors.BetAlreadyExists()
    if wallet.locked:
        return _reject(errors.WalletLocked(), wallet, request, now)
    opened = Bet(request.bet_id, BetState.OPEN, units, request.transaction_id, now)
    return _debit(wallet, request, units, now, BetWrite(opened, expected=None))


def settle_bet(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    bet = state.bet
    if bet is None:
        raise errors.BetNotFound()
    if bet.state is not BetState.OPEN:
        return _reject(errors.BetAlreadySettled(), wallet, request, now)
    settled = replace(bet, state=BetState.SETTLED, settled_by=request.transaction_id)
    return _apply(wallet, request, units, now, BetWrite(settled, expected=BetState.OPEN))


def cancel_bet(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    bet = state.bet
    if bet is None:
        # Remember the cancel for ever, so that a late bet with this id is refused, not charged.
        tombstone = Bet(request.bet_id, BetState.TOMBSTONE, 0, request.transaction_id, now)
        return _reject(errors.BetNotFound(), wallet, request, now, BetWrite(tombstone, expected=None))
    if bet.state is not BetState.OPEN:
        return _reject(errors.BetAlreadySettled(), wallet, request, now)
    cancelled = replace(bet, state=BetState.CANCELLED, settled_by=request.transaction_id)
    return _apply(wallet, request, bet.amount, now, BetWrite(cancelled, expected=BetState.OPEN))


def adjust(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    if units < 0:
        return _debit(wallet, request, -units, now)
    return _apply(wallet, request, units, now)


def pay_promo(state: MovementState, wallet: Wallet, request: MovementRequest, units: int, now: str) -> Decision:
    return _apply(wallet, request, units, now)


USE_CASES: dict[Action, Callable[[MovementState, Wallet, MovementRequest, int, str], Decision]] = {
    Action.DEPOSIT: deposit,
    Action.WITHDRAWAL: withdraw,
    Action.BET: place_bet,
    Action.WIN: settle_bet,
    Action.REFUND: cancel_bet,
    Action.ADJUSTMENT: adjust,
    Action.PROMO: pay_promo,
}


def _debit(wallet: Wallet, request: MovementRequest, units: int, now: str, bet: BetWrite | None = None) -> Decision:
    available = wallet.bonus if request.balance is Balance.BONUS else wallet.balance
    if units > available:
        return _reject(errors.InsufficientFunds(), wallet, request, now)
    return _apply(wallet, request, -units, now, bet)


def _apply(wallet: Wallet, request: MovementRequest, delta: int, now: str, bet: BetWrite | None = None) -> Movement:
    """The one place a balance changes: new wallet version, new entry chained to the last hash."""
    to_bonus = request.balance is Balance.BONUS
    before = wallet.bonus if to_bonus else wallet.balance
    after = before + delta
    balance_after, bonus_after = (wallet.balance, after) if to_bonus else (after, wallet.bonus)
    version = wallet.version + 1
    digest = entry_digest(
        wallet.last_hash,
        operator_id=wallet.operator_id,
        player_id=wallet.player_id,
        transaction_id=request.transaction_id,
        action=request.action.value,
        amount=delta,
        balance=request.balance.value,
        balance_before=before,
        balance_after=after,
        version=version,
        bet_id=request.bet_id,
        created_at=now,
        reason=request.reason,
        correlation_id=request.correlation_id,
    )
    new_wallet = replace(
        wallet,
        balance=balance_after,
        bonus=bonus_after,
        version=version,
        last_hash=digest,
        updated_at=now,
        recent=(*wallet.recent, recent_key(request.transaction_id, request.action))[-RECENT_KEPT:],
        since_withdrawal=_tally_after(wallet.since_withdrawal, request.action, delta),
    )
    entry = _entry(
        request,
        new_wallet,
        now,
        Outcome.APPLIED,
        amount=delta,
        balance_before=before,
        balance_after=after,
        previous_hash=wallet.last_hash,
        hash=digest,
        since_withdrawal=wallet.since_withdrawal if request.action is Action.WITHDRAWAL else None,
    )
    return Movement(new_wallet, entry, bet)


def _tally_after(since: SinceWithdrawal | None, action: Action, delta: int) -> SinceWithdrawal | None:
    """A wallet without a tally (stored before it was kept) gets one at its next withdrawal."""
    if since is None and action is not Action.WITHDRAWAL:
        return None
    return (since or SinceWithdrawal()).after(action, delta)


def _reject(
    error: errors.KassaError, wallet: Wallet, request: MovementRequest, now: str, bet: BetWrite | None = None
) -> Rejection:
    current = wallet.bonus if request.balance is Balance.BONUS else wallet.balance
    entry = _entry(
        request,
        wallet,
        now,
        Outcome.REJECTED,
        error_code=type(error).__name__,
        balance_before=current,
        balance_after=current,
    )
    return Rejection(error, wallet, entry, bet)


def _entry(request: MovementRequest, wallet: Wallet, now: str, outcome: Outcome, **fields: object) -> Entry:
    return Entry(
        transaction_id=request.transaction_id,
        action=request.action,
        outcome=outcome,
        fingerprint=request.fingerprint,
        created_at=now,
        correlation_id=request.correlation_id,
        balance=request.balance,
        bet_id=request.bet_id,
        reason=request.reason,
        wallet_balance=wallet.balance,
        wallet_bonus=wallet.bonus,
        version=wallet.version,
        wallet_status=wallet.status,
        origin=request.origin,
        **fields,
    )
