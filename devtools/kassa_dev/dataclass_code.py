"""``make dataclass-code``: record the texts of the dataclass methods every function's init compiles, into
layers/core/dataclass-code.json, which the layer's build compiles once (kassa.dataclass_code,
docs/decisions.md 41).

The layer is built for this host with an empty table, so that every text its dataclasses hand ``exec`` is
reported as compiled; each function of template.yaml is then started as the cold-start benchmark starts it
(Python 3.12, ``-I -S -B``, Lambda's environment, its handler module imported and its DynamoDB client
built) and reports those texts. They are the methods of the classes init defines, which no variable's
value here is known to change (a variable taken from a parameter gets its default, one naming a resource a
placeholder); what shows the recording covers init is the artifact smoke test, which fails on any text a
function's init had to compile. Run it again when a dataclass, or a pinned package, changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kassa_dev import template
from kassa_dev.artifact import LAYER_DATACLASS_CODE, LAYER_REQUIREMENTS, build_layer, build_runtime
from kassa_dev.lambda_runtime import aws_environment, lambda_environment
from kassa_dev.python312 import MISSING, find_python312

_INIT = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
importlib.import_module(sys.argv[2])
from kassa.store.client import dynamodb
dynamodb()
from kassa import dataclass_code
print(json.dumps(dataclass_code.report.compiled))
"""


def _value(value: object, parameters: dict[str, dict[str, object]]) -> str:
    if isinstance(value, dict) and str(value.get("Ref")) in parameters:
        return str(parameters[str(value["Ref"])].get("Default", ""))
    return str(value) if isinstance(value, str | int) else "recording"


def _environment(spec: template.FunctionSpec, scratch: str) -> dict[str, str]:
    parameters = template.load_template().get("Parameters", {})
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": scratch,
        **aws_environment(),
        **{name: _value(value, parameters) for name, value in spec.environment.items()},
        **lambda_environment(spec.function_id, str(spec.code_dir)),
    }


def init_texts(python: Path, layer: Path, runtime: Path, spec: template.FunctionSpec, scratch: str) -> list[str]:
    """The texts ``spec``'s init compiled for its dataclasses, on ``layer`` (built with an empty table)."""
    module = spec.handler.rpartition(".")[0]
    path = json.dumps([str(spec.code_dir), str(layer), str(runtime)])
    command = [str(python), "-I", "-S", "-B", "-c", _INIT, path, module]
    done = subprocess.run(  # noqa: S603 - Lambda's Python running our own script
        command, env=_environment(spec, scratch), cwd=scratch, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the init of {spec.function_id} failed:\n{done.stderr[-3000:]}")
    texts: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return texts


def record(into: Path = LAYER_DATACLASS_CODE) -> int:
    python = find_python312()
    if python is None:
        raise SystemExit(MISSING)
    with tempfile.TemporaryDirectory(prefix="kassa-dataclass-code-") as scratch:
        empty = Path(scratch) / "empty.json"
        empty.write_text("[]")
        layer = build_layer(python, LAYER_REQUIREMENTS, Path(scratch) / "layer", dataclass_code=empty)
        runtime = build_runtime(python, Path(scratch) / "runtime")
        texts: set[str] = set()
        for spec in template.functions().values():
            texts.update(init_texts(python, layer, runtime, spec, scratch))
    into.write_text(json.dumps(sorted(texts), indent=1) + "\n", encoding="utf-8")
    return len(texts)


if __name__ == "__main__":
    count = record()
    print(f"{LAYER_DATACLASS_CODE}: {count} texts", file=sys.stderr)
