"""Transactions function: money movements and ledger history of the native API."""

from kassa.api import transactions
from kassa.api.http import http_function

app, lambda_handler = http_function(transactions.router, rehearsal=transactions.MOVEMENT)
