"""The native REST API end to end: gateway -> authorizer -> handler -> embedded DynamoDB over HTTP."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import Api, new_id


def test_health_needs_no_credential(anonymous: Api) -> None:
    response = anonymous.get("/health")
    assert response.status == 200
    assert response.json() == {"status": "ok"}


def test_open_wallet_answers_201_with_zero_balances(api: Api) -> None:
    player = new_id("p")
    response = api.post("/v1/wallets", {"playerId": player, "currency": "EUR"})
    assert response.status == 201
    wallet = response.json()
    assert wallet["playerId"] == player
    assert wallet["currency"] == "EUR"
    assert Decimal(wallet["balance"]) == 0 and Decimal(wallet["bonus"]) == 0
    assert wallet["status"] == "active" and wallet["version"] == 0
    assert wallet["updatedAt"]


def test_second_wallet_for_a_player_is_409_wallet_exists(api: Api) -> None:
    player = api.open_wallet()
    response = api.post("/v1/wallets", {"playerId": player, "currency": "USD"})
    assert response.status == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "wallet_exists"
    assert api.get(f"/v1/wallets/{player}").json()["currency"] == "EUR"


def test_a_percent_encoded_player_id_reaches_the_same_wallet(api: Api) -> None:
    """HTTP APIs hand the function a decoded path: clients that encode '@' and ':' (JavaScript's
    encodeURIComponent, Python's quote) reach the wallet they named."""
    player = api.open_wallet(player=f"{new_id('p')}@example:eu")
    encoded = player.replace("@", "%40").replace(":", "%3A")
    response = api.get(f"/v1/wallets/{encoded}")
    assert response.status == 200, response.body
    assert response.json()["playerId"] == player
    assert api.move(encoded, "deposit", "5").status == 201
    assert api.get(f"/v1/wallets/{player}/transactions").json()["items"][0]["amount"] == "5.000000"


def test_an_encoded_slash_is_not_routed(api: Api) -> None:
    assert api.get("/v1/wallets/a%2Fb").status == 404


def test_unknown_wallet_is_404(api: Api) -> None:
    response = api.get(f"/v1/wallets/{new_id('nobody')}")
    assert response.status == 404
    assert response.json()["code"] == "wallet_not_found"


def test_deposit_then_withdraw_moves_exact_amounts(api: Api) -> None:
    player = api.open_wallet()
    deposit = api.move(player, "deposit", "100.25")
    assert deposit.status == 201
    body = deposit.json()
    assert Decimal(body["transaction"]["amount"]) == Decimal("100.25")
    assert Decimal(body["transaction"]["balanceAfter"]) == Decimal("100.25")
    assert body["transaction"]["version"] == 1
    assert body["transaction"]["hash"] and body["transaction"]["createdAt"]
    assert Decimal(body["wallet"]["balance"]) == Decimal("100.25")
    withdrawal = api.move(player, "withdrawal", "0.000001")
    assert withdrawal.status == 201
    assert Decimal(api.balance(player)) == Decimal("100.249999")


def test_replay_answers_200_with_the_same_body_and_header(api: Api) -> None:
    player = api.open_wallet()
    first = api.move(player, "deposit", "10", transactionId="dep-1")
    api.move(player, "deposit", "5")
    again = api.move(player, "deposit", "10.00", transactionId="dep-1")
    assert first.status == 201
    assert again.status == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert Decimal(api.balance(player)) == 15


def test_same_id_and_type_with_another_payload_is_409_conflict(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10", transactionId="dep-1")
    response = api.move(player, "deposit", "11", transactionId="dep-1")
    assert response.status == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Decimal(api.balance(player)) == 10


def test_withdrawal_beyond_balance_is_409_and_replays_as_rejection(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "5")
    refused = api.move(player, "withdrawal", "6", transactionId="w-1")
    assert refused.status == 409 and refused.json()["code"] == "insufficient_funds"
    api.move(player, "deposit", "100")
    # The decision stands for that id: a retry is refused again, never applied late.
    again = api.move(player, "withdrawal", "6", transactionId="w-1")
    assert again.status == 409 and again.json()["code"] == "insufficient_funds"
    assert Decimal(api.balance(player)) == 105


def test_bet_win_round(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "50")
    assert api.move(player, "bet", "20", betId="b1").status == 201
    win = api.move(player, "win", "35.5", betId="b1")
    assert win.status == 201
    assert Decimal(api.balance(player)) == Decimal("65.5")
    again = api.move(player, "win", "35.5", betId="b1")
    assert again.status == 409 and again.json()["code"] == "bet_already_settled"
    refund = api.move(player, "refund", None, betId="b1")
    assert refund.status == 409 and refund.json()["code"] == "bet_already_settled"
    assert Decimal(api.balance(player)) == Decimal("65.5")


def test_refund_returns_the_stored_bet_amount(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "50")
    api.move(player, "bet", "20", betId="b1")
    refund = api.move(player, "refund", "999", betId="b1")
    assert refund.status == 201
    assert Decimal(refund.json()["transaction"]["amount"]) == 20
    assert Decimal(api.balance(player)) == 50


def test_refund_of_unknown_bet_is_404_and_leaves_a_tombstone(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "50")
    refund = api.move(player, "refund", None, betId="late")
    assert refund.status == 404 and refund.json()["code"] == "bet_not_found"
    bet = api.move(player, "bet", "10", betId="late")
    assert bet.status == 409 and bet.json()["code"] == "bet_already_settled"
    assert Decimal(api.balance(player)) == 50


def test_win_of_unknown_bet_is_404_and_pays_nothing(api: Api) -> None:
    player = api.open_wallet()
    response = api.move(player, "win", "10", betId="ghost")
    assert response.status == 404 and response.json()["code"] == "bet_not_found"
    assert Decimal(api.balance(player)) == 0


def test_duplicate_bet_id_is_409_bet_already_exists(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "50")
    api.move(player, "bet", "10", betId="b1")
    response = api.move(player, "bet", "10", betId="b1")
    assert response.status == 409 and response.json()["code"] == "bet_already_exists"
    assert Decimal(api.balance(player)) == 40


def test_locked_wallet_refuses_bets_and_withdrawals_but_settles(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "50")
    api.move(player, "bet", "10", betId="open-bet")
    locked = api.post(f"/v1/wallets/{player}/lock")
    assert locked.status == 200 and locked.json()["status"] == "locked"
    assert api.move(player, "bet", "1", betId="b2").json()["code"] == "wallet_locked"
    withdrawal = api.move(player, "withdrawal", "1")
    assert withdrawal.status == 423 and withdrawal.json()["code"] == "wallet_locked"
    assert api.move(player, "win", "5", betId="open-bet").status == 201
    assert api.move(player, "deposit", "1").status == 201
    unlocked = api.post(f"/v1/wallets/{player}/unlock")
    assert unlocked.status == 200 and unlocked.json()["status"] == "active"
    assert api.move(player, "withdrawal", "1").status == 201


def test_adjustment_is_signed_needs_reason_and_admin(api: Api) -> None:
    player = api.open_wallet()
    assert api.move(player, "adjustment", "7", reason="goodwill").status == 201
    assert api.move(player, "adjustment", "-2", reason="correction").status == 201
    assert Decimal(api.balance(player)) == 5
    missing_reason = api.move(player, "adjustment", "1")
    assert missing_reason.status == 422 and missing_reason.json()["code"] == "invalid_request"
    below_zero = api.move(player, "adjustment", "-6", reason="too much")
    assert below_zero.status == 409 and below_zero.json()["code"] == "insufficient_funds"


def test_history_is_newest_first_and_paginates(api: Api) -> None:
    player = api.open_wallet()
    for amount in ("1", "2", "3", "4", "5"):
        api.move(player, "deposit", amount)
    api.move(player, "withdrawal", "100")  # rejected: not history
    first = api.get(f"/v1/wallets/{player}/transactions", query="limit=2").json()
    assert [Decimal(t["amount"]) for t in first["items"]] == [5, 4]
    assert first["nextCursor"]
    seen = [t["version"] for t in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = api.get(f"/v1/wallets/{player}/transactions", query=f"limit=2&cursor={cursor}").json()
        seen += [t["version"] for t in page["items"]]
        cursor = page["nextCursor"]
    assert seen == [5, 4, 3, 2, 1]


def test_get_one_transaction(api: Api) -> None:
    player = api.open_wallet()
    created = api.move(player, "deposit", "3", transactionId="t-42").json()["transaction"]
    found = api.get(f"/v1/wallets/{player}/transactions/t-42")
    assert found.status == 200 and found.json() == created
    missing = api.get(f"/v1/wallets/{player}/transactions/nope")
    assert missing.status == 404 and missing.json()["code"] == "transaction_not_found"


def test_correlation_id_header_is_stored_on_the_entry(api: Api) -> None:
    player = api.open_wallet()
    response = api.post(
        f"/v1/wallets/{player}/transactions",
        {"transactionId": "c-1", "type": "deposit", "amount": "1"},
        headers={"x-correlation-id": "trace-abc"},
    )
    assert response.json()["transaction"]["correlationId"] == "trace-abc"
