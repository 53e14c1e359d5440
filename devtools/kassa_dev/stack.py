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


def use_local_aws(endpoint_url: str, table: str) -> None:
    """Point boto3 (and so Kassa) at the embedded services with dummy credentials, never real ones."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "KASSA_TABLE": table,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
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
        return self

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
