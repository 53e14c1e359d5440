"""kassa.startup: in Lambda, a function's init runs with the garbage collector paused and on the layer's
dataclass table, and the first invocation freezes what init built, starts the collector again and gives
dataclasses their own exec back; elsewhere the collector and dataclasses are left alone. Each case runs in a
Python of its own: the pause is taken when the ``kassa`` package is first imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kassa import dataclass_code
from tests.conftest import probe_environment

LAYER = Path(__file__).resolve().parents[2] / "layers" / "core"

SCRIPT = """
import gc, json
import kassa  # what every function's code imports first
import dataclasses
from kassa.observability import lambda_handler
at_init = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "table": "exec" in vars(dataclasses)}

@lambda_handler
def handler(event, context):
    return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "table": "exec" in vars(dataclasses)}

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "probe", 128, "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    def get_remaining_time_in_millis(self):
        return 10_000

first, second = handler({}, Context()), handler({}, Context())
print(json.dumps({"init": at_init, "first": first, "second": second}))
"""


LAMBDA = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "AWS_LAMBDA_FUNCTION_NAME": "probe"}


def _run(environment: dict[str, str], layer: Path = LAYER) -> dict[str, Any]:
    """The probe's report: init, first and second invocation; and under "logs" what it logged."""
    env = probe_environment(environment) | {"PYTHONPATH": str(layer)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    *logs, last = done.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(last)
    return {**result, "logs": "\n".join(logs)}


def test_in_lambda_init_runs_paused_and_the_first_invocation_freezes_it_and_resumes() -> None:
    seen = _run(LAMBDA)
    assert seen["init"] == {"enabled": False, "frozen": 0, "table": False}  # the source tree has no table
    assert seen["first"]["enabled"] is True
    assert int(seen["first"]["frozen"]) > 10_000  # what init built: the modules, Powertools, Kassa
    # Not frozen again (frozen objects are still freed when nothing refers to them any more).
    assert seen["second"]["enabled"] is True and int(seen["second"]["frozen"]) <= int(seen["first"]["frozen"])


@pytest.mark.parametrize(
    "environment", [{}, {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}], ids=["no-runtime", "another-runtime"]
)
def test_outside_lambda_the_collector_is_left_alone(environment: dict[str, str], tmp_path: Path) -> None:
    seen = _run(environment, _layer_with_an_empty_table(tmp_path))
    assert seen["init"] == {"enabled": True, "frozen": 0, "table": False}
    assert seen["first"] == {"enabled": True, "frozen": 0, "table": False}


def _layer_with_an_empty_table(into: Path) -> Path:
    """Kassa's source with a dataclass table that holds nothing: everything init defines is compiled."""
    shutil.copytree(LAYER / "kassa", into / "kassa", ignore=shutil.ignore_patterns("__pycache__"))
    (into / "kassa" / dataclass_code.TABLE_NAME).write_bytes(dataclass_code.dump_table([]))
    return into


def test_in_lambda_init_runs_on_the_table_until_the_first_invocation_which_says_it_is_stale(tmp_path: Path) -> None:
    seen = _run(LAMBDA, _layer_with_an_empty_table(tmp_path))
    assert seen["init"]["table"] is True
    assert seen["first"]["table"] is False and seen["second"]["table"] is False
    # Logged once, at the first invocation: every dataclass method init defined was compiled.
    assert seen["logs"].count("the layer's table lacks them (make dataclass-code)") == 1, seen["logs"]
