"""kassa.startup: in Lambda, a function's init runs with the garbage collector paused, and the first
invocation freezes what init built and starts the collector again; elsewhere the collector is left alone.
Each case runs in a Python of its own: the pause is taken when the ``kassa`` package is first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "core"

SCRIPT = """
import gc, json
import kassa  # what every function's code imports first
from kassa.observability import lambda_handler
at_init = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}

@lambda_handler
def handler(event, context):
    return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "probe", 128, "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    def get_remaining_time_in_millis(self):
        return 10_000

first, second = handler({}, Context()), handler({}, Context())
print(json.dumps({"init": at_init, "first": first, "second": second}))
"""


def _run(environment: dict[str, str]) -> dict[str, dict[str, int | bool]]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_LAMBDA", "AWS_EXECUTION"))}
    env.update(environment, PYTHONPATH=str(LAYER), POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_TRACE_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, dict[str, int | bool]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_in_lambda_init_runs_paused_and_the_first_invocation_freezes_it_and_resumes() -> None:
    seen = _run({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_FUNCTION_NAME": "probe"})
    assert seen["init"] == {"enabled": False, "frozen": 0}
    assert seen["first"]["enabled"] is True
    assert int(seen["first"]["frozen"]) > 10_000  # what init built: the modules, Powertools, Kassa
    # Not frozen again (frozen objects are still freed when nothing refers to them any more).
    assert seen["second"]["enabled"] is True and int(seen["second"]["frozen"]) <= int(seen["first"]["frozen"])


@pytest.mark.parametrize(
    "environment", [{}, {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}], ids=["no-runtime", "another-runtime"]
)
def test_outside_lambda_the_collector_is_left_alone(environment: dict[str, str]) -> None:
    seen = _run(environment)
    assert seen["init"] == {"enabled": True, "frozen": 0}
    assert seen["first"] == {"enabled": True, "frozen": 0}
