"""The cold-start benchmark (kassa_dev.bench.coldstart) measures what it says: each function's import and
init, then its first request against a seeded embedded DynamoDB, and refuses a first request that failed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kassa_dev.bench import coldstart

IMPORTTIME = "\n".join(
    [
        "import time:       900 |        900 | early",
        coldstart.MARKER,
        "import time:      2000 |       2000 | botocore.client",
        "import time:      1000 |       3000 | botocore",
        coldstart.FIRST_MARKER,
        "import time:      5000 |       5000 | aws_xray_sdk.core",
    ]
)


def test_imports_are_split_between_the_cold_start_and_the_first_request() -> None:
    assert coldstart.top_imports(IMPORTTIME) == [("botocore", 3.0)]
    assert coldstart.top_imports(IMPORTTIME, first_request=True) == [("aws_xray_sdk", 5.0)]


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("wallet", {"statusCode": 404, "body": "{}"}),
        ("authorizer", {"isAuthorized": False}),
        (coldstart.BARE, {}),  # no Item: the wallet was not there
        ("transactions", "not a response"),
    ],
)
def test_a_first_request_that_failed_is_refused_not_timed(name: str, answer: object) -> None:
    with pytest.raises(RuntimeError, match="not answered as expected"):
        coldstart._check_answer(name, answer)


def test_every_http_function_of_the_template_has_a_first_request() -> None:
    assert set(coldstart.FIRST_EVENTS) == set(coldstart.FUNCTIONS)


def test_a_measurement_times_init_and_the_first_request() -> None:
    # In its own interpreter: the sample stack is a child process that spawn starts from a __main__.
    script = (
        "import json\n"
        "from kassa_dev.bench import coldstart as c\n"
        "if __name__ == '__main__':\n"
        "    found = c.measure(runs=1, names=('console', c.BARE), progress=False)\n"
        "    print(json.dumps([[r.name, r.runs, r.first_runs, r.first_imports] for r in found]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (console, bare) = json.loads(done.stdout.strip().splitlines()[-1])
    for name, runs, first_runs, _ in (console, bare):
        assert len(runs) == 1 and runs[0] > 0, name
        assert len(first_runs) == 1 and first_runs[0] > 0, name
    # As deployed, the console's first request starts the tracer (template.yaml: Tracing Active).
    assert "aws_xray_sdk" in [package for package, _ in console[3]]
