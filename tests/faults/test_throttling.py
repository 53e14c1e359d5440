"""Throttling and ``TransactionConflict``: bounded retries, then a retryable error with nothing committed.

DynamoDB refuses every ``TransactWriteItems`` (the injected answer never reaches DynamoDB, so nothing is
written). Two retry loops are at work: botocore's standard mode re-sends throttling and 5xx errors
(``total_max_attempts`` HTTP attempts per call), and Kassa re-reads and re-decides after each failed
commit, ``KASSA_MAX_ATTEMPTS`` times at most. Then Kassa gives up: native 503 ``temporarily_unavailable``
with ``Retry-After``, One Wallet ``TEMPORARY_ERROR``; the wallet's partition is byte-identical.
A refused connection (nothing sent) is handled the same way.
When the failures are transient, the movement is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import EndpointConnectionError

from kassa.settings import settings
from tests.conftest import Api
from tests.faults.conftest import (
    READ,
    WRITE,
    D,
    Faults,
    OneWallet,
    Raw,
    assert_ledger,
    assert_reply,
    funded,
)

# Error, and whether botocore's standard retry mode re-sends it by itself.
REFUSALS = {
    "ThrottlingException": True,
    "ProvisionedThroughputExceededException": True,
    "TransactionConflict": False,  # TransactionCanceledException, reason TransactionConflict
    "InternalServerError": True,  # HTTP 500
    "connection-refused": True,  # EndpointConnectionError: the request never reached DynamoDB
}
BOUND = 3


def refusal(name: str) -> str | Exception:
    if name == "connection-refused":
        return EndpointConnectionError(endpoint_url="http://dynamodb.local")
    return name


def sends_per_call(faults: Faults, error: str) -> int:
    return faults.botocore_attempts if REFUSALS[error] else 1


@pytest.mark.parametrize("error", REFUSALS)
def test_native_bet_refused_every_time_gives_up_after_the_bound_with_nothing_committed(
    api: Api, faults: Faults, raw: Raw, max_attempts: Callable[[int], int], error: str
) -> None:
    player = funded(api)
    max_attempts(BOUND)
    before = raw.partition(player)
    refused = faults.fail_sends(refusal(error))

    response = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    calls, sends = dict(faults.calls), dict(faults.sends)
    faults.remove_all()

    assert response.status == 503, response.body
    assert response.headers.get("content-type") == "application/problem+json", response.headers
    assert response.json()["code"] == "temporarily_unavailable", response.body
    assert int(response.headers["retry-after"]) >= 1, response.headers
    # Bounded: Kassa read and tried to commit BOUND times, botocore re-sent each commit its own way.
    assert calls[READ] == BOUND, calls
    assert calls[WRITE] == BOUND, calls
    assert sends[WRITE] == refused.count == BOUND * sends_per_call(faults, error), (sends, refused)
    # Nothing committed: no entry, no bet, the wallet as it was (balance, version, hash).
    assert raw.partition(player) == before
    assert raw.entry(player, "t1", "bet") is None and raw.bet(player, "b1") is None
    assert_ledger(api, player, "100", [("dep", "deposit", "100", None)])

    # Once DynamoDB accepts writes again, the same request is applied, once.
    again = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    assert again.status == 201, again.body
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1")])


def test_the_default_bound_is_kassa_max_attempts(api: Api, faults: Faults, raw: Raw) -> None:
    """Without KASSA_MAX_ATTEMPTS set by the test, the bound is the setting (12 by default)."""
    player = funded(api)
    before = raw.partition(player)
    faults.fail_sends("TransactionConflict")
    response = api.move(player, "withdrawal", "1", transactionId="t1")
    calls = dict(faults.calls)
    faults.remove_all()
    assert response.status == 503 and response.json()["code"] == "temporarily_unavailable", response.body
    assert calls[WRITE] == calls[READ] == settings().max_attempts, calls
    assert raw.partition(player) == before


@pytest.mark.parametrize("error", ["ThrottlingException", "TransactionConflict"])
@pytest.mark.parametrize("method", ["debit", "credit"])
def test_onewallet_refused_every_time_answers_temporary_error_with_nothing_committed(
    api: Api,
    onewallet: OneWallet,
    faults: Faults,
    raw: Raw,
    max_attempts: Callable[[int], int],
    method: str,
    error: str,
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    assert_reply(onewallet.call("debit", onewallet.tx(player, sid, "d0", "r0", 10)), "OK", "90")
    max_attempts(BOUND)
    before = raw.partition(player)
    body = onewallet.tx(player, sid, "d1", "r1", 10) if method == "debit" else onewallet.tx(player, sid, "c1", "r0", 15)
    faults.fail_sends(error)

    reply = onewallet.call(method, body)
    calls, sends = dict(faults.calls), dict(faults.sends)
    faults.remove_all()

    assert reply["status"] == "TEMPORARY_ERROR", reply
    assert calls[WRITE] == BOUND and sends[WRITE] == BOUND * sends_per_call(faults, error), (calls, sends)
    assert raw.partition(player) == before
    expected_before = [("dep", "deposit", "100", None), ("d0", "bet", "10", "r0")]
    assert_ledger(api, player, "90", expected_before)

    # The provider retries later: applied once.
    again = onewallet.call(method, {**body, "uuid": "retry-" + body["uuid"]})
    assert_reply(again, "OK", "80" if method == "debit" else "105")
    move = ("d1", "bet", "10", "r1") if method == "debit" else ("c1", "win", "15", "r0")
    assert_ledger(api, player, "80" if method == "debit" else "105", [*expected_before, move])


def test_onewallet_temporary_error_carries_the_current_balance(
    api: Api, onewallet: OneWallet, faults: Faults, max_attempts: Callable[[int], int]
) -> None:
    """ONEWALLET.md: "Non-OK responses carry the current balance and bonus where the user is known."
    Kassa read the wallet (BOUND times) before giving up: the user is known, the balance unchanged."""
    player = funded(api)
    sid = onewallet.session(player)
    max_attempts(BOUND)
    faults.fail_sends("TransactionConflict")
    reply = onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10))
    faults.remove_all()
    assert reply["status"] == "TEMPORARY_ERROR", reply
    assert_reply(reply, "TEMPORARY_ERROR", "100")


# -- transient refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("error", REFUSALS)
def test_native_commit_refused_twice_then_accepted_is_applied_once(
    api: Api, faults: Faults, raw: Raw, max_attempts: Callable[[int], int], error: str
) -> None:
    """Kassa's loop: two whole commits fail (each after botocore's own attempts), the third commits."""
    player = funded(api)
    max_attempts(BOUND)
    refused = faults.fail_calls(refusal(error), times=2)

    response = api.move(player, "bet", "10", transactionId="t1", betId="b1")
    calls, sends = dict(faults.calls), dict(faults.sends)
    faults.remove_all()

    assert response.status == 201, response.body
    assert "idempotent-replayed" not in response.headers
    assert calls[WRITE] == calls[READ] == 3, calls
    assert sends[WRITE] == refused.count + 1 == 2 * sends_per_call(faults, error) + 1, (sends, refused)
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("t1", "bet", "10", "b1")])
    stored = raw.bet(player, "b1")
    assert stored is not None and stored["state"]["S"] == "open", stored
    body = response.json()
    assert D(body["transaction"]["balanceAfter"]) == D(body["wallet"]["balance"]) == D(90)


@pytest.mark.parametrize("error", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_native_sends_throttled_twice_are_retried_by_botocore_within_one_commit(
    api: Api, faults: Faults, error: str
) -> None:
    """botocore's loop: the first two HTTP attempts are throttled, the third commits; Kassa sees one call."""
    player = funded(api)
    faults.fail_sends(error, times=2)
    response = api.move(player, "deposit", "7", transactionId="t1")
    calls, sends = dict(faults.calls), dict(faults.sends)
    faults.remove_all()
    assert response.status == 201, response.body
    assert calls[WRITE] == 1 and sends[WRITE] == 3, (calls, sends)
    assert_ledger(api, player, "107", [("dep", "deposit", "100", None), ("t1", "deposit", "7", None)])


def test_onewallet_debit_refused_twice_then_accepted_is_applied_once(
    api: Api, onewallet: OneWallet, faults: Faults, max_attempts: Callable[[int], int]
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    max_attempts(BOUND)
    faults.fail_calls("TransactionConflict", times=2)
    reply = onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10))
    calls = dict(faults.calls)
    faults.remove_all()
    assert_reply(reply, "OK", "90")
    assert calls[WRITE] == 3, calls
    assert_ledger(api, player, "90", [("dep", "deposit", "100", None), ("d1", "bet", "10", "r1")])
