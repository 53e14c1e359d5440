"""Fixtures of the One Wallet conformance suite (../shared/ONEWALLET.md is the contract).

- ``ow``: a One Wallet client for the demo operator over REAL HTTP (threaded HTTP server, worker
  processes running the real Lambda handlers), with keep-alive. ``ow.call(method, body)`` checks what
  every response must be (HTTP 200, ``application/json``, a ``status``, the request's ``uuid`` echoed,
  ``balance``/``bonus`` as JSON numbers) and returns the reply parsed with exact decimals.
- ``players(...)``: players set up through the native API (wallet, deposit, live session), with
  request builders (``player.tx``, ``player.promo``) and ways to end their session.
- ``ledger(player)`` and ``assert_ledger``: the wallet (GET /v1/wallets) and its full applied history
  (GET /v1/wallets/{p}/transactions), to prove the balances and that nothing else was written;
  ``partition(player)``: every stored item of the wallet and the session, for "nothing changed".
- ``other_operator(...)``: a fresh operator with its own API key and One Wallet token.
- ``inproc``: the same calls through the in-process gateway, where the handler's DynamoDB client can be
  observed (request counts) or disturbed (lost responses).
"""

from __future__ import annotations

import json
import threading
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests

from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import DemoCredentials
from tests.conftest import Api, new_id

D = Decimal
METHODS = ("check", "sid", "balance", "debit", "credit", "cancel", "promo_payout")
MONEY_METHODS = ("debit", "credit", "cancel", "promo_payout")
# ONEWALLET.md's promo_payout types (the adapter pays any type, known or not).
PROMO_TYPES = (
    "FreeRoundPlayableSpent",
    "RtrMonetaryReward",
    "JackpotWin",
    "RewardGamePlayableSpent",
    "RewardGameWinCapReached",
    "RewardGameMinBetLimitReached",
)
# A typical live-casino game object; ONEWALLET.md allows it to be null or to have a null id.
GAME = {"id": "game-1", "type": "blackjack", "details": {"table": {"id": "table-1", "vid": "vt-1"}}}

_DEFAULT: Any = object()

# -- JSON with exact numbers -------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text in which every ``Decimal`` is written as a JSON number with exactly its digits."""
    numbers: list[str] = []

    def mark(item: Any) -> Any:
        if isinstance(item, Decimal):
            numbers.append(str(item) if not item.is_finite() else f"{item:f}")
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(item, dict):
            return {key: mark(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [mark(inner) for inner in item]
        return item

    text = json.dumps(mark(value), separators=(",", ":"))
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0000{index}\\u0000"', number)
    return text


def parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


# -- the One Wallet client ---------------------------------------------------------------------------


class OneWalletClient:
    """``POST {base}/onewallet/{method}?authToken=...``; one keep-alive ``requests.Session`` per thread."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def post(
        self, method: str, body: Any = None, *, token: Any = _DEFAULT, raw: str | bytes | None = None
    ) -> requests.Response:
        """``token=None`` sends no authToken at all; ``raw`` sends a body as is."""
        token = self.token if token is _DEFAULT else token
        params = {} if token is None else {"authToken": token}
        data = raw if raw is not None else dumps(body)
        if isinstance(data, str):
            data = data.encode()
        return self.http.post(
            f"{self.base_url}/onewallet/{method}",
            params=params,
            data=data,
            headers={"content-type": "application/json"},
            timeout=30,
        )

    def call(
        self, method: str, body: Any = None, *, token: Any = _DEFAULT, raw: str | bytes | None = None
    ) -> dict[str, Any]:
        response = self.post(method, body, token=token, raw=raw)
        assert response.status_code == 200, (method, response.status_code, response.text)
        assert response.headers.get("content-type", "").split(";")[0].strip() == "application/json", response.headers
        reply = parse(response.text)
        assert isinstance(reply, dict) and isinstance(reply.get("status"), str), response.text
        assert "uuid" in reply, f"no uuid in {response.text}"
        if raw is None and isinstance(body, dict) and isinstance(body.get("uuid"), str):
            assert reply["uuid"] == body["uuid"], f"uuid not echoed: {response.text}"
        for field in ("balance", "bonus"):
            if field in reply:
                assert is_number(reply[field]), f"{field} is not a JSON number: {response.text}"
        reply["_text"] = response.text
        return reply


def expect(reply: dict[str, Any], status: str, balance: Any = None, bonus: Any = 0) -> None:
    """The status, and (when ``balance`` is given) the exact balance and bonus carried by the reply."""
    assert reply["status"] == status, reply
    if balance is not None:
        assert "balance" in reply and "bonus" in reply, reply
        assert reply["balance"] == D(balance), reply
        assert reply["bonus"] == D(bonus), reply


# -- players and the ledger --------------------------------------------------------------------------


@dataclass
class Player:
    id: str
    sid: str
    currency: str
    api: Api
    operator_id: str = "demo"

    def body(self, **fields: Any) -> dict[str, Any]:
        """A request of this player: sid, userId, a fresh uuid, currency, game; ``fields`` override."""
        base = {"sid": self.sid, "userId": self.id, "uuid": new_uuid(), "currency": self.currency, "game": GAME}
        return {**base, **fields}

    def tx(self, tx_id: str, ref_id: str, amount: Any, **fields: Any) -> dict[str, Any]:
        return self.body(transaction={"id": tx_id, "refId": ref_id, "amount": _num(amount)}, **fields)

    def promo(
        self, promo_id: str, amount: Any, type_: str | None = "FreeRoundPlayableSpent", **fields: Any
    ) -> dict[str, Any]:
        promo: dict[str, Any] = {"id": promo_id, "amount": _num(amount)}
        if type_ is not None:
            promo["type"] = type_
        return self.body(promoTransaction=promo, **fields)

    def new_session(self) -> str:
        """A new session through the native API (it replaces the player's previous one)."""
        response = self.api.post("/v1/sessions", {"playerId": self.id})
        assert response.status == 201, response.body
        self.sid = response.json()["sid"]
        return self.sid

    def end_session(self) -> None:
        """DELETE /v1/sessions/{sid}: the session is gone."""
        response = self.api.request("DELETE", f"/v1/sessions/{self.sid}")
        assert response.status == 204, response.body

    def expired_session(self) -> str:
        """A session that is the player's current one but expired 5 s ago, written straight to the store
        (a real expiry would need a 60 s wait: the shortest TTL the API accepts)."""
        from kassa import auth
        from kassa.clock import now_epoch
        from kassa.domain.sessions import Session
        from kassa.store.session_store import SessionStore

        sid = auth.new_secret(auth.SESSION_PREFIX)
        SessionStore().open(Session(auth.secret_hash(sid), self.operator_id, self.id, now_epoch() - 5))
        self.sid = sid
        return sid

    def kill_session(self, how: str) -> str:
        """Make the player's ``sid`` dead: replaced, deleted, expired, or an unknown random one."""
        old = self.sid
        if how == "replaced":
            self.new_session()
            self.sid = old
        elif how == "deleted":
            self.end_session()
        elif how == "expired":
            self.expired_session()
        elif how == "unknown":
            self.sid = "kassa_sid_" + uuidlib.uuid4().hex + uuidlib.uuid4().hex
        else:
            raise ValueError(how)
        return self.sid


def _num(amount: Any) -> Any:
    # Amounts written as text in the tests ("12.345678") travel as exact JSON numbers.
    return D(amount) if isinstance(amount, str) else amount


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass(frozen=True)
class Ledger:
    balance: Decimal
    bonus: Decimal
    version: int
    status: str
    # Applied entries, oldest first: (type, amount, betId).
    history: list[tuple[str, Decimal, str | None]]
    raw_balance: str
    entries: list[dict[str, Any]]


def read_ledger(api: Api, player_id: str) -> Ledger:
    wallet = api.get(f"/v1/wallets/{player_id}")
    assert wallet.status == 200, wallet.body
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/v1/wallets/{player_id}/transactions", query=query)
        assert page.status == 200, page.body
        items += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if not cursor:
            break
    items.reverse()
    w = wallet.json()
    return Ledger(
        balance=D(w["balance"]),
        bonus=D(w["bonus"]),
        version=w["version"],
        status=w["status"],
        history=[(item["type"], D(item["amount"]), item["betId"]) for item in items],
        raw_balance=w["balance"],
        entries=items,
    )


def assert_ledger(
    now: Ledger, balance: Any, history: list[tuple[str, Any, str | None]], bonus: Any = 0, status: str = "active"
) -> None:
    """The wallet holds exactly ``balance``/``bonus`` and its applied history is exactly ``history``
    (oldest first); the version is the number of applied entries, so nothing else was written."""
    assert now.history == [(kind, D(amount), bet) for kind, amount, bet in history], now.history
    assert now.balance == D(balance), now
    assert now.bonus == D(bonus), now
    assert now.version == len(history), now
    assert now.status == status, now


@pytest.fixture
def ow(base_url: str, demo: DemoCredentials) -> OneWalletClient:
    return OneWalletClient(base_url, demo.onewallet_token)


PlayerFactory = Callable[..., Player]


@pytest.fixture
def players(api: Api) -> PlayerFactory:
    """``players(deposit="100", currency="EUR", session=True, api=...)``: a new player, ready to play."""

    def make(
        deposit: str | None = "100",
        currency: str = "EUR",
        session: bool = True,
        api: Api = api,
        operator_id: str = "demo",
    ) -> Player:
        player_id = api.open_wallet(currency)
        if deposit is not None:
            moved = api.move(player_id, "deposit", deposit)
            assert moved.status == 201, moved.body
        player = Player(player_id, "", currency, api, operator_id)
        if session:
            player.new_session()
        return player

    return make


@pytest.fixture
def ledger(api: Api) -> Callable[[Player], Ledger]:
    def read(player: Player) -> Ledger:
        return read_ledger(player.api, player.id)

    return read


@dataclass
class OtherOperator:
    operator_id: str
    api: Api
    ow: OneWalletClient


@pytest.fixture
def other_operator(gateway: LocalGateway, base_url: str) -> Callable[..., OtherOperator]:
    """A fresh operator (its own API key and One Wallet token), e.g. with ``promo_balance="bonus"``."""
    from kassa import operators
    from kassa.store.access_store import AccessStore

    def make(promo_balance: str = "cash") -> OtherOperator:
        operator_id = new_id("op")
        created = operators.create_operator(AccessStore(), operator_id, promo_balance=promo_balance)
        return OtherOperator(
            operator_id, Api(gateway, created.api_key), OneWalletClient(base_url, created.onewallet_token)
        )

    return make


def partition(player: Player) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every stored item of the player's wallet partition (wallet, applied and rejected entries, bets)
    and the player's session item, read straight from DynamoDB: equal snapshots mean nothing was written."""
    from kassa import auth
    from kassa.settings import settings
    from kassa.store import keys
    from kassa.store.client import dynamodb

    client, table = dynamodb(), settings().table_name
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": keys.wallet_pk(player.operator_id, player.id)}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = client.query(**query)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    session = client.get_item(
        TableName=table, Key=keys.session(player.operator_id, auth.secret_hash(player.sid)), ConsistentRead=True
    ).get("Item")
    return items, session


class InProcessOneWallet:
    """The same calls through the in-process gateway (``FunctionRunner``): the handler runs in this
    process, so its DynamoDB client can be observed (request counts) or disturbed (lost responses)."""

    def __init__(self, gateway: LocalGateway, token: str) -> None:
        self.gateway = gateway
        self.token = token

    def call(self, method: str, body: Any) -> dict[str, Any]:
        response = self.gateway.handle(
            "POST",
            f"/onewallet/{method}",
            f"authToken={self.token}",
            {"content-type": "application/json"},
            dumps(body).encode(),
        )
        assert response.status == 200, (response.status, response.body)
        assert response.headers.get("content-type") == "application/json", response.headers
        reply = parse(response.body.decode())
        if isinstance(body, dict) and isinstance(body.get("uuid"), str):
            assert reply["uuid"] == body["uuid"], reply
        return reply


@pytest.fixture
def inproc(gateway: LocalGateway, demo: DemoCredentials) -> InProcessOneWallet:
    return InProcessOneWallet(gateway, demo.onewallet_token)
