"""Wallet function: health, wallets, and the One Wallet balance and money methods."""

from typing import Any

from kassa.api import wallets
from kassa.api.http import build_resolver, handle
from kassa.observability import lambda_handler as observed
from kassa.onewallet.router import money_router

app = build_resolver(wallets.router, money_router)


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return handle(app, event, context)
