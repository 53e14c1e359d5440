"""The whole local stack in one process: embedded DynamoDB, the table from template.yaml, a demo
operator, and the HTTP API in front of the real handlers. Used by ``kassa serve`` and by the tests.

With a data dir (``kassa_dev.data_dir``) the stack restores what it held when it last stopped, and saves
it again when it stops."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from kassa_dev import template
from kassa_dev.data_dir import DataDir, Item, Snapshot
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB

DEMO_OPERATOR = "demo"
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem (DynamoDB's limit)
DEFAULT_TABLE = "kassa-local"
REGION = "us-east-1"


def local_aws_environment(endpoint_url: str, table: str) -> dict[str, str]:
    """The variables that point boto3 (and so Kassa) at the embedded services with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "KASSA_TABLE": table,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def use_local_aws(endpoint_url: str, table: str) -> None:
    """Point boto3 (and so Kassa) at the embedded services with dummy credentials, never real ones."""
    os.environ.update(local_aws_environment(endpoint_url, table))
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    from kassa.settings import settings
    from kassa.store.client import aws

    settings.cache_clear()
    aws.cache_clear()


@dataclass
class DemoCredentials:
    api_key: str
    onewallet_token: str


class LocalStack:
    def __init__(self, dynamodb_port: int = 0, table: str = DEFAULT_TABLE, data_dir: Path | None = None) -> None:
        self.dynamodb = EmbeddedDynamoDB(port=dynamodb_port)
        self.table = table
        self.data_dir = DataDir(data_dir) if data_dir is not None else None
        self.resources: dict[str, str] = {}
        self.buckets: dict[str, str] = {}  # logical id -> local name
        self.restored: Snapshot | None = None  # what start() found in the data dir
        self.saved: Snapshot | None = None  # what stop() left there
        self.demo: DemoCredentials | None = None
        # The event sources' readers, already past what was restored (see _pass_over_the_restored).
        self._readers: dict[str, Any] = {}
        self._running = False

    def start(self) -> LocalStack:
        try:
            if self.data_dir is not None:
                self.data_dir.hold()
            self.dynamodb.start()
            use_local_aws(self.dynamodb.endpoint_url, self.table)
            template.create_table(self.client("dynamodb"), self.table)
            self._create_reconciliation_resources()
            if self.data_dir is not None:
                self._restore(self.data_dir)
        except BaseException:
            self.stop()  # nothing saved: the data dir keeps what it had
            raise
        self._running = True
        return self

    def _create_reconciliation_resources(self) -> None:
        """The template's buckets, event bus and queues, under local names, and the environment variables
        that name them set as the template sets them for the functions."""
        from kassa.settings import settings

        created: dict[str, str] = {}
        for logical_id, resource in template.local_resources().items():
            name = resource.local_name
            if resource.resource_type == "AWS::S3::Bucket":
                self.client("s3").create_bucket(Bucket=name)
                created[logical_id] = self.buckets[logical_id] = name
            elif resource.resource_type == "AWS::Events::EventBus":
                self.client("events").create_event_bus(Name=name)
                created[logical_id] = name
            elif resource.resource_type == "AWS::SQS::Queue":
                created[logical_id] = self.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        self.resources = created
        os.environ.update(template.local_environment(created))
        settings.cache_clear()

    def shell_environment(self) -> dict[str, str]:
        """What another shell exports to use this stack: the endpoint, region and dummy credentials, the
        table, and the template's buckets, bus and queues under their local names."""
        return {
            **local_aws_environment(self.dynamodb.endpoint_url, self.table),
            **template.local_environment(self.resources),
        }

    def stream_pump(self, invoke: Any, watch: Any = None) -> Any:
        """The table's stream driving its consumer function, as the event source mapping would."""
        pump = self._readers.pop("stream", None) or self._stream_reader()
        pump.invoke, pump.watch = invoke, watch
        return pump

    def _stream_reader(self) -> Any:
        from kassa_dev.triggers import StreamPump

        consumer = template.stream_consumer()
        arn = self.client("dynamodb").describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        # Lambda makes 1 + MaximumRetryAttempts deliveries before the on-failure destination.
        deliveries = consumer.maximum_retry_attempts + 1 if consumer.maximum_retry_attempts >= 0 else 10
        return StreamPump(
            self.client("dynamodbstreams"), arn, _invoke_nothing, consumer.function_id, consumer.batch_size, deliveries
        )

    def reports_pump(self, invoke: Any) -> Any:
        """Uploads to the template's triggering bucket invoking its function, as S3 notifications would."""
        pump = self._readers.pop("reports", None) or self._reports_reader()
        pump.invoke = invoke
        return pump

    def _reports_reader(self) -> Any:
        from kassa_dev.triggers import BucketPump

        ((bucket_id, function_id),) = template.s3_consumers().items()
        return BucketPump(self.client("s3"), self.resources[bucket_id], _invoke_nothing, function_id)

    @contextmanager
    def event_queue(self, name: str) -> Iterator[str]:
        """An SQS queue receiving every Kassa event on the bus (for looking at what was published), removed
        with its rule on leaving: moto's SQS takes longer to accept a message the more its queue holds, so a
        queue left behind slowed every later PutEvents of the session (100 ms each after a few thousand)."""
        sqs, events = self.client("sqs"), self.client("events")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus, rule = os.environ["KASSA_EVENT_BUS"], f"{name}-rule"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern='{"source": ["kassa.ledger"]}')
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        try:
            yield str(url)
        finally:
            events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
            events.delete_rule(Name=rule, EventBusName=bus)
            sqs.delete_queue(QueueUrl=url)

    def stop(self) -> None:
        """Stop the embedded services; with a data dir, save what they hold first (only after a complete
        start: a stack that failed to restore must not overwrite the copy it failed to restore)."""
        try:
            if self._running and self.data_dir is not None:
                self.saved = self._snapshot()
                self.data_dir.save(self.saved)
        finally:
            self._running = False
            self.dynamodb.stop()
            if self.data_dir is not None:
                self.data_dir.release()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.dynamodb.endpoint_url, region_name=REGION)

    def seed_demo_operator(self, api_key: str | None = None, onewallet_token: str | None = None) -> DemoCredentials:
        """The demo operator: created, or the one restored from the data dir with the secrets kept for it
        (whatever ``api_key`` and ``onewallet_token`` ask: the table holds the kept ones' hashes)."""
        from kassa import operators
        from kassa.store.access_store import AccessStore

        self.demo = self._restored_demo()
        if self.demo is None:
            created = operators.create_operator(
                AccessStore(), DEMO_OPERATOR, api_key=api_key, onewallet_token=onewallet_token
            )
            self.demo = DemoCredentials(created.api_key, created.onewallet_token)
        return self.demo

    def _restored_demo(self) -> DemoCredentials | None:
        from kassa.store.access_store import AccessStore

        kept = self.restored.demo if self.restored is not None else None
        if not kept or AccessStore().get_operator(DEMO_OPERATOR) is None:
            return None
        return DemoCredentials(kept["apiKey"], kept["onewalletToken"])

    # --- the data dir

    def _restore(self, data_dir: DataDir) -> None:
        snapshot = data_dir.load()
        if snapshot is None:
            return
        self._put_items(snapshot.items)
        s3 = self.client("s3")
        for logical_id, objects in snapshot.objects.items():
            if logical_id in self.buckets:  # (a bucket template.yaml no longer has is left out)
                for key, body in objects.items():
                    s3.put_object(Bucket=self.buckets[logical_id], Key=key, Body=body)
        self.restored = snapshot
        self._pass_over_the_restored()

    def _pass_over_the_restored(self) -> None:
        """Restoring wrote every item to the table's stream again and every upload to the reports bucket
        again; all of them were consumed before the restart (the reconciliation function verified the
        entries, published their events, found their anomalies). The readers the triggers get start after
        them, so nothing restored is delivered as a new commit or a new report."""
        stream, reports = self._stream_reader(), self._reports_reader()
        stream.skip()
        reports.pump_once()  # marks each object seen, invoking nothing
        self._readers = {"stream": stream, "reports": reports}

    def _put_items(self, items: list[Item]) -> None:
        dynamodb = self.client("dynamodb")
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending = {
                self.table: [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_LIMIT]]
            }
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def _snapshot(self) -> Snapshot:
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        demo = {"apiKey": self.demo.api_key, "onewalletToken": self.demo.onewallet_token} if self.demo else None
        return Snapshot(
            items=[item for page in pages for item in page["Items"]],
            objects={logical_id: self._objects(bucket) for logical_id, bucket in self.buckets.items()},
            demo=demo,
        )

    def _objects(self, bucket: str) -> dict[str, bytes]:
        s3 = self.client("s3")
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        ]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _invoke_nothing(function_id: str, event: dict[str, Any]) -> None:
    """A reader's function until the triggers give it the real one (and while it passes over the restored)."""
