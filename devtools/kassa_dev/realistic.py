"""The embedded DynamoDB's realistic mode: DynamoDB's transaction conflicts, throttling and lost answers.

moto applies one request at a time (``embedded_dynamodb`` serializes them), so nothing is ever in flight
and nothing ever conflicts, throttles or loses an answer: code that is wrong about those passes every
local test. This mode models what DynamoDB's developer guide states for transactions, so the local
stack shows it:

- A ``TransactWriteItems`` has a prepare-commit window. It is applied (all or nothing, as moto does),
  then its items stay *in flight* for ``window_seconds`` before it answers; the request lock is free
  meanwhile, so other requests arrive during the window. While an item is in flight:

  ========================================  =======================================================
  another request touching the item          answer
  ========================================  =======================================================
  ``TransactWriteItems``                     ``TransactionCanceledException``, reason
                                             ``TransactionConflict`` for that action, ``None`` others
  ``TransactGetItems``                       the same
  ``PutItem`` / ``UpdateItem`` /             ``TransactionConflictException``
  ``DeleteItem``
  ``GetItem`` / ``BatchGetItem`` / ``Query`` answered (read-committed: they never conflict)
  ========================================  =======================================================

  Single-item writes have no window of their own: each is atomic under the lock.

- An eventually consistent read may be stale, as the developer guide warns: a ``GetItem`` or
  ``BatchGetItem`` without ``ConsistentRead`` of Kassa's client answers, with probability ``stale`` for
  each item written in the last ``lag_seconds``, the item as it was ``lag_seconds`` ago (an older
  version, or nothing if it did not exist yet), never a version that was not committed. Strongly
  consistent reads, queries and other clients' reads always see the latest.

- Injected faults, each with a probability drawn from one seeded generator (the same seed replays the
  same faults for the same sequence of requests), on requests of Kassa's own client only (its user
  agent carries ``kassa.store.client.USER_AGENT``), so a test's own reads and writes are never hit:
  throttling in both shapes (a request-level ``ThrottlingException`` or
  ``ProvisionedThroughputExceededException``, and a transaction cancelled with reason
  ``ThrottlingError``); ``ItemCollectionSizeLimitExceeded`` on a write; and a lost answer after a
  committed write (``InternalServerError``: DynamoDB's "the request may or may not have succeeded").

Off by default. ``configure(...)`` sets it for the process (tests); ``kassa serve`` reads
``KASSA_REALISTIC_DYNAMODB`` (``1``, or ``window=0.005,stale=0.3,lag=0.1,throttle=0.01,collection=0,lost=0,
seed=7``).
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import DynamoJsonEncoder

TARGET_PREFIX = "DynamoDB_20120810."
KASSA_USER_AGENT = "kassa-ledger"  # kassa.store.client.USER_AGENT (not imported: the layer is not a dev dependency)
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_TRANSACTIONS = frozenset({"TransactWriteItems", "TransactGetItems"})
_ITEM_READS = frozenset({"GetItem", "BatchGetItem"})

_StartResponse = Callable[..., Any]
_Wsgi = Callable[[dict[str, Any], _StartResponse], Iterable[bytes]]
Key = tuple[str, str]  # (table, the key's attributes as canonical JSON)


@dataclass(frozen=True)
class Realism:
    enabled: bool = False
    window_seconds: float = 0.003
    throttle: float = 0.0
    collection: float = 0.0
    lost: float = 0.0
    seed: int = 0
    # Eventually consistent reads: the chance that one of an item written within the lag sees it as it was.
    stale: float = 0.3
    lag_seconds: float = 0.1


@dataclass
class _State:
    realism: Realism = field(default_factory=Realism)
    rng: random.Random = field(default_factory=random.Random)
    in_flight: dict[Key, int] = field(default_factory=dict)  # key -> transactions holding it
    counts: dict[str, int] = field(default_factory=dict)  # what was injected or refused, by kind
    requests: dict[str, int] = field(default_factory=dict)  # DynamoDB requests served, by operation
    writes: dict[str, int] = field(default_factory=dict)  # items written (mode on), by partition key value
    collection_gb: dict[str, float] = field(default_factory=dict)  # planted item-collection sizes, by partition
    # key -> (when it was written, the item before that write) for the writes of the last lag_seconds, and
    # those writes in the order they were made (to let go of what falls out of the lag)
    versions: dict[Key, deque[tuple[float, dict[str, Any] | None]]] = field(default_factory=dict)
    written_at: deque[tuple[float, Key]] = field(default_factory=deque)


_STATE = _State()


def configure(**settings: Any) -> Realism:
    """Set the mode for this process (``enabled=True`` to switch it on); resets the fault generator."""
    _STATE.realism = replace(Realism(), **settings)
    _STATE.rng = random.Random(_STATE.realism.seed)  # fault injection, not security
    _STATE.counts.clear()
    _STATE.requests.clear()
    _STATE.writes.clear()
    _STATE.collection_gb.clear()
    _STATE.versions.clear()
    _STATE.written_at.clear()
    return _STATE.realism


def plant_collection_size(partition: str, size_gb: float) -> None:
    """Report the item collection of ``partition`` (a partition key value) as ``size_gb`` to writes that
    ask for ``ReturnItemCollectionMetrics`` (mode on): moto reports none, and no test can write 10 GB."""
    _STATE.collection_gb[partition] = size_gb


def from_environment(value: str | None) -> Realism:
    """``KASSA_REALISTIC_DYNAMODB``: empty/0 off; ``1`` on with defaults; or ``name=value,...``."""
    if not value or value.strip() in ("0", "false", "off"):
        return configure()
    if value.strip() in ("1", "true", "on"):
        return configure(enabled=True)
    names = {
        "window": "window_seconds",
        "stale": "stale",
        "lag": "lag_seconds",
        "throttle": "throttle",
        "collection": "collection",
        "lost": "lost",
    }
    settings: dict[str, Any] = {"enabled": True}
    for part in value.split(","):
        name, _, number = part.partition("=")
        name = name.strip()
        if name == "seed":
            settings["seed"] = int(number)
        elif name in names:
            settings[names[name]] = float(number)
        else:
            raise ValueError(
                f"KASSA_REALISTIC_DYNAMODB: unknown setting {name!r} "
                "(window, stale, lag, throttle, collection, lost, seed)"
            )
    return configure(**settings)


def current() -> Realism:
    return _STATE.realism


def counts() -> dict[str, int]:
    """What the mode refused or injected since ``configure``: conflict, stale, throttle, collection, lost."""
    return dict(_STATE.counts)


def requests() -> dict[str, int]:
    """DynamoDB requests the embedded server received since ``configure``, by operation (on or off)."""
    return dict(_STATE.requests)


def writes_by_partition() -> dict[str, int]:
    """Items written since ``configure`` (mode on), by the value of their partition key: where a
    workload's writes land, e.g. whether one key outside the wallets' own receives one per movement."""
    return dict(_STATE.writes)


# --------------------------------------------------------------------------- keys of a request


def _table(table_name: str) -> Any:
    for backend in dynamodb_backends[DEFAULT_ACCOUNT_ID].values():
        table = backend.tables.get(table_name)
        if table is not None:
            return table
    return None


def _table_key_attributes(table_name: str) -> tuple[str, ...]:
    table = _table(table_name)
    return () if table is None else tuple(a for a in (table.hash_key_attr, table.range_key_attr) if a)


def _key(table: str, key: dict[str, Any]) -> Key:
    return table, json.dumps(key, sort_keys=True)


def _item_key(table: str, item: dict[str, Any]) -> Key:
    return _key(table, {name: item.get(name) for name in _table_key_attributes(table)})


def partition_of(key: Key) -> str:
    """The value of an item's partition key."""
    table, attributes = key
    names = _table_key_attributes(table)
    value = json.loads(attributes).get(names[0]) or {} if names else {}
    return str(next(iter(value.values()), ""))


def keys_of(operation: str, body: dict[str, Any]) -> list[Key]:
    """The items a request touches, in the order of its actions."""
    if operation in ("UpdateItem", "DeleteItem"):
        return [_key(body["TableName"], body["Key"])]
    if operation == "PutItem":
        return [_item_key(body["TableName"], body["Item"])]
    if operation in _TRANSACTIONS:
        found = []
        for action in body.get("TransactItems") or []:
            ((_, op),) = action.items()
            found.append(_item_key(op["TableName"], op["Item"]) if "Item" in op else _key(op["TableName"], op["Key"]))
        return found
    return []


# --------------------------------------------------------------------------- answers


def _error(error_type: str, message: str, **extra: Any) -> tuple[str, bytes]:
    body = {"__type": _ERROR_PREFIX + error_type, "message": message, **extra}
    return ("500 Internal Server Error" if error_type == "InternalServerError" else "400 Bad Request"), json.dumps(
        body
    ).encode()


def _cancelled(reasons: list[str]) -> tuple[str, bytes]:
    listed = ", ".join(reasons)
    return _error(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]",
        CancellationReasons=[{"Code": code} if code == "None" else {"Code": code, "Message": code} for code in reasons],
    )


def _conflict(operation: str, keys: list[Key]) -> tuple[str, bytes] | None:
    busy = [key in _STATE.in_flight for key in keys]
    if not any(busy):
        return None
    _STATE.counts["conflict"] = _STATE.counts.get("conflict", 0) + 1
    if operation in _TRANSACTIONS:
        return _cancelled(["TransactionConflict" if b else "None" for b in busy])
    return _error("TransactionConflictException", "Transaction is ongoing for the item")


def _injected(operation: str, keys: list[Key]) -> tuple[str, bytes] | None:
    """A throttle or an item-collection refusal, drawn from the seeded generator (before anything is done)."""
    realism, rng = _STATE.realism, _STATE.rng
    if realism.throttle and rng.random() < realism.throttle:
        _STATE.counts["throttle"] = _STATE.counts.get("throttle", 0) + 1
        if operation in _TRANSACTIONS and keys and rng.random() < 0.5:
            at = rng.randrange(len(keys))
            return _cancelled(["ThrottlingError" if i == at else "None" for i in range(len(keys))])
        if rng.random() < 0.5:
            return _error("ThrottlingException", "Rate of requests exceeds the allowed throughput.")
        return _error(
            "ProvisionedThroughputExceededException", "The level of configured provisioned throughput was exceeded."
        )
    writes = operation in _SINGLE_WRITES or operation == "TransactWriteItems"
    if writes and realism.collection and rng.random() < realism.collection:
        _STATE.counts["collection"] = _STATE.counts.get("collection", 0) + 1
        if operation == "TransactWriteItems":
            return _cancelled(["ItemCollectionSizeLimitExceeded"] + ["None"] * (len(keys) - 1))
        return _error("ItemCollectionSizeLimitExceededException", "Collection size exceeded.")
    return None


def _lose_answer(operation: str) -> bool:
    realism = _STATE.realism
    writes = operation in _SINGLE_WRITES or operation == "TransactWriteItems"
    if writes and realism.lost and _STATE.rng.random() < realism.lost:
        _STATE.counts["lost"] = _STATE.counts.get("lost", 0) + 1
        return True
    return False


# --------------------------------------------------------------------------- eventually consistent reads


def _stored(key: Key) -> dict[str, Any] | None:
    """The item under ``key`` as moto holds it now, in DynamoDB's wire format (None: no such item)."""
    table_name, attributes = key
    table, names = _table(table_name), _table_key_attributes(table_name)
    values = json.loads(attributes)
    if table is None or not names or not all(values.get(name) for name in names):
        return None
    item = table.get_item(DynamoType(values[names[0]]), DynamoType(values[names[1]]) if len(names) > 1 else None)
    if item is None:
        return None
    found: dict[str, Any] = json.loads(json.dumps(item.describe_attrs()["Item"], cls=DynamoJsonEncoder))
    return found


def changed_keys(operation: str, body: dict[str, Any]) -> list[Key]:
    """The items a write request puts, updates or deletes (not those a transaction only checks)."""
    if operation == "TransactWriteItems":
        return keys_of(operation, {"TransactItems": [a for a in body["TransactItems"] if "ConditionCheck" not in a]})
    return keys_of(operation, body) if operation in _SINGLE_WRITES else []


def _remember_versions(keys: list[Key]) -> list[tuple[Key, dict[str, Any] | None]]:
    """What the items a write changes hold before it, to keep as older versions once it applied."""
    return [(key, _stored(key)) for key in dict.fromkeys(keys)] if _STATE.realism.stale else []


def _keep_versions(before: list[tuple[Key, dict[str, Any] | None]]) -> None:
    now = time.monotonic()
    for key, image in before:
        _STATE.versions.setdefault(key, deque()).append((now, image))
        _STATE.written_at.append((now, key))


def _forget_outside_lag() -> None:
    """Let go of the versions older than the lag (each key's in the order they were kept, as all are)."""
    horizon = time.monotonic() - _STATE.realism.lag_seconds
    while _STATE.written_at and _STATE.written_at[0][0] < horizon:
        _, key = _STATE.written_at.popleft()
        history = _STATE.versions[key]
        history.popleft()
        if not history:
            del _STATE.versions[key]


def _as_lag_ago(key: Key, current: dict[str, Any] | None) -> tuple[bool, dict[str, Any] | None]:
    """Whether an eventually consistent read of ``key`` (``current`` now) is answered stale (drawn), and with
    what: the item as it was ``lag_seconds`` ago, before the oldest of its writes since. Counted only when
    that differs from ``current``."""
    history = _STATE.versions.get(key)
    if not history or _STATE.rng.random() >= _STATE.realism.stale or history[0][1] == current:
        return False, None
    _STATE.counts["stale"] = _STATE.counts.get("stale", 0) + 1
    return True, history[0][1]


def _eventual(asked: dict[str, Any]) -> bool:
    """Whether a read (a GetItem's, or a BatchGetItem's of one table) may be answered stale: not consistent,
    and without a projection (which this mode does not apply to an older version)."""
    return not asked.get("ConsistentRead") and not asked.get("ProjectionExpression")


def _eventually_consistent(operation: str, request: dict[str, Any], body: bytes) -> bytes:
    """The answer of a ``GetItem``/``BatchGetItem`` without ``ConsistentRead``, with each item written within
    the lag drawn to be seen as it was (items asked with a projection are left as they are)."""
    _forget_outside_lag()
    asked = [request] if operation == "GetItem" else list((request.get("RequestItems") or {}).values())
    if not _STATE.versions or not any(_eventual(one) for one in asked):
        return body
    answer = json.loads(body or b"{}")
    changed = False
    if operation == "GetItem":
        stale, image = _as_lag_ago(_key(request["TableName"], request["Key"]), answer.get("Item"))
        if stale:
            changed = True
            answer.pop("Item", None)
            if image is not None:
                answer["Item"] = image
    else:
        for table, reads in (request.get("RequestItems") or {}).items():
            if not _eventual(reads):
                continue
            names = _table_key_attributes(table)
            items = answer.setdefault("Responses", {}).setdefault(table, [])
            for wanted in reads.get("Keys") or []:
                others = [item for item in items if any(item.get(n) != wanted.get(n) for n in names)]
                now = next((item for item in items if item not in others), None)
                stale, image = _as_lag_ago(_key(table, wanted), now)
                if not stale:
                    continue
                changed = True
                items[:] = others
                if image is not None:
                    items.append(image)
    return json.dumps(answer).encode() if changed else body


# --------------------------------------------------------------------------- the middleware


class RealisticRequests:
    """WSGI middleware around moto's app, under the embedded server's request lock (``lock``)."""

    def __init__(self, app: _Wsgi, lock: threading.Lock) -> None:
        self._app = app
        self._lock = lock

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> list[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if not _STATE.realism.enabled or not operation:
            with self._lock:
                if operation:
                    _STATE.requests[operation] = _STATE.requests.get(operation, 0) + 1
                return self._plain(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        kassas = KASSA_USER_AGENT in str(environ.get("HTTP_USER_AGENT") or "")
        held: list[Key] = []
        with self._lock:
            _STATE.requests[operation] = _STATE.requests.get(operation, 0) + 1
            try:
                parsed = json.loads(raw or b"{}")
                keys = keys_of(operation, parsed)
                changed = changed_keys(operation, parsed)
                written = [partition_of(key) for key in changed]
            except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
                parsed, keys, changed, written = {}, [], [], []  # moto answers the malformed request itself
            refused = _conflict(operation, keys) or (_injected(operation, keys) if kassas else None)
            if refused is not None:
                return _answer(start_response, *refused)
            before = _remember_versions(changed)
            status, headers, body = _call(self._app, environ)
            if status.startswith("200"):
                for partition in written:
                    _STATE.writes[partition] = _STATE.writes.get(partition, 0) + 1
                _keep_versions(before)
                _forget_outside_lag()
                body = _with_collection_metrics(parsed, written, keys, body)
                if kassas and operation in _ITEM_READS:
                    body = _eventually_consistent(operation, parsed, body)
                headers = [(n, str(len(body)) if n.lower() == "content-length" else v) for n, v in headers]
            if operation == "TransactWriteItems" and status.startswith("200"):
                held = keys
                for key in held:
                    _STATE.in_flight[key] = _STATE.in_flight.get(key, 0) + 1
            lose = kassas and status.startswith("200") and _lose_answer(operation)
        if held:
            time.sleep(_STATE.realism.window_seconds)  # the commit's window: other requests go on
            with self._lock:
                for key in held:
                    left = _STATE.in_flight.get(key, 1) - 1
                    if left:
                        _STATE.in_flight[key] = left
                    else:
                        _STATE.in_flight.pop(key, None)
        if lose:
            return _answer(start_response, *_error("InternalServerError", "Internal server error"))
        start_response(status, headers)
        return [body]

    def _plain(self, environ: dict[str, Any], start_response: _StartResponse) -> list[bytes]:
        status, headers, body = _call(self._app, environ)
        start_response(status, headers)
        return [body]


def _with_collection_metrics(request: dict[str, Any], written: list[str], keys: list[Key], body: bytes) -> bytes:
    """The answer with ``ItemCollectionMetrics`` for the written partitions whose size was planted, in
    DynamoDB's shape (an estimate range in GB, the upper end 1 GB above the lower)."""
    planted = [p for p in dict.fromkeys(written) if p in _STATE.collection_gb]
    if request.get("ReturnItemCollectionMetrics") != "SIZE" or not planted or not keys:
        return body
    table = keys[0][0]
    key_name = _table_key_attributes(table)[0]
    answer = json.loads(body or b"{}")
    answer["ItemCollectionMetrics"] = {
        table: [
            {
                "ItemCollectionKey": {key_name: {"S": partition}},
                "SizeEstimateRangeGB": [_STATE.collection_gb[partition], _STATE.collection_gb[partition] + 1],
            }
            for partition in planted
        ]
    }
    return json.dumps(answer).encode()


def _call(app: _Wsgi, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    response = app(environ, capture)
    try:
        body = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def _answer(start_response: _StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]
