"""The embedded DynamoDB, through boto3 over HTTP: atomic requests, moto's TransactWriteItems semantics
at a cost that does not grow with the table, and no stream record for a cancelled transaction."""

from __future__ import annotations

import copy
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, Table, dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from kassa_dev import embedded_dynamodb
from kassa_dev.embedded_dynamodb import (
    REGION,
    EmbeddedDynamoDB,
    install_transaction_patch,
    moto_transact_write_items,
)

from .conftest import CLIENT_CONFIG, LSI, EmbeddedTable, moto_own

Actions = list[dict[str, Any]]


# --- helpers ----------------------------------------------------------------------------------------


def item(pk: str, sk: str, **attrs: int | str) -> dict[str, Any]:
    out: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in attrs.items():
        out[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return out


def key(pk: str, sk: str) -> dict[str, Any]:
    return item(pk, sk)


WALLET = item("W#1", "META", amount=100, version=1)
OLD_MOVE = item("W#1", "MOVE#0", amount=5)
GUARD = item("G#1", "META", amount=1, status="open")
NEW_MOVE = item("W#1", "MOVE#1", amount=7)
SEED = [WALLET, OLD_MOVE, GUARD]
FAILED = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}


def seed(dynamodb: Any, table: EmbeddedTable) -> None:
    for it in SEED:
        dynamodb.put_item(TableName=table.name, Item=it)


def wallet_transaction(table: str, fail: frozenset[str] = frozenset()) -> Actions:
    """Put + Update + Delete + ConditionCheck; the actions named in ``fail`` have a false condition."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": NEW_MOVE,
                "ConditionExpression": "attribute_exists(pk)" if "Put" in fail else "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": key("W#1", "META"),
                "UpdateExpression": "SET amount = amount - :a, version = version + :one",
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {
                    ":a": {"N": "7"},
                    ":one": {"N": "1"},
                    ":v": {"N": "2" if "Update" in fail else "1"},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Delete": {
                "TableName": table,
                "Key": key("W#1", "MOVE#0"),
                "ConditionExpression": "amount = :x",
                "ExpressionAttributeValues": {":x": {"N": "999" if "Delete" in fail else "5"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key("G#1", "META"),
                "ConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "closed" if "ConditionCheck" in fail else "open"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]


def raw(client: Any, operation: str, **params: Any) -> bytes:
    """The response body exactly as the server sent it."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    event = f"after-call.dynamodb.{operation}"
    client.meta.events.register(event, keep)
    try:
        getattr(client, {"Scan": "scan", "Query": "query"}[operation])(**params)
    finally:
        client.meta.events.unregister(event, keep)
    return bodies[0]


def state(dynamodb: Any, table: EmbeddedTable) -> tuple[Any, ...]:
    """Everything a reader can see: the table, the LSI for both partitions, the item count."""
    return (
        raw(dynamodb, "Scan", TableName=table.name, ConsistentRead=True),
        *(
            raw(
                dynamodb,
                "Query",
                TableName=table.name,
                IndexName=LSI,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
            )
            for pk in ("W#1", "G#1")
        ),
        dynamodb.describe_table(TableName=table.name)["Table"]["ItemCount"],
    )


def transact(dynamodb: Any, actions: Actions) -> dict[str, Any] | None:
    """None if committed, else the error as the client sees it."""
    try:
        dynamodb.transact_write_items(TransactItems=actions)
    except ClientError as e:
        return {
            "Code": e.response["Error"]["Code"],
            "Message": e.response["Error"]["Message"],
            "CancellationReasons": e.response.get("CancellationReasons"),
        }
    return None


def iterator(streams: Any, table: EmbeddedTable, kind: str = "TRIM_HORIZON") -> str:
    return streams.get_shard_iterator(StreamArn=table.stream_arn, ShardId=table.shard_id, ShardIteratorType=kind)[
        "ShardIterator"
    ]


def read(streams: Any, shard_iterator: str) -> tuple[list[dict[str, Any]], str]:
    response = streams.get_records(ShardIterator=shard_iterator)
    return response["Records"], response["NextShardIterator"]


def summary(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A record without its random id, time and sequence number."""
    return [
        (r["eventName"], r["dynamodb"]["Keys"], r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
        for r in records
    ]


def moto_own_transactions() -> AbstractContextManager[None]:
    return moto_own(DynamoDBBackend, "transact_write_items", moto_transact_write_items, install_transaction_patch)


def backend_table(table: EmbeddedTable) -> Table:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table.name)


# --- the patch --------------------------------------------------------------------------------------


def test_the_transaction_patch_is_installed_and_idempotent(embedded_server: EmbeddedDynamoDB) -> None:
    replacement = DynamoDBBackend.transact_write_items
    assert replacement is embedded_dynamodb._transact_write_items
    assert replacement is not moto_transact_write_items
    install_transaction_patch()
    assert DynamoDBBackend.transact_write_items is replacement


def test_a_committed_transaction_applies_every_action(
    embedded_dynamodb: Any, embedded_streams: Any, embedded_table: EmbeddedTable
) -> None:
    seed(embedded_dynamodb, embedded_table)
    latest = iterator(embedded_streams, embedded_table, "LATEST")

    assert transact(embedded_dynamodb, wallet_transaction(embedded_table.name)) is None

    items = embedded_dynamodb.scan(TableName=embedded_table.name, ConsistentRead=True)["Items"]
    new_wallet = item("W#1", "META", amount=93, version=2)
    assert sorted(items, key=str) == sorted([new_wallet, NEW_MOVE, GUARD], key=str)
    by_amount = embedded_dynamodb.query(
        TableName=embedded_table.name,
        IndexName=LSI,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "W#1"}},
    )["Items"]
    assert by_amount == [NEW_MOVE, new_wallet]
    # Exactly one record per written item, in action order; the ConditionCheck writes none.
    records, _ = read(embedded_streams, latest)
    assert summary(records) == [
        ("INSERT", key("W#1", "MOVE#1"), None, NEW_MOVE),
        ("MODIFY", key("W#1", "META"), WALLET, new_wallet),
        ("REMOVE", key("W#1", "MOVE#0"), OLD_MOVE, None),
    ]


@pytest.mark.parametrize(
    ("failing", "reason"),
    [
        ("Put", FAILED),  # the item is absent: ALL_OLD returns nothing
        ("Update", {**FAILED, "Item": WALLET}),
        ("Delete", FAILED),  # no ReturnValuesOnConditionCheckFailure
        ("ConditionCheck", {**FAILED, "Item": GUARD}),
    ],
)
def test_a_cancelled_transaction_changes_nothing_and_writes_no_stream_record(
    embedded_dynamodb: Any,
    embedded_streams: Any,
    embedded_table: EmbeddedTable,
    failing: str,
    reason: dict[str, Any],
) -> None:
    seed(embedded_dynamodb, embedded_table)
    before = state(embedded_dynamodb, embedded_table)
    latest = iterator(embedded_streams, embedded_table, "LATEST")

    error = transact(embedded_dynamodb, wallet_transaction(embedded_table.name, frozenset({failing})))

    order = ["Put", "Update", "Delete", "ConditionCheck"]
    assert error is not None
    assert error["Code"] == "TransactionCanceledException"
    assert error["CancellationReasons"] == [reason if op == failing else {"Code": "None"} for op in order]
    assert state(embedded_dynamodb, embedded_table) == before  # byte for byte, LSI included
    records, after_cancel = read(embedded_streams, latest)
    assert records == []
    fresh, _ = read(embedded_streams, iterator(embedded_streams, embedded_table))
    assert [r["eventName"] for r in fresh] == ["INSERT"] * len(SEED)
    # The shard an open iterator reads is still the table's: it sees the next commit.
    embedded_dynamodb.put_item(TableName=embedded_table.name, Item=NEW_MOVE)
    records, _ = read(embedded_streams, after_cancel)
    assert summary(records) == [("INSERT", key("W#1", "MOVE#1"), None, NEW_MOVE)]


def test_two_operations_on_one_item_are_rejected_and_nothing_is_written(
    embedded_dynamodb: Any, embedded_streams: Any, embedded_table: EmbeddedTable
) -> None:
    seed(embedded_dynamodb, embedded_table)
    before = state(embedded_dynamodb, embedded_table)
    latest = iterator(embedded_streams, embedded_table, "LATEST")
    actions = wallet_transaction(embedded_table.name)[:2]
    actions.append({"Delete": {"TableName": embedded_table.name, "Key": key("W#1", "MOVE#1")}})

    error = transact(embedded_dynamodb, actions)  # Put MOVE#1 is applied before the Delete is seen

    assert error == {
        "Code": "ValidationException",
        "Message": "Transaction request cannot include multiple operations on one item",
        "CancellationReasons": None,
    }
    assert state(embedded_dynamodb, embedded_table) == before
    assert read(embedded_streams, latest)[0] == []


def test_more_than_100_actions_are_rejected_and_100_are_accepted(
    embedded_dynamodb: Any, embedded_streams: Any, embedded_table: EmbeddedTable
) -> None:
    def puts(n: int) -> Actions:
        return [{"Put": {"TableName": embedded_table.name, "Item": item("P", f"{i:03}")}} for i in range(n)]

    before = state(embedded_dynamodb, embedded_table)
    error = transact(embedded_dynamodb, puts(101))
    assert error is not None
    assert error["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 100" in error["Message"]
    assert state(embedded_dynamodb, embedded_table) == before
    assert read(embedded_streams, iterator(embedded_streams, embedded_table))[0] == []

    assert transact(embedded_dynamodb, puts(100)) is None
    assert embedded_dynamodb.describe_table(TableName=embedded_table.name)["Table"]["ItemCount"] == 100
    records, _ = read(embedded_streams, iterator(embedded_streams, embedded_table))
    assert len(records) == 100


def _upsert_then(table: str, fail: bool) -> Actions:
    actions: Actions = [
        {
            "Update": {
                "TableName": table,
                "Key": key("W#2", "META"),
                "UpdateExpression": "SET amount = :a",
                "ExpressionAttributeValues": {":a": {"N": "3"}},
            }
        }
    ]
    return actions + wallet_transaction(table, frozenset({"ConditionCheck"} if fail else ()))[3:]


def _bad_update_after_a_put(table: str) -> Actions:
    bad = {
        "Update": {
            "TableName": table,
            "Key": key("W#1", "META"),
            "UpdateExpression": "SET amount = amount + :s",
            "ExpressionAttributeValues": {":s": {"S": "not a number"}},
        }
    }
    return [wallet_transaction(table)[0], bad]


def _missing_table(table: str) -> Actions:
    check = {"ConditionCheck": {"TableName": "no-such-table", "Key": key("x", "y"), "ConditionExpression": "a = a"}}
    return [*wallet_transaction(table)[:2], check]


SCENARIOS: dict[str, Callable[[str], Actions]] = {
    "commit": wallet_transaction,
    **{
        f"{op} fails": (lambda op: lambda t: wallet_transaction(t, frozenset({op})))(op)
        for op in ("Put", "Update", "Delete", "ConditionCheck")
    },
    "two fail": lambda t: wallet_transaction(t, frozenset({"Update", "ConditionCheck"})),
    "upsert commits": lambda t: _upsert_then(t, fail=False),
    "upsert cancelled": lambda t: _upsert_then(t, fail=True),
    "validation error after a write": _bad_update_after_a_put,
    "missing table": _missing_table,
    "two operations on one item": lambda t: [*wallet_transaction(t), wallet_transaction(t)[1]],
    "101 actions": lambda t: [{"Put": {"TableName": t, "Item": item("P", f"{i:03}")}} for i in range(101)],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_outcome_as_moto(
    embedded_dynamodb: Any,
    embedded_streams: Any,
    embedded_table: EmbeddedTable,
    embedded_twin_table: EmbeddedTable,
    scenario: str,
) -> None:
    """The response and the resulting table are what moto's own implementation gives; so are the
    stream records, except that moto keeps a cancelled transaction's records where open iterators
    read them (the table it swaps in has a fresh copy of the shard, which a new iterator reads)."""
    build = SCENARIOS[scenario]
    ours, theirs = embedded_table, embedded_twin_table
    for table in (ours, theirs):
        seed(embedded_dynamodb, table)

    our_error = transact(embedded_dynamodb, build(ours.name))
    with moto_own_transactions():
        their_error = transact(embedded_dynamodb, build(theirs.name))

    assert our_error == their_error
    assert state(embedded_dynamodb, ours) == state(embedded_dynamodb, theirs)
    our_records = read(embedded_streams, iterator(embedded_streams, ours))[0]
    their_records = read(embedded_streams, iterator(embedded_streams, theirs))[0]
    assert summary(our_records) == summary(their_records)


# --- cost: nothing proportional to the table --------------------------------------------------------


def _deepcopies_during(dynamodb: Any, actions: Actions, monkeypatch: pytest.MonkeyPatch) -> list[type]:
    copied: list[type] = []
    real_deepcopy = copy.deepcopy

    def spy(x: Any, memo: Any = None, _nil: Any = ()) -> Any:
        if memo is None:  # the top-level call, not the recursion into its parts
            copied.append(type(x))
        return real_deepcopy(x, memo)

    with monkeypatch.context() as patched:
        patched.setattr(copy, "deepcopy", spy)
        transact(dynamodb, actions)
    return copied


@pytest.mark.parametrize("fail", [frozenset(), frozenset({"ConditionCheck"})], ids=["committed", "cancelled"])
def test_a_transaction_copies_only_the_items_it_touches(
    embedded_dynamodb: Any,
    embedded_table: EmbeddedTable,
    monkeypatch: pytest.MonkeyPatch,
    fail: frozenset[str],
) -> None:
    copies_by_size = []
    for size in (10, 400):
        table = embedded_table.name
        for i in range(size):
            embedded_dynamodb.put_item(TableName=table, Item=item("FILL", f"{i:04}", amount=i))
        for it in SEED:
            embedded_dynamodb.put_item(TableName=table, Item=it)
        embedded_dynamodb.delete_item(TableName=table, Key=key("W#1", "MOVE#1"))
        copies_by_size.append(_deepcopies_during(embedded_dynamodb, wallet_transaction(table, fail), monkeypatch))

    small, large = copies_by_size
    assert Table not in small + large
    assert small == large  # the same copies whatever the table size
    assert set(small) == {Item, type(None)}  # one snapshot per written item (+ moto's own Update copy)


def test_moto_own_transaction_copies_tables(
    embedded_dynamodb: Any, embedded_table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spy above sees deep copies made on the server thread: with moto's code it sees Tables."""
    seed(embedded_dynamodb, embedded_table)
    with moto_own_transactions():
        copied = _deepcopies_during(embedded_dynamodb, wallet_transaction(embedded_table.name), monkeypatch)
    assert copied.count(Table) == 4  # once per action


# --- one request at a time ---------------------------------------------------------------------------


THREADS = 16


def _in_parallel(work: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(THREADS, timeout=10)

    def run(i: int) -> Any:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_concurrent_conditional_increments_lose_no_update(
    embedded_dynamodb: Any, embedded_table: EmbeddedTable
) -> None:
    counter = key("C", "counter")
    embedded_dynamodb.put_item(TableName=embedded_table.name, Item=item("C", "counter", n=0, version=0))
    conflicts = embedded_dynamodb.exceptions.ConditionalCheckFailedException

    def increment(_: int) -> int:
        retries = 0
        while True:
            current = embedded_dynamodb.get_item(TableName=embedded_table.name, Key=counter, ConsistentRead=True)
            version = int(current["Item"]["version"]["N"])
            try:
                embedded_dynamodb.update_item(
                    TableName=embedded_table.name,
                    Key=counter,
                    UpdateExpression="SET n = n + :one, version = :next",
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":v": {"N": str(version)},
                        ":next": {"N": str(version + 1)},
                    },
                )
                return retries
            except conflicts:
                retries += 1

    _in_parallel(increment)

    final = embedded_dynamodb.get_item(TableName=embedded_table.name, Key=counter, ConsistentRead=True)["Item"]
    assert (final["n"], final["version"]) == ({"N": str(THREADS)}, {"N": str(THREADS)})


def test_concurrent_puts_if_absent_have_exactly_one_winner(
    embedded_dynamodb: Any, embedded_table: EmbeddedTable
) -> None:
    conflicts = embedded_dynamodb.exceptions.ConditionalCheckFailedException

    def put_if_absent(i: int) -> bool:
        try:
            embedded_dynamodb.put_item(
                TableName=embedded_table.name,
                Item=item("TX", "once", owner=i),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except conflicts:
            return False

    won = _in_parallel(put_if_absent)

    assert won.count(True) == 1
    stored = embedded_dynamodb.get_item(TableName=embedded_table.name, Key=key("TX", "once"))["Item"]
    assert stored["owner"] == {"N": str(won.index(True))}


def _two_requests_meet_inside_moto(dynamodb: Any, table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Two GetItem requests at once; each waits (0.5 s at most) inside moto for the other."""
    meeting = threading.Barrier(2, timeout=0.5)
    met: list[bool] = []
    real_get_item = DynamoDBBackend.get_item

    def get_item(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            meeting.wait()
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        return real_get_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", get_item)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: dynamodb.get_item(TableName=table.name, Key=key("a", "b")), range(2)))
    return met


def test_requests_are_handled_one_at_a_time(
    embedded_dynamodb: Any, embedded_table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _two_requests_meet_inside_moto(embedded_dynamodb, embedded_table, monkeypatch) == [False, False]


def test_moto_alone_handles_requests_at_the_same_time(
    embedded_table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: without the lock, the two requests do meet."""
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    plain.start()
    try:
        host, port = plain.get_host_and_port()
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{host}:{port}",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=CLIENT_CONFIG,
        )
        met = _two_requests_meet_inside_moto(dynamodb, embedded_table, monkeypatch)
    finally:
        plain.stop()
    assert met == [True, True]


# --- the server ----------------------------------------------------------------------------------------


def test_every_service_is_served_on_the_same_endpoint(embedded_server: EmbeddedDynamoDB) -> None:
    s3 = embedded_server.client("s3")
    s3.create_bucket(Bucket="embedded-test-bucket")
    s3.put_object(Bucket="embedded-test-bucket", Key="k", Body=b"v")
    assert s3.get_object(Bucket="embedded-test-bucket", Key="k")["Body"].read() == b"v"

    sqs = embedded_server.client("sqs")
    queue = sqs.create_queue(QueueName="embedded-test-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"

    events = embedded_server.client("events")
    sent = events.put_events(Entries=[{"Source": "kassa.test", "DetailType": "t", "Detail": "{}"}])
    assert sent["FailedEntryCount"] == 0


def test_no_request_log_lines(
    embedded_dynamodb: Any, embedded_table: EmbeddedTable, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    embedded_dynamodb.get_item(TableName=embedded_table.name, Key=key("a", "b"))
    with pytest.raises(ClientError):
        embedded_dynamodb.get_item(TableName="no-such-table", Key=key("a", "b"))
    assert [r for r in caplog.records if r.name == "werkzeug"] == []


_IN_A_HOSTILE_ENVIRONMENT = """
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB

with EmbeddedDynamoDB() as server:
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    try:
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    except dynamodb.exceptions.ConditionalCheckFailedException:
        pass
    server.client("sqs").create_queue(QueueName="q")
    print("ok")
"""


def test_works_whatever_the_aws_environment_says(tmp_path: Any) -> None:
    """In a fresh process (moto caches its sessions), with AWS_* settings that break botocore."""
    broken = tmp_path / "broken"
    broken.write_text("[default\nnot ini")
    hostile = {
        "AWS_PROFILE": "no-such-profile",
        "AWS_DEFAULT_PROFILE": "no-such-profile",
        "AWS_CONFIG_FILE": str(broken),
        "AWS_SHARED_CREDENTIALS_FILE": str(broken),
        "AWS_DEFAULT_REGION": "xx-nowhere-1",
        "AWS_REGION": "xx-nowhere-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_USE_DUALSTACK_ENDPOINT": "true",
        "AWS_ACCESS_KEY_ID": "AKIA-NOT-A-KEY",
        "AWS_SESSION_TOKEN": "not-a-token",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | hostile
    done = subprocess.run(
        [sys.executable, "-c", _IN_A_HOSTILE_ENVIRONMENT], env=env, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_port_endpoint_and_lifecycle(embedded_server: EmbeddedDynamoDB, embedded_table: EmbeddedTable) -> None:
    assert embedded_server.endpoint_url == f"http://127.0.0.1:{embedded_server.port}"
    other = EmbeddedDynamoDB()
    with pytest.raises(RuntimeError):
        _ = other.endpoint_url
    with other:
        assert other.port not in (0, embedded_server.port)
        # moto's state is process-wide: every embedded server in a process sees the same tables.
        assert embedded_table.name in other.client("dynamodb").list_tables()["TableNames"]
    other.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError):
        _ = other.port
