"""Native API: the audit trail of privileged acts (``kassa.audit_log``), newest first; scope audit:read."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from kassa import audit_log, auth, errors
from kassa.api.http import principal
from kassa.api.models import Model, answers, problems
from kassa.api.windows import time_window
from kassa.store.audit_store import AuditStore

router = Router()


class AuditRecordOut(Model):
    eventId: str
    at: str
    action: str
    actor: dict[str, str]
    target: dict[str, str]
    details: dict[str, Any]
    requestId: str | None


class AuditPage(Model):
    items: list[AuditRecordOut]
    nextCursor: str | None


@router.get(
    "/v1/audit-log",
    summary="Who did what: the operator's privileged acts, newest first",
    responses={**answers(AuditPage), **problems(403, 422)},
)
def audit_log_page(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    action: Annotated[str | None, Query(max_length=64, json_schema_extra={"enum": list(audit_log.ACTIONS)})] = None,
    since: Annotated[str | None, Query(max_length=64, examples=["2026-12-01T00:00:00Z"])] = None,
    until: Annotated[str | None, Query(max_length=64, examples=["2026-12-31T23:59:59Z"])] = None,
) -> AuditPage:
    caller = principal(router, auth.AUDIT_READ)
    if action is not None and action not in audit_log.ACTIONS:
        raise errors.InvalidRequest(f"action must be one of {', '.join(audit_log.ACTIONS)}")
    window = time_window(caller.operator_id, since, until)
    items, next_cursor = AuditStore().page(caller.operator_id, window, action, limit, cursor)
    return AuditPage(items=[AuditRecordOut(**item) for item in items], nextCursor=next_cursor)
