"""Issue 13: anomaly rules on every commit, from the table's stream, through the real handler.

Each test is an operator of its own; the session's stream pump delivers what it committed to the
reconciliation function (which runs the rules), and the API reads what was found."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from kassa.store import keys
from tests.conftest import Api
from tests.reconciliation.conftest import Stream, Tenant

Batches = list[list[dict[str, Any]]]


@pytest.fixture
def delivered(stream: Stream) -> Any:
    """Every batch the stream pump hands the function during the test (to deliver them again)."""
    batches: Batches = []
    pump = stream.pump
    original = pump.invoke

    def keep(function_id: str, event: dict[str, Any]) -> Any:
        batches.append(event["Records"])
        return original(function_id, event)

    pump.invoke = keep
    yield batches
    pump.invoke = original


def anomalies(api: Api, **query: str) -> list[dict[str, Any]]:
    response = api.get("/v1/anomalies", query=urlencode({"limit": "100", **query}))
    assert response.status == 200, response.body
    page = response.json()
    assert page["nextCursor"] is None
    return page["items"]


def rules_of(api: Api) -> list[str]:
    return sorted(item["rule"] for item in anomalies(api))


def test_a_win_of_600_times_its_stake_is_one_large_win(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "1", tx="b1", bet="r1")
    tenant.move(player, "win", "600", tx="w1", bet="r1")
    tenant.move(player, "bet", "1", tx="b2", bet="r2")
    tenant.move(player, "win", "2", tx="w2", bet="r2")  # an ordinary win
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert (found["rule"], found["severity"], found["playerId"]) == ("large_win", "high", player)
    assert found["transactionIds"] == ["w1"]
    assert found["values"]["multiple"] == "600.00" and found["values"]["stake"] == "1.000000"
    assert tenant.api.get(f"/v1/anomalies/{found['anomalyId']}").json() == found


def test_130_movements_within_a_minute_are_one_velocity_anomaly(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    for i in range(130):
        tenant.move(player, "deposit", "1", tx=f"d{i}")
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert (found["rule"], found["severity"]) == ("velocity", "medium")
    # The 121st movement started the episode; the nine after it joined it.
    assert found["transactionIds"][0] == "d120" and set(found["transactionIds"]) == {f"d{i}" for i in range(120, 130)}


def test_a_deposit_withdrawn_with_no_play_is_flagged_and_one_played_through_is_not(
    tenant: Tenant, stream: Stream
) -> None:
    idle, player = tenant.open_wallet(), tenant.open_wallet()
    tenant.move(idle, "deposit", "100")
    tenant.move(idle, "withdrawal", "90", tx="cash-out")
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "10", tx="b1", bet="r1")  # 10% of the deposit wagered: enough
    tenant.move(player, "withdrawal", "90", tx="cash-out")
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert (found["rule"], found["playerId"], found["transactionIds"]) == (
        "deposit_withdraw_no_play",
        idle,
        ["cash-out"],
    )
    assert found["values"] == {"deposits": "100.000000", "wagered": "0.000000", "minWagerRatio": "0.1"}


def test_25_rejected_bets_within_a_minute_are_one_burst(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "1")
    for i in range(25):
        tenant.refused(player, "bet", "5", tx=f"r{i}", bet=f"round-{i}")
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert (found["rule"], found["severity"]) == ("rejection_burst", "medium")
    assert found["transactionIds"][0] == "r19" and len(found["transactionIds"]) == 6


def test_a_negative_balance_in_a_wallet_image_is_flagged(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "1")
    stream.drain()
    tenant.set_attribute(tenant.wallet_key(player), "balance", {"N": "-5000000"})  # what must never be
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert (found["rule"], found["severity"], found["values"]["balance"]) == ("negative_balance", "high", "-5.000000")


def test_redelivered_and_reordered_batches_create_nothing_new(
    tenant: Tenant, stream: Stream, delivered: Batches, reconciliation: Callable[[dict[str, Any]], Any]
) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "1", tx="b1", bet="r1")
    tenant.move(player, "win", "600", tx="w1", bet="r1")
    for i in range(125):
        tenant.move(player, "deposit", "1", tx=f"d{i}")
    stream.drain()
    first = anomalies(tenant.api)
    assert sorted(item["rule"] for item in first) == ["large_win", "velocity"]
    records = [record for batch in delivered for record in batch]
    reconciliation({"Records": records})  # delivered again
    reconciliation({"Records": list(reversed(records))})  # and in reverse order
    assert anomalies(tenant.api) == first


def test_a_threshold_changed_by_put_changes_what_fires_next(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "1", tx="b1", bet="r1")
    tenant.move(player, "win", "6", tx="w1", bet="r1")  # 6x: nothing by default
    stream.drain()
    assert anomalies(tenant.api) == []
    changed = tenant.api.request("PUT", "/v1/settings/anomaly-rules", {"largeWinMultiple": 5})
    assert changed.status == 200, changed.body
    assert changed.json()["largeWinMultiple"] == 5 and changed.json()["largeWinAmount"] == "10000"
    tenant.move(player, "bet", "1", tx="b2", bet="r2")
    tenant.move(player, "win", "6", tx="w2", bet="r2")
    stream.drain()
    (found,) = anomalies(tenant.api)
    assert found["transactionIds"] == ["w2"]  # the earlier win is not judged again by the new rule
    settings = tenant.api.get("/v1/settings/anomaly-rules").json()
    assert settings == {
        "largeWinAmount": "10000",
        "largeWinMultiple": 5,
        "maxMovementsPerMinute": 120,
        "minWagerRatio": "0.1",
        "maxRejectionsPerMinute": 20,
    }
    (change,) = tenant.api.get("/v1/audit-log", query="action=settings_changed").json()["items"]
    assert change["details"]["anomalyRules"]["after"]["largeWinMultiple"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"largeWinMultiple": 0},
        {"largeWinMultiple": -3},
        {"largeWinMultiple": 2.5},
        {"largeWinMultiple": "5"},
        {"largeWinMultiple": True},
        {"maxMovementsPerMinute": 0},
        {"minWagerRatio": 1.5},
        {"minWagerRatio": -0.1},
        {"minWagerRatio": "NaN"},
        {"largeWinAmount": 100},
        {"largeWinAmount": "0"},
        {"largeWinAmount": "-5"},
        {"largeWinAmount": "1.0000001"},
        {"largeWinAmount": "1e3"},
        {"surprise": 1},
    ],
)
def test_invalid_thresholds_are_422_naming_the_field_and_change_nothing(tenant: Tenant, body: dict[str, Any]) -> None:
    refused = tenant.api.request("PUT", "/v1/settings/anomaly-rules", body)
    assert refused.status == 422, refused.body
    assert refused.json()["code"] == "invalid_request"
    assert next(iter(body)) in refused.json()["detail"]
    assert tenant.api.get("/v1/settings/anomaly-rules").json()["largeWinMultiple"] == 500


def test_filters_ids_and_operators(tenant: Tenant, stream: Stream, make_tenant: Callable[..., Tenant]) -> None:
    a, b = tenant.open_wallet(), tenant.open_wallet()
    for player in (a, b):
        tenant.move(player, "deposit", "100")
        tenant.move(player, "withdrawal", "100")
    stream.drain()
    assert [item["playerId"] for item in anomalies(tenant.api, playerId=a)] == [a]
    assert len(anomalies(tenant.api, rule="deposit_withdraw_no_play", severity="high")) == 2
    assert anomalies(tenant.api, rule="velocity") == []
    assert anomalies(tenant.api, since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
    some = anomalies(tenant.api)[0]["anomalyId"]
    other = make_tenant()
    assert other.api.get(f"/v1/anomalies/{some}").json()["code"] == "anomaly_not_found"
    assert tenant.api.get("/v1/anomalies/20261206T000000000000-0123456789abcdef").json()["code"] == (
        "anomaly_not_found"
    )
    for bad in ("rule=huge_loss", "severity=low", "since=yesterday", "limit=0", "cursor=x", "playerId=a%20b"):
        response = tenant.api.get("/v1/anomalies", query=bad)
        assert response.status == 422, (bad, response.body)


def test_reading_anomalies_needs_audit_read_and_thresholds_need_admin(
    make_tenant: Callable[..., Tenant], gateway: Any
) -> None:
    tenant = make_tenant()

    def key(**body: Any) -> Api:
        made = tenant.api.post("/v1/keys", {"name": "k", **body})
        return Api(gateway, made.json()["apiKey"])

    support, integration = key(role="support"), key(role="integration")
    assert support.get("/v1/anomalies").status == 200
    assert integration.get("/v1/anomalies").json()["code"] == "forbidden"
    assert support.get("/v1/settings/anomaly-rules").json()["code"] == "forbidden"
    assert support.request("PUT", "/v1/settings/anomaly-rules", {"largeWinMultiple": 5}).status == 403


def test_the_episode_item_lives_in_the_wallet_partition(tenant: Tenant, stream: Stream) -> None:
    player = tenant.open_wallet()
    for i in range(121):
        tenant.move(player, "deposit", "1", tx=f"d{i}")
    stream.drain()
    key = keys.anomaly_episodes(tenant.operator_id, player, "velocity")
    item = tenant.raw.get_item(TableName=tenant.table, Key=key, ConsistentRead=True)["Item"]
    assert item["pk"]["S"] == keys.wallet_pk(tenant.operator_id, player)


# The bank workload's size here (make test); docs/STRESS.md has a larger run's figures.
BANK = {"clients": 8, "operations": 600, "wallets": 8, "seed": 13}


def test_the_bank_workload_raises_no_false_positive(base_url: str, demo: Any, stream: Stream, stack: Any) -> None:
    """The bank workload (tests/bank) against the local stack over HTTP, then every rule over what it
    committed, at the default thresholds. Its mix is a robot's: it withdraws at random, often with little
    play since the previous withdrawal, and about one call in four is refused by design (far too large
    withdrawals, bets on tombstones), 20 in a minute on a wallet now and then. Every anomaly must be borne
    out by the table, and no other rule may fire at this size (about 75 calls per wallet)."""
    report, found = _bank_run(base_url, demo, stream, **BANK)
    assert {anomaly["rule"] for anomaly in found} <= {"deposit_withdraw_no_play", "rejection_burst"}
    for anomaly in found:
        if anomaly["rule"] == "rejection_burst":
            assert _a_minute_of_refusals(stack, anomaly) >= 20, anomaly
        else:
            assert _borne_out(anomaly, report.ledger[anomaly["playerId"]].entries), anomaly


# The ordinary mix (kassa_dev.bank_ordinary): players who play before they withdraw, at a player's pace
# (a wallet per 40 operations, so none sees 120 movements in a minute), settling only their own open bets.
# `make stress` runs it larger (KASSA_ORDINARY_OPERATIONS).
ORDINARY_OPERATIONS = int(os.environ.get("KASSA_ORDINARY_OPERATIONS") or 600)
ORDINARY = {
    "clients": 8 if ORDINARY_OPERATIONS <= 600 else 16,
    "operations": ORDINARY_OPERATIONS,
    "wallets": max(16, ORDINARY_OPERATIONS // 40),
    "seed": 17,
    "mix": "ordinary",
}


def test_the_bank_workloads_ordinary_mix_raises_none(base_url: str, demo: Any, stream: Stream) -> None:
    report, found = _bank_run(base_url, demo, stream, **ORDINARY)
    from kassa_dev.bank_ordinary import ORDINARY_KINDS

    assert report.by_kind.keys() <= {name for name, _ in ORDINARY_KINDS}
    applied = Counter(call.request.action for call in report.calls if call.outcome[0] == "new")
    assert applied["withdrawal"] >= 3 and applied["win"] > 0 and applied["refund"] > 0, applied
    assert found == []


def _bank_run(base_url: str, demo: Any, stream: Stream, **bank: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The bank workload over HTTP, its ledger checked, then the stream drained through the rules: the
    report and every anomaly raised on its wallets during the run."""
    from kassa.clock import now_iso
    from kassa.store.anomaly_store import AnomalyStore
    from kassa_dev.bank import run_bank

    started = now_iso()
    report = run_bank(base_url, demo.api_key, demo.onewallet_token, **bank)
    assert report.violations == []
    stream.drain()
    window = (started, now_iso())
    found: list[dict[str, Any]] = []
    for player in report.ledger:
        page, cursor = AnomalyStore().page("demo", window, {"playerId": player}, 100, None)
        assert cursor is None  # the whole run's window in one page: nothing unread
        found += page
    print({"operations": report.operations_done, "anomalies": [(a["rule"], a["values"]) for a in found]})
    return report, found


def _a_minute_of_refusals(stack: Any, anomaly: dict[str, Any]) -> int:
    """The wallet's recorded refusals in the minute up to the anomaly, read from the table itself."""
    from datetime import timedelta

    from kassa.clock import iso, parse_instant

    since = iso(parse_instant(anomaly["at"], "at") - timedelta(seconds=60))
    refused = 0
    for page in (
        stack.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=stack.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :tx)",
            FilterExpression="outcome = :rejected AND createdAt BETWEEN :since AND :at",
            ExpressionAttributeValues={
                ":pk": {"S": keys.wallet_pk("demo", anomaly["playerId"])},
                ":tx": {"S": "TX#"},
                ":rejected": {"S": "rejected"},
                ":since": {"S": since},
                ":at": {"S": anomaly["at"]},
            },
        )
    ):
        refused += page["Count"]
    return refused


def _borne_out(anomaly: dict[str, Any], entries: list[dict[str, Any]]) -> bool:
    """Whether the wallet's ledger says what the anomaly says: before its withdrawal, back to the previous
    one, these deposits and this little wagered."""
    from decimal import Decimal

    history = sorted((e for e in entries if e["status"] == "applied"), key=lambda e: e["version"])
    (withdrawal,) = [e for e in history if e["transactionId"] == anomaly["transactionIds"][0]]
    deposited = wagered = Decimal(0)
    for entry in reversed(history[: history.index(withdrawal)]):
        if entry["type"] == "withdrawal":
            break
        if entry["type"] == "deposit":
            deposited += Decimal(entry["amount"])
        elif entry["type"] == "bet":
            wagered += Decimal(entry["amount"])
    values = anomaly["values"]
    return (
        Decimal(values["deposits"]) == deposited
        and Decimal(values["wagered"]) == wagered
        and wagered < Decimal("0.1") * deposited
    )
