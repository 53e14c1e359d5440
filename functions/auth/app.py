"""Auth function: player sessions and API keys of the native API, and One Wallet's check and sid methods."""

from kassa.api import audit, keys, sessions
from kassa.api.http import http_function
from kassa.onewallet.router import session_router

app, lambda_handler = http_function(sessions.router, keys.router, audit.router, session_router)
