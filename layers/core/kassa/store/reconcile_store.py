"""Storage reads and writes of reconciliation: walking operators and wallets, reading a wallet's whole
partition, and recording runs, findings and published events exactly once."""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

from kassa import deadline
from kassa.audit_log import AuditRecord
from kassa.deadline import Budget
from kassa.domain.model import Bet, Entry, Outcome, Wallet
from kassa.reconcile.audit import Checkpoint
from kassa.reconcile.findings import Finding
from kassa.settings import settings
from kassa.store import codec, cursors, keys
from kassa.store.audit_store import write_audited
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

    # -- walking the ledger ----------------------------------------------------------------------

    def operators(self) -> list[str]:
        items = self.pages(
            IndexName=keys.BY_KIND,
            KeyConditionExpression="kind = :kind",
            ExpressionAttributeValues={":kind": s(keys.OPERATORS_KIND)},
        )
        return sorted(codec.text(item, "pk").removeprefix(keys.operator_pk("")) for item in items)

    def players(self, operator_id: str) -> list[str]:
        prefix = keys.wallet_pk(operator_id, "")
        items = self.pages(
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
        items = self.pages(
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

    # -- the incremental audit ---------------------------------------------------------------------

    def wallet_and_checkpoint(self, operator_id: str, player_id: str) -> tuple[Wallet | None, Checkpoint | None]:
        """The wallet and its audit checkpoint, both strongly consistent, in one request."""
        wallet, checkpoint = self.get_many(
            [keys.wallet(operator_id, player_id), keys.audit_checkpoint(operator_id, player_id)]
        )
        return (
            codec.wallet_from_item(wallet) if wallet else None,
            _checkpoint_from_item(checkpoint) if checkpoint else None,
        )

    def entries_between(self, operator_id: str, player_id: str, after: int, upto: int) -> list[Entry]:
        """The applied entries with versions in (after, upto], in order. Read eventually consistent (half
        the price): an entry never changes once written, so any copy found is the entry. Only an absence
        can be stale, so a range that comes back with a version missing is read again, consistently."""
        if upto <= after:
            return []
        found = self._entries_after(operator_id, player_id, after, upto, consistent=False)
        if [e.version for e in found] != list(range(after + 1, upto + 1)):
            found = self._entries_after(operator_id, player_id, after, upto, consistent=True)
        return found

    def _entries_after(self, operator_id: str, player_id: str, after: int, upto: int, consistent: bool) -> list[Entry]:
        items = self.pages(
            IndexName=keys.ENTRIES_BY_VERSION,
            ConsistentRead=consistent,
            KeyConditionExpression="pk = :pk AND entryVersion BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": s(keys.wallet_pk(operator_id, player_id)),
                ":from": n(after + 1),
                ":to": n(upto),
            },
        )
        return [codec.entry_from_item(item) for item in items]

    def save_checkpoint(self, operator_id: str, player_id: str, checkpoint: Checkpoint, now: str) -> None:
        """Never moves a checkpoint back (two audits of one wallet may finish in either order)."""
        item = {
            **keys.audit_checkpoint(operator_id, player_id),
            "type": s("checkpoint"),
            "version": n(checkpoint.version),
            "hash": s(checkpoint.hash),
            "cash": n(checkpoint.cash),
            "bonus": n(checkpoint.bonus),
            "openBets": {"M": {bet: s(placed) for bet, placed in checkpoint.open_bets.items()}},
            "auditedAt": s(now),
        }
        with contextlib.suppress(_Already):  # a later checkpoint is already there
            write_patiently(
                lambda: self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk) OR version <= :v",
                    ExpressionAttributeValues={":v": n(checkpoint.version)},
                ),
                self.budget(),
                "save checkpoint",
                condition_failed=_Already,
            )

    def bet(self, operator_id: str, player_id: str, bet_id: str) -> Bet | None:
        item = self.read(keys.bet(operator_id, player_id, bet_id))
        return codec.bet_from_item(item) if item else None

    def audit_cursor(self, operator_id: str) -> str | None:
        """Where the last scheduled walk of this operator's wallets stopped (None: it finished)."""
        item = self.read(keys.audit_cursor(operator_id))
        return codec.optional_text(item, "after") if item else None

    def save_audit_cursor(self, operator_id: str, after: str | None) -> None:
        item: codec.Item = {**keys.audit_cursor(operator_id), "type": s("cursor")}
        if after is not None:
            item["after"] = s(after)
        write_patiently(lambda: self.client.put_item(TableName=self.table, Item=item), self.budget(), "cursor")

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
        query: dict[str, Any] = {**_findings_under(pk), "Limit": limit}
        start = cursors.decode(cursor, pk, "FINDING#")
        if start:
            query["ExclusiveStartKey"] = start
        response = self.query(**query)
        found = [
            {**json.loads(codec.text(item, "finding")), "foundAt": codec.optional_text(item, "foundAt")}
            for item in response["Items"]
        ]
        return found, cursors.encode(response.get("LastEvaluatedKey"))

    def run_findings(self, operator_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every finding recorded under a run, as it was found (for the report of a run done in parts)."""
        items = self.pages(**_findings_under(keys.run_findings_pk(operator_id, run_id)))
        return [json.loads(codec.text(item, "finding")) for item in items]

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

    def start_run(self, operator_id: str, run_id: str, run: dict[str, Any], record: AuditRecord) -> None:
        """A new run, with the audit record of its start, in one transaction."""
        put = {"Put": {"TableName": self.table, "Item": _run_item(operator_id, run_id, run)}}
        put["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        write_audited(self, [put], record, "start run")

    def put_run(self, operator_id: str, run_id: str, run: dict[str, Any]) -> None:
        item = _run_item(operator_id, run_id, run)
        write_patiently(lambda: self.client.put_item(TableName=self.table, Item=item), self.budget(), "put run")

    def claim_run(self, operator_id: str, run_id: str, now: str, dead_before: str) -> bool:
        """pending -> running, once: a redelivered stream record must not run the same run twice. A run
        claimed before ``dead_before`` (longer ago than any invocation lasts) died with its invocation and
        may be claimed again. The claim carries a token of its own, so a claim whose answer was lost is
        recognised as this one."""
        token = secrets.token_hex(8)

        def claimed_by_us() -> bool:
            item = self.read(keys.run(operator_id, run_id))
            return item is not None and codec.optional_text(item, "claimedBy") == token

        try:
            write_patiently(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=keys.run(operator_id, run_id),
                    UpdateExpression="SET #status = :running, claimedBy = :token, claimedAt = :now",
                    ConditionExpression="#status = :pending OR (#status = :running AND "
                    "(attribute_not_exists(claimedAt) OR claimedAt < :dead))",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":running": s("running"),
                        ":pending": s("pending"),
                        ":token": s(token),
                        ":now": s(now),
                        ":dead": s(dead_before),
                    },
                ),
                self.budget(),
                "claim run",
                took_effect=claimed_by_us,
                condition_failed=_Already,
            )
        except _Already:
            return False
        return True

    def dead_runs(self, operator_id: str, since_id: str, until_id: str) -> list[str]:
        """Runs still "running" whose ids (they start with their creation time) fall in [since, until]:
        a bounded range, so finding them does not read every run ever made."""
        items = self.pages(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :since AND :until",
            FilterExpression="#status = :running",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":pk": s(keys.recon_pk(operator_id)),
                ":since": s(keys.run(operator_id, since_id)["sk"]["S"]),
                ":until": s(keys.run(operator_id, until_id)["sk"]["S"]),
                ":running": s("running"),
            },
            ConsistentRead=True,
        )
        return [codec.text(item, "runId") for item in items]

    def get_run(self, operator_id: str, run_id: str) -> dict[str, Any] | None:
        item = self.read(keys.run(operator_id, run_id))
        return None if item is None else _run_from_item(item)

    def runs(self, operator_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The operator's runs, newest first (a run id starts with its creation time), ``limit`` at a time."""
        pk, prefix = keys.recon_pk(operator_id), keys.RUN_PREFIX
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :runs)",
            "ExpressionAttributeValues": {":pk": s(pk), ":runs": s(prefix)},
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = cursors.decode(cursor, pk, prefix)
        if start:
            query["ExclusiveStartKey"] = start
        response = self.query(**query)
        return [_run_from_item(item) for item in response["Items"]], cursors.encode(response.get("LastEvaluatedKey"))


def _run_from_item(item: codec.Item) -> dict[str, Any]:
    run: dict[str, Any] = json.loads(codec.text(item, "run"))
    # A run is written "pending" and claimed "running" by an update of its status attribute alone.
    run["status"] = codec.text(item, "status") if run["status"] == "pending" else run["status"]
    return run


def _checkpoint_from_item(item: codec.Item) -> Checkpoint:
    return Checkpoint(
        version=int(item["version"]["N"]),
        hash=codec.text(item, "hash"),
        cash=int(item["cash"]["N"]),
        bonus=int(item["bonus"]["N"]),
        open_bets={bet: value["S"] for bet, value in item.get("openBets", {}).get("M", {}).items()},
    )


def _findings_under(pk: str) -> dict[str, Any]:
    """The query for the findings under ``pk`` (a run's, or the stream verifier's), strongly consistent."""
    return {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :f)",
        "ExpressionAttributeValues": {":pk": s(pk), ":f": s("FINDING#")},
        "ConsistentRead": True,
    }


def _run_item(operator_id: str, run_id: str, run: dict[str, Any]) -> codec.Item:
    return {
        **keys.run(operator_id, run_id),
        "type": s("run"),
        "operatorId": s(operator_id),
        "runId": s(run_id),
        "run": s(json.dumps(run, sort_keys=True)),
        "status": s(str(run["status"])),
    }
