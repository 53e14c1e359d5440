"""Fixtures of the reconciliation tests (issue 4, "Event-triggered reconciliation and audit").

- ``stream``: ONE pump for the whole session over the table's stream, driving ``ReconciliationFunction``
  through the gateway's in-process runner, as the event source mapping would. The stream is shared by
  every test, so each test calls ``stream.drain()`` before it asserts; a drain also fails the test if a
  record was dead-lettered while it ran (the function failed it on every delivery the template allows).
- ``reports``: ONE pump for the session over the provider-reports bucket (each upload is delivered once).
- ``tenant`` / ``make_tenant``: a fresh operator per test (its own audit policy, an admin API key), so the
  findings of a test are only about its own wallets. ``Tenant`` moves money in-process through
  ``kassa.ledger.move_money``, corrupts the table with raw DynamoDB calls, and reads the findings of the
  stream verifier, of the audit and of a run as ``(kind, playerId, version)`` triples.
- ``events_queue``: a fresh SQS queue receiving every Kassa event published on the bus from now on.
- ``own_table``: a ledger table of the test's own, with its own pump, for tests whose cost grows with the
  table (moto's Query walks every item of a table) or that act on every operator (the schedule).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from kassa import auth, errors, ledger, operators
from kassa.domain.model import Action
from kassa.domain.movements import MovementRequest
from kassa.ledger import MovementResult
from kassa.operators import AuditPolicy
from kassa.reconcile import runs
from kassa.store import keys
from kassa.store.access_store import AccessStore
from kassa.store.ledger_store import LedgerStore
from kassa.store.reconcile_store import ReconcileStore
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import LocalStack
from tests.conftest import Api, new_id

FUNCTION = "ReconciliationFunction"

Triple = tuple[str, str, int | None]


def triples(findings: list[dict[str, Any]]) -> list[Triple]:
    """Findings as sorted (kind, playerId, version) triples: a multiset, so duplicates show."""
    return sorted(
        ((f["kind"], f["playerId"], f["version"]) for f in findings),
        key=lambda t: (t[0], t[1], -1 if t[2] is None else t[2]),
    )


def sort_triples(items: list[Triple]) -> list[Triple]:
    return sorted(items, key=lambda t: (t[0], t[1], -1 if t[2] is None else t[2]))


# --------------------------------------------------------------------------- the function and its triggers


@pytest.fixture(scope="session")
def reconciliation(gateway: LocalGateway) -> Callable[[dict[str, Any]], Any]:
    """Invoke ReconciliationFunction in-process (as Lambda would) with an event."""
    if FUNCTION not in getattr(gateway.runner, "functions", {}):
        pytest.fail(f"{FUNCTION} is not in template.yaml (yet): the reconciliation tests need it")

    def invoke(event: dict[str, Any]) -> Any:
        return gateway.runner.invoke(FUNCTION, event)

    return invoke


class Stream:
    """The session's stream pump, drained to the end before a test asserts."""

    def __init__(self, pump: Any) -> None:
        self.pump = pump

    def drain(self) -> None:
        dead_before = len(self.pump.dead_letters)
        for _ in range(500):
            if not self.pump.pump_once():
                break
        else:  # pragma: no cover - a run that keeps writing records
            raise AssertionError("the stream never ran dry")
        dead = self.pump.dead_letters[dead_before:]
        assert not dead, f"{len(dead)} stream records were dead-lettered: {dead[:2]}"


@pytest.fixture(scope="session")
def stream(stack: LocalStack, gateway: LocalGateway, reconciliation: Any) -> Stream:
    return Stream(stack.stream_pump(gateway.runner.invoke))


@pytest.fixture(scope="session")
def reports(stack: LocalStack, gateway: LocalGateway, reconciliation: Any) -> Any:
    return stack.reports_pump(gateway.runner.invoke)


@pytest.fixture
def events_queue(stack: LocalStack) -> Iterator[Queue]:
    with stack.event_queue(new_id("recq")) as url:
        yield Queue(stack.client("sqs"), url)


class Queue:
    """What was published on the bus since the queue was made (Kassa's events only). ``of`` answers the
    events received since the last ``mark()`` (all of them until the first mark)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.received: list[dict[str, Any]] = []
        self._mark = 0

    def collect(self) -> list[dict[str, Any]]:
        """Every event received so far (messages are deleted once read)."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return self.received
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def mark(self) -> None:
        self._mark = len(self.collect())

    def of(self, operator_id: str, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [
            event
            for event in self.collect()[self._mark :]
            if event["detail"].get("operatorId") == operator_id
            and (detail_type is None or event["detail-type"] == detail_type)
        ]


# --------------------------------------------------------------------------- tenants


@dataclass
class Tenant:
    operator_id: str
    api: Api
    raw: Any  # a low-level DynamoDB client on the embedded stack
    table: str
    wallets: list[str] = field(default_factory=list)

    # -- ledger, in-process ------------------------------------------------------------------------

    def open_wallet(self, currency: str = "EUR", player: str | None = None) -> str:
        player = player or new_id("p")
        ledger.open_wallet(LedgerStore(), self.operator_id, player, currency)
        self.wallets.append(player)
        return player

    def move(
        self,
        player: str,
        action: Action | str,
        amount: str | Decimal | None,
        tx: str | None = None,
        bet: str | None = None,
    ) -> MovementResult:
        request = MovementRequest(
            Action(action), tx or new_id("tx"), None if amount is None else Decimal(str(amount)), bet_id=bet
        )
        return ledger.move_money(LedgerStore(), self.operator_id, player, request)

    def refused(self, player: str, action: Action | str, amount: str | None, **kwargs: Any) -> errors.KassaError:
        try:
            self.move(player, action, amount, **kwargs)
        except errors.KassaError as error:
            return error
        raise AssertionError(f"{action} {amount} was not refused")

    # -- raw table access --------------------------------------------------------------------------

    def wallet_key(self, player: str) -> dict[str, Any]:
        return keys.wallet(self.operator_id, player)

    def entry_key(self, player: str, tx: str, action: str) -> dict[str, Any]:
        return keys.entry(self.operator_id, player, tx, action)

    def raw_wallet(self, player: str) -> dict[str, Any]:
        return self.raw.get_item(TableName=self.table, Key=self.wallet_key(player), ConsistentRead=True)["Item"]

    def raw_entries(self, player: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.raw.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :tx)",
            ExpressionAttributeValues={":pk": {"S": keys.wallet_pk(self.operator_id, player)}, ":tx": {"S": "TX#"}},
            ConsistentRead=True,
        ):
            items += page["Items"]
        return items

    def applied_entries(self, player: str) -> list[dict[str, Any]]:
        return sorted(
            (item for item in self.raw_entries(player) if item["outcome"]["S"] == "applied"),
            key=lambda item: int(item["version"]["N"]),
        )

    def entry_at(self, player: str, version: int) -> dict[str, Any]:
        (item,) = [e for e in self.applied_entries(player) if int(e["version"]["N"]) == version]
        return item

    def set_attribute(self, key: dict[str, Any], name: str, value: dict[str, str]) -> None:
        self.raw.update_item(
            TableName=self.table,
            Key=key,
            UpdateExpression="SET #a = :v",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#a": name},
            ExpressionAttributeValues={":v": value},
        )

    def balance_units(self, player: str) -> int:
        return int(self.raw_wallet(player)["balance"]["N"])

    # -- what reconciliation says ------------------------------------------------------------------

    def stream_findings(self, run_id: str | None = None) -> list[dict[str, Any]]:
        store, found, cursor = ReconcileStore(), [], None
        while True:
            page, cursor = store.findings(self.operator_id, run_id, 500, cursor)
            found += page
            if not cursor:
                return found

    def run_findings(self, run_id: str) -> list[dict[str, Any]]:
        return self.stream_findings(run_id)

    def audit(self) -> list[dict[str, Any]]:
        found, walk = runs.audit_operator(self.operator_id, ReconcileStore())
        assert walk["complete"], walk  # outside Lambda a walk has all the time it needs
        return [finding.as_dict() for finding in found]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        return ReconcileStore().get_run(self.operator_id, run_id)


@pytest.fixture
def make_tenant(stack: LocalStack, gateway: LocalGateway) -> Callable[..., Tenant]:
    def make(audit: AuditPolicy | None = None, scopes: tuple[str, ...] = auth.SCOPES) -> Tenant:
        created = operators.create_operator(AccessStore(), new_id("rec"), scopes=scopes, audit=audit or AuditPolicy())
        return Tenant(created.operator_id, Api(gateway, created.api_key), stack.client("dynamodb"), stack.table)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant]) -> Tenant:
    return make_tenant()


class OwnTable:
    """A ledger table of one test's own (template.yaml's schema), with Kassa pointed at it
    (``KASSA_TABLE``) while the test runs, and a stream pump of its own driving ReconciliationFunction.

    For tests whose cost grows with the size of the table (moto's Query walks every item of the table)
    or that act on every operator in it (the scheduled audit): the session's table holds every other
    test's items."""

    def __init__(self, stack: LocalStack, gateway: LocalGateway, make: Callable[..., Tenant]) -> None:
        from kassa_dev import template
        from kassa_dev.triggers import StreamPump

        self.name = f"{stack.table}-{new_id('own')}"
        self.dynamodb = stack.client("dynamodb")
        template.create_table(self.dynamodb, self.name)
        self.previous = os.environ["KASSA_TABLE"]
        self._point_at(self.name)
        self._make = make
        arn = self.dynamodb.describe_table(TableName=self.name)["Table"]["LatestStreamArn"]
        self.stream = Stream(StreamPump(stack.client("dynamodbstreams"), arn, gateway.runner.invoke, FUNCTION))

    @staticmethod
    def _point_at(table: str) -> None:
        from kassa.settings import settings

        os.environ["KASSA_TABLE"] = table
        settings.cache_clear()

    def tenant(self, **kwargs: Any) -> Tenant:
        made = self._make(**kwargs)
        made.table = self.name
        return made

    def close(self) -> None:
        self._point_at(self.previous)
        self.dynamodb.delete_table(TableName=self.name)


@pytest.fixture
def own_table(
    stack: LocalStack, gateway: LocalGateway, reconciliation: Any, make_tenant: Callable[..., Tenant]
) -> Iterator[OwnTable]:
    table = OwnTable(stack, gateway, make_tenant)
    try:
        yield table
    finally:
        table.close()


@pytest.fixture
def provider_bucket(stack: LocalStack) -> str:
    return os.environ["KASSA_PROVIDER_REPORTS_BUCKET"]
