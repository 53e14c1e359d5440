"""Kassa and the baseline side by side on one local stack.

One embedded DynamoDB holds Kassa's table (from template.yaml), the baseline's table and its idempotency
table. One pool of worker processes (warm "containers", as ``kassa serve`` runs them) runs both Kassa's
handlers and the baselines'. One HTTP server per system fronts them, each with its own ``LocalGateway``:
the Kassa one routes to Kassa's functions, a baseline's sends the same routes to that baseline's handler.
All run Kassa's real authorizer first, so both pay the same authentication, payload-2.0 event building,
inter-process hop and HTTP server; what differs is only the function behind the route.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from kassa_dev.gateway import FunctionRunner, Invoker, LambdaContext
from kassa_dev.workers import WorkerPool, serve_requests

BASELINE_FUNCTION = "BaselineFunction"
CAREFUL_FUNCTION = "CarefulBaselineFunction"
# The template's functions the benchmark's routes reach (loaded up front in every worker).
KASSA_FUNCTIONS = ("AuthorizerFunction", "WalletFunction", "TransactionsFunction")
# Routes of the native API the baseline answers in Kassa's stead.
REDIRECTED = ("WalletFunction", "TransactionsFunction")


class BenchRunner(FunctionRunner):
    """Kassa's functions as ``FunctionRunner`` loads them, plus the baseline handler."""

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        if function_id in (BASELINE_FUNCTION, CAREFUL_FUNCTION):
            from kassa_dev.bench import baseline

            handler = baseline.careful_handler if function_id == CAREFUL_FUNCTION else baseline.lambda_handler
            return handler(event, LambdaContext(function_id))
        return super().invoke(function_id, event)

    def preload(self) -> None:
        """Import every handler the workload reaches and build its clients, before anything is timed."""
        from kassa.store.client import dynamodb
        from kassa_dev.bench import baseline

        for function_id in KASSA_FUNCTIONS:
            if function_id in self.functions:
                module_name = self.functions[function_id].handler.rpartition(".")[0]
                self._module(function_id, module_name)
        dynamodb()
        baseline.dynamodb()
        baseline._idempotency()
        baseline._idempotent_apply(careful=False)
        baseline._idempotent_apply(careful=True)


class Redirect:
    """An invoker that sends some function ids elsewhere (the native routes to the baseline)."""

    def __init__(self, invoker: Invoker, redirects: dict[str, str]) -> None:
        self.invoker = invoker
        self.redirects = redirects

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        return self.invoker.invoke(self.redirects.get(function_id, function_id), event)


def baseline_invoker(invoker: Invoker, careful: bool = False) -> Redirect:
    return Redirect(invoker, dict.fromkeys(REDIRECTED, CAREFUL_FUNCTION if careful else BASELINE_FUNCTION))


def gateways(invoker: Invoker) -> dict[str, Any]:
    """One ``LocalGateway`` per system, over one invoker."""
    from kassa_dev.gateway import LocalGateway

    return {
        "kassa": LocalGateway(invoker),
        "baseline": LocalGateway(baseline_invoker(invoker)),
        "careful": LocalGateway(baseline_invoker(invoker, careful=True)),
    }


def _bench_worker_main(connection: Connection) -> None:
    # What the functions print (Powertools log lines, EMF metrics) is still produced, as in Lambda,
    # but goes nowhere instead of into the benchmark's table.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    runner = BenchRunner()
    runner.preload()
    connection.send(("ready", None))
    serve_requests(connection, runner)


class BenchPool(WorkerPool):
    """``WorkerPool`` whose workers also run the baseline, and are warm before the first request."""

    worker_main = staticmethod(_bench_worker_main)

    def start(self) -> BenchPool:
        for worker in self._launch():
            status, _ = worker[1].recv()  # each worker says "ready" once its modules are loaded
            assert status == "ready", status
            self._idle.put(worker)
        return self


@dataclass
class Bench:
    urls: dict[str, str]  # by system
    api_key: str
    stack: Any


@contextlib.contextmanager
def bench_stack(workers: int) -> Iterator[Bench]:
    """The local stack with both systems behind HTTP, on free ports."""
    from kassa_dev.bench import baseline
    from kassa_dev.http_server import make_server, serve_in_thread
    from kassa_dev.stack import LocalStack

    stack = LocalStack(table="kassa-bench").start()
    try:
        demo = stack.seed_demo_operator()
        os.environ.setdefault(baseline.TABLE_ENV, baseline.DEFAULT_TABLE)
        os.environ.setdefault(baseline.IDEMPOTENCY_TABLE_ENV, baseline.DEFAULT_IDEMPOTENCY_TABLE)
        baseline.create_tables(stack.client("dynamodb"))
        pool = BenchPool(workers).start()
        servers = {}
        try:
            for system, gateway in gateways(pool).items():
                servers[system] = make_server(gateway, port=0)
                serve_in_thread(servers[system])
            urls = {system: f"http://127.0.0.1:{s.server_address[1]}" for system, s in servers.items()}
            yield Bench(urls, demo.api_key, stack)
        finally:
            for server in servers.values():
                server.shutdown()
                server.server_close()
            pool.stop()
    finally:
        stack.stop()
