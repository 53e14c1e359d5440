"""Issue 12 §2: an act and its audit record are one transaction. A fault between the act's read and its
commit leaves neither; a commit whose answer was lost leaves both, once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.faults.conftest import Faults, Raw, funded

DIED = RuntimeError("the process died between its read and its write")


def records(api: Api, action: str, player: str) -> list[dict[str, Any]]:
    page = api.get("/v1/audit-log", query=f"action={action}&limit=100").json()
    return [record for record in page["items"] if record["target"].get("playerId") == player]


def adjust(api: Api, player: str) -> Any:
    return api.move(player, "adjustment", "-1", transactionId="adj-1", reason="goodwill")


def lock(api: Api, player: str) -> Any:
    return api.post(f"/v1/wallets/{player}/lock", {"reason": "review"})


@pytest.mark.parametrize(("act", "action"), [(adjust, "adjustment_applied"), (lock, "wallet_locked")])
def test_a_crash_before_the_commit_leaves_neither_the_act_nor_its_record(
    api: Api, faults: Faults, raw: Raw, act: Any, action: str
) -> None:
    player = funded(api)
    before = raw.partition(player)
    crashed = faults.crash_before_send(DIED)
    response = act(api, player)
    faults.remove_all()
    assert crashed.count == 1 and response.status == 503, response.body
    assert raw.partition(player) == before  # no act
    assert records(api, action, player) == []  # no record


@pytest.mark.parametrize(("act", "action"), [(adjust, "adjustment_applied"), (lock, "wallet_locked")])
def test_a_refused_commit_leaves_neither(api: Api, faults: Faults, raw: Raw, act: Any, action: str) -> None:
    player = funded(api)
    before = raw.partition(player)
    refused = faults.fail_sends("ValidationError")
    response = act(api, player)
    faults.remove_all()
    assert refused.count >= 1 and response.status >= 500, response.body
    assert raw.partition(player) == before
    assert records(api, action, player) == []


@pytest.mark.parametrize(("act", "action"), [(adjust, "adjustment_applied"), (lock, "wallet_locked")])
def test_a_lost_answer_leaves_the_act_and_one_record(api: Api, faults: Faults, raw: Raw, act: Any, action: str) -> None:
    player = funded(api)
    lost = faults.lose_response_on_the_wire(times=1)
    response = act(api, player)
    faults.remove_all()
    assert lost.count == 1 and response.status in (200, 201), response.body
    assert len(records(api, action, player)) == 1
