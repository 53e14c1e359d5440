"""Issue 14 §2, in part: the CLI and the local stack say what is wrong in one line instead of a traceback,
Ctrl-C stops `kassa serve` quietly, its flags choose its ports and workers, and a shell holding nothing but
the banner's export line uses the local stack (its table, its buckets, dummy credentials), never an AWS
account."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.integration.cli_shell import (
    KASSA,
    banner_demo_key,
    banner_exports,
    bare_environment,
    kassa,
    printed_banner,
    serve_with_flags,
)
from tests.integration.serving import free_port, kassa_serve


def test_invoke_names_the_choices_for_an_unknown_function_or_a_missing_event_file() -> None:
    unknown = kassa("invoke", "payments", "-e", "events/wallet-get.json")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr + unknown.stdout
    assert "no function 'payments'" in unknown.stderr and "WalletFunction" in unknown.stderr
    missing = kassa("invoke", "wallet", "-e", "events/no-such-event.json")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr + missing.stdout
    assert "no event file events/no-such-event.json" in missing.stderr


def test_serve_flags_choose_the_ports_and_workers_over_the_environment(tmp_path: Path) -> None:
    port, dynamodb_port = free_port(), free_port()
    flags = ("--port", str(port), "--dynamodb-port", str(dynamodb_port), "--workers", "1")
    # The variables name other ports: the flags win (make run passes none, so the variables still apply).
    elsewhere = {"KASSA_PORT": str(free_port()), "KASSA_DYNAMODB_PORT": str(free_port()), "KASSA_WORKERS": "3"}
    with serve_with_flags(tmp_path / "serve.txt", *flags, **elsewhere) as banner:
        assert banner[0].startswith(f"Kassa is serving http://127.0.0.1:{port} ") and "1 worker)" in banner[0]
        assert banner_exports(banner)["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://127.0.0.1:{dynamodb_port}"
        key = banner_demo_key(banner)
        answer = requests.get(
            f"http://127.0.0.1:{port}/v1/wallets/nobody", headers={"authorization": f"Bearer {key}"}, timeout=10
        )
        assert answer.json()["code"] == "wallet_not_found"


def test_serve_refuses_a_bad_flag_or_variable_as_a_usage_error() -> None:
    bad_flag = kassa("serve", "--workers", "0")
    assert bad_flag.returncode == 2 and "--workers: '0' is not a positive number" in bad_flag.stderr
    bad_variable = kassa("serve", env=bare_environment(KASSA_PORT="http"))
    assert bad_variable.returncode == 2 and "--port: 'http' is not a port number" in bad_variable.stderr
    assert "Traceback" not in bad_flag.stderr + bad_variable.stderr


def test_serve_says_which_port_is_in_use(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        for flag, what in (("--dynamodb-port", "the embedded DynamoDB"), ("--port", "the HTTP API")):
            refused = kassa("serve", flag, port, "--workers", "1", env=bare_environment(KASSA_DATA_DIR=str(tmp_path)))
            assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr, refused
            assert refused.stderr.splitlines() == [
                f"kassa: port {port} is in use: {what} cannot listen on it; choose another with {flag} or "
                f"KASSA_{flag[2:].upper().replace('-', '_')}"
            ]


def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def test_version() -> None:
    shown = kassa("--version")
    assert shown.returncode == 0 and shown.stdout.startswith("kassa "), shown


def test_the_banners_export_line_is_all_another_shell_needs(tmp_path: Path) -> None:
    output = tmp_path / "serve.txt"
    with kassa_serve(output) as port:
        banner = printed_banner(output)
        (hint,) = [line for line in banner if "try: curl" in line]
        (pages,) = [line for line in banner if "console:" in line]
        assert pages.split() == [
            "console:",
            f"{base(port)}/console",
            "API",
            "docs",
            "(Swagger",
            "UI):",
            f"{base(port)}/docs",
        ]
        for url in (f"{base(port)}/console", f"{base(port)}/docs"):
            assert requests.get(url, timeout=10).headers["content-type"].startswith("text/html"), url
        shell = {**bare_environment(), **banner_exports(banner)}
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
