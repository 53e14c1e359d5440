"""The reconciliation function's triggers, told apart by the event's shape: the table's stream (verify
each committed entry; start pending runs), the hourly schedule (audit every operator), an S3 upload of a
provider report, and the native API's reconciliation routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from kassa.observability import logger
from kassa.reconcile import runs, stream
from kassa.store.reconcile_store import ReconcileStore

_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def dispatch(event: dict[str, Any], context: Any, http: Any) -> Any:
    if "routeKey" in event:
        return http(event, context)
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:dynamodb":
        return process_partial_response(
            event=event, record_handler=_stream_record, processor=_processor, context=context
        )
    if records and records[0].get("eventSource") == "aws:s3":
        return [_provider_report(record) for record in records]
    if event.get("kassa") == "audit" or event.get("detail-type") == "Scheduled Event":
        return [runs.run_now(operator, runs.AUDIT) for operator in ReconcileStore().operators()]
    raise ValueError("unrecognised event")


def _stream_record(record: DynamoDBRecord) -> None:
    stream.handle_record(record.raw_event)


def _provider_report(record: dict[str, Any]) -> dict[str, Any] | None:
    key = unquote_plus(record["s3"]["object"]["key"])
    operator = key.split("/", 1)[0]
    logger.info("provider report received", extra={"operatorId": operator, "key": key})
    return runs.run_now(operator, runs.REPORT, key)
