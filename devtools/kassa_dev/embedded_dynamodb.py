"""The embedded DynamoDB: moto's server, in-process, for the local server and the tests (dev-only).

moto speaks the real wire protocol over HTTP, so code under test runs its production path, boto3
included. Every service moto has is served on the same endpoint (DynamoDB, DynamoDB Streams, S3,
EventBridge, SQS, ...). Three adjustments make it behave like AWS where Kassa depends on it:

1. One request at a time. moto checks a condition and then writes without a lock (its FAQ says it
   is not safe for concurrent conditional writes); DynamoDB applies each request atomically. A WSGI
   middleware holds one process-wide lock for the whole request, from reading its body to producing
   the response body. The lock is process-wide because moto's state is: two servers in one process
   share every table. The same middleware has a realistic mode (``kassa_dev.realistic``): transaction
   conflicts during a commit's window, throttling, lost answers.

2. TransactWriteItems that costs the same whatever the table size, and writes no stream records
   when cancelled (see ``install_transaction_patch``). moto's own version deep-copies each table it
   touches, once per action, to be able to roll back: a 3-action transaction takes 8 ms at 100 items,
   43 ms at 1,000 and 790 ms at 20,000 (several times more with a stream, whose records are copied
   too), and a ledger only grows. Its rollback also swaps the Table object for the copy, so a
   cancelled transaction's stream records stay in the shard that open shard iterators read (and
   those iterators never see a later record), whereas DynamoDB writes no record for a cancelled
   transaction.

3. A Query on the table (or a local index, or a global index aligned with the table's partitions) reads
   only its partition. moto's ``Table.query`` walks every item of the
   table to find the partition's (``all_items``), so a wallet's history got slower with every other
   wallet's entries: the 2,000-entry clean-ledger audit took eight minutes, the stress run grew
   quadratically. ``install_query_patch`` hands moto's query a view of the table whose
   ``all_items`` is that one partition; everything else (sorting, paging, filters, projections)
   is moto's own. The same holds for a local index (same partition key); global index queries
   are moto's own. With a condition on the sort key, moto is handed only the matching items and
   their nearest neighbours: it sizes and sorts every item it is given, so a wallet's entry at one
   version cost as much as reading its whole history.

4. Short garbage-collector pauses (``kassa_dev.heap``). moto's items are Python objects of this
   process, and a full collection walks them all while every thread, this server's included, waits:
   half a second at 40,000 items. A settler thread collects and freezes the heap every two seconds,
   so each collection walks only what is new.

5. Independence from the environment. moto looks up regions and service names with a default
   boto3/botocore session, which fails when AWS_PROFILE names a missing profile or AWS_CONFIG_FILE /
   AWS_SHARED_CREDENTIALS_FILE is unreadable. Those lookups get a session that reads none of that.
   Regions come from each request's signature, the account is moto's default one.

moto's state lives in the process, not in the server: ``mock_aws`` resets it when it starts, so do
not mix in-process ``mock_aws`` tests with a running embedded server that must keep its tables.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import boto3
import botocore.session
from moto.core import utils as moto_core_utils
from moto.core.base_backend import AccountSpecificBackend
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from kassa_dev.heap import Settler
from kassa_dev.realistic import RealisticRequests

__all__ = [
    "REGION",
    "EmbeddedDynamoDB",
    "install_query_patch",
    "install_transaction_patch",
    "moto_table_query",
    "moto_transact_write_items",
]

REGION = "us-east-1"

# moto's own implementation, kept so that tests and the benchmark can compare against it.
moto_transact_write_items: Callable[[DynamoDBBackend, list[dict[str, Any]]], None] = (
    DynamoDBBackend.transact_write_items
)

moto_table_query: Callable[..., Any] = Table.query
_QUERY_SIGNATURE = inspect.signature(moto_table_query)

# One lock for every embedded server in this process: moto's backends are process-global.
_REQUEST_LOCK = threading.Lock()


class EmbeddedDynamoDB:
    """moto's server on a background thread, one request at a time. ``port=0``: a free port.

    Usage: ``with EmbeddedDynamoDB() as ddb: dynamodb = ddb.client("dynamodb")``, or point any AWS
    client at ``ddb.endpoint_url``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port  # 0: the OS picks a free port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._settler: Settler | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("EmbeddedDynamoDB is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> EmbeddedDynamoDB:
        if self._server is not None:
            return self
        install_transaction_patch()
        install_query_patch()
        _isolate_moto_from_aws_environment()
        app = RealisticRequests(DomainDispatcherApplication(create_backend_app), _REQUEST_LOCK)
        # Bound here, not by werkzeug: on a port in use werkzeug prints two lines and exits the process,
        # where this raises OSError (EADDRINUSE) for the caller to say what to do.
        with socket.create_server((self._host, self._requested_port)) as listening:
            self._server = make_server(
                self._host,
                listening.getsockname()[1],
                app,
                threaded=True,
                request_handler=_QuietRequestHandler,
                fd=listening.fileno(),  # werkzeug serves a duplicate of it
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"embedded-dynamodb-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._settler = Settler().start()
        return self

    def stop(self) -> None:
        server, thread, settler = self._server, self._thread, self._settler
        self._server = self._thread = self._settler = None
        if settler is not None:
            settler.stop()
        if server is not None:
            server.shutdown()  # serve_forever() closes the socket on its way out
        if thread is not None:
            thread.join()

    def client(self, service_name: str, region_name: str = REGION, **kwargs: Any) -> Any:
        """A boto3 client for this endpoint with dummy credentials, whatever AWS_* says."""
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - a dummy, never a real credential
            region_name=region_name,
            botocore_session=_isolated_botocore_session(),
        )
        return session.client(service_name, endpoint_url=self.endpoint_url, **kwargs)

    def __enter__(self) -> EmbeddedDynamoDB:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _QuietRequestHandler(MotoRequestHandler):
    """No access-log line per request; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


# --- Environment independence -------------------------------------------------------------------

_IGNORE_ENV = {
    # name: (config-file key, environment variable, default, converter); None = not read
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
    "use_fips_endpoint": (None, None, False, None),
    "use_dualstack_endpoint": (None, None, False, None),
}


def _isolated_botocore_session() -> botocore.session.Session:
    """A botocore session that reads no profile, config file or credentials file."""
    return botocore.session.Session(session_vars=_IGNORE_ENV)


@functools.cache
def _moto_boto3_session() -> boto3.Session:
    return boto3.Session(botocore_session=_isolated_botocore_session())


def _get_session(cls: type) -> boto3.Session:
    return _moto_boto3_session()


def _isolate_moto_from_aws_environment() -> None:
    """moto asks a default session for regions (new backends) and service names (error
    responses); either fails under, e.g., AWS_PROFILE=missing. Give it one that reads no AWS_*."""
    AccountSpecificBackend.get_session = classmethod(_get_session)  # type: ignore[method-assign, assignment]
    moto_core_utils.Session = _isolated_botocore_session


# --- Query ------------------------------------------------------------------------------------


# Global indexes whose partition key is, on every item that has it, the item's own table partition key
# (kassa/store/keys.py: a refusal's ``rejectedIn`` is its wallet's pk): a query of one of their partitions
# finds its items in that table partition, so it reads only that partition too.
PARTITION_ALIGNED_INDEXES = frozenset({"RejectionsByWallet"})


def install_query_patch() -> None:
    """Replace moto's ``Table.query`` with ``_query`` (idempotent): same answers, but a query on
    the table or a local index reads one partition instead of the whole table."""
    Table.query = _query  # type: ignore[method-assign]


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    arguments = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    hash_key = arguments.get("hash_key")
    index_name = arguments.get("index_name")
    # A local index shares the table's partition key, so its partition is the table's; a global
    # index's partition spans the table's partitions, unless its key always holds the item's own.
    local = index_name is None or any(index.name == index_name for index in self.indexes)
    if not (local or index_name in PARTITION_ALIGNED_INDEXES) or hash_key is None or self.range_key_attr is None:
        return moto_table_query(self, *args, **kwargs)
    partition = list(self.items.get(hash_key, {}).values())
    narrowed = _around_the_match(self, arguments, partition, hash_key)
    return moto_table_query(_OnePartition(self, narrowed), *args, **kwargs)


def _around_the_match(table: Table, arguments: dict[str, Any], partition: list[Item], hash_key: Any) -> list[Item]:
    """Of a partition, what moto's query needs to answer a condition on the sort key: the items that
    match it, and the nearest item on either side of them.

    moto computes the size and the sort key of every item of the partition before it tests the condition
    (most of a Query's time in a wallet of a few hundred entries, where a query usually wants one). The
    items that match a sort-key condition (=, <, <=, >, >=, BETWEEN, begins_with) are one run in the
    query's order, (sort value, table sort key); moto's loop looks past the run only at its first
    neighbour, whose size and presence decide a LastEvaluatedKey, so the run and its neighbours give the
    same pages."""
    comparison, values = arguments.get("range_comparison"), arguments.get("range_objs") or []
    conditions = arguments.get("range_key_conditions") or []
    if not comparison or len(conditions) > 1 or arguments.get("filter_kwargs"):
        return partition
    keys = _key_attributes(table, arguments.get("index_name"))
    if keys is None:
        return partition
    partition_key, sort_key = keys
    if conditions and conditions[0][0] != sort_key:
        return partition
    table_sort_key = str(table.range_key_attr)  # the caller checked the table has one

    def order(item: Item) -> tuple[DynamoType, DynamoType]:
        return item.attrs[sort_key], item.attrs[table_sort_key]

    # What the query can see: the index holds only the items that have its keys.
    indexed = [
        item
        for item in partition
        if sort_key in item.attrs and partition_key in item.attrs and item.attrs[partition_key] == hash_key
    ]
    matching = [item for item in indexed if item.attrs[sort_key].compare(comparison, values)]
    if not matching:
        return []
    first, last = min(map(order, matching)), max(map(order, matching))
    narrowed = list(matching)
    if below := [item for item in indexed if order(item) < first]:
        narrowed.append(max(below, key=order))
    if above := [item for item in indexed if order(item) > last]:
        narrowed.append(min(above, key=order))
    return narrowed  # moto sorts what it is given


def _key_attributes(table: Table, index_name: str | None) -> tuple[str, str] | None:
    """The (partition key, sort key) attributes a query's key condition names, for the table or a
    one-attribute-key index; None for anything else (moto's query then sees the whole partition)."""
    if index_name is None:
        return str(table.hash_key_attr), str(table.range_key_attr)
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    schema = index.schema if index is not None else []
    hashes = [key["AttributeName"] for key in schema if key["KeyType"] == "HASH"]
    ranges = [key["AttributeName"] for key in schema if key["KeyType"] == "RANGE"]
    return (hashes[0], ranges[0]) if len(hashes) == len(ranges) == 1 else None


class _OnePartition:
    """The table as moto's query sees it, with ``all_items`` narrowed to one partition's ``items``. Every
    other attribute is the table's own (the view is used under the request lock, for one call)."""

    def __init__(self, table: Table, items: list[Item]) -> None:
        self._table = table
        self._items = items

    def all_items(self) -> list[Item]:
        return self._items

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


# --- TransactWriteItems -------------------------------------------------------------------------


def install_transaction_patch() -> None:
    """Replace moto's ``DynamoDBBackend.transact_write_items`` with ``_transact_write_items``
    (idempotent). Same validation, conditions, cancellation reasons and all-or-nothing outcome; the
    rollback restores only the items the transaction touched and truncates the stream shards."""
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


class _Undo:
    """What a transaction needs to restore: each touched item as it was, each stream's length."""

    def __init__(self) -> None:
        self._items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self._streams: dict[int, tuple[list[StreamRecord], int]] = {}

    def remember(self, backend: DynamoDBBackend, table_name: str, key: dict[str, Any], item: Item | None) -> None:
        """Call before writing ``item`` (the current item at ``key``, or None)."""
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        self._items.append((table, hash_key, range_key, copy.deepcopy(item)))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self._streams:
            self._streams[id(shard)] = (shard.items, len(shard.items))

    def rollback(self) -> None:
        # Straight into moto's item store (hash key -> [range key ->] Item): no stream record is
        # written for the restore. Indexes and ItemCount are computed from that store when read.
        for table, hash_key, range_key, item in reversed(self._items):
            if range_key is None:
                if item is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = item  # type: ignore[assignment]  # (as moto does)
            elif item is None:
                table.items.get(hash_key, {}).pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        for records, length in self._streams.values():
            del records[length:]  # (a no-op if a Lambda event source mapping has drained the shard)


_Reason = tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    try:
        reasons = _apply(self, transact_items, undo)
    except BaseException:
        undo.rollback()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.rollback()
        raise TransactionCanceledException(reasons)


def _apply(backend: DynamoDBBackend, transact_items: list[dict[str, Any]], undo: _Undo) -> list[_Reason]:
    """moto's loop, less its table copies: applies each action, returns one reason per action."""
    targets: set[tuple[str, str]] = set()
    reasons: list[_Reason] = []
    for transact_item in transact_items:
        if len(transact_item) > 1:
            raise TransactWriteSingleOpException
        old_image: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(transact_item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")

            if op_type == "Put":
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_image = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_image)

            if op_type != "ConditionCheck":
                undo.remember(backend, table_name, key, current)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            reasons.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise  # the whole request fails (rolled back by the caller)
        except ConditionalCheckFailed as e:
            reasons.append(("ConditionalCheckFailed", str(e.message), old_image))
        except Exception as e:
            reasons.append((type(e).__name__, str(e), old_image))
    return reasons
