"""The baselines: the wallet handlers a user might write instead of Kassa, as cost references.

A Lambda handler behind the same HTTP API routes (``POST /v1/wallets``, ``GET /v1/wallets/{playerId}``,
``POST /v1/wallets/{playerId}/transactions``), with the Powertools resolver and the Powertools
idempotency utility (``idempotent_function`` over a ``DynamoDBPersistenceLayer`` on its own table, keyed
by operator, player, type and transaction id). A movement:

1. the idempotency utility puts an INPROGRESS record (conditional PutItem on the idempotency table;
   a replay fails that condition and is answered from the stored record);
2. GetItem of the wallet (strongly consistent), check the funds;
3. UpdateItem of the wallet with the new balance (``SET balance = :new``, unconditional);
4. PutItem of a ledger row;
5. the idempotency utility stores the result (UpdateItem on the idempotency table).

That is the *naive* baseline (``lambda_handler``). What it gets wrong, and why it is only a cost
reference, never an alternative: between the GetItem
(2) and the UpdateItem (3) nothing stops another request on the same wallet. Two concurrent bets both
read balance 10, both see enough funds, both write 10 - amount: one debit is lost (a lost update), or,
with a balance for one bet only, both are accepted (an overdraw). Nothing ties the ledger row to the
balance either: a crash between (3) and (4) leaves a balance change with no ledger row, and the
idempotency record is deleted when the function raises, so a retry applies the movement again. A
win is not checked against an open bet. Kassa's one conditional ``TransactWriteItems`` per movement
exists to rule all of that out.

The *careful* baseline (``careful_handler``) is what a user who knows all that builds: the same
idempotency utility around one ``TransactWriteItems`` that updates the wallet on the condition of the
version it read (``version = :read``, then ``version + 1``) and puts the ledger row on the condition that
it is absent; a lost condition reads and decides again (a few times, then 503). It neither overdraws nor
loses an update. It still answers a retry from a record that expires (24 h here), keeps a second table,
and settles a win without checking a bet (nothing stops two wins for one bet).
"""

from __future__ import annotations

import contextvars
import json
import os
import time
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import ClientError

TABLE_ENV = "KASSA_BENCH_BASELINE_TABLE"
IDEMPOTENCY_TABLE_ENV = "KASSA_BENCH_IDEMPOTENCY_TABLE"
DEFAULT_TABLE = "kassa-bench-baseline"
DEFAULT_IDEMPOTENCY_TABLE = "kassa-bench-idempotency"
DEBITS = frozenset({"bet", "withdrawal"})
CREDITS = frozenset({"deposit", "win", "refund"})
CENTS = Decimal("0.01")
REPLAYED_HEADER = "Idempotent-Replayed"
CAREFUL_ATTEMPTS = 5
# Which baseline the running invocation is (set by its handler): one module serves both.
_careful = contextvars.ContextVar("careful", default=False)


def table_name() -> str:
    return os.environ.get(TABLE_ENV, DEFAULT_TABLE)


def idempotency_table_name() -> str:
    return os.environ.get(IDEMPOTENCY_TABLE_ENV, DEFAULT_IDEMPOTENCY_TABLE)


def create_tables(client: Any) -> None:
    """The baseline's wallet/ledger table (pk, sk) and the idempotency table (id), on demand."""
    client.create_table(
        TableName=table_name(),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    client.create_table(
        TableName=idempotency_table_name(),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    client.update_time_to_live(
        TableName=idempotency_table_name(),
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )


# -- the handler, as a user would write it ------------------------------------------------------------


@cache
def dynamodb() -> Any:
    """The handler's one client (boto3, as a user would write it); also the idempotency layer's."""
    return boto3.client("dynamodb")


class InsufficientFunds(Exception):
    pass


class WalletNotFound(Exception):
    pass


class Busy(Exception):
    """The careful baseline lost its wallet condition every time it tried."""


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this hook only when it answers from a stored record.
    return {**response, "replayed": True} if isinstance(response, dict) else response


@cache
def _idempotency() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table_name(), boto3_client=dynamodb())
    config = IdempotencyConfig(
        event_key_jmespath="[operatorId, playerId, type, transactionId]",
        expires_after_seconds=24 * 3600,
        response_hook=_mark_replayed,
    )
    return persistence, config


def _wallet_key(operator_id: str, player_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WALLET#{operator_id}#{player_id}"}, "sk": {"S": "WALLET"}}


class _Decided:
    """One movement decided against the wallet as read: the new balance, the ledger row, the answer."""

    def __init__(self, movement: dict[str, Any]) -> None:
        self.key = _wallet_key(movement["operatorId"], movement["playerId"])
        item = dynamodb().get_item(TableName=table_name(), Key=self.key, ConsistentRead=True).get("Item")
        if item is None:
            raise WalletNotFound()
        self.version = item.get("version", {"N": "0"})["N"]
        balance = Decimal(item["balance"]["N"])
        amount = Decimal(movement["amount"])
        self.after = balance - amount if movement["type"] in DEBITS else balance + amount
        if self.after < 0:
            raise InsufficientFunds()
        self.now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.row = _ledger_row(self.key, movement, amount, balance, self.after, self.now)
        self.result = {
            "transactionId": movement["transactionId"],
            "type": movement["type"],
            "amount": str(amount),
            "balanceBefore": str(balance),
            "balanceAfter": str(self.after),
            "createdAt": self.now,
        }


def _apply(movement: dict[str, Any]) -> dict[str, Any]:
    """Naive: read the wallet, check funds, write the balance, write the ledger row."""
    decided = _Decided(movement)
    dynamodb().update_item(
        TableName=table_name(),
        Key=decided.key,
        UpdateExpression="SET balance = :balance, updatedAt = :at",
        ExpressionAttributeValues={":balance": {"N": str(decided.after)}, ":at": {"S": decided.now}},
    )
    dynamodb().put_item(TableName=table_name(), Item=decided.row)
    return decided.result


def _apply_careful(movement: dict[str, Any]) -> dict[str, Any]:
    """Careful: the balance and the ledger row in one transaction, on the condition of the version read."""
    for _ in range(CAREFUL_ATTEMPTS):
        decided = _Decided(movement)
        wallet_update = {
            "TableName": table_name(),
            "Key": decided.key,
            "UpdateExpression": "SET balance = :balance, version = :next, updatedAt = :at",
            "ConditionExpression": "attribute_not_exists(version) OR version = :read",
            "ExpressionAttributeValues": {
                ":balance": {"N": str(decided.after)},
                ":next": {"N": str(int(decided.version) + 1)},
                ":read": {"N": decided.version},
                ":at": {"S": decided.now},
            },
        }
        row_put = {"TableName": table_name(), "Item": decided.row, "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            dynamodb().transact_write_items(TransactItems=[{"Update": wallet_update}, {"Put": row_put}])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                continue  # another writer moved the wallet on: read and decide again
            raise
        return decided.result
    raise Busy()


def _ledger_row(
    key: dict[str, Any], movement: dict[str, Any], amount: Decimal, balance: Decimal, after: Decimal, now: str
) -> dict[str, Any]:
    row = {
        "pk": key["pk"],
        "sk": {"S": f"TX#{movement['transactionId']}#{movement['type']}"},
        "transactionId": {"S": movement["transactionId"]},
        "type": {"S": movement["type"]},
        "amount": {"N": str(amount)},
        "balanceBefore": {"N": str(balance)},
        "balanceAfter": {"N": str(after)},
        "createdAt": {"S": now},
    }
    if movement.get("betId"):
        row["betId"] = {"S": movement["betId"]}
    return row


@cache
def _idempotent_apply(careful: bool = False) -> Any:
    persistence, config = _idempotency()

    # Two functions, so their idempotency records never answer for each other (the key names the function).
    @idempotent_function(data_keyword_argument="movement", persistence_store=persistence, config=config)
    def apply(movement: dict[str, Any]) -> dict[str, Any]:
        return _apply(movement)

    @idempotent_function(data_keyword_argument="movement", persistence_store=persistence, config=config)
    def apply_careful(movement: dict[str, Any]) -> dict[str, Any]:
        return _apply_careful(movement)

    return apply_careful if careful else apply


app = APIGatewayHttpResolver()


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)


def _operator() -> str:
    context = app.current_event.request_context.authorizer.get_lambda or {}
    return str(context.get("operatorId") or "")


@app.post("/v1/wallets")
def create_wallet() -> Response[str]:
    body = app.current_event.json_body or {}
    player, currency = str(body.get("playerId") or ""), str(body.get("currency") or "")
    if not player or len(currency) != 3:
        return _json(422, {"message": "playerId and currency are required"})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        dynamodb().put_item(
            TableName=table_name(),
            Item={
                **_wallet_key(_operator(), player),
                "currency": {"S": currency},
                "balance": {"N": "0"},
                "version": {"N": "0"},
                "updatedAt": {"S": now},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return _json(409, {"message": "wallet exists"})
        raise
    return _json(201, {"playerId": player, "currency": currency, "balance": "0.00"})


@app.get("/v1/wallets/<playerId>")
def get_wallet(playerId: str) -> Response[str]:
    item = dynamodb().get_item(TableName=table_name(), Key=_wallet_key(_operator(), playerId), ConsistentRead=True)
    found = item.get("Item")
    if found is None:
        return _json(404, {"message": "wallet not found"})
    balance = Decimal(found["balance"]["N"]).quantize(CENTS)
    return _json(200, {"playerId": playerId, "currency": found["currency"]["S"], "balance": str(balance)})


@app.post("/v1/wallets/<playerId>/transactions")
def create_transaction(playerId: str) -> Response[str]:
    body = app.current_event.json_body or {}
    kind, transaction_id = str(body.get("type") or ""), str(body.get("transactionId") or "")
    try:
        amount = Decimal(str(body.get("amount"))).quantize(CENTS)
    except InvalidOperation:
        return _json(422, {"message": "amount must be a decimal string"})
    if kind not in DEBITS | CREDITS or not transaction_id or amount <= 0:
        return _json(422, {"message": "type, transactionId and a positive amount are required"})
    movement = {
        "operatorId": _operator(),
        "playerId": playerId,
        "type": kind,
        "transactionId": transaction_id,
        "amount": str(amount),
        "betId": body.get("betId"),
    }
    try:
        result = _idempotent_apply(_careful.get())(movement=movement)
    except InsufficientFunds:
        return _json(409, {"message": "insufficient funds"})
    except WalletNotFound:
        return _json(404, {"message": "wallet not found"})
    except IdempotencyAlreadyInProgressError:
        return _json(409, {"message": "the same transaction is in progress"})
    except Busy:
        return _json(503, {"message": "the wallet is busy, retry"})
    if result.pop("replayed", False):
        return _json(200, result, headers={REPLAYED_HEADER: "true"})
    return _json(201, result)


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """The naive baseline."""
    _idempotency()[1].register_lambda_context(context)
    _careful.set(False)
    return app.resolve(event, context)


def careful_handler(event: dict[str, Any], context: Any) -> Any:
    """The careful baseline."""
    _idempotency()[1].register_lambda_context(context)
    _careful.set(True)
    return app.resolve(event, context)
