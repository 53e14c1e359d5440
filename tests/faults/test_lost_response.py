"""The write commits but its response is lost.

Three ways the response of a committed ``TransactWriteItems`` goes missing. botocore sends each call
once, so in each the failure reaches Kassa as the answer to its one write call; it is ambiguous (the write
may have committed), Kassa reads again, finds its entry and answers from it:

- ``wire``: the write reaches DynamoDB and commits, and its HTTP response is lost (a read timeout);
  botocore does not send it again.
- ``error-500``: DynamoDB committed but the caller gets ``InternalServerError``.
- ``timeout``: the caller gets a ``ReadTimeoutError`` (raised from ``after-call``, after the response
  came back): the outcome is unknown to Kassa, but DynamoDB can still be read, and reading decides.

In every case the movement happens exactly once, and a retry of the request (by the caller) gets the
committed outcome: native 200 + ``Idempotent-Replayed`` with the body of the applied transaction, One
Wallet the duplicate status with the balance after the single movement. And the first answer, for a
movement that was committed, is the committed outcome, never a retryable error (ARCHITECTURE.md:
"answered as a retryable error only if nothing was committed"; ONEWALLET.md rule 13).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.conftest import Api, new_id
from tests.faults.conftest import (
    READ,
    WRITE,
    Faults,
    Injection,
    OneWallet,
    Raw,
    assert_ledger,
    assert_reply,
    client_error,
    funded,
    history,
    pending,
)

FAULTS = ["wire", "error-500", "timeout"]


def lose_first_commit_response(faults: Faults, fault: str) -> Injection:
    if fault == "wire":
        return faults.lose_response_on_the_wire(times=1)
    if fault == "error-500":
        return faults.lose_response_after_call(client_error("InternalServerError"))
    return faults.lose_response_after_call(ReadTimeoutError(endpoint_url="http://dynamodb.local"))


# (type, amount, betId, balance after) on a wallet holding 100
NATIVE = {
    "deposit": ("deposit", "25.5", None, "125.5"),
    "withdrawal": ("withdrawal", "30", None, "70"),
    "bet": ("bet", "10", "b1", "90"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("operation", NATIVE)
def test_native_movement_whose_response_is_lost_is_applied_once_and_replayed(
    api: Api, faults: Faults, raw: Raw, operation: str, fault: str
) -> None:
    player = funded(api)
    kind, amount, bet, after = NATIVE[operation]
    fields: dict[str, Any] = {"betId": bet} if bet else {}
    lost = lose_first_commit_response(faults, fault)

    first = api.move(player, kind, amount, transactionId="t1", **fields)
    calls, sends = dict(faults.calls), dict(faults.sends)
    faults.remove_all()

    assert lost.count == 1, "the fault was not injected"
    # One TransactWriteItems call by Kassa, sent once: botocore never sends a write again by itself.
    assert faults.botocore_attempts == 1
    assert calls[WRITE] == sends[WRITE] == 1, (calls, sends)
    # The movement happened, exactly once.
    expected = [("dep", "deposit", "100", None), ("t1", kind, amount, bet)]
    assert_ledger(api, player, after, expected)
    if bet:
        stored = raw.bet(player, bet)
        assert stored is not None and stored["state"]["S"] == "open", stored

    # The caller retries the same request: the committed outcome, and nothing moves.
    retry = api.move(player, kind, amount, transactionId="t1", **fields)
    assert retry.status == 200, retry.body
    assert retry.headers.get("idempotent-replayed") == "true", retry.headers
    committed = history(api, player)[-1]
    assert retry.json()["transaction"] == committed
    assert retry.json()["wallet"]["balance"] == committed["balanceAfter"]
    assert retry.json()["wallet"]["version"] == committed["version"] == 2
    assert_ledger(api, player, after, expected)

    # The first answer: the movement was committed, so it must say so, not "retry, nothing committed".
    assert first.status in (200, 201), (
        f"a committed {kind} was answered {first.status} {first.body!r} after a lost {fault} response"
    )
    assert first.json() == retry.json()


@pytest.mark.parametrize("fault", FAULTS)
def test_kassa_reading_its_own_committed_entry_reports_it_once(api: Api, faults: Faults, fault: str) -> None:
    """After a lost response, whatever its form, Kassa reads again: one more BatchGetItem, no second
    write call, and it answers from the entry it finds."""
    player = funded(api)
    lose_first_commit_response(faults, fault)
    response = api.move(player, "deposit", "5", transactionId="t1")
    calls = dict(faults.calls)
    faults.remove_all()
    assert calls[WRITE] == 1, calls
    assert calls[READ] == 2, calls  # the read that decided, then the read that found the entry
    assert response.status == 200 and response.headers.get("idempotent-replayed") == "true", response.body
    assert_ledger(api, player, "105", [("dep", "deposit", "100", None), ("t1", "deposit", "5", None)])


# -- One Wallet ---------------------------------------------------------------------------------------

DUPLICATE = {"debit": "BET_ALREADY_EXIST", "credit": "BET_ALREADY_SETTLED"}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("method", ["debit", "credit"])
def test_onewallet_movement_whose_response_is_lost_is_applied_once_and_a_retry_is_a_duplicate(
    api: Api, onewallet: OneWallet, faults: Faults, raw: Raw, method: str, fault: str
) -> None:
    move = pending(api, onewallet, method)
    lost = lose_first_commit_response(faults, fault)

    first = onewallet.call(method, move.body)
    calls, _ = faults.stop()

    assert lost.count == 1, "the fault was not injected"
    assert calls[WRITE] == 1, calls
    assert_ledger(api, move.player, move.after, move.applied)
    bet = raw.bet(move.player, str(move.move[3]))
    assert bet is not None and bet["state"]["S"] == ("open" if method == "debit" else "settled"), bet

    # The provider retries (a new uuid, the same transaction): a duplicate, with the balance after it.
    retry = onewallet.call(method, {**move.body, "uuid": new_id("uuid")})
    assert_reply(retry, DUPLICATE[method], move.after)
    assert_ledger(api, move.player, move.after, move.applied)

    # Rule 13: never TEMPORARY_ERROR/UNKNOWN_ERROR for an action that was committed.
    assert first["status"] not in ("TEMPORARY_ERROR", "UNKNOWN_ERROR"), (
        f"a committed {method} was answered {first} after a lost {fault} response"
    )
    assert_reply(first, {"OK", DUPLICATE[method]}, move.after)
