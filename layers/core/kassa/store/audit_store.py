"""Storage of the audit trail: a record is a ``Put`` that joins the act's own transaction, never
updated nor deleted; reading is by operator, newest first, one UTC day's partition at a time."""

from __future__ import annotations

import json
from typing import Any

from kassa.audit_log import AuditRecord
from kassa.store import codec, keys
from kassa.store.codec import s


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
