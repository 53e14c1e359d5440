"""A fake clock for Kassa's retry budgets: what they measure and how they wait, without waiting.

``kassa.deadline`` reads ``time.monotonic`` and ``kassa.store.outcomes`` calls ``time.sleep`` and
``random.uniform``; ``install`` replaces those modules' ``time`` and ``random`` with this clock (the
rest of the process, botocore's timeouts included, keeps the real ones). A pause advances the clock at
once, and its jitter is the longest it may be, so that what a budget allows is the same on every run.
Time passes only by pauses (``slept`` lists them) and by what a test makes pass (``advance``: what each
DynamoDB call takes). Make every call take some: pauses shrink as a budget runs out, so on a clock that
only pauses move, a budget is never spent.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kassa import deadline
from kassa.store import outcomes


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
        fake_time = SimpleNamespace(monotonic=self.monotonic, sleep=self.sleep)
        monkeypatch.setattr(deadline, "time", fake_time)
        monkeypatch.setattr(outcomes, "time", fake_time)
        monkeypatch.setattr(outcomes, "random", SimpleNamespace(uniform=lambda low, high: high))
        return self
