"""Conflicts and throttles on the writes around the money: never reported as a business answer.

Before, a session open or an operator creation mapped every cancelled transaction to ``wallet_not_found``
/ One Wallet ``INVALID_PARAMETER`` or ``operator_exists``: a conflict with a movement in flight, or a
throttle, told the caller "this does not exist, do not retry". Now a conflict or throttle is tried again
within the budget, and a budget spent on them says "busy, retry" with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kassa import operators
from kassa.store.access_store import AccessStore
from tests.conftest import Api, new_id
from tests.faults.conftest import WRITE, Faults, OneWallet, funded

TRANSIENT = ["TransactionConflict", "ThrottlingException"]


@pytest.mark.parametrize("error", TRANSIENT)
def test_a_session_opened_through_conflicts_is_opened(api: Api, faults: Faults, error: str) -> None:
    player = funded(api)
    faults.fail_sends(error, times=2)
    opened = api.post("/v1/sessions", {"playerId": player})
    calls, _ = faults.stop()
    assert opened.status == 201, opened.body
    assert calls[WRITE] == 3, calls


@pytest.mark.parametrize("error", TRANSIENT)
def test_a_session_that_stays_refused_is_busy_not_unknown(
    api: Api, onewallet: OneWallet, faults: Faults, retry_budget: Callable[[int | None], None], error: str
) -> None:
    player = funded(api)
    retry_budget(100)
    faults.fail_sends(error)
    native = api.post("/v1/sessions", {"playerId": player})
    provider = onewallet.call("sid", {"userId": player, "currency": "EUR", "uuid": new_id("uuid"), "game": None})
    calls, _ = faults.stop()
    assert native.status == 503 and native.json()["code"] == "temporarily_unavailable", native.body
    assert provider["status"] == "TEMPORARY_ERROR", provider
    assert calls[WRITE] >= 2, calls  # it did try again
    # And an unknown wallet is still told apart: the wallet's condition is a business answer.
    unknown = api.post("/v1/sessions", {"playerId": new_id("nobody")})
    assert unknown.status == 404 and unknown.json()["code"] == "wallet_not_found", unknown.body


@pytest.mark.parametrize("error", TRANSIENT)
def test_an_operator_created_through_conflicts_is_created_once(api: Api, faults: Faults, error: str) -> None:
    operator_id = new_id("op")
    faults.fail_sends(error, times=2)
    created = operators.create_operator(AccessStore(), operator_id)
    calls, _ = faults.stop()
    assert calls[WRITE] == 3, calls
    assert Api(api.gateway, created.api_key).get("/v1/wallets/nobody").status == 404  # the key works
    # A second creation is the business answer, not a conflict.
    with pytest.raises(Exception, match="already exists"):
        operators.create_operator(AccessStore(), operator_id)


def test_an_operator_whose_creation_answer_was_lost_is_created_not_refused(api: Api, faults: Faults) -> None:
    """The first attempt committed, its answer was lost (a 500); the second finds its own items: success,
    and the key it shows is the key that was stored."""
    operator_id = new_id("op")
    faults.lose_response_on_the_wire(times=1)
    created = operators.create_operator(AccessStore(), operator_id)
    faults.stop()
    assert Api(api.gateway, created.api_key).get("/v1/wallets/nobody").status == 404
