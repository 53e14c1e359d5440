"""Issue 12 §3: the round view. GET /v1/wallets/{playerId}/bets/{betId} (a One Wallet round by its refId)
lists every action decided on the bet, applied and refused, in commit order, each with the request id
API Gateway gave the call (its apigw-requestid header) and the protocol it came through."""

from __future__ import annotations

from typing import Any

from kassa_dev.gateway import REQUEST_ID_HEADER, LocalGateway
from tests.conftest import Api
from tests.onewallet.conftest import Player, PlayerFactory, dumps


class Provider:
    """One Wallet calls through the gateway, keeping each call's request id."""

    def __init__(self, gateway: LocalGateway, token: str) -> None:
        self.gateway, self.token = gateway, token

    def call(self, method: str, body: dict[str, Any]) -> tuple[str, str]:
        response = self.gateway.handle(
            "POST", f"/onewallet/{method}", f"authToken={self.token}", {}, dumps(body).encode()
        )
        assert response.status == 200, response.body
        return response.json()["status"], response.headers[REQUEST_ID_HEADER]


def round_of(api: Api, player: Player, bet_id: str) -> Any:
    return api.get(f"/v1/wallets/{player.id}/bets/{bet_id}")


def test_a_one_wallet_round_lists_its_decided_actions_in_commit_order(
    gateway: LocalGateway, demo: Any, api: Api, players: PlayerFactory
) -> None:
    provider = Provider(gateway, demo.onewallet_token)
    player = players()
    debit = provider.call("debit", player.tx("d1", "round-1", "10"))
    credit = provider.call("credit", player.tx("c1", "round-1", "25"))
    duplicate = provider.call("credit", player.tx("c2", "round-1", "25"))  # a new id: refused, recorded
    late_cancel = provider.call("cancel", player.tx("d1", "round-1", "10"))
    other = provider.call("cancel", player.tx("x1", "round-2", "5"))  # another round's: not listed
    assert [debit[0], credit[0], duplicate[0], late_cancel[0], other[0]] == [
        "OK",
        "OK",
        "BET_ALREADY_SETTLED",
        "BET_ALREADY_SETTLED",
        "BET_DOES_NOT_EXIST",
    ]

    response = round_of(api, player, "round-1")
    assert response.status == 200, response.body
    view = response.json()
    assert {k: view[k] for k in ("betId", "state", "stake", "payout", "net", "currency")} == {
        "betId": "round-1",
        "state": "settled",
        "stake": "10.000000",
        "payout": "25.000000",
        "net": "15.000000",
        "currency": player.currency,
    }
    entries = view["entries"]
    assert [(e["transactionId"], e["type"], e["status"], e["code"]) for e in entries] == [
        ("d1", "bet", "applied", None),
        ("c1", "win", "applied", None),
        ("c2", "win", "rejected", "bet_already_settled"),
        ("d1", "refund", "rejected", "bet_already_settled"),
    ]
    assert [e["requestId"] for e in entries] == [debit[1], credit[1], duplicate[1], late_cancel[1]]
    assert {e["protocol"] for e in entries} == {"onewallet"}
    assert view["openedAt"] == entries[0]["at"] and view["closedAt"] == entries[1]["at"]

    tombstone = round_of(api, player, "round-2").json()
    assert (tombstone["state"], tombstone["stake"], tombstone["net"]) == ("tombstone", "0.000000", "0.000000")
    assert [(e["transactionId"], e["type"], e["requestId"]) for e in tombstone["entries"]] == [
        ("x1", "refund", other[1])
    ]


def test_an_open_and_a_cancelled_native_round(api: Api, players: PlayerFactory) -> None:
    player = players()
    placed = api.move(player.id, "bet", "4", transactionId="n-bet", betId="n-round")
    view = round_of(api, player, "n-round").json()
    assert (view["state"], view["payout"], view["net"], view["closedAt"]) == ("open", None, None, None)
    (entry,) = view["entries"]
    assert entry["protocol"] == "native" and entry["requestId"] == placed.headers[REQUEST_ID_HEADER]
    api.move(player.id, "refund", None, transactionId="n-refund", betId="n-round")
    view = round_of(api, player, "n-round").json()
    assert (view["state"], view["payout"], view["net"]) == ("cancelled", "4.000000", "0.000000")
    assert [e["type"] for e in view["entries"]] == ["bet", "refund"]
    # The transaction view shows the same origin.
    shown = api.get(f"/v1/wallets/{player.id}/transactions/n-bet").json()
    assert (shown["requestId"], shown["protocol"]) == (placed.headers[REQUEST_ID_HEADER], "native")


def test_an_unknown_bet_or_wallet_is_404_and_the_view_needs_wallets_read(
    api: Api, players: PlayerFactory, gateway: LocalGateway
) -> None:
    player = players()
    assert round_of(api, player, "never-played").json()["code"] == "bet_not_found"
    assert api.get("/v1/wallets/nobody-at-all/bets/r1").json()["code"] == "wallet_not_found"
    assert api.get(f"/v1/wallets/{player.id}/bets/bad%20id").status == 422
    made = api.post("/v1/keys", {"name": "no-read", "scopes": ["audit:read"]}).json()
    assert Api(gateway, made["apiKey"]).get(f"/v1/wallets/{player.id}/bets/x").json()["code"] == "forbidden"
    readonly = api.post("/v1/keys", {"name": "ro", "role": "readonly"}).json()
    assert Api(gateway, readonly["apiKey"]).get(f"/v1/wallets/{player.id}/bets/x").status == 404
