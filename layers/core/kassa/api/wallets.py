"""Native API: health and wallets."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from kassa import auth, ledger
from kassa.api.http import json_response, principal
from kassa.api.models import Health, Identifier, WalletCreate, WalletOut, answers, problems, wallet_out
from kassa.domain.model import WalletStatus
from kassa.store.ledger_store import LedgerStore

router = Router()
PlayerId = Annotated[Identifier, Path()]


def _store() -> LedgerStore:
    return LedgerStore()


@router.get("/health", summary="Liveness; needs no credential")
def health() -> Health:
    return Health(status="ok")


@router.post(
    "/v1/wallets",
    summary="Open a player's wallet",
    responses={
        **answers(WalletOut, 201, "Created"),
        **problems(400, 403, 409, 422),
    },
)
def create_wallet(body: Annotated[WalletCreate, Body()]) -> Response[WalletOut]:
    caller = principal(router, auth.WRITE)
    wallet = ledger.open_wallet(_store(), caller.operator_id, body.playerId, body.currency)
    return json_response(201, wallet_out(wallet))


@router.get(
    "/v1/wallets/<playerId>",
    summary="A wallet's balances",
    responses={**answers(WalletOut), **problems(403, 404, 422)},
)
def get_wallet(playerId: PlayerId) -> WalletOut:
    caller = principal(router, auth.READ)
    return wallet_out(_store().get_wallet(caller.operator_id, playerId))


@router.post(
    "/v1/wallets/<playerId>/lock",
    summary="Lock a wallet: bets and withdrawals are refused",
    responses={**answers(WalletOut), **problems(403, 404, 422)},
)
def lock_wallet(playerId: PlayerId) -> WalletOut:
    caller = principal(router, auth.LOCK)
    return wallet_out(_store().set_wallet_status(caller.operator_id, playerId, WalletStatus.LOCKED))


@router.post(
    "/v1/wallets/<playerId>/unlock",
    summary="Unlock a wallet",
    responses={**answers(WalletOut), **problems(403, 404, 422)},
)
def unlock_wallet(playerId: PlayerId) -> WalletOut:
    caller = principal(router, auth.LOCK)
    return wallet_out(_store().set_wallet_status(caller.operator_id, playerId, WalletStatus.ACTIVE))
