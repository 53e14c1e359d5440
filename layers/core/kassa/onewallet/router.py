"""One Wallet's HTTP face: ``POST /onewallet/{method}?authToken=...``, always HTTP 200 with a status.

Two routers because template.yaml puts ``check`` and ``sid`` on the auth function and the money
methods on the wallet function. The routes stay out of the OpenAPI document: ONEWALLET.md is their
contract.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from kassa import jsonio
from kassa.domain.model import ONEWALLET, Origin
from kassa.observability import correlation_id, request_id, trace_id
from kassa.onewallet.protocol import OneWallet

session_router = Router()
money_router = Router()


def _answer(router: Router, method: str) -> Response[str]:
    event = router.current_event
    token = (event.query_string_parameters or {}).get("authToken")
    try:
        body = event.decoded_body if event.is_base64_encoded else event.body
    except UnicodeDecodeError:
        body = None  # not text: answered INVALID_PARAMETER like any unreadable body
    origin = Origin(request_id(event.raw_event), trace_id(), ONEWALLET)
    outcome = OneWallet(origin=origin).handle(method, token, body, correlation_id(event.raw_event))
    return Response(status_code=200, content_type="application/json", body=jsonio.dumps(outcome))


@session_router.post("/onewallet/check", include_in_schema=False)
def check() -> Response[str]:
    return _answer(session_router, "check")


@session_router.post("/onewallet/sid", include_in_schema=False)
def sid() -> Response[str]:
    return _answer(session_router, "sid")


@money_router.post("/onewallet/balance", include_in_schema=False)
def balance() -> Response[str]:
    return _answer(money_router, "balance")


@money_router.post("/onewallet/debit", include_in_schema=False)
def debit() -> Response[str]:
    return _answer(money_router, "debit")


@money_router.post("/onewallet/credit", include_in_schema=False)
def credit() -> Response[str]:
    return _answer(money_router, "credit")


@money_router.post("/onewallet/cancel", include_in_schema=False)
def cancel() -> Response[str]:
    return _answer(money_router, "cancel")


@money_router.post("/onewallet/promo_payout", include_in_schema=False)
def promo_payout() -> Response[str]:
    return _answer(money_router, "promo_payout")
