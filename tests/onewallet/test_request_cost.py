"""DynamoDB requests per One Wallet call (issue 3, "Cost per call"): ``balance`` and ``check`` one request;
``debit``, ``credit``, ``cancel``, ``promo_payout`` one strongly consistent read (``BatchGetItem``,
session included where needed) plus one ``TransactWriteItems``; a duplicate soon after two reads (the
wallet names the id among its recent ones, so the entry is read after it; docs/decisions.md 33).

The HTTP stack's worker processes cannot be observed from here, so these calls run the same handlers
in this process (``LocalGateway`` with its in-process ``FunctionRunner``) and count the requests on the
wire with a botocore event handler on Kassa's DynamoDB client.

The token -> operator lookup (an index ``Query``) is cached in memory per process for a few minutes,
so each test first makes one warming call with the token; a test below shows what a cold token costs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RequestCounter
from tests.onewallet.conftest import InProcessOneWallet, expect


@pytest.fixture
def warm(inproc: InProcessOneWallet, players: Any) -> Any:
    """A player with an open bet "r-open", and the demo token already resolved in this process."""
    player = players()
    expect(inproc.call("debit", player.tx("d-open", "r-open", "10")), "OK", balance="90")
    return player


def measure(counter: RequestCounter, inproc: InProcessOneWallet, method: str, body: Any, status: str) -> list[str]:
    counter.calls.clear()
    reply = inproc.call(method, body)
    calls = list(counter.calls)
    assert reply["status"] == status, reply
    return calls


@pytest.mark.parametrize("method", ["balance", "check"])
def test_balance_and_check_cost_one_request(
    inproc: InProcessOneWallet, warm: Any, counted: RequestCounter, method: str
) -> None:
    """Warmed by the fixture's debit: the token's operator is cached, so this is the call's own cost."""
    assert measure(counted, inproc, method, warm.body(), "OK") == ["BatchGetItem"]


@pytest.mark.parametrize("method", ["debit", "credit", "cancel", "promo_payout"])
def test_money_calls_cost_one_read_and_one_transaction(
    inproc: InProcessOneWallet, warm: Any, counted: RequestCounter, method: str
) -> None:
    """Warmed by the fixture's debit: the token's operator is cached, so this is the call's own cost."""
    bodies = {
        "debit": warm.tx("d-new", "r-new", "5"),
        "credit": warm.tx("c1", "r-open", "5"),
        "cancel": warm.tx("d-open", "r-open", "10"),
        "promo_payout": warm.promo("p1", "5"),
    }
    assert measure(counted, inproc, method, bodies[method], "OK") == ["BatchGetItem", "TransactWriteItems"]


@pytest.mark.parametrize(
    ("method", "duplicate_status"),
    [
        ("debit", "BET_ALREADY_EXIST"),
        ("credit", "BET_ALREADY_SETTLED"),
        ("cancel", "BET_ALREADY_SETTLED"),
        ("promo_payout", "BET_ALREADY_SETTLED"),
    ],
)
def test_a_duplicate_costs_two_reads_and_no_write(
    inproc: InProcessOneWallet, warm: Any, counted: RequestCounter, method: str, duplicate_status: str
) -> None:
    """Warmed by the fixture's debit: the token's operator is cached, so this is the call's own cost."""
    bodies = {
        "debit": warm.tx("d-open", "r-open", "10"),
        "credit": warm.tx("c1", "r-open", "5"),
        "cancel": warm.tx("d-open", "r-open", "10"),
        "promo_payout": warm.promo("p1", "5"),
    }
    if method != "debit":
        expect(inproc.call(method, bodies[method]), "OK")
    retry = {**bodies[method], "uuid": "retry"}
    assert measure(counted, inproc, method, retry, duplicate_status) == ["BatchGetItem", "GetItem"]


def test_a_cold_token_costs_one_index_query_once(
    gateway: Any, other_operator: Any, players: Any, counted: RequestCounter
) -> None:
    """Why the other tests warm up: the first call with a token resolves its operator with a Query."""
    operator = other_operator()
    player = players(api=operator.api, operator_id=operator.operator_id)
    inproc = InProcessOneWallet(gateway, operator.ow.token)
    assert measure(counted, inproc, "balance", player.body(), "OK") == ["Query", "BatchGetItem"]
    assert measure(counted, inproc, "balance", player.body(), "OK") == ["BatchGetItem"]
