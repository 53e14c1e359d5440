"""Time as the ledger records it: UTC, ISO 8601, microseconds (sortable as text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(at: datetime) -> str:
    """An instant as the ledger writes it (UTC, microseconds): comparable as text with any other."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso_ago(span: timedelta) -> str:
    """The instant ``span`` ago, as ``iso`` writes it."""
    return iso(datetime.now(UTC) - span)


def now_epoch() -> int:
    return int(datetime.now(UTC).timestamp())
