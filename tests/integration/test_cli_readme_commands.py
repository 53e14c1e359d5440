"""Issue 14 §2: the READMEs' `kassa` commands, as written, in a shell that holds only what the banner of
`kassa serve` says to export (plus PATH and HOME; no AWS variable of its own), with no terminal: each gets
the result the READMEs document, no command asks about writing to AWS, and nothing reaches AWS."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.cli_shell import (
    AwsGuard,
    api,
    banner_exports,
    bare_environment,
    command_words,
    documented_commands,
    kassa,
    printed_banner,
)
from tests.integration.serving import kassa_serve

OPERATOR = "acme"  # the READMEs' own operator
REPORT_KEY = f"{OPERATOR}/daily.csv"
PLAYER = "high-roller"


@dataclass
class Story:
    """The served stack, and what the commands made so far (the key a later command revokes)."""

    port: int
    output: Path
    exports: dict[str, str]
    key_id: str = ""

    def play_a_large_win(self, api_key: str) -> None:
        """A round with a win the large_win rule flags (at least 10000, and 500 times the stake), for `kassa
        anomalies` to list, and the provider's report of it, for `kassa reconcile report` to match."""
        assert api(self.port, api_key, "POST", "/v1/wallets", {"playerId": PLAYER, "currency": "EUR"}).ok
        for move in (
            {"transactionId": "dep-1", "type": "deposit", "amount": "20000.00"},
            {"transactionId": "bet-1", "type": "bet", "amount": "1.00", "betId": "round-1"},
            {"transactionId": "win-1", "type": "win", "amount": "10000.00", "betId": "round-1"},
        ):
            assert api(self.port, api_key, "POST", f"/v1/wallets/{PLAYER}/transactions", move).status_code == 201
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        report = f"transactionId,action,userId,amount,currency,time\nbet-1,bet,{PLAYER},1.00,EUR,{now}\n"
        report += f"win-1,win,{PLAYER},10000.00,EUR,{now}\n"
        self.s3().put_object(Bucket=self.exports["KASSA_PROVIDER_REPORTS_BUCKET"], Key=REPORT_KEY, Body=report)
        self.wait_for(f"ANOMALY large_win (high): operator {OPERATOR}")

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.exports["AWS_ENDPOINT_URL"],
            region_name=self.exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.exports["AWS_SECRET_ACCESS_KEY"],
        )

    def wait_for(self, printed: str) -> None:
        deadline = time.monotonic() + 20
        while printed not in self.output.read_text():
            assert time.monotonic() < deadline, f"kassa serve never printed {printed!r}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    output = tmp_path_factory.mktemp("serve") / "output.txt"
    with kassa_serve(output, KASSA_WORKERS="2") as port:
        yield Story(port, output, banner_exports(printed_banner(output)))


Check = Callable[[Story, list[str], subprocess.CompletedProcess[str]], None]


def operator_created(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    created = json.loads(done.stdout)
    asked = words[words.index("--scopes") + 1 : words.index("--json")]
    assert created["operatorId"] == OPERATOR and created["scopes"] == asked
    assert created["apiKey"].startswith("kassa_key_") and created["onewalletToken"].startswith("kassa_ow_")
    story.play_a_large_win(created["apiKey"])  # the new key works over HTTP


def key_created(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    key = json.loads(done.stdout)
    assert (key["role"], key["name"], key["parentKeyId"]) == ("support", "support desk", None)
    story.key_id = key["keyId"]


def keys_listed(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    assert f"operatorId: {OPERATOR}" in done.stdout and story.key_id in done.stdout
    assert "kassa_key_" not in done.stdout  # never a secret


def key_revoked(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    assert done.stdout.splitlines() == [f"operatorId: {OPERATOR}", f"keyId: {story.key_id}", "revoked: True"]


def settings_shown_or_changed(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    expected = (
        ["promoBalance: bonus", "staleBetHours: 48", "refundStaleBets: True"]
        if "--promo-balance" in words
        else ["promoBalance: cash", "staleBetHours: 72", "refundStaleBets: False"]
    )
    assert done.stdout.splitlines() == [f"operatorId: {OPERATOR}", *expected]


def anomalies_listed(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    header, row, count = done.stdout.splitlines()
    assert header.split() == ["AT", "RULE", "SEVERITY", "PLAYER", "TRANSACTIONS", "ANOMALY", "ID"]
    assert row.split()[1:5] == ["large_win", "high", PLAYER, "win-1"] and count == "1 anomaly"


def function_invoked(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    result = json.loads(done.stdout)  # the Lambda result alone on stdout, its logs on stderr
    if words[1] == "wallet":
        # events/README.md: the sample's One Wallet token is nobody's here.
        assert json.loads(result["body"])["status"] == "INVALID_TOKEN_ID"
    elif words[1] == "auth":
        # Its authorizer context names the sample events' operator, who has no wallet in this stack.
        assert (result["statusCode"], json.loads(result["body"])["code"]) == (404, "wallet_not_found")
    else:  # the hourly schedule's event: an incremental audit of every operator (demo and acme here)
        assert [(run["mode"], run["status"]) for run in result] == [("incremental", "completed")] * 2


def run_finished(story: Story, words: list[str], done: subprocess.CompletedProcess[str]) -> None:
    run = json.loads(done.stdout)
    assert (run["type"], run["status"]) == (words[1], "completed") and run["resultsKey"]
    if words[1] == "report":
        assert run["s3Key"] == REPORT_KEY and run["counts"].get("matched") == 2, run


CHECKS: dict[str, Check] = {
    "operators create": operator_created,
    "keys create": key_created,
    "keys list": keys_listed,
    "keys revoke": key_revoked,
    "operators settings": settings_shown_or_changed,
    "anomalies": anomalies_listed,
    "invoke": function_invoked,
    "reconcile audit": run_finished,
    "reconcile report": run_finished,
}


def kind(words: list[str]) -> str:
    return words[0] if words[0] in CHECKS else " ".join(words[:2])


def test_the_readmes_commands_get_their_documented_results(story: Story) -> None:
    commands = documented_commands()
    placeholders = {"operator": OPERATOR, "s3_key": REPORT_KEY}
    assert {kind(command_words(line, keyId="k", **placeholders)) for line in commands} == set(CHECKS)
    with AwsGuard() as guard:
        shell = bare_environment(guard, **story.exports)
        for line in commands:
            words = command_words(line, keyId=story.key_id, **placeholders)
            done = kassa(*words, env=shell)
            assert done.returncode == 0, (line, done.stderr[-3000:])
            assert "writes to" not in done.stderr, line  # a local stack is never asked about
            CHECKS[kind(words)](story, words, done)
        assert guard.hosts == []
