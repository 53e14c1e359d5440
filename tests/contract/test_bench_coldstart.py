"""The cold-start benchmark (kassa_dev.bench.coldstart) measures what it says: each function's import and
init in Lambda's environment, on Lambda's Python, from the pieces as built (the layer with its bytecode),
then its first request and the same request warm against a seeded embedded DynamoDB, and refuses a first
request that failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_a_cold_invocation_whole_is_init_and_first_request_of_the_same_run() -> None:
    """The median of each run's sum, not the sum of the medians (0.30 + 0.02 here)."""
    cold = coldstart.ColdStart("f", runs=[0.30, 0.20, 0.40], first_runs=[0.01, 0.05, 0.02])
    assert cold.invocation_median == pytest.approx(0.31)


def test_imports_are_split_between_the_cold_start_and_the_first_request() -> None:
    assert coldstart.top_imports(IMPORTTIME) == [("botocore", 3.0)]
    assert coldstart.top_imports(IMPORTTIME, first_request=True) == [("aws_xray_sdk", 5.0)]


@pytest.mark.parametrize(
    ("function", "answer"),
    [
        ("wallet", {"statusCode": 404, "body": "{}"}),
        ("authorizer", {"isAuthorized": False}),
        (coldstart.BARE_FUNCTION, {}),  # no Item: the wallet was not there
        ("transactions", "not a response"),
        (coldstart.STREAM_CONSUMER, {"batchItemFailures": [{"itemIdentifier": "1"}]}),
    ],
)
def test_a_first_request_that_failed_is_refused_not_timed(function: str, answer: object) -> None:
    with pytest.raises(RuntimeError, match="not answered as expected"):
        coldstart._check_answer(function, answer)


def test_every_http_function_of_the_template_has_a_first_request() -> None:
    assert set(coldstart.FIRST_EVENTS) == set(coldstart.FUNCTIONS)


@pytest.mark.usefixtures("python312")
def test_a_measurement_times_init_and_the_first_request_of_the_built_pieces() -> None:
    # In its own interpreter: the sample stack is a child process that spawn starts from a __main__.
    script = (
        "import json\n"
        "from kassa_dev.bench import coldstart as c\n"
        "if __name__ == '__main__':\n"
        "    found = c.measure(runs=1, names=('console', c.UNCOMPILED, c.BARE), progress=False)\n"
        "    print(json.dumps([[r.name, r.runs, r.first_runs, r.warm_runs, r.first_imports, r.compiled, r.python]\n"
        "                      for r in found]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (console, uncompiled, bare) = json.loads(done.stdout.strip().splitlines()[-1])
    for name, runs, first_runs, warm_runs, _, _, python in (console, uncompiled, bare):
        assert len(runs) == 1 and runs[0] > 0, name
        assert len(first_runs) == 1 and first_runs[0] > 0, name
        assert len(warm_runs) == 1 and warm_runs[0] > 0, name
        assert python == "3.12", name  # Lambda's, not this venv's
    # As deployed (template.yaml: Tracing Active), in Lambda's environment: the tracer was built at init, so
    # the requests import nothing of the X-Ray SDK (tests/contract/test_tracing.py).
    assert "aws_xray_sdk" not in [package for package, _ in console[4]]
    # The layer's bytecode was used: the console compiled its handler module alone, the runtime's boto3
    # nothing; the same function on the layer without its bytecode compiled all it imported.
    assert (console[5], bare[5]) == (1, 0)
    assert uncompiled[5] > 100


def test_the_cold_starts_run_in_lambdas_environment(tmp_path: Path) -> None:
    sample = coldstart.Sample({"KASSA_TABLE": "kassa-bench-cold"}, {})
    target = coldstart.Target("wallet", "", "/var/task", "wallet", "python3.12")
    environment = coldstart._environment(target, str(tmp_path), sample)
    # The X-Ray SDK tells Lambda by LAMBDA_TASK_ROOT; without it, it builds a sampler with an X-Ray client.
    assert environment["LAMBDA_TASK_ROOT"] == "/var/task"
    assert "Sampled=1" in environment["_X_AMZN_TRACE_ID"]
    assert environment["AWS_XRAY_DAEMON_ADDRESS"].startswith("127.0.0.1:")
    assert "POWERTOOLS_TRACE_DISABLED" not in environment
    assert environment["KASSA_TABLE"] == "kassa-bench-cold"
