"""Native API: money movements and the ledger history."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from kassa import auth, errors, ledger
from kassa.api.http import Rehearsal, json_response, origin, principal
from kassa.api.models import (
    Identifier,
    RoundOut,
    TransactionCreate,
    TransactionOut,
    TransactionPage,
    TransactionResult,
    WalletOut,
    answers,
    problems,
    round_out,
    transaction_out,
    wallet_after,
)
from kassa.domain.model import Action
from kassa.domain.movements import MovementRequest
from kassa.domain.rounds import round_of
from kassa.money import parse_decimal_text
from kassa.observability import correlation_id
from kassa.store.ledger_store import LedgerStore

router = Router()
PlayerId = Annotated[Identifier, Path()]
REPLAYED_HEADER = "Idempotent-Replayed"

# A cold transactions function is most often started by a movement (a bet): its init rehearses one.
MOVEMENT = Rehearsal(
    "POST",
    "/v1/wallets/rehearsal/transactions",
    {"transactionId": "rehearsal", "type": "bet", "amount": "1", "betId": "rehearsal"},
    (TransactionResult, TransactionOut, WalletOut),
    lambda: LedgerStore().rehearse_movement(),
)


@router.post(
    "/v1/wallets/<playerId>/transactions",
    summary="Move money, exactly once per (transactionId, type)",
    responses={
        **answers(TransactionResult, 201, "Applied"),
        **answers(TransactionResult, 200, "Replay of an applied transaction (header Idempotent-Replayed: true)"),
        **problems(400, 403, 404, 409, 422, 423, 503),
    },
)
def create_transaction(
    playerId: PlayerId,
    body: Annotated[TransactionCreate, Body()],
) -> Response[TransactionResult]:
    caller = principal(router, auth.ADJUST if body.type == "adjustment" else auth.WRITE)
    request = MovementRequest(
        action=Action(body.type),
        transaction_id=body.transactionId,
        amount=parse_decimal_text(body.amount) if body.amount is not None else None,
        bet_id=body.betId,
        reason=body.reason,
        correlation_id=correlation_id(router.current_event.raw_event),
        origin=origin(router),
        actor=caller.actor,
    )
    store = LedgerStore()
    result = ledger.move_money(store, caller.operator_id, playerId, request)
    body_out = TransactionResult(
        transaction=transaction_out(result.entry, result.wallet), wallet=wallet_after(result.entry, result.wallet)
    )
    if result.replayed:
        return json_response(200, body_out, headers={REPLAYED_HEADER: "true"})
    return json_response(201, body_out)


@router.get(
    "/v1/wallets/<playerId>/transactions",
    summary="The wallet's applied transactions, newest first",
    responses={**answers(TransactionPage), **problems(403, 404, 422)},
)
def list_transactions(
    playerId: PlayerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> TransactionPage:
    caller = principal(router, auth.READ)
    store = LedgerStore()
    wallet = store.get_wallet(caller.operator_id, playerId)
    entries, next_cursor = store.history(caller.operator_id, playerId, limit, cursor)
    return TransactionPage(items=[transaction_out(entry, wallet) for entry in entries], nextCursor=next_cursor)


@router.get(
    "/v1/wallets/<playerId>/bets/<betId>",
    summary="The round of one bet (a One Wallet refId): every action decided on it, in commit order",
    responses={**answers(RoundOut), **problems(403, 404, 422)},
)
def get_round(playerId: PlayerId, betId: Annotated[Identifier, Path()]) -> RoundOut:
    caller = principal(router, auth.READ)
    store = LedgerStore()
    wallet = store.get_wallet(caller.operator_id, playerId)
    bet, entries = store.round(caller.operator_id, playerId, betId)
    if bet is None:
        raise errors.BetNotFound()
    return round_out(round_of(bet, entries), wallet)


@router.get(
    "/v1/wallets/<playerId>/transactions/<transactionId>",
    summary="One transaction; with several actions under the id, the latest (or the one named by type)",
    responses={**answers(TransactionOut), **problems(403, 404, 422)},
)
def get_transaction(
    playerId: PlayerId,
    transactionId: Annotated[Identifier, Path()],
    type: Annotated[str | None, Query()] = None,
) -> TransactionOut:
    caller = principal(router, auth.READ)
    store = LedgerStore()
    wallet = store.get_wallet(caller.operator_id, playerId)
    found = [e for e in store.entries_with_id(caller.operator_id, playerId, transactionId) if type in (None, e.action)]
    if not found:
        raise errors.TransactionNotFound()
    latest = max(found, key=lambda entry: (entry.created_at, entry.version))
    return transaction_out(latest, wallet)
