"""`kassa serve` (what `make run` starts) serves the API, and the README's curl examples work as written."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.integration.serving import kassa_serve

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEMO_KEY = "kassa_key_readme_test"
DEMO_TOKEN = "kassa_ow_readme_test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    output = tmp_path_factory.mktemp("serve") / "output.txt"
    settings = {"KASSA_DEMO_API_KEY": DEMO_KEY, "KASSA_DEMO_ONEWALLET_TOKEN": DEMO_TOKEN, "KASSA_WORKERS": "2"}
    with kassa_serve(output, **settings) as port:
        yield port


def readme_curls(section: str) -> list[str]:
    block = README.read_text().split(f"## {section}", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = re.sub(r"\\\n\s*", " ", block).strip().split("\n\n")
    return [" ".join(command.split()) for command in commands if command.strip().startswith("curl")]


def run_curl(command: str, port: int, sid: str = "") -> requests.Response:
    """Just enough of curl for the README: -s, -X, -H, -d and one URL; the README's shell variables."""
    for name, value in (("KASSA_DEMO_API_KEY", DEMO_KEY), ("KASSA_DEMO_ONEWALLET_TOKEN", DEMO_TOKEN), ("SID", sid)):
        command = command.replace(f"${name}", value)
    words = shlex.split(command)[1:]
    method, headers, data, url = "GET", {}, None, None
    while words:
        word = words.pop(0)
        if word == "-s":
            continue
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = words.pop(0)
            method = "POST" if method == "GET" else method
        else:
            url = word.replace("127.0.0.1:3000", f"127.0.0.1:{port}")
    assert url, command
    return requests.request(method, url, headers=headers, data=data, timeout=10)


def test_readme_curl_examples_work_as_written(served: int) -> None:
    commands = readme_curls("Try it")
    assert len(commands) >= 6
    answers = [run_curl(command, served) for command in commands]
    assert all(answer.status_code in (200, 201) for answer in answers), [a.text for a in answers]
    wallet = answers[-2].json()
    assert wallet["balance"] == "102.500001"
    history = answers[-1].json()["items"]
    assert [item["type"] for item in history] == ["win", "bet", "deposit"]
    # The README's promise: resending the deposit replays it.
    again = run_curl(commands[2], served)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


def test_readme_one_wallet_round_works_as_written(served: int) -> None:
    commands = readme_curls("A One Wallet round")
    assert [c for c in commands if "/onewallet/" in c], "the README shows a One Wallet round"
    sid = ""
    answers = []
    for command in commands:
        answer = run_curl(command, served, sid)
        assert answer.status_code in (200, 201), (command, answer.text)
        if "/v1/sessions" in command:
            sid = answer.json()["sid"]
        answers.append(answer.json(parse_float=Decimal))
    one_wallet = answers[-3:]
    assert [a["status"] for a in one_wallet] == ["OK", "OK", "OK"]
    assert [a["balance"] for a in one_wallet] == [Decimal(50), Decimal(40), Decimal("65.5")]
    assert one_wallet[-1]["uuid"] == "u-3"
    again = run_curl(commands[-2], served, sid).json(parse_float=Decimal)
    assert again["status"] == "BET_ALREADY_EXIST" and again["balance"] == Decimal("65.5")


def test_serve_answers_like_the_gateway_without_a_key(served: int) -> None:
    response = requests.get(f"http://127.0.0.1:{served}/v1/wallets/alice", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
