"""Issue 12's acceptance over real HTTP, as `make run` serves it (a threaded server in front of worker
processes, each with its own warm authorizer): delegation and its limits, a revoked parent's children
refused on their very next request in every worker, an expired key refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from kassa import operators
from kassa.store.access_store import AccessStore
from tests.conftest import new_id

WORKERS_SEEN = 8  # requests per check: enough to reach every worker of the pool (one per core)


class Http:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url, self.session = base_url, requests.Session()
        self.session.headers["authorization"] = f"Bearer {api_key}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", timeout=30)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(f"{self.base_url}{path}", json=body, timeout=30)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(f"{self.base_url}{path}", timeout=30)

    def new_key(self, **body: Any) -> tuple[str, Http]:
        made = self.post("/v1/keys", {"name": new_id("k"), **body})
        assert made.status_code == 201, made.text
        return made.json()["keyId"], Http(self.base_url, made.json()["apiKey"])

    def statuses(self, path: str) -> set[int]:
        return {self.get(path).status_code for _ in range(WORKERS_SEEN)}


def test_delegation_revocation_and_expiry_over_http(base_url: str) -> None:
    created = operators.create_operator(AccessStore(), new_id("http"))
    owner = Http(base_url, created.api_key)

    # Delegation down two levels, and no escalation.
    finance_id, finance = owner.new_key(scopes=["wallets:read", "audit:read", "keys:manage"])
    _, reader = finance.new_key(scopes=["wallets:read"])
    escalation = finance.post("/v1/keys", {"name": "more", "scopes": ["wallets:write"]})
    assert escalation.status_code == 403 and escalation.json()["code"] == "scope_escalation", escalation.text
    assert "wallets:write" in escalation.json()["detail"]

    # Every worker's authorizer has seen both keys (warm), then the parent is revoked.
    assert finance.statuses("/v1/audit-log") == {200}
    assert reader.statuses("/v1/wallets/nobody") == {404}
    assert owner.delete(f"/v1/keys/{finance_id}").status_code == 204
    assert finance.statuses("/v1/audit-log") == {403}
    assert reader.statuses("/v1/wallets/nobody") == {403}

    # A key that expires: working before the instant, refused after it.
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    _, short = owner.new_key(role="readonly", expiresAt=soon)
    assert short.statuses("/v1/wallets/nobody") == {404}
    time.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(UTC)).total_seconds()) + 0.1)
    assert short.statuses("/v1/wallets/nobody") == {403}
