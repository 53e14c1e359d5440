"""Benchmark: TransactWriteItems through the embedded DynamoDB, at 1,000 and at 20,000 items.

Each transaction is ledger-like, three actions: a conditional Update of a wallet (version check and
enough balance), a Put of a new movement (attribute_not_exists), an Update of a second wallet. They
are sent over HTTP through the embedded server, one at a time, and all commit. The table has a
stream (NEW_AND_OLD_IMAGES), like Kassa's. For comparison, moto's own implementation is timed too,
with fewer transactions because it is slow (at 20,000 items only if asked: ~10 s per transaction).

    .venv/bin/python scripts/bench_embedded_transactions.py [--transactions 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from botocore.config import Config
from moto.dynamodb.models import DynamoDBBackend

from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB, install_transaction_patch, moto_transact_write_items

WALLETS = 50


class Ledger:
    """A table with WALLETS wallets, filled with movements up to the size asked for."""

    def __init__(self, dynamodb: Any, name: str) -> None:
        self.dynamodb = dynamodb
        self.name = name
        self.versions = [0] * WALLETS
        self.sequence = count()
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self._write([self._wallet(w) for w in range(WALLETS)])

    def size(self) -> int:
        return int(self.dynamodb.describe_table(TableName=self.name)["Table"]["ItemCount"])

    def fill_to(self, items: int) -> None:
        self._write([self._movement(i % WALLETS, 1) for i in range(items - self.size())])

    def transaction(self) -> list[dict[str, Any]]:
        n = next(self.sequence)
        payer, payee = n % WALLETS, (n + 1) % WALLETS
        return [
            self.update(payer, -1),
            {
                "Put": {
                    "TableName": self.name,
                    "Item": self._movement(payer, -1),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self.update(payee, 1),
        ]

    def update(self, w: int, delta: int) -> dict[str, Any]:
        """Change a wallet's balance if its version is the one last seen (and the balance suffices)."""
        values = {":d": {"N": str(delta)}, ":one": {"N": "1"}, ":v": {"N": str(self.versions[w])}}
        condition = "version = :v"
        if delta < 0:
            condition += " AND balance >= :min"
            values[":min"] = {"N": str(-delta)}
        self.versions[w] += 1
        return {
            "Update": {
                "TableName": self.name,
                "Key": {"pk": {"S": f"W#{w}"}, "sk": {"S": "META"}},
                "UpdateExpression": "SET balance = balance + :d, version = version + :one",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }

    def _write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": it}} for it in items[start : start + 25]]
            pending: dict[str, Any] = {self.name: batch}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending)["UnprocessedItems"]

    def _wallet(self, w: int) -> dict[str, Any]:
        return {"pk": {"S": f"W#{w}"}, "sk": {"S": "META"}, "balance": {"N": "1000000"}, "version": {"N": "0"}}

    def _movement(self, w: int, amount: int) -> dict[str, Any]:
        return {
            "pk": {"S": f"W#{w}"},
            "sk": {"S": f"MOVE#{next(self.sequence):08}"},
            "amount": {"N": str(amount)},
            "currency": {"S": "EUR"},
        }


def timings_ms(operation: Callable[[], Any], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        operation()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        operation()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]  # nearest rank


@contextmanager
def moto_own_transactions() -> Iterator[None]:
    DynamoDBBackend.transact_write_items = moto_transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        install_transaction_patch()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--moto-transactions", type=int, default=30, help="moto's own, at 1,000 items")
    parser.add_argument(
        "--moto-transactions-large", type=int, default=0, help="moto's own, at 20,000 items (~10 s each)"
    )
    args = parser.parse_args()

    def measure(label: str, ledger: Ledger, operation: Callable[[], Any], n: int, warmup: int = 10) -> list[float]:
        values = timings_ms(operation, n, warmup)
        print(
            f"  {label:<34} {ledger.size():>7,} items  n={n:<4} median {statistics.median(values):8.2f} ms"
            f"   p95 {p95(values):8.2f} ms",
            flush=True,
        )
        return values

    with EmbeddedDynamoDB() as server:
        dynamodb = server.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
        print(f"embedded DynamoDB at {server.endpoint_url}; 3-action TransactWriteItems over HTTP, one at a time")
        ledger = Ledger(dynamodb, "bench-ledger")

        def transact() -> None:
            dynamodb.transact_write_items(TransactItems=ledger.transaction())

        def update() -> None:
            n = next(ledger.sequence)
            dynamodb.update_item(**ledger.update(n % WALLETS, -1)["Update"])

        started = time.perf_counter()
        ledger.fill_to(1_000)
        print(f"  (loaded 1,000 items in {time.perf_counter() - started:.1f} s)")
        small = measure("TransactWriteItems (embedded)", ledger, transact, args.transactions)
        with moto_own_transactions():
            moto_small = measure("TransactWriteItems (moto's own)", ledger, transact, args.moto_transactions, 3)

        started = time.perf_counter()
        ledger.fill_to(20_000)
        print(f"  (loaded to 20,000 items in {time.perf_counter() - started:.1f} s)")
        large = measure("TransactWriteItems (embedded)", ledger, transact, args.transactions)
        measure("UpdateItem (for reference)", ledger, update, args.transactions)
        if args.moto_transactions_large:
            with moto_own_transactions():
                measure("TransactWriteItems (moto's own)", ledger, transact, args.moto_transactions_large, 0)

        print(
            f"embedded, 20,000 / 1,000 items: median {statistics.median(large) / statistics.median(small):.2f}x,"
            f" p95 {p95(large) / p95(small):.2f}x"
        )
        slower = statistics.median(moto_small) / statistics.median(small)
        print(f"at ~1,000 items, moto's own / embedded: median {slower:.1f}x, p95 {p95(moto_small) / p95(small):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
