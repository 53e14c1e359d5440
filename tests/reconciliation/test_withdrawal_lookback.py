"""``deposit_withdraw_no_play`` needs what was deposited and staked since the previous withdrawal.

Every movement keeps that tally on the wallet and a withdrawal's entry carries it, so the stream consumer
reads no history at all. A wallet stored before the tally was kept has none until its next withdrawal: that
withdrawal's check reads the history back to the previous one, newest first, in pages of 16, 32, 64 ...
entries, so what it reads (and is charged for) follows how far back the previous withdrawal is, not how long
the wallet's history is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kassa.anomaly import detector
from kassa.anomaly.rules import Rule
from kassa.domain.model import SinceWithdrawal
from kassa.store import codec
from kassa.store.anomaly_store import WITHDRAWAL_LOOKBACK_PAGE, AnomalyStore
from tests.conftest import pages_read
from tests.reconciliation.conftest import Tenant

UNITS = 10**6  # EUR's storage units


def withdrawal_check(tenant: Tenant, player: str, version: int) -> dict[str, Any]:
    """What the stream consumer finds at the withdrawal of ``version``: the rule's values."""
    (raised,) = detector.check_entry(tenant.entry_at(player, version), AnomalyStore())
    assert raised.rule is Rule.DEPOSIT_WITHDRAW_NO_PLAY
    return raised.values


def forget_the_tally(tenant: Tenant, player: str) -> None:
    """The wallet as stored before the tally was kept."""
    tenant.raw.update_item(
        TableName=tenant.table, Key=tenant.wallet_key(player), UpdateExpression=f"REMOVE {codec.SINCE_WITHDRAWAL}"
    )


def test_a_withdrawal_carries_its_tally_and_its_check_reads_no_history(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "1", bet="b1")
    tenant.move(player, "withdrawal", "50")
    tenant.move(player, "deposit", "80")
    tenant.move(player, "bet", "2", bet="b2")
    version = tenant.move(player, "withdrawal", "60").entry.version

    def no_history(*_: Any) -> None:
        raise AssertionError("the withdrawal's tally was not used")

    monkeypatch.setattr(AnomalyStore, "since_last_withdrawal", no_history)
    values = withdrawal_check(tenant, player, version)
    assert (Decimal(values["deposits"]), Decimal(values["wagered"])) == (80, 2)


def test_the_first_withdrawal_of_a_wallet_without_a_tally_reads_back_then_keeps_one(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100")
    forget_the_tally(tenant, player)
    tenant.move(player, "deposit", "20")
    first = tenant.move(player, "withdrawal", "50").entry
    assert first.since_withdrawal is None
    assert Decimal(withdrawal_check(tenant, player, first.version)["deposits"]) == 120  # read from the history

    tenant.move(player, "deposit", "10")
    second = tenant.move(player, "withdrawal", "5").entry
    assert second.since_withdrawal is not None
    assert Decimal(withdrawal_check(tenant, player, second.version)["deposits"]) == 10


@pytest.fixture
def long_history(tenant: Tenant) -> tuple[Tenant, str]:
    """A wallet with 120 entries before its first withdrawal (deposits of 10, bets of 1), stored without
    a tally."""
    player = tenant.open_wallet()
    forget_the_tally(tenant, player)
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
    assert store.since_last_withdrawal(tenant.operator_id, player, version) == SinceWithdrawal(7 * UNITS, 2 * UNITS)
    # Three entries back to the withdrawal, found in the first page: 121 older entries were never read.
    assert read == [(WITHDRAWAL_LOOKBACK_PAGE, WITHDRAWAL_LOOKBACK_PAGE)]


def test_a_first_withdrawal_sums_the_whole_history_in_growing_pages(long_history: tuple[Tenant, str]) -> None:
    tenant, player = long_history
    version = tenant.move(player, "withdrawal", "5").entry.version

    store = AnomalyStore()
    read = pages_read(store)
    assert store.since_last_withdrawal(tenant.operator_id, player, version) == SinceWithdrawal(600 * UNITS, 60 * UNITS)
    first = WITHDRAWAL_LOOKBACK_PAGE
    assert [limit for limit, _ in read] == [first, 2 * first, 4 * first, 8 * first]  # 16+32+64 = 112 < 120
    assert sum(count for _, count in read) == 120
