"""The stream is the outbox: every committed entry is published once to EventBridge as
``TransactionCommitted`` (source ``kassa.ledger``), after the request path has answered, and nothing is
published for what did not commit (a recorded rejection, a wallet opened, a transaction DynamoDB
cancelled)."""

from __future__ import annotations

import os
from collections import Counter
from decimal import Decimal

from kassa.clock import now_iso
from kassa.domain.model import Action
from kassa.domain.movements import MovementRequest, decide
from kassa.store.ledger_store import LedgerStore, WriteConflict
from kassa_dev.stack import LocalStack
from tests.reconciliation.conftest import Queue, Stream, Tenant


def test_committed_movements_are_published_once_each(tenant: Tenant, stream: Stream, events_queue: Queue) -> None:
    stream.drain()
    player = tenant.api.open_wallet("EUR")
    moves = [
        ("t-dep", "deposit", "100", None),
        ("t-bet", "bet", "12.5", "r1"),
        ("t-win", "win", "40", "r1"),
        ("t-bet2", "bet", "3", "r2"),
        ("t-ref", "refund", None, "r2"),
        ("t-wd", "withdrawal", "20", None),
    ]
    for tx, kind, amount, bet in moves:
        fields = {"transactionId": tx, **({"betId": bet} if bet else {})}
        response = tenant.api.move(player, kind, amount, **fields)
        assert response.status in (200, 201), response.body
    refused = tenant.api.move(player, "withdrawal", "1000", transactionId="t-too-much")
    assert refused.status == 409, refused.body
    replay = tenant.api.move(player, "deposit", "100", transactionId="t-dep")
    assert replay.status in (200, 201), replay.body

    assert events_queue.of(tenant.operator_id) == [], "nothing is published in the request path"
    stream.drain()

    published = events_queue.of(tenant.operator_id)
    assert {event["source"] for event in published} == {"kassa.ledger"}
    assert {event["detail-type"] for event in published} == {"TransactionCommitted"}
    assert Counter((e["detail"]["transactionId"], e["detail"]["action"]) for e in published) == Counter(
        {(tx, kind): 1 for tx, kind, _, _ in moves}
    )
    by_id = {e["detail"]["transactionId"]: e["detail"] for e in published}
    assert by_id["t-bet"]["playerId"] == player
    assert by_id["t-bet"]["betId"] == "r1"
    assert Decimal(by_id["t-bet"]["amount"]) == Decimal(-12_500_000)
    assert [int(by_id[tx]["version"]) for tx, *_ in moves] == [1, 2, 3, 4, 5, 6]
    assert by_id["t-wd"]["outcome"] == "applied" and by_id["t-wd"]["currency"] == "EUR"
    assert tenant.stream_findings() == []

    events_queue.mark()
    stream.drain()
    assert events_queue.of(tenant.operator_id) == []


def test_a_cancelled_transaction_leaves_no_phantom_entry(tenant: Tenant, stream: Stream, events_queue: Queue) -> None:
    """Two decisions on the same read: the first commits, the second is cancelled by DynamoDB. The
    stream must carry no record of the cancelled one (moto's own rollback would write an INSERT and a
    REMOVE, which the verifier would report as a deleted entry)."""
    stream.drain()
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10", tx="first")
    store = LedgerStore()
    winner = MovementRequest(Action.WITHDRAWAL, "w-1", Decimal(1))
    loser = MovementRequest(Action.WITHDRAWAL, "w-2", Decimal(2))
    state, _ = store.load(tenant.operator_id, player, winner)
    loser_state, _ = store.load(tenant.operator_id, player, loser)
    store.commit(decide(state, winner, now=now_iso()), read_version=1)
    try:
        store.commit(decide(loser_state, loser, now=now_iso()), read_version=1)
    except WriteConflict:
        pass
    else:
        raise AssertionError("the second commit on a stale read must be cancelled")
    stream.drain()

    assert tenant.stream_findings() == []
    assert tenant.audit() == []
    txs = Counter(e["detail"]["transactionId"] for e in events_queue.of(tenant.operator_id, "TransactionCommitted"))
    assert txs == Counter({"first": 1, "w-1": 1})


def test_a_watching_queue_leaves_nothing_on_the_bus(stack: LocalStack) -> None:
    """Each test's queue goes with its rule: one left behind slows every later PutEvents of the session."""
    events, sqs, bus = stack.client("events"), stack.client("sqs"), os.environ["KASSA_EVENT_BUS"]
    rules_before = events.list_rules(EventBusName=bus)["Rules"]
    with stack.event_queue("watching-for-a-while") as url:
        assert len(events.list_rules(EventBusName=bus)["Rules"]) == len(rules_before) + 1
        assert url in sqs.list_queues()["QueueUrls"]
    assert events.list_rules(EventBusName=bus)["Rules"] == rules_before
    assert url not in sqs.list_queues().get("QueueUrls", [])
