"""The OpenAPI document, generated from the routes themselves (``make openapi`` writes docs/openapi.json;
a test fails when the committed file drifts from what the code generates)."""

from __future__ import annotations

import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from kassa.api import routers
from kassa.api.http import build_resolver
from kassa_dev import template

# What API Gateway itself answers when the authorizer refuses a request (the function never runs).
GATEWAY_MESSAGE = {
    "title": "GatewayMessage",
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
GATEWAY_REFUSALS = {
    "401": "No credential (the gateway's own answer)",
    "403": "Credential refused (the gateway's own answer), or lacking the route's scope (problem+json)",
}


def document() -> str:
    app = build_resolver(*routers())
    text = app.get_openapi_json_schema(
        title="Kassa",
        version="1.0.0",
        summary="Wallet and transaction ledger: exact balances, exactly-once money movements",
        description=(
            "Native REST API of Kassa. Amounts are decimal strings. Errors are application/problem+json "
            "with a stable `code`. Authenticate with `Authorization: Bearer <operator API key>`; "
            "the gateway answers 401/403 itself when the key is missing or refused."
        ),
        security_schemes={"operatorKey": HTTPBearer(description="Operator API key")},
        security=[{"operatorKey": []}],
    )
    return json.dumps(_as_the_gateway_serves_it(json.loads(text)), indent=2, sort_keys=True) + "\n"


def _as_the_gateway_serves_it(document: dict[str, Any]) -> dict[str, Any]:
    """What the routes cannot say about themselves: which routes the template leaves open, the
    gateway's own 401/403 bodies in front of the authorizer, and that a 204 has no body."""
    document.setdefault("components", {}).setdefault("schemas", {})["GatewayMessage"] = GATEWAY_MESSAGE
    refusal = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}}
    authorized = {(route.method.lower(), route.path): route.authorized for route in template.http_routes()}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            responses.get("204", {}).pop("content", None)
            if not authorized[(method, path)]:
                operation["security"] = []
                continue
            for status, description in GATEWAY_REFUSALS.items():
                entry = responses.setdefault(status, {"description": description})
                entry["description"] = description
                entry.setdefault("content", {}).update(refusal)
    return document


if __name__ == "__main__":
    sys.stdout.write(document())
