"""Dependencies are declared once: the layer's requirements are generated from pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from kassa_dev.layer_requirements import ROOT, constraints, requirements


def test_layer_requirements_match_pyproject() -> None:
    assert (ROOT / "layers/core/requirements.txt").read_text() == requirements(), "run `make layer-requirements`"


def layer_pins() -> dict[str, str]:
    """Requirement (name and extras) -> version, for every line of the layer's requirements file."""
    pins = {}
    for line in requirements().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"not pinned: {line}"
            pins[name] = version
    return pins


def test_every_layer_requirement_is_pinned_as_in_constraints() -> None:
    pinned = constraints()
    for name, version in layer_pins().items():
        assert pinned.get(canonicalize_name(name.split("[")[0])) == version, (name, version)


def test_layer_ships_what_tracing_needs() -> None:
    """Functions run with Tracing: Active, so Tracer() imports aws_xray_sdk: the layer carries the extra."""
    pins = layer_pins()
    assert "aws-lambda-powertools[tracer]" in pins and "aws-xray-sdk" in pins, sorted(pins)


def test_layer_leaves_to_the_runtime_only_what_nothing_in_it_requires() -> None:
    names = {canonicalize_name(name.split("[")[0]) for name in layer_pins()}
    assert "boto3" not in names and "s3transfer" not in names, sorted(names)
    # Dependencies of what the layer ships are pinned even where the runtime has a copy: pip installs them anyway.
    assert {"botocore", "jmespath", "urllib3"} <= names, sorted(names)


def test_layer_holds_no_dev_tooling() -> None:
    layer = ROOT / "layers/core/kassa"
    sources = "\n".join(path.read_text() for path in layer.rglob("*.py"))
    for dev_only in ("moto", "kassa_dev", "pytest"):
        assert f"import {dev_only}" not in sources and f"from {dev_only}" not in sources
    assert not (Path(layer) / "tests").exists()
