"""Cold start: import + init time of each function's handler module, each time in a fresh interpreter.

What is timed is what ships, on Lambda's Python: the layer built by its Makefile as ``sam build`` builds it
(kassa_dev.artifact, this host's wheels, its bytecode), boto3 as the runtime provides it, and the
function's code directory, on sys.path in Lambda's order, in a Python 3.12 started with ``-I -S -B``
(nothing else on sys.path; no bytecode written, as on Lambda's read-only filesystem).

For every function (``functions/<name>/app.py``) a new process, with the environment Lambda would give it
(its defined runtime variables, the template's variables, credentials in the environment), times from
just before the handler module is imported to just after what its first invocation needs is built (the
module, then ``kassa.store.client.dynamodb()``). The floor is a bare handler that only does
``import boto3; boto3.client("dynamodb")`` with the runtime's boto3; beside it, the same handler that also
imports pydantic v2 and builds one model, the floor of any function that validates with the required
stack, and the first function again on the layer as sam's Python builder shipped it, without bytecode
(what every cold start paid before the layer had its Makefile). Interpreter start-up is the same for all
and is not counted. The runs go round-robin over the targets (so a burst of load elsewhere on the machine
does not land on one target only), after one discarded round that warms the OS file cache (no bytecode is
written: each run uses what the pieces ship); the figure is the median. Each run also reports the CPU time
it used (user + system): on a machine busy with other work, wall time includes waiting for a core, CPU
time does not.

One more run per target under ``python -X importtime`` lists where the import time goes, by top-level
package (self time of its modules, from the handler's first import on).

Each run then times the first request after that cold start: one invocation of the handler with a sample
event (``events/``, as API Gateway hands it over) against the embedded DynamoDB, seeded as the sample
events expect; the bare handler's first request is a strongly consistent ``GetItem`` of the same wallet.
Then the same request once more (a new bet for the transactions function): the difference is what a first
request pays beyond a warm one (the first connection, the first validation of a model, the first JSON
serialisation); DynamoDB's own latency is moto's here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kassa_dev import sample_events, template
from kassa_dev.artifact import LAYER_REQUIREMENTS, build_layer, build_runtime
from kassa_dev.gateway import FunctionRunner
from kassa_dev.lambda_runtime import aws_environment, lambda_environment
from kassa_dev.python312 import MISSING, find_python312

FUNCTIONS = ("auth", "wallet", "transactions", "authorizer", "reconciliation_api", "reconciliation", "console")
# The stream consumer: its first invocation is a stream batch, not a request, so it is shown but not held to
# the request path's targets.
STREAM_CONSUMER = "reconciliation"
BARE = "bare boto3 handler"
# The bare handler that also imports pydantic v2 and builds one model: the floor of any function that
# validates with the required stack at init (a reference, not a function of the template).
PYDANTIC_FLOOR = "bare handler + pydantic"
BARE_HANDLERS = (BARE, PYDANTIC_FLOOR)
# The first function on the layer without its bytecode, as sam's Python builder shipped it (a reference:
# what each cold start compiled before the layer's Makefile shipped the bytecode).
UNCOMPILED = f"{FUNCTIONS[0]}, layer without bytecode"
UNCOMPILED_FUNCTION = FUNCTIONS[0]
BARE_FUNCTION = "bare"  # the function name the bare handlers run under
REFERENCES = (*BARE_HANDLERS, UNCOMPILED)
# Functions whose first invocation needs no DynamoDB client (the console serves files only).
NO_CLIENT = frozenset({"console"})
# The sample event each function's first request is timed with (read-only, or writing something new each
# run: a bet gets a fresh transaction and bet id, a session is a new one).
FIRST_EVENTS = {
    "auth": "auth-session-create.json",
    "wallet": "wallet-get.json",
    "transactions": "transactions-bet.json",
    "authorizer": "authorizer-allow.json",
    "reconciliation_api": "reconciliation-runs-list.json",
    "reconciliation": "reconciliation-stream-entry.json",
    "console": "console-page.json",
}
MARKER = "@@kassa-bench-start@@"
FIRST_MARKER = "@@kassa-bench-first-request@@"

# Counts the source files compiled (a source loader compiles only when it finds no bytecode it can use).
_PRELUDE = f"""
import importlib.machinery, importlib.util, json, sys, time
sys.path[:0] = json.loads({{path!r}})
compiled_files = []
compile_source = importlib.machinery.SourceFileLoader.source_to_code
def counted(self, data, path, *args, **kwargs):
    compiled_files.append(path)
    return compile_source(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counted
sys.stderr.write({MARKER!r} + "\\n"); sys.stderr.flush()
started, started_cpu = time.perf_counter(), time.process_time()
"""
_FUNCTION = """
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
{client}
"""
_CLIENT = """
from kassa.store.client import dynamodb
dynamodb()
"""
_BARE = """
import boto3
client = boto3.client("dynamodb")
"""
_PYDANTIC = """
import pydantic
class Probe(pydantic.BaseModel):
    amount: str
Probe(amount="1.00")
"""
_INITIALISED = f"""
seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
compiled = len(compiled_files)
sys.stderr.write({FIRST_MARKER!r} + "\\n"); sys.stderr.flush()
"""
# The context attributes handlers and Powertools read (kassa_dev.gateway.LambdaContext, which this script
# does not import: it would add to what is timed).
_FIRST_FUNCTION = """
import os
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 512
    aws_request_id = "cold-start-first-request"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 10_000
def invoke(variable):
    event = json.loads(os.environ[variable])
    invoked = time.perf_counter()
    return module.{handler}(event, Context()), time.perf_counter() - invoked
answer, first = invoke("KASSA_BENCH_EVENT")
warm_answer, warm = invoke("KASSA_BENCH_WARM_EVENT")
"""
_FIRST_BARE = """
import os
def get_item():
    invoked = time.perf_counter()
    key = json.loads(os.environ["KASSA_BENCH_KEY"])
    found = client.get_item(TableName=os.environ["KASSA_TABLE"], Key=key, ConsistentRead=True)
    return found, time.perf_counter() - invoked
answer, first = get_item()
warm_answer, warm = get_item()
"""
_EPILOGUE = """
print(json.dumps(
    {"seconds": seconds, "cpu": cpu, "first": first, "warm": warm, "answer": answer, "warm_answer": warm_answer,
     "compiled": compiled, "python": "%d.%d" % sys.version_info[:2]},
    default=str,
))
"""
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


@dataclass
class ColdStart:
    name: str
    runs: list[float] = field(default_factory=list)  # seconds, wall clock
    cpu_runs: list[float] = field(default_factory=list)  # seconds of CPU (user + system) of the same runs
    first_runs: list[float] = field(default_factory=list)  # seconds of the first request after each
    warm_runs: list[float] = field(default_factory=list)  # seconds of the same request again, right after
    top_imports: list[tuple[str, float]] = field(default_factory=list)  # (package, ms of self time)
    first_imports: list[tuple[str, float]] = field(default_factory=list)  # what the first request imported
    compiled: int = 0  # source files compiled during init (the same every run): no bytecode to use
    python: str = ""  # the Python version that ran it

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_runs) if self.cpu_runs else float("nan")

    @property
    def first_median(self) -> float:
        return statistics.median(self.first_runs) if self.first_runs else float("nan")

    @property
    def warm_median(self) -> float:
        return statistics.median(self.warm_runs) if self.warm_runs else float("nan")

    @property
    def invocation_median(self) -> float:
        """The cold invocation whole, as its caller waits for it: init and the first request, run by run."""
        totals = [init + first for init, first in zip(self.runs, self.first_runs, strict=True)]
        return statistics.median(totals) if totals else float("nan")


@dataclass(frozen=True)
class Sample:
    """What the first requests run against: the embedded DynamoDB's environment for the child processes."""

    environment: dict[str, str]
    wallet_key: dict[str, Any]


@dataclass(frozen=True)
class Pieces:
    """What the cold starts run: Lambda's Python, the layer as built (with its bytecode, and a copy
    without), and the runtime's boto3."""

    python: str
    layer: str
    uncompiled_layer: str
    runtime: str


@dataclass(frozen=True)
class Target:
    """One cold-start script, the directory Lambda would unpack its code to, and the function it runs."""

    name: str
    script: str
    code_dir: str
    function: str  # the template's function it runs, or BARE_FUNCTION
    python: str


def _function_of(name: str) -> str:
    return UNCOMPILED_FUNCTION if name == UNCOMPILED else name


def _target(name: str, runner: FunctionRunner, scratch: str, pieces: Pieces) -> Target:
    if name in BARE_HANDLERS:
        # The runtime's boto3 alone; the pydantic floor takes pydantic from the layer.
        path = [pieces.runtime] if name == BARE else [pieces.layer, pieces.runtime]
        init = _BARE + (_PYDANTIC if name == PYDANTIC_FLOOR else "")
        script = _PRELUDE.format(path=json.dumps(path)) + init + _INITIALISED + _FIRST_BARE + _EPILOGUE
        return Target(name, script, scratch, BARE_FUNCTION, pieces.python)
    function = _function_of(name)
    spec = runner.functions[runner.resolve_id(function)]
    layer = pieces.uncompiled_layer if name == UNCOMPILED else pieces.layer
    prelude = _PRELUDE.format(path=json.dumps([str(spec.code_dir), layer, pieces.runtime]))
    module_name, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / f"{module_name.replace('.', '/')}.py"
    load = _FUNCTION.format(path=str(source), client="" if function in NO_CLIENT else _CLIENT)
    script = prelude + load + _INITIALISED + _FIRST_FUNCTION.format(handler=attribute) + _EPILOGUE
    return Target(name, script, str(spec.code_dir), function, pieces.python)


def _environment(target: Target, scratch: str, sample: Sample) -> dict[str, str]:
    """What Lambda gives a function (its defined runtime variables, ``kassa_dev.lambda_runtime``;
    credentials and a region) and the template's variables; and the embedded DynamoDB's endpoint and names,
    for the first request."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT") if key in os.environ}
    env.update(
        {
            **lambda_environment(target.function, target.code_dir, memory_mb=512),
            "HOME": scratch,
            **aws_environment(),
            "POWERTOOLS_SERVICE_NAME": "kassa",
            "POWERTOOLS_METRICS_NAMESPACE": "Kassa",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "LOG_LEVEL": "INFO",
            **sample.environment,
            "KASSA_BENCH_KEY": json.dumps(sample.wallet_key),
        }
    )
    return env


def _first_event(function: str, run: int, warm: bool = False) -> str:
    """The sample event of ``function``'s first request (or of the warm one right after it)."""
    if function == BARE_FUNCTION:
        return ""
    event = sample_events.load_event(FIRST_EVENTS[function])
    if function == "transactions":  # a new bet each time, not a replay of the last one
        suffix = f"{run}-{os.getpid()}{'-warm' if warm else ''}"
        body = json.loads(event["body"])
        body.update(transactionId=f"cold-{suffix}", betId=f"cold-bet-{suffix}")
        event["body"] = json.dumps(body)
    return json.dumps(event)


@dataclass(frozen=True)
class Run:
    """One cold start: init (wall and CPU seconds), the first request and the same request again (seconds)."""

    seconds: float
    cpu: float
    first: float
    warm: float
    compiled: int
    python: str
    stderr: str


def _run(target: Target, scratch: str, sample: Sample, run: int, importtime: bool = False) -> Run:
    name = target.name
    # -I -S: nothing on sys.path but what the script puts there; -B: no bytecode written, as on Lambda.
    command = [target.python, "-I", "-S", "-B", *(["-X", "importtime"] if importtime else []), "-c", target.script]
    env = {
        **_environment(target, scratch, sample),
        "KASSA_BENCH_EVENT": _first_event(target.function, run),
        "KASSA_BENCH_WARM_EVENT": _first_event(target.function, run, warm=True),
    }
    done = subprocess.run(  # noqa: S603 - Lambda's Python running our own script
        command, env=env, cwd=scratch, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start of {name} failed:\n{done.stderr[-3000:]}")
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    _check_answer(target.function, timing["answer"])
    _check_answer(target.function, timing["warm_answer"])
    seconds, cpu, first, warm = (float(timing[key]) for key in ("seconds", "cpu", "first", "warm"))
    return Run(seconds, cpu, first, warm, int(timing["compiled"]), str(timing["python"]), done.stderr)


def _check_answer(function: str, answer: Any) -> None:
    """A first request that failed would time an error path: refuse the figure."""
    if function == BARE_FUNCTION:
        ok = isinstance(answer, dict) and "Item" in answer
    elif function == "authorizer":
        ok = isinstance(answer, dict) and answer.get("isAuthorized") is True
    elif function == STREAM_CONSUMER:  # every record of the batch handled
        ok = isinstance(answer, dict) and answer.get("batchItemFailures") == []
    else:
        ok = isinstance(answer, dict) and 200 <= int(answer.get("statusCode", 500)) < 300
    if not ok:
        raise RuntimeError(f"the first request of {function} was not answered as expected: {str(answer)[:500]}")


def top_imports(stderr: str, limit: int = 6, first_request: bool = False) -> list[tuple[str, float]]:
    """Self time by top-level package, for the imports of the cold start (between the markers) or of the
    first request (after the second)."""
    init, _, first = stderr.split(MARKER, 1)[-1].partition(FIRST_MARKER)
    lines = (first if first_request else init).splitlines()
    by_package: Counter[str] = Counter()
    for line in lines:
        match = _IMPORTTIME.match(line)
        if match:
            by_package[match.group(4).split(".")[0]] += int(match.group(1))
    return [(package, microseconds / 1000) for package, microseconds in by_package.most_common(limit)]


def measure(
    runs: int = 5, names: tuple[str, ...] = (*FUNCTIONS, *REFERENCES), progress: bool = True
) -> list[ColdStart]:
    from kassa_dev.child_process import in_child_process

    results = {name: ColdStart(name) for name in names}
    runner = FunctionRunner()
    stack = in_child_process(sample_stack, name="cold-start-stack")
    with tempfile.TemporaryDirectory(prefix="kassa-bench-") as scratch, stack as sample:
        pieces = build_pieces(Path(scratch))
        targets = {name: _target(name, runner, scratch, pieces) for name in names}
        for name in names:  # the discarded round (it also fills the OS file cache)
            _run(targets[name], scratch, sample, -1)
        for round_number in range(runs):
            if progress:
                print(f"  cold start round {round_number + 1}/{runs}", file=sys.stderr, flush=True)
            for name in names:
                done = _run(targets[name], scratch, sample, round_number)
                results[name].runs.append(done.seconds)
                results[name].cpu_runs.append(done.cpu)
                results[name].first_runs.append(done.first)
                results[name].warm_runs.append(done.warm)
                results[name].compiled, results[name].python = done.compiled, done.python
        for name in names:
            stderr = _run(targets[name], scratch, sample, runs, importtime=True).stderr
            results[name].top_imports = top_imports(stderr)
            results[name].first_imports = top_imports(stderr, limit=3, first_request=True)
    return list(results.values())


def build_pieces(into: Path) -> Pieces:
    """The layer and the runtime's boto3 as kassa_dev.artifact builds them, with Lambda's Python; and the
    layer again without its bytecode."""
    python = find_python312()
    if python is None:
        raise RuntimeError(MISSING)
    layer = build_layer(python, LAYER_REQUIREMENTS, into / "layer")
    uncompiled = into / "layer-without-bytecode"
    shutil.copytree(layer, uncompiled, ignore=shutil.ignore_patterns("__pycache__"))
    runtime = build_runtime(python, into / "runtime")
    return Pieces(str(python), str(layer), str(uncompiled), str(runtime))


@contextlib.contextmanager
def sample_stack() -> Iterator[Sample]:
    """The embedded DynamoDB with the sample events' operator and a funded wallet of theirs; run in a child
    process of its own (a fresh moto whatever the benchmark started before or starts after). The cold starts
    get its endpoint and names, never this process's other environment."""
    from kassa.store import keys
    from kassa_dev.stack import LocalStack, local_aws_environment

    with LocalStack(table="kassa-bench-cold") as stack:
        sample_events.seed_sample_operator()
        runner = FunctionRunner()
        deposit = sample_events.load_event("transactions-deposit.json")
        # Enough for every bet the cold starts place (two per run), whatever the number of runs.
        deposit["body"] = json.dumps({**json.loads(deposit["body"]), "amount": "1000000.00"})
        for function, event in (("wallet", sample_events.load_event("wallet-create.json")), ("transactions", deposit)):
            _check_answer(function, runner.invoke(runner.resolve_id(function), event))
        environment = {
            **local_aws_environment(stack.dynamodb.endpoint_url, stack.table),
            **template.local_environment(stack.resources),
        }
        environment.pop("POWERTOOLS_TRACE_DISABLED", None)  # as deployed (template.yaml): traced
        yield Sample(environment, keys.wallet(sample_events.SAMPLE_OPERATOR, sample_events.PLAYER))
