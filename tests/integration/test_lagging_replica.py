"""A movement's first read is eventually consistent (docs/decisions.md 42): what a lagging replica shows
never decides an answer on its own. Every read of Kassa's client here is answered as the item was a
moment ago whenever it was written within the lag (the embedded DynamoDB's realistic mode, stale=1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from kassa.domain.model import Action
from kassa.domain.movements import MovementRequest
from kassa.store.ledger_store import LedgerStore
from kassa_dev import realistic
from tests.conftest import Api

LAG = 0.5


@pytest.fixture
def lagging() -> Iterator[None]:
    realistic.configure(enabled=True, stale=1.0, lag_seconds=LAG)
    yield
    realistic.configure()


@pytest.mark.usefixtures("lagging")
def test_a_wallet_just_opened_takes_its_first_deposit(api: Api) -> None:
    player = api.open_wallet()
    # The replica does not have the wallet yet; "no such wallet" commits nothing, so it is read again.
    deposit = api.move(player, "deposit", "10")
    assert deposit.status == 201, deposit.body
    assert realistic.counts()["stale"] >= 1
    assert api.balance(player) == "10.000000"


def moved_on_a_stale_read(api: Api, player: str, type_: str, amount: str, **fields: str) -> tuple[Any, dict[str, int]]:
    """The movement's answer, and the DynamoDB requests it took (the authorizer's read of the API key apart),
    once it is shown that a replica answered a read of it with an older item."""
    stale, before = realistic.counts().get("stale", 0), realistic.requests()
    answer = api.move(player, type_, amount, **fields)
    assert realistic.counts()["stale"] > stale
    now = realistic.requests()
    return answer, {op: now[op] - before.get(op, 0) for op in ("BatchGetItem", "TransactWriteItems") if op in now}


@pytest.mark.usefixtures("lagging")
def test_a_withdrawal_right_after_a_deposit_sees_the_deposit(api: Api) -> None:
    player = api.open_wallet()
    time.sleep(LAG)  # the replica has the wallet, with nothing in it
    assert api.move(player, "deposit", "10").status == 201
    withdrawal, sent = moved_on_a_stale_read(api, player, "withdrawal", "10")  # the replica still shows 0
    assert withdrawal.status == 201, withdrawal.body
    # Decided on 0 (a refusal), read again consistently, decided and committed on 10.
    assert sent == {"BatchGetItem": 2, "TransactWriteItems": 1}
    assert api.balance(player) == "0.000000"


@pytest.mark.usefixtures("lagging")
def test_a_retry_right_after_its_answer_gets_the_same_answer(api: Api) -> None:
    player = api.open_wallet()
    assert api.move(player, "deposit", "50").status == 201
    time.sleep(LAG)  # the replica has the wallet and the deposit
    first = api.move(player, "bet", "10", transactionId="lag-b", betId="lag-r")
    # The replica lacks the entry: answered from the refused commit, which carries it; nothing written.
    again, sent = moved_on_a_stale_read(api, player, "bet", "10", transactionId="lag-b", betId="lag-r")
    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert sent == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert api.balance(player) == "40.000000"


@pytest.mark.usefixtures("lagging")
def test_a_replay_found_on_a_lagging_read_comes_with_the_wallet_as_it_is_now(api: Api) -> None:
    player = api.open_wallet()
    assert api.move(player, "deposit", "5", transactionId="lag-d1").status == 201
    time.sleep(LAG)  # the replica has the first deposit, entry and wallet
    assert api.move(player, "deposit", "7", transactionId="lag-d2").status == 201
    stale = realistic.counts().get("stale", 0)
    state, _ = LedgerStore().load("demo", player, MovementRequest(Action.DEPOSIT, "lag-d1", Decimal(5)), lean=True)
    assert realistic.counts()["stale"] > stale  # the replica answered with the wallet before lag-d2
    assert state.existing is not None and state.existing.transaction_id == "lag-d1"
    assert state.wallet is not None and (state.wallet.version, state.wallet.balance) == (2, 12_000_000)
