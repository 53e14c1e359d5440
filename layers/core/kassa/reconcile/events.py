"""Kassa's events on EventBridge: ``TransactionCommitted`` for every committed entry (the table's stream is
the outbox, so the request path never writes twice) and ``LedgerDiscrepancy`` for every new finding."""

from __future__ import annotations

import json
from typing import Any

from kassa.settings import settings
from kassa.store.client import aws

SOURCE = "kassa.ledger"
TRANSACTION_COMMITTED = "TransactionCommitted"
LEDGER_DISCREPANCY = "LedgerDiscrepancy"


class PublishFailed(Exception):
    """EventBridge refused the event; the stream record is retried."""


def publish(detail_type: str, detail: dict[str, Any]) -> None:
    response = aws("events").put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, sort_keys=True),
                "EventBusName": settings().event_bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        raise PublishFailed(str(response.get("Entries")))
