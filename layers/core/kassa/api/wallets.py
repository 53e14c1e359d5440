"""Native API: health and wallets."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from kassa import audit_log, auth, ledger
from kassa.api.http import json_response, origin, principal
from kassa.api.models import (
    Health,
    Identifier,
    StatusChange,
    WalletCreate,
    WalletOut,
    WalletPage,
    answers,
    problems,
    wallet_out,
)
from kassa.audit_log import AuditRecord
from kassa.domain.model import WalletStatus
from kassa.store.ledger_store import LedgerStore

router = Router()
NO_REASON = StatusChange()  # lock and unlock without a body
PlayerId = Annotated[Identifier, Path()]
# The start of a player id: what an Identifier may hold, possibly nothing.
PlayerIdPrefix = Annotated[str, Query(max_length=128, pattern=r"^[A-Za-z0-9._:@-]*$")]


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


@router.get(
    "/v1/wallets",
    summary="The operator's wallets, in player id order, optionally those whose player id starts with a prefix",
    description="A listing may miss a wallet opened a moment ago (it is found through an eventually "
    "consistent index); each balance listed is read strongly consistent.",
    responses={**answers(WalletPage), **problems(403, 422)},
)
def list_wallets(
    prefix: PlayerIdPrefix = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> WalletPage:
    caller = principal(router, auth.READ)
    wallets, next_cursor = _store().wallets(caller.operator_id, prefix, limit, cursor)
    return WalletPage(items=[wallet_out(wallet) for wallet in wallets], nextCursor=next_cursor)


@router.post(
    "/v1/wallets/<playerId>/lock",
    summary="Lock a wallet: bets and withdrawals are refused",
    responses={**answers(WalletOut), **problems(400, 403, 404, 422)},
)
def lock_wallet(playerId: PlayerId, body: Annotated[StatusChange, Body()] = NO_REASON) -> WalletOut:
    return _set_status(playerId, WalletStatus.LOCKED, audit_log.WALLET_LOCKED, body)


@router.post(
    "/v1/wallets/<playerId>/unlock",
    summary="Unlock a wallet",
    responses={**answers(WalletOut), **problems(400, 403, 404, 422)},
)
def unlock_wallet(playerId: PlayerId, body: Annotated[StatusChange, Body()] = NO_REASON) -> WalletOut:
    return _set_status(playerId, WalletStatus.ACTIVE, audit_log.WALLET_UNLOCKED, body)


def _set_status(player_id: str, status: WalletStatus, action: str, body: StatusChange) -> WalletOut:
    """Lock or unlock, recorded in the audit trail with who did it and why (when a reason is given)."""
    caller = principal(router, auth.LOCK)
    details = {"reason": body.reason} if body.reason else {}
    target = {"playerId": player_id}
    record = AuditRecord(caller.operator_id, action, caller.actor, target, details, origin(router).request_id or None)
    return wallet_out(_store().set_wallet_status(caller.operator_id, player_id, status, record))
