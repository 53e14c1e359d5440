"""Short garbage-collector pauses for the process that hosts the embedded DynamoDB.

moto keeps every item as Python objects in the process that serves it (the test session, ``kassa
serve``), and CPython's full collection walks every object that survived earlier ones: at 40,000 items
(~1 million objects) one full collection took 514 ms here, at the end of ``make test`` longer, and
while it runs every thread of the process waits, the embedded DynamoDB included. A transaction in its
commit window stays in flight for the whole pause, so a One Wallet call that meets it exhausts its
600 ms budget and answers TEMPORARY_ERROR: a pause DynamoDB never has, failing a test on a busy machine.

``Settler`` collects what is garbage every couple of seconds and then freezes what survived
(``gc.freeze``): later collections skip frozen objects, so each one walks only what was made since the
last settle. Acyclic garbage is still freed at once by reference counting; what is lost is the
collection of cycles among objects that were alive when frozen, which for a dev server's lifetime is
a small price. ``PauseWatch`` measures the longest pause, which ``make test`` prints.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

SETTLE_EVERY_SECONDS = 2.0


def settle() -> None:
    """Collect garbage now, then exempt every surviving object from later collections."""
    gc.collect()
    gc.freeze()


class Settler:
    """A daemon thread that settles the heap every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = SETTLE_EVERY_SECONDS) -> None:
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heap-settler", daemon=True)

    def start(self) -> Settler:
        settle()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            settle()


class PauseWatch:
    """The longest garbage-collector pause (any generation) while attached, in seconds."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.collections = 0
        self._started: float | None = None

    def attach(self) -> PauseWatch:
        gc.callbacks.append(self._observe)
        return self

    def detach(self) -> None:
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.longest = max(self.longest, time.perf_counter() - self._started)
            self.collections += 1
            self._started = None
