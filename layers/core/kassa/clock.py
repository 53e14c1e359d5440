"""Time as the ledger records it: UTC, ISO 8601, microseconds (sortable as text)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_epoch() -> int:
    return int(datetime.now(UTC).timestamp())
