"""Fault injection for Kassa's money movements, in-process.

The tests drive the real handlers through the in-process gateway, so the handlers' DynamoDB client is
this process's ``kassa.store.client.dynamodb()``. Faults are botocore event hooks on that client:

- ``before-call.dynamodb.<Op>``   once per API call (one ``LedgerStore.commit`` = one call);
- ``before-send.dynamodb.<Op>``   once per HTTP attempt;
- ``request-created.dynamodb.<Op>`` once per HTTP attempt too, before ``before-send`` (used to count);
- ``after-call.dynamodb.<Op>``    once per API call, with its response.

botocore sends each DynamoDB call once (``total_max_attempts`` 1): Kassa's time budget is the only retry
loop (``kassa.store.outcomes``), so an injected error reaches Kassa at once and a call is one send.

``Faults`` counts calls and sends per operation, injects errors, and removes every hook it registered
when the test ends. The state checks read DynamoDB through a separate client (``stack.client``) that
carries no hooks. ``retry_budget`` sets the budgets for a test; ``clock`` makes the budgets' time fake
(``fake_clock``), so that what a budget allows does not depend on how fast this machine is.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError

from kassa.settings import settings
from kassa.store.client import dynamodb
from kassa_dev.gateway import HttpResponse, LocalGateway
from kassa_dev.stack import DemoCredentials, LocalStack
from tests.conftest import Api, new_id
from tests.faults.fake_clock import FakeClock

OPERATOR = "demo"
WRITE = "TransactWriteItems"
READ = "BatchGetItem"
D = Decimal

# -- DynamoDB error responses, as DynamoDB sends them ------------------------------------------------

_PREFIX = "com.amazonaws.dynamodb.v20120810#"
ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "ThrottlingException": (
        400,
        {
            "__type": "com.amazon.coral.availability#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        },
    ),
    "ProvisionedThroughputExceededException": (
        400,
        {
            "__type": _PREFIX + "ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded.",
        },
    ),
    "TransactionConflict": (
        400,
        {
            "__type": _PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[TransactionConflict, None, None]",
            "CancellationReasons": [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
                {"Code": "None"},
                {"Code": "None"},
            ],
        },
    ),
    "InternalServerError": (500, {"__type": _PREFIX + "InternalServerError", "message": "Internal server error"}),
    # Permanent: sending the same transaction again is refused the same way.
    "ValidationError": (
        400,
        {
            "__type": _PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[None, ValidationError, None]",
            "CancellationReasons": [
                {"Code": "None"},
                {"Code": "ValidationError", "Message": "Item size has exceeded the maximum allowed size"},
                {"Code": "None"},
            ],
        },
    ),
    "ItemCollectionSizeLimitExceeded": (
        400,
        {
            "__type": _PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[ItemCollectionSizeLimitExceeded, None, None]",
            "CancellationReasons": [
                {"Code": "ItemCollectionSizeLimitExceeded", "Message": "Collection size exceeded."},
                {"Code": "None"},
                {"Code": "None"},
            ],
        },
    ),
}


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def error_response(url: str, name: str) -> AWSResponse:
    """What DynamoDB answers with error ``name`` (a key of ``ERRORS``), as an HTTP response."""
    status, body = ERRORS[name]
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": new_id("fault")}
    return AWSResponse(url, status, headers, _Body(json.dumps(body).encode()))


def error_code(name: str) -> str:
    return str(ERRORS[name][1]["__type"]).split("#")[-1]


def _refuse(request: Any, error: str | Exception) -> AWSResponse:
    if isinstance(error, Exception):
        raise error
    return error_response(request.url, error)


def client_error(name: str, operation: str = WRITE) -> ClientError:
    status = ERRORS[name][0]
    return ClientError(
        {"Error": {"Code": error_code(name), "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


# -- the fault injector ------------------------------------------------------------------------------


@dataclass
class Injection:
    count: int = 0


def _operation(event_name: str) -> str:
    return event_name.rsplit(".", 1)[-1]


class Faults:
    """Hooks on the process's DynamoDB client; counts of calls and sends per operation."""

    def __init__(self) -> None:
        self.client = dynamodb()
        self.events = self.client.meta.events
        self._hooks: list[tuple[str, Callable[..., Any]]] = []
        self.calls: Counter[str] = Counter()
        self.sends: Counter[str] = Counter()
        self.on("before-call.dynamodb", self._count_call)
        # Counted when botocore builds each attempt's request (one per attempt, before anything is sent,
        # so an attempt that a fault ends in ``before-send`` is counted too).
        self.on("request-created.dynamodb", self._count_send)

    @property
    def botocore_attempts(self) -> int:
        """HTTP attempts botocore makes per API call (1: it never sends a call again by itself)."""
        return int(self.client.meta.config.retries["total_max_attempts"])

    def _count_call(self, event_name: str, **_: Any) -> None:
        self.calls[_operation(event_name)] += 1

    def _count_send(self, event_name: str, **_: Any) -> None:
        self.sends[_operation(event_name)] += 1

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        self.events.register(event, handler)
        self._hooks.append((event, handler))

    def reset_counts(self) -> None:
        self.calls.clear()
        self.sends.clear()

    def stop(self) -> tuple[dict[str, int], dict[str, int]]:
        """The calls and sends per operation so far; every hook removed (what follows goes through)."""
        calls, sends = dict(self.calls), dict(self.sends)
        self.remove_all()
        return calls, sends

    def remove_all(self) -> None:
        while self._hooks:
            event, handler = self._hooks.pop()
            self.events.unregister(event, handler)

    # Each injector below acts on TransactWriteItems only and returns an ``Injection`` that counts the
    # faults it injected. Installing one also restarts the counts of calls and sends, so that they cover
    # what the test does after it set its wallet up.

    def fail_sends(self, error: str | Exception, times: int | None = None) -> Injection:
        """The first ``times`` HTTP attempts of TransactWriteItems (all, if None) fail without reaching
        DynamoDB: answered ``error`` (a key of ``ERRORS``) by "DynamoDB", or raising ``error`` (an
        exception, e.g. a refused connection). Nothing is written."""
        done = Injection()
        self.reset_counts()

        def answer(request: Any, **_: Any) -> AWSResponse | None:
            if times is not None and done.count >= times:
                return None
            done.count += 1
            return _refuse(request, error)

        self.on(f"before-send.dynamodb.{WRITE}", answer)
        return done

    def slow_sends(self, clock: FakeClock, seconds: float) -> None:
        """Every DynamoDB send (reads and writes) takes ``seconds`` more of the fake clock."""
        self.reset_counts()
        self.on("before-send.dynamodb", lambda **_: clock.advance(seconds))

    def lose_response_after_call(self, error: Exception, times: int = 1) -> Injection:
        """The first ``times`` TransactWriteItems that succeed in DynamoDB (they committed) reach the
        caller as ``error`` instead: the response was lost on its way back."""
        done = Injection()
        self.reset_counts()

        def lose(http_response: Any, **_: Any) -> None:
            if http_response is not None and http_response.status_code == 200 and done.count < times:
                done.count += 1
                raise error

        self.on(f"after-call.dynamodb.{WRITE}", lose)
        return done

    def lose_response_on_the_wire(self, times: int = 1) -> Injection:
        """The first ``times`` HTTP attempts of TransactWriteItems reach DynamoDB (and commit, or are
        refused) but their responses are lost: botocore sees a read timeout (and does not send again)."""
        done = Injection()
        self.reset_counts()
        session = self.client._endpoint.http_session

        def send_then_lose(request: Any, **_: Any) -> None:
            if done.count >= times:
                return None
            done.count += 1
            _ = session.send(request).content  # the write reaches DynamoDB...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and its response never comes back

        self.on(f"before-send.dynamodb.{WRITE}", send_then_lose)
        return done

    def crash_before_send(self, error: Exception, times: int = 1) -> Injection:
        """The first ``times`` TransactWriteItems fail with ``error`` before anything is sent: the
        process died between its read and its write."""
        done = Injection()
        self.reset_counts()

        def crash(**_: Any) -> None:
            if done.count < times:
                done.count += 1
                raise error

        self.on(f"before-send.dynamodb.{WRITE}", crash)
        return done

    def before_first_write(self, action: Callable[[], None]) -> Injection:
        """Run ``action`` (another writer) after the first movement's read, just before its write."""
        done = Injection()
        self.reset_counts()

        def interleave(**_: Any) -> None:
            if done.count == 0:
                done.count += 1
                action()

        self.on(f"before-call.dynamodb.{WRITE}", interleave)
        return done


@pytest.fixture(autouse=True)
def _realistic(realistic_dynamodb: None) -> None:
    """Every fault test runs on the embedded DynamoDB's realistic mode (transaction conflicts)."""


@pytest.fixture
def faults() -> Iterator[Faults]:
    injector = Faults()
    try:
        yield injector
    finally:
        injector.remove_all()


BUDGETS = ("KASSA_RETRY_BUDGET_MS", "KASSA_ONEWALLET_RETRY_BUDGET_MS")


@pytest.fixture
def retry_budget() -> Iterator[Callable[[int | None], None]]:
    """``retry_budget(ms)``: the native API's and One Wallet's retry budgets both ``ms`` for this test;
    ``retry_budget(None)``: both unset, the settings' defaults. ``settings()`` is cached: it is cleared
    on each change and after the test, once the environment is as it was."""
    previous = {name: os.environ.get(name) for name in BUDGETS}

    def set_to(ms: int | None) -> None:
        for name in BUDGETS:
            _set_env(name, None if ms is None else str(ms))
        settings.cache_clear()
        if ms is not None:
            assert settings().retry_budget_seconds == settings().onewallet_retry_budget_seconds == ms / 1000

    yield set_to
    for name, value in previous.items():
        _set_env(name, value)
    settings.cache_clear()


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


# What each DynamoDB send takes on the fake clock, so that every attempt costs time as it does for real.
STORE_LATENCY_SECONDS = 0.005


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, faults: Faults) -> FakeClock:
    """The retry budgets' time, fake for this test (see ``tests.faults.fake_clock``): it passes by the
    pauses and ``STORE_LATENCY_SECONDS`` per send, while the faults are installed."""
    fake = FakeClock().install(monkeypatch)
    faults.slow_sends(fake, STORE_LATENCY_SECONDS)
    return fake


# -- the state, read straight from DynamoDB and through the API -------------------------------------


def wallet_pk(player: str) -> str:
    return f"OP#{OPERATOR}#PLAYER#{player}"


def key(player: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": wallet_pk(player)}, "sk": {"S": sk}}


@dataclass
class Raw:
    """Items of a wallet's partition, read with a client that carries no hooks."""

    stack: LocalStack

    def __post_init__(self) -> None:
        self.client = self.stack.client("dynamodb")

    def item(self, player: str, sk: str) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.stack.table, Key=key(player, sk), ConsistentRead=True)
        return found.get("Item")

    def wallet(self, player: str) -> dict[str, Any]:
        item = self.item(player, "WALLET")
        assert item is not None
        return item

    def entry(self, player: str, transaction_id: str, action: str) -> dict[str, Any] | None:
        return self.item(player, f"TX#{transaction_id}#{action}")

    def bet(self, player: str, bet_id: str) -> dict[str, Any] | None:
        return self.item(player, f"BET#{bet_id}")

    def partition(self, player: str) -> dict[str, dict[str, Any]]:
        """Every item of the wallet's partition (wallet, entries, bets), by sort key."""
        query: dict[str, Any] = {
            "TableName": self.stack.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": wallet_pk(player)}},
            "ConsistentRead": True,
        }
        items: dict[str, dict[str, Any]] = {}
        while True:
            page = self.client.query(**query)
            items.update({item["sk"]["S"]: item for item in page["Items"]})
            if "LastEvaluatedKey" not in page:
                return items
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="session")
def raw(stack: LocalStack) -> Raw:
    return Raw(stack)


def history(api: Api, player: str) -> list[dict[str, Any]]:
    """The wallet's applied transactions, oldest first (GET /v1/wallets/{p}/transactions)."""
    items: list[dict[str, Any]] = []
    query = "limit=100"
    while True:
        page = api.get(f"/v1/wallets/{player}/transactions", query=query)
        assert page.status == 200, page.body
        items += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if not cursor:
            return list(reversed(items))
        query = f"limit=100&cursor={cursor}"


def moves(api: Api, player: str) -> list[tuple[str, str, Decimal, str | None]]:
    """The history as (transactionId, type, amount, betId), oldest first."""
    return [(i["transactionId"], i["type"], D(i["amount"]), i["betId"]) for i in history(api, player)]


def wallet(api: Api, player: str) -> dict[str, Any]:
    response = api.get(f"/v1/wallets/{player}")
    assert response.status == 200, response.body
    return response.json()


Move = tuple[str, str, str, str | None]  # (transactionId, type, amount, betId)
DEPOSITED: list[Move] = [("dep", "deposit", "100", None)]


def funded(api: Api, amount: str = "100") -> str:
    """A new player whose wallet holds ``amount`` (one deposit, transaction id ``dep``)."""
    player = api.open_wallet("EUR")
    response = api.move(player, "deposit", amount, transactionId="dep")
    assert response.status == 201, response.body
    return player


# The native bet the fault tests refuse: t1, 10 on b1, on a wallet that ``funded`` holds 100.
BET: dict[str, Any] = {"transactionId": "t1", "betId": "b1"}


def bet(api: Api, player: str) -> HttpResponse:
    return api.move(player, "bet", "10", **BET)


def assert_bet_not_committed(api: Api, raw: Raw, player: str, before: dict[str, dict[str, Any]]) -> None:
    """No entry, no bet, the wallet as it was (balance, version, hash): the partition is ``before``."""
    assert raw.partition(player) == before
    assert raw.entry(player, "t1", "bet") is None and raw.bet(player, "b1") is None
    assert_ledger(api, player, "100", DEPOSITED)


def assert_bet_applied_once_when_sent_again(api: Api, player: str) -> None:
    again = bet(api, player)
    assert again.status == 201, again.body
    assert_ledger(api, player, "90", [*DEPOSITED, ("t1", "bet", "10", "b1")])


def assert_ledger(api: Api, player: str, balance: str, expected: list[Move]) -> None:
    """Balance, version and applied history exactly as expected, and each balance step consistent."""
    now = wallet(api, player)
    items = history(api, player)
    assert [(i["transactionId"], i["type"], D(i["amount"]), i["betId"]) for i in items] == [
        (tx, kind, D(amount), bet) for tx, kind, amount, bet in expected
    ], items
    assert D(now["balance"]) == D(balance), now
    assert now["version"] == len(expected), now
    assert [i["version"] for i in items] == list(range(1, len(items) + 1)), items
    for before, after in itertools.pairwise(items):
        assert after["balanceBefore"] == before["balanceAfter"], (before, after)
        assert after["previousHash"] == before["hash"], (before, after)


# -- One Wallet through the in-process gateway -------------------------------------------------------


class OneWallet:
    def __init__(self, gateway: LocalGateway, api: Api, token: str) -> None:
        self.gateway = gateway
        self.api = api
        self.token = token

    def session(self, player: str) -> str:
        response = self.api.post("/v1/sessions", {"playerId": player})
        assert response.status == 201, response.body
        return str(response.json()["sid"])

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response: HttpResponse = self.gateway.handle(
            "POST",
            f"/onewallet/{method}",
            f"authToken={self.token}",
            {"content-type": "application/json"},
            json.dumps(body).encode(),
        )
        assert response.status == 200, (response.status, response.body)
        reply = json.loads(response.body, parse_float=Decimal)
        assert reply.get("uuid") == body["uuid"], reply
        return reply

    @staticmethod
    def tx(player: str, sid: str, tx_id: str, ref_id: str, amount: int) -> dict[str, Any]:
        return {
            "sid": sid,
            "userId": player,
            "uuid": new_id("uuid"),
            "currency": "EUR",
            "game": None,
            "transaction": {"id": tx_id, "refId": ref_id, "amount": amount},
        }


@pytest.fixture
def onewallet(gateway: LocalGateway, api: Api, demo: DemoCredentials) -> OneWallet:
    return OneWallet(gateway, api, demo.onewallet_token)


def assert_reply(reply: dict[str, Any], status: str | set[str], balance: str | None = None) -> None:
    statuses = {status} if isinstance(status, str) else status
    assert reply["status"] in statuses, reply
    if balance is not None:
        assert reply.get("balance") == D(balance) and reply.get("bonus") == 0, reply


BET_D0: list[Move] = [*DEPOSITED, ("d0", "bet", "10", "r0")]


@dataclass
class Pending:
    """A One Wallet ``debit`` (d1: 10 on r1) or ``credit`` (c1: 15 for r0) about to be sent, on a wallet
    that holds 90 after an open bet (d0: 10 on r0)."""

    method: str
    player: str
    body: dict[str, Any]
    after: str  # the balance once it is applied
    move: Move

    @property
    def applied(self) -> list[Move]:
        return [*BET_D0, self.move]

    def assert_not_applied(self, api: Api) -> None:
        assert_ledger(api, self.player, "90", BET_D0)

    def assert_applied_once_when_sent_again(self, api: Api, onewallet: OneWallet) -> None:
        """The provider sends it again later (a new uuid): applied, once."""
        assert_reply(onewallet.call(self.method, {**self.body, "uuid": new_id("uuid")}), "OK", self.after)
        assert_ledger(api, self.player, self.after, self.applied)


def pending(api: Api, onewallet: OneWallet, method: str) -> Pending:
    player = funded(api)
    sid = onewallet.session(player)
    assert_reply(onewallet.call("debit", onewallet.tx(player, sid, "d0", "r0", 10)), "OK", "90")
    if method == "debit":
        return Pending(method, player, onewallet.tx(player, sid, "d1", "r1", 10), "80", ("d1", "bet", "10", "r1"))
    return Pending(method, player, onewallet.tx(player, sid, "c1", "r0", 15), "105", ("c1", "win", "15", "r0"))
