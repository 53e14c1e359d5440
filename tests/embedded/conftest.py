"""Fixtures for the embedded DynamoDB's own tests: one server per session, a fresh tiny table per test.

The table: pk (S) hash, sk (S) range, a stream with NEW_AND_OLD_IMAGES, and a local secondary index
on a number attribute, ``amount``, so that a rollback can be checked against an index too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config

from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB

# No hidden retries: every request the tests make is sent exactly once.
CLIENT_CONFIG = Config(max_pool_connections=32, retries={"total_max_attempts": 1})
LSI = "by_amount"


@dataclass(frozen=True)
class EmbeddedTable:
    name: str
    stream_arn: str
    shard_id: str


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedDynamoDB]:
    with EmbeddedDynamoDB() as server:
        yield server


@pytest.fixture(scope="session")
def embedded_dynamodb(embedded_server: EmbeddedDynamoDB) -> Any:
    return embedded_server.client("dynamodb", config=CLIENT_CONFIG)


@pytest.fixture(scope="session")
def embedded_streams(embedded_server: EmbeddedDynamoDB) -> Any:
    return embedded_server.client("dynamodbstreams", config=CLIENT_CONFIG)


def create_table(dynamodb: Any, streams: Any, name: str | None = None) -> EmbeddedTable:
    name = name or f"embedded-{uuid.uuid4().hex[:12]}"
    created = dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "amount", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[
            {
                "IndexName": LSI,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = created["TableDescription"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return EmbeddedTable(name, stream_arn, shard_id)


@pytest.fixture
def embedded_table(embedded_dynamodb: Any, embedded_streams: Any) -> Iterator[EmbeddedTable]:
    table = create_table(embedded_dynamodb, embedded_streams)
    yield table
    embedded_dynamodb.delete_table(TableName=table.name)


@pytest.fixture
def embedded_twin_table(embedded_dynamodb: Any, embedded_streams: Any) -> Iterator[EmbeddedTable]:
    """A second table like ``embedded_table``, for running the same scenario through moto's own code."""
    table = create_table(embedded_dynamodb, embedded_streams)
    yield table
    embedded_dynamodb.delete_table(TableName=table.name)


@contextmanager
def moto_own(owner: type, name: str, original: Callable[..., Any], reinstall: Callable[[], None]) -> Iterator[None]:
    """Requests in this block run moto's own ``owner.name`` instead of the embedded server's patch
    (the tests run one at a time); the patch is put back after."""
    setattr(owner, name, original)
    try:
        yield
    finally:
        reinstall()
