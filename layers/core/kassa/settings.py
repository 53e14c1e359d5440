"""The environment, read once and typed. Nothing else in the layer reads ``os.environ``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    table_name: str
    # How long a request keeps trying through conflicts and throttles (kassa.deadline): the native API,
    # One Wallet (a provider waits ~700 ms for an answer), and background work (audits, the stream).
    retry_budget_seconds: float
    onewallet_retry_budget_seconds: float
    batch_retry_budget_seconds: float
    # How long a resolved One Wallet token -> operator mapping is kept in memory. The token's hash is
    # still verified against a strongly consistent read on every call, so a rotation takes effect at once.
    credential_cache_seconds: int
    default_session_ttl_seconds: int
    # Reconciliation: where events go, where providers drop reports, where run reports are written.
    event_bus: str
    provider_reports_bucket: str
    results_bucket: str


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("KASSA_TABLE", "kassa-ledger"),
        retry_budget_seconds=int(os.environ.get("KASSA_RETRY_BUDGET_MS", "2000")) / 1000,
        onewallet_retry_budget_seconds=int(os.environ.get("KASSA_ONEWALLET_RETRY_BUDGET_MS", "600")) / 1000,
        batch_retry_budget_seconds=int(os.environ.get("KASSA_BATCH_RETRY_BUDGET_MS", "60000")) / 1000,
        credential_cache_seconds=int(os.environ.get("KASSA_CREDENTIAL_CACHE_SECONDS", "300")),
        default_session_ttl_seconds=int(os.environ.get("KASSA_SESSION_TTL_SECONDS", "3600")),
        event_bus=os.environ.get("KASSA_EVENT_BUS", "default"),
        provider_reports_bucket=os.environ.get("KASSA_PROVIDER_REPORTS_BUCKET", "kassa-provider-reports"),
        results_bucket=os.environ.get("KASSA_RESULTS_BUCKET", "kassa-reconciliation-results"),
    )
