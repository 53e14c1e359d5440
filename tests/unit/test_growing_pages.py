"""``TableStore.pages(first_page=n)``: pages of n, 2n, 4n ... items, never more than ``MAX_PAGE_ITEMS``
(a walk through a long history would otherwise ask DynamoDB for a Limit beyond its 32-bit integer)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from kassa.store.client import MAX_PAGE_ITEMS, TableStore


class EndlessTable:
    """A DynamoDB client whose every Query page is full and says there is more."""

    def __init__(self) -> None:
        self.limits: list[int | None] = []

    def query(self, **params: Any) -> dict[str, Any]:
        limit = params.get("Limit")
        self.limits.append(limit)
        start = int(params.get("ExclusiveStartKey", {}).get("n", 0))
        count = min(limit or 100, 1_000)  # DynamoDB's 1 MB page
        return {"Items": [{"n": start + i} for i in range(count)], "LastEvaluatedKey": {"n": start + count}}


def test_pages_double_up_to_the_cap() -> None:
    client = EndlessTable()
    items = TableStore(client, "t").pages(first_page=16, KeyConditionExpression="pk = :pk")
    list(islice(items, 40_000))
    assert client.limits[:8] == [16, 32, 64, 128, 256, 512, 1024, 2048]
    assert max(limit or 0 for limit in client.limits) == MAX_PAGE_ITEMS
    assert client.limits[-1] == MAX_PAGE_ITEMS


def test_without_a_first_page_no_limit_is_asked() -> None:
    client = EndlessTable()
    list(islice(TableStore(client, "t").pages(KeyConditionExpression="pk = :pk"), 250))
    assert client.limits == [None, None, None]
