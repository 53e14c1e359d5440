"""Issue 14 §2, in part: the CLI and the local stack say what is wrong in one line instead of a traceback,
Ctrl-C stops `kassa serve` quietly, and a shell holding nothing but the banner's export line uses the local
stack (its table, its buckets, dummy credentials), never an AWS account."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.integration.serving import free_port, kassa_serve

KASSA = str(Path(sys.executable).with_name("kassa"))
ROOT = Path(__file__).resolve().parents[2]


def bare_environment() -> dict[str, str]:
    """A shell with no AWS_* or KASSA_* variable of its own."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}


def kassa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KASSA, *args], env=env or bare_environment(), cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_invoke_names_the_choices_for_an_unknown_function_or_a_missing_event_file() -> None:
    unknown = kassa("invoke", "payments", "-e", "events/wallet-get.json")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr + unknown.stdout
    assert "no function 'payments'" in unknown.stderr and "WalletFunction" in unknown.stderr
    missing = kassa("invoke", "wallet", "-e", "events/no-such-event.json")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr + missing.stdout
    assert "no event file events/no-such-event.json" in missing.stderr


def printed_banner(output: Path) -> list[str]:
    """The server's banner, once it is all out (its last line is flushed after the server answers)."""
    deadline = time.monotonic() + 30
    while "Ctrl-C stops everything." not in output.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return output.read_text().splitlines()


def test_version() -> None:
    shown = kassa("--version")
    assert shown.returncode == 0 and shown.stdout.startswith("kassa "), shown


def test_the_banners_export_line_is_all_another_shell_needs(tmp_path: Path) -> None:
    output = tmp_path / "serve.txt"
    with kassa_serve(output) as port:
        banner = printed_banner(output)
        (exports,) = [line.split("export ", 1)[1] for line in banner if "other shells" in line]
        (hint,) = [line for line in banner if "try: curl" in line]
        shell = {**bare_environment(), **dict(pair.split("=", 1) for pair in shlex.split(exports))}
        assert shell["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")  # never an AWS endpoint

        created = kassa("operators", "create", "first-hour", "--json", env=shell)
        assert created.returncode == 0, created.stderr
        key = json.loads(created.stdout)["apiKey"]
        audited = kassa("reconcile", "audit", "first-hour", env=shell)
        assert audited.returncode == 0, audited.stderr
        run = json.loads(audited.stdout)  # the result alone on stdout; the logs went to stderr
        assert run["status"] == "completed" and run["resultsKey"], run
        nobody = kassa("reconcile", "audit", "nobody-here", env=shell)
        assert nobody.returncode == 1 and "no operator 'nobody-here'" in nobody.stderr, nobody

        # The hint's key is the demo key itself, ready to paste; the new operator's key works over HTTP.
        assert "Bearer kassa_key_" in hint and "$KASSA" not in hint
        answer = requests.get(
            f"http://127.0.0.1:{port}/v1/wallets/nobody", headers={"authorization": f"Bearer {key}"}, timeout=10
        )
        assert answer.json()["code"] == "wallet_not_found"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_kassa_serve_stops_with_one_line(tmp_path: Path, stop: signal.Signals) -> None:
    port, output = free_port(), tmp_path / "serve.txt"
    env = {**os.environ, "KASSA_PORT": str(port), "POWERTOOLS_METRICS_DISABLED": "true"}
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "KASSA_TABLE"):
        env.pop(name, None)
    with output.open("w") as sink:  # its own process group: Ctrl-C in a terminal reaches the whole group
        server = subprocess.Popen(
            [KASSA, "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    printed_banner(output)
    if stop == signal.SIGINT:
        os.killpg(server.pid, stop)  # Ctrl-C in a terminal: every process of the group gets it
    else:
        server.send_signal(stop)  # `kill`, a process manager: the server alone
    assert server.wait(timeout=30) == 0
    printed = output.read_text()
    assert "Traceback" not in printed and "KeyboardInterrupt" not in printed, printed
    assert printed.rstrip().splitlines()[-1] == "Kassa stopped."
