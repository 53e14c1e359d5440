"""The time window of a log read (the audit trail, anomalies): ``since`` and ``until`` as ISO 8601 instants
with a time zone, inclusive; by default from the operator's creation to now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kassa import errors
from kassa.clock import iso, parse_instant
from kassa.store.access_store import AccessStore

# For an operator item that does not say when it was made: this far back.
DEFAULT_REACH = timedelta(days=400)


def time_window(operator_id: str, since: str | None, until: str | None) -> tuple[str, str]:
    newest = parse_instant(until, "until") if until else datetime.now(UTC)
    oldest = parse_instant(since, "since") if since else _created(operator_id, newest)
    if oldest > newest:
        raise errors.InvalidRequest("since must not be after until")
    return iso(oldest), iso(newest)


def _created(operator_id: str, newest: datetime) -> datetime:
    operator = AccessStore().get_operator(operator_id) or {}
    created = operator.get("createdAt", {}).get("S")
    return parse_instant(created, "createdAt") if created else newest - DEFAULT_REACH
