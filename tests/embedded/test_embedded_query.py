"""The embedded DynamoDB's Query: moto's answers, page for page, while reading only the queried
partition (moto's own walks the whole table, so a wallet's history slowed with every other wallet)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from moto.dynamodb.models import Table

from kassa_dev import embedded_dynamodb as embedded_module
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB, install_query_patch, moto_table_query

from .conftest import LSI, EmbeddedTable, moto_own

PARTITIONS = ("W#1", "W#2", "W#3")
PER_PARTITION = 25


@pytest.fixture
def filled_table(embedded_dynamodb: Any, embedded_table: EmbeddedTable) -> EmbeddedTable:
    for pk in PARTITIONS:
        for n in range(PER_PARTITION):
            embedded_dynamodb.put_item(
                TableName=embedded_table.name,
                Item={
                    "pk": {"S": pk},
                    "sk": {"S": f"MOVE#{n:03d}"},
                    "amount": {"N": str((n * 7) % 11)},
                    "note": {"S": "x" * n},
                },
            )
    return embedded_table


def moto_own_query() -> AbstractContextManager[None]:
    return moto_own(Table, "query", moto_table_query, install_query_patch)


def every_page(dynamodb: Any, **params: Any) -> list[dict[str, Any]]:
    """Each page's Items, Count, ScannedCount and LastEvaluatedKey, following the keys to the end."""
    pages = []
    while True:
        page = dynamodb.query(**params)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        params = {**params, "ExclusiveStartKey": page["LastEvaluatedKey"]}


QUERIES: dict[str, dict[str, Any]] = {
    "whole partition": {"KeyConditionExpression": "pk = :pk"},
    "backwards in pages of 4": {"KeyConditionExpression": "pk = :pk", "ScanIndexForward": False, "Limit": 4},
    "pages of 7": {"KeyConditionExpression": "pk = :pk", "Limit": 7},
    "begins_with": {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": "MOVE#01"}},
    },
    "between, backwards": {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":low": {"S": "MOVE#005"}, ":high": {"S": "MOVE#012"}},
        "ScanIndexForward": False,
    },
    "filtered and projected, in pages": {
        "KeyConditionExpression": "pk = :pk AND sk > :after",
        "FilterExpression": "amount > :three",
        "ProjectionExpression": "sk, amount",
        "ExpressionAttributeValues": {":after": {"S": "MOVE#003"}, ":three": {"N": "3"}},
        "Limit": 5,
    },
    "local index, in pages": {"IndexName": LSI, "KeyConditionExpression": "pk = :pk", "Limit": 6},
    "local index range, backwards": {
        "IndexName": LSI,
        "KeyConditionExpression": "pk = :pk AND amount >= :five",
        "ExpressionAttributeValues": {":five": {"N": "5"}},
        "ScanIndexForward": False,
        "Limit": 3,
    },
    "a partition that does not exist": {"KeyConditionExpression": "pk = :pk"},
    # A sort-key condition hands moto only the matching run and its neighbours: the pages must not change,
    # LastEvaluatedKey included (moto decides it by the item after a full page, matching or not).
    "local index equality, in pages of 2": {
        "IndexName": LSI,
        "KeyConditionExpression": "pk = :pk AND amount = :six",
        "ExpressionAttributeValues": {":six": {"N": "6"}},
        "Limit": 2,
    },
    "local index equality, a page exactly full": {
        "IndexName": LSI,
        "KeyConditionExpression": "pk = :pk AND amount = :ten",
        "ExpressionAttributeValues": {":ten": {"N": "10"}},
        "Limit": 1,
    },
    "local index, the highest value backwards in pages of 1": {
        "IndexName": LSI,
        "KeyConditionExpression": "pk = :pk AND amount >= :ten",
        "ExpressionAttributeValues": {":ten": {"N": "10"}},
        "ScanIndexForward": False,
        "Limit": 1,
    },
    "begins_with, in pages of 3": {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": "MOVE#01"}},
        "Limit": 3,
    },
    "the last items, in pages of 2": {
        "KeyConditionExpression": "pk = :pk AND sk >= :from",
        "ExpressionAttributeValues": {":from": {"S": "MOVE#020"}},
        "Limit": 2,
    },
    "between, backwards in pages of 4": {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":low": {"S": "MOVE#005"}, ":high": {"S": "MOVE#012"}},
        "ScanIndexForward": False,
        "Limit": 4,
    },
    "a sort-key condition nothing matches": {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": "NOTHING"}},
        "Limit": 2,
    },
}


@pytest.mark.parametrize("name", QUERIES)
def test_same_pages_as_moto(embedded_dynamodb: Any, filled_table: EmbeddedTable, name: str) -> None:
    query = QUERIES[name]
    pk = "W#9" if "not exist" in name else "W#2"
    params = {
        "TableName": filled_table.name,
        **query,
        "ExpressionAttributeValues": {":pk": {"S": pk}, **query.get("ExpressionAttributeValues", {})},
    }
    patched = every_page(embedded_dynamodb, **params)
    with moto_own_query():
        own = every_page(embedded_dynamodb, **params)
    assert patched == own
    assert sum(page["Count"] for page in patched) == (0 if "not exist" in name else sum(p["Count"] for p in own))


@pytest.mark.parametrize("index", [None, LSI])
def test_a_table_or_local_index_query_reads_only_its_partition(
    embedded_dynamodb: Any, filled_table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch, index: str | None
) -> None:
    walked: list[int] = []
    moto_all_items = Table.all_items

    def spy(self: Table) -> Any:
        items = moto_all_items(self)
        walked.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", spy)
    params = {
        "TableName": filled_table.name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "W#3"}},
        **({"IndexName": index} if index else {}),
    }
    page = embedded_dynamodb.query(**params)
    assert page["Count"] == PER_PARTITION
    assert walked == []  # the whole table was never listed

    with moto_own_query():
        embedded_dynamodb.query(**params)
    assert walked == [PER_PARTITION * len(PARTITIONS)]  # the spy sees moto's own walk


def test_the_query_patch_is_installed_and_idempotent(embedded_server: EmbeddedDynamoDB) -> None:
    assert Table.query is embedded_module._query
    install_query_patch()
    assert Table.query is embedded_module._query


def test_a_sort_key_condition_hands_moto_only_the_match_and_its_neighbours(
    embedded_dynamodb: Any, filled_table: EmbeddedTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto sizes and sorts every item it is handed; a wallet's entry at one version is one item, not the
    partition's hundreds."""
    handed: list[int] = []
    all_items = embedded_module._OnePartition.all_items

    def spy(view: Any) -> Any:
        items = all_items(view)
        handed.append(len(items))
        return items

    monkeypatch.setattr(embedded_module._OnePartition, "all_items", spy)
    page = embedded_dynamodb.query(
        TableName=filled_table.name,
        IndexName=LSI,
        KeyConditionExpression="pk = :pk AND amount = :six",
        ExpressionAttributeValues={":pk": {"S": "W#2"}, ":six": {"N": "6"}},
    )
    assert page["Count"] == 2
    assert handed == [4]  # the two sixes, the last five and the first seven
