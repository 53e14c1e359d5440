"""What the artifact smoke test builds and how it runs it: the layer as ``sam build`` makes it (the
layer's Makefile, from ``layers/core/requirements.txt`` alone, for this host, with Python 3.12), boto3 as
the Lambda runtime provides it, and each function of the template in a Python 3.12 process of its own
(``lambda_runner.py``, started with ``-I -S -B``) whose sys.path holds nothing of the repository but the
function's code directory, and which can write no bytecode (Lambda's filesystem is read-only).

The functions see a Lambda environment with tracing on (``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT``,
``_X_AMZN_TRACE_ID``, no ``POWERTOOLS_TRACE_DISABLED``), the X-Ray daemon being a UDP socket of this test
(``XRayDaemon``), and every AWS call going to the session's embedded services with dummy credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kassa_dev import lambda_runtime, layer_requirements, template
from kassa_dev.gateway import ACCOUNT_ID, FunctionRunner
from kassa_dev.lambda_runtime import aws_environment, lambda_environment, new_trace_root, sampled_trace_header
from kassa_dev.stack import REGION, LocalStack
from tests.conftest import new_id
from tests.event_story import run_story

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("lambda_runner.py")
LAMBDA_RUNTIME = lambda_runtime.RUNTIME  # what kassa_dev.python312 finds
LAMBDA_ARCHITECTURE = "arm64"  # the layer's; the smoke test builds for this host, the ELF check is sam build's
INVOKE_TIMEOUT_SECONDS = 60
# CloudFormation's pseudo parameters, as a function's environment may use them.
PSEUDO_PARAMETERS = {
    "AWS::StackName": "kassa-artifact",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


# --------------------------------------------------------------------------- building


def without_the_tracer_extra() -> list[str]:
    """pyproject.toml's runtime dependencies with Powertools' tracer extra removed."""
    return [dep.replace("[tracer]", "") for dep in layer_requirements.runtime_dependencies()]


# --------------------------------------------------------------------------- the X-Ray daemon


class XRayDaemon:
    """A UDP socket on 127.0.0.1 where the functions' X-Ray SDK sends its segments
    (``AWS_XRAY_DAEMON_ADDRESS``); a thread keeps reading, so that no datagram is dropped."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.documents: list[dict[str, Any]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self.socket.getsockname()
        return f"{host}:{port}"

    def _receive(self) -> None:
        while not self._stopped.is_set():
            try:
                datagram = self.socket.recv(65536)
            except TimeoutError:
                continue
            header, _, document = datagram.decode().partition("\n")  # {"format": "json", "version": 1}\n{...}
            assert json.loads(header)["format"] == "json", header
            self.documents.append(json.loads(document))

    def traces(self, roots: set[str], wait_seconds: float = 5.0) -> dict[str, list[dict[str, Any]]]:
        """The documents received for each of ``roots`` (trace ids), waiting a little for the last ones."""
        deadline = time.monotonic() + wait_seconds
        while True:
            found: dict[str, list[dict[str, Any]]] = {root: [] for root in roots}
            for document in list(self.documents):
                if document.get("trace_id") in found:
                    found[document["trace_id"]].append(document)
            if all(found.values()) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.socket.close()


# --------------------------------------------------------------------------- running


class LambdaError(Exception):
    """A failed invocation, as Lambda reports it (errorType, errorMessage, the stack trace)."""

    def __init__(self, function_id: str, error: dict[str, Any]) -> None:
        self.function_id = function_id
        self.error_type = str(error["errorType"])
        self.name = error.get("name")
        self.trace = "".join(error.get("stackTrace") or [])
        super().__init__(f"{function_id}: {self.error_type}: {error['errorMessage']}\n{self.trace}")


@dataclass
class Invocation:
    function_id: str
    trace_root: str  # the trace id it ran under (_X_AMZN_TRACE_ID's Root)
    reply: dict[str, Any]  # {"result": ...} or {"error": {...}}


def template_environment(spec: template.FunctionSpec, names: dict[str, str], doc: dict[str, Any]) -> dict[str, str]:
    """The function's environment from the template, resolved locally: resources by their local names
    (``names``: logical id -> name), parameters by their defaults, pseudo parameters as PSEUDO_PARAMETERS."""
    resources = template.environment_resources(spec.function_id, doc)
    parameters = doc.get("Parameters") or {}
    environment = {}
    for variable, value in spec.environment.items():
        ref = value.get("Ref") if isinstance(value, dict) else None
        if variable in resources and resources[variable] in names:
            environment[variable] = names[resources[variable]]
        elif isinstance(value, str | int | float | bool):
            environment[variable] = str(value)
        elif ref in parameters and "Default" in parameters[ref]:
            environment[variable] = str(parameters[ref]["Default"])
        elif ref in PSEUDO_PARAMETERS:
            environment[variable] = PSEUDO_PARAMETERS[ref]
        else:
            raise ValueError(f"{spec.function_id}: cannot resolve {variable}={value!r} for a local run")
    return environment


class ArtifactRunner(FunctionRunner):
    """Invokes the template's functions as the artifact ships them: each in a Python 3.12 process of its
    own, kept warm between invocations as a Lambda execution environment is."""

    def __init__(
        self,
        python: Path,
        layer: Path,
        runtime: Path,
        environment: dict[str, str],
        names: dict[str, str],
        workdir: Path,
    ) -> None:
        super().__init__()
        self.python, self.layer, self.runtime, self.workdir = python, layer, runtime, workdir
        self.environment = environment  # what every function sees (AWS endpoint, credentials, X-Ray daemon)
        self.names = names  # logical id -> local name, for the resources the template's environments name
        self.doc = template.load_template()
        self.invocations: list[Invocation] = []
        self._processes: dict[str, subprocess.Popen[str]] = {}

    def path(self, function_id: str) -> list[str]:
        """sys.path as Lambda orders it: /var/task, the layer (/opt/python), the runtime's boto3."""
        return [str(self.functions[function_id].code_dir), str(self.layer), str(self.runtime)]

    def _environment(self, spec: template.FunctionSpec) -> dict[str, str]:
        return {
            **self.environment,
            **template_environment(spec, self.names, self.doc),
            **lambda_environment(
                spec.function_id,
                str(spec.code_dir),
                memory_mb=spec.memory_size or 128,
                daemon=self.environment["AWS_XRAY_DAEMON_ADDRESS"],
            ),
            "LAMBDA_RUNTIME_DIR": str(self.runtime),
            "_HANDLER": spec.handler,
        }

    def _process(self, function_id: str) -> subprocess.Popen[str]:
        if function_id not in self._processes:
            spec = self.functions[function_id]
            # -B: Lambda's filesystem is read-only; nothing compiled at run time is kept, and nothing is
            # written beside the repository's code. The layer's own bytecode is used.
            command = [str(self.python), "-I", "-S", "-B"]
            with open(self.workdir / f"{function_id}.log", "w", encoding="utf-8") as log:
                process = subprocess.Popen(
                    [*command, str(RUNNER)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=self._environment(spec),
                    cwd=spec.code_dir,  # Lambda's working directory is the code's (/var/task)
                    text=True,
                )
            self._processes[function_id] = process
            # Lambda's default timeout is 3 s; the template sets its own (Globals, or the function's).
            setup = {"path": self.path(function_id), "handler": spec.handler, "timeout": spec.timeout or 3}
            self._send(process, setup)
        return self._processes[function_id]

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        stdin: IO[str] | None = process.stdin
        assert stdin is not None
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()

    def _receive(self, function_id: str) -> dict[str, Any]:
        stdout = self._processes[function_id].stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], INVOKE_TIMEOUT_SECONDS)
        line = stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"{function_id} gave no answer; its log:\n{self.log(function_id)[-4000:]}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def log(self, function_id: str) -> str:
        """What the function wrote (Powertools' logs, EMF metrics, tracebacks), as CloudWatch Logs would hold it."""
        return (self.workdir / f"{function_id}.log").read_text(encoding="utf-8")

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        process = self._process(function_id)
        root = new_trace_root()
        self._send(process, {"event": event, "traceId": sampled_trace_header(root)})
        reply = self._receive(function_id)
        self.invocations.append(Invocation(function_id, root, reply))
        if "error" in reply:
            raise LambdaError(function_id, reply["error"])
        return reply["result"]

    def close(self) -> dict[str, dict[str, Any]]:
        """End every process; for each function, its final report (sys.path, where every module came from)."""
        reports = {}
        for function_id, process in self._processes.items():
            try:
                assert process.stdin is not None
                process.stdin.close()
                reports[function_id] = self._receive(function_id)
                process.wait(timeout=10)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                if process.stdout is not None:
                    process.stdout.close()
        return reports


@contextlib.contextmanager
def kassa_table(table: str) -> Iterator[None]:
    """Kassa in this process (the story's seeding and checks) pointed at ``table`` for a while."""
    from kassa.settings import settings

    previous = os.environ["KASSA_TABLE"]
    os.environ["KASSA_TABLE"] = table
    settings.cache_clear()
    try:
        yield
    finally:
        os.environ["KASSA_TABLE"] = previous
        settings.cache_clear()


@dataclass
class ArtifactRun:
    """One run of the story on an artifact: each step's outcome, every invocation's reply, and each
    function process's final report."""

    table: str
    outcomes: dict[str, Any]
    invocations: list[Invocation]
    reports: dict[str, dict[str, Any]]


def run_artifact(
    stack: LocalStack, python: Path, layer: Path, runtime: Path, xray: XRayDaemon, workdir: Path
) -> ArtifactRun:
    """The sample events' story (tests/event_story.py) on the artifact, on a ledger table of its own in the
    session's embedded DynamoDB (the story seeds a fresh operator; the session's table has run it already)."""
    table = f"{stack.table}-{new_id('artifact')}"
    template.create_table(stack.client("dynamodb"), table)
    workdir.mkdir(parents=True, exist_ok=True)
    environment = {
        # every AWS call goes to the embedded services, with dummy credentials and no other source of any
        "AWS_ENDPOINT_URL": stack.dynamodb.endpoint_url,
        **aws_environment(REGION),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_XRAY_DAEMON_ADDRESS": xray.address,
        "TZ": ":UTC",
    }
    names = {**stack.resources, template.TABLE_LOGICAL_ID: table}
    runner = ArtifactRunner(python, layer, runtime, environment, names, workdir)
    with kassa_table(table):
        try:
            outcomes = run_story(stack, runner)
        finally:
            reports = runner.close()
    return ArtifactRun(table, outcomes, runner.invocations, reports)
