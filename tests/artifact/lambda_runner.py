"""One Lambda function's handler, run as the Lambda Python runtime runs it: the artifact smoke test
starts this file with Python 3.12 as ``python3.12 -I -S -B lambda_runner.py`` (isolated, no site-packages:
with -I not even this file's own directory is on sys.path; no bytecode written, as on Lambda's read-only
filesystem) and speaks JSON lines with it.

- stdin, first line: ``{"path": [...], "handler": "app.lambda_handler", "timeout": 10}``; ``path`` is put
  at the front of sys.path, in Lambda's order (the function's code directory, the layer, the runtime's
  boto3), and is all the process sees besides the standard library; ``timeout`` is the function's (the
  template's seconds), from which each invocation's context counts its remaining time, as Lambda's does.
- stdin, each further line: one invocation, ``{"event": {...}, "traceId": "Root=...;Sampled=1"}``; the
  trace header is set as ``_X_AMZN_TRACE_ID`` for that invocation, as Lambda does.
- stdout, one line per invocation: ``{"result": ...}`` (the handler's result, JSON-encoded as the runtime
  sends it), or ``{"error": {"errorType", "errorMessage", "name", "stackTrace"}}`` as Lambda reports a
  failed invocation (``name``: the missing module of an ImportError).
- stdout, last line, at the end of stdin: ``{"path": sys.path, "stdlib": <the standard library's
  directory>, "modules": {name: file}, "compiled": [file, ...], "collector": {"enabled": bool, "frozen":
  int}}``: where every loaded module came from, the source files Python compiled because it found no
  bytecode it could use (on Lambda, at every cold start: nothing compiled there is kept), and whether the
  garbage collector runs after the invocations and how many objects init left frozen (kassa.startup);
  "dataclassCode": {"found": int, "compiled": [text, ...], "installed": bool}, what init's dataclasses found
  compiled in the layer, what they compiled (kassa.dataclass_code), and whether the table is still in
  dataclasses' way after the invocations; or null if Kassa never started it.

Whatever the handler prints (Powertools' logs and EMF metrics) goes to stderr: stdout carries only this
protocol. Standard library only: nothing may be imported before sys.path is set.
"""

import gc
import importlib
import importlib.machinery
import json
import os
import sys
import sysconfig
import time
import traceback
import uuid


class LambdaContext:
    """The context object the Lambda runtime passes (the attributes Powertools reads)."""

    def __init__(self, timeout_seconds: float) -> None:
        self._ends = time.monotonic() + timeout_seconds
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_name = name
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{name}"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "artifact")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def _error(error: BaseException) -> dict:
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "name": getattr(error, "name", None),
        "stackTrace": traceback.format_exception(error),
    }


def _record_compilations() -> list:
    """The source files compiled from now on: a source loader compiles only when it has no valid bytecode."""
    compiled = []
    loader = importlib.machinery.SourceFileLoader
    compile_source = loader.source_to_code

    def source_to_code(self, data, path, *args, **kwargs):
        compiled.append(path)
        return compile_source(self, data, path, *args, **kwargs)

    loader.source_to_code = source_to_code  # type: ignore[method-assign]  # a counting wrapper, for this process
    return compiled


def main() -> None:
    compiled = _record_compilations()
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything written to stdout (logs, metrics) lands on stderr

    def answer(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    setup = json.loads(sys.stdin.readline())
    sys.path[:0] = setup["path"]
    module_name, _, attribute = setup["handler"].rpartition(".")
    for line in sys.stdin:
        request = json.loads(line)
        os.environ["_X_AMZN_TRACE_ID"] = request["traceId"]
        try:
            # Imported at the first invocation (Lambda's init); a module that failed is tried again on the next.
            handler = getattr(importlib.import_module(module_name), attribute)
            result = handler(request["event"], LambdaContext(setup["timeout"]))
            answer({"result": result})
        except Exception as error:  # reported as Lambda reports a failed invocation
            answer({"error": _error(error)})
    modules = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
    stdlib = sysconfig.get_path("stdlib")
    modules = {name: file for name, file in modules.items() if file}
    collector = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
    report = getattr(sys.modules.get("kassa.dataclass_code"), "report", None)
    installed = "exec" in vars(sys.modules["dataclasses"]) if "dataclasses" in sys.modules else False
    code = report and {"found": report.found, "compiled": report.compiled, "installed": installed}
    answer(
        {
            "path": sys.path,
            "stdlib": stdlib,
            "modules": modules,
            "compiled": compiled,
            "collector": collector,
            "dataclassCode": code,
        }
    )


if __name__ == "__main__":
    main()
