"""Issue 12 §2: every privileged act leaves one audit record with the right actor, and
GET /v1/audit-log reads them newest first, filtered and paginated."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from kassa import operators
from kassa.clock import now_iso
from kassa.operators import AuditPolicy, SettingsChange
from kassa.reconcile import runs
from kassa.store.access_store import AccessStore
from kassa.store.audit_store import AuditStore
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import LocalStack
from tests.conftest import Api, new_id, pages_read
from tests.integration.test_cli_operators import kassa


class Operator:
    def __init__(self, gateway: LocalGateway, audit: AuditPolicy | None = None) -> None:
        created = operators.create_operator(AccessStore(), new_id("aud"), audit=audit)
        self.operator_id, self.key_id = created.operator_id, created.key_id
        self.api = Api(gateway, created.api_key)

    def log(self, **query: Any) -> list[dict[str, Any]]:
        """Every record the filters select, following the cursor to the end."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {**query, **({"cursor": cursor} if cursor else {})}
            response = self.api.get("/v1/audit-log", query=urlencode(params))
            assert response.status == 200, response.body
            page = response.json()
            items += page["items"]
            cursor = page["nextCursor"]
            if not cursor:
                return items

    def acts(self, action: str) -> list[dict[str, Any]]:
        return self.log(action=action)


@pytest.fixture
def operator(gateway: LocalGateway) -> Operator:
    return Operator(gateway)


def owner_actor(operator: Operator) -> dict[str, str]:
    return {"keyId": operator.key_id, "name": "owner"}


def test_lock_and_unlock_are_recorded_with_the_key_the_reason_and_the_request(operator: Operator) -> None:
    player = operator.api.open_wallet()
    locked = operator.api.post(f"/v1/wallets/{player}/lock", {"reason": "chargeback under review"})
    assert locked.status == 200 and locked.json()["status"] == "locked"
    assert operator.api.post(f"/v1/wallets/{player}/unlock").status == 200
    (lock,) = operator.acts("wallet_locked")
    assert lock["actor"] == owner_actor(operator)
    assert lock["target"] == {"playerId": player}
    assert lock["details"] == {"reason": "chargeback under review"}
    assert lock["requestId"]
    (unlock,) = operator.acts("wallet_unlocked")
    assert unlock["details"] == {} and unlock["at"] > lock["at"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"reason": ', 400),  # malformed JSON
        ('{"reason": 7}', 422),
        ('{"reason": ""}', 422),
        ('{"why": "x"}', 422),  # unknown field
        ('["reason"]', 400),
    ],
)
def test_a_bad_lock_body_locks_nothing_and_records_nothing(operator: Operator, body: str, status: int) -> None:
    player = operator.api.open_wallet()
    response = operator.api.request("POST", f"/v1/wallets/{player}/lock", raw=body.encode())
    assert response.status == status, response.body
    assert operator.api.get(f"/v1/wallets/{player}").json()["status"] == "active"
    assert operator.acts("wallet_locked") == []


def test_locking_an_unknown_wallet_records_nothing(operator: Operator) -> None:
    assert operator.api.post(f"/v1/wallets/{new_id('nobody')}/lock").json()["code"] == "wallet_not_found"
    assert operator.acts("wallet_locked") == []


def test_an_applied_adjustment_is_recorded_once_and_a_rejected_one_not_at_all(operator: Operator) -> None:
    player = operator.api.open_wallet()
    operator.api.move(player, "deposit", "10")
    for _ in range(2):  # the replay records nothing new
        applied = operator.api.move(player, "adjustment", "-2.50", transactionId="adj-1", reason="goodwill")
        assert applied.status in (200, 201), applied.body
    refused = operator.api.move(player, "adjustment", "-100", transactionId="adj-2", reason="too much")
    assert refused.json()["code"] == "insufficient_funds"
    (record,) = operator.acts("adjustment_applied")
    assert record["actor"] == owner_actor(operator)
    assert record["target"] == {"playerId": player}
    details = record["details"]
    assert (details["transactionId"], details["amount"], details["currency"], details["reason"]) == (
        "adj-1",
        "-2.500000",
        "EUR",
        "goodwill",
    )


def test_reconciliation_starts_are_recorded_with_whoever_started_them(operator: Operator, stack: LocalStack) -> None:
    started = operator.api.post("/v1/reconciliations", {"type": "audit"})
    assert started.status == 202, started.body
    cli = kassa(stack, "reconcile", "audit", operator.operator_id)
    assert cli.returncode == 0, cli.stderr
    runs.scheduled_audit(operator.operator_id)
    records = operator.acts("reconciliation_started")
    actors = [record["actor"] for record in reversed(records)]  # oldest first
    assert actors[0] == owner_actor(operator)
    assert set(actors[1]) == {"cli"} and actors[1]["cli"]
    assert actors[2] == {"system": "ReconciliationFunction"}
    assert records[-1]["target"] == {"runId": started.json()["runId"]}
    assert [record["details"].get("mode") for record in reversed(records)] == ["full", "full", "incremental"]


def test_a_stale_bet_refunded_by_the_audit_is_recorded_as_kassas_own_act(gateway: LocalGateway) -> None:
    operator = Operator(gateway, AuditPolicy(stale_bet_hours=0, refund_stale_bets=True))
    player = operator.api.open_wallet()
    operator.api.move(player, "deposit", "10")
    operator.api.move(player, "bet", "4", transactionId="b-1", betId="round-1")
    time.sleep(0.002)  # strictly older than "0 hours" when the audit looks
    runs.scheduled_audit(operator.operator_id)
    runs.scheduled_audit(operator.operator_id)  # refunds nothing twice, records nothing twice
    (record,) = operator.acts("stale_bet_refunded")
    assert record["actor"] == {"system": "ReconciliationFunction"}
    assert record["target"] == {"playerId": player}
    assert record["details"]["betId"] == "round-1" and record["details"]["amount"] == "4.000000"


def test_cli_token_rotation_and_settings_changes_are_recorded_with_the_shell_user(
    operator: Operator, stack: LocalStack
) -> None:
    assert kassa(stack, "operators", "rotate-token", operator.operator_id).returncode == 0
    changed = kassa(
        stack, "operators", "settings", operator.operator_id, "--promo-balance", "bonus", "--stale-bet-hours", "24"
    )
    assert changed.returncode == 0, changed.stderr
    (rotation,) = operator.acts("onewallet_token_rotated")
    assert set(rotation["actor"]) == {"cli"}
    assert "kassa_ow_" not in json.dumps(rotation)  # never the secret
    (settings,) = operator.acts("settings_changed")
    assert settings["details"] == {
        "before": {"promoBalance": "cash", "staleBetHours": 72},
        "after": {"promoBalance": "bonus", "staleBetHours": 24},
    }
    assert operators.current_settings(AccessStore(), operator.operator_id) == {
        "promoBalance": "bonus",
        "staleBetHours": 24,
        "refundStaleBets": False,
    }


def test_keys_created_and_revoked_are_recorded_one_record_per_key_the_cascade_included(
    operator: Operator, gateway: LocalGateway, stack: LocalStack
) -> None:
    made = operator.api.post("/v1/keys", {"name": "support desk", "scopes": ["wallets:read", "keys:manage"]})
    assert made.status == 201, made.body
    manager = made.json()
    below = Api(gateway, manager["apiKey"]).post("/v1/keys", {"name": "night shift", "scopes": ["wallets:read"]})
    assert below.status == 201, below.body
    child = below.json()
    (by_child_creator, by_owner, _first) = operator.acts("key_created")  # newest first; the first is the owner's
    assert by_owner["actor"] == owner_actor(operator)
    assert by_owner["target"] == {"keyId": manager["keyId"]}
    assert sorted(by_owner["details"]["scopes"]) == ["keys:manage", "wallets:read"]
    assert by_owner["details"]["name"] == "support desk"
    assert by_child_creator["actor"] == {"keyId": manager["keyId"], "name": "support desk"}
    assert by_child_creator["details"]["scopes"] == ["wallets:read"]
    assert by_owner["requestId"] and by_owner["requestId"] != by_child_creator["requestId"]

    assert operator.api.request("DELETE", f"/v1/keys/{manager['keyId']}").status == 204
    revoked = {record["target"]["keyId"]: record for record in operator.acts("key_revoked")}
    assert revoked.keys() == {manager["keyId"], child["keyId"]}  # one record per key the cascade revoked
    assert {record["actor"]["keyId"] for record in revoked.values()} == {operator.key_id}
    assert revoked[child["keyId"]]["details"] == {"name": "night shift", "revokedWith": manager["keyId"]}
    assert revoked[manager["keyId"]]["details"] == {"name": "support desk"}
    assert len({record["requestId"] for record in revoked.values()}) == 1  # one request revoked both

    shell = kassa(
        stack, "keys", "create", operator.operator_id, "--name", "from a shell", "--role", "readonly", "--json"
    )
    assert shell.returncode == 0, shell.stderr
    shell_key = json.loads(shell.stdout)["keyId"]
    assert kassa(stack, "keys", "revoke", operator.operator_id, shell_key, "--yes").returncode == 0
    (created_in_shell,) = [r for r in operator.acts("key_created") if r["target"] == {"keyId": shell_key}]
    (revoked_in_shell,) = [r for r in operator.acts("key_revoked") if r["target"] == {"keyId": shell_key}]
    for record in (created_in_shell, revoked_in_shell):
        assert set(record["actor"]) == {"cli"} and record["actor"]["cli"]
        assert "kassa_" not in json.dumps(record)  # never the secret


def test_a_settings_change_must_name_a_valid_setting(operator: Operator) -> None:
    from kassa import errors

    for change in (SettingsChange(), SettingsChange(promo_balance="points"), SettingsChange(stale_bet_hours=0)):
        with pytest.raises(errors.InvalidRequest):
            operators.change_settings(AccessStore(), operator.operator_id, change)
    assert operator.acts("settings_changed") == []


def test_the_log_is_newest_first_and_pages_without_gaps_or_repeats(operator: Operator) -> None:
    player = operator.api.open_wallet()
    for i in range(7):
        operator.api.post(f"/v1/wallets/{player}/lock", {"reason": f"r{i}"})
    every = operator.log(limit=3)
    assert [record["action"] for record in every] == ["wallet_locked"] * 7 + ["key_created"]
    assert [record["details"].get("reason") for record in every[:7]] == [f"r{i}" for i in reversed(range(7))]
    assert len({record["eventId"] for record in every}) == 8
    first = operator.api.get("/v1/audit-log", query="limit=3").json()
    assert len(first["items"]) == 3 and first["nextCursor"]


def test_a_page_reads_only_the_records_it_shows(operator: Operator) -> None:
    """DynamoDB reads (and charges) a whole Query page, up to 1 MB of the day: a page of 3 asks for 3."""
    player = operator.api.open_wallet()
    for _ in range(7):
        operator.api.post(f"/v1/wallets/{player}/lock")
    store = AuditStore()
    read = pages_read(store)
    records, cursor = store.page(operator.operator_id, ("2000-01-01T00:00:00Z", now_iso()), None, 3, None)
    assert len(records) == 3 and cursor
    assert read == [(3, 3)]


def test_the_time_window_selects_by_instant(operator: Operator) -> None:
    player = operator.api.open_wallet()
    operator.api.post(f"/v1/wallets/{player}/lock")
    middle = now_iso()
    time.sleep(0.002)
    operator.api.post(f"/v1/wallets/{player}/unlock")
    assert [r["action"] for r in operator.log(since=middle)] == ["wallet_unlocked"]
    assert [r["action"] for r in operator.log(until=middle)] == ["wallet_locked", "key_created"]
    assert operator.log(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00+00:00") == []


@pytest.mark.parametrize(
    "params",
    [
        {"action": "wallet_exploded"},
        {"since": "yesterday"},
        {"since": "2026-12-01T00:00:00"},  # no time zone
        {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJkYXkiOiAiMTk5OS0wMS0wMSIsICJhZnRlciI6IG51bGx9"},  # a day outside the window
    ],
)
def test_bad_filters_are_422(operator: Operator, params: dict[str, str]) -> None:
    response = operator.api.get("/v1/audit-log", query=urlencode(params))
    assert response.status == 422, response.body
    assert response.json()["code"] == "invalid_request"


def test_reading_the_log_needs_audit_read(operator: Operator, gateway: LocalGateway) -> None:
    def key(**body: Any) -> Api:
        made = operator.api.post("/v1/keys", {"name": "k", **body})
        assert made.status == 201, made.body
        return Api(gateway, made.json()["apiKey"])

    assert key(role="integration").get("/v1/audit-log").json()["code"] == "forbidden"
    assert key(role="support").get("/v1/audit-log").status == 200
    assert key(scopes=["audit:read"]).get("/v1/audit-log").status == 200


def test_operators_never_see_each_others_records(operator: Operator, gateway: LocalGateway) -> None:
    other = Operator(gateway)
    player = other.api.open_wallet()
    other.api.post(f"/v1/wallets/{player}/lock")
    assert operator.acts("wallet_locked") == []
    assert len(other.acts("wallet_locked")) == 1
