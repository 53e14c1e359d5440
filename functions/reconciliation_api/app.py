"""Reconciliation API function: the reconciliation routes of the native API (runs, findings, a wallet's
audit, anomalies and their rules); the runs themselves execute in the reconciliation function."""

from kassa.api import reconciliation_routers
from kassa.api.http import http_function

app, lambda_handler = http_function(*reconciliation_routers())
