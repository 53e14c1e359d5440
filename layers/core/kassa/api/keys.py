"""Native API: an operator's API keys, delegated down a hierarchy (``kassa.apikeys``); scope keys:manage."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import Field

from kassa import apikeys, auth
from kassa.api.http import json_response, origin, principal
from kassa.api.models import Model, Request, answers, problems
from kassa.store.access_store import AccessStore

router = Router()

KeyId = Annotated[str, Path(pattern=r"^[a-f0-9]{1,64}$")]
Scope = Literal[
    "wallets:read",
    "wallets:write",
    "sessions:write",
    "admin",
    "wallets:lock",
    "adjustments:write",
    "reconcile",
    "audit:read",
    "keys:manage",
]
Role = Literal["owner", "finance", "support", "integration", "readonly"]


class KeyCreate(Request):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(auth.SCOPES))] | None = None
    role: Role | None = None
    expiresAt: Annotated[str, Field(min_length=1, max_length=64, examples=["2027-06-30T00:00:00Z"])] | None = None


class KeyOut(Model):
    keyId: str
    name: str
    scopes: list[str]
    role: str | None
    parentKeyId: str | None
    createdAt: str
    expiresAt: str | None


class KeyCreated(KeyOut):
    apiKey: str = Field(description="Shown this once; Kassa stores only its hash")


class KeyPage(Model):
    items: list[KeyOut]
    nextCursor: str | None


@router.post(
    "/v1/keys",
    summary="Create an API key under the caller's own, with no scope the caller lacks",
    responses={**answers(KeyCreated, 201, "Created"), **problems(400, 403, 422)},
)
def create_key(body: Annotated[KeyCreate, Body()]) -> Response[KeyCreated]:
    caller = principal(router, auth.KEYS)
    created = apikeys.create_api_key(
        AccessStore(),
        caller.operator_id,
        body.name,
        scopes=body.scopes,
        role=body.role,
        expires_at=body.expiresAt,
        creator=caller,
        actor=caller.actor,
        request_id=origin(router).request_id,
    )
    return json_response(201, KeyCreated(**created.key.as_dict(), apiKey=created.api_key))


@router.get(
    "/v1/keys",
    summary="The operator's API keys (never a secret nor its hash)",
    responses={**answers(KeyPage), **problems(403, 422)},
)
def list_keys(
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> KeyPage:
    caller = principal(router, auth.KEYS)
    found, next_cursor = apikeys.list_api_keys(AccessStore(), caller.operator_id, limit, cursor)
    return KeyPage(items=[KeyOut(**key.as_dict()) for key in found], nextCursor=next_cursor)


@router.get(
    "/v1/keys/<keyId>",
    summary="One API key",
    responses={**answers(KeyOut), **problems(403, 404, 422)},
)
def get_key(keyId: KeyId) -> KeyOut:
    caller = principal(router, auth.KEYS)
    return KeyOut(**apikeys.get_api_key(AccessStore(), caller.operator_id, keyId).as_dict())


@router.delete(
    "/v1/keys/<keyId>",
    summary="Revoke an API key and every key created under it, from their next request on",
    responses={204: {"description": "Revoked"}, **problems(403, 404, 422)},
)
def revoke_key(keyId: KeyId) -> Response[None]:
    caller = principal(router, auth.KEYS)
    apikeys.revoke_api_key(
        AccessStore(), caller.operator_id, keyId, by=caller, actor=caller.actor, request_id=origin(router).request_id
    )
    return Response(status_code=204, body=None)
