"""Cold start: import + init time of each function's handler module, each time in a fresh interpreter.

For every function (``functions/<name>/app.py``) a new ``python`` process, with the environment Lambda
would give it (the template's variables, the function name, credentials in the environment), times
from just before the handler module is imported to just after what its first invocation needs is built
(the module, then ``kassa.store.client.dynamodb()``). The floor is a bare handler that only does
``import boto3; boto3.client("dynamodb")``. Interpreter start-up is the same for both and is not
counted. The runs go round-robin over the targets (so a burst of load elsewhere on the machine does not
land on one target only), after one discarded round that warms the OS file cache and ``__pycache__``;
the figure is the median. Each run also reports the CPU time it used (user + system): on a machine busy
with other work, wall time includes waiting for a core, CPU time does not.

One more run per target under ``python -X importtime`` lists where the import time goes, by top-level
package (self time of its modules, from the handler's first import on).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field

from kassa_dev import template

FUNCTIONS = ("auth", "wallet", "transactions", "authorizer", "reconciliation")
BARE = "bare boto3 handler"
MARKER = "@@kassa-bench-start@@"

_PRELUDE = f"""
import importlib.util, json, sys, time
sys.stderr.write({MARKER!r} + "\\n"); sys.stderr.flush()
started, started_cpu = time.perf_counter(), time.process_time()
"""
_FUNCTION = """
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
from kassa.store.client import dynamodb
dynamodb()
"""
_BARE = """
import boto3
boto3.client("dynamodb")
"""
_EPILOGUE = """
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - started_cpu}))
"""
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


@dataclass
class ColdStart:
    name: str
    runs: list[float] = field(default_factory=list)  # seconds, wall clock
    cpu_runs: list[float] = field(default_factory=list)  # seconds of CPU (user + system) of the same runs
    top_imports: list[tuple[str, float]] = field(default_factory=list)  # (package, ms of self time)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_runs) if self.cpu_runs else float("nan")


def _script(name: str) -> str:
    path = template.REPO_ROOT / "functions" / name / "app.py"
    return _PRELUDE + (_BARE if name == BARE else _FUNCTION.format(path=str(path))) + _EPILOGUE


def _environment(name: str, scratch: str) -> dict[str, str]:
    """What Lambda gives a function: the template's variables, its name, credentials, a region."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            "HOME": scratch,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            # No config or credentials files, as in Lambda.
            "AWS_CONFIG_FILE": os.path.join(scratch, "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(scratch, "no-credentials"),
            "AWS_LAMBDA_FUNCTION_NAME": name if name != BARE else "bare",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "KASSA_TABLE": "kassa-ledger",
            "POWERTOOLS_SERVICE_NAME": "kassa",
            "POWERTOOLS_METRICS_NAMESPACE": "Kassa",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def _run(name: str, scratch: str, importtime: bool = False) -> tuple[float, float, str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", _script(name)]
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own script
        command, env=_environment(name, scratch), cwd=scratch, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start of {name} failed:\n{done.stderr[-3000:]}")
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    return float(timing["seconds"]), float(timing["cpu"]), done.stderr


def top_imports(stderr: str, limit: int = 6) -> list[tuple[str, float]]:
    """Self time by top-level package, for the imports after the marker."""
    lines = stderr.split(MARKER, 1)[-1].splitlines()
    by_package: Counter[str] = Counter()
    for line in lines:
        match = _IMPORTTIME.match(line)
        if match:
            by_package[match.group(4).split(".")[0]] += int(match.group(1))
    return [(package, microseconds / 1000) for package, microseconds in by_package.most_common(limit)]


def measure(runs: int = 5, names: tuple[str, ...] = (*FUNCTIONS, BARE), progress: bool = True) -> list[ColdStart]:
    results = {name: ColdStart(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="kassa-bench-") as scratch:
        for name in names:  # the discarded round
            _run(name, scratch)
        for round_number in range(runs):
            if progress:
                print(f"  cold start round {round_number + 1}/{runs}", file=sys.stderr, flush=True)
            for name in names:
                seconds, cpu, _ = _run(name, scratch)
                results[name].runs.append(seconds)
                results[name].cpu_runs.append(cpu)
        for name in names:
            results[name].top_imports = top_imports(_run(name, scratch, importtime=True)[2])
    return list(results.values())
