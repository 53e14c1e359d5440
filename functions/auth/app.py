"""Auth function: player sessions of the native API, and One Wallet's check and sid methods."""

from kassa.api import sessions
from kassa.api.http import http_function
from kassa.onewallet.router import session_router

app, lambda_handler = http_function(sessions.router, session_router)
