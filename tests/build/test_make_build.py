"""`make build` for real: sam build without a container, then the ELF check on what it built.

On a fresh clone the first test also makes sam's tool environment (.tools/sam) through make's own rule.
Both build into temporary directories through make's BUILD_DIR (and BUILD_TEMPLATE), leaving the
working tree's .aws-sam alone. About 15 s each on a warm pip cache, plus ~45 s for a new tool env.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kassa_dev.elf_check import AARCH64, X86_64, check, elf_files
from kassa_dev.sam_build import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("python312")]


def make_build(**variables: Path) -> subprocess.CompletedProcess[str]:
    # A make running this test (make test) hands its jobserver and level down in the environment.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "build", *(f"{name}={value}" for name, value in variables.items())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def pydantic_core_machines(build_dir: Path) -> set[int | None]:
    layer = build_dir / "CoreLayer" / "python" / "pydantic_core"
    return {elf.machine for elf in elf_files(layer) if elf.path.name.startswith("_pydantic_core")}


def test_make_build_ships_only_aarch64_native_code(tmp_path: Path) -> None:
    built = make_build(BUILD_DIR=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert f"elf_check: {tmp_path}: " in built.stdout
    assert check(tmp_path)[0]
    assert pydantic_core_machines(tmp_path) == {AARCH64}


def test_a_layer_built_for_x86_64_fails_the_elf_check(tmp_path: Path) -> None:
    arm64 = (ROOT / "template.yaml").read_text()
    assert arm64.count("BuildArchitecture: arm64") == 1
    template = tmp_path / "template.yaml"
    template.write_text(arm64.replace("BuildArchitecture: arm64", "BuildArchitecture: x86_64"))
    built = make_build(BUILD_TEMPLATE=template, BUILD_DIR=tmp_path / "build")
    assert built.returncode != 0
    assert "Build Succeeded" in built.stdout, built.stdout + built.stderr  # sam built it; the ELF check refused it
    assert "_pydantic_core" in built.stderr and "x86-64 (e_machine 62" in built.stderr
    assert not check(tmp_path / "build")[0]
    assert pydantic_core_machines(tmp_path / "build") == {X86_64}
