"""What a failed DynamoDB call means, and trying again within a time budget.

DynamoDB answers a refused request in three different ways that call for three different responses:

- a **failed condition** (``ConditionalCheckFailedException``, or a cancelled transaction whose reasons
  say ``ConditionalCheckFailed``): the item is not what the caller expected. That is information, a
  business answer or a replay, never a reason to wait: the caller re-reads and decides again.
- a **conflict or a throttle** (``TransactionConflict`` — another transaction holds the item —,
  ``TransactionConflictException`` for a single-item write, ``ThrottlingError`` / ``Throttling
  Exception`` / ``ProvisionedThroughputExceeded`` / ``RequestLimitExceeded``, a 5xx): nothing was
  decided; trying again after a jittered pause succeeds, so it is retried while the budget lasts.
- a **permanent** error (``ValidationError``, ``ItemCollectionSizeLimitExceeded``, anything unknown):
  trying again cannot help. It is answered at once, logged and counted (``StoreErrors``), never
  reported as "busy, retry".

A write whose answer was lost (a timed-out read, a dropped connection, a 500) may have committed: it is
**ambiguous**, and only a re-read decides. A read that fails that way is simply transient.

A transaction's reasons are read per action (``CancellationReasons``): DynamoDB cancels the whole
transaction and reports, for each action, ``ConditionalCheckFailed`` where its condition failed, another
code where something else stopped it, and ``None`` where nothing did.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from kassa import errors
from kassa.deadline import Budget
from kassa.observability import logger, metrics

T = TypeVar("T")

# What a DynamoDB call raises. Anything else (a defect, a process being stopped) is not classified here:
# it goes up as an unexpected error, which the handlers answer as retryable (nothing is half-written).
STORE_ERRORS = (ClientError, BotoCoreError)


class Outcome(Enum):
    CONDITION_FAILED = "condition_failed"
    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"
    PERMANENT = "permanent"


# Cancellation reasons (per action of a transaction).
_TRANSIENT_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
_QUIET_REASONS = frozenset({"None", "", "ConditionalCheckFailed"})
# Error codes of a whole request.
_TRANSIENT_CODES = frozenset(
    {
        "TransactionConflictException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
_SERVER_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "InternalFailure"})


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def reasons_of(error: ClientError) -> list[str]:
    """A cancelled transaction's reason per action, in the order of its actions ("None" where it had none)."""
    return [str(reason.get("Code") or "None") for reason in error.response.get("CancellationReasons") or []]


def classify(error: Exception, *, write: bool) -> Outcome:
    """What ``error`` from one DynamoDB call means; ``write``: the call could have changed the table."""
    if isinstance(error, (ConnectTimeoutError, EndpointConnectionError)):
        return Outcome.TRANSIENT  # never reached DynamoDB
    if isinstance(error, (ReadTimeoutError, BotoConnectionError, HTTPClientError)):
        return Outcome.AMBIGUOUS if write else Outcome.TRANSIENT
    if not isinstance(error, ClientError):
        return Outcome.PERMANENT
    code = code_of(error)
    if code == "ConditionalCheckFailedException":
        return Outcome.CONDITION_FAILED
    if code == "TransactionCanceledException":
        reasons = set(reasons_of(error))
        if reasons - _TRANSIENT_REASONS - _QUIET_REASONS:
            return Outcome.PERMANENT  # ValidationError, ItemCollectionSizeLimitExceeded, ...
        if reasons & _TRANSIENT_REASONS:
            return Outcome.TRANSIENT
        return Outcome.CONDITION_FAILED
    if code in _TRANSIENT_CODES:
        return Outcome.TRANSIENT
    if code in _SERVER_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return Outcome.AMBIGUOUS if write else Outcome.TRANSIENT
    return Outcome.PERMANENT


def failed_condition_at(error: Exception, index: int) -> bool:
    """Whether a cancelled transaction's action ``index`` failed its condition."""
    if not isinstance(error, ClientError) or code_of(error) != "TransactionCanceledException":
        return False
    reasons = reasons_of(error)
    return len(reasons) > index and reasons[index] == "ConditionalCheckFailed"


def refused(error: Exception, what: str) -> errors.StoreRefused:
    """A permanent refusal: logged with its reasons, counted (StoreErrors alarms), answered at once."""
    detail = code_of(error) if isinstance(error, ClientError) else type(error).__name__
    reasons = reasons_of(error) if isinstance(error, ClientError) else []
    logger.error("DynamoDB refused a request for good", extra={"what": what, "code": detail, "reasons": reasons})
    metrics.add_metric(name="StoreErrors", unit="Count", value=1)
    return errors.StoreRefused(f"the ledger refused the request ({detail}); nothing was committed")


# Full jitter: concurrent writers to one item spread out instead of colliding again in step. A throttle
# backs off further than a conflict, which clears as soon as the transaction in flight commits (a few ms);
# a conflict's cap stays short so that a writer that lost several rounds is still in the race.
BACKOFF_BASE_SECONDS = 0.008
BACKOFF_CAP_SECONDS = 0.025
THROTTLE_CAP_SECONDS = 0.1
YIELD_SECONDS = 0.01
_THROTTLES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }
)


def throttled(error: Exception) -> bool:
    """Whether DynamoDB refused for capacity (rather than a conflict with another transaction)."""
    if not isinstance(error, ClientError):
        return False
    return code_of(error) in _THROTTLES or bool(_THROTTLES.intersection(reasons_of(error)))


def pause(attempt: int, budget: Budget, *, cap: float = BACKOFF_CAP_SECONDS, elder_first: bool = False) -> bool:
    """Sleep a jittered back-off before attempt ``attempt + 1``; False (no sleep) when the budget is spent.

    ``elder_first`` (a conflict between writers of one wallet): the back-off shrinks as the budget runs
    out, down to a fifth, so the writer that has waited longest tries again soonest and a newcomer does
    not keep winning the wallet from it. A throttle or a server error backs off in full."""
    delay = random.uniform(0, min(cap, BACKOFF_BASE_SECONDS * 2 ** min(attempt, 16)))
    if elder_first:
        delay *= max(budget.share_left(), 0.2)
    if budget.remaining() <= delay:
        return False
    time.sleep(delay)
    return True


def patiently(call: Callable[[], T], budget: Budget, what: str) -> T:
    """A read: ``call()``, tried again on conflicts, throttles and lost answers while the budget lasts. A
    permanent error is raised as ``StoreRefused``, a spent budget as ``TemporarilyUnavailable``."""
    attempt = 0
    while True:
        try:
            return call()
        except STORE_ERRORS as error:
            if classify(error, write=False) is Outcome.PERMANENT:
                raise refused(error, what) from error
            attempt = _again(error, attempt, budget, what)


def write_patiently(
    call: Callable[[], T],
    budget: Budget,
    what: str,
    *,
    took_effect: Callable[[], bool] | None = None,
    condition_failed: Callable[[], Exception] | None = None,
) -> T | None:
    """A conditional write that may be sent again as it is (the same item, the same condition): tried
    again on conflicts, throttles and lost answers while the budget lasts. A failed condition raises
    ``condition_failed()`` (what it means to the caller: no such wallet, already exists, ...), or the error
    as it came, unless an earlier attempt's answer was lost and ``took_effect()`` says that attempt is what
    the condition now sees: then the write is done (None)."""
    attempt, lost = 0, False
    while True:
        try:
            return call()
        except STORE_ERRORS as error:
            outcome = classify(error, write=True)
            if outcome is Outcome.PERMANENT:
                raise refused(error, what) from error
            if outcome is Outcome.CONDITION_FAILED:
                if lost and took_effect is not None and took_effect():
                    return None
                if condition_failed is not None:
                    raise condition_failed() from error
                raise
            lost = lost or outcome is Outcome.AMBIGUOUS
            attempt = _again(error, attempt, budget, what)


def yield_to_elders(budget: Budget) -> bool:
    """After losing a wallet to another writer (a failed condition): try again soon if this request has
    waited long, a few milliseconds later if it is fresh, so older requests win the next round. Never
    without jitter: two writers that each retry at once fall into step, and one loses every round."""
    if budget.remaining() <= 0:
        return False
    time.sleep(random.uniform(0, YIELD_SECONDS) * max(budget.share_left() ** 2, 0.25))
    return True


def _again(error: Exception, attempt: int, budget: Budget, what: str) -> int:
    """After a transient failure: pause and return the next attempt number, or give up when the budget
    cannot pay for another."""
    logger.debug("DynamoDB busy, trying again", extra={"what": what, "attempt": attempt})
    if not pause(attempt, budget, cap=THROTTLE_CAP_SECONDS if throttled(error) else BACKOFF_CAP_SECONDS):
        raise errors.TemporarilyUnavailable(f"{what}: DynamoDB stayed busy; nothing was committed") from error
    return attempt + 1
