"""Reconciliation function: stream verification and outbox, hourly audit, provider reports, and the
reconciliation routes of the native API; the logic is kassa.reconcile (each trigger's code is loaded
when that trigger first fires)."""

from typing import Any

from kassa.observability import lambda_handler as observed
from kassa.reconcile.handler import dispatch


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return dispatch(event, context)
