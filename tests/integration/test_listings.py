"""What the console lists (issue 14 §1): an operator's wallets by player id prefix, its reconciliation
runs, and the stream verifier's findings; each paginated, scoped, and never another operator's."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from kassa import operators
from kassa.reconcile import runs
from kassa.reconcile.findings import Finding, Kind
from kassa.store.access_store import AccessStore
from kassa.store.reconcile_store import ReconcileStore
from kassa_dev.gateway import LocalGateway
from tests.conftest import Api, new_id


class Operator:
    def __init__(self, gateway: LocalGateway, scopes: list[str] | None = None) -> None:
        created = operators.create_operator(AccessStore(), new_id("lst"))
        self.operator_id = created.operator_id
        self.api = Api(gateway, created.api_key)
        self.gateway = gateway

    def keyed(self, *scopes: str) -> Api:
        response = self.api.post("/v1/keys", {"name": "narrow", "scopes": list(scopes)})
        assert response.status == 201, response.body
        return Api(self.gateway, response.json()["apiKey"])

    def pages(self, path: str, limit: int, **query: Any) -> list[list[dict[str, Any]]]:
        """Every page of a listing, following nextCursor to the end."""
        found, cursor = [], None
        while True:
            params = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = self.api.get(path, query=urlencode(params))
            assert response.status == 200, response.body
            page = response.json()
            found.append(page["items"])
            cursor = page["nextCursor"]
            if not cursor:
                return found


@pytest.fixture
def operator(gateway: LocalGateway) -> Operator:
    return Operator(gateway)


def test_wallets_are_listed_by_prefix_in_player_order_a_page_at_a_time(operator: Operator) -> None:
    for player in ["bob-2", "alice-1", "alice-3", "alice-2", "carol"]:
        operator.api.open_wallet(player=player, currency="EUR" if player != "alice-3" else "SEK")
    operator.api.move("alice-1", "deposit", "12.50")

    pages = operator.pages("/v1/wallets", limit=2, prefix="alice-")
    listed = [wallet for page in pages for wallet in page]
    assert [wallet["playerId"] for wallet in listed] == ["alice-1", "alice-2", "alice-3"]
    assert [len(page) for page in pages if page] == [2, 1]
    assert listed[0] == operator.api.get("/v1/wallets/alice-1").json()
    assert Decimal(listed[0]["balance"]) == Decimal("12.50") and listed[2]["currency"] == "SEK"

    everyone = [wallet["playerId"] for page in operator.pages("/v1/wallets", limit=100) for wallet in page]
    assert everyone == ["alice-1", "alice-2", "alice-3", "bob-2", "carol"]
    assert operator.pages("/v1/wallets", limit=10, prefix="zed") == [[]]


def test_another_operators_wallets_and_cursors_stay_out(operator: Operator, gateway: LocalGateway) -> None:
    other = Operator(gateway)
    other.api.open_wallet(player="alice-9")
    operator.api.open_wallet(player="alice-1")
    operator.api.open_wallet(player="alice-2")
    listed = [w["playerId"] for page in operator.pages("/v1/wallets", limit=10, prefix="alice") for w in page]
    assert listed == ["alice-1", "alice-2"]

    # A cursor of the other operator's listing (or a forged one) is refused, not followed.
    other.api.open_wallet(player="alice-8")
    theirs = other.api.get("/v1/wallets", query="limit=1").json()["nextCursor"]
    assert theirs
    for cursor in (theirs, "bm90LWpzb24", base64.urlsafe_b64encode(json.dumps({"pk": {"S": "x"}}).encode()).decode()):
        refused = operator.api.get("/v1/wallets", query=urlencode({"cursor": cursor}))
        assert refused.status == 422 and refused.json()["code"] == "invalid_request", refused.body


@pytest.mark.parametrize("query", ["prefix=a%20b", "prefix=" + "a" * 129, "limit=0", "limit=101", "limit=x"])
def test_bad_listing_filters_are_422(operator: Operator, query: str) -> None:
    response = operator.api.get("/v1/wallets", query=query)
    assert response.status == 422 and response.json()["code"] == "invalid_request", response.body


def test_reconciliation_runs_are_listed_newest_first(operator: Operator) -> None:
    started = [runs.start_run(operator.operator_id, "audit") for _ in range(3)]
    pages = operator.pages("/v1/reconciliations", limit=2)
    listed = [run["runId"] for page in pages for run in page]
    # Newest first: a run id starts with its creation time, to the microsecond.
    assert listed == list(reversed(started))
    first = pages[0][0]
    assert first["type"] == "audit" and first["status"] in ("pending", "running", "completed")
    assert "findings" not in first  # a run's findings are read from the run itself


def test_stream_findings_are_listed_with_when_they_were_found(operator: Operator) -> None:
    store = ReconcileStore()
    for version in (3, 4, 5):
        found = Finding(Kind.ENTRY_MISSING, "alice", version=version, detail=f"no entry at version {version}")
        assert store.record_finding(operator.operator_id, found, f"2026-12-07T10:00:0{version}Z")
    listed = [finding for page in operator.pages("/v1/findings", limit=2) for finding in page]
    assert sorted(f["version"] for f in listed) == [3, 4, 5]
    assert {f["kind"] for f in listed} == {"entry_missing"}
    assert listed[0]["foundAt"].startswith("2026-12-07T10:00:0")


@pytest.mark.parametrize(
    ("path", "scope"),
    [("/v1/wallets", "reconcile"), ("/v1/reconciliations", "wallets:read"), ("/v1/findings", "wallets:read")],
)
def test_each_listing_needs_its_scope(operator: Operator, path: str, scope: str) -> None:
    response = operator.keyed(scope).get(path)
    assert response.status == 403 and response.json()["code"] == "forbidden", response.body
