"""Every One Wallet method's happy path over real HTTP, and the tolerant request format (ONEWALLET.md,
"Requests"): unknown fields anywhere are ignored, ``game`` may be null or have a null id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.onewallet.conftest import GAME, D, OneWalletClient, expect, new_uuid


def test_check_answers_ok_with_the_sid_and_changes_nothing(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    before = ledger(player)
    reply = ow.call("check", player.body(channel={"type": "P"}))
    expect(reply, "OK")
    assert reply["sid"] == player.sid
    assert ledger(player) == before


def test_sid_issues_a_new_working_session(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    before = ledger(player)
    reply = ow.call("sid", player.body(sid="", channel={"type": "P"}))
    expect(reply, "OK")
    assert isinstance(reply["sid"], str) and reply["sid"] and reply["sid"] != player.sid
    expect(ow.call("balance", player.body(sid=reply["sid"])), "OK", balance="100")
    assert ledger(player) == before


def test_balance_answers_cash_and_bonus(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="123.45")
    before = ledger(player)
    reply = ow.call("balance", player.body())
    expect(reply, "OK", balance="123.45", bonus=0)
    assert set(reply) - {"_text"} == {"status", "balance", "bonus", "uuid"}
    assert ledger(player) == before


def test_debit_places_a_bet(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10.5")), "OK", balance="89.5")
    after = ledger(player)
    assert after.history == [("deposit", D(100), None), ("bet", D("10.5"), "r1")]
    assert after.version == 2 and after.balance == D("89.5") and after.bonus == 0


def test_credit_settles_a_bet_with_a_win(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", player.tx("c1", "r1", "25.25")), "OK", balance="115.25")
    after = ledger(player)
    assert after.history == [("deposit", D(100), None), ("bet", D(10), "r1"), ("win", D("25.25"), "r1")]
    assert after.version == 3


def test_cancel_refunds_a_bet(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("cancel", player.tx("d1", "r1", "10")), "OK", balance="100")
    after = ledger(player)
    assert after.history == [("deposit", D(100), None), ("bet", D(10), "r1"), ("refund", D(10), "r1")]
    assert after.version == 3


def test_promo_payout_pays_into_cash(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    reply = ow.call("promo_payout", player.promo("p1", "7.5", "JackpotWin"))
    expect(reply, "OK", balance="107.5", bonus=0)
    after = ledger(player)
    assert after.history == [("deposit", D(100), None), ("promo", D("7.5"), None)]
    assert after.version == 2 and after.bonus == 0


def test_a_full_round_bet_then_win_then_balance(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="50")
    expect(ow.call("check", player.body(channel={"type": "P"})), "OK")
    expect(ow.call("balance", player.body()), "OK", balance="50")
    expect(ow.call("debit", player.tx("bet-1", "round-1", "5")), "OK", balance="45")
    expect(ow.call("credit", player.tx("win-1", "round-1", "0")), "OK", balance="45")
    expect(ow.call("balance", player.body()), "OK", balance="45")
    assert ledger(player).history == [("deposit", D(50), None), ("bet", D(5), "round-1"), ("win", D(0), "round-1")]


# -- tolerant reading --------------------------------------------------------------------------------

UNKNOWN = {"someNewField": {"nested": [1, 2.5, None]}, "another": "x", "flag": True}


@pytest.mark.parametrize("game", [None, {"id": None, "type": "slots", "details": None}, {"id": None}, GAME])
def test_game_may_be_null_or_have_a_null_id(ow: OneWalletClient, players: Any, ledger: Any, game: Any) -> None:
    player = players()
    expect(ow.call("check", player.body(game=game, channel={"type": "M"})), "OK")
    expect(ow.call("balance", player.body(game=game)), "OK", balance="100")
    expect(ow.call("debit", player.tx("d1", "r1", "1", game=game)), "OK", balance="99")
    expect(ow.call("credit", player.tx("c1", "r1", "2", game=game)), "OK", balance="101")
    expect(ow.call("debit", player.tx("d2", "r2", "1", game=game)), "OK", balance="100")
    expect(ow.call("cancel", player.tx("d2", "r2", "1", game=game)), "OK", balance="101")
    expect(ow.call("promo_payout", player.promo("p1", "1", game=game)), "OK", balance="102")
    new_sid = ow.call("sid", player.body(sid="", game=game))
    expect(new_sid, "OK")
    after = ledger(player)
    assert after.version == 6 and after.balance == 102


def test_unknown_fields_are_ignored_at_top_level_and_inside_transaction_and_promo(
    ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()

    def tx(tx_id: str, ref: str, amount: str) -> dict[str, Any]:
        transaction = {"id": tx_id, "refId": ref, "amount": D(amount), **UNKNOWN, "jackpotContribution": D("0.01")}
        return player.body(transaction=transaction, **UNKNOWN)

    expect(ow.call("check", player.body(channel={"type": "P", "extra": 1}, **UNKNOWN)), "OK")
    expect(ow.call("balance", player.body(**UNKNOWN)), "OK", balance="100")
    expect(ow.call("debit", tx("d1", "r1", "10")), "OK", balance="90")
    expect(ow.call("credit", tx("c1", "r1", "20")), "OK", balance="110")
    expect(ow.call("debit", tx("d2", "r2", "10")), "OK", balance="100")
    expect(ow.call("cancel", tx("d2", "r2", "10")), "OK", balance="110")
    promo = {
        "id": "p1",
        "amount": D("5"),
        "type": "RtrMonetaryReward",
        "voucherId": "v-1",
        "remainingRounds": 0,
        **UNKNOWN,
    }
    expect(ow.call("promo_payout", player.body(promoTransaction=promo, **UNKNOWN)), "OK", balance="115")
    reply = ow.call("sid", player.body(sid="", **UNKNOWN))
    expect(reply, "OK")
    expect(ow.call("balance", player.body(sid=reply["sid"], **UNKNOWN)), "OK", balance="115")
    assert ledger(player).history == [
        ("deposit", D(100), None),
        ("bet", D(10), "r1"),
        ("win", D(20), "r1"),
        ("bet", D(10), "r2"),
        ("refund", D(10), "r2"),
        ("promo", D(5), None),
    ]


def test_every_response_echoes_the_uuid_even_when_it_changes_on_retry(ow: OneWalletClient, players: Any) -> None:
    """``uuid`` is a trace id, new on every retry: never an idempotency key (the client checks the echo)."""
    player = players()
    body = player.tx("d1", "r1", "10")
    expect(ow.call("debit", body), "OK", balance="90")
    retry = {**body, "uuid": new_uuid()}
    expect(ow.call("debit", retry), "BET_ALREADY_EXIST", balance="90")
    other_bet_same_uuid = player.tx("d2", "r2", "10", uuid=body["uuid"])
    expect(ow.call("debit", other_bet_same_uuid), "OK", balance="80")


def test_the_token_never_appears_in_the_logs(
    inproc: Any, players: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 3: the token is a secret. Calls run in process here so that their log output is captured."""
    player = players()
    expect(inproc.call("debit", player.tx("d1", "r1", "1")), "OK", balance="99")
    expect(inproc.call("credit", player.tx("c1", "r-unknown", "1")), "BET_DOES_NOT_EXIST", balance="99")
    expect(inproc.call("debit", player.tx("d2", "r2", "1", currency="USD")), "INVALID_PARAMETER")
    expect(inproc.call("balance", player.body(sid="dead")), "INVALID_SID", balance="99")
    expect(inproc.call("sid", player.body(sid="")), "OK")
    logged = capsys.readouterr()
    text = logged.out + logged.err + caplog.text
    assert text  # the calls did log
    assert inproc.token not in text
