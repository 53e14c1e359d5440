"""`kassa operators` works against whatever DynamoDB the environment names (here: the embedded one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kassa import operators
from kassa.store.access_store import AccessStore
from kassa_dev.gateway import LocalGateway
from kassa_dev.stack import LocalStack
from tests.conftest import Api, new_id

KASSA = str(Path(sys.executable).with_name("kassa"))


def kassa(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb.endpoint_url,
        "KASSA_TABLE": stack.table,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    return subprocess.run([KASSA, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_create_prints_working_credentials_once(stack: LocalStack, gateway: LocalGateway) -> None:
    operator = new_id("cli")
    created = kassa(stack, "operators", "create", operator, "--scopes", "wallets:read", "wallets:write", "--json")
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    assert answer["operatorId"] == operator and answer["scopes"] == ["wallets:read", "wallets:write"]
    client = Api(gateway, answer["apiKey"])
    player = client.open_wallet()
    assert client.post(f"/v1/wallets/{player}/lock").json()["code"] == "forbidden"
    # Only hashes are stored: the secret itself appears nowhere in the table.
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert answer["apiKey"] not in json.dumps(items) and answer["onewalletToken"] not in json.dumps(items)


def test_create_refuses_an_existing_operator_and_bad_scopes(stack: LocalStack) -> None:
    operator = new_id("cli")
    assert kassa(stack, "operators", "create", operator).returncode == 0
    again = kassa(stack, "operators", "create", operator)
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = kassa(stack, "operators", "create", new_id("cli"), "--scopes", "everything")
    assert bad.returncode == 2 and "scopes" in bad.stderr


def test_rotate_token_retires_the_old_token_at_once(stack: LocalStack, gateway: LocalGateway) -> None:
    created = operators.create_operator(AccessStore(), new_id("cli"))
    owner = Api(gateway, created.api_key)
    player = owner.open_wallet()
    sid = owner.post("/v1/sessions", {"playerId": player}).json()["sid"]
    body = json.dumps({"sid": sid, "userId": player, "uuid": "u", "currency": "EUR"}).encode()

    def balance(token: str) -> str:
        answer = gateway.handle("POST", "/onewallet/balance", f"authToken={token}", {}, body)
        return str(answer.json()["status"])

    assert balance(created.onewallet_token) == "OK"
    rotated = kassa(stack, "operators", "rotate-token", created.operator_id, "--json")
    assert rotated.returncode == 0, rotated.stderr
    new_token = json.loads(rotated.stdout)["onewalletToken"]
    assert balance(created.onewallet_token) == "INVALID_TOKEN_ID"
    assert balance(new_token) == "OK"
    assert kassa(stack, "operators", "rotate-token", new_id("nobody")).returncode == 2
