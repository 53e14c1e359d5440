"""Shared fixtures: one local stack per test session (embedded DynamoDB over HTTP, the table from
template.yaml, a demo operator) and a client that drives the real handlers through the local gateway."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kassa_dev.gateway import HttpResponse, LocalGateway
from kassa_dev.heap import PauseWatch
from kassa_dev.python312 import MISSING, find_python312
from kassa_dev.stack import DemoCredentials, LocalStack


@pytest.fixture
def realistic_dynamodb() -> Iterator[None]:
    """The embedded DynamoDB as DynamoDB behaves under contention (kassa_dev.realistic): a transaction's
    items are in flight for a commit window, and what touches them meanwhile is refused as DynamoDB does.
    On for the concurrency, contention and fault suites."""
    from kassa_dev import realistic

    realistic.configure(enabled=True)
    yield
    realistic.configure()


@pytest.fixture(scope="session")
def python312() -> Path:
    """Lambda's Python, which sam build and the artifact smoke test need. Missing, those tests fail in CI
    (CI=true), where they must run, and skip elsewhere with the message saying how to get it."""
    found = find_python312()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    return found


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(table="kassa-test") as running:
        _watch_grants()
        yield running


# Which DynamoDB actions the functions performed in this session (kassa_dev.grants): checked against the
# template's policies when the session ends, so a call added without its IAM grant fails `make test`.
GRANTS = None


def _watch_grants() -> None:
    global GRANTS
    from kassa.store.client import dynamodb
    from kassa_dev.grants import CallRecorder

    GRANTS = CallRecorder()
    GRANTS.attach(dynamodb())


# The longest garbage-collector pause of the session (kassa_dev.heap): the embedded DynamoDB shares this
# process, so a long pause stalls every request in flight; printed at the end to keep it in sight.
PAUSES = PauseWatch().attach()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"longest garbage-collector pause: {PAUSES.longest * 1000:.0f} ms ({PAUSES.collections} collections)"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if GRANTS is None or not GRANTS.seen:
        return
    from kassa_dev import grants

    ungranted = grants.missing(GRANTS.seen, grants.granted())
    if ungranted:
        listed = ", ".join(f"{function}: {action}" for function, action in ungranted)
        print(f"\nDynamoDB actions performed but not granted in template.yaml (AccessDenied on AWS): {listed}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def demo(stack: LocalStack) -> DemoCredentials:
    return stack.seed_demo_operator()


@pytest.fixture(scope="session")
def gateway(stack: LocalStack) -> LocalGateway:
    return LocalGateway()


class Api:
    """Speaks HTTP semantics to the LocalGateway, which runs the authorizer and handlers in-process."""

    def __init__(self, gateway: LocalGateway, api_key: str | None) -> None:
        self.gateway = gateway
        self.api_key = api_key

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> HttpResponse:
        sent = {"content-type": "application/json", **(headers or {})}
        if self.api_key is not None:
            sent.setdefault("authorization", f"Bearer {self.api_key}")
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.gateway.handle(method, path, query, sent, payload)

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, body, **kwargs)

    def open_wallet(self, currency: str = "EUR", player: str | None = None) -> str:
        player = player or new_id("player")
        response = self.post("/v1/wallets", {"playerId": player, "currency": currency})
        assert response.status == 201, response.body
        return player

    def move(self, player: str, type_: str, amount: str | None, **fields: Any) -> HttpResponse:
        body = {"transactionId": fields.pop("transactionId", new_id("tx")), "type": type_, **fields}
        if amount is not None:
            body["amount"] = amount
        return self.post(f"/v1/wallets/{player}/transactions", body)

    def balance(self, player: str) -> str:
        return str(self.get(f"/v1/wallets/{player}").json()["balance"])


@pytest.fixture
def api(gateway: LocalGateway, demo: DemoCredentials) -> Api:
    return Api(gateway, demo.api_key)


@pytest.fixture
def anonymous(gateway: LocalGateway) -> Api:
    return Api(gateway, None)


def probe_environment(runtime: dict[str, str]) -> dict[str, str]:
    """This process's environment for a probe run in a Python of its own: of a Lambda runtime's variables
    only ``runtime`` (none: not in Lambda), and Powertools' metrics and tracing off (no log group, no daemon)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_LAMBDA", "AWS_EXECUTION"))}
    env.update(runtime, POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_TRACE_DISABLED="true")
    return env


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def pages_read(store: Any) -> list[tuple[int | None, int]]:
    """From now on, each Query page ``store`` (a kassa.store TableStore) asks for, as (its Limit, how many
    items it returned): what a read costs on DynamoDB follows the items it reads."""
    read: list[tuple[int | None, int]] = []
    query = store.query

    def counted(budget: Any = None, **params: Any) -> dict[str, Any]:
        answer: dict[str, Any] = query(budget, **params)
        read.append((params.get("Limit"), len(answer["Items"])))
        return answer

    store.query = counted
    return read


@pytest.fixture(scope="session")
def pooled_gateway(stack: LocalStack) -> Iterator[LocalGateway]:
    """A gateway whose functions run in worker processes: concurrent requests really run at once."""
    from kassa_dev.workers import WorkerPool

    pool = WorkerPool().start()  # as `make run` has it: one per core
    yield LocalGateway(pool)
    pool.stop()


@pytest.fixture
def concurrent_api(pooled_gateway: LocalGateway, demo: DemoCredentials) -> Api:
    return Api(pooled_gateway, demo.api_key)


@pytest.fixture(scope="session")
def base_url(pooled_gateway: LocalGateway) -> Iterator[str]:
    """The local stack over real HTTP (as `kassa serve` runs it): a threaded server, worker processes."""
    from kassa_dev.http_server import make_server, serve_in_thread

    server = make_server(pooled_gateway, port=0)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class RequestCounter:
    """DynamoDB requests on the wire, by operation name, from Kassa's own client in this process."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)


@pytest.fixture
def counted() -> Iterator[RequestCounter]:
    from kassa.store.client import dynamodb

    counter = RequestCounter()
    events = dynamodb().meta.events
    events.register("before-call.dynamodb.*", counter)
    yield counter
    events.unregister("before-call.dynamodb.*", counter)


def locked_by_test(operator_id: str, player_id: str) -> Any:
    """The audit record a test's own lock of a wallet commits with (kassa.audit_log)."""
    from kassa import audit_log

    return audit_log.AuditRecord(
        operator_id, audit_log.WALLET_LOCKED, audit_log.system_actor("tests"), {"playerId": player_id}
    )
