"""DynamoDB requests per operation, counted on the wire (botocore events), for the function alone:
a movement costs 2 (one consistent read, one transaction), a replay 1, a balance 1."""

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


def test_movement_costs_two_requests_and_replay_one(api: Api, gateway: LocalGateway, counted: RequestCounter) -> None:
    player = api.open_wallet()
    counted.calls.clear()
    path = f"/v1/wallets/{player}/transactions"
    deposit = {"transactionId": "count-1", "type": "deposit", "amount": "10"}
    assert call_function(gateway, "POST", path, deposit).status == 201
    assert counted.calls == ["BatchGetItem", "TransactWriteItems"]

    counted.calls.clear()
    assert call_function(gateway, "POST", path, deposit).status == 200
    assert counted.calls == ["BatchGetItem"]


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
