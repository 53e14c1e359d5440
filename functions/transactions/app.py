"""Transactions function: money movements and ledger history of the native API."""

from typing import Any

from kassa.api import transactions
from kassa.api.http import build_resolver, handle
from kassa.observability import lambda_handler as observed

app = build_resolver(transactions.router)


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return handle(app, event, context)
