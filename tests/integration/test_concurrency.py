"""Concurrency, proved against the serialized embedded DynamoDB: many writers, one wallet."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from kassa import errors, ledger
from kassa.domain.model import Action
from kassa.domain.movements import MovementRequest
from kassa.store.ledger_store import LedgerStore
from tests.conftest import Api, new_id

# DynamoDB's transaction conflicts, as the embedded DynamoDB models them (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("realistic_dynamodb")

THREADS = 16


def all_entries(api: Api, player: str) -> list[dict]:
    items, cursor = [], None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/wallets/{player}/transactions", query=query).json()
        items += page["items"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


def signed(entry: dict) -> Decimal:
    amount = Decimal(entry["amount"])
    return amount if entry["type"] in ("deposit", "win", "refund", "adjustment", "promo") else -amount


def test_16_threads_withdrawing_never_overdraw_and_balance_equals_entries(concurrent_api: Api) -> None:
    api = concurrent_api
    player = api.open_wallet()
    api.move(player, "deposit", "50")

    def withdraw(_: int) -> int:
        return api.move(player, "withdrawal", "5").status

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(withdraw, range(THREADS * 3)))

    assert statuses.count(201) == 10
    assert set(statuses) <= {201, 409, 503}
    balance = Decimal(api.balance(player))
    assert balance == 0
    entries = all_entries(api, player)
    assert sum(signed(entry) for entry in entries) == balance
    assert sorted(entry["version"] for entry in entries) == list(range(1, len(entries) + 1))


def test_16_threads_sending_one_transaction_id_make_one_entry_and_one_answer(concurrent_api: Api) -> None:
    api = concurrent_api
    player = api.open_wallet()
    api.move(player, "deposit", "100")

    def send(_: int) -> tuple[int, dict]:
        response = api.move(player, "withdrawal", "30", transactionId="same-id")
        return response.status, response.json()

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, range(THREADS)))

    statuses = [status for status, _ in answers]
    assert statuses.count(201) == 1
    assert statuses.count(200) == THREADS - 1
    bodies = [body for _, body in answers]
    assert all(body == bodies[0] for body in bodies)
    assert Decimal(api.balance(player)) == 70
    assert len(all_entries(api, player)) == 2


def test_16_threads_in_one_process_on_the_ledger_service(api: Api) -> None:
    """The same guarantee one layer down: the ledger service is safe under true thread concurrency."""
    player = api.open_wallet()
    api.move(player, "deposit", "8")
    store = LedgerStore()

    def bet(index: int) -> str:
        request = MovementRequest(Action.BET, new_id("tx"), Decimal("1"), bet_id=f"bet-{index}")
        try:
            ledger.move_money(store, "demo", player, request)
            return "applied"
        except errors.KassaError as error:
            return error.code

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(bet, range(THREADS)))

    assert outcomes.count("applied") == 8
    assert set(outcomes) <= {"applied", "insufficient_funds", "temporarily_unavailable"}
    assert Decimal(api.balance(player)) == 0
