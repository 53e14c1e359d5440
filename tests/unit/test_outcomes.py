"""What a failed DynamoDB call means (``classify``), and trying again within a time budget.

``patiently`` / ``write_patiently`` run against a scripted call on a fake clock (``tests.faults.fake_clock``):
a pause advances the clock instead of sleeping, at the longest its jitter allows, so what a budget pays
for is the same on every run and nothing here waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from kassa import deadline, errors
from kassa.deadline import ANSWER_MARGIN_SECONDS, Budget, invocation
from kassa.store import outcomes
from kassa.store.outcomes import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    Outcome,
    classify,
    failed_condition_at,
    patiently,
    pause,
    write_patiently,
)
from tests.faults.fake_clock import FakeClock

URL = "https://dynamodb.eu-west-1.amazonaws.com"


def client_error(code: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    """``code`` as botocore raises it; ``reasons``: a cancelled transaction's, one per action."""
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": "injected"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, "TransactWriteItems")


def cancelled(*reasons: str) -> ClientError:
    return client_error("TransactionCanceledException", reasons=list(reasons))


CONFLICT = cancelled("None", "TransactionConflict")
CONDITION = client_error("ConditionalCheckFailedException")
LOST = ReadTimeoutError(endpoint_url=URL)
PERMANENT = cancelled("None", "ValidationError")


# -- classify ------------------------------------------------------------------------------------------

# A cancelled transaction, by its reasons (one per action): the same for a read and a write.
BY_REASONS = [
    (["ConditionalCheckFailed"], Outcome.CONDITION_FAILED),
    (["None", "ConditionalCheckFailed", "None"], Outcome.CONDITION_FAILED),
    (["TransactionConflict", "None"], Outcome.TRANSIENT),
    (["ConditionalCheckFailed", "TransactionConflict"], Outcome.TRANSIENT),
    (["ThrottlingError", "ConditionalCheckFailed"], Outcome.TRANSIENT),
    (["None", "ThrottlingError"], Outcome.TRANSIENT),
    (["ProvisionedThroughputExceeded", "None"], Outcome.TRANSIENT),
    (["ValidationError"], Outcome.PERMANENT),
    (["None", "ValidationError", "None"], Outcome.PERMANENT),
    (["ConditionalCheckFailed", "ValidationError"], Outcome.PERMANENT),
    (["TransactionConflict", "ValidationError"], Outcome.PERMANENT),
    (["ItemCollectionSizeLimitExceeded", "None"], Outcome.PERMANENT),
    (["None", "TransactionConflict", "ItemCollectionSizeLimitExceeded"], Outcome.PERMANENT),
    (["ThrottlingError", "ItemCollectionSizeLimitExceeded", "ConditionalCheckFailed"], Outcome.PERMANENT),
]


@pytest.mark.parametrize("write", [True, False])
@pytest.mark.parametrize(("reasons", "expected"), BY_REASONS)
def test_a_cancelled_transaction_is_classified_by_its_reasons(
    reasons: list[str], expected: Outcome, write: bool
) -> None:
    assert classify(cancelled(*reasons), write=write) is expected


def named(value: object) -> str | None:
    if isinstance(value, ClientError):
        return outcomes.code_of(value)
    return type(value).__name__ if isinstance(value, Exception) else None


# An error, and what it means for a write and for a read.
BY_ERROR: list[tuple[Exception, Outcome, Outcome]] = [
    (client_error("ConditionalCheckFailedException"), Outcome.CONDITION_FAILED, Outcome.CONDITION_FAILED),
    (client_error("TransactionConflictException"), Outcome.TRANSIENT, Outcome.TRANSIENT),
    (client_error("ThrottlingException"), Outcome.TRANSIENT, Outcome.TRANSIENT),
    (client_error("ProvisionedThroughputExceededException"), Outcome.TRANSIENT, Outcome.TRANSIENT),
    (client_error("RequestLimitExceeded"), Outcome.TRANSIENT, Outcome.TRANSIENT),
    # Nothing was sent: it never reached DynamoDB.
    (ConnectTimeoutError(endpoint_url=URL), Outcome.TRANSIENT, Outcome.TRANSIENT),
    (EndpointConnectionError(endpoint_url=URL), Outcome.TRANSIENT, Outcome.TRANSIENT),
    # Sent, and the answer lost or an error: a write may have committed.
    (client_error("InternalServerError", 500), Outcome.AMBIGUOUS, Outcome.TRANSIENT),
    (client_error("ServiceUnavailable", 503), Outcome.AMBIGUOUS, Outcome.TRANSIENT),
    (client_error("SomethingNewAndBroken", 502), Outcome.AMBIGUOUS, Outcome.TRANSIENT),
    (ReadTimeoutError(endpoint_url=URL), Outcome.AMBIGUOUS, Outcome.TRANSIENT),
    (ConnectionClosedError(endpoint_url=URL), Outcome.AMBIGUOUS, Outcome.TRANSIENT),
    # Refused the same way however often it is sent.
    (client_error("ValidationException"), Outcome.PERMANENT, Outcome.PERMANENT),
    (client_error("ResourceNotFoundException"), Outcome.PERMANENT, Outcome.PERMANENT),
    (client_error("SomethingNew"), Outcome.PERMANENT, Outcome.PERMANENT),
]


@pytest.mark.parametrize(("error", "as_write", "as_read"), BY_ERROR, ids=named)
def test_an_error_is_classified_by_its_code_or_kind(error: Exception, as_write: Outcome, as_read: Outcome) -> None:
    assert classify(error, write=True) is as_write
    assert classify(error, write=False) is as_read


def test_failed_condition_at_names_the_action_whose_condition_failed() -> None:
    error = cancelled("None", "ConditionalCheckFailed", "TransactionConflict")
    assert [failed_condition_at(error, index) for index in range(4)] == [False, True, False, False]
    assert not failed_condition_at(client_error("ConditionalCheckFailedException"), 0)  # not a transaction
    assert not failed_condition_at(LOST, 0)


# -- trying again within the budget --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    yield FakeClock().install(monkeypatch)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metrics ``outcomes`` adds, by name."""
    names: list[str] = []
    monkeypatch.setattr(outcomes, "metrics", SimpleNamespace(add_metric=lambda name, **_: names.append(name)))
    return names


# What a DynamoDB call takes on the fake clock (pauses shrink as a budget runs out: only calls that take
# time spend it to the end).
TAKES = 0.005


class Script:
    """A DynamoDB call that fails as scripted (the first failure for ever, if ``forever``), then answers;
    each call takes ``takes`` seconds, and ``started`` says when each began."""

    def __init__(self, clock: FakeClock, *failures: Exception, forever: bool = False, takes: float = TAKES) -> None:
        self.clock = clock
        self.failures = list(failures)
        self.forever = forever
        self.takes = takes
        self.started: list[float] = []

    @property
    def calls(self) -> int:
        return len(self.started)

    def __call__(self) -> dict[str, str]:
        self.started.append(self.clock.now)
        self.clock.advance(self.takes)
        if self.failures:
            failure = self.failures[0] if self.forever else self.failures.pop(0)
            raise failure
        return {"answer": "ok"}


def test_a_read_is_tried_again_through_conflicts_throttles_and_lost_answers(clock: FakeClock) -> None:
    throttled = client_error("ThrottlingException")
    call = Script(clock, CONFLICT, throttled, LOST, client_error("InternalServerError", 500))
    assert patiently(call, Budget.of(1.0), "read") == {"answer": "ok"}
    assert call.calls == 5 and len(clock.slept) == 4


@pytest.mark.parametrize("write", [False, True])
def test_refused_every_time_it_is_tried_until_the_budget_is_spent(clock: FakeClock, write: bool) -> None:
    call = Script(clock, CONFLICT, forever=True)
    budget = Budget.of(0.5)
    with pytest.raises(errors.TemporarilyUnavailable):
        (write_patiently if write else patiently)(call, budget, "it")
    assert call.calls >= 2 and call.calls == len(clock.slept) + 1
    # Every attempt started before the budget ended; the last once one more pause and call would not fit.
    last = call.started[-1]
    assert budget.ends - BACKOFF_CAP_SECONDS - TAKES < last < budget.ends, (last, budget)


def test_the_bound_is_time_a_slower_store_gets_fewer_attempts(clock: FakeClock) -> None:
    attempts = {}
    for takes in (TAKES, 0.05):
        call = Script(clock, CONFLICT, forever=True, takes=takes)
        with pytest.raises(errors.TemporarilyUnavailable):
            patiently(call, Budget.of(0.5), "read")
        attempts[takes] = call.calls
    assert 2 <= attempts[0.05] < attempts[TAKES], attempts


def test_a_longer_budget_pays_for_more_attempts(clock: FakeClock) -> None:
    attempts = []
    for seconds in (0.1, 1.0):
        call = Script(clock, CONFLICT, forever=True)
        with pytest.raises(errors.TemporarilyUnavailable):
            patiently(call, Budget.of(seconds), "read")
        attempts.append(call.calls)
    assert attempts[0] < attempts[1], attempts


@pytest.mark.parametrize("run", [patiently, write_patiently])
@pytest.mark.parametrize("error", [PERMANENT, cancelled("ItemCollectionSizeLimitExceeded"), client_error("Nope")])
def test_a_permanent_error_is_refused_at_once_logged_and_counted(
    clock: FakeClock,
    counted: list[str],
    caplog: pytest.LogCaptureFixture,
    run: Callable[..., Any],
    error: Exception,
) -> None:
    call = Script(clock, error, forever=True)
    with pytest.raises(errors.StoreRefused) as refused:
        run(call, Budget.of(5.0), "commit")
    assert refused.value.__cause__ is error
    assert call.calls == 1 and clock.slept == []
    assert counted == ["StoreErrors"]
    assert [r.levelname for r in caplog.records if r.getMessage() == "DynamoDB refused a request for good"] == ["ERROR"]


@pytest.mark.parametrize("run", [patiently, write_patiently])
def test_an_error_that_is_not_dynamodb_s_is_not_classified_it_goes_up_as_it_is(
    clock: FakeClock, counted: list[str], run: Callable[..., Any]
) -> None:
    def broken() -> None:
        raise KeyError("a defect")

    with pytest.raises(KeyError):
        run(broken, Budget.of(5.0), "read")
    assert clock.slept == [] and counted == []


def test_a_write_refused_by_a_conflict_is_sent_again(clock: FakeClock) -> None:
    call = Script(clock, CONFLICT, client_error("TransactionConflictException"))
    assert write_patiently(call, Budget.of(1.0), "lock") == {"answer": "ok"}
    assert call.calls == 3


@pytest.mark.parametrize(
    "lost", [LOST, ConnectionClosedError(endpoint_url=URL), client_error("InternalServerError", 500)]
)
def test_a_failed_condition_after_a_lost_answer_is_success_when_the_lost_attempt_took_effect(
    clock: FakeClock, lost: Exception
) -> None:
    """The first attempt committed but its answer was lost; sent again, its own write fails the condition."""
    asked: list[bool] = []

    def took_effect() -> bool:
        asked.append(True)
        return True

    call = Script(clock, lost, CONDITION)
    assert write_patiently(call, Budget.of(1.0), "create", took_effect=took_effect) is None
    assert call.calls == 2 and asked == [True]


def test_a_failed_condition_after_a_lost_answer_that_did_not_take_effect_is_raised(clock: FakeClock) -> None:
    """Someone else's item fails the condition: the caller's answer (exists, not found) stands."""
    call = Script(clock, LOST, CONDITION)
    with pytest.raises(ClientError) as raised:
        write_patiently(call, Budget.of(1.0), "create", took_effect=lambda: False)
    assert raised.value is CONDITION


def test_a_failed_condition_after_a_lost_answer_without_took_effect_is_raised(clock: FakeClock) -> None:
    call = Script(clock, LOST, CONDITION)
    with pytest.raises(ClientError) as raised:
        write_patiently(call, Budget.of(1.0), "lock")
    assert raised.value is CONDITION


@pytest.mark.parametrize("before", [[], [CONFLICT], [client_error("ThrottlingException")]])
def test_a_failed_condition_without_a_lost_answer_is_raised_without_asking_took_effect(
    clock: FakeClock, before: list[Exception]
) -> None:
    """A conflict or a throttle committed nothing: the condition failed on someone else's write."""
    asked: list[bool] = []

    def took_effect() -> bool:
        asked.append(True)
        return True

    call = Script(clock, *before, CONDITION)
    with pytest.raises(ClientError) as raised:
        write_patiently(call, Budget.of(1.0), "create", took_effect=took_effect)
    assert raised.value is CONDITION and asked == []
    assert call.calls == len(before) + 1


# -- pauses and budgets --------------------------------------------------------------------------------


def test_pauses_grow_with_the_attempts_from_the_base_up_to_the_cap(clock: FakeClock) -> None:
    """Each with a budget as fresh as the first (the jitter at its longest)."""
    assert all(pause(attempt, Budget.of(60.0)) for attempt in range(12))
    assert clock.slept[0] <= BACKOFF_BASE_SECONDS
    assert clock.slept == sorted(clock.slept) and clock.slept[-1] <= BACKOFF_CAP_SECONDS
    assert clock.slept[-1] > clock.slept[0]


def test_a_pause_is_bounded_however_many_attempts_came_before(clock: FakeClock) -> None:
    assert pause(2000, Budget.of(60.0))
    assert clock.slept[-1] <= BACKOFF_CAP_SECONDS


def test_no_pause_when_the_budget_cannot_pay_for_it(clock: FakeClock) -> None:
    budget = Budget.of(BACKOFF_BASE_SECONDS / 2)
    started = clock.now
    assert pause(0, budget) is False
    assert clock.now == started and clock.slept == []


def test_a_budget_runs_with_the_clock_and_never_below_zero(clock: FakeClock) -> None:
    budget = Budget.of(2.0)
    assert budget.ends == clock.now + 2.0 and budget.remaining() == 2.0
    clock.advance(1.5)
    assert budget.remaining() == pytest.approx(0.5)
    clock.advance(1.0)
    assert budget.remaining() == 0.0


class LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_budget_is_cut_to_what_the_invocation_has_left_less_the_answer_margin(clock: FakeClock) -> None:
    with invocation(LambdaContext(1000)):
        clock.advance(0.1)
        assert Budget.of(2.0).ends == pytest.approx(clock.now - 0.1 + 1.0 - ANSWER_MARGIN_SECONDS)
        assert Budget.of(2.0).remaining() == pytest.approx(0.9 - ANSWER_MARGIN_SECONDS)
        assert Budget.of(0.3).remaining() == pytest.approx(0.3)  # shorter than the invocation: as it is
    assert Budget.of(2.0).remaining() == 2.0  # the invocation is over: nothing of it is left behind


@pytest.mark.parametrize("context", [None, object()])
def test_without_a_lambda_context_a_budget_is_as_long_as_asked(clock: FakeClock, context: object) -> None:
    with invocation(context):
        assert Budget.of(30.0).remaining() == 30.0


def test_an_invocation_without_time_to_answer_tries_once(clock: FakeClock) -> None:
    call = Script(clock, CONFLICT, forever=True)
    with (
        invocation(LambdaContext(int(ANSWER_MARGIN_SECONDS * 1000) - 50)),
        pytest.raises(errors.TemporarilyUnavailable),
    ):
        patiently(call, Budget.of(2.0), "read")
    assert call.calls == 1 and clock.slept == []


def test_every_call_of_a_request_shares_its_one_budget(clock: FakeClock) -> None:
    with deadline.request(0.5) as budget:
        assert deadline.current(2.0) is budget
        clock.advance(0.4)
        assert deadline.current(2.0).remaining() == pytest.approx(0.1)
    assert deadline.current(2.0).remaining() == 2.0  # outside a request: a fresh one
