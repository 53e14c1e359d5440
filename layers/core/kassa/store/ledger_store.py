"""The ledger's storage: one strongly consistent read and one conditional transaction per movement.

``load`` reads the wallet, the entry with the request's (transaction id, action) and the bet in one
``TransactGetItems``. ``commit`` writes a decision in one ``TransactWriteItems`` whose conditions make
it all-or-nothing against concurrent writers:

1. the wallet update (or, for a recorded rejection, a condition check) requires the version and the
   status that were read, so two writers can never both spend the same balance, and a lock is never
   overtaken by a bet decided before it;
2. the entry put requires that no entry with that (transaction id, action) exists: the permanent
   idempotency record;
3. the bet put or update requires the bet's expected state (new, or open), so a bet settles once.

A failed condition means someone else wrote first: ``WriteConflict``, and the caller re-reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from kassa import errors
from kassa.clock import now_iso
from kassa.domain.model import Entry, Wallet, WalletStatus
from kassa.domain.movements import BetWrite, Movement, MovementRequest, MovementState, Rejection
from kassa.store import codec, cursors, keys
from kassa.store.client import TableStore
from kassa.store.codec import n, s

# Errors after which nothing was committed and trying again is right.
RETRYABLE_CODES = frozenset(
    {
        "TransactionCanceledException",
        "TransactionConflictException",
        "ConditionalCheckFailedException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class WriteConflict(Exception):
    """The transaction did not commit because state changed or DynamoDB refused it for now."""


class LedgerStore(TableStore):
    # -- wallets -------------------------------------------------------------------------------------

    def create_wallet(self, wallet: Wallet) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=codec.wallet_item(wallet),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise errors.WalletExists() from error
            raise

    def get_wallet(self, operator_id: str, player_id: str) -> Wallet:
        item = self.read(keys.wallet(operator_id, player_id))
        if item is None:
            raise errors.WalletNotFound()
        return codec.wallet_from_item(item)

    def set_wallet_status(self, operator_id: str, player_id: str, status: WalletStatus) -> Wallet:
        try:
            item = self.client.update_item(
                TableName=self.table,
                Key=keys.wallet(operator_id, player_id),
                UpdateExpression="SET #status = :status, updatedAt = :at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": s(status.value), ":at": s(now_iso())},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise errors.WalletNotFound() from error
            raise
        return codec.wallet_from_item(item)

    # -- movements -----------------------------------------------------------------------------------

    def load(
        self, operator_id: str, player_id: str, request: MovementRequest, also: Sequence[keys.Key] = ()
    ) -> tuple[MovementState, list[codec.Item | None]]:
        """The movement's state, plus ``also`` (a protocol's token or session), in one consistent read."""
        wanted = [
            keys.wallet(operator_id, player_id),
            keys.entry(operator_id, player_id, request.transaction_id, request.action.value),
            keys.bet(operator_id, player_id, request.bet_id) if request.bet_id else None,
            *also,
        ]
        found = iter(self.get_together([key for key in wanted if key is not None]))
        wallet_item, entry_item = next(found), next(found)
        bet_item = next(found) if request.bet_id else None
        state = MovementState(
            wallet=codec.wallet_from_item(wallet_item) if wallet_item else None,
            existing=codec.entry_from_item(entry_item) if entry_item else None,
            bet=codec.bet_from_item(bet_item) if bet_item else None,
        )
        return state, list(found)

    def get_together(self, wanted: list[keys.Key]) -> list[codec.Item | None]:
        """Several items in one strongly consistent, serializable read (``TransactGetItems``)."""
        response = self.client.transact_get_items(
            TransactItems=[{"Get": {"TableName": self.table, "Key": key}} for key in wanted]
        )
        return [(found.get("Item") or None) for found in response["Responses"]]

    def commit(self, decision: Movement | Rejection, read_version: int) -> None:
        wallet = decision.wallet
        if isinstance(decision, Movement):
            wallet_action = {"Update": self._wallet_update(wallet, read_version)}
        else:
            wallet_action = {"ConditionCheck": self._wallet_unchanged(wallet, read_version)}
        actions = [
            wallet_action,
            {
                "Put": {
                    "TableName": self.table,
                    "Item": codec.entry_item(wallet, decision.entry),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if decision.bet is not None:
            actions.append(self._bet_write(wallet, decision.bet))
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if _code(error) in RETRYABLE_CODES:
                raise WriteConflict(_code(error)) from error
            raise
        except (BotoConnectionError, HTTPClientError) as error:
            # Ambiguous: the write may have committed and only its answer been lost. Reading again
            # decides: the entry is there (a replay answers it) or it is not (decide anew).
            raise WriteConflict(type(error).__name__) from error

    def _wallet_update(self, wallet: Wallet, read_version: int) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": keys.wallet(wallet.operator_id, wallet.player_id),
            "UpdateExpression": "SET balance = :balance, bonus = :bonus, version = :version, "
            "lastHash = :hash, updatedAt = :at",
            # The status read is part of the condition: a lock that lands between our read and our
            # write makes this fail and the movement is decided again against the locked wallet.
            "ConditionExpression": "version = :read AND #status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":status": s(wallet.status.value),
                ":balance": n(wallet.balance),
                ":bonus": n(wallet.bonus),
                ":version": n(wallet.version),
                ":hash": s(wallet.last_hash),
                ":at": s(wallet.updated_at),
                ":read": n(read_version),
            },
        }

    def _wallet_unchanged(self, wallet: Wallet, read_version: int) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": keys.wallet(wallet.operator_id, wallet.player_id),
            "ConditionExpression": "version = :read AND #status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":read": n(read_version), ":status": s(wallet.status.value)},
        }

    def _bet_write(self, wallet: Wallet, write: BetWrite) -> dict[str, Any]:
        if write.expected is None:
            return {
                "Put": {
                    "TableName": self.table,
                    "Item": codec.bet_item(wallet.operator_id, wallet.player_id, write.bet),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return {
            "Update": {
                "TableName": self.table,
                "Key": keys.bet(wallet.operator_id, wallet.player_id, write.bet.bet_id),
                "UpdateExpression": "SET #state = :state, settledBy = :by",
                "ConditionExpression": "#state = :expected",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": {
                    ":state": s(write.bet.state.value),
                    ":by": s(write.bet.settled_by or ""),
                    ":expected": s(write.expected.value),
                },
            }
        }

    # -- reading the ledger --------------------------------------------------------------------------

    def entries_with_id(self, operator_id: str, player_id: str, transaction_id: str) -> list[Entry]:
        """Every decided action under one transaction id (a bet and its refund may share one)."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            FilterExpression="transactionId = :id",
            ExpressionAttributeValues={
                ":pk": s(keys.wallet_pk(operator_id, player_id)),
                ":prefix": s(keys.entry_prefix(transaction_id)),
                ":id": s(transaction_id),
            },
            ConsistentRead=True,
        )
        return [codec.entry_from_item(item) for item in response["Items"]]

    def history(
        self, operator_id: str, player_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Entry], str | None]:
        """Applied entries newest first, ``limit`` at a time; the cursor is opaque to callers."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": keys.ENTRIES_BY_VERSION,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(keys.wallet_pk(operator_id, player_id))},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        start = cursors.decode(cursor, keys.wallet_pk(operator_id, player_id), "TX#", ("entryVersion",))
        if start:
            query["ExclusiveStartKey"] = start
        response = self.client.query(**query)
        entries = [codec.entry_from_item(item) for item in response["Items"]]
        return entries, cursors.encode(response.get("LastEvaluatedKey"))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
