"""The process's AWS clients, each built on first use (a client costs ~200 ms of a cold start).

botocore reads ``AWS_ENDPOINT_URL_DYNAMODB`` itself, which is how local runs reach the embedded DynamoDB.
DynamoDB calls are tried once by botocore: Kassa tells conflicts, throttles and permanent errors apart
itself and tries again within a time budget (``kassa.store.outcomes``), which botocore's own retries
(up to 4 attempts, with back-offs of up to seconds) would eat unseen. Its timeouts are short for the
same reason: one DynamoDB call answers in milliseconds, and a provider waits ~700 ms for the whole
call. Other services (S3, EventBridge: background work) keep botocore's standard retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from kassa import deadline, errors
from kassa.deadline import Budget
from kassa.settings import settings
from kassa.store.outcomes import patiently, pause

# Marks Kassa's own requests (in CloudTrail, and for the embedded DynamoDB's fault injection).
USER_AGENT = "kassa-ledger"
# Where growing pages stop growing: 1 MB, DynamoDB's own bound on a page, holds fewer of any item Kassa
# stores (and Limit is a 32-bit integer on DynamoDB's side).
MAX_PAGE_ITEMS = 10_000


@cache
def aws(service: str) -> Any:
    """One client per AWS service for the process (DynamoDB; EventBridge and S3 for reconciliation)."""
    # botocore directly, not boto3: boto3's import brings s3transfer and its resource layer, ~90 ms of
    # cold start for nothing Kassa uses. botocore honours AWS_ENDPOINT_URL_<SERVICE> the same way.
    import botocore.session
    from botocore.config import Config

    # DynamoDB: one attempt, short timeouts (Kassa retries within its budget); others: botocore's retries.
    dynamo = service == "dynamodb"
    retries, connect, read = ({"total_max_attempts": 1}, 0.5, 1) if dynamo else ({"max_attempts": 3}, 1, 5)
    config = Config(
        retries={**retries, "mode": "standard"},
        connect_timeout=connect,
        read_timeout=read,
        tcp_keepalive=True,
        max_pool_connections=50,
        user_agent_extra=USER_AGENT,
    )
    return botocore.session.get_session().create_client(service, config=config)


def dynamodb() -> Any:
    return aws("dynamodb")


class TableStore:
    """What every storage class shares: the table's name and the client, built on first use (tests
    may pass their own)."""

    def __init__(self, client: Any = None, table: str | None = None) -> None:
        self._client = client
        self.table = table or settings().table_name

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb()
        return self._client

    def budget(self) -> Budget:
        """How long this store's calls may keep trying: the request's budget (``kassa.deadline``); outside a
        request, the native API's (background stores override it)."""
        return deadline.current(settings().retry_budget_seconds)

    def read(self, key: dict[str, Any], budget: Budget | None = None) -> dict[str, Any] | None:
        """The item at ``key``, strongly consistent, or None."""
        answer = patiently(
            lambda: self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True),
            budget or self.budget(),
            "read",
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def query(self, budget: Budget | None = None, **query: Any) -> dict[str, Any]:
        """One Query page, tried again through conflicts and throttles."""
        answer: dict[str, Any] = patiently(
            lambda: self.client.query(TableName=self.table, **query), budget or self.budget(), "query"
        )
        return answer

    def count(self, **query: Any) -> int:
        """How many items a Query finds, page after page (``Select=COUNT``: no item is returned)."""
        total = 0
        while True:
            page = self.query(Select="COUNT", **query)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def pages(self, first_page: int | None = None, **query: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query finds, page after page.

        ``first_page``: for a reader that usually stops early, the first page holds that many items and
        each next one twice as many. DynamoDB reads (and charges) a whole page, up to 1 MB, whether the
        reader looks at its items or not; growing pages read at most about twice what the reader needed,
        in a number of requests that grows with its logarithm."""
        limit = first_page
        while True:
            page = self.query(**query, **({"Limit": limit} if limit else {}))
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            limit = limit and min(limit * 2, MAX_PAGE_ITEMS)

    def get_many(
        self, wanted: list[dict[str, Any]], budget: Budget | None = None, *, consistent: bool = True
    ) -> list[dict[str, Any] | None]:
        """Several items, each strongly consistent (``consistent``; else as a replica has them, at half the
        read units), in one ``BatchGetItem`` (the keys must differ); what DynamoDB leaves unprocessed under
        load is asked again within the budget."""
        budget = budget or self.budget()
        found: dict[tuple[str, str], dict[str, Any]] = {}
        pending: list[dict[str, Any]] = list(wanted)
        attempt = 0
        while pending:
            answer = patiently(
                lambda asked=pending: self.client.batch_get_item(
                    RequestItems={self.table: {"Keys": asked, "ConsistentRead": consistent}}
                ),
                budget,
                "read",
            )
            found.update({_identity(item): item for item in answer.get("Responses", {}).get(self.table, [])})
            pending = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            if pending and not pause(attempt, budget):
                raise errors.TemporarilyUnavailable("read: DynamoDB stayed busy; nothing was committed")
            attempt += 1
        return [found.get(_identity(key)) for key in wanted]


def _identity(item: dict[str, Any]) -> tuple[str, str]:
    return str(item["pk"]["S"]), str(item["sk"]["S"])
