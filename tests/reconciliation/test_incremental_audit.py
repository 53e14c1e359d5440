"""The hourly audit is incremental (issue 11): each wallet from the checkpoint the last audit left, its
walk stops in time and goes on next hour, and a run whose invocation died is finished by the next one. A
full audit too long for one invocation goes on in the next."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kassa import deadline
from kassa.operators import AuditPolicy
from kassa.reconcile import runs
from kassa.store import keys
from kassa.store.reconcile_store import ReconcileStore
from kassa_dev.template import load_template
from tests.reconciliation.conftest import Stream, Tenant, triples


def scheduled(tenant: Tenant) -> tuple[dict[str, Any], list[tuple[str, str, int | None]]]:
    run = runs.scheduled_audit(tenant.operator_id)
    assert run is not None and run["status"] == "completed" and run["mode"] == runs.INCREMENTAL, run
    return run, triples(tenant.run_findings(run["runId"]))


def checkpoint_version(tenant: Tenant, player: str) -> int | None:
    item = tenant.raw.get_item(
        TableName=tenant.table, Key=keys.audit_checkpoint(tenant.operator_id, player), ConsistentRead=True
    ).get("Item")
    return int(item["version"]["N"]) if item else None


@pytest.fixture
def entry_reads() -> Iterator[list[str]]:
    """The wallet partitions whose entries this process queried (from the history index)."""
    from kassa.store.client import dynamodb

    read: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if params.get("IndexName") == keys.ENTRIES_BY_VERSION:
            read.append(params["ExpressionAttributeValues"][":pk"]["S"])

    events = dynamodb().meta.events
    events.register("before-parameter-build.dynamodb.Query", record, unique_id="test-entry-reads")
    yield read
    events.unregister("before-parameter-build.dynamodb.Query", record, unique_id="test-entry-reads")


def test_a_clean_ledger_is_checkpointed_and_only_new_entries_are_read_again(
    tenant: Tenant, entry_reads: list[str]
) -> None:
    quiet, busy = sorted([tenant.open_wallet(), tenant.open_wallet()])
    for player in (quiet, busy):
        tenant.move(player, "deposit", "50")
        tenant.move(player, "bet", "5", bet=f"{player}-b1")
        tenant.move(player, "win", "8", bet=f"{player}-b1")
    run, found = scheduled(tenant)
    assert found == [] and run["walk"] == {"wallets": 2, "complete": True}
    assert checkpoint_version(tenant, quiet) == checkpoint_version(tenant, busy) == 3
    pk = {player: keys.wallet_pk(tenant.operator_id, player) for player in (quiet, busy)}
    assert sorted(entry_reads) == sorted(pk.values())  # the first time: every wallet's entries

    entry_reads.clear()
    assert scheduled(tenant)[1] == []
    assert entry_reads == []  # nothing new: no entry is read
    tenant.move(busy, "withdrawal", "1")
    assert scheduled(tenant)[1] == []
    assert entry_reads == [pk[busy]]  # the busy wallet's new entry; the quiet wallet's history is not read
    assert checkpoint_version(tenant, busy) == 4 and checkpoint_version(tenant, quiet) == 3


def test_what_changed_after_the_checkpoint_is_found_and_the_checkpoint_stays(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "50")
    scheduled(tenant)
    tenant.move(player, "withdrawal", "10", tx="w-1")
    tenant.set_attribute(tenant.entry_key(player, "w-1", "withdrawal"), "amount", {"N": "-20000000"})
    tenant.set_attribute(tenant.wallet_key(player), "balance", {"N": "1"})
    expected = [
        ("balance_mismatch", player, 2),
        ("entry_arithmetic", player, 2),
        ("entry_hash", player, 2),
    ]
    assert scheduled(tenant)[1] == expected
    assert checkpoint_version(tenant, player) == 1  # not past what is wrong: the next run finds it again
    assert scheduled(tenant)[1] == expected


def test_a_deleted_new_entry_is_missing(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "50")
    scheduled(tenant)
    tenant.move(player, "withdrawal", "10", tx="w-1")
    tenant.move(player, "withdrawal", "10", tx="w-2")
    tenant.raw.delete_item(TableName=tenant.table, Key=tenant.entry_key(player, "w-1", "withdrawal"))
    assert ("entry_missing", player, 2) in scheduled(tenant)[1]


def test_stale_bets_are_found_from_the_checkpoint_and_refunded_once(make_tenant: Any) -> None:
    tenant: Tenant = make_tenant(audit=AuditPolicy(stale_bet_hours=0, refund_stale_bets=True))
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "30", bet="open-1")
    tenant.move(player, "bet", "10", bet="won-1")
    tenant.move(player, "win", "5", bet="won-1")
    time.sleep(0.002)  # "older than 0 hours": strictly before the audit's now
    assert scheduled(tenant)[1] == [("stale_bet", player, None)]
    assert tenant.balance_units(player) == 95_000_000  # 100 - 30 - 10 + 5, + 30 refunded
    assert scheduled(tenant)[1] == []  # the refund's entry closed it: nothing is refunded twice
    assert tenant.balance_units(player) == 95_000_000


class ScriptedBudget:
    """A walk's budget whose ``remaining`` follows a script (the n-th question gets the n-th answer, then
    the last again), and which records the seconds each walk was given."""

    script: tuple[float, ...] = (runs.WALK_SECONDS,)
    seconds = runs.WALK_SECONDS
    given: list[float]

    def __init__(self) -> None:
        self.asked = 0

    @classmethod
    def of(cls, seconds: float) -> ScriptedBudget:
        cls.given.append(seconds)
        return cls()

    def remaining(self) -> float:
        self.asked += 1
        return self.script[min(self.asked, len(self.script)) - 1]


def budget(*script: float, seconds: float = runs.WALK_SECONDS) -> type[ScriptedBudget]:
    return type("Scripted", (ScriptedBudget,), {"script": script, "seconds": seconds, "given": []})


NO_TIME_LEFT = budget(0.0, seconds=0.0)
# Time for one wallet: as if each invocation ran out after auditing one.
ONE_WALLET_PER_INVOCATION = budget(runs.WALK_SECONDS, 0.0)


class Context:
    """A Lambda context with ``seconds`` left."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return self.seconds * 1000


def funded_wallets(tenant: Tenant, count: int, amount: str = "5") -> list[str]:
    """``count`` new wallets, each with one deposit of ``amount``, in the order an audit walks them."""
    players = sorted(tenant.open_wallet() for _ in range(count))
    for player in players:
        tenant.move(player, "deposit", amount)
    return players


def test_a_walk_out_of_time_stops_and_the_next_goes_on_from_there(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    players = funded_wallets(tenant, 3)
    monkeypatch.setattr(runs, "Budget", NO_TIME_LEFT)
    run, _ = scheduled(tenant)
    assert run["walk"] == {"wallets": 0, "complete": False, "resumeAfter": None}
    monkeypatch.undo()

    ReconcileStore().save_audit_cursor(tenant.operator_id, players[0])  # as a walk stopped after the first
    run, _ = scheduled(tenant)
    assert run["walk"] == {"wallets": 2, "complete": True}
    assert [checkpoint_version(tenant, p) for p in players] == [None, 1, 1]
    assert ReconcileStore().audit_cursor(tenant.operator_id) is None
    run, _ = scheduled(tenant)  # a fresh walk: from the first wallet again
    assert run["walk"] == {"wallets": 3, "complete": True}


def test_a_run_that_died_is_finished_by_the_next_scheduled_audit(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "5")
    store = ReconcileStore()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    dead_id, alive_id = f"{an_hour_ago:%Y%m%dT%H%M%S}-dead0001", f"{an_hour_ago:%Y%m%dT%H%M%S}-alive001"
    for run_id in (dead_id, alive_id):
        pending = {"runId": run_id, "type": runs.AUDIT, "mode": runs.FULL, "status": "pending", "createdAt": "x"}
        store.put_run(tenant.operator_id, run_id, pending)
    long_ago = (an_hour_ago + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert store.claim_run(tenant.operator_id, dead_id, now=long_ago, dead_before="")
    just_now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert store.claim_run(tenant.operator_id, alive_id, now=just_now, dead_before="")
    # Claimed a minute ago is alive (an invocation may last 15): not claimed again.
    dead_before = (datetime.now(UTC) - runs.RUN_LEASE).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert not store.claim_run(tenant.operator_id, alive_id, now=just_now, dead_before=dead_before)

    scheduled(tenant)
    dead, alive = store.get_run(tenant.operator_id, dead_id), store.get_run(tenant.operator_id, alive_id)
    assert dead is not None and dead["status"] == "completed" and dead["counts"] == {}
    assert alive is not None and alive["status"] == "running"


def test_a_full_audit_too_long_for_one_invocation_goes_on_in_the_next(
    tenant: Tenant, stream: Stream, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    players = funded_wallets(tenant, 4, "10")
    for player in (players[0], players[3]):  # found in the first part and in the last
        tenant.set_attribute(tenant.wallet_key(player), "balance", {"N": "123"})
    stream.drain()
    monkeypatch.setattr(runs, "Budget", ONE_WALLET_PER_INVOCATION)

    started = tenant.api.post("/v1/reconciliations", {"type": "audit"})
    assert started.status == 202, started.body
    run_id = started.json()["runId"]
    stream.drain()  # each part puts the run back to pending; the stream starts the next

    run = tenant.api.get(f"/v1/reconciliations/{run_id}").json()
    assert run["status"] == "completed", run
    assert run["walk"] == {"wallets": 4, "complete": True}
    assert run["counts"] == {"balance_mismatch": 2}
    expected = [("balance_mismatch", players[0], 1), ("balance_mismatch", players[3], 1)]
    assert triples(tenant.run_findings(run_id)) == expected
    report = stack.client("s3").get_object(Bucket=os.environ["KASSA_RESULTS_BUCKET"], Key=run["resultsKey"])
    assert sorted(triples(json.loads(report["Body"].read())["findings"])) == expected


def test_the_hourly_audit_is_done_before_a_dead_run_is_taken_up(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[str] = []
    monkeypatch.setattr(runs, "reclaim_dead_runs", lambda operator_id, store: done.append("reclaim"))
    original = runs.audit_incrementally

    def incremental(operator_id: str, store: ReconcileStore, **walk: Any) -> Any:
        done.append("hourly")
        return original(operator_id, store, **walk)

    monkeypatch.setattr(runs, "audit_incrementally", incremental)
    scheduled(tenant)
    assert done == ["hourly", "reclaim"]


def test_each_operators_hourly_audit_gets_an_equal_share_of_the_invocation(
    make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One schedule invocation audits every operator in turn: each walk gets what is left divided by the
    operators still to go, so the last is not left with whatever the first did not spend."""
    tenants = [make_tenant() for _ in range(3)]
    for tenant in tenants:
        funded_wallets(tenant, 1)
    recorded = budget(runs.WALK_SECONDS)  # the walks take no time: the shares are a third, a half, all that is left
    monkeypatch.setattr(runs, "Budget", recorded)
    with deadline.invocation(Context(300)):
        done = runs.scheduled_audits([tenant.operator_id for tenant in tenants])
    assert [run and run["walk"] for run in done] == [{"wallets": 1, "complete": True}] * 3
    shares = [300 / 3, 300 / 2, 300]  # less the answer's margin and the time the test takes
    assert all(share - 5 < given <= share for share, given in zip(shares, recorded.given, strict=True)), recorded.given


@pytest.mark.parametrize("in_lambda", [True, False])
def test_in_an_invocation_a_full_audit_walks_in_short_parts(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, in_lambda: bool
) -> None:
    """The stream consumer starts runs, and the records behind a run in its shard wait while it runs: in an
    invocation a part walks about 20 s (and records what it found within the walk's margin), well inside the
    stream's iterator-age alarm; outside one (the CLI) the whole ledger at once."""
    funded_wallets(tenant, 1)
    recorded = budget()  # time enough for every wallet
    monkeypatch.setattr(runs, "Budget", recorded)
    run_id = runs.start_run(tenant.operator_id, runs.AUDIT)
    with deadline.invocation(Context(300) if in_lambda else None):  # the stream consumer's five minutes
        run = runs.execute(tenant.operator_id, run_id)
    assert run is not None and run["status"] == "completed", run
    part = 2 * runs.FULL_AUDIT_PART_SECONDS
    assert recorded.given == [part if in_lambda else runs.WALK_SECONDS]
    alarm = load_template()["Resources"]["StreamIteratorAgeAlarm"]["Properties"]
    assert alarm["MetricName"] == "IteratorAge" and part * 1000 < alarm["Threshold"]


def test_a_full_audit_part_gets_on_by_one_wallet_at_least_with_no_time_left(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else a part with no time would go back to pending where it was, and round the stream again."""
    players = funded_wallets(tenant, 2)
    monkeypatch.setattr(runs, "Budget", NO_TIME_LEFT)
    found, walk = runs.audit_operator(tenant.operator_id, ReconcileStore())
    assert found == [] and walk == {"wallets": 1, "complete": False, "resumeAfter": players[0]}
    found, walk = runs.audit_operator(tenant.operator_id, ReconcileStore(), after=players[0])
    assert found == [] and walk == {"wallets": 1, "complete": True}


def test_a_small_full_audit_finishes_in_one_part_of_a_short_invocation(tenant: Tenant) -> None:
    """What is left to record the walk scales down with a short invocation: a part still walks."""
    funded_wallets(tenant, 3)
    run_id = runs.start_run(tenant.operator_id, runs.AUDIT)
    with deadline.invocation(Context(10)):  # as a function with a short timeout has
        run = runs.execute(tenant.operator_id, run_id)
    assert run is not None and run["status"] == "completed", run
    assert run["walk"] == {"wallets": 3, "complete": True}
