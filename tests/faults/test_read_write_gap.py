"""A failure between the read and the write: nothing half-written.

The movement's read (one ``BatchGetItem``) succeeds, then the process fails before its
``TransactWriteItems`` reaches DynamoDB: an exception raised as the write is about to be sent, or
``LedgerStore.commit`` dying with something that is not a DynamoDB error (a defect, a process being
stopped), which Kassa does not try again. No entry, no bet item, the wallet item byte-identical; the
answer is a retryable error; a retry of the request applies it once. (A refused connection is not a dead
process: Kassa retries it, see test_throttling. A write DynamoDB refuses for good is answered at once as
a refusal, not as "retry": see test_permanent_refusal.)
"""

from __future__ import annotations

from typing import Any

import pytest

from kassa.store.ledger_store import LedgerStore
from tests.conftest import Api, new_id
from tests.faults.conftest import (
    READ,
    Faults,
    OneWallet,
    Raw,
    assert_ledger,
    assert_reply,
    funded,
)


class ProcessDied(Exception):
    """Stands for whatever kills a request between its read and its write (a bug, an OOM, a timeout)."""


def die_on_first_commit(monkeypatch: pytest.MonkeyPatch, error: Exception) -> dict[str, int]:
    """``LedgerStore.commit`` raises ``error`` the first time, before it writes anything."""
    real = LedgerStore.commit
    seen = {"commits": 0}

    def commit(self: LedgerStore, *args: Any, **kwargs: Any) -> None:
        seen["commits"] += 1
        if seen["commits"] == 1:
            raise error
        real(self, *args, **kwargs)

    monkeypatch.setattr(LedgerStore, "commit", commit)
    return seen


GAPS = ["raise-before-send", "commit-dies"]


def open_the_gap(gap: str, faults: Faults, monkeypatch: pytest.MonkeyPatch) -> None:
    if gap == "raise-before-send":
        faults.crash_before_send(ProcessDied("killed after the read"))
    else:
        faults.reset_counts()
        die_on_first_commit(monkeypatch, ProcessDied("killed after the read"))


@pytest.mark.parametrize("gap", GAPS)
def test_native_bet_failing_between_read_and_write_leaves_nothing_and_is_applied_once_on_retry(
    api: Api, faults: Faults, raw: Raw, monkeypatch: pytest.MonkeyPatch, gap: str
) -> None:
    player = funded(api)
    before = raw.partition(player)
    wallet_before = raw.wallet(player)
    open_the_gap(gap, faults, monkeypatch)

    response = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    calls = dict(faults.calls)
    monkeypatch.undo()
    faults.remove_all()

    assert calls[READ] == 1, calls  # the read happened (once: the failure is not retried by Kassa)
    # Nothing half-written: no entry, no bet, the wallet item untouched, nothing else in the partition.
    assert raw.entry(player, "t1", "bet") is None
    assert raw.bet(player, "b1") is None
    assert raw.wallet(player) == wallet_before
    assert raw.partition(player) == before
    assert_ledger(api, player, "100", [("dep", "deposit", "100", None)])
    # A retryable error.
    assert response.status == 503, response.body
    assert response.json()["code"] == "temporarily_unavailable", response.body
    assert int(response.headers["retry-after"]) >= 1, response.headers

    # The retry applies it, once.
    retry = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    assert retry.status == 201, retry.body
    again = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true", again.body
    assert again.json() == retry.json()
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1")])
    stored = raw.bet(player, "b1")
    assert stored is not None and stored["state"]["S"] == "open" and stored["transactionId"]["S"] == "t1", stored


@pytest.mark.parametrize("gap", GAPS)
def test_native_win_failing_between_read_and_write_leaves_the_bet_open(
    api: Api, faults: Faults, raw: Raw, monkeypatch: pytest.MonkeyPatch, gap: str
) -> None:
    """A settlement touches the bet item with an update: it must not be half-applied either."""
    player = funded(api)
    assert api.move(player, "bet", "10", transactionId="t1", betId="b1").status == 201
    before = raw.partition(player)
    open_the_gap(gap, faults, monkeypatch)

    response = api.move(player, "win", "30", transactionId="t2", betId="b1")
    monkeypatch.undo()
    faults.remove_all()

    assert response.status == 503 and response.json()["code"] == "temporarily_unavailable", response.body
    assert raw.partition(player) == before
    stored = raw.bet(player, "b1")
    assert stored is not None and stored["state"]["S"] == "open", stored

    retry = api.move(player, "win", "30", transactionId="t2", betId="b1")
    assert retry.status == 201, retry.body
    expected = [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1"), ("t2", "win", "30", "b1")]
    assert_ledger(api, player, "120", expected)
    stored = raw.bet(player, "b1")
    assert stored is not None and stored["state"]["S"] == "settled" and stored["settledBy"]["S"] == "t2", stored


@pytest.mark.parametrize("gap", GAPS)
def test_onewallet_debit_failing_between_read_and_write_leaves_nothing_and_is_applied_once_on_retry(
    api: Api, onewallet: OneWallet, faults: Faults, raw: Raw, monkeypatch: pytest.MonkeyPatch, gap: str
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    before = raw.partition(player)
    body = onewallet.tx(player, sid, "d1", "r1", 10)
    open_the_gap(gap, faults, monkeypatch)

    reply = onewallet.call("debit", body)
    calls = dict(faults.calls)
    monkeypatch.undo()
    faults.remove_all()

    assert calls[READ] == 1, calls
    assert raw.partition(player) == before
    assert raw.entry(player, "d1", "bet") is None and raw.bet(player, "r1") is None
    assert_ledger(api, player, "100", [("dep", "deposit", "100", None)])
    # Nothing was committed, so the answer tells the provider to try again (ONEWALLET.md: TEMPORARY_ERROR
    # is "retryable, nothing committed"; UNKNOWN_ERROR is what an unclassified failure gets).
    assert reply["status"] in ("TEMPORARY_ERROR", "UNKNOWN_ERROR"), reply

    retry = onewallet.call("debit", {**body, "uuid": new_id("uuid")})
    assert_reply(retry, "OK", "90")
    duplicate = onewallet.call("debit", {**body, "uuid": new_id("uuid")})
    assert_reply(duplicate, "BET_ALREADY_EXIST", "90")
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("d1", "bet", "10", "r1")])
