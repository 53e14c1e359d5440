"""The reconciliation function's triggers, told apart by the event's shape: the table's stream (verify
each committed entry; start pending runs), the hourly schedule (audit every operator) and an S3 upload of a
provider report.

Each trigger's code is imported when that trigger first fires, not when the function starts: a stream
batch never needs the audit's code, the schedule never needs the batch processor. The gateway sends the
reconciliation routes to a function of their own (ReconciliationApiFunction), which builds its resolver at
init; a route's event handed to this function directly (``kassa invoke reconciliation``, ``sam local
invoke ReconciliationFunction``) is still answered, its resolver built on first use.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import unquote_plus

from kassa.observability import logger


def dispatch(event: dict[str, Any], context: Any) -> Any:
    if "routeKey" in event:
        from kassa.api.http import handle

        return handle(_http_app(), event, context)
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:dynamodb":
        return _stream_batch(event, context)
    if records and records[0].get("eventSource") == "aws:s3":
        return [_provider_report(record) for record in records]
    if event.get("kassa") == "audit" or event.get("detail-type") == "Scheduled Event":
        from kassa.reconcile import runs
        from kassa.store.reconcile_store import ReconcileStore

        return runs.scheduled_audits(ReconcileStore().operators())
    raise ValueError("unrecognised event")


@functools.cache
def _http_app() -> Any:
    from kassa.api import reconciliation_routers
    from kassa.api.http import build_resolver

    return build_resolver(*reconciliation_routers())


@functools.cache
def _batch_processor() -> Any:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.DynamoDBStreams)


def _stream_batch(event: dict[str, Any], context: Any) -> Any:
    """Powertools' partial batch response: the records that raised are reported back for retry."""
    from aws_lambda_powertools.utilities.batch import process_partial_response

    from kassa.reconcile import stream
    from kassa.store.anomaly_store import AnomalyStore

    anomalies = AnomalyStore()  # one per batch: it reads each operator's thresholds once

    def record_handler(record: Any) -> None:
        try:
            stream.handle_record(record.raw_event, anomalies=anomalies)
        except Exception:
            # Reported back for retry (and, after the retries, to the stream's dead-letter queue): the
            # log says which record and why, which the batch response alone does not.
            logger.exception("stream record failed", extra={"eventId": record.raw_event.get("eventID")})
            raise

    return process_partial_response(
        event=event, record_handler=record_handler, processor=_batch_processor(), context=context
    )


def _provider_report(record: dict[str, Any]) -> dict[str, Any] | None:
    from kassa.reconcile import runs

    key = unquote_plus(record["s3"]["object"]["key"])
    operator = key.split("/", 1)[0]
    logger.info("provider report received", extra={"operatorId": operator, "key": key})
    return runs.run_now(operator, runs.REPORT, key)
