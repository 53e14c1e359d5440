"""Issue 14 §2, safety. A shell pointed at a local stack never reaches AWS, whatever else it holds; with no
endpoint, a command that writes first says which AWS account, region and table it is about to write to,
and asks; --yes answers for a script; without a terminal and without --yes nothing is written.

No test here can reach AWS: every `kassa` runs behind the refusing proxy of ``cli_shell.AwsGuard``, and the
account is faked, in this process by replacing ``aws_target.aws_target``, in a subprocess by sending STS
(and STS alone) to moto, which answers GetCallerIdentity with its account 123456789012. A command that goes
on to write after its confirmation is seen trying to reach DynamoDB's AWS endpoint, and refused."""

from __future__ import annotations

import io
import os
import pty
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kassa_dev import aws_target, template
from kassa_dev.cli_errors import CommandFailed
from kassa_dev.embedded_dynamodb import EmbeddedDynamoDB
from kassa_dev.stack import LocalStack
from tests.conftest import new_id
from tests.integration.cli_shell import AwsGuard, bare_environment, kassa, one_line_failure

FAKE = aws_target.AwsTarget(
    "210987654321", "arn:aws:iam::210987654321:user/ana", "eu-west-1", "table kassa-ledger (KASSA_TABLE unset)"
)
MOTO_ACCOUNT = "123456789012"
REGION = "eu-west-1"
DYNAMODB_IN_AWS = f"dynamodb.{REGION}.amazonaws.com:443"
# Every command that writes, with what it needs to get as far as writing.
WRITING = [
    ("operators", "create", "acme"),
    ("operators", "rotate-token", "acme"),
    ("operators", "settings", "acme", "--promo-balance", "bonus"),
    ("keys", "create", "acme", "--role", "support"),
    ("keys", "revoke", "acme", "5a3b1e0000000001"),
    ("reconcile", "audit", "acme"),
    ("reconcile", "report", "acme", "acme/daily.csv"),
    ("invoke", "wallet", "-e", "events/wallet-health.json"),  # on the environment's DynamoDB: set below
]
READING = [("keys", "list", "acme"), ("operators", "settings", "acme"), ("anomalies", "acme")]


# --- The question itself, with a fake account


class Terminal(io.StringIO):
    """Someone at a terminal, about to type ``answer``."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def an_aws_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_target, "aws_target", lambda: FAKE)


def test_yes_says_where_it_writes_and_goes_on_without_asking(
    an_aws_account: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    aws_target.confirm_write("keys revoke acme k1", yes=True)
    said = capsys.readouterr().err
    assert "`keys revoke acme k1` writes to AWS account 210987654321 (arn:aws:iam::210987654321:user/ana)" in said
    assert "region eu-west-1, table kassa-ledger (KASSA_TABLE unset)" in said and "Go ahead" not in said


def test_without_a_terminal_and_without_yes_nothing_is_written(
    an_aws_account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped in: not an answer to a question
    with pytest.raises(CommandFailed, match="no terminal to confirm on; pass --yes to go ahead") as refused:
        aws_target.confirm_write("operators create acme", yes=False)
    assert "AWS account 210987654321" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("answer", "goes_on"), [("y\n", True), ("YES\n", True), ("n\n", False), ("\n", False), ("", False)]
)
def test_at_a_terminal_only_a_yes_goes_on(
    an_aws_account: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    goes_on: bool,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    if goes_on:
        aws_target.confirm_write("operators create acme", yes=False)
    else:
        with pytest.raises(CommandFailed, match="nothing written"):
            aws_target.confirm_write("operators create acme", yes=False)
    said = capsys.readouterr().err
    assert "`operators create acme` writes to AWS account 210987654321" in said and "Go ahead? [y/N]" in said


# --- The CLI, with no endpoint: an AWS account (moto's, as far as STS is concerned)


@pytest.fixture(scope="module")
def sts_endpoint() -> Iterator[str]:
    with EmbeddedDynamoDB() as moto:
        yield moto.endpoint_url


def aws_shell(guard: AwsGuard, sts_endpoint: str, home: Path, **more: str) -> dict[str, str]:
    """Credentials and a region, no endpoint (but STS's), no ~/.aws, no instance metadata."""
    return bare_environment(
        guard,
        HOME=str(home),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example",
        AWS_ENDPOINT_URL_STS=sts_endpoint,
        **more,
    )


def for_aws(command: tuple[str, ...]) -> dict[str, str]:
    """``kassa invoke`` writes to the environment's DynamoDB only when one is named: here, AWS's."""
    return {"AWS_ENDPOINT_URL_DYNAMODB": f"https://{DYNAMODB_IN_AWS.split(':')[0]}"} if command[0] == "invoke" else {}


def test_every_writing_command_refuses_without_a_terminal_or_yes_and_says_where(
    sts_endpoint: str, tmp_path: Path
) -> None:
    for command in WRITING:
        with AwsGuard() as guard:
            refused = one_line_failure(
                kassa(*command, env=aws_shell(guard, sts_endpoint, tmp_path, **for_aws(command)))
            )
            assert guard.hosts == [], (command, guard.hosts)  # not a byte to DynamoDB
        assert f"would write to AWS account {MOTO_ACCOUNT} (arn:aws:sts::{MOTO_ACCOUNT}:user/moto)" in refused
        table = "table kassa-ledger (KASSA_TABLE unset)"
        assert f"region {REGION}, {table}: no terminal to confirm on; pass --yes" in refused, refused


def test_yes_writes_after_saying_where(sts_endpoint: str, tmp_path: Path) -> None:
    with AwsGuard() as guard:
        went_on = kassa("operators", "create", "acme", "--yes", env=aws_shell(guard, sts_endpoint, tmp_path))
        assert guard.hosts == [DYNAMODB_IN_AWS]  # on to the table, in AWS (and stopped by the guard)
    said, failed = went_on.stderr.strip().splitlines()
    assert said == (
        f"kassa: `operators create acme --yes` writes to AWS account {MOTO_ACCOUNT} "
        f"(arn:aws:sts::{MOTO_ACCOUNT}:user/moto), region {REGION}, table kassa-ledger (KASSA_TABLE unset) (--yes)"
    )
    assert went_on.returncode == 1 and failed.startswith("kassa: cannot reach AWS through the proxy")


@pytest.mark.parametrize(("answer", "reaches_the_table"), [("y", True), ("n", False)])
def test_at_a_terminal_the_answer_decides(
    sts_endpoint: str, tmp_path: Path, answer: str, reaches_the_table: bool
) -> None:
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())  # typed ahead: the terminal keeps it until read
        with AwsGuard() as guard:
            result = kassa(
                "keys",
                "create",
                "acme",
                env=aws_shell(guard, sts_endpoint, tmp_path, KASSA_TABLE="kassa-prod"),
                stdin=terminal,
            )
            assert guard.hosts == ([DYNAMODB_IN_AWS] if reaches_the_table else [])
    finally:
        os.close(controller)
        os.close(terminal)
    assert f"writes to AWS account {MOTO_ACCOUNT}" in result.stderr and "table kassa-prod." in result.stderr
    assert "Go ahead? [y/N]" in result.stderr and result.returncode == 1
    if not reaches_the_table:
        assert result.stderr.rstrip().endswith("kassa: nothing written")


def test_reading_commands_do_not_ask(sts_endpoint: str, tmp_path: Path) -> None:
    for command in READING:
        with AwsGuard() as guard:
            failed = one_line_failure(kassa(*command, env=aws_shell(guard, sts_endpoint, tmp_path)))
            assert guard.hosts == [DYNAMODB_IN_AWS], command  # straight to the table, no question
        assert "writes to" not in failed and failed.startswith("kassa: cannot reach AWS through the proxy")


# --- A local stack: nothing reaches AWS


def test_a_local_table_keeps_every_command_off_aws(stack: LocalStack) -> None:
    """The DynamoDB endpoint and the table named, nothing else of the stack's (a shell set up by hand), and a
    global setting that tells botocore to ignore endpoints: S3 (the report, the run's results), EventBridge
    and DynamoDB all stay on the local stack, and no command asks about writing to AWS."""
    operator = new_id("safe")
    ((reports, _),) = template.s3_consumers().items()
    stack.client("s3").put_object(
        Bucket=stack.buckets[reports],
        Key=f"{operator}/daily.csv",
        Body=b"transactionId,action,userId,amount,currency,time\n",
    )
    with AwsGuard() as guard:
        shell = bare_environment(
            guard,
            AWS_ENDPOINT_URL_DYNAMODB=stack.dynamodb.endpoint_url,
            KASSA_TABLE=stack.table,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true",
        )
        for command in [
            ("operators", "create", operator, "--json"),
            ("keys", "create", operator, "--role", "support"),
            ("keys", "list", operator),
            ("operators", "settings", operator, "--stale-bet-hours", "48"),
            ("anomalies", operator),
            ("reconcile", "audit", operator),
            ("reconcile", "report", operator, f"{operator}/daily.csv"),
            ("invoke", "wallet", "-e", "events/wallet-health.json"),
        ]:
            done = kassa(*command, env=shell)  # no terminal, no --yes: a local stack is not asked about
            assert done.returncode == 0, (command, done.stderr[-2000:])
        assert guard.hosts == []


def test_a_local_table_with_a_service_sent_to_aws_is_refused(stack: LocalStack) -> None:
    with AwsGuard() as guard:
        shell = bare_environment(
            guard,
            AWS_ENDPOINT_URL_DYNAMODB=stack.dynamodb.endpoint_url,
            AWS_ENDPOINT_URL_S3="https://s3.eu-west-1.amazonaws.com",
            KASSA_TABLE=stack.table,
            AWS_DEFAULT_REGION="us-east-1",
        )
        refused = one_line_failure(kassa("reconcile", "audit", "acme", env=shell))
        assert guard.hosts == []
    assert "AWS_ENDPOINT_URL_S3 points at AWS: unset it" in refused
