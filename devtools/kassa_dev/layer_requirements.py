"""Writes layers/core/requirements.txt (what `sam build` installs into the layer) from pyproject.toml's
runtime dependencies, so they are declared once. A test fails when the file drifts."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The Lambda runtime ships boto3; bundling another copy would only grow the layer and the cold start.
PROVIDED_BY_LAMBDA = ("boto3",)


def requirements() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [dep for dep in project["dependencies"] if not dep.startswith(PROVIDED_BY_LAMBDA)]
    header = "# Generated from pyproject.toml by `make layer-requirements`; do not edit.\n"
    return header + "".join(f"{dep}\n" for dep in wanted)


if __name__ == "__main__":
    sys.stdout.write(requirements())
