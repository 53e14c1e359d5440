"""Provider report matching: every row of a provider's daily report, and every game entry of the
ledger in the report's period, classified once.

A report is CSV (header row) or JSON lines with: transactionId, action, userId, amount, currency, time.
Actions are named as ``ACCEPTED_ACTIONS`` says. Amounts are parsed exactly (never through float).

A row that cannot be read (an unknown or missing action, a missing field, an amount or a time that is not
one) becomes an ``invalid_record`` finding naming its line, and every other row is matched as usual: one
bad row does not cost the provider's whole day. Only what is wrong with the report as a whole (not UTF-8,
a CSV header without the fields) fails the run.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TypeAlias

from kassa import errors
from kassa.domain.model import Action, Entry, Outcome, Wallet
from kassa.money import from_units
from kassa.reconcile.findings import Currency, Finding, Kind

# The action names a report may use (in any case), each with the ledger action it means: One Wallet's
# names and Kassa's own, for the four game actions. The README quotes this list; an unreadable row's
# finding names it.
ACCEPTED_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "debit": Action.BET,
        "bet": Action.BET,
        "credit": Action.WIN,
        "win": Action.WIN,
        "cancel": Action.REFUND,
        "refund": Action.REFUND,
        "promo_payout": Action.PROMO,
        "promo": Action.PROMO,
    }
)
GAME_ACTIONS = frozenset(ACCEPTED_ACTIONS.values())
FIELDS = ("transactionId", "action", "userId", "amount", "currency", "time")
# How much of a value an unreadable row's detail quotes (the finding keeps the ids and the action whole).
QUOTE_LIMIT = 40


class UnreadableRow(ValueError):
    """What is wrong with one row of a report, in words for its finding."""


@dataclass(frozen=True)
class ReportRecord:
    transaction_id: str
    action: Action
    user_id: str
    amount: Decimal
    currency: str
    time: datetime


# A row of a report: the record it holds, or the finding that it cannot be read.
ReportRow: TypeAlias = ReportRecord | Finding


def parse_report(text: str) -> list[ReportRow]:
    """Every row of the report, in order. Raises ``InvalidRequest`` only for a report unreadable as a whole."""
    rows = _json_lines(text) if text.lstrip().startswith("{") else _csv_rows(text)
    return [_row(line, source) for line, source in rows]


def _json_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that is not blank."""
    # split, not splitlines: a JSON string may hold U+2028, which splitlines() would take for a line end.
    for line, source in enumerate(text.split("\n"), start=1):
        if source.strip():
            yield line, source


def _csv_rows(text: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    """(line number, fields) of each row, the header being at line 1 after any blank lines before it."""
    stripped = text.lstrip()
    blank_lines_before = text[: len(text) - len(stripped)].count("\n")
    reader = csv.DictReader(io.StringIO(stripped))
    if reader.fieldnames is None:
        return  # an empty report
    lacking = [name for name in FIELDS if name not in reader.fieldnames]
    if lacking:
        # Every row would lack them: a report in another format, not a bad row.
        raise errors.InvalidRequest(f"the report's header lacks {', '.join(lacking)}")
    for fields in reader:
        # The line the row ends on: a quoted value may span lines.
        yield blank_lines_before + reader.line_num, fields


def _row(line: int, source: str | Mapping[str, object]) -> ReportRow:
    """The one place a row that cannot be read becomes its finding. ``source``: a CSV row's fields, or a
    JSON line's text."""
    fields: Mapping[str, object] = {}  # what the finding can name: nothing of a line that is not JSON
    try:
        fields = _json_object(source) if isinstance(source, str) else source
        return _record(fields)
    except UnreadableRow as problem:
        return Finding(
            Kind.INVALID_RECORD,
            player_id=_given(fields, "userId") or "",
            transaction_id=_given(fields, "transactionId"),
            action=_given(fields, "action"),
            detail=f"line {line}: {problem}",
            line=line,
        )


def _json_object(source: str) -> Mapping[str, object]:
    try:
        fields = json.loads(source, parse_float=Decimal)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        raise UnreadableRow("not JSON") from None
    if not isinstance(fields, dict):
        raise UnreadableRow("not a JSON object")
    return fields


def _record(fields: Mapping[str, object]) -> ReportRecord:
    action = _action(fields.get("action"))  # first: an empty action is answered with the accepted ones
    lacking = [name for name in FIELDS if _given(fields, name) is None]
    if lacking:
        raise UnreadableRow(f"lacks {', '.join(lacking)}")
    return ReportRecord(
        str(fields["transactionId"]),
        action,
        str(fields["userId"]),
        _amount(fields["amount"]),
        str(fields["currency"]),
        _time(fields["time"]),
    )


def _action(given: object) -> Action:
    action = ACCEPTED_ACTIONS.get(str(given).lower())
    if action is None:
        what = "no action" if given in (None, "") else f"unknown action {_quoted(given)}"
        raise UnreadableRow(f"{what}; the accepted actions are {', '.join(ACCEPTED_ACTIONS)}")
    return action


def _amount(given: object) -> Decimal:
    with suppress(InvalidOperation):
        amount = Decimal(str(given))
        if amount.is_finite():
            return amount
    raise UnreadableRow(f"amount {_quoted(given)} is not a number")


def _time(given: object) -> datetime:
    try:
        time = datetime.fromisoformat(str(given).replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableRow(f"time {_quoted(given)} is not an ISO 8601 time") from None
    return time if time.tzinfo else time.replace(tzinfo=UTC)


def _given(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    return None if value in (None, "") else str(value)


def _quoted(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT]}...")


def period(rows: Sequence[ReportRow]) -> tuple[str, str]:
    """The whole days the report's records cover, as ledger timestamps [start, end); an empty period when no
    row could be read (the report then says nothing about what the ledger holds)."""
    times = [row.time for row in rows if isinstance(row, ReportRecord)]
    if not times:
        return "", ""
    first = min(times).astimezone(UTC).date()
    last = max(times).astimezone(UTC).date() + timedelta(days=1)
    return f"{first.isoformat()}T00:00:00.000000Z", f"{last.isoformat()}T00:00:00.000000Z"


LedgerView = dict[tuple[str, str, Action], tuple[Entry, Wallet]]


def match(rows: Sequence[ReportRow], ledger: LedgerView, start: str, end: str) -> list[Finding]:
    """``ledger`` maps (player, transaction id, action) to every decided entry of the operator's wallets."""
    found: list[Finding] = []
    reported = set()
    for row in rows:
        if isinstance(row, Finding):  # a row that could not be read: its finding says why
            found.append(row)
            continue
        key = (row.user_id, row.transaction_id, row.action)
        reported.add(key)
        found.append(_classify(row, ledger.get(key)))
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
    if record.amount != from_units(abs(entry.amount), wallet.scale):
        # The report's amount as the provider wrote it: rounded to the wallet's scale, it could look equal.
        ledger_amount = Currency.of(wallet).amount(abs(entry.amount))
        detail = f"report {record.amount} {record.currency}, ledger {ledger_amount}"
        return Finding(Kind.AMOUNT_MISMATCH, version=entry.version, **where, detail=detail)
    return Finding(Kind.MATCHED, version=entry.version, **where)
