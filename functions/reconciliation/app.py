"""Reconciliation function: stream verification and outbox, hourly audit, provider reports, and the
reconciliation routes of the native API; the logic is kassa.reconcile."""

from typing import Any

from kassa.api import reconciliations
from kassa.api.http import build_resolver, handle
from kassa.observability import lambda_handler as observed
from kassa.reconcile.handler import dispatch

app = build_resolver(reconciliations.router)


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return dispatch(event, context, lambda http_event, http_context: handle(app, http_event, http_context))
