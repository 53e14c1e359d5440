"""Logs kept one partition per operator and UTC day (the audit trail, anomalies), read newest first.

An item's sort key starts with its instant (``{at}#{id}``), so a time window is a key range within each
day; a page walks back day by day, at most ``DAYS_PER_PAGE`` of them (empty ones cost a query each), and
past that may hold fewer items than asked, even none, with a cursor that goes on from where it stopped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from kassa import errors
from kassa.store.client import TableStore
from kassa.store.codec import Item, s, text

DAYS_PER_PAGE = 31


def newest_first(
    store: TableStore,
    pk_of_day: Callable[[str], str],
    window: tuple[str, str],
    filters: dict[str, str],
    limit: int,
    cursor: str | None,
) -> tuple[list[Item], str | None]:
    """Items at or after ``window[0]`` and at or before ``window[1]`` (instants as the ledger writes them)
    whose attributes equal ``filters``, newest first, ``limit`` at most; with the cursor that goes on, or
    None at the end."""
    since, until = window
    day, after = _position(cursor, until[:10], since[:10])
    found: list[Item] = []
    for _ in range(DAYS_PER_PAGE):
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :since AND :until",
            "ExpressionAttributeValues": {
                ":pk": s(pk_of_day(day)),
                ":since": s(since),
                ":until": s(f"{until}#~"),  # every id of the instant ``until``
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        if filters:
            names = {f"#f{i}": name for i, name in enumerate(filters)}
            query["FilterExpression"] = " AND ".join(f"#f{i} = :f{i}" for i in range(len(filters)))
            query["ExpressionAttributeNames"] = names
            query["ExpressionAttributeValues"].update({f":f{i}": s(v) for i, v in enumerate(filters.values())})
        if after:
            query["ExclusiveStartKey"] = {"pk": query["ExpressionAttributeValues"][":pk"], "sk": s(after)}
        # A page of the day wants only what the listing still lacks (DynamoDB reads, and charges, up to 1 MB
        # of the day otherwise); with a filter, more may be read to find them.
        for item in store.pages(first_page=limit - len(found), **query):
            found.append(item)
            if len(found) == limit:
                return found, _cursor(day, text(item, "sk"))
        after = None
        day = _day_before(day)
        if day < since[:10]:
            return found, None
    return found, _cursor(day, None)


def _cursor(day: str, after: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps({"day": day, "after": after}).encode()).decode()


def _position(cursor: str | None, newest: str, oldest: str) -> tuple[str, str | None]:
    """(day, after): where a page starts; a cursor must name a day of the window and an item of that day."""
    if not cursor:
        return newest, None
    try:
        given = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        day, after = given["day"], given["after"]
        valid = (
            set(given) == {"day", "after"}
            and isinstance(day, str)
            and date.fromisoformat(day).isoformat() == day
            and oldest <= day <= newest
            and (after is None or (isinstance(after, str) and after.startswith(day) and len(after) < 200))
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        valid = False
    if not valid:
        raise errors.InvalidRequest("cursor is not valid here")
    return day, after


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()
