"""Throttling and ``TransactionConflict``: retried within a time budget, then a retryable error with
nothing committed.

DynamoDB refuses ``TransactWriteItems`` (the injected answer never reaches DynamoDB, so nothing is
written). botocore sends each call once; Kassa reads, decides and tries to commit again after a jittered
pause for as long as the request's budget lasts (``KASSA_RETRY_BUDGET_MS`` for the native API,
``KASSA_ONEWALLET_RETRY_BUDGET_MS`` for One Wallet, never past the Lambda invocation's end). The bound is
time, not a count: a slower store gets fewer attempts within the same budget. Then Kassa gives up:
native 503 ``temporarily_unavailable`` with ``Retry-After``, One Wallet ``TEMPORARY_ERROR``; the
wallet's partition is byte-identical. A refused connection (nothing sent) is handled the same way.
When the failures are transient, the movement is applied exactly once.

The tests that measure what a budget allows run on a fake clock (``clock``: each DynamoDB send takes
5 ms of it, a pause as long as its jitter allows): what they see then depends on the budget, the back-off
and the store's speed, not on how busy this machine is. The others run on the real clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import EndpointConnectionError

from kassa.deadline import ANSWER_MARGIN_SECONDS
from kassa.settings import settings
from kassa.store.outcomes import BACKOFF_CAP_SECONDS
from kassa_dev.gateway import HttpResponse, LambdaContext
from tests.conftest import Api
from tests.faults.conftest import (
    DEPOSITED,
    READ,
    STORE_LATENCY_SECONDS,
    WRITE,
    D,
    Faults,
    OneWallet,
    Raw,
    assert_bet_applied_once_when_sent_again,
    assert_bet_not_committed,
    assert_ledger,
    assert_reply,
    bet,
    funded,
    pending,
)
from tests.faults.fake_clock import FakeClock

REFUSALS = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "TransactionConflict",  # TransactionCanceledException, reason TransactionConflict
    "InternalServerError",  # HTTP 500: for a write, maybe committed; reading again decides
    "connection-refused",  # EndpointConnectionError: the request never reached DynamoDB
]
# Small, so that a refused request gives up soon; on the real clock, still many attempts' worth.
BUDGET_MS = 150
RetryBudget = Callable[[int | None], None]


def refusal(name: str) -> str | Exception:
    if name == "connection-refused":
        return EndpointConnectionError(endpoint_url="http://dynamodb.local")
    return name


def assert_given_up(response: HttpResponse) -> None:
    """The native answer when the budget ran out: retry, nothing was committed."""
    assert response.status == 503, response.body
    assert response.headers.get("content-type") == "application/problem+json", response.headers
    assert response.json()["code"] == "temporarily_unavailable", response.body
    assert int(response.headers["retry-after"]) >= 1, response.headers


def assert_commits_sent_once_each(calls: dict[str, int], sends: dict[str, int], commits: int) -> None:
    """``commits`` commit calls, each sent once by botocore, after a read that decided the movement (a
    refused commit is sent again as decided, or decided again: never more reads than commits)."""
    assert sends[WRITE] == calls[WRITE] == commits, (calls, sends, commits)
    assert 1 <= calls[READ] <= calls[WRITE], calls


def assert_tried_again_and_again(calls: dict[str, int], sends: dict[str, int], refused: int) -> None:
    """More than one attempt, every one refused."""
    assert calls[WRITE] >= 2, calls
    assert_commits_sent_once_each(calls, sends, refused)


# -- refused until the budget is spent ----------------------------------------------------------------


@pytest.mark.parametrize("error", REFUSALS)
def test_native_bet_refused_every_time_gives_up_when_the_budget_is_spent_with_nothing_committed(
    api: Api, faults: Faults, raw: Raw, retry_budget: RetryBudget, error: str
) -> None:
    player = funded(api)
    retry_budget(BUDGET_MS)
    before = raw.partition(player)
    refused = faults.fail_sends(refusal(error))

    response = bet(api, player)
    calls, sends = faults.stop()

    assert_given_up(response)
    assert faults.botocore_attempts == 1
    assert_tried_again_and_again(calls, sends, refused.count)
    assert_bet_not_committed(api, raw, player, before)
    # Once DynamoDB accepts writes again, the same request is applied, once.
    assert_bet_applied_once_when_sent_again(api, player)


@pytest.mark.parametrize("error", ["ThrottlingException", "TransactionConflict"])
@pytest.mark.parametrize("method", ["debit", "credit"])
def test_onewallet_refused_every_time_answers_temporary_error_with_nothing_committed(
    api: Api, onewallet: OneWallet, faults: Faults, raw: Raw, retry_budget: RetryBudget, method: str, error: str
) -> None:
    move = pending(api, onewallet, method)
    retry_budget(BUDGET_MS)
    before = raw.partition(move.player)
    refused = faults.fail_sends(error)

    reply = onewallet.call(method, move.body)
    calls, sends = faults.stop()

    assert reply["status"] == "TEMPORARY_ERROR", reply
    assert_tried_again_and_again(calls, sends, refused.count)
    assert raw.partition(move.player) == before
    move.assert_not_applied(api)
    move.assert_applied_once_when_sent_again(api, onewallet)


def test_onewallet_temporary_error_carries_the_current_balance(
    api: Api, onewallet: OneWallet, faults: Faults, retry_budget: RetryBudget
) -> None:
    """ONEWALLET.md: "Non-OK responses carry the current balance and bonus where the user is known."
    Kassa read the wallet (on every attempt) before giving up: the user is known, the balance unchanged."""
    player = funded(api)
    sid = onewallet.session(player)
    retry_budget(BUDGET_MS)
    faults.fail_sends("TransactionConflict")
    reply = onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10))
    faults.remove_all()
    assert_reply(reply, "TEMPORARY_ERROR", "100")


# -- the bound is time --------------------------------------------------------------------------------


def test_a_slower_store_gets_fewer_attempts_within_the_same_budget(
    api: Api, faults: Faults, raw: Raw, retry_budget: RetryBudget, clock: FakeClock
) -> None:
    """The same budget and the same refusal; the second time every DynamoDB send (read or write) takes
    40 ms more. A count of attempts would be the same both times; a time budget pays for fewer slow ones."""
    player = funded(api)
    retry_budget(BUDGET_MS)
    before = raw.partition(player)
    faults.fail_sends("TransactionConflict")

    fast = api.move(player, "withdrawal", "1", transactionId="t1")
    fast_calls = dict(faults.calls)
    faults.slow_sends(clock, 0.040)
    slow = api.move(player, "withdrawal", "1", transactionId="t2")
    slow_calls, slow_sends = faults.stop()

    assert_given_up(fast)
    assert_given_up(slow)
    assert_commits_sent_once_each(slow_calls, slow_sends, slow_calls[WRITE])
    assert 2 <= slow_calls[WRITE] < fast_calls[WRITE], (slow_calls, fast_calls)
    assert raw.partition(player) == before


def commits_sent(api: Api, onewallet: OneWallet, faults: Faults, clock: FakeClock, interface: str) -> list[float]:
    """A movement whose commits are refused every time, given up: when each commit was sent, in seconds
    of the fake clock after its first read (when its budget started)."""
    player = funded(api)
    sid = onewallet.session(player)
    faults.fail_sends("TransactionConflict")
    sent: dict[str, list[float]] = {READ: [], WRITE: []}
    for operation, times in sent.items():
        faults.on(f"before-send.dynamodb.{operation}", lambda times=times, **_: times.append(clock.now))
    if interface == "native":
        assert_given_up(api.move(player, "withdrawal", "1", transactionId="t1"))
    else:
        assert_reply(onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10)), "TEMPORARY_ERROR", "100")
    calls, sends = faults.stop()
    assert_tried_again_and_again(calls, sends, len(sent[WRITE]))
    return [write - sent[READ][0] for write in sent[WRITE]]


def assert_spent(commits: list[float], budget: float) -> None:
    """Tried until the budget was spent: the last commit was sent once one more pause and attempt would
    not fit, and none after the budget ended but the one its last read had decided (a read, a write)."""
    send = STORE_LATENCY_SECONDS
    assert budget - BACKOFF_CAP_SECONDS - 2 * send < commits[-1] < budget + send, (commits[-1], budget)


@pytest.mark.parametrize("interface", ["native", "onewallet"])
def test_the_default_budgets_are_the_settings(
    api: Api,
    onewallet: OneWallet,
    faults: Faults,
    retry_budget: RetryBudget,
    clock: FakeClock,
    interface: str,
) -> None:
    """Without KASSA_RETRY_BUDGET_MS / KASSA_ONEWALLET_RETRY_BUDGET_MS, a native request keeps trying
    for 2 s, a One Wallet call for 600 ms (a provider waits ~700 ms for its answer)."""
    retry_budget(None)
    assert (settings().retry_budget_seconds, settings().onewallet_retry_budget_seconds) == (2.0, 0.6)
    commits = commits_sent(api, onewallet, faults, clock, interface)
    assert_spent(commits, 2.0 if interface == "native" else 0.6)


@pytest.mark.parametrize("interface", ["native", "onewallet"])
def test_no_request_keeps_trying_past_its_lambda_invocation(
    api: Api,
    onewallet: OneWallet,
    faults: Faults,
    retry_budget: RetryBudget,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    interface: str,
) -> None:
    """A budget of 5 s in an invocation that has 400 ms left: Kassa stops trying in time to answer."""
    retry_budget(5000)
    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", staticmethod(lambda: 400))
    commits = commits_sent(api, onewallet, faults, clock, interface)
    assert_spent(commits, 0.4 - ANSWER_MARGIN_SECONDS)


# -- transient refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("error", REFUSALS)
def test_native_commit_refused_twice_then_accepted_is_applied_once(
    api: Api, faults: Faults, raw: Raw, error: str
) -> None:
    """Two commits are refused, each sent once by botocore and tried again by Kassa; the third commits."""
    player = funded(api)
    refused = faults.fail_sends(refusal(error), times=2)

    response = bet(api, player)
    calls, sends = faults.stop()

    assert response.status == 201, response.body
    assert "idempotent-replayed" not in response.headers
    assert refused.count == 2
    assert_commits_sent_once_each(calls, sends, 3)
    assert_ledger(api, player, "90", [*DEPOSITED, ("t1", "bet", "10", "b1")])
    stored = raw.bet(player, "b1")
    assert stored is not None and stored["state"]["S"] == "open", stored
    body = response.json()
    assert D(body["transaction"]["balanceAfter"]) == D(body["wallet"]["balance"]) == D(90), body


def test_onewallet_debit_refused_twice_then_accepted_is_applied_once(
    api: Api, onewallet: OneWallet, faults: Faults
) -> None:
    player = funded(api)
    sid = onewallet.session(player)
    faults.fail_sends("TransactionConflict", times=2)
    reply = onewallet.call("debit", onewallet.tx(player, sid, "d1", "r1", 10))
    calls, sends = faults.stop()
    assert_reply(reply, "OK", "90")
    assert calls[WRITE] == sends[WRITE] == 3, (calls, sends)
    assert_ledger(api, player, "90", [*DEPOSITED, ("d1", "bet", "10", "r1")])
