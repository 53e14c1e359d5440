"""Reconciliation runs: a full audit of an operator, or a provider report matched against its ledger.

A run is recorded as ``pending`` by whoever asks for it (the API, the schedule, an S3 upload) and executed
once (``claim_run``: pending -> running), with its findings under the run, counts per class on the run,
and the full JSON report in the results bucket. A run whose invocation died while it was "running" is
claimed again and finished by the next scheduled audit of its operator (``reclaim_dead_runs``).

An audit asked for (API, CLI) is *full*: every wallet from its first entry. In an invocation it walks the
wallets in parts (``FULL_AUDIT_PART_SECONDS``); after each it goes back to ``pending`` with where it stopped,
and the stream, which starts pending runs, starts the next part in another invocation (the report is
written after the last). The hourly audit is *incremental*: each wallet from its checkpoint (what the last
audit verified, ``kassa.reconcile.audit``), its new entries read eventually consistent, so its cost grows
with what changed, not with the ledger; and it walks the operator's wallets only while its invocation has
time, leaving a cursor where it stopped for the next hour to go on from; one schedule invocation gives each
operator's walk an equal share of what it has left (``scheduled_audits``). Entries already checkpointed are
watched by the stream verifier, which sees any change or removal of one as it happens.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kassa import audit_log, deadline, errors, ledger
from kassa.audit_log import Actor, AuditRecord
from kassa.clock import iso_ago, now_iso
from kassa.deadline import Budget
from kassa.domain.model import SYSTEM, Action, Bet, BetState, Origin
from kassa.domain.movements import MovementRequest
from kassa.observability import logger, metrics, trace_id
from kassa.operators import AuditPolicy
from kassa.reconcile.audit import GENESIS, audit_from, audit_wallet
from kassa.reconcile.findings import DISCREPANCIES, Finding, Kind
from kassa.reconcile.report import LedgerView, match, parse_report, period
from kassa.settings import settings
from kassa.store.access_store import AccessStore
from kassa.store.client import aws
from kassa.store.ledger_store import LedgerStore
from kassa.store.reconcile_store import ReconcileStore

AUDIT = "audit"
REPORT = "report"
FULL, INCREMENTAL = "full", "incremental"
STALE_REFUND_PREFIX = "stale-refund-"
# Lambda's longest invocation is 15 minutes: a run claimed longer ago than that is not running any more.
RUN_LEASE = timedelta(minutes=15)
# Dead runs are looked for this far back (the schedule comes every hour, so each is seen many times).
RECLAIM_WINDOW = timedelta(days=1)
# The incremental walk stops while this much of its invocation is left, to record what it did.
WALK_MARGIN_SECONDS = 30.0
WALK_SECONDS = 24 * 3600.0  # outside Lambda (the CLI, tests): no limit worth the name
# In an invocation, a part of a full audit walks about this long (and has as long again to record what it
# found). Runs are started by the stream consumer, and the records behind a run in its shard wait while a
# part runs: short parts keep that wait under the stream's iterator-age alarm (60 s), the backlog is
# verified between parts.
FULL_AUDIT_PART_SECONDS = 20.0


def _run_id(at: datetime) -> str:
    # To the microsecond: ids sort as the runs were started (the runs listing is newest first), even two
    # started in one second, such as the hourly audit and one asked for.
    return f"{at:%Y%m%dT%H%M%S%f}"


def start_run(
    operator_id: str,
    kind: str,
    s3_key: str | None = None,
    store: ReconcileStore | None = None,
    mode: str = FULL,
    actor: Actor = audit_log.RECONCILIATION,
    request_id: str | None = None,
) -> str:
    """Record a pending run, with the audit record of who started it in the same transaction."""
    if kind == REPORT and not (s3_key or "").startswith(f"{operator_id}/"):
        # Operators are tenants: a report is read only from under the operator's own prefix.
        raise errors.InvalidRequest(f"s3Key must be under the operator's prefix {operator_id}/")
    run_id = f"{_run_id(datetime.now(UTC))}-{secrets.token_hex(4)}"
    run = {"runId": run_id, "type": kind, "status": "pending", "createdAt": now_iso(), "s3Key": s3_key}
    if kind == AUDIT:
        run["mode"] = mode
    details = {name: value for name, value in run.items() if name in ("type", "mode", "s3Key") and value}
    started = audit_log.RECONCILIATION_STARTED
    record = AuditRecord(operator_id, started, actor, {"runId": run_id}, details, request_id, at=run["createdAt"])
    (store or ReconcileStore()).start_run(operator_id, run_id, run, record)
    return run_id


def execute(
    operator_id: str, run_id: str, store: ReconcileStore | None = None, walk_seconds: float = WALK_SECONDS
) -> dict[str, Any] | None:
    """Run a pending run to completion; a run already claimed (a redelivery) is left alone. An incremental
    audit walks ``walk_seconds`` at most (cut to what the invocation has left)."""
    store = store or ReconcileStore()
    run = store.get_run(operator_id, run_id)
    if run is None or not store.claim_run(operator_id, run_id, now_iso(), iso_ago(RUN_LEASE)):
        return None
    full_audit = _is_full_audit(run)
    walked_before = (run.get("walk") or {}) if full_audit else {}
    resumed_after = walked_before.get("resumeAfter")
    try:
        if run["type"] == REPORT:
            found = match_report(operator_id, run["s3Key"], store)
        elif run.get("mode") == INCREMENTAL:
            found, run["walk"] = audit_incrementally(operator_id, store, seconds=walk_seconds)
        else:
            found, walk = audit_operator(operator_id, store, after=resumed_after, seconds=_part_seconds())
            run["walk"] = {**walk, "wallets": walked_before.get("wallets", 0) + walk["wallets"]}
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
    if resumed_after is not None:  # the counts of the parts audited before
        counts = dict(Counter(run.get("counts") or {}) + Counter(counts))
    if status == "completed" and full_audit and not run["walk"]["complete"]:
        return _continue_later(operator_id, {**run, "counts": counts}, store)
    run = {**run, "status": status, "completedAt": now, "counts": counts, "error": error}
    reported = [f.as_dict() for f in found] if resumed_after is None else store.run_findings(operator_id, run_id)
    try:
        run["resultsKey"] = _write_results(operator_id, run, reported)
    except Exception:  # the run's outcome is in the table either way; it must not stay "running"
        logger.exception("run report not written", extra={"operatorId": operator_id, "runId": run_id})
        run["resultsKey"] = None
    store.put_run(operator_id, run_id, run)
    metrics.add_metric(name="ReconciliationRuns", unit="Count", value=1)
    logger.info("reconciliation run finished", extra={"operatorId": operator_id, "runId": run_id, "counts": counts})
    return run


def _is_full_audit(run: dict[str, Any]) -> bool:
    return bool(run["type"] == AUDIT and run.get("mode") != INCREMENTAL)


def _continue_later(operator_id: str, run: dict[str, Any], store: ReconcileStore) -> dict[str, Any]:
    """A full audit that ran out of its invocation's time goes back to pending, with where it stopped: the
    stream sees it pending again and starts another invocation, which goes on from there. Its findings so far
    are recorded under the run; its report is written when the last part is done."""
    run = {**run, "status": "pending"}
    store.put_run(operator_id, run["runId"], run)
    logger.info(
        "reconciliation run continues", extra={"operatorId": operator_id, "runId": run["runId"], "walk": run["walk"]}
    )
    return run


def run_now(
    operator_id: str, kind: str, s3_key: str | None = None, actor: Actor = audit_log.RECONCILIATION
) -> dict[str, Any] | None:
    """Start and execute at once (the S3 trigger and the CLI, which are already asynchronous)."""
    store = ReconcileStore()
    return execute(operator_id, start_run(operator_id, kind, s3_key, store, actor=actor), store)


def scheduled_audits(operators: list[str]) -> list[dict[str, Any] | None]:
    """The hourly audit of every operator, each walk given an equal share of what the invocation has left
    when it starts: an operator late in the list is no longer left with whatever the ones before it did not
    spend (and one that finishes early leaves its time to those after it)."""
    done = []
    for index, operator_id in enumerate(operators):
        share = deadline.Budget.of(WALK_SECONDS).seconds / (len(operators) - index)
        done.append(scheduled_audit(operator_id, seconds=share))
    return done


def scheduled_audit(operator_id: str, seconds: float = WALK_SECONDS) -> dict[str, Any] | None:
    """The hourly audit of one operator (incremental, its walk ``seconds`` at most), then finish what died.
    The hour's own audit comes first: a dead full audit goes on from where it stopped and, out of time, in
    another invocation, so a run too long for one invocation never takes the hourly audit down with it."""
    store = ReconcileStore()
    run_id = start_run(operator_id, AUDIT, store=store, mode=INCREMENTAL)
    run = execute(operator_id, run_id, store, walk_seconds=seconds)
    reclaim_dead_runs(operator_id, store)
    return run


def reclaim_dead_runs(operator_id: str, store: ReconcileStore) -> None:
    """Finish the runs of the last day still "running" though claimed longer ago than any invocation lasts."""
    now = datetime.now(UTC)
    # A run's id starts with when it was made, which is before it was claimed.
    for run_id in store.dead_runs(operator_id, _run_id(now - RECLAIM_WINDOW), _run_id(now - RUN_LEASE)):
        logger.warning("reclaiming a run that died", extra={"operatorId": operator_id, "runId": run_id})
        execute(operator_id, run_id, store)


def _stale_before(policy: AuditPolicy) -> str:
    return iso_ago(timedelta(hours=policy.stale_bet_hours))


def _part_seconds() -> float:
    """What a full audit's part may walk: bounded in an invocation, the whole ledger outside one."""
    return 2 * FULL_AUDIT_PART_SECONDS if deadline.in_invocation() else WALK_SECONDS


def _walk(
    operator_id: str,
    store: ReconcileStore,
    after: str | None,
    audit: Callable[[str], list[Finding]],
    seconds: float = WALK_SECONDS,
    at_least_one: bool = False,
) -> tuple[list[Finding], dict[str, Any]]:
    """``audit`` each of the operator's wallets after ``after``, in order, as long as ``seconds`` (cut to
    what the invocation has left) allow, and one at least if ``at_least_one``; the walk says how many it
    audited, and where to go on if it stopped."""
    walk = Budget.of(seconds)
    # Left to record what the walk did: WALK_MARGIN_SECONDS, or half of a shorter budget (so a part, or a
    # function with a short timeout, still walks).
    margin = min(WALK_MARGIN_SECONDS, walk.seconds / 2)
    found: list[Finding] = []
    audited, last = 0, after
    for player in store.players(operator_id):
        if after is not None and player <= after:
            continue
        if (audited or not at_least_one) and walk.remaining() <= margin:
            return found, {"wallets": audited, "complete": False, "resumeAfter": last}
        found += audit(player)
        audited, last = audited + 1, player
    return found, {"wallets": audited, "complete": True}


def audit_incrementally(
    operator_id: str, store: ReconcileStore, seconds: float = WALK_SECONDS
) -> tuple[list[Finding], dict[str, Any]]:
    """Each wallet from its checkpoint, for ``seconds`` at most and as long as the invocation has time;
    where it stopped is kept."""
    policy = AuditPolicy.from_item(AccessStore().get_operator(operator_id))
    stale_before = _stale_before(policy)
    after = store.audit_cursor(operator_id)
    found, walk = _walk(
        operator_id,
        store,
        after,
        lambda player: _audit_from_checkpoint(operator_id, player, store, stale_before, policy),
        seconds,
    )
    if not walk["complete"]:
        store.save_audit_cursor(operator_id, walk["resumeAfter"])
    elif after is not None:
        store.save_audit_cursor(operator_id, None)
    return found, walk


def _audit_from_checkpoint(
    operator_id: str, player: str, store: ReconcileStore, stale_before: str, policy: AuditPolicy
) -> list[Finding]:
    wallet, checkpoint = store.wallet_and_checkpoint(operator_id, player)
    if wallet is None:
        return []
    start = checkpoint or GENESIS
    if start.version > wallet.version:  # the wallet went back past what was verified: start over
        start = GENESIS
    entries = store.entries_between(operator_id, player, start.version, wallet.version)
    found, reached = audit_from(wallet, entries, start)
    if not found and reached.version > start.version:
        store.save_checkpoint(operator_id, player, reached, now_iso())
    for bet_id, placed_at in sorted(reached.open_bets.items()):
        if placed_at < stale_before:
            bet = store.bet(operator_id, player, bet_id)
            if bet is not None and bet.state is BetState.OPEN:
                found.append(_stale(operator_id, player, bet, policy))
    return found


def audit_operator(
    operator_id: str, store: ReconcileStore, after: str | None = None, seconds: float = WALK_SECONDS
) -> tuple[list[Finding], dict[str, Any]]:
    """Every wallet after ``after`` from its first entry, for ``seconds`` at most (cut to the invocation's)."""
    policy = AuditPolicy.from_item(AccessStore().get_operator(operator_id))
    stale_before = _stale_before(policy)

    def audit(player: str) -> list[Finding]:
        wallet, applied, _, bets = store.partition(operator_id, player)
        if wallet is None:
            return []
        found = audit_wallet(wallet, applied)
        for bet in bets:
            if bet.state is BetState.OPEN and bet.created_at < stale_before:
                found.append(_stale(operator_id, player, bet, policy))
        return found

    # A part audits one wallet at least, whatever the time: a full audit always gets on, never goes back
    # to pending where it was and round the stream again.
    return _walk(operator_id, store, after, audit, seconds, at_least_one=True)


def _stale(operator_id: str, player_id: str, bet: Bet, policy: AuditPolicy) -> Finding:
    detail = f"open since {bet.created_at}"
    if policy.refund_stale_bets:
        # Through the ordinary cancel_bet path, with a transaction id derived from the bet: a second
        # audit (or a retried one) replays this refund instead of refunding twice.
        refund = MovementRequest(
            Action.REFUND,
            f"{STALE_REFUND_PREFIX}{bet.bet_id}",
            None,
            bet_id=bet.bet_id,
            origin=Origin(trace_id=trace_id(), protocol=SYSTEM),
            actor=audit_log.RECONCILIATION,
            audit_as=audit_log.STALE_BET_REFUNDED,
        )
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


def _write_results(operator_id: str, run: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    key = f"{operator_id}/{run['runId']}.json"
    report = {**run, "operatorId": operator_id, "findings": findings}
    aws("s3").put_object(
        Bucket=settings().results_bucket,
        Key=key,
        Body=json.dumps(report, indent=1).encode(),
        ContentType="application/json",
    )
    return key
