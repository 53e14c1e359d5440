"""Money movements as pure decisions: every use case, its rejections, replays and the hash chain."""

from __future__ import annotations

import copy
import importlib
from dataclasses import replace
from decimal import Decimal

import pytest

from kassa import errors
from kassa.domain import hashchain
from kassa.domain.hashchain import entry_digest
from kassa.domain.model import (
    GENESIS_HASH,
    Action,
    Balance,
    Bet,
    BetState,
    Entry,
    Outcome,
    SinceWithdrawal,
    Wallet,
    WalletStatus,
)
from kassa.domain.movements import (
    BetWrite,
    Decision,
    Movement,
    MovementRequest,
    MovementState,
    Rejection,
    Replay,
    decide,
)
from tests.unit.ledger_fixtures import (
    CURRENCY,
    LATER,
    NOW,
    OPERATOR,
    PLAYER,
    bet_in,
    open_bet,
    recomputed_hash,
    request,
    units,
    verify_chain,
    wallet,
)


def run(
    owner: Wallet | None, req: MovementRequest, *, existing: Entry | None = None, bet: Bet | None = None, now: str = NOW
) -> Decision:
    state = MovementState(wallet=owner, existing=existing, bet=bet)
    before = copy.deepcopy(state)
    decision = decide(state, req, now=now)
    assert state == before, "decide must not change the state it was given"
    return decision


def applied(owner: Wallet, req: MovementRequest, **kwargs: object) -> Movement:
    decision = run(owner, req, **kwargs)  # type: ignore[arg-type]
    assert isinstance(decision, Movement), decision
    return decision


def rejected(owner: Wallet, req: MovementRequest, error: type[errors.KassaError], **kwargs: object) -> Rejection:
    decision = run(owner, req, **kwargs)  # type: ignore[arg-type]
    assert isinstance(decision, Rejection), decision
    assert type(decision.error) is error
    assert_rejection_changes_nothing(owner, req, decision)
    return decision


def assert_rejection_changes_nothing(owner: Wallet, req: MovementRequest, rejection: Rejection) -> None:
    assert rejection.wallet == owner
    entry = rejection.entry
    assert entry.outcome is Outcome.REJECTED and not entry.applied
    assert entry.error_code == type(rejection.error).__name__
    assert entry.transaction_id == req.transaction_id
    assert entry.action is req.action
    assert entry.fingerprint == req.fingerprint
    assert entry.amount == 0
    current = owner.bonus if req.balance is Balance.BONUS else owner.balance
    assert entry.balance_before == entry.balance_after == current
    assert (entry.wallet_balance, entry.wallet_bonus, entry.version) == (owner.balance, owner.bonus, owner.version)
    assert entry.wallet_status is owner.status
    assert entry.hash is None and entry.previous_hash is None


def assert_movement(owner: Wallet, req: MovementRequest, movement: Movement, *, delta: int, now: str = NOW) -> None:
    """One applied movement: balances, version, the entry's figures and its link in the hash chain."""
    new, entry = movement.wallet, movement.entry
    to_bonus = req.balance is Balance.BONUS
    before = owner.bonus if to_bonus else owner.balance
    assert new.version == owner.version + 1
    assert (new.balance, new.bonus) == (
        (owner.balance, owner.bonus + delta) if to_bonus else (owner.balance + delta, owner.bonus)
    )
    assert new.updated_at == now
    assert (new.operator_id, new.player_id, new.currency, new.scale, new.status, new.created_at) == (
        owner.operator_id,
        owner.player_id,
        owner.currency,
        owner.scale,
        owner.status,
        owner.created_at,
    )
    assert entry.outcome is Outcome.APPLIED and entry.applied and entry.error_code is None
    assert entry.transaction_id == req.transaction_id
    assert entry.action is req.action
    assert entry.amount == delta
    assert entry.balance is req.balance
    assert (entry.balance_before, entry.balance_after) == (before, before + delta)
    assert (entry.wallet_balance, entry.wallet_bonus) == (new.balance, new.bonus)
    assert entry.version == new.version
    assert entry.wallet_status is new.status
    assert entry.fingerprint == req.fingerprint
    assert entry.created_at == now
    assert entry.correlation_id == req.correlation_id
    assert (entry.bet_id, entry.reason) == (req.bet_id, req.reason)
    assert entry.previous_hash == owner.last_hash
    assert new.last_hash == entry.hash
    assert entry.hash == recomputed_hash(owner, entry, owner.last_hash)
    assert entry.hash != owner.last_hash


# --- what every movement shares --------------------------------------------------------------------


class TestEveryMovement:
    def test_a_missing_wallet_raises_wallet_not_found(self) -> None:
        with pytest.raises(errors.WalletNotFound):
            run(None, request("deposit", "10"))

    def test_a_missing_wallet_raises_even_for_a_known_transaction_id(self) -> None:
        existing = applied(wallet(), request("deposit", "10")).entry
        with pytest.raises(errors.WalletNotFound):
            run(None, request("deposit", "10"), existing=existing)

    def test_another_currency_raises_currency_mismatch(self) -> None:
        with pytest.raises(errors.CurrencyMismatch) as raised:
            run(wallet("10"), request("withdrawal", "1", currency="USD"))
        assert raised.value.code == "invalid_request"
        assert CURRENCY in raised.value.detail

    def test_the_wallets_currency_or_none_is_accepted(self) -> None:
        assert isinstance(run(wallet(), request("deposit", "1", currency=CURRENCY)), Movement)
        assert isinstance(run(wallet(), request("deposit", "1", currency=None)), Movement)

    @pytest.mark.parametrize("action", list(Action))
    @pytest.mark.parametrize("amount", ["1.0000001", "NaN", "Infinity", "-Infinity", "sNaN", "1000000000000.000001"])
    def test_an_invalid_amount_raises_invalid_amount_for_every_action(self, action: Action, amount: str) -> None:
        req = request(action, Decimal(amount), bet_id="bet-1", reason="why")
        with pytest.raises(errors.InvalidAmount):
            run(wallet("100"), req, bet=open_bet())

    @pytest.mark.parametrize("action", [a for a in Action if a is not Action.REFUND])
    def test_the_amount_is_required_except_for_a_refund(self, action: Action) -> None:
        with pytest.raises(errors.InvalidAmount):
            run(wallet("100"), request(action, None, bet_id="bet-1", reason="why"), bet=open_bet())

    @pytest.mark.parametrize(
        "action", [Action.DEPOSIT, Action.WITHDRAWAL, Action.BET, Action.WIN, Action.PROMO, Action.REFUND]
    )
    def test_a_negative_amount_raises_invalid_amount(self, action: Action) -> None:
        with pytest.raises(errors.InvalidAmount):
            run(wallet("100"), request(action, "-1", bet_id="bet-1"), bet=open_bet())

    @pytest.mark.parametrize("action", [Action.DEPOSIT, Action.WITHDRAWAL])
    @pytest.mark.parametrize("zero", ["0", "0.000000", "-0"])
    def test_a_zero_deposit_or_withdrawal_raises_invalid_amount(self, action: Action, zero: str) -> None:
        with pytest.raises(errors.InvalidAmount):
            run(wallet("100"), request(action, zero))

    @pytest.mark.parametrize("action", [Action.BET, Action.WIN, Action.REFUND])
    @pytest.mark.parametrize("bet_id", [None, ""])
    def test_bet_actions_require_a_bet_id(self, action: Action, bet_id: str | None) -> None:
        with pytest.raises(errors.InvalidRequest) as raised:
            run(wallet("100"), request(action, "1", bet_id=bet_id), bet=open_bet())
        assert "betId" in raised.value.detail

    @pytest.mark.parametrize("amount", ["10000000000.000000000000000001", "0.1000000000000000000000000000001"])
    def test_extra_decimals_are_refused_not_rounded_however_many_digits(self, amount: str) -> None:
        # "10000000000.000000000000000001" passes the native API's DecimalString pattern.
        with pytest.raises(errors.InvalidAmount):
            run(wallet(), request("deposit", amount))

    def test_a_rejected_request_is_decided_at_the_time_given(self) -> None:
        rejection = rejected(wallet(), request("withdrawal", "1"), errors.InsufficientFunds, now=LATER)
        assert rejection.entry.created_at == LATER

    def test_a_business_rejection_records_the_correlation_id(self) -> None:
        rejection = rejected(wallet(), request("withdrawal", "1", correlation_id="corr-9"), errors.InsufficientFunds)
        assert rejection.entry.correlation_id == "corr-9"


# --- deposit -----------------------------------------------------------------------------------------


class TestDeposit:
    def test_a_deposit_credits_the_balance(self) -> None:
        owner = wallet("10")
        req = request("deposit", "2.50", correlation_id="corr-1")
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=units("2.50"))
        assert movement.wallet.balance == units("12.50")
        assert movement.bet is None

    def test_tens_of_millions_with_six_decimals_are_exact(self) -> None:
        movement = applied(wallet(), request("deposit", "12345678.123456"))
        assert movement.wallet.balance == 12_345_678_123_456
        assert movement.entry.amount == 12_345_678_123_456

    def test_the_largest_amount_is_accepted(self) -> None:
        assert applied(wallet(), request("deposit", "1000000000000")).wallet.balance == 10**18

    def test_a_deposit_into_a_locked_wallet_is_applied(self) -> None:
        owner = wallet("1", locked=True)
        req = request("deposit", "5")
        assert_movement(owner, req, applied(owner, req), delta=units("5"))

    def test_trailing_zeros_beyond_the_scale_are_not_extra_decimals(self) -> None:
        assert applied(wallet(), request("deposit", "1.5000000")).entry.amount == units("1.5")


# --- withdrawal --------------------------------------------------------------------------------------


class TestWithdrawal:
    def test_a_withdrawal_debits_the_balance(self) -> None:
        owner = wallet("10", version=3, last_hash="a" * 64)
        req = request("withdrawal", "4.000001")
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=-units("4.000001"))
        assert movement.wallet.balance == units("5.999999")
        assert movement.entry.version == 4

    def test_the_whole_balance_can_be_withdrawn(self) -> None:
        assert applied(wallet("10"), request("withdrawal", "10")).wallet.balance == 0

    def test_one_unit_more_than_the_balance_is_insufficient_funds(self) -> None:
        rejected(wallet("10"), request("withdrawal", "10.000001"), errors.InsufficientFunds)

    def test_a_withdrawal_does_not_touch_the_bonus(self) -> None:
        rejected(wallet("0", bonus="50"), request("withdrawal", "1"), errors.InsufficientFunds)

    def test_a_locked_wallet_refuses_a_withdrawal(self) -> None:
        rejected(wallet("10", locked=True), request("withdrawal", "1"), errors.WalletLocked)

    def test_the_lock_is_checked_before_funds(self) -> None:
        rejected(wallet("0", locked=True), request("withdrawal", "1"), errors.WalletLocked)


# --- bet ---------------------------------------------------------------------------------------------


class TestBet:
    def test_a_bet_debits_and_opens_the_bet(self) -> None:
        owner = wallet("10")
        req = request("bet", "2.5", tx="tx-b", bet_id="bet-7")
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=-units("2.5"))
        assert movement.bet == BetWrite(Bet("bet-7", BetState.OPEN, units("2.5"), "tx-b", NOW), expected=None)

    def test_a_bet_needs_funds(self) -> None:
        rejection = rejected(wallet("2"), request("bet", "2.000001", bet_id="bet-1"), errors.InsufficientFunds)
        assert rejection.bet is None

    def test_a_locked_wallet_refuses_a_bet(self) -> None:
        rejection = rejected(wallet("10", locked=True), request("bet", "1", bet_id="bet-1"), errors.WalletLocked)
        assert rejection.bet is None

    def test_the_lock_is_checked_before_funds(self) -> None:
        rejected(wallet("0", locked=True), request("bet", "1", bet_id="bet-1"), errors.WalletLocked)

    @pytest.mark.parametrize("state", [BetState.OPEN, BetState.SETTLED, BetState.CANCELLED])
    def test_a_known_bet_id_raises_bet_already_exists(self, state: BetState) -> None:
        with pytest.raises(errors.BetAlreadyExists):
            run(wallet("10"), request("bet", "1", tx="tx-other", bet_id="bet-1"), bet=bet_in(state))

    @pytest.mark.parametrize("locked", [False, True])
    def test_a_duplicate_bet_id_is_found_before_funds_and_lock(self, locked: bool) -> None:
        with pytest.raises(errors.BetAlreadyExists):
            run(wallet("0", locked=locked), request("bet", "1", tx="tx-other", bet_id="bet-1"), bet=open_bet())

    def test_a_bet_cancelled_before_it_was_placed_is_refused(self) -> None:
        rejection = rejected(
            wallet("10"),
            request("bet", "1", bet_id="bet-1"),
            errors.BetCancelledBeforePlaced,
            bet=bet_in(BetState.TOMBSTONE),
        )
        assert rejection.bet is None
        assert isinstance(rejection.error, errors.BetAlreadySettled)

    @pytest.mark.parametrize("locked", [False, True])
    def test_the_tombstone_is_found_before_funds_and_lock(self, locked: bool) -> None:
        rejected(
            wallet("0", locked=locked),
            request("bet", "1", bet_id="bet-1"),
            errors.BetCancelledBeforePlaced,
            bet=bet_in(BetState.TOMBSTONE),
        )


# --- win ---------------------------------------------------------------------------------------------


class TestWin:
    def test_a_win_credits_and_settles_the_open_bet(self) -> None:
        owner = wallet("5")
        bet = open_bet("bet-1", amount="5")
        req = request("win", "20.123456", tx="tx-w", bet_id="bet-1")
        movement = applied(owner, req, bet=bet)
        assert_movement(owner, req, movement, delta=units("20.123456"))
        assert movement.bet == BetWrite(replace(bet, state=BetState.SETTLED, settled_by="tx-w"), expected=BetState.OPEN)

    def test_a_win_of_zero_settles_the_bet_without_moving_money(self) -> None:
        owner = wallet("5")
        req = request("win", "0", tx="tx-w", bet_id="bet-1")
        movement = applied(owner, req, bet=open_bet())
        assert_movement(owner, req, movement, delta=0)
        assert movement.bet is not None and movement.bet.bet.state is BetState.SETTLED

    def test_a_win_for_an_unknown_bet_raises_bet_not_found(self) -> None:
        with pytest.raises(errors.BetNotFound):
            run(wallet("5"), request("win", "1", bet_id="bet-unknown"))

    @pytest.mark.parametrize("state", [BetState.SETTLED, BetState.CANCELLED, BetState.TOMBSTONE])
    def test_a_bet_is_settled_only_once(self, state: BetState) -> None:
        rejection = rejected(
            wallet("5"), request("win", "1", tx="tx-w2", bet_id="bet-1"), errors.BetAlreadySettled, bet=bet_in(state)
        )
        assert rejection.bet is None

    def test_a_win_is_paid_into_a_locked_wallet(self) -> None:
        owner = wallet("0", locked=True)
        req = request("win", "3", bet_id="bet-1")
        assert_movement(owner, req, applied(owner, req, bet=open_bet()), delta=units("3"))


# --- refund ------------------------------------------------------------------------------------------


class TestRefund:
    @pytest.mark.parametrize("amount", [None, "0", "5", "999", "0.000001"])
    def test_a_refund_returns_the_stored_bet_amount_whatever_the_request_says(self, amount: str | None) -> None:
        owner = wallet("1")
        bet = open_bet("bet-1", amount="5.25")
        req = request("refund", amount, tx="tx-r", bet_id="bet-1")
        movement = applied(owner, req, bet=bet)
        assert_movement(owner, req, movement, delta=units("5.25"))
        assert movement.bet == BetWrite(
            replace(bet, state=BetState.CANCELLED, settled_by="tx-r"), expected=BetState.OPEN
        )

    def test_a_refund_of_an_unknown_bet_leaves_a_tombstone(self) -> None:
        rejection = rejected(wallet("1"), request("refund", "5", tx="tx-r", bet_id="bet-9"), errors.BetNotFound)
        assert rejection.bet == BetWrite(Bet("bet-9", BetState.TOMBSTONE, 0, "tx-r", NOW), expected=None)

    @pytest.mark.parametrize("state", [BetState.SETTLED, BetState.CANCELLED, BetState.TOMBSTONE])
    def test_a_settled_or_cancelled_bet_cannot_be_refunded(self, state: BetState) -> None:
        rejection = rejected(
            wallet("1"),
            request("refund", None, tx="tx-r2", bet_id="bet-1"),
            errors.BetAlreadySettled,
            bet=bet_in(state),
        )
        assert rejection.bet is None

    def test_a_refund_is_paid_into_a_locked_wallet(self) -> None:
        owner = wallet("0", locked=True)
        req = request("refund", None, bet_id="bet-1")
        assert_movement(owner, req, applied(owner, req, bet=open_bet(amount="5")), delta=units("5"))

    @pytest.mark.parametrize("amount", ["-5", "5.0000001"])
    def test_a_refund_amount_when_given_must_still_be_valid(self, amount: str) -> None:
        with pytest.raises(errors.InvalidAmount):
            run(wallet("1"), request("refund", amount, bet_id="bet-1"), bet=open_bet())


# --- adjustment --------------------------------------------------------------------------------------


class TestAdjustment:
    def test_a_positive_adjustment_credits(self) -> None:
        owner = wallet("1")
        req = request("adjustment", "4", reason="goodwill")
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=units("4"))
        assert movement.entry.reason == "goodwill"

    def test_a_negative_adjustment_debits(self) -> None:
        owner = wallet("10")
        req = request("adjustment", "-4.5", reason="chargeback")
        assert_movement(owner, req, applied(owner, req), delta=-units("4.5"))

    def test_an_adjustment_can_bring_the_balance_to_exactly_zero(self) -> None:
        assert applied(wallet("10"), request("adjustment", "-10", reason="close")).wallet.balance == 0

    def test_an_adjustment_cannot_drive_the_balance_below_zero(self) -> None:
        rejected(wallet("10"), request("adjustment", "-10.000001", reason="chargeback"), errors.InsufficientFunds)

    @pytest.mark.parametrize("zero", ["0", "-0", "0.000000"])
    def test_an_adjustment_must_not_be_zero(self, zero: str) -> None:
        with pytest.raises(errors.InvalidAmount):
            run(wallet("10"), request("adjustment", zero, reason="noop"))

    @pytest.mark.parametrize("reason", [None, ""])
    def test_an_adjustment_needs_a_reason(self, reason: str | None) -> None:
        with pytest.raises(errors.InvalidRequest) as raised:
            run(wallet("10"), request("adjustment", "1", reason=reason))
        assert "reason" in raised.value.detail

    def test_an_operator_adjustment_applies_to_a_locked_wallet(self) -> None:
        owner = wallet("10", locked=True)
        req = request("adjustment", "-3", reason="fee")
        assert_movement(owner, req, applied(owner, req), delta=-units("3"))


# --- promo -------------------------------------------------------------------------------------------


class TestPromo:
    def test_a_cash_promo_credits_the_balance(self) -> None:
        owner = wallet("1", bonus="2")
        req = request("promo", "3")
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=units("3"))
        assert (movement.wallet.balance, movement.wallet.bonus) == (units("4"), units("2"))

    def test_a_bonus_promo_credits_the_bonus_only(self) -> None:
        owner = wallet("1", bonus="2")
        req = request("promo", "3", balance=Balance.BONUS)
        movement = applied(owner, req)
        assert_movement(owner, req, movement, delta=units("3"))
        assert (movement.wallet.balance, movement.wallet.bonus) == (units("1"), units("5"))
        assert movement.entry.balance is Balance.BONUS
        assert (movement.entry.balance_before, movement.entry.balance_after) == (units("2"), units("5"))

    def test_the_moved_balance_is_part_of_the_hash(self) -> None:
        cash = applied(wallet(), request("promo", "3")).entry
        bonus = applied(wallet(), request("promo", "3", balance=Balance.BONUS)).entry
        assert cash.hash != bonus.hash


# --- replay and idempotency --------------------------------------------------------------------------


def first_decision(owner: Wallet, req: MovementRequest, bet: Bet | None = None) -> Movement | Rejection:
    decision = run(owner, req, bet=bet)
    assert isinstance(decision, Movement | Rejection)
    return decision


class TestReplay:
    @pytest.mark.parametrize(
        ("req", "bet"),
        [
            (request("deposit", "10"), None),
            (request("withdrawal", "1"), None),
            (request("bet", "1", bet_id="bet-1"), None),
            (request("win", "3", bet_id="bet-1"), open_bet()),
            (request("refund", "5", bet_id="bet-1"), open_bet()),
            (request("refund", None, bet_id="bet-x"), None),
            (request("adjustment", "-1", reason="fee"), None),
            (request("promo", "2", balance=Balance.BONUS), None),
        ],
    )
    def test_the_same_request_again_replays_the_stored_entry(self, req: MovementRequest, bet: Bet | None) -> None:
        owner = wallet("5")
        stored = first_decision(owner, req, bet).entry
        now_wallet = wallet("77", version=9, last_hash="f" * 64)
        replay = run(now_wallet, req, existing=stored, bet=bet, now=LATER)
        assert replay == Replay(stored, now_wallet)

    @pytest.mark.parametrize("spelling", ["10", "10.00", "1E+1", "10.000000"])
    def test_another_spelling_of_the_same_amount_is_the_same_payload(self, spelling: str) -> None:
        stored = first_decision(wallet(), request("deposit", "10")).entry
        assert isinstance(run(wallet(), request("deposit", spelling), existing=stored), Replay)

    def test_correlation_id_and_currency_are_not_part_of_the_payload(self) -> None:
        stored = first_decision(wallet(), request("deposit", "10", correlation_id="a")).entry
        retry = request("deposit", "10", correlation_id="b", currency=CURRENCY)
        assert isinstance(run(wallet(), retry, existing=stored), Replay)

    @pytest.mark.parametrize(
        ("original", "retry"),
        [
            (request("deposit", "10"), request("deposit", "10.000001")),
            (request("deposit", "10"), request("deposit", None)),
            (request("bet", "1", bet_id="bet-1"), request("bet", "1", bet_id="bet-2")),
            (request("win", "1", bet_id="bet-1"), request("win", "2", bet_id="bet-1")),
            (request("refund", None, bet_id="bet-1"), request("refund", None, bet_id="bet-2")),
            (request("adjustment", "1", reason="a"), request("adjustment", "1", reason="b")),
            (request("adjustment", "1", reason="a"), request("adjustment", "-1", reason="a")),
            (request("promo", "1"), request("promo", "1", balance=Balance.BONUS)),
        ],
    )
    def test_the_same_id_with_another_payload_raises_idempotency_conflict(
        self, original: MovementRequest, retry: MovementRequest
    ) -> None:
        bet = open_bet() if original.action in (Action.WIN, Action.REFUND) else None
        stored = first_decision(wallet("10"), original, bet).entry
        with pytest.raises(errors.IdempotencyConflict):
            run(wallet("10"), retry, existing=stored, bet=bet)

    def test_a_conflict_is_decided_before_the_amount_is_validated(self) -> None:
        stored = first_decision(wallet(), request("deposit", "10")).entry
        with pytest.raises(errors.IdempotencyConflict):
            run(wallet(), request("deposit", "10.0000001"), existing=stored)

    @pytest.mark.parametrize("retry_amount", [None, "0", "5", "123.456789"])
    def test_a_refund_replays_whatever_amount_the_retry_carries(self, retry_amount: str | None) -> None:
        stored = first_decision(wallet(), request("refund", "5", bet_id="bet-1"), open_bet()).entry
        retry = request("refund", retry_amount, bet_id="bet-1")
        assert run(wallet(), retry, existing=stored, bet=bet_in(BetState.CANCELLED)) == Replay(stored, wallet())

    def test_a_replay_is_not_decided_again_against_the_current_state(self) -> None:
        # The bet was applied once; now the wallet is locked, empty, and the bet exists: still a replay.
        req = request("bet", "5", bet_id="bet-1")
        stored = first_decision(wallet("5"), req).entry
        decision = run(wallet("0", locked=True), req, existing=stored, bet=open_bet(amount="5"))
        assert isinstance(decision, Replay) and decision.entry.applied

    def test_a_recorded_rejection_replays_as_the_same_rejection(self) -> None:
        req = request("withdrawal", "100")
        rejection = first_decision(wallet("1"), req)
        assert isinstance(rejection, Rejection)
        # Even if the funds are there now, the id keeps its answer.
        replay = run(wallet("1000"), req, existing=rejection.entry)
        assert isinstance(replay, Replay)
        assert not replay.entry.applied
        assert type(errors.from_name(replay.entry.error_code)) is errors.InsufficientFunds

    @pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
    def test_a_retry_with_a_non_finite_amount_is_a_conflict_not_a_crash(self, amount: str) -> None:
        stored = first_decision(wallet(), request("deposit", "10")).entry
        with pytest.raises(errors.IdempotencyConflict):
            run(wallet(), request("deposit", Decimal(amount)), existing=stored)

    def test_a_retry_with_another_currency_is_refused_before_it_replays(self) -> None:
        stored = first_decision(wallet(), request("deposit", "10")).entry
        with pytest.raises(errors.CurrencyMismatch):
            run(wallet(), request("deposit", "10", currency="USD"), existing=stored)

    def test_amounts_that_differ_past_28_significant_digits_are_different_payloads(self) -> None:
        # "1" and "1.0000000000000000000000000001" are different payloads: a conflict, never a replay.
        stored = first_decision(wallet(), request("deposit", "1")).entry
        with pytest.raises(errors.IdempotencyConflict):
            run(wallet(), request("deposit", "1.0000000000000000000000000001"), existing=stored)


class TestFingerprint:
    def test_the_fingerprint_ignores_transaction_id_correlation_id_and_currency(self) -> None:
        a = request("deposit", "10", tx="a", correlation_id="x", currency="EUR")
        b = request("deposit", "10.0", tx="b", correlation_id="y", currency=None)
        assert a.fingerprint == b.fingerprint

    def test_a_refunds_fingerprint_ignores_the_amount(self) -> None:
        assert request("refund", "1", bet_id="b").fingerprint == request("refund", None, bet_id="b").fingerprint

    @pytest.mark.parametrize(
        "other",
        [
            request("withdrawal", "10", bet_id="b", reason="r"),
            request("deposit", "11", bet_id="b", reason="r"),
            request("deposit", "10", bet_id="c", reason="r"),
            request("deposit", "10", bet_id="b", reason="s"),
            request("deposit", "10", bet_id="b", reason="r", balance=Balance.BONUS),
        ],
    )
    def test_the_fingerprint_covers_action_amount_bet_reason_and_balance(self, other: MovementRequest) -> None:
        assert request("deposit", "10", bet_id="b", reason="r").fingerprint != other.fingerprint

    def test_fields_cannot_be_shifted_into_one_another(self) -> None:
        assert (
            request("deposit", "1", bet_id="a", reason="").fingerprint
            != request("deposit", "1", bet_id="", reason="a").fingerprint
        )


# --- versions and the hash chain ---------------------------------------------------------------------


class TestHashChain:
    def test_a_sequence_of_movements_forms_a_verifiable_chain(self) -> None:
        owner = wallet()
        bets: dict[str, Bet] = {}
        entries: list[Entry] = []
        script = [
            request("deposit", "100", tx="t1"),
            request("bet", "10", tx="t2", bet_id="b1"),
            request("withdrawal", "1000", tx="t3"),  # rejected: not in the chain
            request("win", "25.5", tx="t4", bet_id="b1"),
            request("bet", "5", tx="t5", bet_id="b2"),
            request("refund", None, tx="t6", bet_id="b2"),
            request("adjustment", "-0.000001", tx="t7", reason="rounding"),
            request("promo", "7", tx="t8", balance=Balance.BONUS),
            request("withdrawal", "50", tx="t9"),
        ]
        for step, req in enumerate(script):
            now = f"2026-01-01T00:00:{step:02d}.000000Z"
            decision = run(owner, req, bet=bets.get(req.bet_id or ""), now=now)
            if isinstance(decision, Movement):
                assert decision.entry.previous_hash == owner.last_hash
                owner = decision.wallet
                entries.append(decision.entry)
                if decision.bet:
                    bets[decision.bet.bet.bet_id] = decision.bet.bet
            else:
                assert isinstance(decision, Rejection)
                assert decision.wallet.last_hash == owner.last_hash
        verify_chain(owner, entries)
        assert [e.version for e in entries] == list(range(1, 9))
        assert owner.balance == units("100") - units("10") + units("25.5") - units("0.000001") - units("50")
        assert owner.bonus == units("7")

    def test_the_first_entry_chains_to_the_genesis_hash(self) -> None:
        entry = applied(wallet(), request("deposit", "1")).entry
        assert entry.previous_hash == GENESIS_HASH == "0" * 64
        assert len(entry.hash or "") == 64

    def test_the_same_movement_at_another_time_has_another_hash(self) -> None:
        assert (
            applied(wallet(), request("deposit", "1"), now=NOW).entry.hash
            != applied(wallet(), request("deposit", "1"), now=LATER).entry.hash
        )

    def test_the_same_movement_is_hashed_deterministically(self) -> None:
        assert (
            applied(wallet(), request("deposit", "1")).entry.hash
            == applied(wallet(), request("deposit", "1")).entry.hash
        )


DIGEST_ARGS: dict[str, object] = dict(
    operator_id=OPERATOR,
    player_id=PLAYER,
    transaction_id="tx-1",
    action="bet",
    amount=-5_000_000,
    balance="cash",
    balance_before=10_000_000,
    balance_after=5_000_000,
    version=3,
    bet_id="bet-1",
    created_at=NOW,
    reason=None,
    correlation_id="corr-1",
)
CHANGED: dict[str, object] = dict(
    operator_id="op-2",
    player_id="player-2",
    transaction_id="tx-2",
    action="win",
    amount=5_000_000,
    balance="bonus",
    balance_before=10_000_001,
    balance_after=5_000_001,
    version=4,
    bet_id=None,
    created_at=LATER,
    reason="goodwill",
    correlation_id="corr-2",
)


class TestEntryDigest:
    @pytest.mark.parametrize("field", sorted(DIGEST_ARGS))
    def test_changing_any_field_changes_the_hash(self, field: str) -> None:
        original = entry_digest(GENESIS_HASH, **DIGEST_ARGS)
        changed = entry_digest(GENESIS_HASH, **{**DIGEST_ARGS, field: CHANGED[field]})
        assert changed != original

    def test_changing_the_previous_hash_changes_the_hash(self) -> None:
        assert entry_digest("a" * 64, **DIGEST_ARGS) != entry_digest("b" * 64, **DIGEST_ARGS)

    def test_recompute_gives_the_hash_of_an_applied_entry(self) -> None:
        owner = wallet("10", version=4, last_hash="c" * 64)
        entry = applied(owner, request("bet", "4", bet_id="bet-1")).entry
        assert hashchain.recompute(OPERATOR, PLAYER, entry) == entry.hash
        assert hashchain.recompute(OPERATOR, "player-2", entry) != entry.hash

    def test_the_digest_is_a_sha256_hex_string(self) -> None:
        digest = entry_digest(GENESIS_HASH, **DIGEST_ARGS)
        assert len(digest) == 64 and int(digest, 16) >= 0

    @pytest.mark.parametrize(
        "field",
        [
            "amount",
            "balance_before",
            "balance_after",
            "version",
            "bet_id",
            "transaction_id",
            "created_at",
            "balance",
            "action",
        ],
    )
    def test_changing_any_field_of_an_applied_entry_breaks_its_recomputed_hash(self, field: str) -> None:
        owner = wallet("10")
        entry = applied(owner, request("bet", "4", bet_id="bet-1")).entry
        tampered_values = {
            "amount": 1,
            "balance_before": 1,
            "balance_after": 1,
            "version": 99,
            "bet_id": "bet-x",
            "transaction_id": "tx-x",
            "created_at": LATER,
            "balance": Balance.BONUS,
            "action": Action.WIN,
        }
        tampered = replace(entry, **{field: tampered_values[field]})
        assert recomputed_hash(owner, tampered, entry.previous_hash or "") != entry.hash

    def test_a_separator_inside_a_field_cannot_forge_a_boundary(self) -> None:
        # hashchain.py: "Unit separator between fields: no field value can forge a boundary."
        one = entry_digest(GENESIS_HASH, **{**DIGEST_ARGS, "operator_id": "op\x1fplayer", "player_id": "1"})
        other = entry_digest(GENESIS_HASH, **{**DIGEST_ARGS, "operator_id": "op", "player_id": "player\x1f1"})
        assert one != other


# --- the model --------------------------------------------------------------------------------------


class TestModel:
    def test_a_wallet_is_locked_only_in_the_locked_status(self) -> None:
        assert wallet(locked=True).locked and wallet(locked=True).status is WalletStatus.LOCKED
        assert not wallet().locked

    def test_an_entry_is_applied_only_with_the_applied_outcome(self) -> None:
        entry = applied(wallet(), request("deposit", "1")).entry
        assert entry.applied
        assert not replace(entry, outcome=Outcome.REJECTED).applied

    def test_model_values_are_immutable(self) -> None:
        with pytest.raises(AttributeError):
            wallet().balance = 5
        with pytest.raises(AttributeError):
            open_bet().state = BetState.SETTLED

    def test_enum_values_are_the_stored_strings(self) -> None:
        assert [a.value for a in Action] == ["deposit", "withdrawal", "bet", "win", "refund", "adjustment", "promo"]
        assert [s.value for s in BetState] == ["open", "settled", "cancelled", "tombstone"]
        assert {b.value for b in Balance} == {"cash", "bonus"}


# --- errors -----------------------------------------------------------------------------------------


def all_error_classes() -> list[type[errors.KassaError]]:
    # Error classes live beside the code that raises them; import every such module so the walk
    # finds the same classes whichever tests ran before this one.
    for module in ("kassa.domain.sessions", "kassa.onewallet.tokens", "kassa.store.access_store"):
        importlib.import_module(module)
    found: list[type[errors.KassaError]] = []
    pending = [errors.KassaError]
    while pending:
        cls = pending.pop()
        if cls.__module__.split(".")[0] == "kassa":  # not the stand-ins tests derive from them
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


EXPECTED_CODES = {
    "KassaError": "error",
    "InvalidRequest": "invalid_request",
    "InvalidAmount": "invalid_request",
    "CurrencyMismatch": "invalid_request",
    "WalletNotFound": "wallet_not_found",
    "WalletExists": "wallet_exists",
    "TransactionNotFound": "transaction_not_found",
    "BetNotFound": "bet_not_found",
    "SessionNotFound": "session_not_found",
    "RunNotFound": "run_not_found",
    "KeyNotFound": "key_not_found",
    "StoreRefused": "store_refused",
    "InsufficientFunds": "insufficient_funds",
    "WalletLocked": "wallet_locked",
    "BetAlreadySettled": "bet_already_settled",
    "BetCancelledBeforePlaced": "bet_already_settled",
    "BetAlreadyExists": "bet_already_exists",
    "IdempotencyConflict": "idempotency_conflict",
    "Forbidden": "forbidden",
    "ScopeEscalation": "scope_escalation",
    "AnomalyNotFound": "anomaly_not_found",
    "TemporarilyUnavailable": "temporarily_unavailable",
    "SessionOfAnotherPlayer": "invalid_request",
    "SessionInvalid": "session_invalid",
    "InvalidToken": "invalid_token",
    "OperatorExists": "operator_exists",
}


class TestErrors:
    @pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
    def test_from_name_round_trips_every_error_class(self, cls: type[errors.KassaError]) -> None:
        rebuilt = errors.from_name(cls.__name__)
        assert type(rebuilt) is cls
        assert rebuilt.code == cls.code

    @pytest.mark.parametrize("name", [None, "", "NoSuchError", "ValueError", "insufficient_funds"])
    def test_an_unknown_name_rebuilds_the_generic_error(self, name: str | None) -> None:
        assert type(errors.from_name(name)) is errors.KassaError

    def test_every_error_class_has_its_stable_code(self) -> None:
        assert {cls.__name__: cls.code for cls in all_error_classes()} == EXPECTED_CODES

    @pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
    def test_every_error_has_a_default_detail_and_no_wallet(self, cls: type[errors.KassaError]) -> None:
        error = cls()
        assert error.detail and str(error) == error.detail
        assert error.wallet is None

    def test_a_given_detail_is_kept(self) -> None:
        assert errors.InsufficientFunds("only 3 EUR").detail == "only 3 EUR"

    def test_a_recorded_rejection_names_a_class_from_name_rebuilds(self) -> None:
        for req, bet, cls in [
            (request("withdrawal", "1"), None, errors.InsufficientFunds),
            (request("refund", None, bet_id="b"), None, errors.BetNotFound),
            (request("bet", "1", bet_id="b"), bet_in(BetState.TOMBSTONE, "b"), errors.BetCancelledBeforePlaced),
            (request("win", "1", bet_id="b"), bet_in(BetState.SETTLED, "b"), errors.BetAlreadySettled),
        ]:
            rejection = run(wallet(), req, bet=bet)
            assert isinstance(rejection, Rejection)
            assert type(errors.from_name(rejection.entry.error_code)) is cls
        locked = run(wallet("1", locked=True), request("withdrawal", "1"))
        assert isinstance(locked, Rejection)
        assert type(errors.from_name(locked.entry.error_code)) is errors.WalletLocked


def test_an_applied_movement_is_named_among_the_wallets_recent_ids_and_a_refusal_is_not() -> None:
    from kassa.domain.movements import RECENT_KEPT, recent_key

    owner = wallet("100")
    for i in range(RECENT_KEPT + 3):
        owner = applied(owner, request(Action.DEPOSIT, "1", tx=f"d-{i}")).wallet
    assert owner.recent == tuple(recent_key(f"d-{i}", Action.DEPOSIT) for i in range(3, RECENT_KEPT + 3))
    refusal = rejected(owner, request(Action.WITHDRAWAL, "1000", tx="w"), errors.InsufficientFunds)
    assert refusal.wallet.recent == owner.recent  # a refusal writes no wallet
    # The key is the (transaction id, action) pair an entry is stored under, not the id alone.
    assert recent_key("t", Action.BET) != recent_key("t", Action.WIN)


def test_the_wallet_tallies_deposits_and_stakes_since_its_last_withdrawal_and_a_withdrawal_carries_them() -> None:
    owner = replace(wallet("0"), since_withdrawal=SinceWithdrawal())
    owner = applied(owner, request(Action.DEPOSIT, "100", tx="d1")).wallet
    owner = applied(owner, request(Action.BET, "7.5", tx="b1", bet_id="g1")).wallet
    owner = applied(owner, request(Action.WIN, "30", tx="w1", bet_id="g1"), bet=open_bet("g1", "7.5", "b1")).wallet
    owner = applied(owner, request(Action.BET, "2", tx="b2", bet_id="g2")).wallet
    owner = applied(owner, request(Action.REFUND, None, tx="r2", bet_id="g2"), bet=open_bet("g2", "2", "b2")).wallet
    owner = applied(owner, request(Action.ADJUSTMENT, "-1", tx="a1", reason="fix")).wallet
    owner = applied(owner, request(Action.PROMO, "5", tx="p1")).wallet
    # What the walk back to the previous withdrawal sums: deposits, and stakes (a refunded one too).
    assert owner.since_withdrawal == SinceWithdrawal(units("100"), units("9.5"))
    refused = rejected(owner, request(Action.WITHDRAWAL, "1000", tx="x"), errors.InsufficientFunds)
    assert refused.entry.since_withdrawal is None  # a refusal is no withdrawal and writes no wallet

    withdrawal = applied(owner, request(Action.WITHDRAWAL, "10", tx="wd"))
    assert withdrawal.entry.since_withdrawal == SinceWithdrawal(units("100"), units("9.5"))
    assert withdrawal.wallet.since_withdrawal == SinceWithdrawal()
    deposit = applied(withdrawal.wallet, request(Action.DEPOSIT, "1", tx="d2"))
    assert deposit.entry.since_withdrawal is None  # only a withdrawal's entry carries the tally
    assert deposit.wallet.since_withdrawal == SinceWithdrawal(units("1"), 0)


def test_a_wallet_stored_before_the_tally_starts_one_at_its_next_withdrawal() -> None:
    owner = applied(wallet("0"), request(Action.DEPOSIT, "50", tx="d1")).wallet
    assert owner.since_withdrawal is None  # not known: the deposits before it were never counted
    withdrawal = applied(owner, request(Action.WITHDRAWAL, "50", tx="wd"))
    assert withdrawal.entry.since_withdrawal is None  # the rule reads the history instead
    assert withdrawal.wallet.since_withdrawal == SinceWithdrawal()
