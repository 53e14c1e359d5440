"""`kassa serve` (what `make run` starts) as a child process on a free port, for the tests that drive it
over HTTP as a person trying Kassa would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

# Its own stop is bounded (a trigger's delivery is let go after 5 s, each worker after 2 + 2 s).
STOP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def kassa_serve(output: Path, **settings: str) -> Iterator[int]:
    """Start it with ``settings`` as environment variables (KASSA_DEMO_API_KEY, ...), its output going to
    the file ``output`` (a pipe nobody reads fills up and stops the server); yields its port once it
    answers /health, and stops it afterwards."""
    port = free_port()
    env = {**os.environ, "KASSA_PORT": str(port), "POWERTOOLS_METRICS_DISABLED": "true", **settings}
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "KASSA_TABLE"):
        env.pop(name, None)
    kassa = Path(sys.executable).with_name("kassa")
    with output.open("w") as sink:
        process = subprocess.Popen([str(kassa), "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting up
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail(f"kassa serve did not start: {output.read_text()}")
        yield port
    finally:
        stop(process, output)


def stop(process: subprocess.Popen[bytes], output: Path) -> None:
    """SIGTERM, as a process manager stops it; a stop that hangs fails the test with every thread's stack
    (kassa serve prints them on SIGUSR1, into ``output``)."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(1)
        process.kill()
        pytest.fail(f"kassa serve did not stop within {STOP_SECONDS} s:\n{output.read_text()[-6000:]}")
