"""A function's init rehearses the request that most often starts it (docs/decisions.md 43): DynamoDB calls
made up to the wire and answered there (kassa.store.rehearsal), and the route's validation and answer
models built. Nothing of a rehearsal may reach DynamoDB, and nothing after it may be answered from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kassa.store.rehearsal import Unrehearsed, rehearsing
from kassa_dev import realistic
from kassa_dev.gateway import payload_v2_event
from kassa_dev.stack import LocalStack
from tests.conftest import Api, probe_environment

ROOT = Path(__file__).resolve().parents[2]


def sent() -> int:
    """DynamoDB requests the embedded server has received (since the counter was last reset)."""
    return sum(realistic.requests().values())


def test_a_rehearsed_call_is_answered_in_the_process_and_later_calls_are_sent(stack: LocalStack) -> None:
    client = stack.client("dynamodb")
    item = {"pk": {"S": "rehearsed"}, "sk": {"S": "rehearsed"}}
    before = sent()
    with rehearsing(client, {"PutItem": {"Attributes": {"pk": {"S": "canned"}}}}):
        answer = client.put_item(TableName=stack.table, Item=item, ReturnValues="ALL_OLD")
        with pytest.raises(Unrehearsed, match="GetItem"):
            client.get_item(TableName=stack.table, Key=item)
    assert answer["Attributes"] == {"pk": {"S": "canned"}}  # parsed as DynamoDB's answer would be
    assert sent() == before  # nothing reached DynamoDB
    assert "Item" not in client.get_item(TableName=stack.table, Key=item, ConsistentRead=True)
    client.put_item(TableName=stack.table, Item=item)  # after the block, calls are sent again
    assert client.get_item(TableName=stack.table, Key=item, ConsistentRead=True)["Item"] == item


PROBE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from kassa.store import rehearsal
answered = []  # the bodies of the answers the rehearsal gave in place of DynamoDB's
_response = rehearsal.AWSResponse

def recorded(url, status, headers, body):
    answered.append(next(body.stream()).decode())
    return _response(url, status, headers, body)

rehearsal.AWSResponse = recorded
import app  # the function's init
from kassa.api import models
names = ("TransactionResult", "TransactionOut", "WalletOut")
built = {name: getattr(models, name).__pydantic_complete__ for name in names}
built["answered"] = answered
print(json.dumps({"built": built}), flush=True)
event = json.loads(sys.stdin.read())

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "TransactionsFunction", 512, "rehearsal-test"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:TransactionsFunction"
    def get_remaining_time_in_millis(self):
        return 10_000

print(json.dumps({"answer": app.lambda_handler(event, Context())}), flush=True)
"""


def in_a_process(function: str, probe: str, stdin: str = "", lambda_runtime: bool = True) -> str:
    """What ``probe`` prints, run in a process of its own with ``function``'s code and the layer on its path
    (in Lambda's environment unless not)."""
    runtime = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_FUNCTION_NAME": function}
    env = probe_environment(runtime if lambda_runtime else {})
    path = [str(ROOT / "functions" / function), str(ROOT / "layers" / "core")]
    command = [sys.executable, "-c", probe, json.dumps(path)]
    return subprocess.run(command, input=stdin, env=env, capture_output=True, text=True, timeout=120, check=True).stdout


def run_transactions_function(event: dict[str, Any], lambda_runtime: bool = True) -> tuple[dict[str, Any], Any, str]:
    """The transactions function started in a process of its own (in Lambda's environment unless not),
    then invoked once with ``event``: what its init built, the invocation's answer, and what it logged."""
    output = in_a_process("transactions", PROBE, json.dumps(event), lambda_runtime)
    # Logs go to stdout too: the probe's own lines are the two JSON objects keyed "built" and "answer".
    lines = [json.loads(line) for line in output.splitlines() if line.startswith(('{"built"', '{"answer"'))]
    return lines[0]["built"], lines[1]["answer"], output


def bet_event(player: str) -> dict[str, Any]:
    path = f"/v1/wallets/{player}/transactions"
    body = {"transactionId": "rehearsed-bet", "type": "bet", "amount": "4", "betId": "rehearsed-round"}
    event = payload_v2_event(
        "POST",
        "/v1/wallets/{playerId}/transactions",
        path,
        "",
        {"content-type": "application/json"},
        json.dumps(body).encode(),
        {"playerId": player},
    )
    event["requestContext"]["authorizer"] = {"lambda": {"operatorId": "demo", "scopes": "admin"}}
    return event


def test_the_transactions_function_init_rehearses_a_movement_and_its_first_bet_is_real(api: Api) -> None:
    player = api.open_wallet()
    assert api.move(player, "deposit", "10").status == 201
    before = realistic.requests()
    built, answer, logs = run_transactions_function(bet_event(player))
    assert "init's rehearsal" not in logs  # it neither failed nor went past the refusal of its credential
    answered = built.pop("answered")
    assert built == {"TransactionResult": True, "TransactionOut": True, "WalletOut": True}
    assert len(answered) == 2 and '"Responses"' in answered[0] and answered[1] == "{}", answered  # read, commit
    assert answer["statusCode"] == 201, answer
    calls = {op: n - before.get(op, 0) for op, n in realistic.requests().items() if n != before.get(op, 0)}
    assert calls == {"BatchGetItem": 1, "TransactWriteItems": 1}  # the bet's own two; init sent nothing
    assert api.balance(player) == "6.000000"  # the bet after the rehearsal reached DynamoDB


def test_outside_lambda_nothing_is_rehearsed(api: Api) -> None:
    player = api.open_wallet()
    assert api.move(player, "deposit", "10").status == 201
    built, answer, _ = run_transactions_function(bet_event(player), lambda_runtime=False)
    assert built == {"TransactionResult": False, "TransactionOut": False, "WalletOut": False, "answered": []}
    assert answer["statusCode"] == 201, answer


@pytest.mark.parametrize("function", ["wallet", "auth"])
def test_a_function_that_rehearses_nothing_loads_none_of_it(function: str) -> None:
    """Its init pays nothing for the rehearsal: not the module, not the codec it imports for the first
    connection."""
    probe = "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import app; print(sorted(sys.modules))"
    loaded = in_a_process(function, probe).strip().splitlines()[-1]
    assert "'app'" in loaded
    assert "kassa.store.rehearsal" not in loaded and "encodings.idna" not in loaded
