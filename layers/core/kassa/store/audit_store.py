"""Storage of the audit trail: a record is a ``Put`` that joins the act's own transaction, never
updated nor deleted; reading is by operator, newest first, one UTC day's partition at a time."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from kassa import errors
from kassa.audit_log import AuditRecord
from kassa.store import codec, keys
from kassa.store.client import TableStore
from kassa.store.codec import s
from kassa.store.outcomes import write_patiently


def record_item(record: AuditRecord) -> codec.Item:
    return {
        **keys.audit_record(record.operator_id, record.at, record.event_id),
        "type": s("audit"),
        "operatorId": s(record.operator_id),
        "action": s(record.action),
        "at": s(record.at),
        "record": s(json.dumps(record.as_dict(), sort_keys=True)),
    }


def record_put(table: str, record: AuditRecord) -> dict[str, Any]:
    """The record as one action of the act's ``TransactWriteItems``."""
    return {"Put": {"TableName": table, "Item": record_item(record), "ConditionExpression": "attribute_not_exists(pk)"}}


def write_audited(
    store: TableStore,
    actions: list[dict[str, Any]],
    record: AuditRecord,
    what: str,
    condition_failed: Callable[[], Exception] | None = None,
) -> None:
    """An act (``actions``) and its record in one ``TransactWriteItems``, sent again as it is through
    conflicts, throttles and lost answers. The record's own condition (a new event id) fails only when an
    earlier attempt whose answer was lost committed both: then the act is done. A failed condition of the
    act raises ``condition_failed()``."""
    key = keys.audit_record(record.operator_id, record.at, record.event_id)
    write_patiently(
        lambda: store.client.transact_write_items(TransactItems=[*actions, record_put(store.table, record)]),
        store.budget(),
        what,
        took_effect=lambda: store.read(key) is not None,
        condition_failed=condition_failed,
    )


# A page walks back at most this many days (empty ones cost a query each); past it, the page may hold fewer
# records than asked, even none, and its cursor goes on from where it stopped.
DAYS_PER_PAGE = 31


class AuditStore(TableStore):
    def page(
        self, operator_id: str, window: tuple[str, str], action: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Records at or after ``window[0]`` and at or before ``window[1]`` (instants as the ledger writes
        them), newest first, ``limit`` at most; with the cursor that goes on, or None at the end."""
        since, until = window
        day, after = _position(cursor, until[:10], since[:10])
        found: list[dict[str, Any]] = []
        for _ in range(DAYS_PER_PAGE):
            query: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :since AND :until",
                "ExpressionAttributeValues": {
                    ":pk": s(keys.audit_day_pk(operator_id, day)),
                    ":since": s(since),
                    ":until": s(f"{until}#~"),  # every event id of the instant ``until``
                },
                "ScanIndexForward": False,
                "ConsistentRead": True,
            }
            if action:
                query["FilterExpression"] = "#action = :action"
                query["ExpressionAttributeNames"] = {"#action": "action"}
                query["ExpressionAttributeValues"][":action"] = s(action)
            if after:
                query["ExclusiveStartKey"] = {"pk": query["ExpressionAttributeValues"][":pk"], "sk": s(after)}
            for item in self.pages(**query):
                found.append(json.loads(codec.text(item, "record")))
                if len(found) == limit:
                    return found, _cursor(day, codec.text(item, "sk"))
            after = None
            day = _day_before(day)
            if day < since[:10]:
                return found, None
        return found, _cursor(day, None)


def _cursor(day: str, after: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps({"day": day, "after": after}).encode()).decode()


def _position(cursor: str | None, newest: str, oldest: str) -> tuple[str, str | None]:
    """(day, after): where a page starts; a cursor must name a day of the window and a record of that day."""
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
