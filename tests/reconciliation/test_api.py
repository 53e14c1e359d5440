"""The reconciliation routes of the native API (admin scope), through the local gateway:

- ``POST /v1/reconciliations {"type": "audit"}`` answers 202 with the run's id; the run is ``pending``
  until the stream delivers its INSERT, then ``completed`` with counts per class and its findings;
- ``GET /v1/reconciliations/{runId}`` pages the findings (``limit``, ``nextCursor``); an unknown run is
  404 ``run_not_found``, as is another operator's run;
- ``GET /v1/wallets/{playerId}/audit`` verifies one wallet now;
- a key without the admin scope is refused (403 ``forbidden``).
And the hourly schedule's trigger audits every operator, each run leaving a full JSON report in S3.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from kassa import auth
from tests.reconciliation.conftest import OwnTable, Stream, Tenant, sort_triples, triples


def corrupt_balances(tenant: Tenant, players: list[str]) -> None:
    for player in players:
        tenant.set_attribute(tenant.wallet_key(player), "balance", {"N": "123"})


def test_an_audit_run_from_start_to_paginated_findings(tenant: Tenant, stream: Stream) -> None:
    players = [tenant.open_wallet() for _ in range(4)]
    for player in players:
        tenant.move(player, "deposit", "10")
    bad = players[:3]
    corrupt_balances(tenant, bad)
    stream.drain()

    started = tenant.api.post("/v1/reconciliations", {"type": "audit"})
    assert started.status == 202, started.body
    body = started.json()
    assert body["status"] == "pending" and body["runId"]
    run_id = body["runId"]
    pending = tenant.api.get(f"/v1/reconciliations/{run_id}")
    assert pending.status == 200, pending.body
    assert pending.json()["status"] == "pending"
    assert pending.json()["findings"] == [] and pending.json()["counts"] == {}

    stream.drain()

    whole = tenant.api.get(f"/v1/reconciliations/{run_id}").json()
    assert whole["status"] == "completed", whole
    assert whole["type"] == "audit" and whole["completedAt"]
    assert whole["counts"] == {"balance_mismatch": 3}
    want = sort_triples([("balance_mismatch", player, 1) for player in bad])
    assert triples(whole["findings"]) == want
    assert whole["nextCursor"] is None

    pages, cursor = [], None
    for _ in range(10):
        query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = tenant.api.get(f"/v1/reconciliations/{run_id}", query=query)
        assert page.status == 200, page.body
        pages.append(page.json()["findings"])
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert all(len(found) <= 1 for found in pages)
    assert [len(found) for found in pages][:3] == [1, 1, 1]
    assert triples([f for found in pages for f in found]) == want

    # Redelivering the run's INSERT (the session's pump already delivered it) does not run it again.
    again = tenant.api.get(f"/v1/reconciliations/{run_id}").json()
    assert again["completedAt"] == whole["completedAt"]


def test_a_cursor_of_another_run_is_refused(tenant: Tenant, stream: Stream) -> None:
    players = [tenant.open_wallet() for _ in range(2)]
    for player in players:
        tenant.move(player, "deposit", "1")
    corrupt_balances(tenant, players)
    run_ids = [tenant.api.post("/v1/reconciliations", {"type": "audit"}).json()["runId"] for _ in range(2)]
    stream.drain()
    cursor = tenant.api.get(f"/v1/reconciliations/{run_ids[0]}", query="limit=1").json()["nextCursor"]
    assert cursor
    refused = tenant.api.get(f"/v1/reconciliations/{run_ids[1]}", query=f"limit=1&cursor={cursor}")
    assert refused.status == 422, refused.body
    assert refused.json()["code"] == "invalid_request"
    garbage = tenant.api.get(f"/v1/reconciliations/{run_ids[1]}", query="cursor=not-a-cursor")
    assert garbage.status == 422, garbage.body


def test_an_unknown_run_is_404_run_not_found(tenant: Tenant) -> None:
    response = tenant.api.get("/v1/reconciliations/20260101T000000-deadbeef")
    assert response.status == 404, response.body
    assert response.json()["code"] == "run_not_found"


def test_another_operators_run_is_not_found(make_tenant: Any, stream: Stream) -> None:
    owner, other = make_tenant(), make_tenant()
    run_id = owner.api.post("/v1/reconciliations", {"type": "audit"}).json()["runId"]
    stream.drain()
    assert owner.api.get(f"/v1/reconciliations/{run_id}").status == 200
    response = other.api.get(f"/v1/reconciliations/{run_id}")
    assert response.status == 404, response.body
    assert response.json()["code"] == "run_not_found"


def test_the_wallet_audit_route(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "4", bet="b1")

    clean = tenant.api.get(f"/v1/wallets/{player}/audit")
    assert clean.status == 200, clean.body
    assert clean.json() == {"playerId": player, "consistent": True, "version": 2, "entries": 2, "findings": []}

    tenant.set_attribute(tenant.entry_key(player, *_deposit_id(tenant, player)), "hash", {"S": "e" * 64})
    broken = tenant.api.get(f"/v1/wallets/{player}/audit").json()
    assert broken["consistent"] is False
    assert triples(broken["findings"]) == [("entry_hash", player, 1)]

    missing = tenant.api.get("/v1/wallets/nobody-here/audit")
    assert missing.status == 404, missing.body
    assert missing.json()["code"] == "wallet_not_found"


def _deposit_id(tenant: Tenant, player: str) -> tuple[str, str]:
    entry = tenant.entry_at(player, 1)
    return entry["transactionId"]["S"], entry["action"]["S"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/reconciliations", {"type": "audit"}),
        ("GET", "/v1/reconciliations/20260101T000000-deadbeef", None),
        ("GET", "/v1/wallets/{player}/audit", None),
    ],
)
def test_a_key_without_admin_scope_is_forbidden(
    make_tenant: Any, method: str, path: str, body: dict[str, str] | None
) -> None:
    tenant: Tenant = make_tenant(scopes=(auth.READ, auth.WRITE, auth.SESSIONS))
    player = tenant.open_wallet()
    response = tenant.api.request(method, path.format(player=player), body)
    assert response.status == 403, response.body
    assert response.json()["code"] == "forbidden"


def test_no_credentials_is_401(gateway: Any) -> None:
    from tests.conftest import Api

    response = Api(gateway, None).post("/v1/reconciliations", {"type": "audit"})
    assert response.status == 401


@pytest.mark.parametrize("body", [{"type": "nonsense"}, {}, {"type": "audit", "extra": 1}])
def test_a_bad_run_request_is_422(tenant: Tenant, body: dict[str, Any]) -> None:
    response = tenant.api.post("/v1/reconciliations", body)
    assert response.status == 422, response.body
    assert response.json()["code"] == "invalid_request"


def test_the_hourly_schedule_audits_every_operator_and_stores_a_json_report(
    own_table: OwnTable, stack: Any, reconciliation: Any
) -> None:
    """On a table of its own: the schedule audits every operator of the table, so on the session's
    table it would audit every other test's operators too."""
    tenant, clean = own_table.tenant(), own_table.tenant()
    player, other = tenant.open_wallet(), tenant.open_wallet()
    for who in (player, other):
        tenant.move(who, "deposit", "10")
    clean.move(clean.open_wallet(), "deposit", "5")
    corrupt_balances(tenant, [player])

    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    for event in (scheduled, {"kassa": "audit"}):  # EventBridge's shape, and the template's Input
        results = reconciliation(event)

        by_operator = {run["resultsKey"].split("/", 1)[0]: run for run in results}
        assert sorted(by_operator) == sorted([tenant.operator_id, clean.operator_id]), results
        assert by_operator[clean.operator_id]["counts"] == {}
        run = by_operator[tenant.operator_id]
        assert run["status"] == "completed" and run["counts"] == {"balance_mismatch": 1}
        assert triples(tenant.run_findings(run["runId"])) == [("balance_mismatch", player, 1)]
        report = json.loads(
            stack.client("s3")
            .get_object(Bucket=os.environ["KASSA_RESULTS_BUCKET"], Key=run["resultsKey"])["Body"]
            .read()
        )
        assert report["operatorId"] == tenant.operator_id and report["runId"] == run["runId"]
        assert triples(report["findings"]) == [("balance_mismatch", player, 1)]
        got = tenant.api.get(f"/v1/reconciliations/{run['runId']}").json()
        assert got["status"] == "completed" and got["resultsKey"] == run["resultsKey"]
