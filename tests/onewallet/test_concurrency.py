"""Concurrent One Wallet calls over real HTTP: a threaded server in front of worker processes that run
the real handlers at once against one DynamoDB. Requests are released together by a barrier.

The calls go out on warm keep-alive connections, one per thread, as a provider's connection pool
does: the local HTTP server listens with socketserver's default backlog of 5, and a burst of 16 new
connections at once is sometimes reset by the kernel before the server accepts it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.onewallet.conftest import D, OneWalletClient, assert_ledger, expect

# DynamoDB's transaction conflicts, as the embedded DynamoDB models them (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("realistic_dynamodb")

THREADS = 16


class Burst:
    """A pool of THREADS threads, each with its own warm keep-alive connection to the local server."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = OneWalletClient(base_url, token)
        self.pool = ThreadPoolExecutor(THREADS)
        lock, barrier = threading.Lock(), threading.Barrier(THREADS)

        def connect(_: int) -> None:
            with lock:  # one new connection at a time
                assert self.client.http.get(f"{base_url}/health", timeout=30).status_code == 200
            barrier.wait()  # holds every thread, so each of the THREADS threads connects once

        list(self.pool.map(connect, range(THREADS)))

    def at_once(self, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Send the (method, body) calls from parallel threads, all released at the same moment;
        the replies come back in call order."""
        assert len(calls) <= THREADS
        barrier = threading.Barrier(len(calls))

        def run(call: tuple[str, dict[str, Any]]) -> dict[str, Any]:
            barrier.wait()
            return self.client.call(*call)

        return list(self.pool.map(run, calls))


@pytest.fixture(scope="module")
def burst(base_url: str, demo: Any) -> Iterator[Burst]:
    pool = Burst(base_url, demo.onewallet_token)
    yield pool
    pool.pool.shutdown()


def test_ten_identical_debits_at_once_deduct_once(burst: Burst, ow: OneWalletClient, players: Any, ledger: Any) -> None:
    player = players()
    body = player.tx("d1", "r1", "10")
    replies = burst.at_once([("debit", body)] * 10)
    statuses = Counter(reply["status"] for reply in replies)
    assert statuses == {"OK": 1, "BET_ALREADY_EXIST": 9}, statuses
    for reply in replies:
        expect(reply, reply["status"], balance="90")
    assert_ledger(ledger(player), 90, [("deposit", 100, None), ("bet", 10, "r1")])


def test_ten_identical_debits_with_fresh_uuids_and_new_ids_on_one_ref_deduct_once(
    burst: Burst, ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    """A provider retrying one bet: same refId, new transaction ids and uuids."""
    player = players()
    replies = burst.at_once([("debit", player.tx(f"d{i}", "r1", "10")) for i in range(10)])
    statuses = Counter(reply["status"] for reply in replies)
    assert statuses == {"OK": 1, "BET_ALREADY_EXIST": 9}, statuses
    assert_ledger(ledger(player), 90, [("deposit", 100, None), ("bet", 10, "r1")])


def test_concurrent_debits_beyond_the_balance_never_overdraw(
    burst: Burst, ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players(deposit="50")
    amounts = [
        D(a) for a in ("7", "3.5", "12", "5", "9.25", "4", "11", "6", "8", "2.75", "10", "7", "3", "13", "5.5", "6")
    ]
    assert sum(amounts) > 50
    replies = burst.at_once([("debit", player.tx(f"d{i}", f"r{i}", a)) for i, a in enumerate(amounts)])
    statuses = Counter(reply["status"] for reply in replies)
    assert set(statuses) <= {"OK", "INSUFFICIENT_FUNDS"}, statuses
    assert statuses["INSUFFICIENT_FUNDS"] > 0
    won = [
        (i, amount) for i, (amount, reply) in enumerate(zip(amounts, replies, strict=True)) if reply["status"] == "OK"
    ]
    final = D(50) - sum(amount for _, amount in won)
    assert final >= 0
    for amount, reply in zip(amounts, replies, strict=True):
        assert reply["balance"] >= 0 and reply["bonus"] == 0
        if reply["status"] == "INSUFFICIENT_FUNDS":
            # Refused against a balance that could not cover it, and nothing cheaper could still fit.
            assert reply["balance"] < amount
            assert final < amount
    now = ledger(player)
    assert_ledger(now, final, [("deposit", 50, None), *sorted_like(now.history[1:], won)])


def sorted_like(history: list[Any], won: list[tuple[int, Any]]) -> list[Any]:
    """The winners' bets in the order the ledger applied them (which the test cannot know in advance)."""
    expected = {f"r{i}": ("bet", amount, f"r{i}") for i, amount in won}
    assert sorted(bet for _, _, bet in history) == sorted(expected), history
    return [expected[bet] for _, _, bet in history]


def test_a_debit_and_a_cancel_of_one_bet_racing_never_create_or_lose_money(
    burst: Burst, ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    history: list[Any] = [("deposit", 100, None)]
    outcomes: Counter[str] = Counter()
    for round_ in range(20):
        ref = f"race-{round_}"
        debit, cancel = burst.at_once(
            [("debit", player.tx(f"d-{ref}", ref, "5")), ("cancel", player.tx(f"d-{ref}", ref, "5"))]
        )
        pair = (debit["status"], cancel["status"])
        if pair == ("OK", "OK"):
            outcomes["debited-and-refunded"] += 1
            history += [("bet", 5, ref), ("refund", 5, ref)]
        elif pair == ("FINAL_ERROR_ACTION_FAILED", "BET_DOES_NOT_EXIST"):
            outcomes["tombstoned-and-refused"] += 1
        else:
            raise AssertionError(f"round {round_}: debit {debit} / cancel {cancel}")
        expect(ow.call("balance", player.body()), "OK", balance="100")
    assert_ledger(ledger(player), 100, history)
    print(dict(outcomes))


def test_concurrent_settlements_of_one_bet_settle_it_once(
    burst: Burst, ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    """Rule 2 under contention: four credits (new ids, different amounts) and four cancels at once."""
    player = players()
    expect(ow.call("debit", player.tx("d1", "r1", "10")), "OK", balance="90")
    calls = [("credit", player.tx(f"c{i}", "r1", D(20 + i))) for i in range(4)]
    calls += [("cancel", player.tx("d1" if i == 0 else f"x{i}", "r1", "10")) for i in range(4)]
    replies = burst.at_once(calls)
    statuses = Counter(reply["status"] for reply in replies)
    assert statuses == {"OK": 1, "BET_ALREADY_SETTLED": 7}, statuses
    winner = next(i for i, reply in enumerate(replies) if reply["status"] == "OK")
    settlement = ("win", 20 + winner, "r1") if winner < 4 else ("refund", 10, "r1")
    balance = 90 + settlement[1]
    assert_ledger(ledger(player), balance, [("deposit", 100, None), ("bet", 10, "r1"), settlement])


def test_ten_identical_promo_payouts_at_once_pay_once(
    burst: Burst, ow: OneWalletClient, players: Any, ledger: Any
) -> None:
    player = players()
    body = player.promo("p1", "2.5")
    replies = burst.at_once([("promo_payout", body)] * 10)
    statuses = Counter(reply["status"] for reply in replies)
    assert statuses == {"OK": 1, "BET_ALREADY_SETTLED": 9}, statuses
    assert_ledger(ledger(player), "102.5", [("deposit", 100, None), ("promo", "2.5", None)])
