"""Acceptance: "Redelivering the same stream batch twice yields no duplicate findings or events."

The batch is read from the table's stream by a second pump whose "function" only captures what it is
handed (and reports success), then filtered to this test's operator. ReconciliationFunction is invoked
with the identical event twice; a fresh SQS queue on the bus sees what was published. Finally the
session's pump delivers the same records a third time, as Lambda would after a failure elsewhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.reconciliation.conftest import Queue, Stream, Tenant, sort_triples, triples


class Capture:
    """A StreamPump over the whole stream whose invocations only record the records handed over."""

    def __init__(self, stack: Any) -> None:
        self.records: list[dict[str, Any]] = []
        self.pump = stack.stream_pump(self._capture)
        self.pump.skip()  # what is already in the stream is not this test's

    def _capture(self, function_id: str, event: dict[str, Any]) -> dict[str, Any]:
        self.records += event["Records"]
        return {"batchItemFailures": []}

    def take(self, operator_id: str | None = None) -> list[dict[str, Any]]:
        """Records written since the last take (of one operator's partitions, if given)."""
        self.records = []
        while self.pump.pump_once():
            pass
        if operator_id is None:
            return []
        prefix = f"OP#{operator_id}#"
        return [record for record in self.records if record["dynamodb"]["Keys"]["pk"]["S"].startswith(prefix)]


@pytest.fixture
def capture(stack: Any, stream: Stream) -> Capture:
    stream.drain()
    return Capture(stack)


def lambda_event(records: list[dict[str, Any]]) -> str:
    """The records as Lambda hands them over (JSON; ApproximateCreationDateTime in epoch seconds)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return int(value.timestamp())
        raise TypeError(type(value))

    return json.dumps({"Records": records}, default=plain)


def committed(queue: Queue, operator_id: str) -> Counter[tuple[str, str]]:
    return Counter(
        (event["detail"]["transactionId"], event["detail"]["action"])
        for event in queue.of(operator_id, "TransactionCommitted")
    )


def discrepancies(queue: Queue, operator_id: str) -> Counter[tuple[str, str, int | None]]:
    return Counter(
        (event["detail"]["kind"], event["detail"]["playerId"], event["detail"]["version"])
        for event in queue.of(operator_id, "LedgerDiscrepancy")
    )


def test_the_same_batch_delivered_twice_yields_each_finding_and_event_once(
    tenant: Tenant,
    capture: Capture,
    stream: Stream,
    events_queue: Queue,
    reconciliation: Callable[[dict[str, Any]], Any],
) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100", tx="dep")
    tenant.move(player, "bet", "10", tx="bet", bet="b1")
    tenant.move(player, "win", "30", tx="win", bet="b1")
    assert tenant.refused(player, "withdrawal", "1000", tx="wd").code == "insufficient_funds"
    # Two corruptions, so the batch also carries discrepancies: a wallet's balance and an entry's amount.
    tenant.set_attribute(tenant.wallet_key(player), "balance", {"N": "1"})
    tenant.set_attribute(tenant.entry_key(player, "dep", "deposit"), "amount", {"N": "100000001"})

    batch = capture.take(tenant.operator_id)
    names = Counter(record["eventName"] for record in batch)
    assert names["INSERT"] >= 5 and names["MODIFY"] >= 5, names  # wallet, entries, bet; updates
    event = lambda_event(batch)
    first = reconciliation(json.loads(event))
    second = reconciliation(json.loads(event))

    assert first == {"batchItemFailures": []}
    assert second == {"batchItemFailures": []}
    want = sort_triples([("balance_mismatch", player, 3), ("entry_arithmetic", player, 1), ("entry_hash", player, 1)])
    assert triples(tenant.stream_findings()) == want
    assert committed(events_queue, tenant.operator_id) == Counter(
        {("dep", "deposit"): 1, ("bet", "bet"): 1, ("win", "win"): 1}
    )
    assert discrepancies(events_queue, tenant.operator_id) == Counter({t: 1 for t in want})

    # A third delivery, by the session's pump: still nothing new.
    events_queue.mark()
    stream.drain()
    assert triples(tenant.stream_findings()) == want
    assert committed(events_queue, tenant.operator_id) == Counter()
    assert discrepancies(events_queue, tenant.operator_id) == Counter()


def test_records_of_one_transaction_apart_and_out_of_order_then_redelivered(
    tenant: Tenant,
    capture: Capture,
    stream: Stream,
    events_queue: Queue,
    reconciliation: Callable[[dict[str, Any]], Any],
) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "50", tx="dep")
    tenant.move(player, "bet", "20", tx="bet", bet="b1")
    tenant.move(player, "refund", None, tx="ref", bet="b1")
    tenant.move(player, "withdrawal", "5", tx="wd")
    batch = capture.take(tenant.operator_id)

    for record in reversed(batch):  # one record per invocation, newest first
        assert reconciliation(json.loads(lambda_event([record]))) == {"batchItemFailures": []}
    assert reconciliation(json.loads(lambda_event(batch))) == {"batchItemFailures": []}

    assert tenant.stream_findings() == []
    want = Counter({("dep", "deposit"): 1, ("bet", "bet"): 1, ("ref", "refund"): 1, ("wd", "withdrawal"): 1})
    assert committed(events_queue, tenant.operator_id) == want
    assert discrepancies(events_queue, tenant.operator_id) == Counter()
    events_queue.mark()
    stream.drain()
    assert tenant.stream_findings() == []
    assert committed(events_queue, tenant.operator_id) == Counter()


def test_a_wallet_record_checked_after_its_entrys_hash_was_broken_is_a_hash_mismatch_not_a_balance_one(
    tenant: Tenant,
    capture: Capture,
    reconciliation: Callable[[dict[str, Any]], Any],
) -> None:
    """Records are checked against the table as it is when they arrive. Here the deposit's hash is broken
    before the stream delivers the deposit's records: the entry's MODIFY is an ``entry_hash`` finding, and
    the wallet's update to version 1 (balance 100, last hash = the deposit's true hash) now disagrees with
    the entry's stored hash. Its balance agrees, so that finding is about the last hash: in Kassa's
    vocabulary a ``version_mismatch`` ("wallet version or last hash is not its last entry's", as the full
    audit names the same disagreement), not a ``balance_mismatch`` ("balance is not the sum")."""
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100", tx="dep")
    tenant.set_attribute(tenant.entry_key(player, "dep", "deposit"), "hash", {"S": "0" * 64})
    batch = capture.take(tenant.operator_id)

    assert reconciliation(json.loads(lambda_event(batch))) == {"batchItemFailures": []}

    found = tenant.stream_findings()
    assert triples(found) == [("entry_hash", player, 1), ("version_mismatch", player, 1)], found
