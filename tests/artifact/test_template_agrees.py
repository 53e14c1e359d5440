"""template.yaml deploys what the artifact smoke test ran: every function on python3.12 (the Python that
ran the handlers; the layer built with it), on the layer's architecture (arm64: CompatibleArchitectures
and the BuildArchitecture sam build builds it for), with a Handler that names a module and function of
its CodeUri (what the smoke test imported and called), and with CoreLayer, whose ContentUri is the
directory the smoke test built the layer from, by the same Makefile target (BuildMethod: makefile: sam's
Python builder would ship the layer without its bytecode), among its Layers.

Each check is shown failing once on a copy of the template with one planted error.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kassa_dev import template
from kassa_dev.artifact import LAYER_BUILD_METHOD, LAYER_BUILD_TARGET, LAYER_ID, LAYER_SOURCE, REPO_ROOT
from tests.artifact.harness import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME

LAMBDA_DEFAULT_ARCHITECTURES = ["x86_64"]  # what a function without Architectures runs on


def _function_globals(doc: dict[str, Any]) -> dict[str, Any]:
    return dict((doc.get("Globals") or {}).get("Function") or {})


def _setting(doc: dict[str, Any], properties: dict[str, Any], name: str) -> Any:
    """A function's own property, else Globals.Function's."""
    return properties[name] if name in properties else _function_globals(doc).get(name)


def _top_level_names(source: Path) -> set[str]:
    """Names a module binds at its top level: functions, classes, assignments (tuples too), imports."""
    names: set[str] = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names |= {element.id for element in elements if isinstance(element, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def _layer_disagreements(doc: dict[str, Any]) -> list[str]:
    layer = (doc.get("Resources") or {}).get(LAYER_ID) or {}
    properties, metadata = layer.get("Properties") or {}, layer.get("Metadata") or {}
    problems = []
    content = properties.get("ContentUri")
    if not isinstance(content, str) or (REPO_ROOT / content).resolve() != LAYER_SOURCE:
        problems.append(
            f"{LAYER_ID}: ContentUri {content!r}, the smoke test built {LAYER_SOURCE.relative_to(REPO_ROOT)}"
        )
    if metadata.get("BuildMethod") != LAYER_BUILD_METHOD:
        problems.append(
            f"{LAYER_ID}: BuildMethod {metadata.get('BuildMethod')!r}, the smoke test built it with its"
            f" Makefile's {LAYER_BUILD_TARGET} ({LAYER_BUILD_METHOD})"
        )
    compatible = properties.get("CompatibleArchitectures")
    if compatible != [LAMBDA_ARCHITECTURE]:
        problems.append(f"{LAYER_ID}: CompatibleArchitectures {compatible!r}, not [{LAMBDA_ARCHITECTURE}]")
    if metadata.get("BuildArchitecture") != LAMBDA_ARCHITECTURE:
        problems.append(
            f"{LAYER_ID}: BuildArchitecture {metadata.get('BuildArchitecture')!r}, not {LAMBDA_ARCHITECTURE}"
        )
    return problems


def disagreements(doc: dict[str, Any]) -> list[str]:
    """Every way ``doc`` would deploy something else than what the smoke test ran (empty: none)."""
    problems = _layer_disagreements(doc)
    specs = template.functions(doc)  # CodeUri and Handler, with Globals, as the smoke test resolved them
    for function_id, resource in doc["Resources"].items():
        if resource.get("Type") != template.FUNCTION_TYPE:
            continue
        properties = resource.get("Properties") or {}
        runtime = _setting(doc, properties, "Runtime")
        if runtime != LAMBDA_RUNTIME:
            problems.append(f"{function_id}: Runtime {runtime!r}, the smoke test ran {LAMBDA_RUNTIME}")
        architectures = _setting(doc, properties, "Architectures") or LAMBDA_DEFAULT_ARCHITECTURES
        if architectures != [LAMBDA_ARCHITECTURE]:
            problems.append(
                f"{function_id}: Architectures {architectures!r}, the layer is built for {LAMBDA_ARCHITECTURE}"
            )
        spec = specs[function_id]
        module, _, attribute = spec.handler.rpartition(".")
        source = spec.code_dir / f"{module.replace('.', '/')}.py"
        if not module or not source.is_file():
            problems.append(f"{function_id}: Handler {spec.handler!r}: no {source} in its CodeUri")
        elif attribute not in _top_level_names(source):
            problems.append(f"{function_id}: Handler {spec.handler!r}: {source.name} defines no {attribute}")
        # SAM appends a function's own Layers to the Globals' ones.
        layers = [*(_function_globals(doc).get("Layers") or []), *(properties.get("Layers") or [])]
        if {"Ref": LAYER_ID} not in layers:
            problems.append(f"{function_id}: Layers {layers!r} lack !Ref {LAYER_ID}, the layer the smoke test ran")
    return problems


def test_the_template_deploys_what_the_smoke_test_ran() -> None:
    assert disagreements(template.load_template()) == []


# --------------------------------------------------------------------------- planted errors


def _functions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r.setdefault("Properties", {}) for r in doc["Resources"].values() if r.get("Type") == template.FUNCTION_TYPE
    ]


def _everywhere(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, for None, remove) ``name`` in Globals.Function and in every function."""

    def plant(doc: dict[str, Any]) -> None:
        for properties in [doc.setdefault("Globals", {}).setdefault("Function", {}), *_functions(doc)]:
            properties.pop(name, None)
        if value is not None:
            doc["Globals"]["Function"][name] = value

    return plant


def _first_function(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def plant(doc: dict[str, Any]) -> None:
        _functions(doc)[0][name] = value

    return plant


def _layer(section: str, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def plant(doc: dict[str, Any]) -> None:
        layer = doc["Resources"][LAYER_ID].setdefault(section, {})
        if value is None:
            layer.pop(name, None)
        else:
            layer[name] = value

    return plant


PLANTED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "runtime-3.13-everywhere": (_everywhere("Runtime", "python3.13"), "Runtime 'python3.13'"),
    "one-function-on-3.11": (_first_function("Runtime", "python3.11"), "Runtime 'python3.11'"),
    "layer-built-by-sams-python-builder": (
        _layer("Metadata", "BuildMethod", LAMBDA_RUNTIME),
        f"BuildMethod '{LAMBDA_RUNTIME}'",
    ),
    "functions-on-x86_64": (_everywhere("Architectures", ["x86_64"]), "Architectures ['x86_64']"),
    "architectures-left-to-the-default": (_everywhere("Architectures", None), "Architectures ['x86_64']"),
    "layer-compatible-with-x86_64": (
        _layer("Properties", "CompatibleArchitectures", ["x86_64"]),
        "CompatibleArchitectures ['x86_64']",
    ),
    "layer-without-build-architecture": (_layer("Metadata", "BuildArchitecture", None), "BuildArchitecture None"),
    "handler-function-misspelt": (_first_function("Handler", "app.lambda_handle"), "defines no lambda_handle"),
    "handler-module-missing": (_first_function("Handler", "main.lambda_handler"), "Handler 'main.lambda_handler'"),
    "code-uri-elsewhere": (_first_function("CodeUri", "functions/nowhere/"), "functions/nowhere/app.py"),
    "no-layers": (_everywhere("Layers", None), "lack !Ref CoreLayer"),
    "layer-from-another-directory": (_layer("Properties", "ContentUri", "layers/other"), "ContentUri 'layers/other'"),
}


@pytest.mark.parametrize("planted", list(PLANTED))
def test_a_planted_disagreement_is_found(planted: str) -> None:
    plant, expected = PLANTED[planted]
    doc = copy.deepcopy(template.load_template())
    plant(doc)
    found = disagreements(doc)
    assert any(expected in problem for problem in found), found
