"""Acceptance: "Stale-bet refunds are idempotent: running the audit twice refunds once."

An operator whose policy is ``AuditPolicy(stale_bet_hours=0, refund_stale_bets=True)``: every open bet is
stale as soon as the audit runs, and the audit refunds it through the ordinary cancel_bet path, under the
transaction id ``stale-refund-{betId}``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kassa.operators import AuditPolicy
from kassa.reconcile import runs
from kassa.store.reconcile_store import ReconcileStore
from tests.reconciliation.conftest import Stream, Tenant

REFUNDING = AuditPolicy(stale_bet_hours=0, refund_stale_bets=True)


def audit_run(tenant: Tenant) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run = runs.run_now(tenant.operator_id, runs.AUDIT)
    assert run is not None and run["status"] == "completed", run
    return run, tenant.run_findings(run["runId"])


def refunds(tenant: Tenant, player: str) -> list[dict[str, Any]]:
    return [e for e in tenant.applied_entries(player) if e["transactionId"]["S"].startswith("stale-refund-")]


def test_the_audit_refunds_a_stale_bet_once_however_often_it_runs(make_tenant: Any, stream: Stream) -> None:
    tenant: Tenant = make_tenant(audit=REFUNDING)
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100")
    tenant.move(player, "bet", "30", tx="bet-1", bet="round-1")
    assert tenant.balance_units(player) == 70_000_000
    time.sleep(0.002)  # "older than 0 hours": strictly before the audit's now

    first_run, first = audit_run(tenant)
    second_run, second = audit_run(tenant)

    assert [(f["kind"], f["playerId"], f["transactionId"]) for f in first] == [("stale_bet", player, "round-1")]
    assert "refunded" in first[0]["detail"], first
    assert first_run["counts"] == {"stale_bet": 1}
    assert second == [] and second_run["counts"] == {}
    (refund,) = refunds(tenant, player)
    assert refund["transactionId"]["S"] == "stale-refund-round-1"
    assert refund["action"]["S"] == "refund" and int(refund["amount"]["N"]) == 30_000_000
    assert tenant.balance_units(player) == 100_000_000
    # The refund is an ordinary ledger entry: it verifies, and the wallet audits clean.
    stream.drain()
    assert tenant.stream_findings() == []
    assert [f for f in tenant.audit() if f["kind"] != "stale_bet"] == []


def test_two_audits_at_once_still_refund_once(make_tenant: Any, stream: Stream) -> None:
    tenant: Tenant = make_tenant(audit=REFUNDING)
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "100")
    for n in range(3):
        tenant.move(player, "bet", "10", tx=f"bet-{n}", bet=f"round-{n}")
    time.sleep(0.002)

    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def audit() -> None:
        try:
            barrier.wait()
            runs.audit_operator(tenant.operator_id, ReconcileStore())
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=audit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(e["transactionId"]["S"] for e in refunds(tenant, player)) == [
        f"stale-refund-round-{n}" for n in range(3)
    ]
    assert tenant.balance_units(player) == 100_000_000
    assert runs.audit_operator(tenant.operator_id, ReconcileStore())[0] == []
    stream.drain()
    assert tenant.stream_findings() == []


def test_without_the_refund_policy_a_stale_bet_is_reported_every_time_and_left_open(
    make_tenant: Any, stream: Stream
) -> None:
    tenant: Tenant = make_tenant(audit=AuditPolicy(stale_bet_hours=0, refund_stale_bets=False))
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "4", bet="round-1")
    time.sleep(0.002)
    for _ in range(2):
        found = tenant.audit()
        assert [(f["kind"], f["playerId"], f["transactionId"]) for f in found] == [("stale_bet", player, "round-1")]
    assert refunds(tenant, player) == []
    assert tenant.balance_units(player) == 6_000_000


def test_a_fresh_bet_is_not_stale_under_the_default_policy(tenant: Tenant) -> None:
    player = tenant.open_wallet()
    tenant.move(player, "deposit", "10")
    tenant.move(player, "bet", "4", bet="round-1")
    assert tenant.audit() == []
