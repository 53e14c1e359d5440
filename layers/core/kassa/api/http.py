"""The native API's resolver: validation, problem+json errors, the caller's principal."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from kassa import auth, errors, jsonio
from kassa.api.problems import from_error, problem
from kassa.observability import logger

# API Gateway HTTP APIs accept bodies up to 10 MB; a wallet request is a few hundred bytes.
MAX_BODY_BYTES = 16 * 1024


def build_resolver(*routers: Any) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=jsonio.loads)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[str]:
        issues = [_issue(item) for item in error.errors()]
        malformed = any(item.get("type") == "json_invalid" for item in error.errors())
        status = 400 if malformed else 422
        detail = "the body is not valid JSON" if malformed else "; ".join(i["message"] for i in issues)
        return problem(status, "invalid_request", detail, errors=issues)

    @app.exception_handler(errors.KassaError)
    def domain_error(error: errors.KassaError) -> Response[str]:
        return from_error(error)

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        # Every write either commits whole or not at all, and a retry finds what was committed, so
        # asking the caller to retry is safe.
        logger.exception("unexpected error")
        return problem(503, "temporarily_unavailable", "unexpected error; retry")

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return problem(404, "not_found", "no such route")

    return app


def _issue(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("type") == "json_invalid":
        return {"field": "body", "message": "body: not valid JSON"}
    location = [str(part) for part in item.get("loc", ()) if part != "body"]
    field = ".".join(location) or "body"
    return {"field": field, "message": f"{field}: {item.get('msg', 'invalid')}"}


def principal(app: APIGatewayHttpResolver, scope: str) -> auth.Principal:
    """The operator the authorizer vouched for, holding ``scope``, or Forbidden."""
    context = app.current_event.request_context.authorizer.get_lambda or {}
    operator_id = context.get("operatorId")
    if not operator_id:
        raise errors.Forbidden("no operator credential on this request")
    found = auth.Principal(str(operator_id), frozenset(str(context.get("scopes", "")).split()))
    found.require(scope)
    return found


def check_body_size(app: APIGatewayHttpResolver) -> None:
    body = app.current_event.body or ""
    if len(body) > MAX_BODY_BYTES:
        raise errors.InvalidRequest(f"the body exceeds {MAX_BODY_BYTES} bytes")


def json_response(status: int, body: BaseModel, headers: dict[str, str] | None = None) -> Response[Any]:
    """A model with a status other than 200 (Powertools validates and serializes it)."""
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)
