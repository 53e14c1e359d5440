"""Native API: reconciliation runs and the audit of one wallet (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import Field

from kassa import auth, errors
from kassa.api.http import json_response, origin, principal
from kassa.api.models import Identifier, Model, Request, answers, problems
from kassa.reconcile import runs
from kassa.store.reconcile_store import ReconcileStore

router = Router()
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
R = TypeVar("R", bound=Model)


class RunCreate(Request):
    type: Literal["audit", "report"]
    s3Key: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class RunStarted(Model):
    runId: str
    status: str


class RunSummary(Model):
    runId: str
    type: str
    # An audit's: "full" (asked for: every entry) or "incremental" (hourly: from each wallet's checkpoint).
    mode: str | None = None
    # An audit's walk: wallets audited, whether it reached the last, where the next goes on (a full audit
    # too long for one invocation goes on in the next, a pending run again; an hourly one, next hour).
    walk: dict[str, Any] | None = None
    status: str
    createdAt: str
    completedAt: str | None = None
    s3Key: str | None = None
    resultsKey: str | None = None
    error: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)


class RunOut(RunSummary):
    findings: list[dict[str, Any]] = Field(
        description="a page of the run's findings: kind, playerId, version, transactionId, action, detail (amounts "
        "in currency units), foundAt; a provider report's unreadable row is kind invalid_record with its line"
    )
    nextCursor: str | None


class RunPage(Model):
    items: list[RunSummary] = Field(description="newest first")
    nextCursor: str | None


class FindingPage(Model):
    items: list[dict[str, Any]] = Field(
        description="kind, playerId, version, transactionId, action, detail (amounts in currency units), foundAt"
    )
    nextCursor: str | None


class WalletAudit(Model):
    playerId: str
    consistent: bool
    version: int
    entries: int
    findings: list[dict[str, Any]]


@router.post(
    "/v1/reconciliations",
    summary="Start a run: a full audit of the operator's wallets, or a provider report from S3",
    responses={
        **answers(RunStarted, 202, "Started"),
        **problems(400, 403, 422),
    },
)
def start(body: Annotated[RunCreate, Body()]) -> Response[RunStarted]:
    caller = principal(router, auth.RECONCILE)
    if body.type == "report" and not body.s3Key:
        raise errors.InvalidRequest("s3Key is required for a report run")
    run_id = runs.start_run(
        caller.operator_id, body.type, body.s3Key, actor=caller.actor, request_id=origin(router).request_id
    )
    return json_response(202, RunStarted(runId=run_id, status="pending"))


@router.get(
    "/v1/reconciliations",
    summary="The operator's reconciliation runs, newest first",
    responses={**answers(RunPage), **problems(403, 422)},
)
def list_runs(limit: Limit = 25, cursor: Cursor = None) -> RunPage:
    caller = principal(router, auth.RECONCILE)
    found, next_cursor = ReconcileStore().runs(caller.operator_id, limit, cursor)
    return RunPage(items=[_summary(RunSummary, run) for run in found], nextCursor=next_cursor)


@router.get(
    "/v1/findings",
    summary="What the stream verifier found in the operator's ledger (findings of runs are under their run)",
    responses={**answers(FindingPage), **problems(403, 422)},
)
def list_findings(limit: Limit = 25, cursor: Cursor = None) -> FindingPage:
    caller = principal(router, auth.RECONCILE)
    found, next_cursor = ReconcileStore().findings(caller.operator_id, None, limit, cursor)
    return FindingPage(items=found, nextCursor=next_cursor)


@router.get(
    "/v1/reconciliations/<runId>",
    summary="A run: status, counts per class, findings (paginated)",
    responses={**answers(RunOut), **problems(403, 404, 422)},
)
def get_run(runId: RunId, limit: Annotated[int, Query(ge=1, le=500)] = 100, cursor: Cursor = None) -> RunOut:
    caller = principal(router, auth.RECONCILE)
    store = ReconcileStore()
    run = store.get_run(caller.operator_id, runId)
    if run is None:
        raise errors.RunNotFound()
    found, next_cursor = store.findings(caller.operator_id, runId, limit, cursor)
    return _summary(RunOut, run, findings=found, nextCursor=next_cursor)


def _summary(model: type[R], run: dict[str, Any], **more: Any) -> R:
    """``model`` from a stored run (which may keep fields the API does not show) and ``more``."""
    return model(**{k: v for k, v in run.items() if k in model.model_fields}, **more)


@router.get(
    "/v1/wallets/<playerId>/audit",
    summary="Verify one wallet against its ledger now",
    responses={**answers(WalletAudit), **problems(403, 404, 422)},
)
def audit_wallet(playerId: Annotated[Identifier, Path()]) -> WalletAudit:
    caller = principal(router, auth.RECONCILE)
    return WalletAudit(**runs.audit_one_wallet(caller.operator_id, playerId))
