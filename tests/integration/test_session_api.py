"""The native session routes' ttlSeconds: a whole number of seconds within bounds, however JSON spells it."""

from __future__ import annotations

import calendar
import time

import pytest

from kassa import sessions
from tests.conftest import Api


def expires_in(body: dict[str, str]) -> float:
    return calendar.timegm(time.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")) - time.time()


@pytest.mark.parametrize("spelled", ["600", "600.0", "6e2", "6.00E+2"])
def test_a_whole_number_of_seconds_is_accepted_however_json_spells_it(api: Api, spelled: str) -> None:
    player = api.open_wallet()
    raw = f'{{"playerId": "{player}", "ttlSeconds": {spelled}}}'.encode()
    response = api.request("POST", "/v1/sessions", raw=raw)
    assert response.status == 201, response.body
    assert 500 < expires_in(response.json()) <= 600


@pytest.mark.parametrize("body", [{}, {"ttlSeconds": None}], ids=["absent", "null"])
def test_without_ttl_the_session_lasts_the_default(api: Api, body: dict[str, None]) -> None:
    response = api.post("/v1/sessions", {"playerId": api.open_wallet(), **body})
    assert response.status == 201, response.body
    assert 3500 < expires_in(response.json()) <= 3600


@pytest.mark.parametrize(
    "spelled",
    [
        "600.5",  # not whole
        '"600"',  # a string
        "true",
        "1e999999999",  # whole, but far out of bounds: refused without building the integer
        str(sessions.MIN_TTL_SECONDS - 1),
        str(sessions.MAX_TTL_SECONDS + 1),
        "-600",
    ],
)
def test_anything_else_is_422_and_opens_no_session(api: Api, spelled: str) -> None:
    player = api.open_wallet()
    raw = f'{{"playerId": "{player}", "ttlSeconds": {spelled}}}'.encode()
    response = api.request("POST", "/v1/sessions", raw=raw)
    assert response.status == 422, response.body
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"][0]["field"] == "ttlSeconds", response.body
