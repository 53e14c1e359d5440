"""The process's AWS clients, each built on first use (a client costs ~200 ms of a cold start).

botocore reads ``AWS_ENDPOINT_URL_DYNAMODB`` itself, which is how local runs reach the embedded DynamoDB.
Timeouts are short because a One Wallet provider gives us ~700 ms per call; botocore's standard retry
mode handles throttling, and ambiguous failures are resolved by re-reading (see ``kassa.ledger``).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def aws(service: str) -> Any:
    """One client per AWS service for the process (DynamoDB; EventBridge and S3 for reconciliation)."""
    # botocore directly, not boto3: boto3's import brings s3transfer and its resource layer, ~90 ms of
    # cold start for nothing Kassa uses. botocore honours AWS_ENDPOINT_URL_<SERVICE> the same way.
    import botocore.session
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=1,
        read_timeout=3,
        tcp_keepalive=True,
        max_pool_connections=50,
    )
    return botocore.session.get_session().create_client(service, config=config)


def dynamodb() -> Any:
    return aws("dynamodb")


class TableStore:
    """What every storage class shares: the table's name and the client, built on first use (tests
    may pass their own)."""

    def __init__(self, client: Any = None, table: str | None = None) -> None:
        from kassa.settings import settings

        self._client = client
        self.table = table or settings().table_name

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb()
        return self._client

    def read(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The item at ``key``, strongly consistent, or None."""
        item: dict[str, Any] | None = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
            "Item"
        )
        return item
