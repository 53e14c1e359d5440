"""An adversarial auditor in the spirit of TigerBeetle's simulator and Blnk's invariant fuzzer.

Hypothesis generates sequences of requests (every action, amounts from zero to MAX_AMOUNT with up to 6
places, a few invalid ones, bet ids and transaction ids from small pools so that duplicates, replays and
conflicts happen, lock and unlock in between). An in-memory ledger plays the store: it hands ``decide``
the state the store would read (wallet, the entry under (transaction id, action), the bet) and applies
what comes back. An independent oracle predicts every answer before ``decide`` gives it, and after
every step the ledger's invariants are checked.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from kassa import errors
from kassa.domain.model import Action, Balance, Bet, BetState, Entry, Outcome, Wallet, WalletStatus
from kassa.domain.movements import Movement, MovementRequest, MovementState, Rejection, Replay, decide
from tests.unit.ledger_fixtures import CURRENCY, verify_chain, wallet

MAX_UNITS = 10**18  # MAX_AMOUNT in units of 10**-6
BET_ACTIONS = {Action.BET, Action.WIN, Action.REFUND}

# --- the oracle: what decide must answer, derived from the rules, not from the code ---------------------


@dataclass(frozen=True)
class Raises:
    error: type[errors.KassaError]


@dataclass(frozen=True)
class Replays:
    pass


@dataclass(frozen=True)
class Rejects:
    error: type[errors.KassaError]
    tombstone: bool = False


@dataclass(frozen=True)
class Applies:
    delta: int


Expectation = Raises | Replays | Rejects | Applies


def exact_units(amount: Decimal) -> int | None:
    """The amount in units if it is a valid amount, by exact rational arithmetic; None if it is not."""
    if not amount.is_finite():
        return None
    scaled = Fraction(amount) * 10**6
    if abs(scaled) > MAX_UNITS or scaled.denominator != 1:
        return None
    return int(scaled)


def same_payload(original: MovementRequest, retry: MovementRequest) -> bool:
    if (original.bet_id or "", original.reason or "", original.balance) != (
        retry.bet_id or "",
        retry.reason or "",
        retry.balance,
    ):
        return False
    if original.action is Action.REFUND:
        return True  # a refund refunds the stored bet amount: its amount is not part of the payload
    if original.amount is None or retry.amount is None:
        return original.amount is retry.amount
    return retry.amount.is_finite() and Fraction(original.amount) == Fraction(retry.amount)


class Snapshot(NamedTuple):
    wallet: Wallet
    entries: dict[tuple[str, Action], Entry]
    bets: dict[str, Bet]
    applied: list[Entry]
    flows: Counter[Action]
    settlements: Counter[str]


# --- the in-memory store -----------------------------------------------------------------------------------


@dataclass
class Ledger:
    wallet: Wallet = field(default_factory=wallet)
    entries: dict[tuple[str, Action], Entry] = field(default_factory=dict)
    requests: dict[tuple[str, Action], MovementRequest] = field(default_factory=dict)
    recorded_errors: dict[tuple[str, Action], type[errors.KassaError]] = field(default_factory=dict)
    bets: dict[str, Bet] = field(default_factory=dict)
    applied: list[Entry] = field(default_factory=list)
    # Money that moved, per action, as the oracle predicted it (positive numbers; adjustments signed).
    flows: Counter[Action] = field(default_factory=Counter)
    settlements: Counter[str] = field(default_factory=Counter)
    clock: int = 0

    def now(self) -> str:
        self.clock += 1
        minutes, micros = divmod(self.clock, 1_000_000)
        return f"2026-01-01T00:{minutes:02d}:00.{micros:06d}Z"

    def state_for(self, request: MovementRequest) -> MovementState:
        # What the store's one consistent read returns for this request.
        return MovementState(
            wallet=self.wallet,
            existing=self.entries.get((request.transaction_id, request.action)),
            bet=self.bets.get(request.bet_id) if request.bet_id else None,
        )

    def snapshot(self) -> Snapshot:
        return copy.deepcopy(Snapshot(self.wallet, self.entries, self.bets, self.applied, self.flows, self.settlements))

    def expect(self, request: MovementRequest) -> Expectation:
        owner = self.wallet
        if request.currency is not None and request.currency != owner.currency:
            return Raises(errors.CurrencyMismatch)
        key = (request.transaction_id, request.action)
        if key in self.requests:
            return Replays() if same_payload(self.requests[key], request) else Raises(errors.IdempotencyConflict)
        if request.action in BET_ACTIONS and not request.bet_id:
            return Raises(errors.InvalidRequest)
        if request.action is Action.ADJUSTMENT and not request.reason:
            return Raises(errors.InvalidRequest)
        if request.amount is None:
            if request.action is not Action.REFUND:
                return Raises(errors.InvalidAmount)
            units = 0
        else:
            found = exact_units(request.amount)
            if found is None:
                return Raises(errors.InvalidAmount)
            units = found
        if request.action is Action.ADJUSTMENT:
            if units == 0:
                return Raises(errors.InvalidAmount)
        elif units < 0 or (units == 0 and request.action in (Action.DEPOSIT, Action.WITHDRAWAL)):
            return Raises(errors.InvalidAmount)

        available = owner.bonus if request.balance is Balance.BONUS else owner.balance
        bet = self.bets.get(request.bet_id or "")
        match request.action:
            case Action.DEPOSIT | Action.PROMO:
                return Applies(units)
            case Action.ADJUSTMENT:
                return Rejects(errors.InsufficientFunds) if -units > available else Applies(units)
            case Action.WITHDRAWAL:
                if owner.locked:
                    return Rejects(errors.WalletLocked)
                return Rejects(errors.InsufficientFunds) if units > available else Applies(-units)
            case Action.BET:
                if bet is not None and bet.state is BetState.TOMBSTONE:
                    return Rejects(errors.BetCancelledBeforePlaced)
                if bet is not None:
                    return Raises(errors.BetAlreadyExists)
                if owner.locked:
                    return Rejects(errors.WalletLocked)
                return Rejects(errors.InsufficientFunds) if units > available else Applies(-units)
            case Action.WIN:
                if bet is None:
                    return Raises(errors.BetNotFound)
                return Rejects(errors.BetAlreadySettled) if bet.state is not BetState.OPEN else Applies(units)
            case Action.REFUND:
                if bet is None:
                    return Rejects(errors.BetNotFound, tombstone=True)
                return Rejects(errors.BetAlreadySettled) if bet.state is not BetState.OPEN else Applies(bet.amount)
        raise AssertionError(f"unknown action {request.action}")

    # --- applying what decide answered, checking it against the oracle on the way ---

    def submit(self, request: MovementRequest) -> None:
        expected = self.expect(request)
        before = self.snapshot()
        state = self.state_for(request)
        now = self.now()
        try:
            decision = decide(state, request, now=now)
        except errors.KassaError as raised:
            assert expected == Raises(type(raised)), f"{request}: expected {expected}, raised {raised!r}"
            assert self.snapshot() == before, "a raised request must leave the state byte-identical"
            # Deterministic: asked again on the same state, the same error.
            try:
                decide(state, request, now=now)
            except errors.KassaError as again:
                assert type(again) is type(raised)
            else:
                raise AssertionError("the same state and request decided differently") from None
            return
        key = (request.transaction_id, request.action)
        match decision:
            case Replay():
                assert expected == Replays(), f"{request}: expected {expected}, got a replay"
                assert decision.entry == self.entries[key]
                assert decision.wallet == self.wallet
            case Rejection():
                assert expected == Rejects(type(decision.error), tombstone=decision.bet is not None), (
                    f"{request}: expected {expected}, rejected with {decision.error!r}"
                )
                self._record_rejection(request, decision, before)
            case Movement():
                assert expected == Applies(decision.entry.amount), (
                    f"{request}: expected {expected}, applied {decision.entry.amount}"
                )
                self._record_movement(request, decision)
            case _:
                raise AssertionError(f"unexpected decision {decision!r}")
        if isinstance(decision, Replay):
            assert self.snapshot() == before, "a replay must change nothing"

    def _record_rejection(self, request: MovementRequest, rejection: Rejection, before: Snapshot) -> None:
        entry = rejection.entry
        assert rejection.wallet == self.wallet, "a rejection must leave the wallet byte-identical"
        assert entry.outcome is Outcome.REJECTED and entry.amount == 0 and entry.hash is None
        assert entry.version == self.wallet.version
        assert entry.error_code == type(rejection.error).__name__
        key = (request.transaction_id, request.action)
        assert key not in self.entries
        self.entries[key] = entry
        self.requests[key] = request
        self.recorded_errors[key] = type(rejection.error)
        if rejection.bet is not None:
            write = rejection.bet
            assert write.expected is None and write.bet.bet_id not in self.bets
            assert write.bet.state is BetState.TOMBSTONE and write.bet.amount == 0
            self.bets[write.bet.bet_id] = write.bet
        assert (self.wallet, self.applied, self.flows) == (before.wallet, before.applied, before.flows)
        changed_bets = {bet_id for bet_id in self.bets if before.bets.get(bet_id) != self.bets[bet_id]}
        assert changed_bets <= ({rejection.bet.bet.bet_id} if rejection.bet else set())

    def _record_movement(self, request: MovementRequest, movement: Movement) -> None:
        entry, key = movement.entry, (request.transaction_id, request.action)
        assert key not in self.entries
        assert entry.previous_hash == self.wallet.last_hash
        assert movement.wallet.last_hash == entry.hash
        assert movement.wallet.version == self.wallet.version + 1 == entry.version
        if movement.bet is not None:
            write = movement.bet
            current = self.bets.get(write.bet.bet_id)
            # The condition the store writes with must hold against what it read.
            assert write.expected == (current.state if current else None)
            if request.action is Action.BET:
                assert current is None and write.bet.state is BetState.OPEN
                assert write.bet.amount == -entry.amount
            else:
                assert current is not None and current.state is BetState.OPEN
                assert write.bet.state is (BetState.SETTLED if request.action is Action.WIN else BetState.CANCELLED)
                assert write.bet.settled_by == request.transaction_id
                assert (write.bet.amount, write.bet.transaction_id) == (current.amount, current.transaction_id)
                self.settlements[write.bet.bet_id] += 1
            self.bets[write.bet.bet_id] = write.bet
        else:
            assert request.action not in BET_ACTIONS
        self.wallet = movement.wallet
        self.entries[key] = entry
        self.requests[key] = request
        self.applied.append(entry)
        self.flows[request.action] += entry.amount if request.action is Action.ADJUSTMENT else abs(entry.amount)

    def set_locked(self, locked: bool) -> None:
        # An operator locks or unlocks the wallet: a status change, not a movement.
        self.wallet = replace(self.wallet, status=WalletStatus.LOCKED if locked else WalletStatus.ACTIVE)

    # --- the auditor ---

    def check_invariants(self) -> None:
        owner = self.wallet
        assert owner.balance >= 0, f"balance below zero: {owner.balance}"
        assert owner.bonus >= 0, f"bonus below zero: {owner.bonus}"
        assert owner.balance == sum(e.amount for e in self.applied if e.balance is Balance.CASH)
        assert owner.bonus == sum(e.amount for e in self.applied if e.balance is Balance.BONUS)
        verify_chain(owner, self.applied)
        for entry in self.applied:
            assert entry.balance_after == entry.balance_before + entry.amount
            assert entry.balance_after >= 0
        # Each bet settled at most once, and its state says so.
        assert all(count <= 1 for count in self.settlements.values()), self.settlements
        for bet_id, bet in self.bets.items():
            settled = self.settlements[bet_id] == 1
            assert (bet.state in (BetState.SETTLED, BetState.CANCELLED)) == settled
        # Conservation: every unit in the wallet came in through a movement and is accounted for.
        flows = self.flows
        assert (
            flows[Action.DEPOSIT]
            - flows[Action.WITHDRAWAL]
            - flows[Action.BET]
            + flows[Action.WIN]
            + flows[Action.REFUND]
            + flows[Action.ADJUSTMENT]
            + flows[Action.PROMO]
        ) == owner.balance + owner.bonus
        # Every recorded id keeps its key.
        for (transaction_id, action), entry in self.entries.items():
            assert (entry.transaction_id, entry.action) == (transaction_id, action)

    def check_every_recorded_request_replays(self) -> None:
        before = self.snapshot()
        for key, original in self.requests.items():
            decision = decide(self.state_for(original), original, now=self.now())
            assert isinstance(decision, Replay), f"{original} did not replay: {decision!r}"
            assert decision.entry == self.entries[key]
            assert decision.wallet == self.wallet
            if not decision.entry.applied:
                # The store re-raises the recorded error: the same class as the first answer.
                assert type(errors.from_name(decision.entry.error_code)) is self.recorded_errors[key]
        assert self.snapshot() == before


# --- strategies -----------------------------------------------------------------------------------------


def scaled(units: int, places: int) -> Decimal:
    """``units`` (of 10**-6) as a Decimal written with ``places`` fractional digits (cut to that precision)."""
    step = 10 ** (6 - places)
    return Decimal(units - units % step).scaleb(-6).quantize(Decimal(1).scaleb(-places))


# Mostly everyday amounts (0 to 100 with 0 to 6 places), some up to MAX_AMOUNT, some zeros.
small_amounts = st.builds(scaled, st.integers(10**6, 100 * 10**6), st.integers(0, 6))
large_amounts = st.builds(scaled, st.integers(0, MAX_UNITS), st.integers(0, 6))
zero_amounts = st.sampled_from([Decimal("0"), Decimal("0.000000"), Decimal("-0"), Decimal("0E+2")])
invalid_amounts = st.sampled_from(
    [
        Decimal("1.0000001"),
        Decimal("0.0000001"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1000000000000.000001"),
        Decimal("1E+13"),
    ]
)
# Repeats weight the choice: hypothesis draws each branch of one_of alike.
valid_amounts = st.one_of(*[small_amounts] * 8, large_amounts, zero_amounts)
ACTIONS = [
    Action.DEPOSIT,
    Action.DEPOSIT,
    Action.DEPOSIT,
    Action.WITHDRAWAL,
    Action.BET,
    Action.BET,
    Action.BET,
    Action.WIN,
    Action.WIN,
    Action.REFUND,
    Action.REFUND,
    Action.ADJUSTMENT,
    Action.PROMO,
]


@st.composite
def requests(draw: st.DrawFn) -> MovementRequest:
    action = draw(st.sampled_from(ACTIONS))
    amount = draw(valid_amounts)
    if action is Action.ADJUSTMENT and draw(st.booleans()):
        amount = -amount
    if action is Action.REFUND and draw(st.booleans()):
        amount = None
    # Now and then a request that must be refused before anything is decided.
    rarely = st.integers(0, 14).map(lambda n: n == 0)
    if draw(rarely):
        amount = draw(st.one_of(invalid_amounts, valid_amounts.map(lambda value: -value), st.none()))
    return MovementRequest(
        action=action,
        transaction_id=draw(st.sampled_from([f"t{n}" for n in range(8)])),
        amount=amount,
        bet_id=None if draw(rarely) else draw(st.sampled_from(["b0", "b1", "b2", "b3"])),
        reason=None if draw(rarely) else draw(st.sampled_from(["goodwill", "fee"])),
        currency="USD" if draw(rarely) else draw(st.sampled_from([None, CURRENCY])),
        balance=Balance.BONUS if draw(st.integers(0, 4)) == 0 else Balance.CASH,
        correlation_id=draw(st.sampled_from(["", "corr-1"])),
    )


@dataclass(frozen=True)
class Retry:
    """Send an earlier request again, verbatim (a refund with another amount: still the same payload)."""

    index: int
    refund_amount: Decimal | None


@dataclass(frozen=True)
class Lock:
    locked: bool


# Lock first: a failing sequence shrinks towards Lock(False) padding, a no-op that is easy to read past.
operations = st.one_of(
    st.builds(Lock, st.booleans()),
    requests(),
    requests(),
    requests(),
    requests(),
    requests(),
    requests(),
    st.builds(Retry, st.integers(0, 1000), st.one_of(st.none(), small_amounts)),
)


def run_operations(ops: list[MovementRequest | Retry | Lock]) -> Ledger:
    ledger = Ledger()
    sent: list[MovementRequest] = []
    for op in ops:
        if isinstance(op, Lock):
            ledger.set_locked(op.locked)
            continue
        if isinstance(op, Retry):
            if not sent:
                continue
            request = sent[op.index % len(sent)]
            if request.action is Action.REFUND:
                request = replace(request, amount=op.refund_amount)
            was_recorded = (request.transaction_id, request.action) in ledger.entries
            before = ledger.snapshot()
            ledger.submit(request)
            if was_recorded:
                assert ledger.snapshot() == before, "a replay must never change the state"
        else:
            sent.append(op)
            ledger.submit(op)
        ledger.check_invariants()
    ledger.check_every_recorded_request_replays()
    return ledger


@settings(max_examples=200, deadline=None)
@given(st.lists(operations, min_size=10, max_size=60))
def test_random_request_sequences_keep_every_ledger_invariant(ops: list[MovementRequest | Retry | Lock]) -> None:
    run_operations(ops)


# A narrower game: valid cash amounts only, one transaction id per request, so most requests apply and
# long chains of bets, wins and refunds build up.
@st.composite
def game_requests(draw: st.DrawFn) -> MovementRequest:
    action = draw(
        st.sampled_from(
            [
                Action.DEPOSIT,
                Action.BET,
                Action.BET,
                Action.WIN,
                Action.REFUND,
                Action.WITHDRAWAL,
                Action.ADJUSTMENT,
                Action.PROMO,
            ]
        )
    )
    amount = draw(small_amounts)
    if action is Action.ADJUSTMENT and draw(st.booleans()):
        amount = -amount
    return MovementRequest(
        action=action,
        transaction_id="",  # numbered below: every request is a new transaction
        amount=amount,
        bet_id=draw(st.sampled_from([f"b{n}" for n in range(8)])),
        reason="ops",
        balance=draw(st.sampled_from([Balance.CASH, Balance.CASH, Balance.BONUS])),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(game_requests(), min_size=10, max_size=60))
def test_long_games_of_bets_wins_and_refunds_balance_to_the_cent(game: list[MovementRequest]) -> None:
    numbered = [replace(request, transaction_id=f"t{n}") for n, request in enumerate(game)]
    ledger = run_operations(numbered)
    # Every id was new, so every request was decided: applied or recorded as a rejection, or raised.
    assert len(ledger.entries) <= len(numbered)
