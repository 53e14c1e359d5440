"""Wallet function: health, wallets, and the One Wallet balance and money methods."""

from kassa.api import wallets
from kassa.api.http import http_function
from kassa.onewallet.router import money_router

app, lambda_handler = http_function(wallets.router, money_router)
