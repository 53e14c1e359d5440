"""Native API: player sessions (what a game launch hands to a provider as ``sid``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import Field

from kassa import auth, sessions
from kassa.api.http import json_response, principal
from kassa.api.models import Identifier, Model, Request, answers, problems, whole_number
from kassa.store.session_store import SessionStore

router = Router()


class SessionCreate(Request):
    playerId: Identifier
    ttlSeconds: whole_number(sessions.MIN_TTL_SECONDS, sessions.MAX_TTL_SECONDS) | None = None  # type: ignore[valid-type]


class SessionOut(Model):
    sid: str = Field(description="Shown once; Kassa stores only its hash")
    playerId: str
    expiresAt: str


@router.post(
    "/v1/sessions",
    summary="Open a player session; it ends the player's previous one",
    responses={
        **answers(SessionOut, 201, "Created"),
        **problems(400, 403, 404, 422),
    },
)
def create_session(body: Annotated[SessionCreate, Body()]) -> Response[SessionOut]:
    caller = principal(router, auth.SESSIONS)
    opened = sessions.open_session(SessionStore(), caller.operator_id, body.playerId, body.ttlSeconds)
    expires = datetime.fromtimestamp(opened.session.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json_response(201, SessionOut(sid=opened.sid, playerId=body.playerId, expiresAt=expires))


@router.delete(
    "/v1/sessions/<sid>",
    summary="End a session",
    responses={204: {"description": "Ended"}, **problems(403, 404, 422)},
)
def delete_session(sid: Annotated[str, Path(min_length=1, max_length=256)]) -> Response[None]:
    caller = principal(router, auth.SESSIONS)
    sessions.close_session(SessionStore(), caller.operator_id, sid)
    return Response(status_code=204, body=None)
