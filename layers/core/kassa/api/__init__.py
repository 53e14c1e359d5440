"""The native REST API: Powertools routers, grouped per Lambda function in template.yaml."""

from __future__ import annotations

from typing import Any


def routers() -> list[Any]:
    """Every router of the native API (for documents that span functions, like the OpenAPI file)."""
    from kassa.api import anomalies, audit, keys, reconciliations, sessions, transactions, wallets

    return [
        wallets.router,
        transactions.router,
        sessions.router,
        keys.router,
        audit.router,
        reconciliations.router,
        anomalies.router,
    ]


def reconciliation_routers() -> tuple[Any, ...]:
    """The reconciliation routes: ReconciliationApiFunction's, and ReconciliationFunction's when a route's
    event is handed to it directly (``kassa invoke``, ``sam local invoke``), as before they had a function
    of their own."""
    from kassa.api import anomalies, reconciliations

    return (reconciliations.router, anomalies.router)
