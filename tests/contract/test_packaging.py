"""Dependencies are declared once: the layer's requirements are generated from pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from kassa_dev.layer_requirements import ROOT, requirements


def test_layer_requirements_match_pyproject() -> None:
    assert (ROOT / "layers/core/requirements.txt").read_text() == requirements(), "run `make layer-requirements`"


def test_every_runtime_dependency_is_pinned_in_constraints() -> None:
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for line in requirements().splitlines()[1:]:
        name = line.split("==")[0].lower()
        assert "==" in line and name in pinned, line


def test_layer_holds_no_dev_tooling() -> None:
    layer = ROOT / "layers/core/kassa"
    sources = "\n".join(path.read_text() for path in layer.rglob("*.py"))
    for dev_only in ("moto", "kassa_dev", "pytest"):
        assert f"import {dev_only}" not in sources and f"from {dev_only}" not in sources
    assert not (Path(layer) / "tests").exists()
