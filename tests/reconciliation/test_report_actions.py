"""A provider report's rows are read one by one (issue "The first hour with Kassa", §1).

A row Kassa cannot read (an action that is not one of ``ACCEPTED_ACTIONS``, such as ``deposit``, an empty or
misspelled one, a missing field, an amount or a time that is not one, a JSON line that is not an object)
becomes one ``invalid_record`` finding naming its line, its transaction id and the action it gave; every
other row of the report is matched as usual and the run completes. Only a report unreadable as a whole (a
CSV header without the fields) fails the run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kassa import errors
from kassa.domain.model import Action
from kassa.reconcile.findings import Finding, Kind
from kassa.reconcile.report import ACCEPTED_ACTIONS, FIELDS, ReportRecord, parse_report
from kassa.store import keys
from tests.reconciliation.conftest import Tenant, new_id
from tests.reconciliation.test_provider_report import as_csv, single_run, today, upload

HEADER = ",".join(FIELDS)
AT = "2026-03-01T12:00:00Z"


def csv_report(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def only_finding(text: str) -> Finding:
    (row,) = parse_report(text)
    assert isinstance(row, Finding), row
    return row


# --------------------------------------------------------------------------- rows, as parsed


@pytest.mark.parametrize("action", ["deposit", "debitt", "Deposit ", "bet;win"])
def test_an_unknown_action_is_a_finding_naming_the_line_the_transaction_the_action_and_the_accepted_ones(
    action: str,
) -> None:
    finding = only_finding(csv_report(f"tx-1,{action},alice,10,EUR,{AT}"))

    assert (finding.kind, finding.line, finding.transaction_id, finding.action) == (
        Kind.INVALID_RECORD,
        2,
        "tx-1",
        action,
    )
    assert finding.player_id == "alice"
    assert finding.detail.startswith(f"line 2: unknown action {action!r}"), finding.detail
    assert all(name in finding.detail for name in ACCEPTED_ACTIONS), finding.detail


def test_an_empty_action_is_a_finding_that_names_the_accepted_ones() -> None:
    finding = only_finding(csv_report(f"tx-1,,alice,10,EUR,{AT}"))
    assert (finding.kind, finding.line, finding.transaction_id, finding.action) == (
        Kind.INVALID_RECORD,
        2,
        "tx-1",
        None,
    )
    assert finding.detail.startswith("line 2: no action;"), finding.detail
    assert all(name in finding.detail for name in ACCEPTED_ACTIONS), finding.detail


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (f"tx-1,debit,,10,EUR,{AT}", "lacks userId"),
        (f"tx-1,debit,alice,,EUR,{AT}", "lacks amount"),
        ("tx-1,debit,alice,10,EUR", "lacks time"),
        (f",debit,alice,10,,{AT}", "lacks transactionId, currency"),
        (f"tx-1,debit,alice,ten,EUR,{AT}", "amount 'ten' is not a number"),
        (f"tx-1,debit,alice,NaN,EUR,{AT}", "amount 'NaN' is not a number"),
        ("tx-1,debit,alice,10,EUR,yesterday", "time 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_every_other_malformed_row_is_a_finding_of_the_same_kind(row: str, problem: str) -> None:
    finding = only_finding(csv_report(row))
    assert (finding.kind, finding.line, finding.detail) == (Kind.INVALID_RECORD, 2, f"line 2: {problem}")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ('["tx-1", "debit"]', "not a JSON object"),
        ('{"transactionId": "tx-1", "action": "bet"}', "lacks userId, amount, currency, time"),
    ],
)
def test_a_json_line_that_is_not_a_record_is_a_finding(line: str, problem: str) -> None:
    good = json.dumps(dict(zip(FIELDS, ["tx-0", "bet", "alice", "1", "EUR", AT], strict=True)))
    first, second = parse_report(f"{good}\n\n{line}\n")
    assert isinstance(first, ReportRecord), first
    assert isinstance(second, Finding) and second.line == 3, second
    assert second.detail == f"line 3: {problem}"


def test_line_numbers_are_the_files_own_header_and_blank_lines_included() -> None:
    text = "\n\n" + csv_report(f"tx-1,debit,alice,1,EUR,{AT}", f"tx-2,deposit,alice,1,EUR,{AT}")
    first, second = parse_report(text)
    assert isinstance(first, ReportRecord) and first.action is Action.BET
    assert isinstance(second, Finding) and second.line == 5, second


def test_every_accepted_name_in_any_case_is_read() -> None:
    rows = [f"tx-{name},{name.upper()},alice,1,EUR,{AT}" for name in ACCEPTED_ACTIONS]
    read = parse_report(csv_report(*rows))
    assert [row.action for row in read if isinstance(row, ReportRecord)] == list(ACCEPTED_ACTIONS.values())


def test_an_unreadable_rows_key_is_its_line_short_whatever_ids_it_carries() -> None:
    """Two bad rows may repeat one transaction id, and ids may be thousands of characters long: the key
    (the run finding's sort key) is the line's, never hashed, and the finding keeps the ids as they came."""
    long_tx = "t" * 5_000
    first, second = parse_report(csv_report(*[f"{long_tx},deposit,alice,1,EUR,{AT}"] * 2))
    assert isinstance(first, Finding) and isinstance(second, Finding)
    assert (first.key, second.key) == ("invalid_record#line:2", "invalid_record#line:3")
    assert keys.finding("pk", first.key)["sk"]["S"] == "FINDING#invalid_record#line:2"
    assert first.transaction_id == long_tx and len(first.detail) < 200, first.detail
    assert first.as_dict()["line"] == 2


def test_a_header_without_the_fields_is_a_report_in_another_format() -> None:
    with pytest.raises(errors.InvalidRequest, match="header lacks amount"):
        parse_report(f"transactionId,action,userId,currency,time\ntx-1,debit,alice,EUR,{AT}\n")


# --------------------------------------------------------------------------- a run, end to end


def as_json_lines(records: list[dict[str, str]]) -> bytes:
    return ("\n".join(json.dumps(record) for record in records) + "\n").encode()


@pytest.mark.parametrize(("form", "first_line"), [("csv", 2), ("jsonl", 1)])
def test_a_deposit_row_among_valid_rows_is_one_finding_and_the_other_rows_are_reconciled(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str, form: str, first_line: int
) -> None:
    player = tenant.open_wallet("EUR")
    deposit, bet, win = new_id("dep"), new_id("bet"), new_id("win")
    tenant.move(player, "deposit", "100", tx=deposit)
    tenant.move(player, "bet", "10", tx=bet, bet="b")
    tenant.move(player, "win", "20", tx=win, bet="b")
    at = f"{today()}T12:00:00Z"
    rows = [(bet, "debit", "10"), (deposit, "deposit", "100"), (win, "credit", "20")]
    records = [
        {"transactionId": tx, "action": action, "userId": player, "amount": amount, "currency": "EUR", "time": at}
        for tx, action, amount in rows
    ]
    body = as_csv(records) if form == "csv" else as_json_lines(records)
    upload(stack, provider_bucket, f"{tenant.operator_id}/{today()}-deposit.{form}", body)

    run = single_run(reports.pump_once(), tenant)

    assert run["status"] == "completed", run
    assert run["counts"] == {"matched": 2, "invalid_record": 1}, run
    found = tenant.run_findings(run["runId"])
    (invalid,) = [f for f in found if f["kind"] == "invalid_record"]
    line = first_line + 1
    assert (invalid["line"], invalid["transactionId"], invalid["action"], invalid["playerId"]) == (
        line,
        deposit,
        "deposit",
        player,
    )
    assert invalid["detail"].startswith(f"line {line}: unknown action 'deposit'"), invalid
    assert all(name in invalid["detail"] for name in ACCEPTED_ACTIONS), invalid
    matched = sorted((f["transactionId"], f["version"]) for f in found if f["kind"] == "matched")
    assert matched == sorted([(bet, 2), (win, 3)])


def test_bad_rows_of_every_kind_are_each_a_finding_and_the_good_row_still_matches(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str
) -> None:
    player = tenant.open_wallet("EUR")
    tenant.move(player, "deposit", "100")
    bet = new_id("bet")
    tenant.move(player, "bet", "10", tx=bet, bet="b")
    at = f"{today()}T12:00:00Z"
    body = csv_report(
        f"{bet},debit,{player},10,EUR,{at}",
        f"x-1,deposit,{player},1,EUR,{at}",
        f"x-1,deposit,{player},1,EUR,{at}",  # the same ids again: a finding of its own line
        f"x-2,,{player},1,EUR,{at}",
        f"x-3,debit,{player},,EUR,{at}",
        f"x-4,debit,{player},ten,EUR,{at}",
        f"x-5,debit,{player},1,EUR,noon",
    )
    upload(stack, provider_bucket, f"{tenant.operator_id}/{today()}-bad-rows.csv", body.encode())

    run = single_run(reports.pump_once(), tenant)

    assert run["status"] == "completed", run
    assert run["counts"] == {"matched": 1, "invalid_record": 6}, run
    found = tenant.run_findings(run["runId"])
    assert sorted(f["line"] for f in found if f["kind"] == "invalid_record") == [3, 4, 5, 6, 7, 8]
    assert [f["transactionId"] for f in found if f["kind"] == "matched"] == [bet]


def test_a_report_whose_rows_are_all_unreadable_completes_with_their_findings_only(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str
) -> None:
    """No readable row, no period: nothing of the ledger is said to be missing from the report."""
    player = tenant.open_wallet("EUR")
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "10", bet="b")
    body = csv_report(f"x-1,deposit,{player},1,EUR,{today()}T12:00:00Z")
    upload(stack, provider_bucket, f"{tenant.operator_id}/{today()}-all-bad.csv", body.encode())

    run = single_run(reports.pump_once(), tenant)

    assert run["status"] == "completed", run
    assert run["counts"] == {"invalid_record": 1}, run


def test_the_readme_lists_every_accepted_action_and_no_other() -> None:
    """The provider report's documented action names are the parser's (ACCEPTED_ACTIONS)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| action | means |", 1)[1].split("\n\n", 1)[0]
    documented = {name for row in table.splitlines()[2:] for name in row.split("|")[1].replace("`", "").split(" or ")}
    assert {name.strip() for name in documented} == set(ACCEPTED_ACTIONS)
