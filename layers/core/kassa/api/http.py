"""The native API's resolver: validation, problem+json errors, the caller's principal."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from kassa import auth, deadline, errors, jsonio, observability, startup
from kassa.api.problems import PROBLEM_JSON, from_error, problem
from kassa.domain.model import NATIVE, Origin
from kassa.observability import Handler, logger
from kassa.settings import settings

# API Gateway HTTP APIs accept bodies up to 10 MB; a wallet request is a few hundred bytes.
MAX_BODY_BYTES = 16 * 1024


def build_resolver(*routers: Any) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=_json_object)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[str]:
        issues = [_issue(item) for item in error.errors()]
        malformed = any(item.get("type") == "json_invalid" for item in error.errors())
        status = 400 if malformed else 422
        detail = _malformed_detail(error) if malformed else "; ".join(i["message"] for i in issues)
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


def _malformed_detail(error: RequestValidationError) -> str:
    reasons = [item.get("ctx", {}).get("error") for item in error.errors() if item.get("type") == "json_invalid"]
    reason = next((str(r) for r in reasons if r), "")
    return f"the body is not a valid JSON object: {reason}" if reason else "the body is not a valid JSON object"


def _json_object(text: str) -> dict[str, Any]:
    """Every native request body is a JSON object (Powertools would unwrap a one-element array)."""
    if len(text) > MAX_BODY_BYTES:
        raise json.JSONDecodeError(f"the body exceeds {MAX_BODY_BYTES} bytes", "", 0)
    body = jsonio.loads(text)  # raises json.JSONDecodeError for every kind of unreadable text
    if not isinstance(body, dict):
        raise json.JSONDecodeError("the body must be a JSON object", text, 0)
    return body


def _issue(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("type") == "json_invalid":
        return {"field": "body", "message": "body: not valid JSON"}
    location = [str(part) for part in item.get("loc", ()) if part != "body"]
    field = ".".join(location) or "body"
    return {"field": field, "message": f"{field}: {item.get('msg', 'invalid')}"}


@dataclass(frozen=True)
class Rehearsal:
    """What a function's init does so that the request that most often starts it finds everything built
    (docs/decisions.md 43): it resolves ``method path`` with ``body``, a valid request but for the
    credential the authorizer would have vouched for, which the route refuses at its first line (403): the
    route's match, its parameters' and body's validators and its handler's call are built, the problem
    answer too, and no DynamoDB call can leave the process meanwhile; it builds the models its answer is
    made of (``answers``), and rehearses the store calls it makes (``store``, up to the wire:
    ``kassa.store.rehearsal``)."""

    method: str
    path: str
    body: dict[str, Any]
    answers: tuple[type[BaseModel], ...]
    store: Callable[[], None]


def rehearse(app: APIGatewayHttpResolver, rehearsal: Rehearsal) -> None:
    event = {
        "version": "2.0",
        "routeKey": f"{rehearsal.method} {rehearsal.path}",
        "rawPath": rehearsal.path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": rehearsal.method, "path": rehearsal.path},
            "requestId": "rehearsal",
            "stage": "$default",
        },  # no "authorizer": no operator credential
        "body": json.dumps(rehearsal.body),
        "isBase64Encoded": False,
    }
    # Imported here: a function that rehearses nothing (the console) never imports botocore.
    from kassa.store.client import dynamodb
    from kassa.store.rehearsal import rehearsing

    with rehearsing(dynamodb(), {}):
        answer = handle(app, event, None)
    status = answer.get("statusCode")
    if status != 403:  # the route or its body changed: the rehearsal built less than it should
        logger.warning("init's rehearsal was not refused for its credential", extra={"status": status})
    for model in rehearsal.answers:
        model.model_rebuild()
    rehearsal.store()


def http_function(*routers: Any, rehearsal: Rehearsal | None = None) -> tuple[APIGatewayHttpResolver, Handler]:
    """A function's resolver over ``routers`` and its Lambda handler (logging, metrics, tracing); in
    Lambda, its init rehearses ``rehearsal``."""
    app = build_resolver(*routers)
    if rehearsal is not None and startup.initialising():
        try:
            rehearse(app, rehearsal)
        except Exception:  # a rehearsal saves time; failing, it must not cost the function its start
            logger.exception("init's rehearsal failed")

    @observability.lambda_handler
    def lambda_handler(event: dict[str, Any], context: Any) -> Any:
        # One retry budget for everything the request does (kassa.deadline).
        with deadline.request(settings().retry_budget_seconds):
            return handle(app, event, context)

    return app, lambda_handler


def handle(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve a native API request, refusing first what the resolver would misread.

    Powertools parses a body by its content type (a form body would become fields) before any middleware
    of ours can run, so the checks that must come first are here.
    One Wallet routes are left alone: that protocol answers bad input in its own terms.
    """
    if not str(event.get("routeKey", "")).split(" ")[-1].startswith("/onewallet/"):
        refused = _refuse_unreadable(event)
        if refused is not None:
            return refused
        _keep_routable(event)
    return app.resolve(event, context)


# What Powertools cannot match inside a path parameter; API Gateway hands the path over decoded.
_UNROUTABLE_CHARACTER = re.compile(r"[^-._~()'!*:@,;=+&$%<> \[\]{}|^\w/]")


def _keep_routable(event: dict[str, Any]) -> None:
    """Re-encode what API Gateway decoded and Powertools cannot match in a parameter ('#', '?', '"', ...):
    /v1/wallets/a%23b then reaches its route and is refused as an invalid id (422), not as no route."""
    path = str(event.get("rawPath") or "")
    if not _UNROUTABLE_CHARACTER.search(path):
        return
    encoded = _UNROUTABLE_CHARACTER.sub(lambda match: quote(match.group(), safe=""), path)
    event["rawPath"] = encoded
    event.setdefault("requestContext", {}).setdefault("http", {})["path"] = encoded


def _refuse_unreadable(event: dict[str, Any]) -> dict[str, Any] | None:
    body = event.get("body") or ""
    if not body:
        return None
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _raw_problem(400, "the body is not UTF-8 text")
        event["body"], event["isBase64Encoded"] = body, False
    if len(body.encode()) > MAX_BODY_BYTES:
        return _raw_problem(413, f"the body exceeds {MAX_BODY_BYTES} bytes")
    # Whatever its label, a native body is read as JSON (and refused unless it is one JSON object):
    # Powertools would otherwise parse a form or multipart body into fields.
    event.setdefault("headers", {})["content-type"] = "application/json"
    return None


def _raw_problem(status: int, detail: str) -> dict[str, Any]:
    response = problem(status, "invalid_request", detail)
    return {"statusCode": status, "headers": {"Content-Type": PROBLEM_JSON}, "body": response.body}


def principal(app: APIGatewayHttpResolver, scope: str) -> auth.Principal:
    """The operator the authorizer vouched for, holding ``scope``, or Forbidden."""
    context = app.current_event.request_context.authorizer.get_lambda or {}
    operator_id = context.get("operatorId")
    if not operator_id:
        raise errors.Forbidden("no operator credential on this request")
    found = auth.Principal(
        str(operator_id),
        frozenset(str(context.get("scopes", "")).split()),
        str(context.get("keyId") or ""),
        str(context.get("keyName") or ""),
    )
    found.require(scope)
    return found


def origin(app: APIGatewayHttpResolver) -> Origin:
    """Where the current native request came from (kept on the entries it decides)."""
    return Origin(observability.request_id(app.current_event.raw_event), observability.trace_id(), NATIVE)


def json_response(status: int, body: BaseModel, headers: dict[str, str] | None = None) -> Response[Any]:
    """A model with a status other than 200 (Powertools validates and serializes it)."""
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)
