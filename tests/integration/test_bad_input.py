"""Bad input to the native API is refused with the documented status and code, and changes nothing.

Every case goes through the local gateway -> authorizer -> real handler -> embedded DynamoDB and checks

* the answer: the status, ``application/problem+json``, the stable ``code`` and a ``detail`` that names
  what is wrong (or, for a missing or refused credential, the gateway's own 401/403 body);
* that nothing changed: the wallet's balance, bonus, status, version and ``updatedAt`` are what they
  were just before the request, its history (``GET .../transactions``) has no new entry, and the
  refused transaction id left no record at all (not even a recorded rejection), so a corrected retry
  is free to succeed; a refused wallet creation opens no wallet.

The target wallets are opened once per module with real state (a deposit and an open bet; one of them
locked) so that a request that slipped through shows as a difference. To keep the suite fast, a
``Watched`` wallet remembers its last observed state: each test observes it once, right after its
request and before any assertion, and compares with what was observed before; the wallet is only
ever touched by these tests, one at a time.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kassa import apikeys, audit_log, auth, operators
from kassa.store.access_store import AccessStore
from kassa_dev import template
from kassa_dev.gateway import HttpResponse, LocalGateway
from kassa_dev.stack import DemoCredentials
from tests.conftest import Api, new_id

PROBLEM_JSON = "application/problem+json"
INVALID = (400, 422)  # the issue allows either status for invalid_request
TX = "@TX@"  # placeholder for a fresh id (transaction or player) in request bodies
OPEN_BET = "open-bet"  # a bet left open on every seeded wallet, so win/refund cases are meaningful
ONE_MB = 1024 * 1024


# =========================================================================== state: snapshot / unchanged


@dataclass(frozen=True)
class State:
    """What a refused request must leave untouched."""

    wallet: dict[str, Any]
    history: tuple[tuple[str, str, int], ...]


def snapshot(api: Api, player: str) -> State:
    wallet = api.get(f"/v1/wallets/{player}")
    assert wallet.status == 200, wallet.body
    body = wallet.json()
    kept = {key: body[key] for key in ("currency", "balance", "bonus", "status", "version", "updatedAt")}
    history = api.get(f"/v1/wallets/{player}/transactions", query="limit=100")
    assert history.status == 200, history.body
    page = history.json()
    assert page["nextCursor"] is None, "seeded wallets are small: one page holds their whole history"
    return State(kept, tuple((t["transactionId"], t["type"], t["version"]) for t in page["items"]))


@dataclass
class Watched:
    """A seeded wallet and the state it was last seen in."""

    api: Api  # a key that may read it
    player: str
    known: State = field(init=False)

    def __post_init__(self) -> None:
        self.known = snapshot(self.api, self.player)

    def observe(self) -> tuple[State, State]:
        """(the state before the test's request, the state now); call it right after the request."""
        before, self.known = self.known, snapshot(self.api, self.player)
        return before, self.known


def assert_unchanged(change: tuple[State, State]) -> None:
    before, after = change
    assert after.wallet == before.wallet, "the wallet changed"
    new = [entry for entry in after.history if entry not in before.history]
    assert not new, f"the history has new entries: {new}"
    assert after.history == before.history, "the history changed"


def assert_no_record(api: Api, player: str, transaction_id: str) -> None:
    """The refused id left nothing behind: no entry, no recorded rejection."""
    found = api.get(f"/v1/wallets/{player}/transactions/{transaction_id}")
    assert found.status == 404, ("the refused transaction id was recorded", found.status, found.body[:300])
    assert found.json()["code"] == "transaction_not_found"


def assert_no_wallet(api: Api, player: str) -> None:
    found = api.get(f"/v1/wallets/{player}")
    assert found.status == 404, ("a wallet was opened", found.status, found.body[:300])
    assert found.json()["code"] == "wallet_not_found"


# =========================================================================== answers


def assert_problem(
    response: HttpResponse, statuses: int | tuple[int, ...], code: str, mentions: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A problem+json answer with one of ``statuses``, ``code`` and a detail naming what is wrong."""
    allowed = (statuses,) if isinstance(statuses, int) else statuses
    assert response.status in allowed, (response.status, response.body[:500])
    assert response.headers.get("content-type", "").startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == response.status, body
    detail = body.get("detail")
    assert isinstance(detail, str) and detail.strip(), body
    if mentions:
        text = json.dumps(body).lower()  # the detail and the per-field errors that go with it
        assert any(word.lower() in text for word in mentions), (f"the problem names none of {mentions}", body)
    return body


def assert_gateway_message(response: HttpResponse, status: int, message: str) -> None:
    """The gateway's own answer, as AWS gives it (not problem+json: an HTTP API cannot change it)."""
    assert response.status == status, (response.status, response.body[:300])
    assert response.json() == {"message": message}


def with_id(value: Any, fresh: str) -> Any:
    """``value`` with every ``TX`` placeholder replaced by ``fresh`` (dicts, lists, strings, bytes)."""
    if isinstance(value, bytes):
        return value.replace(TX.encode(), fresh.encode())
    if isinstance(value, str):
        return value.replace(TX, fresh)
    if isinstance(value, dict):
        return {key: with_id(item, fresh) for key, item in value.items()}
    if isinstance(value, list):
        return [with_id(item, fresh) for item in value]
    return value


# =========================================================================== module fixtures


@dataclass
class Seeded:
    active: Watched
    locked: Watched
    deposit_id: str  # an applied transaction of the active wallet

    def target(self, name: str) -> Watched:
        return self.locked if name == "locked" else self.active


def _seed(api: Api, *, lock: bool) -> tuple[str, str]:
    player = api.open_wallet()
    deposit_id = new_id("seed")
    assert api.move(player, "deposit", "100", transactionId=deposit_id).status == 201
    assert api.move(player, "bet", "10", betId=OPEN_BET).status == 201
    if lock:
        assert api.post(f"/v1/wallets/{player}/lock").status == 200
    return player, deposit_id


def seed_wallets(api: Api) -> Seeded:
    active, deposit_id = _seed(api, lock=False)
    locked, _ = _seed(api, lock=True)
    return Seeded(Watched(api, active), Watched(api, locked), deposit_id)


@pytest.fixture(scope="module")
def admin(gateway: LocalGateway, demo: DemoCredentials) -> Api:
    """The demo operator (all scopes)."""
    return Api(gateway, demo.api_key)


@pytest.fixture(scope="module")
def seeded(admin: Api) -> Seeded:
    return seed_wallets(admin)


@pytest.fixture
def wallet(seeded: Seeded) -> Watched:
    """The active seeded wallet: every test leaves it exactly as it found it."""
    return seeded.active


@pytest.fixture(scope="module")
def other_operator(gateway: LocalGateway) -> Api:
    """A second tenant with all scopes."""
    return Api(gateway, operators.create_operator(AccessStore(), new_id("other")).api_key)


def post_transaction(
    api: Api, player: str, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    return api.request("POST", f"/v1/wallets/{player}/transactions", body, raw=raw, headers=headers)


def refused_movement(
    admin: Api,
    wallet: Watched,
    send: Callable[[str], HttpResponse],
    statuses: int | tuple[int, ...],
    code: str,
    mentions: tuple[str, ...] = (),
) -> None:
    """Send a movement (``send`` gets a fresh transaction id), expect a problem, and that nothing moved."""
    transaction_id = new_id("bad")
    response = send(transaction_id)
    change = wallet.observe()
    assert_problem(response, statuses, code, mentions)
    assert_unchanged(change)
    assert_no_record(admin, wallet.player, transaction_id)


def refused_wallet(
    admin: Api,
    send: Callable[[str], HttpResponse],
    statuses: int | tuple[int, ...],
    code: str,
    mentions: tuple[str, ...] = (),
) -> None:
    """Send a wallet creation (``send`` gets a fresh player id), expect a problem and no wallet."""
    player = new_id("p")
    response = send(player)
    assert_problem(response, statuses, code, mentions)
    assert_no_wallet(admin, player)


# =========================================================================== malformed JSON

VALID_DEPOSIT = b'{"transactionId": "@TX@", "type": "deposit", "amount": "1"}'
DEEP = b"[" * 5000 + b"]" * 5000

MALFORMED_TRANSACTION_BODIES = [
    pytest.param(VALID_DEPOSIT[:-1], id="truncated"),
    pytest.param(b"{", id="open-brace"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": "1",}', id="trailing-comma"),
    pytest.param(b"{'transactionId': '@TX@', 'type': 'deposit', 'amount': '1'}", id="single-quotes"),
    pytest.param(b'{transactionId: "@TX@", type: "deposit", amount: "1"}', id="unquoted-keys"),
    pytest.param(b"deposit 1 EUR please", id="plain-text"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"   \n", id="whitespace-only"),
    pytest.param(VALID_DEPOSIT + VALID_DEPOSIT, id="two-objects"),
    pytest.param(b"[" + VALID_DEPOSIT + b"]", id="json-array"),
    pytest.param(b'"deposit"', id="json-string"),
    pytest.param(b"10", id="json-number"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b"true", id="json-bool"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": NaN}', id="NaN-literal"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": Infinity}', id="Infinity-literal"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": -Infinity}', id="-Infinity-literal"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": "1", "x": NaN}', id="NaN-elsewhere"),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": 1e400}', id="overflowing-number"),
    pytest.param(
        b'{"transactionId": "@TX@", "type": "deposit", "amount": "1", "x": 1e1000000000000000000}',
        id="number-beyond-decimal-range",
    ),
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": "1", "x": "\\ud800"}', id="lone-surrogate"),
    # Bytes that are not UTF-8 cannot be JSON text (RFC 8259, section 8.1).
    pytest.param(b'{"transactionId": "@TX@", "type": "deposit", "amount": "1\xff"}', id="not-utf8"),
    # Nesting deeper than the parser allows: 10 kB, far below any size limit.
    pytest.param(
        b'{"transactionId": "@TX@", "type": "deposit", "amount": "1", "x": ' + DEEP + b"}", id="nested-5000-deep"
    ),
    # An integer literal longer than Python converts (4300 digits).
    pytest.param(
        b'{"transactionId": "@TX@", "type": "deposit", "amount": "1", "x": ' + b"9" * 5000 + b"}",
        id="5000-digit-integer",
    ),
]


@pytest.mark.parametrize("raw", MALFORMED_TRANSACTION_BODIES)
def test_malformed_transaction_body_is_invalid_request(admin: Api, wallet: Watched, raw: bytes) -> None:
    refused_movement(
        admin,
        wallet,
        lambda tx: post_transaction(admin, wallet.player, raw=with_id(raw, tx)),
        INVALID,
        "invalid_request",
    )


MALFORMED_WALLET_BODIES = [
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR"', id="truncated"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR",}', id="trailing-comma"),
    pytest.param(b"open a wallet", id="plain-text"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b'[{"playerId": "@TX@", "currency": "EUR"}]', id="json-array"),
    pytest.param(b'"@TX@"', id="json-string"),
    pytest.param(b"42", id="json-number"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR", "x": NaN}', id="NaN-literal"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR", "x": Infinity}', id="Infinity-literal"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR\xff"}', id="not-utf8"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR", "x": 1e1000000000000000000}', id="beyond-decimal-range"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR", "x": "\\udc00"}', id="lone-surrogate"),
    pytest.param(b'{"playerId": "@TX@", "currency": "EUR", "x": ' + DEEP + b"}", id="nested-5000-deep"),
]


@pytest.mark.parametrize("raw", MALFORMED_WALLET_BODIES)
def test_malformed_wallet_body_is_invalid_request(admin: Api, raw: bytes) -> None:
    refused_wallet(
        admin, lambda player: admin.request("POST", "/v1/wallets", raw=with_id(raw, player)), INVALID, "invalid_request"
    )


# =========================================================================== missing fields

MISSING_TRANSACTION_FIELDS = [
    # (body, the field the problem must name)
    pytest.param({"type": "deposit", "amount": "1"}, "transactionId", id="deposit-no-transactionId"),
    pytest.param({"transactionId": TX, "amount": "1"}, "type", id="deposit-no-type"),
    pytest.param({"transactionId": TX, "type": "deposit"}, "amount", id="deposit-no-amount"),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": None}, "amount", id="deposit-amount-null"),
    pytest.param({"type": "withdrawal", "amount": "1"}, "transactionId", id="withdrawal-no-transactionId"),
    pytest.param({"transactionId": TX, "type": "withdrawal"}, "amount", id="withdrawal-no-amount"),
    pytest.param({"type": "bet", "amount": "1", "betId": "b-new"}, "transactionId", id="bet-no-transactionId"),
    pytest.param({"transactionId": TX, "type": "bet", "betId": "b-new"}, "amount", id="bet-no-amount"),
    pytest.param({"transactionId": TX, "type": "bet", "amount": "1"}, "betId", id="bet-no-betId"),
    pytest.param({"transactionId": TX, "type": "bet", "amount": "1", "betId": None}, "betId", id="bet-betId-null"),
    pytest.param({"type": "win", "amount": "1", "betId": OPEN_BET}, "transactionId", id="win-no-transactionId"),
    pytest.param({"transactionId": TX, "type": "win", "betId": OPEN_BET}, "amount", id="win-no-amount"),
    pytest.param({"transactionId": TX, "type": "win", "amount": "1"}, "betId", id="win-no-betId"),
    pytest.param({"type": "refund", "betId": OPEN_BET}, "transactionId", id="refund-no-transactionId"),
    pytest.param({"transactionId": TX, "type": "refund"}, "betId", id="refund-no-betId"),
    pytest.param({"transactionId": TX, "type": "refund", "amount": "10"}, "betId", id="refund-amount-no-betId"),
    pytest.param({"transactionId": TX, "type": "adjustment", "amount": "5"}, "reason", id="adjustment-no-reason"),
    pytest.param({"transactionId": TX, "type": "adjustment", "reason": "x"}, "amount", id="adjustment-no-amount"),
    pytest.param({}, "transactionId", id="empty-object"),
]


@pytest.mark.parametrize(("body", "field_name"), MISSING_TRANSACTION_FIELDS)
def test_missing_transaction_field_is_invalid_request(
    admin: Api, wallet: Watched, body: dict[str, Any], field_name: str
) -> None:
    refused_movement(
        admin,
        wallet,
        lambda tx: post_transaction(admin, wallet.player, with_id(body, tx)),
        INVALID,
        "invalid_request",
        mentions=(field_name,),
    )


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        pytest.param({"currency": "EUR"}, "playerId", id="no-playerId"),
        pytest.param({"playerId": TX}, "currency", id="no-currency"),
        pytest.param({"playerId": TX, "currency": None}, "currency", id="currency-null"),
        pytest.param({"playerId": None, "currency": "EUR"}, "playerId", id="playerId-null"),
        pytest.param({}, "playerId", id="empty-object"),
    ],
)
def test_missing_wallet_field_is_invalid_request(admin: Api, body: dict[str, Any], field_name: str) -> None:
    refused_wallet(
        admin,
        lambda player: admin.post("/v1/wallets", with_id(body, player)),
        INVALID,
        "invalid_request",
        mentions=(field_name,),
    )


# =========================================================================== wrong types and values

WRONG_TRANSACTION_FIELDS = [
    # Amounts are decimal strings: a JSON number is refused, whatever its value.
    pytest.param({"transactionId": TX, "type": "deposit", "amount": 10}, "amount", id="amount-int"),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": 10.5}, "amount", id="amount-float"),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": 0.1}, "amount", id="amount-float-0.1"),
    pytest.param({"transactionId": TX, "type": "withdrawal", "amount": 1}, "amount", id="withdrawal-amount-int"),
    pytest.param({"transactionId": TX, "type": "bet", "amount": 1, "betId": "b-new"}, "amount", id="bet-amount-int"),
    pytest.param(
        {"transactionId": TX, "type": "win", "amount": 1.5, "betId": OPEN_BET}, "amount", id="win-amount-float"
    ),
    pytest.param(
        {"transactionId": TX, "type": "adjustment", "amount": -1, "reason": "r"}, "amount", id="adjustment-amount-int"
    ),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": True}, "amount", id="amount-bool"),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": ["1"]}, "amount", id="amount-list"),
    pytest.param({"transactionId": TX, "type": "deposit", "amount": {"value": "1"}}, "amount", id="amount-object"),
    # Transaction ids become part of keys: no '#', no spaces, bounded.
    pytest.param({"transactionId": 12345, "type": "deposit", "amount": "1"}, "transactionId", id="txid-number"),
    pytest.param({"transactionId": True, "type": "deposit", "amount": "1"}, "transactionId", id="txid-bool"),
    pytest.param({"transactionId": "", "type": "deposit", "amount": "1"}, "transactionId", id="txid-empty"),
    pytest.param({"transactionId": "a#b", "type": "deposit", "amount": "1"}, "transactionId", id="txid-hash"),
    pytest.param({"transactionId": "a b", "type": "deposit", "amount": "1"}, "transactionId", id="txid-space"),
    pytest.param({"transactionId": "a\nb", "type": "deposit", "amount": "1"}, "transactionId", id="txid-newline"),
    pytest.param({"transactionId": "x" * 129, "type": "deposit", "amount": "1"}, "transactionId", id="txid-129-chars"),
    # Types.
    pytest.param({"transactionId": TX, "type": "steal", "amount": "1"}, "type", id="type-steal"),
    pytest.param({"transactionId": TX, "type": "DEPOSIT", "amount": "1"}, "type", id="type-uppercase"),
    pytest.param({"transactionId": TX, "type": "promo", "amount": "1"}, "type", id="type-internal-promo"),
    pytest.param({"transactionId": TX, "type": "", "amount": "1"}, "type", id="type-empty"),
    pytest.param({"transactionId": TX, "type": 1, "amount": "1"}, "type", id="type-number"),
    pytest.param({"transactionId": TX, "type": None, "amount": "1"}, "type", id="type-null"),
    # Bet ids.
    pytest.param(
        {"transactionId": TX, "type": "bet", "amount": "1", "betId": {"id": "b1"}}, "betId", id="betId-object"
    ),
    pytest.param({"transactionId": TX, "type": "bet", "amount": "1", "betId": 7}, "betId", id="betId-number"),
    pytest.param({"transactionId": TX, "type": "bet", "amount": "1", "betId": "b#1"}, "betId", id="betId-hash"),
    pytest.param({"transactionId": TX, "type": "bet", "amount": "1", "betId": ""}, "betId", id="betId-empty"),
    pytest.param(
        {"transactionId": TX, "type": "win", "amount": "1", "betId": [OPEN_BET]}, "betId", id="win-betId-list"
    ),
    pytest.param({"transactionId": TX, "type": "refund", "betId": 1}, "betId", id="refund-betId-number"),
    # Reasons.
    pytest.param({"transactionId": TX, "type": "adjustment", "amount": "1", "reason": ""}, "reason", id="reason-empty"),
    pytest.param({"transactionId": TX, "type": "adjustment", "amount": "1", "reason": 5}, "reason", id="reason-number"),
    pytest.param(
        {"transactionId": TX, "type": "adjustment", "amount": "1", "reason": "r" * 257}, "reason", id="reason-257-chars"
    ),
    # Unknown fields: a misspelt field must not be dropped silently from a money movement. Native
    # transactions carry no currency (the wallet's applies), so a currency field is unknown too.
    pytest.param(
        {"transactionId": TX, "type": "bet", "amount": "1", "betid": "b-new"}, "betid", id="extra-misspelt-betid"
    ),
    pytest.param(
        {"transactionId": TX, "type": "deposit", "amount": "1", "currency": "USD"}, "currency", id="extra-currency"
    ),
    pytest.param(
        {"transactionId": TX, "type": "deposit", "amount": "1", "balance": "bonus"}, "balance", id="extra-balance"
    ),
    pytest.param(
        {"transactionId": TX, "type": "deposit", "amount": "1", "playerId": "someone-else"},
        "playerId",
        id="extra-playerId",
    ),
]


@pytest.mark.parametrize(("body", "field_name"), WRONG_TRANSACTION_FIELDS)
def test_wrong_transaction_field_is_invalid_request(
    admin: Api, wallet: Watched, body: dict[str, Any], field_name: str
) -> None:
    refused_movement(
        admin,
        wallet,
        lambda tx: post_transaction(admin, wallet.player, with_id(body, tx)),
        INVALID,
        "invalid_request",
        mentions=(field_name,),
    )


WRONG_WALLET_FIELDS = [
    pytest.param({"playerId": TX, "currency": "eur"}, "currency", id="currency-lowercase"),
    pytest.param({"playerId": TX, "currency": "Eur"}, "currency", id="currency-mixed-case"),
    pytest.param({"playerId": TX, "currency": "EURO"}, "currency", id="currency-4-letters"),
    pytest.param({"playerId": TX, "currency": "EU"}, "currency", id="currency-2-letters"),
    pytest.param({"playerId": TX, "currency": ""}, "currency", id="currency-empty"),
    pytest.param({"playerId": TX, "currency": " EUR"}, "currency", id="currency-space"),
    pytest.param({"playerId": TX, "currency": "E1R"}, "currency", id="currency-digit"),
    pytest.param({"playerId": TX, "currency": "€UR"}, "currency", id="currency-symbol"),
    pytest.param({"playerId": TX, "currency": 123}, "currency", id="currency-number"),
    pytest.param({"playerId": TX, "currency": ["EUR"]}, "currency", id="currency-list"),
    pytest.param({"playerId": TX + "#x", "currency": "EUR"}, "playerId", id="playerId-hash"),
    pytest.param({"playerId": TX + " x", "currency": "EUR"}, "playerId", id="playerId-space"),
    pytest.param({"playerId": TX + "x" * 200, "currency": "EUR"}, "playerId", id="playerId-200-chars"),
    pytest.param({"playerId": TX + "ü", "currency": "EUR"}, "playerId", id="playerId-non-ascii"),
    pytest.param({"playerId": "", "currency": "EUR"}, "playerId", id="playerId-empty"),
    pytest.param({"playerId": 42, "currency": "EUR"}, "playerId", id="playerId-number"),
    pytest.param(
        {"playerId": TX, "currency": "EUR", "balance": "1000000"}, "balance", id="extra-balance-mass-assignment"
    ),
    pytest.param({"playerId": TX, "currency": "EUR", "status": "locked"}, "status", id="extra-status"),
]


@pytest.mark.parametrize(("body", "field_name"), WRONG_WALLET_FIELDS)
def test_wrong_wallet_field_is_invalid_request(admin: Api, body: dict[str, Any], field_name: str) -> None:
    refused_wallet(
        admin,
        lambda player: admin.post("/v1/wallets", with_id(body, player)),
        INVALID,
        "invalid_request",
        mentions=(field_name,),
    )


def test_bad_currency_for_an_existing_player_changes_nothing(admin: Api, wallet: Watched) -> None:
    response = admin.post("/v1/wallets", {"playerId": wallet.player, "currency": "eur"})
    change = wallet.observe()
    assert_problem(response, INVALID, "invalid_request", mentions=("currency",))
    assert_unchanged(change)


# =========================================================================== amounts

NOT_A_DECIMAL_STRING = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e3",
    "1E3",
    "1.0000001",
    "0.0000001",
    "1000000000000000",
    "1000000000000.000001",
    "99999999999999999999",
    "",
    " ",
    " 1",
    "1 ",
    "1,5",
    "0x10",
    "+1",
    ".5",
    "1.",
    "01",
    "1_000",
    "1.2.3",
    "\u0661",
    "--1",
]
# Every string is refused before the type matters; these run for every type, the rest for deposits.
FOR_EVERY_TYPE = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e3",
    "1.0000001",
    "1000000000000000",
    "99999999999999999999",
    "",
    "0x10",
]
AMOUNT_CASES = [pytest.param("deposit", amount, id=f"deposit-{amount!r}") for amount in NOT_A_DECIMAL_STRING] + [
    pytest.param(type_, amount, id=f"{type_}-{amount!r}")
    for type_ in ("withdrawal", "bet", "win")
    for amount in FOR_EVERY_TYPE
]


def _move_fields(type_: str) -> dict[str, Any]:
    if type_ == "win":
        return {"betId": OPEN_BET}
    if type_ == "bet":
        return {"betId": new_id("b")}
    if type_ == "adjustment":
        return {"reason": "bad-input test"}
    return {}


@pytest.mark.parametrize(("type_", "amount"), AMOUNT_CASES)
def test_amount_that_is_not_a_valid_decimal_string_is_refused(
    admin: Api, wallet: Watched, type_: str, amount: str
) -> None:
    fields = _move_fields(type_)
    refused_movement(
        admin,
        wallet,
        lambda tx: admin.move(wallet.player, type_, amount, transactionId=tx, **fields),
        INVALID,
        "invalid_request",
        mentions=("amount",),
    )


@pytest.mark.parametrize(
    ("type_", "amount"),
    [
        pytest.param("deposit", "-1", id="deposit-negative"),
        pytest.param("deposit", "-0.000001", id="deposit-tiny-negative"),
        pytest.param("withdrawal", "-1", id="withdrawal-negative"),
        pytest.param("bet", "-1", id="bet-negative"),
        pytest.param("win", "-1", id="win-negative"),
        pytest.param("deposit", "0", id="deposit-zero"),
        pytest.param("deposit", "0.000000", id="deposit-zero-decimals"),
        pytest.param("deposit", "-0", id="deposit-minus-zero"),
        pytest.param("withdrawal", "0", id="withdrawal-zero"),
        pytest.param("adjustment", "0", id="adjustment-zero"),
        pytest.param("adjustment", "1.0000001", id="adjustment-7-decimals"),
        pytest.param("adjustment", "-1000000000000.5", id="adjustment-huge-negative"),
    ],
)
def test_amount_out_of_range_for_its_type_is_refused(admin: Api, wallet: Watched, type_: str, amount: str) -> None:
    fields = _move_fields(type_)
    refused_movement(
        admin,
        wallet,
        lambda tx: admin.move(wallet.player, type_, amount, transactionId=tx, **fields),
        INVALID,
        "invalid_request",
        mentions=("amount", "adjustment"),
    )


# =========================================================================== unknown wallet and transaction

PLAYER_ROUTES = [
    pytest.param("GET", "/v1/wallets/{p}", None, id="get-wallet"),
    pytest.param(
        "POST", "/v1/wallets/{p}/transactions", {"transactionId": "t-1", "type": "deposit", "amount": "5"}, id="deposit"
    ),
    pytest.param(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": "t-2", "type": "withdrawal", "amount": "5"},
        id="withdrawal",
    ),
    pytest.param(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": "t-3", "type": "adjustment", "amount": "5", "reason": "r"},
        id="adjustment",
    ),
    pytest.param(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": "t-4", "type": "refund", "betId": OPEN_BET},
        id="refund",
    ),
    pytest.param("GET", "/v1/wallets/{p}/transactions", None, id="list-transactions"),
    pytest.param("GET", "/v1/wallets/{p}/transactions/{t}", None, id="get-transaction"),
    pytest.param("POST", "/v1/wallets/{p}/lock", None, id="lock"),
    pytest.param("POST", "/v1/wallets/{p}/unlock", None, id="unlock"),
]


@pytest.mark.parametrize(("method", "path", "body"), PLAYER_ROUTES)
def test_unknown_wallet_is_404_wallet_not_found(admin: Api, method: str, path: str, body: Any) -> None:
    nobody = new_id("nobody")
    response = admin.request(method, path.format(p=nobody, t="t-1"), body)
    assert_problem(response, 404, "wallet_not_found")
    assert_no_wallet(admin, nobody)  # a refused movement does not open the wallet


@pytest.mark.parametrize(("method", "path", "body"), PLAYER_ROUTES)
def test_another_operators_wallet_is_not_found_and_untouched(
    other_operator: Api, seeded: Seeded, method: str, path: str, body: Any
) -> None:
    for target in (seeded.active, seeded.locked):
        response = other_operator.request(method, path.format(p=target.player, t=seeded.deposit_id), body)
        change = target.observe()
        assert_problem(response, 404, "wallet_not_found")
        assert_unchanged(change)


@pytest.mark.parametrize("query", ["", "type=deposit", "type=withdrawal"])
def test_unknown_transaction_is_404_transaction_not_found(admin: Api, wallet: Watched, query: str) -> None:
    response = admin.get(f"/v1/wallets/{wallet.player}/transactions/{new_id('nope')}", query=query)
    assert_problem(response, 404, "transaction_not_found")


def test_existing_transaction_under_another_type_is_not_found(admin: Api, seeded: Seeded) -> None:
    response = admin.get(
        f"/v1/wallets/{seeded.active.player}/transactions/{seeded.deposit_id}", query="type=withdrawal"
    )
    assert_problem(response, 404, "transaction_not_found")


def test_another_wallets_transaction_is_not_found(admin: Api, wallet: Watched, seeded: Seeded) -> None:
    # The locked wallet's seed deposit exists, but not in this wallet.
    other_deposit = next(t for t, kind, _ in seeded.locked.known.history if kind == "deposit")
    response = admin.get(f"/v1/wallets/{wallet.player}/transactions/{other_deposit}")
    assert_problem(response, 404, "transaction_not_found")
    assert seeded.locked.player.encode() not in response.body


@pytest.mark.parametrize(
    ("path", "field_name"),
    [
        pytest.param("/v1/wallets/a%23b", "playerId", id="playerId-hash"),
        pytest.param("/v1/wallets/a%20b", "playerId", id="playerId-space"),
        pytest.param("/v1/wallets/" + "x" * 200, "playerId", id="playerId-200-chars"),
        pytest.param("/v1/wallets/a%23b/transactions", "playerId", id="list-playerId-hash"),
        pytest.param("/v1/wallets/{p}/transactions/a%23b", "transactionId", id="transactionId-hash"),
        pytest.param("/v1/wallets/{p}/transactions/" + "t" * 200, "transactionId", id="transactionId-200-chars"),
    ],
)
def test_invalid_identifier_in_the_path_is_invalid_request(
    admin: Api, wallet: Watched, path: str, field_name: str
) -> None:
    response = admin.get(path.format(p=wallet.player))
    assert_problem(response, INVALID, "invalid_request", mentions=(field_name,))


@pytest.mark.parametrize("suffix", ["transactions", "lock"])
def test_invalid_identifier_in_a_write_path_changes_nothing(admin: Api, wallet: Watched, suffix: str) -> None:
    body = {"transactionId": new_id("t"), "type": "deposit", "amount": "1"} if suffix == "transactions" else None
    response = admin.post(f"/v1/wallets/{wallet.player}%23x/{suffix}", body)
    change = wallet.observe()
    assert_problem(response, INVALID, "invalid_request", mentions=("playerId",))
    assert_unchanged(change)


# =========================================================================== paging: limit and cursor


@pytest.fixture(scope="module")
def paged(admin: Api) -> tuple[str, str]:
    """Another wallet with three entries, and a real cursor into its history."""
    player = admin.open_wallet()
    for amount in ("1", "2", "3"):
        assert admin.move(player, "deposit", amount).status == 201
    page = admin.get(f"/v1/wallets/{player}/transactions", query="limit=1").json()
    assert page["nextCursor"]
    return player, page["nextCursor"]


def _decoded(cursor: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=",
        "limit=1e2",
        "limit=10&limit=20",
        "cursor=" + "A" * 3000,
    ],
)
def test_bad_limit_is_invalid_request(admin: Api, wallet: Watched, query: str) -> None:
    response = admin.get(f"/v1/wallets/{wallet.player}/transactions", query=query)
    body = assert_problem(response, INVALID, "invalid_request", mentions=("limit", "cursor"))
    assert "items" not in body


Forge = Callable[[str, str], str]  # (this wallet's real cursor, another wallet's real cursor) -> cursor


def _tampered(change: Callable[[dict[str, Any]], None]) -> Forge:
    def forge(mine: str, theirs: str) -> str:
        key = _decoded(mine)
        change(key)
        return _encoded(key)

    return forge


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda key: key.__setitem__(name, value)


FORGED_CURSORS = [
    pytest.param(lambda mine, theirs: "Zm9vYmFy", id="random-base64"),
    pytest.param(lambda mine, theirs: base64.urlsafe_b64encode(secrets.token_bytes(48)).decode(), id="random-bytes"),
    pytest.param(lambda mine, theirs: "!!not-base64!!", id="not-base64"),
    pytest.param(lambda mine, theirs: _encoded([1, 2, 3]), id="json-array"),
    pytest.param(lambda mine, theirs: _encoded({}), id="json-empty-object"),
    pytest.param(lambda mine, theirs: theirs, id="another-wallets-cursor"),
    pytest.param(_tampered(lambda key: key.pop("sk")), id="missing-attribute"),
    pytest.param(_tampered(_set("extra", {"S": "x"})), id="extra-attribute"),
    # This wallet's partition, but values a cursor Kassa issued never holds: the client's fault
    # (422), not a server failure to retry (503).
    pytest.param(_tampered(_set("entryVersion", {"S": "x"})), id="entryVersion-as-string"),
    pytest.param(_tampered(_set("entryVersion", {"N": "abc"})), id="entryVersion-not-a-number"),
    pytest.param(_tampered(_set("sk", {"N": "1"})), id="sk-as-number"),
    pytest.param(_tampered(_set("sk", "WALLET")), id="sk-not-an-attribute-value"),
    pytest.param(_tampered(_set("entryVersion", 3)), id="entryVersion-bare-number"),
]


@pytest.mark.parametrize("forge", FORGED_CURSORS)
def test_forged_cursor_is_invalid_request_and_leaks_nothing(
    admin: Api, wallet: Watched, paged: tuple[str, str], forge: Forge
) -> None:
    mine = admin.get(f"/v1/wallets/{wallet.player}/transactions", query="limit=1").json()["nextCursor"]
    assert mine, "the seeded wallet has two entries"
    other, theirs = paged
    response = admin.get(f"/v1/wallets/{wallet.player}/transactions", query=f"limit=1&cursor={forge(mine, theirs)}")
    body = assert_problem(response, INVALID, "invalid_request", mentions=("cursor",))
    assert "items" not in body
    assert other.encode() not in response.body and b"OP#" not in response.body


def test_cursor_of_another_operators_wallet_with_the_same_player_id_is_refused(admin: Api, other_operator: Api) -> None:
    twin = other_operator.open_wallet(player=new_id("twin"))
    for amount in ("1", "2"):
        assert other_operator.move(twin, "deposit", amount).status == 201
    theirs = other_operator.get(f"/v1/wallets/{twin}/transactions", query="limit=1").json()["nextCursor"]
    # The same player id under the demo operator: only the operator part of the key differs.
    admin.open_wallet(player=twin)
    assert admin.move(twin, "deposit", "7").status == 201
    response = admin.get(f"/v1/wallets/{twin}/transactions", query=f"limit=1&cursor={theirs}")
    body = assert_problem(response, INVALID, "invalid_request", mentions=("cursor",))
    assert "items" not in body


# =========================================================================== oversize bodies, content types

OVERSIZE = (400, 413, 422)

OVERSIZE_TRANSACTION_BODIES = [
    # A valid deposit, 1 MB long: only its size is wrong.
    pytest.param(VALID_DEPOSIT[:-1] + b" " * ONE_MB + b"}", id="valid-deposit-padded-to-1MB"),
    pytest.param(
        json.dumps({"transactionId": TX, "type": "deposit", "amount": "1", "reason": "r" * ONE_MB}).encode(),
        id="1MB-reason",
    ),
    pytest.param(
        json.dumps({"transactionId": TX, "type": "deposit", "amount": "1", "pad": "p" * ONE_MB}).encode(),
        id="1MB-unknown-field",
    ),
    pytest.param(
        json.dumps({"transactionId": TX, "type": "deposit", "amount": "1" + "0" * ONE_MB}).encode(), id="1MB-amount"
    ),
    pytest.param(
        json.dumps([{"transactionId": TX, "type": "deposit", "amount": "1"}] * 20000).encode(),
        id="1MB-array-of-deposits",
    ),
]


@pytest.mark.parametrize("raw", OVERSIZE_TRANSACTION_BODIES)
def test_oversize_transaction_body_is_refused(admin: Api, wallet: Watched, raw: bytes) -> None:
    def send(tx: str) -> HttpResponse:
        response = post_transaction(admin, wallet.player, raw=with_id(raw, tx))
        assert len(response.body) < 64 * 1024, "the refusal does not echo the body back"
        return response

    refused_movement(admin, wallet, send, OVERSIZE, "invalid_request")


def test_oversize_wallet_body_is_refused(admin: Api) -> None:
    raw = b'{"playerId": "@TX@", "currency": "EUR"' + b" " * ONE_MB + b"}"
    refused_wallet(
        admin,
        lambda player: admin.request("POST", "/v1/wallets", raw=with_id(raw, player)),
        OVERSIZE,
        "invalid_request",
    )


MULTIPART_DEPOSIT = (
    b'--kassa\r\nContent-Disposition: form-data; name="transactionId"\r\n\r\n@TX@\r\n'
    b'--kassa\r\nContent-Disposition: form-data; name="type"\r\n\r\ndeposit\r\n'
    b'--kassa\r\nContent-Disposition: form-data; name="amount"\r\n\r\n1\r\n--kassa--\r\n'
)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        pytest.param("application/xml", b"<deposit><amount>1</amount></deposit>", id="xml"),
        pytest.param("application/x-www-form-urlencoded", b"transactionId=@TX@&type=deposit&amount=1", id="form"),
        pytest.param("multipart/form-data; boundary=kassa", MULTIPART_DEPOSIT, id="multipart"),
    ],
)
def test_body_that_is_not_json_is_refused(admin: Api, wallet: Watched, content_type: str, raw: bytes) -> None:
    """The API takes JSON only, whatever the label says: a form or multipart body is never read as fields."""
    refused_movement(
        admin,
        wallet,
        lambda tx: post_transaction(admin, wallet.player, raw=with_id(raw, tx), headers={"content-type": content_type}),
        (400, 415, 422),
        "invalid_request",
    )


def test_a_json_body_is_read_as_json_whatever_its_label(admin: Api, wallet: Watched) -> None:
    """curl -d sends application/x-www-form-urlencoded by default; a JSON object body is still JSON."""
    for label in ("text/plain", "application/x-www-form-urlencoded", "APPLICATION/JSON"):
        player = admin.open_wallet()
        response = post_transaction(
            admin, player, raw=with_id(VALID_DEPOSIT, new_id("tx")), headers={"content-type": label}
        )
        assert response.status == 201, (label, response.body)


# =========================================================================== credentials


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {p}: the target wallet's player, {t}: an applied transaction of it
    body: dict[str, Any] | None  # TX: a fresh id
    target: str  # the seeded wallet it aims at: "active" or "locked"
    scope: str  # the scope it needs

    def call(self, api: Api, seeded: Seeded, fresh: str, headers: dict[str, str] | None = None) -> HttpResponse:
        path = self.path.format(p=seeded.target(self.target).player, t=seeded.deposit_id)
        return api.request(self.method, path, with_id(self.body, fresh), headers=headers)


# Every native route except health, each with a request that would succeed (and change something, for
# the writes) if the credential were accepted.
ROUTES = {
    "create-wallet": Route("POST", "/v1/wallets", {"playerId": TX, "currency": "EUR"}, "active", auth.WRITE),
    "get-wallet": Route("GET", "/v1/wallets/{p}", None, "active", auth.READ),
    "list-wallets": Route("GET", "/v1/wallets", None, "active", auth.READ),
    "deposit": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "deposit", "amount": "5"},
        "active",
        auth.WRITE,
    ),
    "withdrawal": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "withdrawal", "amount": "5"},
        "active",
        auth.WRITE,
    ),
    "bet": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "bet", "amount": "5", "betId": TX},
        "active",
        auth.WRITE,
    ),
    "win": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "win", "amount": "5", "betId": OPEN_BET},
        "active",
        auth.WRITE,
    ),
    "refund": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "refund", "betId": OPEN_BET},
        "active",
        auth.WRITE,
    ),
    "adjustment": Route(
        "POST",
        "/v1/wallets/{p}/transactions",
        {"transactionId": TX, "type": "adjustment", "amount": "-5", "reason": "r"},
        "active",
        auth.ADJUST,
    ),
    "list-transactions": Route("GET", "/v1/wallets/{p}/transactions", None, "active", auth.READ),
    "get-transaction": Route("GET", "/v1/wallets/{p}/transactions/{t}", None, "active", auth.READ),
    "get-round": Route("GET", f"/v1/wallets/{{p}}/bets/{OPEN_BET}", None, "active", auth.READ),
    "lock": Route("POST", "/v1/wallets/{p}/lock", None, "active", auth.LOCK),
    "unlock": Route("POST", "/v1/wallets/{p}/unlock", None, "locked", auth.LOCK),
    "audit-wallet": Route("GET", "/v1/wallets/{p}/audit", None, "active", auth.RECONCILE),
}


def refused_call(
    route: Route, caller: Api, seeded: Seeded, owner: Api, headers: dict[str, str] | None = None
) -> tuple[HttpResponse, tuple[State, State]]:
    """Call ``route`` as ``caller``; return the answer and the target wallet's change, checked by ``owner``."""
    fresh = new_id("cred")
    response = route.call(caller, seeded, fresh, headers)
    change = seeded.target(route.target).observe()
    if route.path == "/v1/wallets":
        assert_no_wallet(owner, fresh)
    elif route.method == "POST" and route.path.endswith("/transactions"):
        assert_no_record(owner, seeded.target(route.target).player, fresh)
    return response, change


def test_every_native_route_but_health_is_behind_the_authorizer() -> None:
    native = [r for r in template.http_routes() if r.path.startswith("/v1/wallets") or r.path == "/health"]
    for route in native:
        assert route.authorized == (route.path != "/health"), route
    declared = {(r.method, r.path) for r in native if r.path != "/health"}
    covered = {
        (
            r.method,
            r.path.replace("{p}", "{playerId}")
            .replace("{t}", "{transactionId}")
            .replace(f"/bets/{OPEN_BET}", "/bets/{betId}"),
        )
        for r in ROUTES.values()
    }
    assert declared == covered, "ROUTES must list every native route of template.yaml"


def _authorized_routes() -> list[Any]:
    return [
        pytest.param(r.method, re.sub(r"\{[^}]+\}", "x-1", r.path), id=f"{r.method} {r.path}")
        for r in template.http_routes()
        if r.authorized
    ]


@pytest.mark.parametrize(("method", "path"), _authorized_routes())
def test_every_authorized_route_of_the_template_refuses_a_missing_or_wrong_key(
    gateway: LocalGateway, method: str, path: str
) -> None:
    """Whatever routes other issues add behind the authorizer (sessions...), the gateway guards them."""
    anonymous = Api(gateway, None)
    assert_gateway_message(anonymous.request(method, path, {}), 401, "Unauthorized")
    for header in ("Bearer kassa_key_" + secrets.token_urlsafe(32), "Bearer ", "Basic Zm9vOmJhcg=="):
        response = anonymous.request(method, path, {}, headers={"authorization": header})
        assert_gateway_message(response, 403, "Forbidden")


@pytest.mark.parametrize("name", ROUTES)
def test_missing_authorization_is_401_from_the_gateway(
    gateway: LocalGateway, admin: Api, seeded: Seeded, name: str
) -> None:
    response, change = refused_call(ROUTES[name], Api(gateway, None), seeded, admin)
    assert_gateway_message(response, 401, "Unauthorized")
    assert_unchanged(change)


def _altered(key: str) -> str:
    return key[:-1] + ("A" if key[-1] != "A" else "B")


# The three the issue names, on every route.
WRONG_CREDENTIALS = {
    "unknown-key": lambda key: "Bearer kassa_key_" + secrets.token_urlsafe(32),
    "bearer-empty": lambda key: "Bearer ",
    "basic": lambda key: "Basic " + base64.b64encode(b"demo:secret").decode(),
}
# More ways to get it wrong, on one read and one write route.
MORE_WRONG_CREDENTIALS = {
    "altered-real-key": lambda key: "Bearer " + _altered(key),
    "real-key-with-suffix": lambda key: f"Bearer {key}x",
    "real-key-truncated": lambda key: f"Bearer {key[:-4]}",
    "real-key-without-scheme": lambda key: key,
    "real-key-as-basic": lambda key: "Basic " + base64.b64encode(f"demo:{key}".encode()).decode(),
    "real-key-other-scheme": lambda key: f"Token {key}",
    "bearer-alone": lambda key: "Bearer",
    "bearer-5000-chars": lambda key: "Bearer " + "k" * 5000,
    "whitespace": lambda key: "   ",
}
CREDENTIAL_CASES = [pytest.param(route, bad, id=f"{route}-{bad}") for route in ROUTES for bad in WRONG_CREDENTIALS] + [
    pytest.param(route, bad, id=f"{route}-{bad}")
    for route in ("get-wallet", "deposit")
    for bad in MORE_WRONG_CREDENTIALS
]


@pytest.mark.parametrize(("name", "bad"), CREDENTIAL_CASES)
def test_wrong_credential_is_403_from_the_gateway(
    gateway: LocalGateway, demo: DemoCredentials, admin: Api, seeded: Seeded, name: str, bad: str
) -> None:
    build = {**WRONG_CREDENTIALS, **MORE_WRONG_CREDENTIALS}[bad]
    response, change = refused_call(
        ROUTES[name], Api(gateway, None), seeded, admin, headers={"authorization": build(demo.api_key)}
    )
    assert_gateway_message(response, 403, "Forbidden")
    assert_unchanged(change)


# --------------------------------------------------------------------------- under-scoped keys


@dataclass(frozen=True)
class Tenant:
    limited: Api  # the operator's key under test, created with only the scopes under test
    owner: Api  # an admin key of the same operator, to seed and observe its wallets
    seeded: Seeded


READ_ONLY = (auth.READ,)
READ_WRITE = (auth.READ, auth.WRITE)
WRITE_ONLY = (auth.WRITE,)
SESSIONS_ONLY = (auth.SESSIONS,)
SCOPE_SETS = (READ_ONLY, READ_WRITE, WRITE_ONLY, SESSIONS_ONLY)


Tenants = Callable[[tuple[str, ...]], Tenant]


@pytest.fixture(scope="module")
def tenant(gateway: LocalGateway) -> Tenants:
    """One operator per scope set, created with only those scopes, plus an admin key of its own to seed
    and observe its wallets; each is built the first time a test asks for it."""
    made: dict[tuple[str, ...], Tenant] = {}

    def build(scopes: tuple[str, ...]) -> Tenant:
        if scopes not in made:
            store = AccessStore()
            created = operators.create_operator(store, new_id("op"), scopes=scopes)
            owner_key = apikeys.create_api_key(
                store, created.operator_id, "observer", scopes=(auth.ADMIN,), actor=audit_log.cli_actor()
            ).api_key
            owner = Api(gateway, owner_key)
            made[scopes] = Tenant(Api(gateway, created.api_key), owner, seed_wallets(owner))
        return made[scopes]

    return build


UNDER_SCOPED = [
    pytest.param(scopes, name, id=f"{'+'.join(scopes)}-{name}")
    for scopes in SCOPE_SETS
    for name, route in ROUTES.items()
    if route.scope not in scopes and auth.ADMIN not in scopes
]


@pytest.mark.parametrize(("scopes", "name"), UNDER_SCOPED)
def test_key_without_the_routes_scope_is_403_forbidden(tenant: Tenants, scopes: tuple[str, ...], name: str) -> None:
    found = tenant(scopes)
    route = ROUTES[name]
    response, change = refused_call(route, found.limited, found.seeded, found.owner)
    assert_problem(response, 403, "forbidden", mentions=(route.scope,))
    assert_unchanged(change)


def test_scoped_keys_work_where_their_scope_allows(tenant: Tenants) -> None:
    """The 403s above are about scopes, not broken keys."""
    reader = tenant(READ_ONLY)
    assert reader.limited.get(f"/v1/wallets/{reader.seeded.active.player}").status == 200
    writer = tenant(WRITE_ONLY)
    assert writer.limited.open_wallet()  # a fresh wallet: the seeded ones stay as they are
