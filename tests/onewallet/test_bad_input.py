"""Bad input, for every method it applies to: a missing, wrong or rotated-away token, a malformed body,
missing fields, wrong types, bad amounts, a wrong currency. Each answers its documented status with
HTTP 200 (checked by the client on every call), echoes the uuid when the body is JSON and has one, and
changes nothing: the wallet, its full history and the player's session are exactly as before.

Unknown users are covered for every method by the rule 10 tests in test_rules.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Api, new_id
from tests.onewallet.conftest import (
    METHODS,
    MONEY_METHODS,
    D,
    OneWalletClient,
    Player,
    dumps,
    expect,
    partition,
)

TX_METHODS = ("debit", "credit", "cancel")
SESSION_METHODS = ("check", "balance", "debit")
INVALID_PARAMETER = {"INVALID_PARAMETER"}


def valid_body(method: str, player: Player) -> dict[str, Any]:
    """A request that would succeed: a new bet for debit, the open bet "r-open" for credit and cancel."""
    if method == "debit":
        return player.tx("d-new", "r-new", "5")
    if method in ("credit", "cancel"):
        return player.tx(f"{method}-1", "r-open", "5")
    if method == "promo_payout":
        return player.promo("promo-1", "5")
    if method == "sid":
        return player.body(sid="")
    return player.body(channel={"type": "P"}) if method == "check" else player.body()


@dataclass
class Scene:
    """A player with 100 deposited, 10 of it on the open bet "r-open", and a live session; ``initial``
    is its whole stored state (wallet partition and session item), which no bad request may change."""

    player: Player
    initial: Any


class Scenes:
    """One scene per method, shared by that method's tests (a scene is only read, never changed). A test
    that finds its scene changed fails, and drops the scene so that the next test gets a fresh one."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._by_method: dict[str, Scene] = {}

    def __call__(self, method: str) -> Scene:
        if method not in self._by_method:
            player_id = self.api.open_wallet("EUR")
            assert self.api.move(player_id, "deposit", "100").status == 201
            assert self.api.move(player_id, "bet", "10", betId="r-open").status == 201
            player = Player(player_id, "", "EUR", self.api)
            player.new_session()
            self._by_method[method] = Scene(player, partition(player))
        return self._by_method[method]

    def unchanged(self, method: str) -> bool:
        """Whether the method's scene is as it was; a changed scene is dropped (checked before the
        test's other assertions, so that a failing test never leaves a changed scene behind)."""
        scene = self._by_method[method]
        if partition(scene.player) == scene.initial:
            return True
        del self._by_method[method]
        return False


@pytest.fixture(scope="module")
def scenes(gateway: Any, demo: Any) -> Scenes:
    return Scenes(Api(gateway, demo.api_key))


# -- tokens ------------------------------------------------------------------------------------------

TOKENS: dict[str, Any] = {
    "missing": None,
    "empty": "",
    "wrong": "kassa_ow_" + "x" * 43,
    "overlong": "kassa_ow_" + "y" * 4000,
    "api_key_instead": "API_KEY",
}


@pytest.mark.parametrize("token_case", list(TOKENS))
@pytest.mark.parametrize("method", METHODS)
def test_bad_token_is_invalid_token_id_and_changes_nothing(
    ow: OneWalletClient, scenes: Scenes, demo: Any, method: str, token_case: str
) -> None:
    token = demo.api_key if token_case == "api_key_instead" else TOKENS[token_case]
    reply = ow.call(method, valid_body(method, scenes(method).player), token=token)
    unchanged = scenes.unchanged(method)
    expect(reply, "INVALID_TOKEN_ID")
    # An unauthenticated caller learns nothing about the player.
    assert "balance" not in reply and "bonus" not in reply and "sid" not in reply
    assert unchanged, "the request changed stored state"


@pytest.mark.parametrize("method", METHODS)
def test_a_bad_token_is_checked_before_the_body(ow: OneWalletClient, scenes: Scenes, method: str) -> None:
    scenes(method)
    for raw in ("not json", "[]", ""):
        reply = ow.call(method, raw=raw, token="kassa_ow_wrong")
        expect(reply, "INVALID_TOKEN_ID")
    assert scenes.unchanged(method), "the request changed stored state"


@pytest.fixture(scope="module")
def rotated(base_url: str, gateway: Any, demo: Any) -> dict[str, Any]:
    """An operator whose token is rotated after every worker process has cached the old one."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    operator_id = new_id("rot")
    created = operators.create_operator(AccessStore(), operator_id)
    api = Api(gateway, created.api_key)
    player_id = api.open_wallet("EUR")
    assert api.move(player_id, "deposit", "100").status == 201
    player = Player(player_id, "", "EUR", api, operator_id)
    player.new_session()
    old = OneWalletClient(base_url, created.onewallet_token)
    for _ in range(12):  # more calls than worker processes: each one has resolved the old token
        expect(old.call("balance", player.body()), "OK", balance="100")
    new_token = operators.rotate_onewallet_token(AccessStore(), operator_id)
    return {"player": player, "old": old, "new": OneWalletClient(base_url, new_token), "api": api}


@pytest.mark.parametrize("method", METHODS)
def test_a_rotated_away_token_is_invalid_at_once_and_the_new_one_works(rotated: dict[str, Any], method: str) -> None:
    player: Player = rotated["player"]
    before = partition(player)
    for _ in range(3):
        reply = rotated["old"].call(method, valid_body(method, player))
        expect(reply, "INVALID_TOKEN_ID")
        assert "balance" not in reply
    assert partition(player) == before
    body = valid_body(method, player)
    if method in ("credit", "cancel"):
        ref = new_id("r")
        expect(rotated["new"].call("debit", player.tx(new_id("d"), ref, "1")), "OK")
        body = player.tx(new_id(method), ref, "1")
    reply = rotated["new"].call(method, body)
    expect(reply, "OK")
    if method == "sid":
        player.sid = reply["sid"]


@pytest.mark.parametrize("method", METHODS)
def test_another_operators_token_cannot_reach_this_wallet(scenes: Scenes, other_operator: Any, method: str) -> None:
    """The operator comes from the token: the same userId at another operator is another (unknown) player."""
    stranger = other_operator()
    reply = stranger.ow.call(method, valid_body(method, scenes(method).player))
    unchanged = scenes.unchanged(method)
    assert reply["status"] in ("INVALID_PARAMETER", "INVALID_SID"), reply
    assert "balance" not in reply
    assert unchanged, "the request changed stored state"


# -- bodies ------------------------------------------------------------------------------------------

MISSING = object()


@dataclass
class Case:
    name: str
    methods: tuple[str, ...]
    change: Callable[[dict[str, Any]], Any]  # the valid body -> the bad body (a dict, or raw text)
    expected: set[str] = field(default_factory=lambda: set(INVALID_PARAMETER))
    raw: bool = False  # the bad body is not JSON: no uuid can be read from it
    # The request names an existing player and is well-formed, only a value is wrong: ONEWALLET.md says
    # non-OK responses carry the balance "where the user is known".
    carries_balance: bool = False


def setting(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        target = body
        for key in path[:-1]:
            target = target[key]
        if value is MISSING:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return body

    return change


def amount_path(method: str) -> tuple[str, str]:
    return ("promoTransaction", "amount") if method == "promo_payout" else ("transaction", "amount")


def raw_text(text: str) -> Callable[[dict[str, Any]], str]:
    return lambda _body: text


def amount_text(number: str) -> Callable[[dict[str, Any]], str]:
    """The body with its amount written as ``number``, verbatim (NaN and Infinity are not JSON)."""

    def change(body: dict[str, Any]) -> str:
        key = "promoTransaction" if "promoTransaction" in body else "transaction"
        body = copy.deepcopy(body)
        body[key]["amount"] = D(0)
        return dumps(body).replace('"amount":0', f'"amount":{number}')

    return change


ALL = METHODS
CASES = [
    # malformed bodies
    Case("body_not_json", ALL, raw_text("this is not json"), raw=True),
    Case("body_truncated_json", ALL, raw_text('{"sid": "x", "userId": '), raw=True),
    Case("body_json_array", ALL, raw_text("[]"), raw=True),
    Case("body_json_array_of_object", ALL, lambda body: dumps([body]), raw=True),
    Case("body_json_string", ALL, raw_text('"hello"'), raw=True),
    Case("body_json_null", ALL, raw_text("null"), raw=True),
    Case("body_empty", ALL, raw_text(""), raw=True),
    Case("body_empty_object", ALL, raw_text("{}"), raw=True),
    Case("body_duplicate_key", ALL, lambda body: dumps(body)[:-1] + ',"userId":"someone-else"}', raw=True),
    # missing fields
    Case("missing_userId", ALL, setting(("userId",), MISSING)),
    Case("missing_sid", SESSION_METHODS, setting(("sid",), MISSING), {"INVALID_PARAMETER", "INVALID_SID"}),
    Case("missing_transaction", TX_METHODS, setting(("transaction",), MISSING)),
    Case("missing_transaction_id", TX_METHODS, setting(("transaction", "id"), MISSING)),
    Case("missing_transaction_refId", TX_METHODS, setting(("transaction", "refId"), MISSING)),
    Case("missing_transaction_amount", ("debit", "credit"), setting(("transaction", "amount"), MISSING)),
    Case("missing_promoTransaction", ("promo_payout",), setting(("promoTransaction",), MISSING)),
    Case("missing_promo_id", ("promo_payout",), setting(("promoTransaction", "id"), MISSING)),
    Case("missing_promo_amount", ("promo_payout",), setting(("promoTransaction", "amount"), MISSING)),
    # wrong types
    Case("userId_number", ALL, setting(("userId",), 12345)),
    Case("userId_null", ALL, setting(("userId",), None)),
    Case("sid_number", ALL, setting(("sid",), 12345)),
    Case("currency_number", ALL, setting(("currency",), 978)),
    Case("transaction_list", TX_METHODS, lambda body: {**body, "transaction": [body["transaction"]]}),
    Case("transaction_string", TX_METHODS, setting(("transaction",), "d1")),
    Case("transaction_id_number", TX_METHODS, setting(("transaction", "id"), 77)),
    Case("transaction_refId_number", TX_METHODS, setting(("transaction", "refId"), 77)),
    Case(
        "promoTransaction_list",
        ("promo_payout",),
        lambda body: {**body, "promoTransaction": [body["promoTransaction"]]},
    ),
    Case("promo_id_number", ("promo_payout",), setting(("promoTransaction", "id"), 77)),
    # wrong currency
    Case("currency_other", ALL, setting(("currency",), "USD"), carries_balance=True),
    Case("currency_lowercase", ALL, setting(("currency",), "eur")),
    Case("currency_not_iso", ALL, setting(("currency",), "EURO")),
]
for _method in MONEY_METHODS:
    _path = amount_path(_method)
    CASES += [
        Case(f"amount_string_{_method}", (_method,), setting(_path, "10")),
        Case(f"amount_bool_{_method}", (_method,), setting(_path, True)),
        Case(f"amount_null_{_method}", (_method,), setting(_path, None)),
        Case(f"amount_object_{_method}", (_method,), setting(_path, {"value": 10})),
        Case(f"amount_negative_{_method}", (_method,), carries_balance=True, change=setting(_path, D("-1"))),
        Case(
            f"amount_negative_tiny_{_method}", (_method,), carries_balance=True, change=setting(_path, D("-0.000001"))
        ),
        Case(f"amount_7_decimals_{_method}", (_method,), carries_balance=True, change=setting(_path, D("0.0000001"))),
        Case(
            f"amount_7_decimals_large_{_method}",
            (_method,),
            carries_balance=True,
            change=setting(_path, D("12.3456789")),
        ),
        # Valid JSON that a float parser turns into Infinity.
        Case(f"amount_overflow_1e999_{_method}", (_method,), amount_text("1e999"), carries_balance=True),
        Case(f"amount_exponent_7_decimals_{_method}", (_method,), amount_text("1e-7"), carries_balance=True),
        Case(f"amount_NaN_{_method}", (_method,), amount_text("NaN"), raw=True),
        Case(f"amount_Infinity_{_method}", (_method,), amount_text("Infinity"), raw=True),
        Case(f"amount_minus_Infinity_{_method}", (_method,), amount_text("-Infinity"), raw=True),
    ]


def _params() -> list[Any]:
    params = []
    for case in CASES:
        for method in case.methods:
            name = case.name if case.name.endswith(method) else f"{method}-{case.name}"
            params.append(pytest.param(method, case, id=name))
    return params


@pytest.mark.parametrize(("method", "case"), _params())
def test_bad_body_answers_its_status_and_changes_nothing(
    ow: OneWalletClient, scenes: Scenes, method: str, case: Case
) -> None:
    valid = valid_body(method, scenes(method).player)
    bad = case.change(valid)
    reply = ow.call(method, raw=bad if isinstance(bad, str) else dumps(bad))
    unchanged = scenes.unchanged(method)
    assert reply["status"] in case.expected, reply
    if not case.raw:
        assert reply["uuid"] == valid["uuid"], reply
    if case.carries_balance:
        assert (reply.get("balance"), reply.get("bonus")) == (90, 0), reply
    assert unchanged, "the request changed stored state"


@pytest.mark.parametrize("method", METHODS)
def test_a_body_that_is_not_utf8_is_invalid_parameter_with_http_200(
    ow: OneWalletClient, scenes: Scenes, method: str
) -> None:
    scenes(method)
    response = ow.post(method, raw=b"\xff\xfe not utf-8")
    unchanged = scenes.unchanged(method)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json"), response.text
    assert response.json() == {"status": "INVALID_PARAMETER", "uuid": None}
    assert unchanged, "the request changed stored state"
