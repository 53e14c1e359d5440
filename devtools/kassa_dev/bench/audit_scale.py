"""The audit's time and capacity as the ledger grows: 1k, 10k and 100k entries.

Each size is an operator of its own with wallets of ``ENTRIES_PER_WALLET`` applied entries each, written
straight to the table (entries decided by the domain, chained and hashed as a commit would, put in
batches: making a hundred thousand through the API would take longer than auditing them). Then:

- the full audit (an audit asked for: every entry of every wallet, strongly consistent);
- the hourly incremental audit, the first time (no checkpoints yet: every entry, eventually consistent,
  and a checkpoint written per wallet);
- the hourly incremental audit with nothing new (a consistent read of each wallet and its checkpoint).

Each size gets a table of its own (the embedded DynamoDB walks a whole table for an index query, so a
shared one would time the other sizes' items too), and the audit a client that waits long enough for
the embedded DynamoDB's slowest answers (Kassa's own gives up on a call after a second, as it should on
AWS). Each phase runs once, timed, with the capacity meter attached, in this process, against the embedded
DynamoDB: times are moto's and this machine's (the meter reads an item before and after each write, one
per checkpoint, inside the time; reads cost it nothing); capacity follows DynamoDB's formulas.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ENTRIES_PER_WALLET = 100
SIZES = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class AuditFigure:
    entries: int
    wallets: int
    phase: str
    seconds: float
    requests: int
    rcu: Decimal
    wcu: Decimal


def seed(operator_id: str, wallets: int, entries_per_wallet: int, client: Any, table: str) -> None:
    """``wallets`` wallets with ``entries_per_wallet`` deposits each, valid chains, written in batches."""
    from kassa import ledger, operators
    from kassa.clock import now_iso
    from kassa.domain.model import Action
    from kassa.domain.movements import Movement, MovementRequest, MovementState, decide
    from kassa.store import codec
    from kassa.store.access_store import AccessStore
    from kassa.store.ledger_store import LedgerStore

    operators.create_operator(AccessStore(), operator_id)
    batch: list[dict[str, Any]] = []

    def put(item: dict[str, Any]) -> None:
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            flush()

    def flush() -> None:
        if not batch:
            return
        pending = {table: list(batch)}
        batch.clear()
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    for w in range(wallets):
        player = f"p{w:06d}"
        wallet = ledger.open_wallet(LedgerStore(), operator_id, player, "EUR")
        for k in range(entries_per_wallet):
            request = MovementRequest(Action.DEPOSIT, f"t{k:06d}", Decimal("1.00"))
            decision = decide(MovementState(wallet), request, now=now_iso())
            assert isinstance(decision, Movement)
            wallet = decision.wallet
            put(codec.entry_item(wallet, decision.entry))
        put(codec.wallet_item(wallet))
    flush()


def measure(
    stack: Any, tag: str, sizes: tuple[int, ...] = SIZES, progress: Callable[[str], None] = print
) -> list[AuditFigure]:
    from botocore.config import Config

    from kassa.settings import settings
    from kassa_dev import template

    client = stack.client("dynamodb")
    patient = stack.dynamodb.client("dynamodb", config=Config(read_timeout=300, retries={"total_max_attempts": 1}))
    figures = []
    for size in sizes:
        wallets = max(1, size // ENTRIES_PER_WALLET)
        operator_id = f"{tag}-audit{size}-{secrets.token_hex(2)}"
        table, previous = f"{stack.table}-audit{size}", os.environ.get("KASSA_TABLE", "")
        template.create_table(client, table)
        os.environ["KASSA_TABLE"] = table
        settings.cache_clear()
        try:
            figures += _phases(operator_id, size, wallets, client, patient, table, progress)
        finally:
            os.environ["KASSA_TABLE"] = previous
            settings.cache_clear()
            client.delete_table(TableName=table)
    return figures


def _phases(
    operator_id: str, size: int, wallets: int, client: Any, patient: Any, table: str, progress: Callable[[str], None]
) -> list[AuditFigure]:
    from kassa.reconcile import runs
    from kassa.store.client import dynamodb
    from kassa.store.reconcile_store import ReconcileStore
    from kassa_dev.bench.counting import CapacityMeter, silenced_stdout

    figures = []
    progress(f"  audit at {size:,} entries: writing {wallets} wallets")
    with silenced_stdout():
        seed(operator_id, wallets, ENTRIES_PER_WALLET, client, table)
    full, incremental = runs.audit_operator, runs.audit_incrementally
    phases = [
        ("full audit", full),
        ("incremental, first time", incremental),
        ("incremental, nothing new", incremental),
    ]
    for phase, action in phases:
        meter = CapacityMeter(client)
        meter.attach(dynamodb())
        meter.attach(patient)
        try:
            with silenced_stdout():
                started = time.perf_counter()
                action(operator_id, ReconcileStore(client=patient))
                seconds = time.perf_counter() - started
        finally:
            meter.detach()
        figure = AuditFigure(
            size,
            wallets,
            phase,
            seconds,
            len(meter.calls),
            sum((c.rcu for c in meter.calls), Decimal(0)),
            sum((c.wcu for c in meter.calls), Decimal(0)),
        )
        progress(f"    {phase}: {seconds:.1f} s, {figure.requests} requests, {figure.rcu} RCU, {figure.wcu} WCU")
        figures.append(figure)
    return figures
