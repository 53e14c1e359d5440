"""The whole local stack in one process: embedded DynamoDB, the table from template.yaml, a demo
operator, and the HTTP API in front of the real handlers. Used by ``kassa serve`` and by the tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from kassa_dev import template
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB

DEMO_OPERATOR = "demo"
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
    def __init__(self, dynamodb_port: int = 0, table: str = DEFAULT_TABLE) -> None:
        self.dynamodb = EmbeddedDynamoDB(port=dynamodb_port)
        self.table = table

    def start(self) -> LocalStack:
        self.dynamodb.start()
        use_local_aws(self.dynamodb.endpoint_url, self.table)
        template.create_table(self.client("dynamodb"), self.table)
        self._create_reconciliation_resources()
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
                created[logical_id] = name
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
        from kassa_dev.triggers import StreamPump

        consumer = template.stream_consumer()
        arn = self.client("dynamodb").describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        # Lambda makes 1 + MaximumRetryAttempts deliveries before the on-failure destination.
        deliveries = consumer.maximum_retry_attempts + 1 if consumer.maximum_retry_attempts >= 0 else 10
        return StreamPump(
            self.client("dynamodbstreams"), arn, invoke, consumer.function_id, consumer.batch_size, deliveries, watch
        )

    def reports_pump(self, invoke: Any) -> Any:
        """Uploads to the template's triggering bucket invoking its function, as S3 notifications would."""
        from kassa_dev.triggers import BucketPump

        ((bucket_id, function_id),) = template.s3_consumers().items()
        return BucketPump(self.client("s3"), self.resources[bucket_id], invoke, function_id)

    def event_queue(self, name: str) -> str:
        """An SQS queue receiving every Kassa event on the bus (for looking at what was published)."""
        sqs, events = self.client("sqs"), self.client("events")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = os.environ["KASSA_EVENT_BUS"]
        events.put_rule(Name=f"{name}-rule", EventBusName=bus, EventPattern='{"source": ["kassa.ledger"]}')
        events.put_targets(Rule=f"{name}-rule", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        return str(url)

    def stop(self) -> None:
        self.dynamodb.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.dynamodb.endpoint_url, region_name=REGION)

    def seed_demo_operator(self, api_key: str | None = None, onewallet_token: str | None = None) -> DemoCredentials:
        from kassa import operators
        from kassa.store.access_store import AccessStore

        created = operators.create_operator(
            AccessStore(), DEMO_OPERATOR, api_key=api_key, onewallet_token=onewallet_token
        )
        return DemoCredentials(created.api_key, created.onewallet_token)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
