"""DynamoDB requests per operation, counted on the wire (botocore events), for the function alone:
a movement costs 2 (an eventually consistent read of the wallet and the entry, one transaction), a replay
2 however old once the replica has its entry (found on that read; the wallet is then read consistently), a
balance 1. (The embedded DynamoDB's replicas never lag here: the realistic mode is off.)"""

from __future__ import annotations

import json
from typing import Any

from kassa_dev.gateway import LocalGateway, lambda_result_to_http, payload_v2_event
from tests.conftest import Api, RequestCounter


def call_function(gateway: LocalGateway, method: str, path: str, body: Any, operator: str = "demo") -> Any:
    """The function's handler alone, with the context the authorizer would have passed."""
    from kassa_dev import template

    route, params = template.match_route(gateway.routes, method, path)  # type: ignore[misc]
    event = payload_v2_event(
        method,
        route.path,
        path,
        "",
        {"content-type": "application/json"},
        json.dumps(body).encode() if body is not None else b"",
        params,
    )
    event["requestContext"]["authorizer"] = {"lambda": {"operatorId": operator, "scopes": "admin"}}
    return lambda_result_to_http(gateway.runner.invoke(route.function_id, event))


def test_movement_costs_two_requests_and_a_replay_two_reads(
    api: Api, gateway: LocalGateway, counted: RequestCounter
) -> None:
    player = api.open_wallet()
    counted.calls.clear()
    path = f"/v1/wallets/{player}/transactions"
    deposit = {"transactionId": "count-1", "type": "deposit", "amount": "10"}
    first = call_function(gateway, "POST", path, deposit)
    assert first.status == 201
    assert counted.calls == ["BatchGetItem", "TransactWriteItems"]

    counted.calls.clear()
    again = call_function(gateway, "POST", path, deposit)
    assert again.status == 200 and again.json() == first.json()
    assert counted.calls == ["BatchGetItem", "GetItem"]  # the wallet and the entry, then the wallet: no write


def test_an_old_replay_costs_what_a_recent_one_does(api: Api, gateway: LocalGateway, stack: Any) -> None:
    from kassa.domain.movements import RECENT_KEPT
    from kassa.store.client import dynamodb
    from kassa_dev.bench.counting import CapacityMeter

    player = api.open_wallet()
    path = f"/v1/wallets/{player}/transactions"
    bet = {"transactionId": "old-b", "type": "bet", "amount": "1", "betId": "old-r"}
    api.move(player, "deposit", "100")
    first = call_function(gateway, "POST", path, bet)
    assert first.status == 201
    for i in range(RECENT_KEPT):  # further back than the wallet's recent ids (which One Wallet's reads use)
        api.move(player, "deposit", "1", transactionId=f"later-{i}")
    before = api.get(f"/v1/wallets/{player}").json()
    meter = CapacityMeter(stack.client("dynamodb"))
    meter.attach(dynamodb())
    try:
        again = call_function(gateway, "POST", path, bet)
    finally:
        meter.detach()
    assert again.status == 200 and again.json() == first.json()
    # The entry is found on the first read: no commit is tried (a refused one is charged as written).
    assert [(c.operation, c.rcu, c.wcu) for c in meter.calls] == [("BatchGetItem", 1, 0), ("GetItem", 1, 0)]
    assert api.get(f"/v1/wallets/{player}").json() == before


def test_an_old_id_sent_again_with_another_payload_is_still_a_conflict(api: Api, gateway: LocalGateway) -> None:
    from kassa.domain.movements import RECENT_KEPT

    player = api.open_wallet()
    path = f"/v1/wallets/{player}/transactions"
    assert (
        call_function(gateway, "POST", path, {"transactionId": "d-1", "type": "deposit", "amount": "5"}).status == 201
    )
    for i in range(RECENT_KEPT):
        api.move(player, "deposit", "1", transactionId=f"later-{i}")
    before = api.get(f"/v1/wallets/{player}").json()
    # The first read finds the entry: another amount answers 409 from it; so does a bad amount (the known id
    # is decided before the amount is looked at), not a 422.
    for amount in ("6", "5.0000001", "-1"):
        body = {"transactionId": "d-1", "type": "deposit", "amount": amount}
        answer = call_function(gateway, "POST", path, body)
        assert (answer.status, answer.json()["code"]) == (409, "idempotency_conflict"), (amount, answer.body)
    assert api.get(f"/v1/wallets/{player}").json() == before


def test_an_old_recorded_refusal_is_refused_again_the_same_way(api: Api, gateway: LocalGateway) -> None:
    from kassa.domain.movements import RECENT_KEPT

    player = api.open_wallet()
    path = f"/v1/wallets/{player}/transactions"
    big = {"transactionId": "w-1", "type": "withdrawal", "amount": "50"}
    refused = call_function(gateway, "POST", path, big)
    assert refused.json()["code"] == "insufficient_funds"
    for i in range(RECENT_KEPT):
        api.move(player, "deposit", "10", transactionId=f"later-{i}")  # now it would be affordable
    again = call_function(gateway, "POST", path, big)
    assert (again.status, again.json()["code"]) == (refused.status, "insufficient_funds")
    assert api.get(f"/v1/wallets/{player}").json()["balance"] == "160.000000"


def test_bet_and_win_cost_two_requests_each(api: Api, gateway: LocalGateway, counted: RequestCounter) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    path = f"/v1/wallets/{player}/transactions"
    for body in (
        {"transactionId": "b", "type": "bet", "amount": "3", "betId": "r1"},
        {"transactionId": "w", "type": "win", "amount": "4", "betId": "r1"},
    ):
        counted.calls.clear()
        assert call_function(gateway, "POST", path, body).status == 201
        assert counted.calls == ["BatchGetItem", "TransactWriteItems"]


def test_balance_costs_one_request(api: Api, gateway: LocalGateway, counted: RequestCounter) -> None:
    player = api.open_wallet()
    counted.calls.clear()
    assert call_function(gateway, "GET", f"/v1/wallets/{player}", None).status == 200
    assert counted.calls == ["GetItem"]


# Capacity units per operation, computed from the items with DynamoDB's formulas by the benchmark's meter
# (kassa_dev.bench.counting): a regression in what a movement reads or writes fails here, not only in a
# benchmark nobody reruns. A bet or a win: the wallet and the entry read eventually consistent (1/2 + 1/2;
# the bet is not read, the commit's condition asserts it), the wallet, the entry and the bet written
# transactionally (3 x 2). A replay: that read (1), then the wallet read consistently (1), nothing written.
PINNED_UNITS = {"bet": (1, 6), "win": (1, 6), "replay": (2, 0), "balance": (1, 0)}


def test_capacity_per_operation_is_pinned(api: Api, gateway: LocalGateway, stack: Any) -> None:
    from kassa.store.client import dynamodb
    from kassa_dev.bench.counting import CapacityMeter

    player = api.open_wallet()
    api.move(player, "deposit", "10")
    path = f"/v1/wallets/{player}/transactions"
    bet = {"transactionId": "cap-b", "type": "bet", "amount": "3", "betId": "cap-r1"}
    calls = {
        "bet": ("POST", path, bet),
        "win": ("POST", path, {"transactionId": "cap-w", "type": "win", "amount": "4", "betId": "cap-r1"}),
        "replay": ("POST", path, bet),
        "balance": ("GET", f"/v1/wallets/{player}", None),
    }
    meter = CapacityMeter(stack.client("dynamodb"))
    meter.attach(dynamodb())
    try:
        measured = {}
        for operation, (method, route, body) in calls.items():
            meter.calls.clear()
            assert call_function(gateway, method, route, body).status in (200, 201)
            measured[operation] = (sum(c.rcu for c in meter.calls), sum(c.wcu for c in meter.calls))
    finally:
        meter.detach()
    assert measured == PINNED_UNITS


def test_a_read_of_a_missing_item_is_charged(stack: Any) -> None:
    """The meter charges what DynamoDB charges: an asked key with no item still costs a read unit."""
    from kassa.store import keys
    from kassa.store.ledger_store import LedgerStore
    from kassa_dev.bench.counting import CapacityMeter

    store = LedgerStore()
    meter = CapacityMeter(stack.client("dynamodb"))
    meter.attach(store.client)
    try:
        store.get_many([keys.wallet("demo", "nobody-1"), keys.wallet("demo", "nobody-2")])
    finally:
        meter.detach()
    assert [c.rcu for c in meter.calls] == [2]
