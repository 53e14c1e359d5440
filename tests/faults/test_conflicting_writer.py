"""A condition fails in the middle of the transaction: another writer got there between our read and write.

The other writer runs from a ``before-call`` hook on our first ``TransactWriteItems``: after our read
(one ``BatchGetItem``) decided the movement, before our write is sent. It is Kassa itself (``move_money``
or ``set_wallet_status``) on a separate client that carries no hooks, or a raw write of one item.
Our transaction's conditions (wallet version and status, entry absent, bet state) then fail; DynamoDB
cancels it whole; Kassa decides again against the new state (read again, or the wallet as the
cancellation returned it when the wallet's condition alone failed): a rejection, recorded, with all or
nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kassa import ledger
from kassa.domain.model import Action, WalletStatus
from kassa.domain.movements import MovementRequest
from kassa.store.ledger_store import LedgerStore
from kassa_dev import realistic
from kassa_dev.stack import LocalStack
from tests.conftest import Api, locked_by_test, new_id
from tests.faults.conftest import (
    OPERATOR,
    READ,
    WRITE,
    Faults,
    OneWallet,
    Raw,
    assert_ledger,
    assert_reply,
    funded,
    key,
)


@pytest.fixture
def other(stack: LocalStack) -> LedgerStore:
    """Another Kassa process: its own DynamoDB client, so none of the test's hooks fire on it."""
    return LedgerStore(client=stack.client("dynamodb"))


def other_move(
    store: LedgerStore, player: str, action: Action, tx: str, amount: str | None, bet: str | None = None
) -> Callable[[], None]:
    def run() -> None:
        amount_ = Decimal(amount) if amount is not None else None
        ledger.move_money(store, OPERATOR, player, MovementRequest(action, tx, amount_, bet_id=bet))

    return run


def rejected_entry(raw: Raw, player: str, tx: str, action: str) -> dict[str, Any]:
    """Our transaction id was decided as a rejection: recorded (so it replays), never in the history."""
    entry = raw.entry(player, tx, action)
    assert entry is not None, f"the rejection of {tx}/{action} was not recorded"
    assert entry["outcome"]["S"] == "rejected" and "entryVersion" not in entry, entry
    return entry


def interleaved(faults: Faults) -> tuple[dict[str, int], int]:
    calls = dict(faults.calls)
    faults.remove_all()
    return calls, calls.get(WRITE, 0)


@pytest.fixture
def replicas_caught_up() -> None:
    """Every eventually consistent read sees the latest write: the reads counted here are those of the
    writers' interleaving, not of a lagging replica (whose extra rounds the contention suite and the bank
    workload run through)."""
    realistic.configure(enabled=True, stale=0.0)


@pytest.mark.parametrize("settled_by", ["win", "refund"])
@pytest.mark.parametrize("ours", ["win", "refund"])
@pytest.mark.usefixtures("replicas_caught_up")
def test_native_settlement_of_a_bet_settled_meanwhile_is_rejected_as_already_settled(
    api: Api, faults: Faults, raw: Raw, other: LedgerStore, ours: str, settled_by: str
) -> None:
    player = funded(api)
    assert api.move(player, "bet", "10", transactionId="t1", betId="b1").status == 201
    amount = "30" if settled_by == "win" else None
    faults.before_first_write(other_move(other, player, Action(settled_by), "other", amount, "b1"))

    response = api.move(player, ours, "50" if ours == "win" else None, transactionId="t2", betId="b1")
    calls, writes = interleaved(faults)

    # Our first write was cancelled whole; Kassa read again, decided again, recorded the rejection.
    assert calls[READ] == 2 and writes == 2, calls
    assert response.status == 409, response.body
    assert response.json()["code"] == "bet_already_settled", response.body
    after = "120" if settled_by == "win" else "100"
    settle_amount = "30" if settled_by == "win" else "10"
    expected = [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1"), ("other", settled_by, settle_amount, "b1")]
    assert_ledger(api, player, after, expected)
    bet = raw.bet(player, "b1")
    assert bet is not None and bet["state"]["S"] == ("settled" if settled_by == "win" else "cancelled"), bet
    assert bet["settledBy"]["S"] == "other", bet
    rejected_entry(raw, player, "t2", ours)

    # The decision is final for t2: a retry gets the same rejection and moves nothing.
    retry = api.move(player, ours, "50" if ours == "win" else None, transactionId="t2", betId="b1")
    assert retry.status == 409 and retry.json()["code"] == "bet_already_settled", retry.body
    assert_ledger(api, player, after, expected)


def test_native_win_whose_bet_alone_changed_meanwhile_writes_nothing_of_its_wallet_update(
    api: Api, faults: Faults, raw: Raw, stack: LocalStack
) -> None:
    """Only the bet's condition fails (the wallet's version and status are still the ones read): the
    wallet update and the entry, whose own conditions hold, are not applied either. All or nothing."""
    player = funded(api)
    assert api.move(player, "bet", "10", transactionId="t1", betId="b1").status == 201
    wallet_before = raw.wallet(player)
    client = stack.client("dynamodb")

    def settle_the_bet_item_only() -> None:
        client.update_item(
            TableName=stack.table,
            Key=key(player, "BET#b1"),
            UpdateExpression="SET #state = :settled, settledBy = :by",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":settled": {"S": "settled"}, ":by": {"S": "elsewhere"}},
        )

    faults.before_first_write(settle_the_bet_item_only)
    response = api.move(player, "win", "50", transactionId="t2", betId="b1")
    calls, writes = interleaved(faults)

    assert writes == 2, calls
    assert response.status == 409 and response.json()["code"] == "bet_already_settled", response.body
    # No win credited, no version taken: the wallet item is exactly as it was.
    assert raw.wallet(player) == wallet_before
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1")])
    bet = raw.bet(player, "b1")
    assert bet is not None and bet["settledBy"]["S"] == "elsewhere", bet
    rejected_entry(raw, player, "t2", "win")


def test_native_withdrawal_whose_funds_were_spent_meanwhile_is_rejected(
    api: Api, faults: Faults, raw: Raw, other: LedgerStore
) -> None:
    player = funded(api)
    faults.before_first_write(other_move(other, player, Action.WITHDRAWAL, "other", "50"))
    response = api.move(player, "withdrawal", "80", transactionId="t1")
    calls, writes = interleaved(faults)

    assert writes == 2, calls
    assert response.status == 409 and response.json()["code"] == "insufficient_funds", response.body
    assert_ledger(api, player, "50", [("dep", "deposit", "100", None), ("other", "withdrawal", "50", None)])
    rejected_entry(raw, player, "t1", "withdrawal")
    retry = api.move(player, "withdrawal", "80", transactionId="t1")
    assert retry.status == 409 and retry.json()["code"] == "insufficient_funds", retry.body
    assert_ledger(api, player, "50", [("dep", "deposit", "100", None), ("other", "withdrawal", "50", None)])


def test_native_bet_whose_bet_id_was_taken_meanwhile_is_rejected(
    api: Api, faults: Faults, raw: Raw, other: LedgerStore
) -> None:
    player = funded(api)
    faults.before_first_write(other_move(other, player, Action.BET, "other", "5", "b1"))
    response = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    calls, writes = interleaved(faults)

    # Re-read: the bet id is taken, which is a duplicate (decided without a write), not a recorded rejection.
    assert calls[READ] == 2 and writes == 1, calls
    assert response.status == 409 and response.json()["code"] == "bet_already_exists", response.body
    assert_ledger(api, player, "95", [("dep", "deposit", "100", None), ("other", "bet", "5", "b1")])
    bet = raw.bet(player, "b1")
    assert bet is not None and bet["transactionId"]["S"] == "other" and bet["amount"]["N"] == "5000000", bet
    assert raw.entry(player, "t1", "bet") is None


def test_native_bet_on_a_wallet_locked_meanwhile_is_refused(
    api: Api, faults: Faults, raw: Raw, other: LedgerStore
) -> None:
    """A lock changes the status, not the version: the status in the wallet condition catches it."""
    player = funded(api)
    record = locked_by_test(OPERATOR, player)
    faults.before_first_write(lambda: other.set_wallet_status(OPERATOR, player, WalletStatus.LOCKED, record))
    response = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    calls, writes = interleaved(faults)

    # Decided again on the locked wallet: read again, or as the cancelled commit returned it.
    assert writes == 2 and 1 <= calls[READ] <= 2, calls
    assert response.status == 423 and response.json()["code"] == "wallet_locked", response.body
    assert_ledger(api, player, "100", [("dep", "deposit", "100", None)])
    assert raw.bet(player, "b1") is None
    rejected_entry(raw, player, "t1", "bet")
    assert raw.wallet(player)["status"]["S"] == "locked"
    retry = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    assert retry.status == 423 and retry.json()["code"] == "wallet_locked", retry.body


# -- One Wallet ---------------------------------------------------------------------------------------


def test_onewallet_credit_of_a_bet_cancelled_meanwhile_is_already_settled(
    api: Api, onewallet: OneWallet, faults: Faults, raw: Raw, other: LedgerStore
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    assert_reply(onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10)), "OK", "90")
    faults.before_first_write(other_move(other, player, Action.REFUND, "d1", None, "r1"))
    body = onewallet.tx(player, sid, "c1", "r1", 25)

    reply = onewallet.call("credit", body)
    calls, writes = interleaved(faults)

    assert writes == 2, calls
    assert_reply(reply, "BET_ALREADY_SETTLED", "100")
    expected = [("dep", "deposit", "100", None), ("d1", "bet", "10", "r1"), ("d1", "refund", "10", "r1")]
    assert_ledger(api, player, "100", expected)
    rejected_entry(raw, player, "c1", "win")
    assert_reply(onewallet.call("credit", {**body, "uuid": new_id("uuid")}), "BET_ALREADY_SETTLED", "100")
    assert_ledger(api, player, "100", expected)


def test_onewallet_debit_whose_ref_id_was_taken_meanwhile_is_already_exist(
    api: Api, onewallet: OneWallet, faults: Faults, raw: Raw, other: LedgerStore
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    faults.before_first_write(other_move(other, player, Action.BET, "d0", "5", "r1"))
    reply = onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10))
    calls, writes = interleaved(faults)

    assert calls[READ] == 2 and writes == 1, calls
    assert_reply(reply, "BET_ALREADY_EXIST", "95")
    assert_ledger(api, player, "95", [("dep", "deposit", "100", None), ("d0", "bet", "5", "r1")])
    assert raw.entry(player, "d1", "bet") is None
