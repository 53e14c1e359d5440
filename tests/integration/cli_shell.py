"""The `kassa` CLI as a person runs it from a shell: a subprocess with an environment built from nothing
(no AWS_* or KASSA_* variable of the test process leaks in), and a guard that makes reaching AWS impossible.

The guard is an HTTP proxy on 127.0.0.1 that every AWS endpoint goes through (HTTPS_PROXY, HTTP_PROXY;
NO_PROXY keeps 127.0.0.1 direct, so the local stack is reached as usual). It records which host each
connection asked for and refuses it: a command that tries to reach AWS fails, and the test sees where it
tried to go. No test can make a real network call to AWS."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.integration.serving import stop

KASSA = str(Path(sys.executable).with_name("kassa"))
ROOT = Path(__file__).resolve().parents[2]
READMES = (ROOT / "README.md", ROOT / "events" / "README.md")


class AwsGuard:
    """The refusing proxy: ``hosts`` lists what each connection through it asked for (``host:port``)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.hosts: list[str] = []
        threading.Thread(target=self._refuse_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def environment(self) -> dict[str, str]:
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "NO_PROXY": "127.0.0.1,localhost"}

    def _refuse_forever(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                request_line = connection.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                parts = request_line.split()
                self.hosts.append(parts[1] if len(parts) > 1 else request_line)
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def __enter__(self) -> AwsGuard:
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()


def bare_environment(guard: AwsGuard | None = None, /, **variables: str) -> dict[str, str]:
    """A shell with no AWS_* or KASSA_* variable of its own (HOME as the test process has it: the tests
    that must not read ~/.aws give an empty one), behind ``guard`` when given, plus ``variables``."""
    shell = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return {**shell, **(guard.environment() if guard else {}), **variables}


def kassa(*args: str, env: dict[str, str] | None = None, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kassa ARGS``; stdin is /dev/null (no terminal) unless a descriptor is given."""
    return subprocess.run(
        [KASSA, *args],
        env=env or bare_environment(),
        cwd=ROOT,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def documented_commands() -> list[str]:
    """Every `kassa ...` command the READMEs show, as written: each line of their ```sh blocks that starts
    with `kassa ` (README.md's, then events/README.md's), then README.md's inline `kassa reconcile ...`."""
    found = []
    for readme in READMES:
        for block in re.findall(r"```sh\n(.*?)```", readme.read_text(), re.DOTALL):
            found += [line for line in block.splitlines() if line.startswith("kassa ")]
    return found + re.findall(r"`(kassa reconcile [^`]+)`", READMES[0].read_text())


def command_words(line: str, **placeholders: str) -> list[str]:
    """A documented command's arguments, its placeholders (``<keyId>``: ``keyId=...``) filled in and its
    comment dropped."""
    for name, value in placeholders.items():
        line = line.replace(f"<{name.replace('_', ' ')}>", value)
    assert "<" not in line, f"a placeholder left in {line!r}"
    return shlex.split(line, comments=True)[1:]


def printed_banner(output: Path) -> list[str]:
    """The server's banner, once it is all out (its last line is flushed after the server answers)."""
    deadline = time.monotonic() + 30
    while "Ctrl-C stops everything." not in output.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return output.read_text().splitlines()


def banner_exports(banner: list[str]) -> dict[str, str]:
    """The variables of the banner's `export ...` line, as a shell that pasted it has them."""
    (exports,) = [line.split("export ", 1)[1] for line in banner if "other shells" in line]
    return dict(pair.split("=", 1) for pair in shlex.split(exports))


def banner_demo_key(banner: list[str]) -> str:
    (hint,) = [line for line in banner if "try: curl" in line]
    return hint.split("Bearer ", 1)[1].split("'", 1)[0]


def one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's line: exit 1, one line on stderr, nothing on stdout, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kassa: "), result.stderr
    return lines[0]


@contextmanager
def serve_with_flags(output: Path, *flags: str, **settings: str) -> Iterator[list[str]]:
    """`kassa serve FLAGS` (the environment less any endpoint, plus ``settings``); yields its banner once
    it answers, and stops it with SIGTERM afterwards, as a process manager would."""
    env = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", **settings}
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "KASSA_TABLE"):
        env.pop(name, None)
    with output.open("w") as sink:
        process = subprocess.Popen([KASSA, "serve", *flags], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        banner = printed_banner(output)
        if process.poll() is not None or "Ctrl-C stops everything." not in banner:
            pytest.fail(f"kassa serve did not start: {output.read_text()}")
        yield banner
    finally:
        stop(process, output)


def api(port: int, key: str, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(
        method,
        f"http://127.0.0.1:{port}{path}",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        data=None if body is None else json.dumps(body),
        timeout=10,
    )
