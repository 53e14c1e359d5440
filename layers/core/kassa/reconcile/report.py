"""Provider report matching: every record of a provider's daily report, and every game entry of the
ledger in the report's period, classified once.

A report is CSV (header row) or JSON lines with: transactionId, action, userId, amount, currency, time.
Actions may use One Wallet's names (debit, credit, cancel, promo_payout) or Kassa's (bet, win, refund,
promo). Amounts are parsed exactly (never through float).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from kassa import errors
from kassa.domain.model import Action, Entry, Outcome, Wallet
from kassa.money import from_units
from kassa.reconcile.findings import Finding, Kind

ACTIONS = {
    "debit": Action.BET,
    "bet": Action.BET,
    "credit": Action.WIN,
    "win": Action.WIN,
    "cancel": Action.REFUND,
    "refund": Action.REFUND,
    "promo_payout": Action.PROMO,
    "promo": Action.PROMO,
}
GAME_ACTIONS = frozenset(ACTIONS.values())
FIELDS = ("transactionId", "action", "userId", "amount", "currency", "time")


@dataclass(frozen=True)
class ReportRecord:
    transaction_id: str
    action: Action
    user_id: str
    amount: Decimal
    currency: str
    time: datetime


def parse_report(text: str) -> list[ReportRecord]:
    stripped = text.lstrip()
    rows = (
        [json.loads(line, parse_float=Decimal) for line in stripped.splitlines() if line.strip()]
        if stripped.startswith("{")
        else list(csv.DictReader(io.StringIO(stripped)))
    )
    return [_record(row, number) for number, row in enumerate(rows, start=1)]


def _record(row: dict[str, object], number: int) -> ReportRecord:
    missing = [name for name in FIELDS if row.get(name) in (None, "")]
    if missing:
        raise errors.InvalidRequest(f"report record {number} lacks {', '.join(missing)}")
    try:
        amount = Decimal(str(row["amount"]))
        time = datetime.fromisoformat(str(row["time"]).replace("Z", "+00:00"))
    except (InvalidOperation, ValueError) as error:
        raise errors.InvalidRequest(f"report record {number}: {error}") from None
    action = ACTIONS.get(str(row["action"]).lower())
    if action is None or not amount.is_finite():
        raise errors.InvalidRequest(f"report record {number}: unknown action or amount")
    return ReportRecord(
        str(row["transactionId"]),
        action,
        str(row["userId"]),
        amount,
        str(row["currency"]),
        time if time.tzinfo else time.replace(tzinfo=UTC),
    )


def period(records: list[ReportRecord]) -> tuple[str, str]:
    """The whole days the report covers, as ledger timestamps [start, end)."""
    first = min(r.time for r in records).astimezone(UTC).date()
    last = max(r.time for r in records).astimezone(UTC).date() + timedelta(days=1)
    return f"{first.isoformat()}T00:00:00.000000Z", f"{last.isoformat()}T00:00:00.000000Z"


LedgerView = dict[tuple[str, str, Action], tuple[Entry, Wallet]]


def match(records: list[ReportRecord], ledger: LedgerView, start: str, end: str) -> list[Finding]:
    """``ledger`` maps (player, transaction id, action) to every decided entry of the operator's wallets."""
    found: list[Finding] = []
    reported = set()
    for record in records:
        key = (record.user_id, record.transaction_id, record.action)
        reported.add(key)
        found.append(_classify(record, ledger.get(key)))
    for (player, transaction_id, action), (entry, _) in sorted(ledger.items(), key=lambda kv: kv[0][:2]):
        in_period = start <= entry.created_at < end
        if in_period and entry.applied and action in GAME_ACTIONS and (player, transaction_id, action) not in reported:
            found.append(
                Finding(
                    Kind.MISSING_IN_REPORT,
                    player,
                    entry.version,
                    transaction_id,
                    action.value,
                    "in the ledger, not in the provider's report",
                )
            )
    return found


def _classify(record: ReportRecord, decided: tuple[Entry, Wallet] | None) -> Finding:
    where = {"player_id": record.user_id, "transaction_id": record.transaction_id, "action": record.action.value}
    if decided is None:
        return Finding(Kind.MISSING_IN_KASSA, **where, detail="in the report, not in the ledger")
    entry, wallet = decided
    if record.currency != wallet.currency:
        return Finding(
            Kind.CURRENCY_MISMATCH,
            version=entry.version,
            **where,
            detail=f"report {record.currency}, wallet {wallet.currency}",
        )
    if entry.outcome is not Outcome.APPLIED:
        return Finding(
            Kind.STATUS_MISMATCH,
            version=entry.version,
            **where,
            detail=f"the provider counts it; Kassa refused it ({entry.error_code})",
        )
    amount = from_units(abs(entry.amount), wallet.scale)
    if record.amount != amount:
        return Finding(
            Kind.AMOUNT_MISMATCH, version=entry.version, **where, detail=f"report {record.amount}, ledger {amount}"
        )
    return Finding(Kind.MATCHED, version=entry.version, **where)
