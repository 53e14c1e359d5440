"""Who may call what: the gateway's 401/403, scopes, and tenant isolation."""

from __future__ import annotations

import pytest

from kassa import apikeys, operators
from kassa.store import keys
from kassa.store.access_store import AccessStore
from kassa_dev.gateway import LocalGateway
from tests.conftest import Api, RequestCounter, new_id


def test_missing_authorization_is_401_from_the_gateway(anonymous: Api) -> None:
    response = anonymous.get("/v1/wallets/anyone")
    assert response.status == 401
    assert response.json() == {"message": "Unauthorized"}


def test_wrong_key_is_403_from_the_gateway(gateway: LocalGateway) -> None:
    response = Api(gateway, "kassa_key_not-a-real-key").get("/v1/wallets/anyone")
    assert response.status == 403
    assert response.json() == {"message": "Forbidden"}


def test_malformed_authorization_header_is_403(gateway: LocalGateway) -> None:
    api = Api(gateway, None)
    response = api.get("/v1/wallets/anyone", headers={"authorization": "Basic Zm9vOmJhcg=="})
    assert response.status == 403


def test_key_without_the_scope_is_403_forbidden_problem(gateway: LocalGateway, api: Api) -> None:
    player = api.open_wallet()
    reader = operators.create_operator(AccessStore(), new_id("ro"), scopes=("wallets:read",))
    read_only = Api(gateway, reader.api_key)
    response = read_only.post("/v1/wallets", {"playerId": "x", "currency": "EUR"})
    assert response.status == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "forbidden"
    # Only admin may lock or adjust.
    assert api.post(f"/v1/wallets/{player}/lock").status == 200
    writer = Api(
        gateway,
        operators.create_operator(AccessStore(), new_id("rw"), scopes=("wallets:read", "wallets:write")).api_key,
    )
    writer_player = writer.open_wallet()
    assert writer.post(f"/v1/wallets/{writer_player}/lock").json()["code"] == "forbidden"
    assert writer.move(writer_player, "adjustment", "1", reason="x").json()["code"] == "forbidden"
    assert writer.move(writer_player, "deposit", "1").status == 201


def test_another_operators_wallet_is_simply_not_found(gateway: LocalGateway, api: Api) -> None:
    player = api.open_wallet()
    api.move(player, "deposit", "10")
    other = Api(gateway, operators.create_operator(AccessStore(), new_id("other")).api_key)
    assert other.get(f"/v1/wallets/{player}").status == 404
    response = other.move(player, "withdrawal", "10")
    assert response.status == 404 and response.json()["code"] == "wallet_not_found"
    assert other.get(f"/v1/wallets/{player}/transactions").status == 404
    # The other operator may have a player with the same id: a different wallet.
    assert other.open_wallet(player=player) == player
    assert api.balance(player) != other.balance(player)


def test_a_key_found_by_the_index_is_confirmed_from_its_item_and_a_deleted_one_refused_at_once(
    counted: RequestCounter,
) -> None:
    """Cold: the ByCredential index (eventually consistent on DynamoDB) only points at the key item, which
    is then read strongly consistent before anything on it is trusted. Warm: only that read, so deleting
    the key refuses it on the very next request."""
    store = AccessStore()
    created = operators.create_operator(store, new_id("cache"))
    counted.calls.clear()
    assert apikeys.authenticate(store, created.api_key) is not None
    assert counted.calls == ["Query", "GetItem"]  # an operator's first key has no key above it
    counted.calls.clear()
    principal = apikeys.authenticate(store, created.api_key)
    assert principal is not None and principal.operator_id == created.operator_id
    assert principal.key_id == created.key_id
    assert counted.calls == ["GetItem"]

    store.client.delete_item(TableName=store.table, Key=keys.api_key(created.operator_id, created.key_id))
    assert apikeys.authenticate(store, created.api_key) is None
    # Forgotten: the next attempt asks the index again, which finds nothing either.
    counted.calls.clear()
    assert apikeys.authenticate(store, created.api_key) is None
    assert counted.calls == ["Query"]


def test_what_the_index_says_is_not_trusted_until_the_item_confirms_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index may lag the table on DynamoDB (moto's never does): an index entry still naming a key
    that was revoked must not let its secret in."""
    store = AccessStore()
    created = operators.create_operator(store, new_id("lag"))
    stale = store.get_api_key(created.operator_id, created.key_id)
    store.client.delete_item(TableName=store.table, Key=keys.api_key(created.operator_id, created.key_id))
    monkeypatch.setattr(store, "find_credential", lambda kind, secret_hash: stale)  # a lagging index
    assert apikeys.authenticate(store, created.api_key) is None


def test_a_cached_key_does_not_let_another_secret_in(counted: RequestCounter) -> None:
    store = AccessStore()
    created = operators.create_operator(store, new_id("cache"))
    assert apikeys.authenticate(store, created.api_key) is not None
    assert apikeys.authenticate(store, created.api_key + "x") is None
    assert apikeys.authenticate(store, created.api_key[:-1]) is None
