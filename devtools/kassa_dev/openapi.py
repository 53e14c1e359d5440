"""The OpenAPI document, generated from the routes themselves (``make openapi`` writes docs/openapi.json;
a test fails when the committed file drifts from what the code generates)."""

from __future__ import annotations

import json
import sys

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from kassa.api import routers
from kassa.api.http import build_resolver


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
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
