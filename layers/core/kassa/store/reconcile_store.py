"""Storage reads and writes of reconciliation: walking operators and wallets, reading a wallet's whole
partition, and recording runs, findings and published events exactly once."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from kassa import deadline
from kassa.deadline import Budget
from kassa.domain.model import Bet, Entry, Outcome, Wallet
from kassa.reconcile.findings import Finding
from kassa.settings import settings
from kassa.store import codec, cursors, keys
from kassa.store.client import TableStore
from kassa.store.codec import n, s
from kassa.store.outcomes import write_patiently

# Published-event markers only need to outlive the stream's 24-hour retention (redeliveries).
OUTBOX_TTL_SECONDS = 3 * 24 * 3600


class _Already(Exception):
    """The item was there: someone recorded or claimed it first."""


class ReconcileStore(TableStore):
    def budget(self) -> Budget:
        """Background work (the stream, audits, reports) may wait longer through throttles than a request."""
        return deadline.current(settings().batch_retry_budget_seconds)

    def _pages(self, **query: Any) -> Iterator[codec.Item]:
        while True:
            page = self.query(**query)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- walking the ledger ----------------------------------------------------------------------

    def operators(self) -> list[str]:
        items = self._pages(
            IndexName=keys.BY_KIND,
            KeyConditionExpression="kind = :kind",
            ExpressionAttributeValues={":kind": s(keys.OPERATORS_KIND)},
        )
        return sorted(codec.text(item, "pk").removeprefix(keys.operator_pk("")) for item in items)

    def players(self, operator_id: str) -> list[str]:
        prefix = keys.wallet_pk(operator_id, "")
        items = self._pages(
            IndexName=keys.BY_KIND,
            KeyConditionExpression="kind = :kind",
            ExpressionAttributeValues={":kind": s(keys.wallets_kind(operator_id))},
        )
        return sorted(codec.text(item, "pk").removeprefix(prefix) for item in items)

    def partition(self, operator_id: str, player_id: str) -> tuple[Wallet | None, list[Entry], list[Entry], list[Bet]]:
        """The wallet, its applied and its rejected entries, and its bets: one consistent pass."""
        wallet: Wallet | None = None
        applied: list[Entry] = []
        rejected: list[Entry] = []
        bets: list[Bet] = []
        items = self._pages(
            KeyConditionExpression="pk = :pk",
            ConsistentRead=True,
            ExpressionAttributeValues={":pk": s(keys.wallet_pk(operator_id, player_id))},
        )
        for item in items:
            kind = codec.text(item, "type")
            if kind == "wallet":
                wallet = codec.wallet_from_item(item)
            elif kind == "entry":
                entry = codec.entry_from_item(item)
                (applied if entry.outcome is Outcome.APPLIED else rejected).append(entry)
            elif kind == "bet":
                bets.append(codec.bet_from_item(item))
        return wallet, sorted(applied, key=lambda e: e.version), rejected, bets

    def entry_at(self, operator_id: str, player_id: str, version: int) -> Entry | None:
        response = self.query(
            IndexName=keys.ENTRIES_BY_VERSION,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND entryVersion = :v",
            ExpressionAttributeValues={":pk": s(keys.wallet_pk(operator_id, player_id)), ":v": n(version)},
        )
        return codec.entry_from_item(response["Items"][0]) if response["Items"] else None

    # -- recording once ------------------------------------------------------------------------------

    def _put_once(self, item: codec.Item) -> bool:
        """Put unless present; True when this call wrote it (the first time the thing was seen). After a
        lost answer the item found is taken as this call's: an event published twice beats one lost."""
        try:
            write_patiently(
                lambda: self.client.put_item(
                    TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                ),
                self.budget(),
                "record once",
                took_effect=lambda: True,
                condition_failed=_Already,
            )
        except _Already:
            return False
        return True

    def record_finding(self, operator_id: str, found: Finding, now: str, run_id: str | None = None) -> bool:
        pk = keys.run_findings_pk(operator_id, run_id) if run_id else keys.recon_pk(operator_id)
        item = {
            **keys.finding(pk, found.key),
            "type": s("finding"),
            "operatorId": s(operator_id),
            "finding": s(json.dumps(found.as_dict(), sort_keys=True)),
            "kindOfFinding": s(found.kind.value),
            "foundAt": s(now),
        }
        return self._put_once(item)

    def findings(
        self, operator_id: str, run_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        pk = keys.run_findings_pk(operator_id, run_id) if run_id else keys.recon_pk(operator_id)
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :f)",
            "ExpressionAttributeValues": {":pk": s(pk), ":f": s("FINDING#")},
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = cursors.decode(cursor, pk, "FINDING#")
        if start:
            query["ExclusiveStartKey"] = start
        response = self.query(**query)
        found = [json.loads(codec.text(item, "finding")) for item in response["Items"]]
        return found, cursors.encode(response.get("LastEvaluatedKey"))

    def mark_published(self, entry_pk: str, entry_sk: str, now_epoch: int) -> bool:
        item = {
            **keys.outbox(entry_pk, entry_sk),
            "type": s("outbox"),
            "ttl": n(now_epoch + OUTBOX_TTL_SECONDS),
        }
        return self._put_once(item)

    def unmark_published(self, entry_pk: str, entry_sk: str) -> None:
        """Undo a marker whose event could not be sent, so the redelivered record sends it."""
        key = keys.outbox(entry_pk, entry_sk)
        write_patiently(lambda: self.client.delete_item(TableName=self.table, Key=key), self.budget(), "unmark")

    # -- runs ------------------------------------------------------------------------------------------

    def put_run(self, operator_id: str, run_id: str, run: dict[str, Any]) -> None:
        item = {
            **keys.run(operator_id, run_id),
            "type": s("run"),
            "operatorId": s(operator_id),
            "runId": s(run_id),
            "run": s(json.dumps(run, sort_keys=True)),
            "status": s(str(run["status"])),
        }
        write_patiently(lambda: self.client.put_item(TableName=self.table, Item=item), self.budget(), "put run")

    def claim_run(self, operator_id: str, run_id: str) -> bool:
        """pending -> running, once: a redelivered stream record must not run the same run twice. The
        claim carries a token of its own, so a claim whose answer was lost is recognised as this one."""
        token = secrets.token_hex(8)

        def claimed_by_us() -> bool:
            item = self.read(keys.run(operator_id, run_id))
            return item is not None and codec.optional_text(item, "claimedBy") == token

        try:
            write_patiently(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=keys.run(operator_id, run_id),
                    UpdateExpression="SET #status = :running, claimedBy = :token",
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":running": s("running"), ":pending": s("pending"), ":token": s(token)},
                ),
                self.budget(),
                "claim run",
                took_effect=claimed_by_us,
                condition_failed=_Already,
            )
        except _Already:
            return False
        return True

    def get_run(self, operator_id: str, run_id: str) -> dict[str, Any] | None:
        item = self.read(keys.run(operator_id, run_id))
        if item is None:
            return None
        run: dict[str, Any] = json.loads(codec.text(item, "run"))
        run["status"] = codec.text(item, "status") if run["status"] == "pending" else run["status"]
        return run
