"""The HTTP API authorizer's logic: a bearer API key in, a simple allow/deny response out."""

from __future__ import annotations

from typing import Any

from kassa import apikeys, auth
from kassa.observability import logger
from kassa.store.access_store import AccessStore

DENY: dict[str, Any] = {"isAuthorized": False}


def authorize(event: dict[str, Any], store: AccessStore | None = None) -> dict[str, Any]:
    headers = event.get("headers") or {}
    token = auth.bearer_token(headers.get("authorization"))
    principal = apikeys.authenticate(store or AccessStore(), token)
    if principal is None:
        logger.info("API key refused")  # never the key itself
        return DENY
    return {
        "isAuthorized": True,
        "context": {
            "operatorId": principal.operator_id,
            "scopes": " ".join(sorted(principal.scopes)),
            "keyId": principal.key_id,
            "keyName": principal.key_name,
        },
    }
