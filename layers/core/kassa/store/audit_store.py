"""Storage of the audit trail: a record is a ``Put`` that joins the act's own transaction, never
updated nor deleted; reading is by operator, newest first, one UTC day's partition at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kassa.audit_log import AuditRecord
from kassa.store import codec, daylog, keys
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


class AuditStore(TableStore):
    def page(
        self, operator_id: str, window: tuple[str, str], action: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Records in the window (instants as the ledger writes them), newest first (``kassa.store.daylog``)."""
        items, next_cursor = daylog.newest_first(
            self,
            lambda day: keys.audit_day_pk(operator_id, day),
            window,
            {"action": action} if action else {},
            limit,
            cursor,
        )
        return [json.loads(codec.text(item, "record")) for item in items], next_cursor
