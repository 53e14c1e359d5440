"""At a withdrawal the stream consumer sums the deposits and stakes back to the previous withdrawal
(``deposit_withdraw_no_play``). It reads that history newest first in pages of 16, 32, 64 ... entries:
what it reads, and is charged for, follows how far back the previous withdrawal is, not how long the
wallet's history is."""

from __future__ import annotations

import pytest

from kassa.store.anomaly_store import WITHDRAWAL_LOOKBACK_PAGE, AnomalyStore
from tests.conftest import pages_read
from tests.reconciliation.conftest import Tenant

UNITS = 10**6  # EUR's storage units


@pytest.fixture
def long_history(tenant: Tenant) -> tuple[Tenant, str]:
    """A wallet with 120 entries before its first withdrawal (deposits of 10, bets of 1)."""
    player = tenant.open_wallet()
    for n in range(60):
        tenant.move(player, "deposit", "10")
        tenant.move(player, "bet", "1", bet=f"b{n}")
    return tenant, player


def test_a_withdrawal_near_the_previous_one_reads_one_small_page(long_history: tuple[Tenant, str]) -> None:
    tenant, player = long_history
    tenant.move(player, "withdrawal", "5")
    tenant.move(player, "deposit", "7")
    tenant.move(player, "bet", "2", bet="after")
    version = tenant.move(player, "withdrawal", "1").entry.version

    store = AnomalyStore()
    read = pages_read(store)
    assert store.since_last_withdrawal(tenant.operator_id, player, version) == (7 * UNITS, 2 * UNITS)
    # Three entries back to the withdrawal, found in the first page: 121 older entries were never read.
    assert read == [(WITHDRAWAL_LOOKBACK_PAGE, WITHDRAWAL_LOOKBACK_PAGE)]


def test_a_first_withdrawal_sums_the_whole_history_in_growing_pages(long_history: tuple[Tenant, str]) -> None:
    tenant, player = long_history
    version = tenant.move(player, "withdrawal", "5").entry.version

    store = AnomalyStore()
    read = pages_read(store)
    assert store.since_last_withdrawal(tenant.operator_id, player, version) == (600 * UNITS, 60 * UNITS)
    first = WITHDRAWAL_LOOKBACK_PAGE
    assert [limit for limit, _ in read] == [first, 2 * first, 4 * first, 8 * first]  # 16+32+64 = 112 < 120
    assert sum(count for _, count in read) == 120
