"""Issue 14 §2: with no local stack to talk to, the READMEs' `kassa` commands each fail with one line that
says what is wrong (nobody at the endpoint, no such table, not Kassa's table, no region, no credentials),
naming the endpoint and the table (a table chosen by default says so), and exit 1; never a traceback.
Every command goes through the same translation (``kassa_dev.cli_errors``), which also explains a failure
that reaches it as the cause of a Kassa error. Nothing here can reach AWS (``cli_shell.AwsGuard``)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from kassa import errors
from kassa_dev import aws_target, cli_errors
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB
from kassa_dev.stack import local_aws_environment
from tests.integration.cli_shell import (
    AwsGuard,
    bare_environment,
    command_words,
    documented_commands,
    kassa,
    one_line_failure,
)
from tests.integration.serving import free_port

# moto keeps tables per region: this one is this module's alone.
REGION = "ap-southeast-2"
LOCAL_HINT = "is `kassa serve` running? Paste the export line its banner prints"


def readme_commands() -> list[list[str]]:
    """The READMEs' commands, their placeholders filled with names that exist nowhere."""
    return [
        command_words(line, operator="acme", keyId="5a3b1e0000000001", s3_key="acme/daily.csv")
        for line in documented_commands()
    ]


def fail_each(commands: list[list[str]], env: dict[str, str]) -> list[str]:
    """Each command's one line of failure (a few at a time: each is a Python start of its own)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda words: one_line_failure(kassa(*words, env=env)), commands))


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A DynamoDB (moto) with no Kassa table in this module's region."""
    with EmbeddedDynamoDB() as moto:
        moto.client("dynamodb", region_name=REGION).create_table(
            TableName="not-kassa",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield moto.endpoint_url


def test_nobody_at_the_endpoint_is_said_for_every_readme_command() -> None:
    """The banner's export line pasted, but `kassa serve` is not running (any more)."""
    url = f"http://127.0.0.1:{free_port()}"
    with AwsGuard() as guard:
        lines = fail_each(readme_commands(), bare_environment(guard, **local_aws_environment(url, "kassa-local")))
        assert guard.hosts == []
    assert set(lines) == {f"kassa: cannot reach {url}/ (AWS_ENDPOINT_URL_DYNAMODB): {LOCAL_HINT}"}


def test_a_missing_table_is_named_with_its_endpoint_and_where_its_name_came_from(endpoint: str) -> None:
    shell = {**local_aws_environment(endpoint, "kassa-local"), "AWS_DEFAULT_REGION": REGION}
    del shell["KASSA_TABLE"]
    with AwsGuard() as guard:
        lines = fail_each(readme_commands(), bare_environment(guard, **shell))
        assert guard.hosts == []
    assert set(lines) == {
        f"kassa: table kassa-ledger (KASSA_TABLE unset) not found at {endpoint} (AWS_ENDPOINT_URL_DYNAMODB): "
        f"{LOCAL_HINT} (it sets KASSA_TABLE)"
    }


def test_a_table_that_is_not_kassas_is_refused_before_anything_is_written(endpoint: str) -> None:
    shell = bare_environment(**{**local_aws_environment(endpoint, "not-kassa"), "AWS_DEFAULT_REGION": REGION})
    wrong = one_line_failure(kassa("operators", "create", "acme", env=shell))
    assert wrong == (
        f"kassa: table not-kassa at {endpoint} (AWS_ENDPOINT_URL_DYNAMODB) is not Kassa's ledger table "
        "(its key is id (HASH), Kassa's is pk (HASH), sk (RANGE)): check KASSA_TABLE"
    )


def no_aws_at_all(guard: AwsGuard, home: Path, **more: str) -> dict[str, str]:
    """No endpoint, and no configuration: an empty HOME (no ~/.aws), no instance metadata."""
    return bare_environment(guard, HOME=str(home), AWS_EC2_METADATA_DISABLED="true", **more)


def test_no_region_and_no_credentials_are_said_for_every_readme_command(tmp_path: Path) -> None:
    # kassa invoke needs no AWS at all: without an endpoint it runs on a throwaway stack of its own.
    commands = [words for words in readme_commands() if words[0] != "invoke"]
    with AwsGuard() as guard:
        no_region = fail_each(commands, no_aws_at_all(guard, tmp_path))
        no_credentials = fail_each(commands, no_aws_at_all(guard, tmp_path, AWS_DEFAULT_REGION="eu-west-1"))
        assert guard.hosts == []
    assert set(no_region) == {
        "kassa: no AWS region: set AWS_DEFAULT_REGION to the region of Kassa's stack "
        "(for the local stack, paste the export line `kassa serve` prints)"
    }
    assert set(no_credentials) == {
        "kassa: no AWS credentials (none in the environment, in ~/.aws, or from an instance role): set them, "
        "e.g. AWS_PROFILE (for the local stack, paste the export line `kassa serve` prints)"
    }


def test_invoke_needs_no_aws_at_all(tmp_path: Path) -> None:
    with AwsGuard() as guard:
        done = kassa("invoke", "wallet", "-e", "events/wallet-health.json", env=no_aws_at_all(guard, tmp_path))
        assert guard.hosts == []
    assert done.returncode == 0 and '"statusCode": 200' in done.stdout, done.stderr[-2000:]


# --- The translation, for a failure met inside a command (a store that gave up on DynamoDB)


@pytest.fixture
def a_local_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")
    monkeypatch.setattr(aws_target, "table_label", lambda: "table kassa-ledger (KASSA_TABLE unset)")
    monkeypatch.setattr(aws_target, "dynamodb_endpoint", lambda: "http://127.0.0.1:4566 (AWS_ENDPOINT_URL_DYNAMODB)")


def raised_from(error: Exception, cause: Exception) -> Exception:
    try:
        raise error from cause
    except Exception as raised:
        return raised


def test_a_kassa_error_is_explained_by_its_cause(a_local_table: None) -> None:
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "TransactWriteItems")
    refused = raised_from(errors.StoreRefused("the ledger refused the request"), missing)
    assert cli_errors.explain(refused) == (
        "table kassa-ledger (KASSA_TABLE unset) not found at http://127.0.0.1:4566 (AWS_ENDPOINT_URL_DYNAMODB): "
        f"{LOCAL_HINT} (it sets KASSA_TABLE)",
        1,
    )
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")
    busy = raised_from(errors.TemporarilyUnavailable("read: DynamoDB stayed busy"), unreachable)
    assert cli_errors.explain(busy) == (
        f"cannot reach http://127.0.0.1:4566/ (AWS_ENDPOINT_URL_DYNAMODB): {LOCAL_HINT}",
        1,
    )


def test_what_was_asked_is_exit_2_and_what_could_not_be_done_exit_1() -> None:
    assert cli_errors.explain(errors.InvalidRequest("no operator acme")) == ("no operator acme", 2)
    assert cli_errors.explain(errors.TemporarilyUnavailable("DynamoDB stayed busy")) == ("DynamoDB stayed busy", 1)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate\nexceeded"}}, "PutEvents")
    assert cli_errors.explain(throttled) == ("PutEvents: ThrottlingException: Rate exceeded", 1)
