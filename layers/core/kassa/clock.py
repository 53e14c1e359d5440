"""Time as the ledger records it: UTC, ISO 8601, microseconds (sortable as text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kassa import errors


def iso(at: datetime) -> str:
    """An instant as the ledger writes it (UTC, microseconds): comparable as text with any other."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso_ago(span: timedelta) -> str:
    """The instant ``span`` ago, as ``iso`` writes it."""
    return iso(datetime.now(UTC) - span)


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 date and time with its time zone, in UTC; else InvalidRequest naming ``name``."""
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise errors.InvalidRequest(f"{name} must be an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise errors.InvalidRequest(f"{name} must carry a time zone (e.g. Z)")
    return when.astimezone(UTC)


def now_epoch() -> int:
    return int(datetime.now(UTC).timestamp())
