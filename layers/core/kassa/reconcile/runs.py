"""Reconciliation runs: a full audit of an operator, or a provider report matched against its ledger.

A run is recorded as ``pending`` by whoever asks for it (the API, the schedule, an S3 upload) and executed
once (``claim_run``: pending -> running), with its findings under the run, counts per class on the run,
and the full JSON report in the results bucket.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from kassa import errors, ledger
from kassa.clock import now_iso
from kassa.domain.model import Action, Bet, BetState
from kassa.domain.movements import MovementRequest
from kassa.observability import logger, metrics
from kassa.operators import AuditPolicy
from kassa.reconcile.audit import audit_wallet
from kassa.reconcile.findings import DISCREPANCIES, Finding, Kind
from kassa.reconcile.report import LedgerView, match, parse_report, period
from kassa.settings import settings
from kassa.store.access_store import AccessStore
from kassa.store.client import aws
from kassa.store.ledger_store import LedgerStore
from kassa.store.reconcile_store import ReconcileStore

AUDIT = "audit"
REPORT = "report"
STALE_REFUND_PREFIX = "stale-refund-"


def start_run(operator_id: str, kind: str, s3_key: str | None = None, store: ReconcileStore | None = None) -> str:
    if kind == REPORT and not (s3_key or "").startswith(f"{operator_id}/"):
        # Operators are tenants: a report is read only from under the operator's own prefix.
        raise errors.InvalidRequest(f"s3Key must be under the operator's prefix {operator_id}/")
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    run = {"runId": run_id, "type": kind, "status": "pending", "createdAt": now_iso(), "s3Key": s3_key}
    (store or ReconcileStore()).put_run(operator_id, run_id, run)
    return run_id


def execute(operator_id: str, run_id: str, store: ReconcileStore | None = None) -> dict[str, Any] | None:
    """Run a pending run to completion; a run already claimed (a redelivery) is left alone."""
    store = store or ReconcileStore()
    run = store.get_run(operator_id, run_id)
    if run is None or not store.claim_run(operator_id, run_id):
        return None
    try:
        found = (
            audit_operator(operator_id, store)
            if run["type"] == AUDIT
            else match_report(operator_id, run["s3Key"], store)
        )
        status, error = "completed", None
    except errors.KassaError as failure:
        found, status, error = [], "failed", failure.detail
    except Exception as failure:  # a missing report, S3 refusing: the run fails, it never stays "running"
        logger.exception("reconciliation run failed", extra={"operatorId": operator_id, "runId": run_id})
        found, status, error = [], "failed", type(failure).__name__
    now = now_iso()
    for finding in found:
        store.record_finding(operator_id, finding, now, run_id=run_id)
        if finding.kind in DISCREPANCIES:
            facts = {"operatorId": operator_id, "runId": run_id, **finding.as_dict()}
            logger.warning("ledger discrepancy", extra=facts)
            metrics.add_metric(name="LedgerDiscrepancies", unit="Count", value=1)
    counts = dict(Counter(finding.kind.value for finding in found))
    run = {**run, "status": status, "completedAt": now, "counts": counts, "error": error}
    try:
        run["resultsKey"] = _write_results(operator_id, run, found)
    except Exception:  # the run's outcome is in the table either way; it must not stay "running"
        logger.exception("run report not written", extra={"operatorId": operator_id, "runId": run_id})
        run["resultsKey"] = None
    store.put_run(operator_id, run_id, run)
    metrics.add_metric(name="ReconciliationRuns", unit="Count", value=1)
    logger.info("reconciliation run finished", extra={"operatorId": operator_id, "runId": run_id, "counts": counts})
    return run


def run_now(operator_id: str, kind: str, s3_key: str | None = None) -> dict[str, Any] | None:
    """Start and execute at once (the schedule and S3 triggers, which are already asynchronous)."""
    store = ReconcileStore()
    return execute(operator_id, start_run(operator_id, kind, s3_key, store), store)


def audit_operator(operator_id: str, store: ReconcileStore) -> list[Finding]:
    policy = AuditPolicy.from_item(AccessStore().get_operator(operator_id))
    stale_before = (datetime.now(UTC) - timedelta(hours=policy.stale_bet_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    found: list[Finding] = []
    for player in store.players(operator_id):
        wallet, applied, _, bets = store.partition(operator_id, player)
        if wallet is None:
            continue
        found += audit_wallet(wallet, applied)
        for bet in bets:
            if bet.state is BetState.OPEN and bet.created_at < stale_before:
                found.append(_stale(operator_id, player, bet, policy))
    return found


def _stale(operator_id: str, player_id: str, bet: Bet, policy: AuditPolicy) -> Finding:
    detail = f"open since {bet.created_at}"
    if policy.refund_stale_bets:
        # Through the ordinary cancel_bet path, with a transaction id derived from the bet: a second
        # audit (or a retried one) replays this refund instead of refunding twice.
        refund = MovementRequest(Action.REFUND, f"{STALE_REFUND_PREFIX}{bet.bet_id}", None, bet_id=bet.bet_id)
        try:
            ledger.move_money(LedgerStore(), operator_id, player_id, refund)
            detail += "; refunded"
        except errors.KassaError as error:
            detail += f"; refund refused: {error.code}"
    return Finding(Kind.STALE_BET, player_id, transaction_id=bet.bet_id, action="bet", detail=detail)


def match_report(operator_id: str, s3_key: str, store: ReconcileStore) -> list[Finding]:
    body = aws("s3").get_object(Bucket=settings().provider_reports_bucket, Key=s3_key)["Body"].read()
    try:
        # utf-8-sig: spreadsheet exports start with a byte-order mark, which is not part of the header.
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.InvalidRequest("the report is not UTF-8 text") from None
    records = parse_report(text)
    if not records:
        return []
    start, end = period(records)
    view: LedgerView = {}
    for player in store.players(operator_id):
        wallet, applied, rejected, _ = store.partition(operator_id, player)
        if wallet is not None:
            for entry in applied + rejected:
                view[(player, entry.transaction_id, entry.action)] = (entry, wallet)
    return match(records, view, start, end)


def audit_one_wallet(operator_id: str, player_id: str, store: ReconcileStore | None = None) -> dict[str, Any]:
    wallet, applied, _, _ = (store or ReconcileStore()).partition(operator_id, player_id)
    if wallet is None:
        raise errors.WalletNotFound()
    found = audit_wallet(wallet, applied)
    return {
        "playerId": player_id,
        "consistent": not found,
        "version": wallet.version,
        "entries": len(applied),
        "findings": [finding.as_dict() for finding in found],
    }


def _write_results(operator_id: str, run: dict[str, Any], found: list[Finding]) -> str:
    key = f"{operator_id}/{run['runId']}.json"
    report = {**run, "operatorId": operator_id, "findings": [finding.as_dict() for finding in found]}
    aws("s3").put_object(
        Bucket=settings().results_bucket,
        Key=key,
        Body=json.dumps(report, indent=1).encode(),
        ContentType="application/json",
    )
    return key
