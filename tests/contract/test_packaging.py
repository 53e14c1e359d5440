"""Dependencies are declared once: the layer's requirements are generated from pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from kassa_dev import layer_requirements
from kassa_dev.layer_requirements import ROOT, constraints, requirements


def test_layer_requirements_match_pyproject() -> None:
    assert (ROOT / "layers/core/requirements.txt").read_text() == requirements(), "run `make layer-requirements`"


def test_every_layer_requirement_is_pinned_as_in_constraints() -> None:
    pinned = constraints()
    layer = layer_requirements.pinned(requirements())
    assert layer and all(pinned.get(name) == version for name, version in layer.items()), layer


def test_layer_ships_what_tracing_needs() -> None:
    """Functions run with Tracing: Active, so Tracer() imports aws_xray_sdk: the layer carries the extra."""
    assert "aws-lambda-powertools[tracer]==" in requirements()
    assert "aws-xray-sdk" in layer_requirements.pinned(requirements())


def test_layer_leaves_to_the_runtime_only_what_nothing_in_it_requires() -> None:
    names = set(layer_requirements.pinned(requirements()))
    assert "boto3" not in names and "s3transfer" not in names, sorted(names)
    # Dependencies of what the layer ships are pinned even where the runtime has a copy: pip installs them anyway.
    assert {"botocore", "jmespath", "urllib3"} <= names, sorted(names)


def test_layer_holds_no_dev_tooling() -> None:
    layer = ROOT / "layers/core/kassa"
    sources = "\n".join(path.read_text() for path in layer.rglob("*.py"))
    for dev_only in ("moto", "kassa_dev", "pytest"):
        assert f"import {dev_only}" not in sources and f"from {dev_only}" not in sources
    assert not (Path(layer) / "tests").exists()
