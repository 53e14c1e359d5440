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


def test_keys_create_and_revoke_rotate_an_api_key(stack: LocalStack, gateway: LocalGateway) -> None:
    """The runbook's key rotation: a second key works at once; the revoked one is refused on its next
    request, although the warm authorizer had already found (and cached) it."""
    created = operators.create_operator(AccessStore(), new_id("cli"))
    old = Api(gateway, created.api_key)
    player = old.open_wallet()
    assert old.get(f"/v1/wallets/{player}").status == 200  # the old key's id is now cached

    made = kassa(stack, "keys", "create", created.operator_id, "--scopes", "wallets:read", "--json")
    assert made.returncode == 0, made.stderr
    new_key = json.loads(made.stdout)
    assert new_key["operatorId"] == created.operator_id and new_key["scopes"] == ["wallets:read"]
    assert new_key["keyId"] != created.key_id
    fresh = Api(gateway, new_key["apiKey"])
    assert fresh.get(f"/v1/wallets/{player}").status == 200
    assert fresh.post(f"/v1/wallets/{player}/lock").json()["code"] == "forbidden"  # only the scopes asked for

    revoked = kassa(stack, "keys", "revoke", created.operator_id, created.key_id, "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout) == {"operatorId": created.operator_id, "keyId": created.key_id, "revoked": True}
    assert old.get(f"/v1/wallets/{player}").status == 403
    assert fresh.get(f"/v1/wallets/{player}").status == 200
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert new_key["apiKey"] not in json.dumps(items)


def test_keys_refuse_unknown_operators_keys_and_scopes(stack: LocalStack) -> None:
    first = operators.create_operator(AccessStore(), new_id("cli"))
    other = operators.create_operator(AccessStore(), new_id("cli"))
    unknown_operator = kassa(stack, "keys", "create", new_id("nobody"))
    assert unknown_operator.returncode == 2 and "no operator" in unknown_operator.stderr
    bad_scopes = kassa(stack, "keys", "create", first.operator_id, "--scopes", "everything")
    assert bad_scopes.returncode == 2 and "scopes" in bad_scopes.stderr
    # Another operator's key id is simply not found, and stays valid.
    foreign = kassa(stack, "keys", "revoke", first.operator_id, other.key_id)
    assert foreign.returncode == 2 and "no API key" in foreign.stderr
    assert AccessStore().get_api_key(other.operator_id, other.key_id) is not None
    assert kassa(stack, "keys", "revoke", first.operator_id, first.key_id).returncode == 0
    again = kassa(stack, "keys", "revoke", first.operator_id, first.key_id)
    assert again.returncode == 2 and "no API key" in again.stderr


def test_keys_from_the_cli_take_roles_list_without_secrets_and_revoke_subtrees(
    stack: LocalStack, gateway: LocalGateway
) -> None:
    created = operators.create_operator(AccessStore(), new_id("cli"))
    made = kassa(stack, "keys", "create", created.operator_id, "--role", "support", "--name", "desk", "--json")
    assert made.returncode == 0, made.stderr
    support = json.loads(made.stdout)
    assert (support["role"], support["name"], support["parentKeyId"]) == ("support", "desk", None)
    manager = Api(gateway, created.api_key).post("/v1/keys", {"name": "m", "scopes": ["keys:manage", "wallets:read"]})
    child = Api(gateway, manager.json()["apiKey"]).post("/v1/keys", {"name": "c", "role": "readonly"}).json()

    listed = kassa(stack, "keys", "list", created.operator_id, "--json")
    assert listed.returncode == 0, listed.stderr
    keys = {key["keyId"]: key for key in json.loads(listed.stdout)["keys"]}
    assert set(keys) == {created.key_id, support["keyId"], manager.json()["keyId"], child["keyId"]}
    assert keys[created.key_id]["role"] == "owner"
    assert "apiKey" not in listed.stdout and "secretHash" not in listed.stdout

    assert kassa(stack, "keys", "revoke", created.operator_id, manager.json()["keyId"]).returncode == 0
    assert Api(gateway, child["apiKey"]).get("/v1/keys").status == 403  # refused by the gateway's authorizer
    listed = json.loads(kassa(stack, "keys", "list", created.operator_id, "--json").stdout)
    assert {key["keyId"] for key in listed["keys"]} == {created.key_id, support["keyId"]}
    both = kassa(stack, "keys", "create", created.operator_id, "--role", "support", "--scopes", "admin")
    assert both.returncode == 2 and "not allowed with" in both.stderr
