"""The store's conditions, one race at a time (deterministic interleavings, real DynamoDB semantics)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kassa import errors, ledger
from kassa.clock import now_iso
from kassa.domain.model import Action, WalletStatus
from kassa.domain.movements import Movement, MovementRequest, decide
from kassa.store.ledger_store import LedgerStore, WriteConflict
from tests.conftest import Api, locked_by_test, new_id


def decided(store: LedgerStore, player: str, request: MovementRequest) -> tuple[Movement, int]:
    state, _ = store.load("demo", player, request)
    decision = decide(state, request, now=now_iso())
    assert isinstance(decision, Movement) and state.wallet is not None
    return decision, state.wallet.version


def test_a_lock_between_read_and_write_is_not_overtaken(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    store = LedgerStore()
    bet = MovementRequest(Action.BET, new_id("tx"), Decimal("5"), bet_id="b1")
    decision, read_version = decided(store, player, bet)
    store.set_wallet_status("demo", player, WalletStatus.LOCKED, locked_by_test("demo", player))
    with pytest.raises(WriteConflict):
        store.commit(decision, read_version)
    with pytest.raises(errors.WalletLocked):
        ledger.move_money(store, "demo", player, bet)
    assert Decimal(api.balance(player)) == 10


def test_two_writers_on_one_version_only_one_commits(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    store = LedgerStore()
    first, version = decided(store, player, MovementRequest(Action.WITHDRAWAL, "w1", Decimal("10")))
    second, _ = decided(store, player, MovementRequest(Action.WITHDRAWAL, "w2", Decimal("10")))
    store.commit(first, version)
    with pytest.raises(WriteConflict):
        store.commit(second, version)
    assert Decimal(api.balance(player)) == 0


def test_the_entry_condition_stops_a_second_decision_for_one_id(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    store = LedgerStore()
    request = MovementRequest(Action.WITHDRAWAL, "same", Decimal("1"))
    decision, version = decided(store, player, request)
    store.commit(decision, version)
    # Same id decided against the new version (as a racing duplicate would be): the entry exists.
    stale = MovementRequest(Action.WITHDRAWAL, "same", Decimal("1"))
    state, _ = store.load("demo", player, MovementRequest(Action.WITHDRAWAL, "other", Decimal("1")))
    assert state.wallet is not None
    racing = decide(state, MovementRequest(Action.WITHDRAWAL, "same", Decimal("1")), now=now_iso())
    assert isinstance(racing, Movement)
    with pytest.raises(WriteConflict):
        store.commit(racing, state.wallet.version)
    replay = ledger.move_money(store, "demo", player, stale)
    assert replay.replayed and Decimal(api.balance(player)) == 9


def test_a_bet_settles_once_even_when_two_wins_race(api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    api.move(player, "bet", "5", betId="b1")
    store = LedgerStore()
    win_a, version = decided(store, player, MovementRequest(Action.WIN, "win-a", Decimal("7"), bet_id="b1"))
    win_b, _ = decided(store, player, MovementRequest(Action.WIN, "win-b", Decimal("9"), bet_id="b1"))
    store.commit(win_a, version)
    with pytest.raises(WriteConflict):
        store.commit(win_b, version + 1)  # even with a fresh version, the bet is no longer open
    assert Decimal(api.balance(player)) == 12


def test_lock_and_unlock_touch_updated_at(api: Api) -> None:
    player = api.open_wallet()
    before = api.get(f"/v1/wallets/{player}").json()["updatedAt"]
    after = api.post(f"/v1/wallets/{player}/lock").json()["updatedAt"]
    assert after > before
