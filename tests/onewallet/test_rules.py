"""The numbered rules of ONEWALLET.md, each over real HTTP. Every test asserts the status, the balance
and bonus answered, and that nothing else changed: the ledger holds exactly the expected applied
entries (types, amounts, betIds, oldest first) and the wallet version is their count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import new_id
from tests.onewallet.conftest import (
    MONEY_METHODS,
    PROMO_TYPES,
    D,
    OneWalletClient,
    assert_ledger,
    expect,
)

DEPOSIT = ("deposit", 100, None)

# -- rule 1: the idempotency key is (operator, userId, action, transaction.id) -----------------------


def test_rule_01_cancel_reusing_the_debit_id_is_a_different_action(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("tx-1", "r1", "10")), "OK", balance="90")
    expect(ow.call("cancel", player.tx("tx-1", "r1", "10")), "OK", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT, ("bet", 10, "r1"), ("refund", 10, "r1")])


def test_rule_01_credit_and_promo_reusing_the_debit_id_are_different_actions(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("tx-1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("tx-1", "r1", "30")), "OK", balance="120")
    expect(ow.call("promo_payout", player.promo("tx-1", "5")), "OK", balance="125")
    assert_ledger(ledger(player), 125, [DEPOSIT, ("bet", 10, "r1"), ("win", 30, "r1"), ("promo", 5, None)])


def test_rule_01_the_same_transaction_id_for_another_user_or_operator_is_a_new_action(
    ow: OneWalletClient, players: Any, ledger: Any, other_operator: Any
) -> None:
    alice, bob = players(), players()
    other = other_operator()
    # Same player id at another operator: the operator is part of the key.
    alice_elsewhere = players(api=other.api, operator_id=other.operator_id)
    for player, client in ((alice, ow), (bob, ow), (alice_elsewhere, other.ow)):
        expect(client.call("debit", player.tx("shared-id", "shared-ref", "10")), "OK", balance="90")
        expect(client.call("promo_payout", player.promo("shared-promo", "1")), "OK", balance="91")
    for player in (alice, bob, alice_elsewhere):
        assert_ledger(ledger(player), 91, [DEPOSIT, ("bet", 10, "shared-ref"), ("promo", 1, None)])


# -- rule 2: a bet is settled exactly once ------------------------------------------------------------


def test_rule_02_second_credit_or_cancel_of_a_credited_bet_is_already_settled(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("c1", "r1", "15")), "OK", balance="105")
    for method, tx_id, amount in [
        ("credit", "c1", "15"),  # same id
        ("credit", "c1", "99"),  # same id, another amount
        ("credit", "c2", "15"),  # new id
        ("cancel", "d1", "10"),  # the debit's id
        ("cancel", "x1", "10"),  # new id
    ]:
        expect(ow.call(method, player.tx(tx_id, "r1", amount)), "BET_ALREADY_SETTLED", balance="105")
    assert_ledger(ledger(player), 105, [DEPOSIT, ("bet", 10, "r1"), ("win", 15, "r1")])


def test_rule_02_second_credit_or_cancel_of_a_cancelled_bet_is_already_settled(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("cancel", player.tx("d1", "r1", "10")), "OK", balance="100")
    for method, tx_id in [("cancel", "d1"), ("cancel", "x2"), ("credit", "c1"), ("credit", "d1")]:
        expect(ow.call(method, player.tx(tx_id, "r1", "10")), "BET_ALREADY_SETTLED", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT, ("bet", 10, "r1"), ("refund", 10, "r1")])


def test_rule_02_a_zero_credit_settles_the_bet(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("c1", "r1", 0)), "OK", balance="90")
    expect(ow.call("credit", player.tx("c2", "r1", "50")), "BET_ALREADY_SETTLED", balance="90")
    expect(ow.call("cancel", player.tx("d1", "r1", "10")), "BET_ALREADY_SETTLED", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r1"), ("win", 0, "r1")])


# -- rule 3: a duplicate debit is BET_ALREADY_EXIST, checked before the funds -------------------------


def test_rule_03_duplicate_debit_same_id_or_same_ref_any_amount_is_bet_already_exist(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    for tx_id, ref, amount in [
        ("d1", "r1", "10"),  # exact replay
        ("d1", "r1", "55"),  # same id, another amount
        ("d2", "r1", "10"),  # new id, the bet exists under that refId
        ("d3", "r1", "0.5"),  # new id, another amount
        ("d1", "r-other", "10"),  # same id names another bet: still the same debit
    ]:
        expect(ow.call("debit", player.tx(tx_id, ref, amount)), "BET_ALREADY_EXIST", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r1")])
    # The refused duplicates left nothing behind: "r-other" is still a free bet id.
    expect(ow.call("debit", player.tx("d4", "r-other", "1")), "OK", balance="89")


def test_rule_03_replayed_successful_debit_on_an_empty_wallet_is_bet_already_exist_not_insufficient_funds(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players(deposit="10")
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="0")
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "BET_ALREADY_EXIST", balance="0")
    expect(ow.call("debit", player.tx("d1", "r1", "500")), "BET_ALREADY_EXIST", balance="0")
    expect(ow.call("debit", player.tx("d2", "r1", "10")), "BET_ALREADY_EXIST", balance="0")
    assert_ledger(ledger(player), 0, [("deposit", 10, None), ("bet", 10, "r1")])


def test_rule_03_duplicate_of_a_settled_bet_is_still_bet_already_exist(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("c1", "r1", "20")), "OK", balance="110")
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "BET_ALREADY_EXIST", balance="110")
    expect(ow.call("debit", player.tx("d9", "r1", "10")), "BET_ALREADY_EXIST", balance="110")
    assert_ledger(ledger(player), 110, [DEPOSIT, ("bet", 10, "r1"), ("win", 20, "r1")])


# -- rule 4: cancel refunds the stored amount ---------------------------------------------------------


@pytest.mark.parametrize("cancel_amount", ["999", "3", 0, "12.345678"])
def test_rule_04_cancel_refunds_the_stored_bet_amount_not_the_requested_one(
    ow: OneWalletClient, players: Any, ledger: Any, cancel_amount: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10.25")), "OK", balance="89.75")
    expect(ow.call("cancel", player.tx("d1", "r1", cancel_amount)), "OK", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT, ("bet", "10.25", "r1"), ("refund", "10.25", "r1")])


# -- rule 5: cancel of an unknown refId is remembered ------------------------------------------------


def test_rule_05_cancel_of_unknown_ref_then_its_debit_is_final_error_and_charges_nothing(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("cancel", player.tx("d1", "r1", "10")), "BET_DOES_NOT_EXIST", balance="100")
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "FINAL_ERROR_ACTION_FAILED", balance="100")
    # Retried, or sent under another id: still refused, still nothing charged.
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "FINAL_ERROR_ACTION_FAILED", balance="100")
    expect(ow.call("debit", player.tx("d2", "r1", "10")), "FINAL_ERROR_ACTION_FAILED", balance="100")
    # The cancel's retry finds its own answer.
    expect(ow.call("cancel", player.tx("d1", "r1", "10")), "BET_DOES_NOT_EXIST", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT])
    # Other bets are untouched by the tombstone.
    expect(ow.call("debit", player.tx("d3", "r2", "10")), "OK", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r2")])


def test_rule_05_the_tombstone_survives_a_new_session(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("cancel", player.tx("x1", "r1", "5")), "BET_DOES_NOT_EXIST", balance="100")
    player.new_session()
    expect(ow.call("debit", player.tx("d1", "r1", "5")), "FINAL_ERROR_ACTION_FAILED", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT])


# -- rule 6: credit of an unknown refId --------------------------------------------------------------


def test_rule_06_credit_of_unknown_ref_is_bet_does_not_exist_and_pays_nothing(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("credit", player.tx("c1", "r1", "50")), "BET_DOES_NOT_EXIST", balance="100")
    expect(ow.call("credit", player.tx("c1", "r1", "50")), "BET_DOES_NOT_EXIST", balance="100")
    expect(ow.call("credit", player.tx("c2", "r-other", 0)), "BET_DOES_NOT_EXIST", balance="100")
    assert_ledger(ledger(player), 100, [DEPOSIT])
    # Nothing was remembered: the bet can still be placed, and the credit then pays.
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("c1", "r1", "50")), "OK", balance="140")
    assert_ledger(ledger(player), 140, [DEPOSIT, ("bet", 10, "r1"), ("win", 50, "r1")])


# -- rule 7: bets are independent --------------------------------------------------------------------


def test_rule_07_many_open_bets_in_parallel_rounds_settle_in_any_order(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players(deposit="1000")
    tables = [
        {"id": f"game-{table}-{round_}", "type": "roulette", "details": {"table": {"id": f"t{table}", "vid": None}}}
        for table in range(3)
        for round_ in range(2)
    ]
    history: list[tuple[str, Any, str | None]] = [("deposit", 1000, None)]
    balance = D(1000)
    bets = []
    for index, game in enumerate(tables):
        for seat in range(2):  # two open bets in one round of one table
            ref = f"{game['id']}-bet{seat}"
            amount = D(index * 2 + seat + 1)
            balance -= amount
            expect(ow.call("debit", player.tx(f"d-{ref}", ref, amount, game=game)), "OK", balance=balance)
            history.append(("bet", amount, ref))
            bets.append((ref, amount, game))
    # The player comes back later on another session; settlements arrive out of order, mixed.
    player.new_session()
    order = [7, 0, 11, 3, 5, 1, 10, 2, 9, 4, 8, 6]
    for step, index in enumerate(order):
        ref, amount, game = bets[index]
        if step % 3 == 0:
            balance += amount
            expect(ow.call("cancel", player.tx(f"d-{ref}", ref, amount, game=game)), "OK", balance=balance)
            history.append(("refund", amount, ref))
        else:
            win = amount * 2 if step % 2 else D(0)
            balance += win
            expect(ow.call("credit", player.tx(f"c-{ref}", ref, win, game=game)), "OK", balance=balance)
            history.append(("win", win, ref))
        if step == 5:  # a new bet while others are still open
            balance -= 1
            expect(ow.call("debit", player.tx("d-late", "late", 1)), "OK", balance=balance)
            history.append(("bet", 1, "late"))
    expect(ow.call("balance", player.body()), "OK", balance=balance)
    assert_ledger(ledger(player), balance, history)


# -- rule 8: who needs a live session ----------------------------------------------------------------

DEAD = ["replaced", "deleted", "expired", "unknown"]


@pytest.mark.parametrize("how", DEAD)
@pytest.mark.parametrize("method", ["check", "balance", "debit"])
def test_rule_08_check_balance_and_debit_need_a_live_sid(
    ow: OneWalletClient, players: Any, ledger: Any, method: str, how: str
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d0", "r0", "10")), "OK", balance="90")
    player.kill_session(how)
    body = player.tx("d1", "r1", "10") if method == "debit" else player.body()
    expect(ow.call(method, body), "INVALID_SID", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r0")])


@pytest.mark.parametrize("how", DEAD)
def test_rule_08_credit_cancel_and_promo_settle_with_a_dead_sid(
    ow: OneWalletClient, players: Any, ledger: Any, how: str
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("debit", player.tx("d2", "r2", "20")), "OK", balance="70")
    player.kill_session(how)
    expect(ow.call("credit", player.tx("c1", "r1", "30")), "OK", balance="100")
    expect(ow.call("cancel", player.tx("d2", "r2", "20")), "OK", balance="120")
    expect(ow.call("promo_payout", player.promo("p1", "5")), "OK", balance="125")
    assert_ledger(
        ledger(player),
        125,
        [DEPOSIT, ("bet", 10, "r1"), ("bet", 20, "r2"), ("win", 30, "r1"), ("refund", 20, "r2"), ("promo", 5, None)],
    )


def test_rule_08_a_live_sid_works_until_replaced(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("check", player.body()), "OK")
    old = player.sid
    new = player.new_session()
    expect(ow.call("check", player.body(sid=old)), "INVALID_SID", balance="100")
    expect(ow.call("check", player.body(sid=new)), "OK")
    expect(ow.call("debit", player.tx("d1", "r1", "1", sid=new)), "OK", balance="99")
    assert_ledger(ledger(player), 99, [DEPOSIT, ("bet", 1, "r1")])


# -- rule 9: sid issues a new session and ends the previous ones -------------------------------------


def test_rule_09_sid_issues_a_new_session_and_ends_the_previous_one(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    first = player.sid
    second = ow.call("sid", player.body(sid=""))
    expect(second, "OK")
    third = ow.call("sid", player.body(sid=""))
    expect(third, "OK")
    assert len({first, second["sid"], third["sid"]}) == 3
    for dead in (first, second["sid"]):
        expect(ow.call("balance", player.body(sid=dead)), "INVALID_SID", balance="100")
        expect(ow.call("debit", player.tx("d1", "r1", "1", sid=dead)), "INVALID_SID", balance="100")
    reply = ow.call("check", player.body(sid=third["sid"]))
    expect(reply, "OK")
    assert reply["sid"] == third["sid"]
    expect(ow.call("debit", player.tx("d1", "r1", "1", sid=third["sid"])), "OK", balance="99")
    assert_ledger(ledger(player), 99, [DEPOSIT, ("bet", 1, "r1")])


def test_rule_09_sid_of_one_player_leaves_other_players_sessions_alone(ow: OneWalletClient, players: Any) -> None:
    alice, bob = players(), players()
    expect(ow.call("sid", alice.body(sid="")), "OK")
    expect(ow.call("balance", bob.body()), "OK", balance="100")


# -- rule 10: userId and currency --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["check", "balance", "debit"])
def test_rule_10_user_id_not_matching_the_session_player_is_invalid_parameter(
    ow: OneWalletClient, players: Any, ledger: Any, method: str
) -> None:
    alice, bob = players(), players(deposit="50")
    body = alice.tx("d1", "r1", "10", userId=bob.id) if method == "debit" else alice.body(userId=bob.id)
    expect(ow.call(method, body), "INVALID_PARAMETER")
    assert_ledger(ledger(alice), 100, [DEPOSIT])
    assert_ledger(ledger(bob), 50, [("deposit", 50, None)])
    # Both sessions are still live.
    expect(ow.call("balance", alice.body()), "OK", balance="100")
    expect(ow.call("balance", bob.body()), "OK", balance="50")


def _body_for(method: str, player: Any, **fields: Any) -> dict[str, Any]:
    if method in ("debit", "credit", "cancel"):
        ref = "r-open" if method != "debit" else "r-new"
        return player.tx(f"{method}-1", ref, "10", **fields)
    if method == "promo_payout":
        return player.promo("promo-1", "10", **fields)
    if method == "sid":
        return player.body(sid="", **fields)
    return player.body(**fields)


@pytest.mark.parametrize("method", ["check", "sid", "balance", "debit", "credit", "cancel", "promo_payout"])
def test_rule_10_unknown_user_id_is_invalid_parameter(
    ow: OneWalletClient, players: Any, ledger: Any, method: str
) -> None:
    """check/balance/debit carry a live sid (of another player): the only sid an unknown user can show."""
    player = players()
    expect(ow.call("debit", player.tx("d0", "r-open", "10")), "OK", balance="90")
    expect(ow.call(method, _body_for(method, player, userId=new_id("nobody"))), "INVALID_PARAMETER")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r-open")])
    expect(ow.call("balance", player.body()), "OK", balance="90")


@pytest.mark.parametrize("method", ["check", "sid", "balance", "debit", "credit", "cancel", "promo_payout"])
def test_rule_10_wrong_currency_is_invalid_parameter(
    ow: OneWalletClient, players: Any, ledger: Any, method: str
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d0", "r-open", "10")), "OK", balance="90")
    reply = ow.call(method, _body_for(method, player, currency="USD"))
    expect(reply, "INVALID_PARAMETER", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r-open")])
    # Nothing changed: the session is still the live one, the bet still open.
    expect(ow.call("balance", player.body()), "OK", balance="90")
    expect(ow.call("credit", player.tx("c-ok", "r-open", "1")), "OK", balance="91")


# -- rule 11: a locked account ------------------------------------------------------------------------


def test_rule_11_locked_account_refuses_debit_but_credit_cancel_and_promo_apply(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("debit", player.tx("d2", "r2", "20")), "OK", balance="70")
    assert player.api.post(f"/v1/wallets/{player.id}/lock").status == 200
    expect(ow.call("debit", player.tx("d3", "r3", "5")), "ACCOUNT_LOCKED", balance="70")
    expect(ow.call("credit", player.tx("c1", "r1", "40")), "OK", balance="110")
    expect(ow.call("cancel", player.tx("d2", "r2", "20")), "OK", balance="130")
    expect(ow.call("promo_payout", player.promo("p1", "2.5")), "OK", balance="132.5")
    history = [
        DEPOSIT,
        ("bet", 10, "r1"),
        ("bet", 20, "r2"),
        ("win", 40, "r1"),
        ("refund", 20, "r2"),
        ("promo", "2.5", None),
    ]
    assert_ledger(ledger(player), "132.5", history, status="locked")
    assert player.api.post(f"/v1/wallets/{player.id}/unlock").status == 200
    expect(ow.call("debit", player.tx("d4", "r3", "5")), "OK", balance="127.5")
    assert_ledger(ledger(player), "127.5", [*history, ("bet", 5, "r3")])


# -- rule 12: promo payouts ---------------------------------------------------------------------------


def test_rule_12_promo_payout_is_idempotent_on_the_promo_id(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("promo_payout", player.promo("promo-1", "5")), "OK", balance="105")
    expect(ow.call("promo_payout", player.promo("promo-1", "5")), "BET_ALREADY_SETTLED", balance="105")
    expect(ow.call("promo_payout", player.promo("promo-1", "50")), "BET_ALREADY_SETTLED", balance="105")
    expect(ow.call("promo_payout", player.promo("promo-1", "5", "JackpotWin")), "BET_ALREADY_SETTLED", balance="105")
    expect(ow.call("promo_payout", player.promo("promo-2", "5")), "OK", balance="110")
    assert_ledger(ledger(player), 110, [DEPOSIT, ("promo", 5, None), ("promo", 5, None)])


@pytest.mark.parametrize(
    "promo_type",
    [*PROMO_TYPES, "SomeFuturePromoType", ""],
)
def test_rule_12_every_promo_type_is_paid_known_or_not(
    ow: OneWalletClient, players: Any, ledger: Any, promo_type: str
) -> None:
    player = players()
    expect(ow.call("promo_payout", player.promo("promo-1", "3.25", promo_type)), "OK", balance="103.25")
    assert_ledger(ledger(player), "103.25", [DEPOSIT, ("promo", "3.25", None)])


def test_rule_12_promo_money_goes_to_bonus_when_the_operator_says_so(
    players: Any, ledger: Any, other_operator: Any
) -> None:
    operator = other_operator(promo_balance="bonus")
    player = players(api=operator.api, operator_id=operator.operator_id)
    expect(operator.ow.call("promo_payout", player.promo("promo-1", "7.5")), "OK", balance="100", bonus="7.5")
    expect(
        operator.ow.call("promo_payout", player.promo("promo-1", "7.5")),
        "BET_ALREADY_SETTLED",
        balance="100",
        bonus="7.5",
    )
    expect(operator.ow.call("balance", player.body()), "OK", balance="100", bonus="7.5")
    expect(operator.ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90", bonus="7.5")
    now = ledger(player)
    assert_ledger(now, 90, [DEPOSIT, ("promo", "7.5", None), ("bet", 10, "r1")], bonus="7.5")
    assert [entry["balance"] for entry in now.entries] == ["cash", "bonus", "cash"]


def test_rule_12_promo_money_goes_to_cash_by_default(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("promo_payout", player.promo("promo-1", "7.5")), "OK", balance="107.5", bonus=0)
    now = ledger(player)
    assert_ledger(now, "107.5", [DEPOSIT, ("promo", "7.5", None)])
    assert now.entries[-1]["balance"] == "cash"


# -- rule 13: a retry finds the committed outcome ----------------------------------------------------


def test_rule_13_replays_after_commit_find_the_committed_outcome(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    debit = player.tx("d1", "r1", "10")
    expect(ow.call("debit", debit), "OK", balance="90")
    expect(ow.call("debit", {**debit, "uuid": "retry-1"}), "BET_ALREADY_EXIST", balance="90")
    credit = player.tx("c1", "r1", "25")
    expect(ow.call("credit", credit), "OK", balance="115")
    expect(ow.call("credit", {**credit, "uuid": "retry-2"}), "BET_ALREADY_SETTLED", balance="115")
    expect(ow.call("debit", player.tx("d2", "r2", "5")), "OK", balance="110")
    cancel = player.tx("d2", "r2", "5")
    expect(ow.call("cancel", cancel), "OK", balance="115")
    expect(ow.call("cancel", {**cancel, "uuid": "retry-3"}), "BET_ALREADY_SETTLED", balance="115")
    promo = player.promo("p1", "1")
    expect(ow.call("promo_payout", promo), "OK", balance="116")
    expect(ow.call("promo_payout", {**promo, "uuid": "retry-4"}), "BET_ALREADY_SETTLED", balance="116")
    assert_ledger(
        ledger(player),
        116,
        [DEPOSIT, ("bet", 10, "r1"), ("win", 25, "r1"), ("bet", 5, "r2"), ("refund", 5, "r2"), ("promo", 1, None)],
    )


def test_rule_13_a_replayed_debit_after_a_lock_finds_the_committed_bet(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    debit = player.tx("d1", "r1", "10")
    expect(ow.call("debit", debit), "OK", balance="90")
    assert player.api.post(f"/v1/wallets/{player.id}/lock").status == 200
    expect(ow.call("debit", {**debit, "uuid": new_id("retry")}), "BET_ALREADY_EXIST", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r1")], status="locked")


@pytest.mark.parametrize("how", ["replaced", "expired"])
def test_rule_13_a_replayed_debit_after_the_session_ended_finds_the_committed_bet(
    ow: OneWalletClient, players: Any, ledger: Any, how: str
) -> None:
    """The debit committed but its answer was lost; the player's session then ended (a new game
    window, a timeout) before the provider's retry. Rules 3 and 13: the retry is a duplicate and must
    find the committed bet (BET_ALREADY_EXIST, a success for the provider), as it does after a lock or
    on an empty wallet, not INVALID_SID (which tells the provider the bet was not placed)."""
    player = players()
    debit = player.tx("d1", "r1", "10")
    expect(ow.call("debit", debit), "OK", balance="90")
    player.kill_session(how)
    expect(ow.call("debit", {**debit, "uuid": new_id("retry")}), "BET_ALREADY_EXIST", balance="90")
    assert_ledger(ledger(player), 90, [DEPOSIT, ("bet", 10, "r1")])


@pytest.mark.parametrize("retry", ["a new id under the same refId", "the same id, 16 movements later"])
def test_rule_03_a_duplicate_debit_after_the_session_ended_is_still_bet_already_exist(
    ow: OneWalletClient, players: Any, ledger: Any, retry: str
) -> None:
    """A first attempt assumes the bet and the entry absent (docs/decisions.md 33); the ended session makes
    admission refuse before any commit could check that, so the ledger must be read before the answer:
    the duplicate is a duplicate before anything else, not INVALID_SID."""
    from kassa.domain.movements import RECENT_KEPT

    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    later = RECENT_KEPT if retry.startswith("the same id") else 0
    for i in range(later):  # the debit drops out of the wallet's recent ids
        assert player.api.move(player.id, "deposit", "1", transactionId=f"later-{i}").status == 201
    player.kill_session("expired")
    body = player.tx("d1" if later else "d2", "r1", "10")
    expect(ow.call("debit", {**body, "uuid": new_id("retry")}), "BET_ALREADY_EXIST", balance=str(90 + later))
    assert_ledger(ledger(player), 90 + later, [DEPOSIT, ("bet", 10, "r1"), *[("deposit", 1, None)] * later])


def test_rule_13_a_refused_debit_replays_as_the_same_refusal(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="10")
    expect(ow.call("debit", player.tx("d1", "r1", "50")), "INSUFFICIENT_FUNDS", balance="10")
    expect(ow.call("debit", player.tx("d1", "r1", "50")), "INSUFFICIENT_FUNDS", balance="10")
    assert_ledger(ledger(player), 10, [("deposit", 10, None)])


@pytest.mark.parametrize("method", MONEY_METHODS)
def test_rule_13_replays_never_answer_temporary_or_unknown_error(
    ow: OneWalletClient, players: Any, method: str
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d0", "r-open", "10")), "OK", balance="90")
    body = _body_for(method, player)
    first = ow.call(method, body)
    assert first["status"] == "OK"
    for _ in range(3):
        again = ow.call(method, {**body, "uuid": new_id("retry")})
        assert again["status"] not in ("TEMPORARY_ERROR", "UNKNOWN_ERROR")
        assert again["status"] in ("BET_ALREADY_EXIST", "BET_ALREADY_SETTLED")
        assert again["balance"] == first["balance"]


# -- rule 13 with a lost DynamoDB response (in process: the handler's client is disturbed) ----------


class LostWriteResponses:
    """The next ``times`` TransactWriteItems reach DynamoDB (and commit, or are refused), but their
    responses are lost on the way back: botocore sees a read timeout, as after a network fault."""

    def __init__(self, times: int) -> None:
        self.left = times
        self.lost = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from botocore.exceptions import ReadTimeoutError

        from kassa.store.client import dynamodb

        session = dynamodb()._endpoint.http_session
        real_send = session.send

        def send(request: Any) -> Any:
            response = real_send(request)
            target = request.headers.get("X-Amz-Target") or b""
            target = target.decode() if isinstance(target, bytes) else target
            if target.endswith(".TransactWriteItems") and self.left > 0:
                self.left -= 1
                self.lost += 1
                raise ReadTimeoutError(endpoint_url=request.url)
            return response

        monkeypatch.setattr(session, "send", send)


SUCCESS = {"debit": {"OK", "BET_ALREADY_EXIST"}, "credit": {"OK", "BET_ALREADY_SETTLED"}}


@pytest.mark.parametrize("method", ["debit", "credit"])
def test_rule_13_a_commit_whose_response_was_lost_is_answered_as_committed(
    inproc: Any, players: Any, ledger: Any, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The write commits, its response is lost once; botocore retries it and the retry is refused
    (the write already happened). The answer must be the committed outcome (a success), not an error."""
    player = players()
    expect(inproc.call("debit", player.tx("d0", "r0", "10")), "OK", balance="90")
    body = player.tx("d1", "r1", "10") if method == "debit" else player.tx("c1", "r0", "15")
    after = "80" if method == "debit" else "105"
    lost = LostWriteResponses(times=1)
    lost.install(monkeypatch)
    reply = inproc.call(method, body)
    monkeypatch.undo()
    assert lost.lost == 1
    assert reply["status"] in SUCCESS[method], reply
    expect(reply, reply["status"], balance=after)
    history = [DEPOSIT, ("bet", 10, "r0"), ("bet", 10, "r1") if method == "debit" else ("win", 15, "r0")]
    assert_ledger(ledger(player), after, history)


@pytest.mark.parametrize("method", ["debit", "credit"])
def test_rule_13_a_commit_whose_every_response_was_lost_is_not_answered_unknown_error(
    inproc: Any, players: Any, ledger: Any, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The write commits, and the responses of it and of botocore's retries are all lost (botocore gives
    up with a read timeout). DynamoDB can still be read: the adapter must find out what was committed
    rather than answer TEMPORARY_ERROR/UNKNOWN_ERROR for a committed action; the retry finds it too."""
    player = players()
    expect(inproc.call("debit", player.tx("d0", "r0", "10")), "OK", balance="90")
    body = player.tx("d1", "r1", "10") if method == "debit" else player.tx("c1", "r0", "15")
    after = "80" if method == "debit" else "105"
    lost = LostWriteResponses(times=10)
    lost.install(monkeypatch)
    reply = inproc.call(method, body)
    monkeypatch.undo()
    history = [DEPOSIT, ("bet", 10, "r0"), ("bet", 10, "r1") if method == "debit" else ("win", 15, "r0")]
    assert_ledger(ledger(player), after, history)  # it was committed, exactly once
    retry = inproc.call(method, {**body, "uuid": new_id("retry")})
    expect(retry, "BET_ALREADY_EXIST" if method == "debit" else "BET_ALREADY_SETTLED", balance=after)
    assert reply["status"] not in ("TEMPORARY_ERROR", "UNKNOWN_ERROR"), reply
    assert reply["status"] in SUCCESS[method], reply
