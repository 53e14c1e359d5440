"""Acceptance: "A crafted provider report with one record of each class yields exactly those findings."

The ledger of one wallet (EUR), today:

    v1  deposit 100            (not a game action: never expected in a provider's report)
    v2  bet   A  10  on bet a  -> reported debit A 10 EUR          : matched
    v3  bet   D   5  on bet d  -> reported debit D 6 EUR           : amount mismatch
    v4  win   E  20  on bet a  -> reported credit E 20 USD         : currency mismatch
    v5  win   C   7  on bet d  -> not reported                     : missing in the report
        bet   F 1000 on bet f  -> REJECTED (insufficient funds, recorded at version 5),
                                  reported debit F 1000 EUR        : status mismatch
        (nothing)              -> reported debit B 3 EUR           : missing in Kassa

The report goes to the provider-reports bucket under the operator's prefix (as CSV with One Wallet's
action names, and as JSON lines with Kassa's), the S3 trigger runs the match, and the run's counts and
findings are exactly one per class. The same through ``POST /v1/reconciliations {"type": "report"}``;
a key outside the operator's prefix is refused.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.reconciliation.conftest import Stream, Tenant, new_id, sort_triples, triples

CLASSES = (
    "matched",
    "missing_in_kassa",
    "missing_in_report",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def crafted_ledger(tenant: Tenant) -> tuple[str, list[dict[str, str]], list[Any]]:
    """The ledger above; answers (player, report records, expected (kind, player, version) findings)."""
    player = tenant.open_wallet("EUR")
    ids = {name: new_id(name) for name in "ABCDEF"}
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "10", tx=ids["A"], bet="a")
    tenant.move(player, "bet", "5", tx=ids["D"], bet="d")
    tenant.move(player, "win", "20", tx=ids["E"], bet="a")
    tenant.move(player, "win", "7", tx=ids["C"], bet="d")
    assert tenant.refused(player, "bet", "1000", tx=ids["F"], bet="f").code == "insufficient_funds"
    at = f"{today()}T12:00:00Z"
    records = [
        {"transactionId": ids["A"], "action": "debit", "userId": player, "amount": "10.00", "currency": "EUR"},
        {"transactionId": ids["D"], "action": "debit", "userId": player, "amount": "6", "currency": "EUR"},
        {"transactionId": ids["E"], "action": "credit", "userId": player, "amount": "20", "currency": "USD"},
        {"transactionId": ids["F"], "action": "debit", "userId": player, "amount": "1000", "currency": "EUR"},
        {"transactionId": ids["B"], "action": "debit", "userId": player, "amount": "3", "currency": "EUR"},
    ]
    records = [{**record, "time": at} for record in records]
    want = [
        ("matched", player, 2),
        ("amount_mismatch", player, 3),
        ("currency_mismatch", player, 4),
        ("missing_in_report", player, 5),
        ("status_mismatch", player, 5),
        ("missing_in_kassa", player, None),
    ]
    return player, records, sort_triples(want)


def as_csv(records: list[dict[str, str]]) -> bytes:
    fields = ["transactionId", "action", "userId", "amount", "currency", "time"]
    lines = [",".join(fields)] + [",".join(record[name] for name in fields) for record in records]
    return ("\n".join(lines) + "\n").encode()


KASSA_NAMES = {"debit": "bet", "credit": "win"}


def as_json_lines(records: list[dict[str, str]]) -> bytes:
    """JSON lines, with Kassa's action names and amounts as JSON numbers."""
    lines = []
    for record in records:
        fields = {**record, "action": KASSA_NAMES[record["action"]]}
        lines.append(json.dumps(fields).replace(f'"amount": "{record["amount"]}"', f'"amount": {record["amount"]}'))
    return ("\n".join(lines) + "\n").encode()


def upload(stack: Any, bucket: str, key: str, body: bytes) -> None:
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def single_run(results: list[Any], tenant: Tenant) -> dict[str, Any]:
    """The run the S3 trigger started for this tenant's upload (the pump answers every invocation)."""
    mine = [
        run
        for result in results
        for run in (result or [])
        if run and str(run.get("resultsKey", "")).startswith(f"{tenant.operator_id}/")
    ]
    assert len(mine) == 1, results
    return mine[0]


UTF8_BOM = b"\xef\xbb\xbf"  # what spreadsheet exports put before the header


def as_form(records: list[dict[str, str]], form: str) -> bytes:
    body = as_csv(records) if form.startswith("csv") else as_json_lines(records)
    if "crlf" in form:
        body = body.replace(b"\n", b"\r\n")
    return UTF8_BOM + body if "bom" in form else body


@pytest.mark.parametrize("form", ["csv", "jsonl", "csv-bom-crlf", "jsonl-bom"])
def test_a_report_with_one_record_of_each_class_yields_exactly_those_findings(
    tenant: Tenant, stack: Any, reports: Any, stream: Stream, provider_bucket: str, form: str
) -> None:
    _, records, want = crafted_ledger(tenant)
    body = as_form(records, form)
    key = f"{tenant.operator_id}/{today()}.{form}"
    upload(stack, provider_bucket, key, body)

    run = single_run(reports.pump_once(), tenant)

    assert run["status"] == "completed", run
    assert run["type"] == "report" and run["s3Key"] == key
    assert run["counts"] == dict.fromkeys(CLASSES, 1)
    found = tenant.run_findings(run["runId"])
    assert triples(found) == want, found
    stored = tenant.get_run(run["runId"])
    assert stored is not None and stored["status"] == "completed" and stored["counts"] == run["counts"]
    # The full JSON report in the results bucket says the same.
    report = json.loads(
        stack.client("s3").get_object(Bucket=os.environ["KASSA_RESULTS_BUCKET"], Key=run["resultsKey"])["Body"].read()
    )
    assert triples(report["findings"]) == want
    # Matching a report is not a ledger problem: the stream verifier has nothing to say.
    stream.drain()
    assert tenant.stream_findings() == []


def test_a_report_run_through_the_api(tenant: Tenant, stack: Any, stream: Stream, provider_bucket: str) -> None:
    _, records, want = crafted_ledger(tenant)
    # A key the S3 pump would also see is fine: this test drives the run through the API only.
    key = f"{tenant.operator_id}/api/{today()}.csv"
    upload(stack, provider_bucket, key, as_csv(records))

    started = tenant.api.post("/v1/reconciliations", {"type": "report", "s3Key": key})
    assert started.status == 202, started.body
    run_id = started.json()["runId"]
    stream.drain()  # the run starts when the stream delivers its INSERT

    answer = tenant.api.get(f"/v1/reconciliations/{run_id}")
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["status"] == "completed", body
    assert body["type"] == "report" and body["s3Key"] == key
    assert body["counts"] == dict.fromkeys(CLASSES, 1)
    assert triples(body["findings"]) == want
    assert body["nextCursor"] is None


@pytest.mark.parametrize(
    "key",
    ["other-operator/2026-11-25.csv", "{op}-evil/2026-11-25.csv", "{op}", "/{op}/2026-11-25.csv", "x/{op}/r.csv"],
)
def test_a_report_key_outside_the_operators_prefix_is_refused(tenant: Tenant, key: str) -> None:
    response = tenant.api.post("/v1/reconciliations", {"type": "report", "s3Key": key.format(op=tenant.operator_id)})
    assert response.status == 422, response.body
    assert response.json()["code"] == "invalid_request"


def test_a_report_run_needs_an_s3_key(tenant: Tenant) -> None:
    response = tenant.api.post("/v1/reconciliations", {"type": "report"})
    assert response.status == 422, response.body
    assert response.json()["code"] == "invalid_request"


def test_an_unreadable_report_fails_the_run_and_says_why(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str
) -> None:
    """A header without the fields is a report in another format. (A bad row is a finding of its own and
    the rest of the report is matched: tests/reconciliation/test_report_actions.py.)"""
    key = f"{tenant.operator_id}/{today()}-broken.csv"
    upload(stack, provider_bucket, key, b"transactionId,action,userId,currency,time\nt1,debit,p1,EUR,x\n")
    run = single_run(reports.pump_once(), tenant)
    assert run["status"] == "failed"
    assert run["error"] == "the report's header lacks amount", run
    assert tenant.run_findings(run["runId"]) == []


def test_a_report_that_is_not_utf8_fails_the_run_and_says_so(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str
) -> None:
    key = f"{tenant.operator_id}/{today()}-latin1.csv"
    at = f"{today()}T08:00:00Z"
    body = f"transactionId,action,userId,amount,currency,time\ntx-é,debit,joueur,1,EUR,{at}\n".encode("latin-1")
    upload(stack, provider_bucket, key, body)
    run = single_run(reports.pump_once(), tenant)
    assert run["status"] == "failed", run
    assert run["error"] == "the report is not UTF-8 text", run
    assert tenant.run_findings(run["runId"]) == []


def test_two_rejected_bets_the_provider_counts_are_two_status_mismatches(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str
) -> None:
    """Two refused bets in a row are both recorded at the wallet's version (1): each is a finding."""
    player = tenant.open_wallet("EUR")
    tenant.move(player, "deposit", "1")
    first, second = new_id("F1"), new_id("F2")
    assert tenant.refused(player, "bet", "50", tx=first, bet="f1").code == "insufficient_funds"
    assert tenant.refused(player, "bet", "60", tx=second, bet="f2").code == "insufficient_funds"
    at = f"{today()}T08:00:00Z"
    records = [
        {"transactionId": first, "action": "debit", "userId": player, "amount": "50", "currency": "EUR", "time": at},
        {"transactionId": second, "action": "debit", "userId": player, "amount": "60", "currency": "EUR", "time": at},
    ]
    upload(stack, provider_bucket, f"{tenant.operator_id}/{today()}-two.csv", as_csv(records))

    run = single_run(reports.pump_once(), tenant)

    assert run["counts"] == {"status_mismatch": 2}
    found = tenant.run_findings(run["runId"])
    assert sorted(f["transactionId"] for f in found) == sorted([first, second]), found


def test_a_report_run_on_a_key_with_no_object_fails_instead_of_staying_running(tenant: Tenant, stream: Stream) -> None:
    """The API accepts any key under the operator's prefix; if nothing is there, the run must end (failed,
    with a reason), as an unreadable report does, not stay ``running`` for ever."""
    key = f"{tenant.operator_id}/{today()}-never-uploaded.csv"
    started = tenant.api.post("/v1/reconciliations", {"type": "report", "s3Key": key})
    assert started.status == 202, started.body
    stream.drain()

    body = tenant.api.get(f"/v1/reconciliations/{started.json()['runId']}").json()
    assert body["status"] == "failed", body
    assert body["error"], body


@pytest.mark.parametrize("length", [300, 2_000, 20_000])
def test_a_report_with_ids_of_any_length_completes_and_keeps_them(
    tenant: Tenant, stack: Any, reports: Any, provider_bucket: str, length: int
) -> None:
    """A finding's key embeds the ids the provider sent; DynamoDB refuses a sort key over 1,024 bytes, which
    left the run ``running`` for ever. Long keys are hashed; the finding keeps the ids as they came."""
    at = f"{today()}T08:00:00Z"
    long_tx, long_user = "t" * length, "u" * length
    records = [
        {"transactionId": long_tx, "action": "debit", "userId": long_user, "amount": "1", "currency": "EUR", "time": at}
    ]
    upload(stack, provider_bucket, f"{tenant.operator_id}/{today()}-long-{length}.csv", as_csv(records))

    run = single_run(reports.pump_once(), tenant)

    assert run["status"] == "completed", run
    assert run["counts"] == {"missing_in_kassa": 1}
    (found,) = tenant.run_findings(run["runId"])
    assert (found["transactionId"], found["playerId"]) == (long_tx, long_user)
