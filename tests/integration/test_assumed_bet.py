"""A bet's id is assumed unused, and a win's bet open, without reading the bet (the commit's condition
asserts it): every answer must be the one a full read would give, the first time and on every retry."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Api, new_id

CANCELLED_FIRST = "The bet was cancelled before it was placed; it can never be placed."


def test_a_cancel_before_the_bet_still_beats_insufficient_funds(api: Api) -> None:
    player = api.open_wallet()  # nothing on it: a bet would also fail for funds
    cancel = api.move(player, "refund", None, betId="early")
    assert cancel.json()["code"] == "bet_not_found"
    late_bet = {"transactionId": new_id("tx"), "betId": "early"}
    for _ in range(2):  # the answer, then its replay
        answer = api.move(player, "bet", "5", **late_bet).json()
        assert (answer["code"], answer["detail"]) == ("bet_already_settled", CANCELLED_FIRST), answer


def test_a_cancel_before_the_bet_is_found_when_the_bet_would_apply(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    api.move(player, "refund", None, betId="early")
    refused = api.move(player, "bet", "5", betId="early").json()
    assert (refused["code"], refused["detail"]) == ("bet_already_settled", CANCELLED_FIRST)
    assert Decimal(api.balance(player)) == 10


def test_a_reused_bet_id_on_a_locked_wallet_is_a_duplicate_not_a_lock(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    assert api.move(player, "bet", "1", betId="b1").status == 201
    api.post(f"/v1/wallets/{player}/lock")
    again = api.move(player, "bet", "1", betId="b1")  # a new transaction id, the same bet id
    assert again.json()["code"] == "bet_already_exists", again.body


def test_a_win_for_an_unknown_or_settled_bet_is_refused(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    assert api.move(player, "win", "3", betId="never").json()["code"] == "bet_not_found"
    api.move(player, "bet", "2", betId="b1")
    assert api.move(player, "win", "3", betId="b1").status == 201
    second = {"transactionId": new_id("tx"), "betId": "b1"}
    assert api.move(player, "win", "7", **second).json()["code"] == "bet_already_settled"
    assert api.move(player, "win", "7", **second).json()["code"] == "bet_already_settled"
    cancelled = api.move(player, "bet", "2", betId="b2")
    assert cancelled.status == 201
    api.move(player, "refund", None, betId="b2")
    assert api.move(player, "win", "3", betId="b2").json()["code"] == "bet_already_settled"
    assert Decimal(api.balance(player)) == 11  # 10 - 2 + 3 - 2 + 2
