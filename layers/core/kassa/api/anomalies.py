"""Native API: anomalies (``kassa.anomaly``), scope audit:read, and the operator's thresholds, scope admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import Field

from kassa import audit_log, auth, errors
from kassa.anomaly.rules import AMOUNT_SCALE, Rule, Severity, day_of
from kassa.api.http import origin, principal
from kassa.api.models import DecimalString, Identifier, Model, Request, answers, problems
from kassa.api.windows import time_window
from kassa.audit_log import AuditRecord
from kassa.errors import InvalidAmount
from kassa.money import parse_decimal_text, to_units
from kassa.store.anomaly_store import AnomalyStore

router = Router()

PositiveCount = Annotated[int, Field(gt=0, le=1_000_000)]


class AnomalyOut(Model):
    anomalyId: str
    rule: str
    severity: str
    playerId: str
    at: str
    transactionIds: list[str]
    values: dict[str, Any]


class AnomalyPage(Model):
    items: list[AnomalyOut]
    nextCursor: str | None


class AnomalyRules(Model):
    largeWinAmount: str = Field(description="a win at or above this (in the wallet's currency) is large")
    largeWinMultiple: int = Field(description="a win at or above this many times its stake is large")
    maxMovementsPerMinute: int
    minWagerRatio: str = Field(description="of the deposits since the previous withdrawal, to wager first")
    maxRejectionsPerMinute: int


class AnomalyRulesChange(Request):
    """The thresholds to change; those left out keep their values."""

    largeWinAmount: DecimalString | None = None
    largeWinMultiple: PositiveCount | None = None
    maxMovementsPerMinute: PositiveCount | None = None
    # A JSON number or a decimal string; JSON numbers reach here as Decimal (kassa.jsonio), never float.
    minWagerRatio: Annotated[Decimal, Field(ge=0, le=1, strict=False, allow_inf_nan=False)] | None = None
    maxRejectionsPerMinute: PositiveCount | None = None


@router.get(
    "/v1/anomalies",
    summary="Money that behaved strangely, newest first",
    responses={**answers(AnomalyPage), **problems(403, 422)},
)
def list_anomalies(
    playerId: Annotated[Identifier | None, Query()] = None,
    rule: Annotated[Rule | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    since: Annotated[str | None, Query(max_length=64, examples=["2026-12-01T00:00:00Z"])] = None,
    until: Annotated[str | None, Query(max_length=64, examples=["2026-12-31T23:59:59Z"])] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AnomalyPage:
    caller = principal(router, auth.AUDIT_READ)
    window = time_window(caller.operator_id, since, until)
    filters = {name: value for name, value in (("playerId", playerId), ("rule", rule), ("severity", severity)) if value}
    items, next_cursor = AnomalyStore().page(caller.operator_id, window, filters, limit, cursor)
    return AnomalyPage(items=[AnomalyOut(**item) for item in items], nextCursor=next_cursor)


@router.get(
    "/v1/anomalies/<anomalyId>",
    summary="One anomaly",
    responses={**answers(AnomalyOut), **problems(403, 404, 422)},
)
def get_anomaly(anomalyId: Annotated[str, Path(pattern=r"^[0-9]{8}T[0-9]{12}-[0-9a-f]{16}$")]) -> AnomalyOut:
    caller = principal(router, auth.AUDIT_READ)
    day = day_of(anomalyId)
    digits = anomalyId[:8] + anomalyId[9:21]
    at = f"{day}T{digits[8:10]}:{digits[10:12]}:{digits[12:14]}.{anomalyId[15:21]}Z" if day else ""
    found = AnomalyStore().get(caller.operator_id, anomalyId, at) if day else None
    if found is None:
        raise errors.AnomalyNotFound()
    return AnomalyOut(**found)


@router.get(
    "/v1/settings/anomaly-rules",
    summary="The operator's anomaly thresholds (the defaults until it sets its own)",
    responses={**answers(AnomalyRules), **problems(403)},
)
def get_rules() -> AnomalyRules:
    caller = principal(router, auth.ADMIN)
    return AnomalyRules(**AnomalyStore().thresholds(caller.operator_id).as_dict())


@router.put(
    "/v1/settings/anomaly-rules",
    summary="Change thresholds; entries committed from now on are checked against them",
    responses={**answers(AnomalyRules), **problems(400, 403, 422)},
)
def put_rules(body: Annotated[AnomalyRulesChange, Body()]) -> AnomalyRules:
    caller = principal(router, auth.ADMIN)
    store = AnomalyStore()
    before = store.thresholds(caller.operator_id)
    after = before.changed(
        large_win_amount=_amount(body.largeWinAmount),
        large_win_multiple=body.largeWinMultiple,
        max_movements_per_minute=body.maxMovementsPerMinute,
        min_wager_ratio=body.minWagerRatio,
        max_rejections_per_minute=body.maxRejectionsPerMinute,
    )
    details = {"anomalyRules": {"before": before.as_dict(), "after": after.as_dict()}}
    target = {"operatorId": caller.operator_id}
    request_id = origin(router).request_id or None
    record = AuditRecord(caller.operator_id, audit_log.SETTINGS_CHANGED, caller.actor, target, details, request_id)
    store.put_thresholds(caller.operator_id, after, record)
    return AnomalyRules(**after.as_dict())


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = parse_decimal_text(text)
        to_units(amount, AMOUNT_SCALE)
    except InvalidAmount as error:
        raise errors.InvalidRequest(f"largeWinAmount: {error.detail}") from None
    if amount <= 0:
        raise errors.InvalidRequest("largeWinAmount: must be greater than 0")
    return amount
