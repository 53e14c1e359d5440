"""Warm "containers" for the local gateway: each worker is its own process running one request at a time.

Why processes, not threads: Powertools' resolvers keep the current event in a class attribute
(``BaseRouter.current_event``), so two requests resolved at once in one process read each other's
events. Lambda never does that (a container serves one request at a time); neither do we. Concurrent
HTTP requests therefore run truly in parallel, each in its own process, against the one embedded
DynamoDB, which is exactly the situation Kassa's conditional writes are built for.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

# One worker per core (at least 2, so that two requests can always meet): on AWS each invocation has a
# CPU of its own; here more workers than cores only make every invocation slower, spending its retry
# budget (kassa.deadline) waiting for a core, without serving more (16 writers on one wallet on 2 cores:
# 27 movements/s with 8 workers, 39 with 4; One Wallet debits given up only with more workers than cores).
DEFAULT_WORKERS = max(2, os.cpu_count() or 2)


def _worker_main(connection: Connection) -> None:
    from kassa_dev.gateway import FunctionRunner

    # Ctrl-C reaches every process of the terminal's group; the server stops its workers itself, so a
    # worker ignores it (each one printing its KeyboardInterrupt trace was all that Ctrl-C showed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    serve_requests(connection, FunctionRunner())


def serve_requests(connection: Connection, runner: Any) -> None:
    """A worker's life: one (function id, event) at a time in, ("ok", result) or ("error", trace) out."""
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        function_id, event = message
        try:
            connection.send(("ok", runner.invoke(function_id, event)))
        except Exception:
            connection.send(("error", traceback.format_exc()))


class FunctionCrashed(Exception):
    """The handler raised; the gateway answers 500 as API Gateway would."""


class WorkerPool:
    # What each worker process runs (a subclass may serve other functions, or warm up first).
    worker_main: Callable[[Connection], None] = staticmethod(_worker_main)

    def __init__(self, size: int | None = None) -> None:
        self.size = size or int(os.environ.get("KASSA_WORKERS") or DEFAULT_WORKERS)
        self._context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
        self._idle: queue.Queue[tuple[Any, Connection]] = queue.Queue()
        self._all: list[tuple[Any, Connection]] = []
        self._lock = threading.Lock()

    def start(self) -> WorkerPool:
        for worker in self._launch():
            self._idle.put(worker)
        return self

    def _launch(self) -> list[tuple[Any, Connection]]:
        """Start ``size`` worker processes; they are not handed requests until put on the idle queue."""
        for _ in range(self.size):
            parent, child = self._context.Pipe()
            process = self._context.Process(target=type(self).worker_main, args=(child,), daemon=True)
            process.start()
            child.close()
            self._all.append((process, parent))
        return list(self._all)

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        worker = self._idle.get()
        try:
            worker[1].send((function_id, event))
            status, result = worker[1].recv()
        finally:
            self._idle.put(worker)
        if status != "ok":
            raise FunctionCrashed(result)
        return result

    def stop(self) -> None:
        for process, connection in self._all:
            connection.close()
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2)
        self._all.clear()
