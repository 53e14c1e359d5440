"""Auth function: player sessions of the native API, and One Wallet's check and sid methods."""

from typing import Any

from kassa.api import sessions
from kassa.api.http import build_resolver, handle
from kassa.observability import lambda_handler as observed
from kassa.onewallet.router import session_router

app = build_resolver(sessions.router, session_router)


@observed
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return handle(app, event, context)
