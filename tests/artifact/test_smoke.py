"""The artifact smoke test (ARCHITECTURE.md, In production: "The artifact"): the handlers as `sam build`
ships them, run as Lambda runs them, answer the sample events' story as documented.

The layer is built from ``layers/core/requirements.txt`` alone with Python 3.12's pip, boto3 beside it as
the Lambda runtime provides it (tests/artifact/harness.py). Each function of template.yaml runs in a
Python 3.12 process of its own started with ``-I -S``, whose sys.path holds its code directory, the layer
and that boto3, and nothing else but the standard library, with tracing on as in Lambda: the X-Ray
segments must arrive at this test's stand-in daemon. Every AWS call goes to the session's embedded
services. The story, its answers and placeholders are tests/event_story.py, as in the events contract test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from kassa_dev import layer_requirements, template
from kassa_dev.artifact import LAYER_REQUIREMENTS
from kassa_dev.stack import LocalStack
from tests.artifact.harness import REPO_ROOT, ArtifactRun, XRayDaemon, kassa_table, run_artifact
from tests.event_story import SCENARIO, Step, check_answer


@pytest.fixture(scope="module")
def smoke(
    stack: LocalStack, python312: Path, layer: Path, runtime: Path, xray: XRayDaemon, artifact_dir: Path
) -> ArtifactRun:
    return run_artifact(stack, python312, layer, runtime, xray, artifact_dir / "smoke")


@pytest.mark.parametrize("step", SCENARIO, ids=[step.key for step in SCENARIO])
def test_the_built_handlers_answer_as_documented(step: Step, smoke: ArtifactRun) -> None:
    with kassa_table(smoke.table):  # the story's own checks read the run's table
        check_answer(step, smoke.outcomes)


def test_the_layer_holds_exactly_what_its_requirements_pin(layer: Path) -> None:
    """pip added nothing to the pinned closure: every package in the layer is in the file, at its version."""
    installed = {}
    for dist_info in layer.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").rpartition("-")
        installed[canonicalize_name(name)] = version
    assert installed == layer_requirements.pinned(LAYER_REQUIREMENTS.read_text())


def test_every_function_of_the_template_ran_without_a_failed_invocation(smoke: ArtifactRun) -> None:
    assert {invocation.function_id for invocation in smoke.invocations} == set(template.functions())
    failed = [invocation.reply["error"] for invocation in smoke.invocations if "error" in invocation.reply]
    assert failed == [], failed[0]


def _under(file: str, *roots: Path) -> bool:
    return any(Path(file).is_relative_to(root) for root in roots)


@pytest.mark.parametrize("function_id", list(template.functions()))
def test_the_function_ran_on_the_artifact_alone(
    function_id: str, smoke: ArtifactRun, layer: Path, runtime: Path
) -> None:
    """Its sys.path was Lambda's (code, layer, runtime, then the standard library) and every module it
    loaded came from there: the handler from its code directory, Kassa and its packages from the layer."""
    spec = template.functions()[function_id]
    report = smoke.reports[function_id]
    stdlib = Path(report["stdlib"])
    path = report["path"]
    assert path[:3] == [str(spec.code_dir), str(layer), str(runtime)], path
    assert [entry for entry in path if _under(entry, REPO_ROOT)] == [str(spec.code_dir)], path
    assert all(_under(entry, stdlib.parent) for entry in path[3:]), path  # lib/python312.zip, lib/python3.12/...
    modules: dict[str, str] = {name: file for name, file in report["modules"].items() if name != "__main__"}
    elsewhere = {
        name: file
        for name, file in modules.items()
        if not _under(file, spec.code_dir, layer, runtime, stdlib) or _under(file, stdlib / "site-packages")
    }
    assert elsewhere == {}, elsewhere
    module, _, _ = spec.handler.rpartition(".")
    assert Path(modules[module]) == spec.code_dir / f"{module.replace('.', '/')}.py"
    assert _under(modules["kassa"], layer) and _under(modules["aws_xray_sdk"], layer)
    # What the layer holds comes from the layer, even where the runtime has a copy too (botocore, urllib3).
    in_layer = {child.name.removesuffix(".py") for child in layer.iterdir()}
    shadowed = {
        name: file for name, file in modules.items() if name.split(".")[0] in in_layer and not _under(file, layer)
    }
    assert shadowed == {}, shadowed


@pytest.mark.parametrize("function_id", list(template.functions()))
def test_the_function_compiled_nothing_but_its_handler(function_id: str, smoke: ArtifactRun) -> None:
    """The layer ships its bytecode (layers/core/Makefile), hash-checked: Lambda's filesystem is read-only,
    so whatever a cold start compiles is compiled again at every cold start. Only the function's own code
    (its handler module, a few lines that sam's Python builder ships as source) is compiled."""
    spec = template.functions()[function_id]
    compiled = smoke.reports[function_id]["compiled"]
    assert [file for file in compiled if not _under(file, spec.code_dir)] == []


@pytest.mark.parametrize("function_id", list(template.functions()))
def test_the_collector_runs_again_after_init(function_id: str, smoke: ArtifactRun) -> None:
    """Init ran with the garbage collector paused (kassa.startup): after the invocations it runs again, and
    what init built is frozen, out of its way. A function whose handler did not end the pause would never
    collect garbage again."""
    collector = smoke.reports[function_id]["collector"]
    assert collector["enabled"] is True, collector
    assert collector["frozen"] > 10_000, collector  # the layer's modules and the handler's objects


@pytest.mark.parametrize("function_id", list(template.functions()))
def test_the_function_init_compiled_no_dataclass_method(function_id: str, smoke: ArtifactRun) -> None:
    """The layer ships the code of every dataclass method the function's init defines, compiled by its
    build (kassa.dataclass_code): init ran it instead of compiling it. A dataclass added or changed since
    `make dataclass-code` (or a package's new version) was compiled again, and fails here."""
    code = smoke.reports[function_id]["dataclassCode"]
    assert code is not None, "kassa.dataclass_code never ran"
    compiled = [text.splitlines()[1].strip() for text in code["compiled"]]
    assert compiled == [], f"compiled at init, not in layers/core/dataclass-code.json (make dataclass-code): {compiled}"
    assert code["found"] > 0
    assert code["installed"] is False  # the first invocation ended init, and the table with it


def _subsegment_names(document: dict[str, Any]) -> list[str]:
    names = [str(document.get("name"))]
    for child in document.get("subsegments") or []:
        names += _subsegment_names(child)
    return names


def test_tracing_ran_and_its_segments_reached_the_daemon(smoke: ArtifactRun, xray: XRayDaemon) -> None:
    """Tracer was really on: for every invocation, the handler's subsegment arrived under the trace id the
    invocation carried in _X_AMZN_TRACE_ID, and botocore's calls were traced (Tracer patches it)."""
    traces = xray.traces({invocation.trace_root for invocation in smoke.invocations})
    untraced = [
        (invocation.function_id, invocation.trace_root)
        for invocation in smoke.invocations
        if not any(
            name.startswith("## ") for document in traces[invocation.trace_root] for name in _subsegment_names(document)
        )
    ]
    assert untraced == [], f"{len(untraced)} of {len(smoke.invocations)} invocations sent no handler subsegment"
    names = {name for documents in traces.values() for document in documents for name in _subsegment_names(document)}
    assert "dynamodb" in names, sorted(names)
