"""Per-commit verification from the table's stream, and the stream as the events outbox.

Each record is checked against the table as it is now (strongly consistent reads), so the records of one
transaction need not arrive together or in order, and a redelivered record finds what it found before:
findings are written once under a stable key, and an event is published only by the call that wrote its
finding or its outbox marker. Records of other item types (bets, sessions, credentials) are not the
verifier's business, except a reconciliation run that became pending (made, or a full audit handing its
rest to another invocation), which the stream starts (see ``runs``).
"""

from __future__ import annotations

from typing import Any

from kassa.anomaly import detector
from kassa.clock import now_epoch, now_iso
from kassa.domain.model import GENESIS_HASH, Outcome
from kassa.observability import logger, metrics
from kassa.reconcile import events
from kassa.reconcile.audit import entry_findings, links_to
from kassa.reconcile.findings import Currency, Finding, Kind
from kassa.store import codec
from kassa.store.anomaly_store import AnomalyStore
from kassa.store.reconcile_store import ReconcileStore


def handle_record(
    record: dict[str, Any], store: ReconcileStore | None = None, anomalies: AnomalyStore | None = None
) -> None:
    """One DynamoDB stream record (Lambda's event shape). Raises to have the record retried."""
    store = store or ReconcileStore()
    anomalies = anomalies or AnomalyStore()
    change = record.get("dynamodb") or {}
    image = change.get("NewImage") or change.get("OldImage") or {}
    kind = image.get("type", {}).get("S")
    if kind == "entry":
        _entry(record["eventName"], change, store)
        if record["eventName"] == "INSERT":
            detector.check_entry(change["NewImage"], anomalies)
    elif kind == "wallet" and record["eventName"] == "REMOVE":
        wallet = codec.wallet_from_item(change["OldImage"])
        removed = Finding(Kind.WALLET_DELETED, wallet.player_id, wallet.version, detail="the wallet item was removed")
        _report(store, wallet.operator_id, [removed])
    elif kind == "wallet":
        _wallet(change["NewImage"], store)
        detector.check_wallet(change["NewImage"], anomalies)
    elif kind == "run" and _became_pending(record["eventName"], change):
        from kassa.reconcile import runs

        runs.execute(codec.text(image, "operatorId"), codec.text(image, "runId"))


def _became_pending(event_name: str, change: dict[str, Any]) -> bool:
    """A run made pending, or put back to pending (a full audit going on in another invocation)."""
    status = (change.get("NewImage") or {}).get("status", {}).get("S")
    before = (change.get("OldImage") or {}).get("status", {}).get("S")
    return event_name in ("INSERT", "MODIFY") and status == "pending" and before != "pending"


def _entry(event_name: str, change: dict[str, Any], store: ReconcileStore) -> None:
    image = change["OldImage"] if event_name == "REMOVE" else change["NewImage"]
    entry = codec.entry_from_item(image)
    if entry.outcome is not Outcome.APPLIED:
        return
    operator, player = codec.text(image, "operatorId"), codec.text(image, "playerId")
    if event_name == "REMOVE":
        _report(
            store,
            operator,
            [
                Finding(
                    Kind.ENTRY_DELETED,
                    player,
                    entry.version,
                    entry.transaction_id,
                    entry.action.value,
                    "an entry was removed from the ledger",
                )
            ],
        )
        return
    # An entry item carries its wallet's currency and scale: its amounts are shown without reading the wallet.
    currency = Currency(codec.text(image, "currency"), codec.number(image, "scale"))
    found = entry_findings(operator, player, entry, currency)
    previous = store.entry_at(operator, player, entry.version - 1) if entry.version > 1 else None
    if entry.version > 1 and previous is None:
        found.append(Finding(Kind.ENTRY_MISSING, player, entry.version - 1, detail="the predecessor is missing"))
    elif not links_to(entry, previous, operator, player):
        found.append(
            Finding(
                Kind.CHAIN_BROKEN,
                player,
                entry.version,
                entry.transaction_id,
                entry.action.value,
                "the previous hash is not the predecessor's",
            )
        )
    _report(store, operator, found)
    if event_name == "INSERT" and not found:
        _publish_committed(store, image)


def _wallet(image: dict[str, Any], store: ReconcileStore) -> None:
    wallet = codec.wallet_from_item(image)
    state = (wallet.balance, wallet.bonus, wallet.last_hash)
    if wallet.version == 0:
        expected: tuple[int, int, str | None] | None = (0, 0, GENESIS_HASH)
    else:
        entry = store.entry_at(wallet.operator_id, wallet.player_id, wallet.version)
        expected = (entry.wallet_balance, entry.wallet_bonus, entry.hash) if entry else None
    if expected is None:
        found = [Finding(Kind.ENTRY_MISSING, wallet.player_id, wallet.version, detail="the wallet's last entry")]
    elif state[:2] != expected[:2]:
        currency = Currency.of(wallet)
        holds, left = currency.balances(*state[:2]), currency.balances(*expected[:2])
        detail = f"the wallet holds {holds}; its last entry left {left}"
        found = [Finding(Kind.BALANCE_MISMATCH, wallet.player_id, wallet.version, detail=detail)]
    elif state[2] != expected[2]:
        detail = "the wallet's last hash is not its last entry's"
        found = [Finding(Kind.VERSION_MISMATCH, wallet.player_id, wallet.version, detail=detail)]
    else:
        found = []
    _report(store, wallet.operator_id, found)


def _report(store: ReconcileStore, operator_id: str, found: list[Finding]) -> None:
    for finding in found:
        if store.record_finding(operator_id, finding, now_iso()):
            logger.warning("ledger discrepancy", extra={"operatorId": operator_id, **finding.as_dict()})
            metrics.add_metric(name="LedgerDiscrepancies", unit="Count", value=1)
            events.publish(events.LEDGER_DISCREPANCY, {"operatorId": operator_id, **finding.as_dict()})


def _publish_committed(store: ReconcileStore, image: dict[str, Any]) -> None:
    pk, sk = codec.text(image, "pk"), codec.text(image, "sk")
    if not store.mark_published(pk, sk, now_epoch()):
        return  # published by an earlier delivery of this record
    detail = {
        name: next(iter(value.values()))
        for name, value in image.items()
        if name not in ("pk", "sk", "fingerprint", "kind")
    }
    try:
        events.publish(events.TRANSACTION_COMMITTED, detail)
    except Exception:
        store.unmark_published(pk, sk)
        raise
