"""Tracing as Lambda runs it (template.yaml: Tracing: Active): the Tracer is built at init, X-Ray patches
botocore alone, and the SDK takes Lambda's path (sampling by the trace header, no X-Ray client of its own).

Each case loads a function's handler module in a fresh interpreter with Lambda's environment, as the cold
start does, and looks at what was imported before any invocation.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kassa_dev.lambda_runtime import aws_environment, lambda_environment

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
loaded = {name: name in sys.modules for name in ("aws_xray_sdk", "botocore.client", "requests", "sqlite3")}
patched = None
if loaded["aws_xray_sdk"] and loaded["botocore.client"]:
    import botocore.client
    patched = hasattr(botocore.client.BaseClient._make_api_call, "__wrapped__")
sampler = None
if loaded["aws_xray_sdk"]:
    from aws_xray_sdk.core import xray_recorder
    sampler = type(xray_recorder.sampler).__name__
print(json.dumps({"loaded": loaded, "botocore_patched": patched, "sampler": sampler}))
"""


def _lambda_environment(function: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        **aws_environment(),
        "KASSA_TABLE": "kassa-tracing-probe",
        **lambda_environment(function, str(ROOT / "functions" / function)),
    }


def _probe(function: str, environment: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "functions" / function / "app.py")],
        env=environment,
        cwd=environment["HOME"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_libraries_a_full_patch_would_import_are_installed_here() -> None:
    # Otherwise the tests below could not see them imported by a patch of everything.
    assert importlib.util.find_spec("requests") is not None
    assert importlib.util.find_spec("sqlite3") is not None


@pytest.mark.parametrize("function", ["wallet", "transactions", "auth", "authorizer", "reconciliation"])
def test_a_traced_function_builds_its_tracer_at_init_and_patches_botocore_alone(function: str, tmp_path: Path) -> None:
    found = _probe(function, _lambda_environment(function, tmp_path))
    assert found["loaded"]["aws_xray_sdk"], "the tracer was not built at init"
    assert found["botocore_patched"] is True
    assert not found["loaded"]["requests"] and not found["loaded"]["sqlite3"], found
    # Lambda's path: sampling by the trace header, no sampler polling X-Ray through a client of its own.
    assert found["sampler"] == "LocalSampler"


def test_the_console_traces_without_importing_botocore(tmp_path: Path) -> None:
    found = _probe("console", _lambda_environment("console", tmp_path))
    assert found["loaded"]["aws_xray_sdk"]
    # (Powertools imports the botocore package itself for its user agent: a module, no client machinery.)
    assert not found["loaded"]["botocore.client"], "patching botocore imported it into a function that calls no AWS"


@pytest.mark.parametrize("switch", ["outside Lambda", "tracing disabled"])
def test_without_tracing_the_x_ray_sdk_is_never_imported(switch: str, tmp_path: Path) -> None:
    environment = _lambda_environment("wallet", tmp_path)
    if switch == "outside Lambda":
        del environment["AWS_LAMBDA_FUNCTION_NAME"]
    else:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    assert not _probe("wallet", environment)["loaded"]["aws_xray_sdk"]
