"""Wallet function: health, wallets, and (issue 3) the One Wallet money methods."""

from typing import Any

from kassa.api import wallets
from kassa.api.http import build_resolver
from kassa.observability import lambda_handler as observed

app = build_resolver(wallets.router)


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return app.resolve(event, context)
