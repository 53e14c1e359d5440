"""Amounts are exact end to end (ONEWALLET.md: "Amounts are JSON numbers with up to 6 decimals, can be 0,
and can be large (tens of millions). Balances are answered as JSON numbers with the exact decimal
value."): in the One Wallet replies (checked on the raw JSON text too), in GET /v1/wallets and in the
ledger history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.onewallet.conftest import D, OneWalletClient, assert_ledger, dumps, expect


def number_in_text(reply: dict[str, Any], field: str) -> str:
    """The field's number exactly as written in the JSON text (no float, no exponent, no quotes)."""
    match = re.search(rf'"{field}":(-?[0-9][0-9.eE+-]*)[,}}]', reply["_text"])
    assert match, f"{field} is not a plain JSON number in {reply['_text']}"
    return match.group(1)


def test_six_decimal_amounts_are_exact_end_to_end(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="100")
    reply = ow.call("debit", player.tx("d1", "r1", "0.000001"))
    expect(reply, "OK", balance="99.999999")
    assert number_in_text(reply, "balance") == "99.999999"
    reply = ow.call("debit", player.tx("d2", "r2", "12.345678"))
    expect(reply, "OK", balance="87.654321")
    assert number_in_text(reply, "balance") == "87.654321"
    reply = ow.call("credit", player.tx("c1", "r1", "0.000001"))
    expect(reply, "OK", balance="87.654322")
    reply = ow.call("credit", player.tx("c2", "r2", "0.100001"))
    expect(reply, "OK", balance="87.754323")
    assert number_in_text(reply, "balance") == "87.754323"
    reply = ow.call("balance", player.body())
    assert number_in_text(reply, "balance") == "87.754323"
    now = ledger(player)
    assert now.raw_balance == "87.754323"
    assert_ledger(
        now,
        "87.754323",
        [
            ("deposit", 100, None),
            ("bet", "0.000001", "r1"),
            ("bet", "12.345678", "r2"),
            ("win", "0.000001", "r1"),
            ("win", "0.100001", "r2"),
        ],
    )


def test_amounts_in_the_tens_of_millions_are_exact_end_to_end(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="98765432.123456")
    reply = ow.call("balance", player.body())
    expect(reply, "OK", balance="98765432.123456")
    assert number_in_text(reply, "balance") == "98765432.123456"
    reply = ow.call("debit", player.tx("d1", "r1", "98765432.123455"))
    expect(reply, "OK", balance="0.000001")
    assert number_in_text(reply, "balance") == "0.000001"
    reply = ow.call("credit", player.tx("c1", "r1", "98765432.123456"))
    expect(reply, "OK", balance="98765432.123457")
    assert number_in_text(reply, "balance") == "98765432.123457"
    reply = ow.call("debit", player.tx("d2", "r2", "12345678.000001"))
    expect(reply, "OK", balance="86419754.123456")
    reply = ow.call("cancel", player.tx("d2", "r2", "12345678.000001"))
    expect(reply, "OK", balance="98765432.123457")
    reply = ow.call("promo_payout", player.promo("p1", "55555555.555555"))
    expect(reply, "OK", balance="154320987.679012")
    assert number_in_text(reply, "balance") == "154320987.679012"
    now = ledger(player)
    assert now.raw_balance == "154320987.679012"
    assert_ledger(
        now,
        "154320987.679012",
        [
            ("deposit", "98765432.123456", None),
            ("bet", "98765432.123455", "r1"),
            ("win", "98765432.123456", "r1"),
            ("bet", "12345678.000001", "r2"),
            ("refund", "12345678.000001", "r2"),
            ("promo", "55555555.555555", None),
        ],
    )


def test_a_large_promo_into_bonus_is_exact(players: Any, ledger: Any, other_operator: Any) -> None:
    operator = other_operator(promo_balance="bonus")
    player = players(deposit="0.000001", api=operator.api, operator_id=operator.operator_id)
    reply = operator.ow.call("promo_payout", player.promo("p1", "87654321.987654"))
    expect(reply, "OK", balance="0.000001", bonus="87654321.987654")
    assert number_in_text(reply, "bonus") == "87654321.987654"
    assert number_in_text(reply, "balance") == "0.000001"
    assert_ledger(
        ledger(player),
        "0.000001",
        [("deposit", "0.000001", None), ("promo", "87654321.987654", None)],
        bonus="87654321.987654",
    )


@pytest.mark.parametrize("method", ["debit", "credit", "cancel", "promo_payout"])
@pytest.mark.parametrize("amount", ["0.0000001", "10.1234567", "98765432.1234567"])
def test_a_seven_decimal_amount_is_invalid_parameter_and_changes_nothing(
    ow: OneWalletClient, players: Any, ledger: Any, method: str, amount: str
) -> None:
    player = players()
    expect(ow.call("debit", player.tx("d0", "r0", "10")), "OK", balance="90")
    body = (
        player.promo("p1", amount)
        if method == "promo_payout"
        else player.tx(f"{method}-1", "r0" if method != "debit" else "r1", amount)
    )
    expect(ow.call(method, body), "INVALID_PARAMETER")
    assert_ledger(ledger(player), 90, [("deposit", 100, None), ("bet", 10, "r0")])
    # The same transaction corrected is accepted: the refusal did not stick to the id.
    fixed = D(amount).quantize(D("0.000001"), rounding="ROUND_DOWN")
    body = (
        player.promo("p1", fixed)
        if method == "promo_payout"
        else player.tx(f"{method}-1", "r0" if method != "debit" else "r1", fixed)
    )
    assert ow.call(method, body)["status"] in ("OK", "INSUFFICIENT_FUNDS")


def test_zero_debit_and_zero_credit_work(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit="20")
    expect(ow.call("debit", player.tx("d1", "r1", 0)), "OK", balance="20")
    expect(ow.call("debit", player.tx("d1", "r1", 0)), "BET_ALREADY_EXIST", balance="20")
    expect(ow.call("credit", player.tx("c1", "r1", 0)), "OK", balance="20")
    expect(ow.call("credit", player.tx("c1", "r1", 0)), "BET_ALREADY_SETTLED", balance="20")
    # Zero written in other spellings is still zero.
    expect(ow.call("debit", player.tx("d2", "r2", D("0.000000"))), "OK", balance="20")
    expect(ow.call("cancel", player.tx("d2", "r2", D("0.0"))), "OK", balance="20")
    expect(ow.call("promo_payout", player.promo("p0", 0)), "OK", balance="20")
    assert_ledger(
        ledger(player),
        20,
        [
            ("deposit", 20, None),
            ("bet", 0, "r1"),
            ("win", 0, "r1"),
            ("bet", 0, "r2"),
            ("refund", 0, "r2"),
            ("promo", 0, None),
        ],
    )


def test_a_zero_debit_on_an_empty_wallet_is_ok(ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players(deposit=None)
    expect(ow.call("debit", player.tx("d1", "r1", 0)), "OK", balance="0")
    expect(ow.call("credit", player.tx("c1", "r1", "3.5")), "OK", balance="3.5")
    assert_ledger(ledger(player), "3.5", [("bet", 0, "r1"), ("win", "3.5", "r1")])


@pytest.mark.parametrize("spelling", ["10", "10.0", "10.000000", "1E+1", "1e1", "0.1E2"])
def test_one_amount_in_any_json_spelling_is_the_same_amount(
    ow: OneWalletClient, players: Any, ledger: Any, spelling: str
) -> None:
    player = players()
    body = player.tx("d1", "r1", 0)
    raw = ow.call("debit", raw=_with_amount(body, spelling))
    expect(raw, "OK", balance="90")
    # And the replay in another spelling is the same debit.
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "BET_ALREADY_EXIST", balance="90")
    assert_ledger(ledger(player), 90, [("deposit", 100, None), ("bet", 10, "r1")])


def _with_amount(body: dict[str, Any], number: str) -> str:
    return dumps(body).replace('"amount":0', f'"amount":{number}')
