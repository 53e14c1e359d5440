"""DynamoDB requests and consumed capacity per operation, counted in-process.

Each operation goes through an in-process ``LocalGateway`` (its ``FunctionRunner``), with botocore event
hooks on the DynamoDB clients the handlers use (Kassa's ``kassa.store.client.dynamodb()`` and the
baseline's boto3 client). Every call is attributed to the function that made it, so the authorizer's
own lookup is reported apart from the route's function.

Consumed capacity: Kassa does not ask DynamoDB for ``ReturnConsumedCapacity`` (and the embedded moto
would not compute it faithfully), so it is computed here from the items themselves with DynamoDB's
published formulas:

- item size: the UTF-8 length of every attribute name plus its value (strings: UTF-8 bytes; numbers:
  1 byte per two significant digits + 1; binary: bytes; booleans and null: 1; lists and maps: 3 bytes
  + their elements + 1 byte each);
- reads: 1 RCU per 4 KB (rounded up, at least 1) for a strongly consistent read, half of that for an
  eventually consistent one (every read of a global secondary index); a query is charged on the total
  size of what it returns; ``BatchGetItem`` per item asked, ``TransactGetItems`` 2x per item; a read of
  an item that does not exist still costs the minimum (1 RCU consistent, 0.5 eventually consistent);
- writes: 1 WCU per 1 KB (rounded up, at least 1) of the larger of the item before and after the write,
  whether or not a condition let it through; ``TransactWriteItems`` costs 2x, per item, and a
  ``ConditionCheck`` in it is billed as a write;
- secondary indexes (reported apart, as an estimate at the standard rate): a write that adds, changes or
  removes an item's entry in an index costs that index 1 WCU per 1 KB of the projected entry (a
  KEYS_ONLY index is written only when its key attributes appear, change or disappear).

To know the item "before" and "after" a write, the hooks read it with a separate, unhooked client; those
reads are not counted.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kassa_dev.bench import workload

READ_UNIT = 4096
WRITE_UNIT = 1024
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}

Item = dict[str, Any]


# -- item sizes ------------------------------------------------------------------------------------


def number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return 1 + math.ceil(max(1, len(digits)) / 2)


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return number_size(str(raw))
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in raw)
    if kind == "NS":
        return sum(number_size(str(s)) for s in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> Decimal:
    units = Decimal(max(1, math.ceil(size / READ_UNIT)))
    return units if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT))


# -- the meter -------------------------------------------------------------------------------------


@dataclass
class Call:
    """One DynamoDB API call and what it cost."""

    function: str
    operation: str
    rcu: Decimal = Decimal(0)
    wcu: Decimal = Decimal(0)
    index_wcu: Decimal = Decimal(0)
    error: str | None = None


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str
    non_key_attributes: tuple[str, ...]


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]


class CapacityMeter:
    """Botocore hooks that record every DynamoDB call of the clients it is attached to."""

    def __init__(self, probe: Any) -> None:
        self.probe = probe  # an unhooked client, for "before/after" reads and table shapes
        self.function = "-"
        self.calls: list[Call] = []
        self.timings: list[tuple[str, float]] = []  # (function, seconds) per invocation
        self._shapes: dict[str, TableShape] = {}
        self._attached: list[tuple[Any, str, Any]] = []

    # attaching

    def attach(self, client: Any) -> None:
        for event, handler in (
            ("before-parameter-build.dynamodb", self._before),
            ("after-call.dynamodb", self._after),
        ):
            client.meta.events.register(event, handler, unique_id=f"kassa-bench-{event}")
            self._attached.append((client, event, handler))

    def detach(self) -> None:
        for client, event, handler in self._attached:
            client.meta.events.unregister(event, handler, unique_id=f"kassa-bench-{event}")
        self._attached.clear()

    @contextlib.contextmanager
    def in_function(self, function: str) -> Iterator[None]:
        previous, self.function = self.function, function
        try:
            yield
        finally:
            self.function = previous

    # hooks

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        targets = self._write_targets(model.name, params)
        context["kassa_bench"] = {
            "params": params,
            "targets": targets,
            "before": [self._read(table, key) for table, key, _, _ in targets],
        }

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        state = context.get("kassa_bench")
        if state is None:
            return
        operation, params = model.name, state["params"]
        call = Call(self.function, operation, error=(parsed.get("Error") or {}).get("Code"))
        if operation in WRITE_OPERATIONS:
            factor = 2 if operation == "TransactWriteItems" else 1
            for (table, key, requested, _kind), before in zip(state["targets"], state["before"], strict=True):
                after = self._read(table, key)
                size = max(item_size(before), item_size(after), item_size(requested))
                call.wcu += factor * write_units(size)
                call.index_wcu += self._index_units(table, before, after)
        else:
            call.rcu = self._read_cost(operation, params, parsed)
        self.calls.append(call)

    # costs

    def _read_cost(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> Decimal:
        if operation == "GetItem":
            return read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        if operation == "TransactGetItems":
            return sum(
                (2 * read_units(item_size(found.get("Item")), True) for found in parsed.get("Responses") or []),
                Decimal(0),
            )
        if operation == "BatchGetItem":
            total = Decimal(0)
            responses, unprocessed = parsed.get("Responses") or {}, parsed.get("UnprocessedKeys") or {}
            for table, asked in params["RequestItems"].items():
                consistent = bool(asked.get("ConsistentRead"))
                items = responses.get(table) or []
                total += sum((read_units(item_size(item), consistent) for item in items), Decimal(0))
                # Keys asked and answered with nothing (no such item) are charged the minimum too.
                missing = len(asked["Keys"]) - len(items) - len((unprocessed.get(table) or {}).get("Keys") or [])
                total += missing * read_units(0, consistent)
            return total
        if operation in ("Query", "Scan"):
            consistent = bool(params.get("ConsistentRead")) and not self._is_global_index(params)
            size = sum(item_size(item) for item in parsed.get("Items") or [])
            return read_units(size, consistent)
        return Decimal(0)

    def _is_global_index(self, params: dict[str, Any]) -> bool:
        index = params.get("IndexName")
        if not index:
            return False
        shape = self._shape(params["TableName"])
        return any(i.name == index and i.keys[0] != shape.keys[0] for i in shape.indexes)

    def _write_targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, Item, Item | None, str]]:
        """(table, key, item the request puts or None, action) for every item a write touches."""
        if operation not in WRITE_OPERATIONS:
            return []
        if operation == "TransactWriteItems":
            actions = [(kind, body) for entry in params.get("TransactItems", []) for kind, body in entry.items()]
        elif operation == "BatchWriteItem":
            actions = [
                (
                    "Put" if "PutRequest" in w else "Delete",
                    {"TableName": t, **(w.get("PutRequest") or w["DeleteRequest"])},
                )
                for t, writes in params.get("RequestItems", {}).items()
                for w in writes
            ]
        else:
            actions = [({"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation], params)]
        targets = []
        for kind, body in actions:
            table = body["TableName"]
            requested = body.get("Item") if kind == "Put" else None
            key = body.get("Key") or {name: requested[name] for name in self._shape(table).keys if requested}
            targets.append((table, key, requested, kind))
        return targets

    def _index_units(self, table: str, before: Item | None, after: Item | None) -> Decimal:
        shape = self._shape(table)
        units = 0
        for index in shape.indexes:
            old, new = _projection(index, shape, before), _projection(index, shape, after)
            if old == new:
                continue
            if old is not None and new is not None and all(before[k] == after[k] for k in index.keys):  # type: ignore[index]
                units += write_units(item_size(new))  # the entry rewritten in place
                continue
            units += (write_units(item_size(old)) if old is not None else 0) + (
                write_units(item_size(new)) if new is not None else 0
            )
        return Decimal(units)

    # probes

    def _read(self, table: str, key: Item) -> Item | None:
        if not key:
            return None
        found: Item | None = self.probe.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return found

    def _shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            described = self.probe.describe_table(TableName=table)["Table"]
            keys = tuple(k["AttributeName"] for k in described["KeySchema"])
            indexes = tuple(
                Index(
                    i["IndexName"],
                    tuple(k["AttributeName"] for k in i["KeySchema"]),
                    i["Projection"]["ProjectionType"],
                    tuple(i["Projection"].get("NonKeyAttributes") or ()),
                )
                for i in [*described.get("LocalSecondaryIndexes", []), *described.get("GlobalSecondaryIndexes", [])]
            )
            self._shapes[table] = TableShape(keys, indexes)
        return self._shapes[table]


def _projection(index: Index, shape: TableShape, item: Item | None) -> Item | None:
    """The item's entry in the index (None when the item lacks the index's key attributes)."""
    if not item or any(k not in item for k in index.keys):
        return None
    if index.projection == "ALL":
        return item
    wanted = set(index.keys) | set(shape.keys)
    if index.projection == "INCLUDE":
        wanted |= set(index.non_key_attributes)
    return {k: v for k, v in item.items() if k in wanted}


# -- attributing calls to functions ------------------------------------------------------------------


class CountingInvoker:
    """Runs functions through ``invoker`` and tells the meter which one is running."""

    def __init__(self, invoker: Any, meter: CapacityMeter) -> None:
        self.invoker = invoker
        self.meter = meter

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            with self.meter.in_function(function_id):
                return self.invoker.invoke(function_id, event)
        finally:
            self.meter.timings.append((function_id, time.perf_counter() - started))


@dataclass
class OperationCost:
    """The mean per request of one operation, for the route's function and for the authorizer."""

    system: str
    operation: str
    samples: int
    requests: Decimal = Decimal(0)
    rcu: Decimal = Decimal(0)
    wcu: Decimal = Decimal(0)
    index_wcu: Decimal = Decimal(0)
    by_api: Counter[str] = field(default_factory=Counter)  # API calls per request, by operation name
    authorizer_requests: Decimal = Decimal(0)
    authorizer_rcu: Decimal = Decimal(0)
    authorizer_by_api: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0  # the route's function, handler time in this process (mean)
    authorizer_seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)  # condition failures etc. (expected for replays)
    varied: bool = False  # not every sample made the same calls

    def describe_calls(self, authorizer: bool = False) -> str:
        counts = self.authorizer_by_api if authorizer else self.by_api
        return ", ".join(f"{_fmt(Decimal(n) / self.samples)}x {name}" for name, n in sorted(counts.items())) or "-"


def _fmt(value: Decimal) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@contextlib.contextmanager
def silenced_stdout() -> Iterator[None]:
    """The handlers' log lines and EMF metrics go nowhere while they run in this process."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def measure_costs(stack: Any, api_key: str, samples: int, tag: str) -> list[OperationCost]:
    """Run ``samples`` of each operation per system in-process and return their mean cost."""
    from kassa.store.client import dynamodb
    from kassa_dev.bench import baseline
    from kassa_dev.bench.harness import BenchRunner, gateways
    from kassa_dev.template import authorizer_function_id

    runner = BenchRunner()
    with silenced_stdout():
        runner.preload()
    meter = CapacityMeter(stack.client("dynamodb"))
    counting = CountingInvoker(runner, meter)
    authorizer = authorizer_function_id()
    headers = workload.headers(api_key)

    def send(gateway: Any, request: workload.Call) -> None:
        response = gateway.handle(request.method, request.path, "", headers, request.body or b"")
        if response.status != request.expected:
            answer = f"{response.status} {response.body[:300]!r}"
            raise RuntimeError(f"{request.method} {request.path}: {answer} (wanted {request.expected})")

    def send_sample(gateway: Any, operation: str, player: str, i: int, before_counted: Callable[[], None]) -> None:
        """The i-th sample of ``operation``: what goes first uncounted, then ``before_counted()`` (clearing
        what the meter holds), then the request counted."""
        first, counted = _sample(operation, player, i)
        with silenced_stdout():
            if first is not None:
                send(gateway, first)
            before_counted()
            send(gateway, counted)

    results = []
    for system, gateway in gateways(counting).items():
        player = f"{tag}-{system}-count"
        # The wallet, funded (not counted).
        with silenced_stdout():
            for request in _opening(player):
                send(gateway, request)
        for operation in COST_OPERATIONS:
            cost = OperationCost(system, operation, samples)
            signatures = set()
            # Handler time first, with no hooks attached (the meter's own reads would count).
            for i in range(samples, 2 * samples):
                send_sample(gateway, operation, player, i, meter.timings.clear)
                for function, seconds in meter.timings:
                    if function == authorizer:
                        cost.authorizer_seconds += seconds / samples
                    else:
                        cost.seconds += seconds / samples
            meter.attach(dynamodb())
            meter.attach(baseline.dynamodb())
            try:
                for i in range(samples):
                    send_sample(gateway, operation, player, i, meter.calls.clear)
                    signatures.add(tuple((c.function, c.operation) for c in meter.calls))
                    for c in meter.calls:
                        if c.error:
                            cost.errors[f"{c.operation}: {c.error}"] += 1
                        if c.function == authorizer:
                            cost.authorizer_requests += 1
                            cost.authorizer_rcu += c.rcu
                            cost.authorizer_by_api[c.operation] += 1
                        else:
                            cost.requests += 1
                            cost.rcu += c.rcu
                            cost.wcu += c.wcu
                            cost.index_wcu += c.index_wcu
                            cost.by_api[c.operation] += 1
            finally:
                meter.detach()
            for name in ("requests", "rcu", "wcu", "index_wcu", "authorizer_requests", "authorizer_rcu"):
                setattr(cost, name, getattr(cost, name) / samples)
            cost.varied = len(signatures) > 1
            results.append(cost)
    return results


# The operations whose cost is counted: the workload's, and ``retry``: a new bet sent again right after its
# answer, as a provider retries (``replay`` sends the i-th bet again after the whole bet and win phases:
# a replay of a movement many movements back; One Wallet's reads tell those apart, the native API's do not).
COST_OPERATIONS = (*workload.OPERATIONS, "retry")
RETRY_FROM = 1000  # the retried bets' numbers, apart from the workload's


def _sample(operation: str, player: str, i: int) -> tuple[Any, Any]:
    """(a request sent first and not counted, or None; the request counted) for the i-th sample."""
    if operation == "retry":
        first = workload.bet(player, RETRY_FROM + i)
        return first, workload.Call(first.method, first.path, first.body, 200)
    return None, workload.call(operation, player, i)


def _opening(player: str) -> list[Any]:
    import json

    create = json.dumps({"playerId": player, "currency": workload.CURRENCY}).encode()
    funding = json.dumps({"transactionId": f"{player}-funding", "type": "deposit", "amount": workload.INITIAL_DEPOSIT})
    return [
        workload.Call("POST", "/v1/wallets", create, 201),
        workload.Call("POST", f"{workload.wallet_path(player)}/transactions", funding.encode(), 201),
    ]
