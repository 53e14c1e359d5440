"""Acceptance: "... and a clean ledger of thousands of entries reports nothing."

2,000 applied entries over 10 wallets, written in-process through ``kassa.ledger.move_money`` (the same
path the handlers take), mixing deposits, bets, wins, refunds and withdrawals, plus business rejections
(insufficient funds), which are recorded but are not history. The stream verifier checks every committed
entry as the stream delivers it (here every 250 movements), the full audit recomputes every wallet:
neither finds anything. So that "nothing" is not vacuous, the test also checks the audit saw all 2,000
entries and the verifier published every one of them exactly once (one outbox marker per entry).

Cost. The embedded DynamoDB (moto 5) answers every Query by walking every item of the table
(``moto.dynamodb.models.table.Table.query`` iterates ``self.all_items()``, even for a base-table query on
one partition), and the stream verifier makes one strongly consistent Query per stream record
(``ReconcileStore.entry_at``). Verifying N entries is therefore O(N x table size). On the session's
shared table, which holds every other test's items under ``make test``, that grows without bound, so this
test gets a table of its own, created from template.yaml like the session's: Kassa is pointed at it
(``KASSA_TABLE``) for the duration of the test, and a pump of its own drives ReconciliationFunction from
that table's stream (fixture ``own_table``). Even so it takes minutes, not seconds, on a 2-core machine.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest

from kassa import errors
from tests.reconciliation.conftest import OwnTable, Stream, Tenant

WALLETS = 10
ENTRIES = 2_000


def write_mixed_ledger(
    tenant: Tenant, seed: int, every: tuple[int, Callable[[], None]] | None = None
) -> tuple[int, int]:
    """Exactly ENTRIES applied entries spread over WALLETS wallets; answers (applied, rejected).
    ``every=(n, action)`` calls ``action`` after each n applied entries (the stream delivering)."""
    rng = random.Random(seed)
    players = [tenant.open_wallet() for _ in range(WALLETS)]
    balances = dict.fromkeys(players, Decimal(0))
    open_bets: dict[str, list[tuple[str, Decimal]]] = {p: [] for p in players}
    applied = rejected = 0
    for player in players:
        tenant.move(player, "deposit", "500")
        balances[player] += 500
        applied += 1
    while applied < ENTRIES:
        player = rng.choice(players)
        roll = rng.random()
        amount = Decimal(rng.randint(1, 5000)) / 100
        if roll < 0.10:
            tenant.move(player, "deposit", amount)
            balances[player] += amount
        elif roll < 0.45:
            bet = f"b{applied}-{rng.randrange(10**9)}"
            if amount > balances[player] or roll < 0.12:  # now and then a bet that must be refused
                big = balances[player] + 1
                code = tenant.refused(player, "bet", str(big), bet=bet).code
                assert code == "insufficient_funds"
                rejected += 1
                continue
            tenant.move(player, "bet", amount, bet=bet)
            balances[player] -= amount
            open_bets[player].append((bet, amount))
        elif roll < 0.75 and open_bets[player]:
            bet, _ = open_bets[player].pop(rng.randrange(len(open_bets[player])))
            win = Decimal(rng.randint(0, 10000)) / 100  # a zero win is a settled loss
            tenant.move(player, "win", win, bet=bet)
            balances[player] += win
        elif roll < 0.85 and open_bets[player]:
            bet, staked = open_bets[player].pop(rng.randrange(len(open_bets[player])))
            tenant.move(player, "refund", None, bet=bet)
            balances[player] += staked
        elif roll < 0.95 and balances[player] >= amount:
            tenant.move(player, "withdrawal", amount)
            balances[player] -= amount
        else:
            continue
        applied += 1
        if every and applied % every[0] == 0:
            every[1]()
    for player in players:
        wallet_units = tenant.balance_units(player)
        assert Decimal(wallet_units) / 10**6 == balances[player]
    return applied, rejected


@pytest.mark.slow
def test_a_clean_ledger_of_thousands_of_entries_reports_nothing(own_table: OwnTable) -> None:
    tenant, stream = own_table.tenant(), own_table.stream
    started = time.monotonic()
    applied, rejected = write_mixed_ledger(tenant, seed=4, every=(250, stream.drain))
    assert (applied, rejected) >= (ENTRIES, 1)
    written = time.monotonic()

    stream.drain()
    verified = time.monotonic()
    assert tenant.stream_findings() == []

    assert tenant.audit() == []
    audited = time.monotonic()

    actions = Counter(e["action"]["S"] for player in tenant.wallets for e in tenant.applied_entries(player))
    assert sum(actions.values()) == ENTRIES
    assert set(actions) == {"deposit", "bet", "win", "refund", "withdrawal"}, actions
    markers = sum(
        tenant.raw.query(
            TableName=tenant.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :outbox)",
            ExpressionAttributeValues={
                ":pk": {"S": f"OP#{tenant.operator_id}#PLAYER#{player}"},
                ":outbox": {"S": "OUTBOX#TX#"},
            },
            Select="COUNT",
            ConsistentRead=True,
        )["Count"]
        for player in tenant.wallets
    )
    assert markers == ENTRIES, "every committed entry is published once, and only those"
    assert len(tenant.wallets) == WALLETS
    print(f"write+stream {written - started:.1f}s, drain {verified - written:.1f}s, audit {audited - verified:.1f}s")


def test_rejections_alone_are_not_findings(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "1")
    assert tenant.refused(player, "bet", "2", bet="b1").code == "insufficient_funds"
    assert tenant.refused(player, "withdrawal", "2").code == "insufficient_funds"
    assert isinstance(tenant.refused(player, "refund", None, bet="never-placed"), errors.BetNotFound)
    stream.drain()
    assert tenant.stream_findings() == []
    assert tenant.audit() == []
