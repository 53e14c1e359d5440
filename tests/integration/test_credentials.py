"""Who may call what: the gateway's 401/403, scopes, and tenant isolation."""

from __future__ import annotations

from kassa import operators
from kassa.store.access_store import AccessStore
from kassa_dev.gateway import LocalGateway
from tests.conftest import Api, new_id


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
