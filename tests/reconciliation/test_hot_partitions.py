"""No partition key outside a wallet's own receives a write per movement, on the request path or the stream
path (ARCHITECTURE.md): with the table's local index an item collection never splits, so one operator-wide
key caps the whole operator at one partition's write rate.

The embedded DynamoDB's realistic mode counts the items written per partition key. A mixed workload over
several wallets runs, the stream is drained (verification, events, outbox markers), and it runs again with
twice the movements: outside the wallets' partitions, the count of writes must not grow.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kassa_dev import realistic
from tests.reconciliation.conftest import Stream, Tenant, new_id

WALLETS = 4


@pytest.fixture
def counting() -> Iterator[None]:
    realistic.configure(enabled=True, window_seconds=0)
    yield
    realistic.configure()


def workload(tenant: Tenant, stream: Stream, players: list[str], rounds: int) -> dict[str, int]:
    """Deposits, bets, wins, refunds and withdrawals on every wallet; writes outside the wallets' partitions."""
    realistic.configure(enabled=True, window_seconds=0)
    for _ in range(rounds):
        for player in players:
            bet = new_id("bet")
            tenant.move(player, "deposit", "10")
            tenant.move(player, "bet", "2", bet=bet)
            tenant.move(player, "win", "3", bet=bet)
            refunded = new_id("bet")
            tenant.move(player, "bet", "1", bet=refunded)
            tenant.move(player, "refund", None, bet=refunded)
            tenant.move(player, "withdrawal", "1")
    stream.drain()
    wallets = tuple(f"OP#{tenant.operator_id}#PLAYER#{player}" for player in players)
    writes = realistic.writes_by_partition()
    assert sum(count for key, count in writes.items() if key in wallets) >= rounds * len(players) * 6
    return {key: count for key, count in writes.items() if key not in wallets}


def test_writes_outside_the_wallets_do_not_grow_with_the_movements(
    tenant: Tenant, stream: Stream, counting: None
) -> None:
    players = [tenant.open_wallet() for _ in range(WALLETS)]
    stream.drain()
    few = workload(tenant, stream, players, rounds=2)
    many = workload(tenant, stream, players, rounds=4)
    assert few == many, f"outside the wallets' own partitions: {few} with 48 movements, {many} with 96"
    assert not any(key.endswith("#OUTBOX") for key in many), many


def test_the_count_sees_an_operator_wide_key_when_there_is_one(tenant: Tenant, stream: Stream, counting: None) -> None:
    """The check can fail: a key written once per movement outside the wallets is counted and grows."""
    player = tenant.open_wallet()
    hot = f"OP#{tenant.operator_id}#HOT"
    for rounds in (1, 2):
        realistic.configure(enabled=True, window_seconds=0)
        for _ in range(rounds * 3):
            tenant.move(player, "deposit", "1")
            tenant.raw.put_item(TableName=tenant.table, Item={"pk": {"S": hot}, "sk": {"S": new_id("x")}})
        assert realistic.writes_by_partition().get(hot) == rounds * 3
