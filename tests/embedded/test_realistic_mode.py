"""The realistic mode of the embedded DynamoDB keeps DynamoDB's transaction-conflict rules, pinned one by one
(devtools/kassa_dev/realistic.py has the table), and injects the faults it is asked for, reproducibly.

Each conflict test holds one transaction in its prepare-commit window (a long window, the transaction
sent from a thread), sends the other request during it, and then checks the state after the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kassa_dev import realistic
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB

WINDOW = 0.6
TABLE = "kassa-realistic"
KASSA = Config(user_agent_extra=realistic.KASSA_USER_AGENT, retries={"total_max_attempts": 1})
PLAIN = Config(retries={"total_max_attempts": 1})


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "P"}, "sk": {"S": sk}}


@pytest.fixture(scope="module")
def table(embedded_server: EmbeddedDynamoDB) -> str:
    client = embedded_server.client("dynamodb", config=PLAIN)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


@pytest.fixture
def mode() -> Iterator[None]:
    realistic.configure(enabled=True, window_seconds=WINDOW)
    yield
    realistic.configure()


@pytest.fixture
def ddb(embedded_server: EmbeddedDynamoDB) -> Any:
    return embedded_server.client("dynamodb", config=PLAIN)


def put(ddb: Any, sk: str, value: int) -> None:
    ddb.put_item(TableName=TABLE, Item={**key(sk), "v": {"N": str(value)}})


def value(ddb: Any, sk: str) -> int | None:
    item = ddb.get_item(TableName=TABLE, Key=key(sk), ConsistentRead=True).get("Item")
    return int(item["v"]["N"]) if item else None


def update(sk: str, to: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(sk),
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"N": str(to)}},
        }
    }


class InFlight:
    """A TransactWriteItems (A := 1, B := 1) sent from a thread; ``hold()`` returns once it is in its window."""

    def __init__(self, ddb: Any) -> None:
        self.ddb = ddb
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        try:
            self.ddb.transact_write_items(TransactItems=[update("A", 1), update("B", 1)])
        except Exception as error:  # reported by done()
            self.error = error

    def hold(self) -> InFlight:
        self.thread.start()
        time.sleep(WINDOW / 3)  # applied and answering after the window: now in flight
        return self

    def done(self) -> None:
        self.thread.join()
        assert self.error is None, self.error


def reasons(error: ClientError) -> list[str]:
    return [r["Code"] for r in error.response["CancellationReasons"]]


@pytest.fixture
def fresh(ddb: Any, table: str, mode: None) -> Any:
    for sk in ("A", "B", "C"):
        put(ddb, sk, 0)
    return ddb


def test_a_transaction_touching_an_item_in_flight_is_cancelled_with_transaction_conflict(fresh: Any) -> None:
    flight = InFlight(fresh).hold()
    with pytest.raises(ClientError) as refused:
        fresh.transact_write_items(TransactItems=[update("C", 2), update("B", 2)])
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert reasons(refused.value) == ["None", "TransactionConflict"]
    flight.done()
    assert (value(fresh, "B"), value(fresh, "C")) == (1, 0)  # the cancelled one wrote nothing


def test_a_transactional_read_of_an_item_in_flight_is_cancelled(fresh: Any) -> None:
    flight = InFlight(fresh).hold()
    gets = [{"Get": {"TableName": TABLE, "Key": key(sk)}} for sk in ("C", "A")]
    with pytest.raises(ClientError) as refused:
        fresh.transact_get_items(TransactItems=gets)
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert reasons(refused.value) == ["None", "TransactionConflict"]
    flight.done()
    assert [r["Item"]["v"]["N"] for r in fresh.transact_get_items(TransactItems=gets)["Responses"]] == ["0", "1"]


@pytest.mark.parametrize("operation", ["put_item", "update_item", "delete_item"])
def test_a_single_item_write_to_an_item_in_flight_fails_with_transaction_conflict_exception(
    fresh: Any, operation: str
) -> None:
    flight = InFlight(fresh).hold()
    calls = {
        "put_item": lambda: fresh.put_item(TableName=TABLE, Item={**key("A"), "v": {"N": "9"}}),
        "update_item": lambda: fresh.update_item(
            TableName=TABLE, Key=key("A"), UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "9"}}
        ),
        "delete_item": lambda: fresh.delete_item(TableName=TABLE, Key=key("A")),
    }
    with pytest.raises(ClientError) as refused:
        calls[operation]()
    assert refused.value.response["Error"]["Code"] == "TransactionConflictException"
    flight.done()
    assert value(fresh, "A") == 1


def test_plain_reads_never_conflict_and_other_items_are_free(fresh: Any) -> None:
    flight = InFlight(fresh).hold()
    started = time.monotonic()
    assert value(fresh, "A") is not None  # GetItem
    batch = fresh.batch_get_item(RequestItems={TABLE: {"Keys": [key("A"), key("B")], "ConsistentRead": True}})
    assert len(batch["Responses"][TABLE]) == 2
    assert len(fresh.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={
        ":p": {"S": "P"}})["Items"]) == 3  # fmt: skip
    put(fresh, "C", 5)  # not in flight
    assert time.monotonic() - started < WINDOW  # none of it waited for the window
    flight.done()
    assert (value(fresh, "A"), value(fresh, "B"), value(fresh, "C")) == (1, 1, 5)


def test_after_the_window_everything_goes_through(fresh: Any) -> None:
    InFlight(fresh).hold().done()
    fresh.transact_write_items(TransactItems=[update("A", 3), update("B", 3)])
    put(fresh, "A", 4)
    assert realistic.counts() == {}


def test_off_nothing_conflicts(ddb: Any, table: str) -> None:
    realistic.configure()
    put(ddb, "A", 0)
    flight = InFlight(ddb)
    flight.thread.start()
    flight.done()
    put(ddb, "A", 7)
    assert value(ddb, "A") == 7


# --------------------------------------------------------------------------- injected faults


@pytest.fixture
def kassa_client(embedded_server: EmbeddedDynamoDB, table: str) -> Any:
    return embedded_server.client("dynamodb", config=KASSA)


def errors_of(client: Any, calls: int) -> list[str]:
    seen = []
    for i in range(calls):
        try:
            client.transact_write_items(TransactItems=[update(f"T{i}", 1), update(f"U{i}", 1)])
            seen.append("ok")
        except ClientError as error:
            code = error.response["Error"]["Code"]
            seen.append(f"{code}:{','.join(reasons(error))}" if code == "TransactionCanceledException" else code)
    return seen


def test_throttling_comes_in_both_shapes_and_only_to_kassas_client(kassa_client: Any, ddb: Any) -> None:
    realistic.configure(enabled=True, window_seconds=0, throttle=0.5, seed=3)
    seen = errors_of(kassa_client, 60)
    assert "ok" in seen
    assert {"ThrottlingException", "ProvisionedThroughputExceededException"} <= set(seen)
    assert any(s.startswith("TransactionCanceledException:") and "ThrottlingError" in s for s in seen)
    for _ in range(20):  # a test's own client is never throttled
        put(ddb, "A", 1)
    realistic.configure()


def test_item_collection_limit_is_a_cancellation_reason_or_an_exception(kassa_client: Any) -> None:
    realistic.configure(enabled=True, window_seconds=0, collection=1.0)
    assert errors_of(kassa_client, 1) == ["TransactionCanceledException:ItemCollectionSizeLimitExceeded,None"]
    with pytest.raises(ClientError) as refused:
        kassa_client.put_item(TableName=TABLE, Item={**key("X"), "v": {"N": "1"}})
    assert refused.value.response["Error"]["Code"] == "ItemCollectionSizeLimitExceededException"
    realistic.configure()


def test_a_lost_answer_comes_after_the_write_committed(kassa_client: Any, ddb: Any) -> None:
    realistic.configure(enabled=True, window_seconds=0, lost=1.0)
    with pytest.raises(ClientError) as lost:
        kassa_client.transact_write_items(TransactItems=[update("L1", 5), update("L2", 5)])
    assert lost.value.response["Error"]["Code"] == "InternalServerError"
    realistic.configure()
    assert (value(ddb, "L1"), value(ddb, "L2")) == (5, 5)  # it had committed


def test_the_same_seed_injects_the_same_faults(kassa_client: Any) -> None:
    runs = []
    for _ in range(2):
        realistic.configure(enabled=True, window_seconds=0, throttle=0.3, lost=0.1, seed=11)
        runs.append(errors_of(kassa_client, 30))
    realistic.configure()
    assert runs[0] == runs[1] and set(runs[0]) != {"ok"}


def test_the_environment_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert realistic.from_environment(None) == realistic.Realism()
    assert realistic.from_environment("1").enabled
    parsed = realistic.from_environment("window=0.01,throttle=0.02,collection=0,lost=0.001,seed=9")
    assert parsed == realistic.Realism(True, 0.01, 0.02, 0.0, 0.001, 9)
    assert realistic.from_environment("stale=0.5,lag=0.2") == realistic.Realism(True, stale=0.5, lag_seconds=0.2)
    with pytest.raises(ValueError, match="unknown setting 'speed'"):
        realistic.from_environment("speed=2")
    realistic.configure()


# --------------------------------------------------------------------------- eventually consistent reads


def eventual_get(client: Any, sk: str) -> int | None:
    item = client.get_item(TableName=TABLE, Key=key(sk)).get("Item")
    return int(item["v"]["N"]) if item else None


def eventual_batch(client: Any, *sks: str) -> dict[str, int]:
    answer = client.batch_get_item(RequestItems={TABLE: {"Keys": [key(sk) for sk in sks]}})
    return {item["sk"]["S"]: int(item["v"]["N"]) for item in answer["Responses"].get(TABLE, [])}


def test_an_eventually_consistent_read_within_the_lag_may_see_the_item_as_it_was(kassa_client: Any, ddb: Any) -> None:
    put(ddb, "E1", 1)
    put(ddb, "E2", 7)
    realistic.configure(enabled=True, window_seconds=0, stale=1.0, lag_seconds=0.5)
    kassa_client.transact_write_items(TransactItems=[update("E1", 2)])
    kassa_client.transact_write_items(TransactItems=[update("E1", 3)])
    put(kassa_client, "E3", 5)  # new within the lag
    assert eventual_get(kassa_client, "E1") == 1  # as it was before the oldest write within the lag
    assert eventual_batch(kassa_client, "E1", "E2", "E3") == {"E1": 1, "E2": 7}  # E3 not there yet; E2 unwritten
    assert value(kassa_client, "E1") == 3  # a consistent read sees the latest
    assert eventual_get(ddb, "E1") == 3  # so does another client's eventual read
    assert realistic.counts()["stale"] == 3
    time.sleep(0.6)
    assert eventual_batch(kassa_client, "E1", "E3") == {"E1": 3, "E3": 5}  # the lag has passed
    realistic.configure()


def test_a_stale_read_never_sees_what_did_not_commit(kassa_client: Any, ddb: Any) -> None:
    put(ddb, "F1", 1)
    realistic.configure(enabled=True, window_seconds=0, stale=1.0, lag_seconds=0.5)
    failed = {"Put": {"TableName": TABLE, "Item": {**key("F1"), "v": {"N": "9"}}, "ConditionExpression": "v = :no"}}
    failed["Put"]["ExpressionAttributeValues"] = {":no": {"N": "0"}}
    with pytest.raises(ClientError):
        kassa_client.transact_write_items(TransactItems=[failed])
    assert eventual_get(kassa_client, "F1") == 1
    assert realistic.counts().get("stale", 0) == 0  # a cancelled write leaves no older version behind
    realistic.configure()


def test_stale_reads_are_drawn_from_the_seeded_generator(kassa_client: Any, ddb: Any) -> None:
    runs = []
    for _ in range(2):
        put(ddb, "G1", 0)
        realistic.configure(enabled=True, window_seconds=0, stale=0.5, lag_seconds=5, seed=4)
        kassa_client.transact_write_items(TransactItems=[update("G1", 1)])
        runs.append([eventual_get(kassa_client, "G1") for _ in range(20)])
    realistic.configure()
    assert runs[0] == runs[1] and set(runs[0]) == {0, 1}
