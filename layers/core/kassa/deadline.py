"""How long a request may keep trying: its retry budget, bounded by the Lambda invocation's own time.

A busy wallet is retried, never given up on after a count of attempts that a slow store exhausts in no
time or a fast one never reaches: each request gets one budget of time (``KASSA_RETRY_BUDGET_MS`` for
the native API, ``KASSA_ONEWALLET_RETRY_BUDGET_MS`` for a provider, who waits ~700 ms for the whole call),
shared by every DynamoDB call the request makes, and never more than what is left of its Lambda
invocation, less a margin to answer in. When it is spent, nothing was committed and the answer says so
(503 + Retry-After, One Wallet TEMPORARY_ERROR).

The handler decorator (``kassa.observability``) opens an invocation and a protocol opens its request's
budget; both are context variables, so threads serving requests in one process (the local gateway) keep
their own, and both are closed again when the invocation or the request ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

# What an answer needs after the last attempt: serialising, logging, flushing metrics.
ANSWER_MARGIN_SECONDS = 0.25

_invocation_ends: ContextVar[float | None] = ContextVar("kassa_invocation_ends", default=None)
_request_budget: ContextVar[Budget | None] = ContextVar("kassa_request_budget", default=None)


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """While a Lambda invocation runs: when it must have answered (nothing without a Lambda context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    token = _invocation_ends.set(time.monotonic() + remaining() / 1000 if callable(remaining) else None)
    try:
        yield
    finally:
        _invocation_ends.reset(token)


def in_invocation() -> bool:
    """Whether this runs inside a Lambda invocation (not a CLI, a test or a script)."""
    return _invocation_ends.get() is not None


@contextmanager
def request(seconds: float) -> Iterator[Budget]:
    """One budget for every call of one request (a protocol's call, an API request)."""
    budget = Budget.of(seconds)
    token = _request_budget.set(budget)
    try:
        yield budget
    finally:
        _request_budget.reset(token)


def current(seconds: float) -> Budget:
    """The request's budget, or (outside a request: background work, a CLI) a fresh one of ``seconds``."""
    return _request_budget.get() or Budget.of(seconds)


@dataclass(frozen=True)
class Budget:
    ends: float  # time.monotonic() after which no new attempt starts
    seconds: float  # what it was when given

    @classmethod
    def of(cls, seconds: float) -> Budget:
        """``seconds`` from now, cut to what the invocation has left (less the answer's margin)."""
        now = time.monotonic()
        ends = now + seconds
        invocation_ends = _invocation_ends.get()
        if invocation_ends is not None:
            ends = min(ends, invocation_ends - ANSWER_MARGIN_SECONDS)
        return cls(ends, max(ends - now, 0.0))

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def share_left(self) -> float:
        """What is left, as a share of what was given: 1.0 when fresh, near 0 close to giving up."""
        return self.remaining() / self.seconds if self.seconds > 0 else 0.0
