"""`make build` for real: sam build without a container, then the ELF check on what it built; and the
layer's bytecode, which its Makefile (layers/core/Makefile) ships because Lambda cannot keep any.

On a fresh clone the first test also makes sam's tool environment (.tools/sam) through make's own rule.
Each builds into a temporary directory through make's BUILD_DIR (and BUILD_TEMPLATE), leaving the
working tree's .aws-sam alone. About 15 s each on a warm pip cache, plus ~45 s for a new tool env.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kassa_dev.artifact import LAYER_DATACLASS_CODE, make_environment
from kassa_dev.elf_check import AARCH64, X86_64, check, elf_files
from kassa_dev.sam_build import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("python312")]


def make_build(environment: dict[str, str] | None = None, **variables: Path) -> subprocess.CompletedProcess[str]:
    """`make build` with make ``variables``; ``environment`` is also what sam build passes on to the layer's
    Makefile."""
    return subprocess.run(
        ["make", "--no-print-directory", "build", *(f"{name}={value}" for name, value in variables.items())],
        cwd=ROOT,
        env=make_environment(environment),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def pydantic_core_machines(build_dir: Path) -> set[int | None]:
    layer = build_dir / "CoreLayer" / "python" / "pydantic_core"
    return {elf.machine for elf in elf_files(layer) if elf.path.name.startswith("_pydantic_core")}


# Run by Lambda's Python: for every source file of a layer, what is wrong with its bytecode (none, stale,
# checked by timestamp, or made by another Python), as {file: problem}. Hash-based bytecode, checked or not,
# is used whatever the files' dates; it must still be the bytecode of the source beside it.
_BYTECODE_PROBLEMS = """
import importlib.util, json, pathlib, sys
problems = {}
for source in pathlib.Path(sys.argv[1]).rglob("*.py"):
    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():
        problems[str(source)] = "no bytecode"
        continue
    data = cached.read_bytes()
    if data[:4] != importlib.util.MAGIC_NUMBER:
        problems[str(source)] = "another Python's bytecode"
    elif not int.from_bytes(data[4:8], "little") & 0b01:
        problems[str(source)] = "not hash-based (a timestamp never matches in sam's zip)"
    elif data[8:16] != importlib.util.source_hash(source.read_bytes()):
        problems[str(source)] = "stale"
print(json.dumps(problems))
"""


def bytecode_problems(python312: Path, layer: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(python312), "-I", "-B", "-c", _BYTECODE_PROBLEMS, str(layer)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    problems: dict[str, str] = json.loads(done.stdout)
    return problems


def dataclass_table_texts(python312: Path, table: Path) -> int:
    """How many texts the layer's dataclass table holds, read by Lambda's Python as kassa.dataclass_code reads
    it (0 if it was compiled by another Python: its code would not be used)."""
    read = (
        "import importlib.util, marshal, sys; magic, table = marshal.loads(open(sys.argv[1], 'rb').read()); "
        "print(len(table) if magic == importlib.util.MAGIC_NUMBER else 0)"
    )
    done = subprocess.run([str(python312), "-I", "-c", read, str(table)], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_make_build_ships_only_aarch64_native_code_and_the_layers_bytecode(tmp_path: Path, python312: Path) -> None:
    built = make_build(BUILD_DIR=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    assert f"elf_check: {tmp_path}: " in built.stdout
    assert check(tmp_path)[0]
    assert pydantic_core_machines(tmp_path) == {AARCH64}
    layer = tmp_path / "CoreLayer" / "python"
    assert (layer / "kassa" / "ledger.py").exists() and (layer / "pydantic" / "main.py").exists()
    assert bytecode_problems(python312, layer) == {}
    # ... and its dataclasses' methods compiled (docs/decisions.md 41), every recorded text of them.
    table = layer / "kassa" / "dataclass_code.cpython-312.marshal"
    assert dataclass_table_texts(python312, table) == len(json.loads(LAYER_DATACLASS_CODE.read_text()))


def test_a_layer_built_by_sams_python_builder_ships_no_bytecode(tmp_path: Path, python312: Path) -> None:
    """What the bytecode check finds in the layer sam's own Python builder makes (what BuildMethod was)."""
    makefile = (ROOT / "template.yaml").read_text()
    assert makefile.count("BuildMethod: makefile") == 1
    template = tmp_path / "template.yaml"
    template.write_text(makefile.replace("BuildMethod: makefile", "BuildMethod: python3.12"))
    built = make_build(BUILD_TEMPLATE=template, BUILD_DIR=tmp_path / "build")
    assert built.returncode == 0, built.stdout + built.stderr
    problems = bytecode_problems(python312, tmp_path / "build" / "CoreLayer" / "python")
    assert str(tmp_path / "build" / "CoreLayer" / "python" / "kassa" / "ledger.py") in problems
    assert set(problems.values()) == {"no bytecode"}


@pytest.mark.parametrize(
    ("mode", "edited", "problem"),
    [
        ("timestamp", False, "not hash-based (a timestamp never matches in sam's zip)"),
        ("unchecked-hash", True, "stale"),
        ("unchecked-hash", False, None),
        ("checked-hash", False, None),
    ],
)
def test_the_bytecode_check_tells_what_lambda_would_not_use(
    tmp_path: Path, python312: Path, mode: str, edited: bool, problem: str | None
) -> None:
    source = tmp_path / "module.py"
    source.write_text("AMOUNT = 1\n")
    compile_it = [str(python312), "-m", "compileall", "-q", "--invalidation-mode", mode, str(tmp_path)]
    subprocess.run(compile_it, check=True, capture_output=True)
    if edited:
        source.write_text("AMOUNT = 2\n")
    assert bytecode_problems(python312, tmp_path) == ({str(source): problem} if problem else {})


def test_a_layer_built_for_x86_64_fails_the_elf_check(tmp_path: Path) -> None:
    x86_64 = "manylinux2014_x86_64 manylinux_2_28_x86_64 manylinux_2_34_x86_64"
    built = make_build({"LAYER_PLATFORMS": x86_64}, BUILD_DIR=tmp_path / "build")
    assert built.returncode != 0
    assert "Build Succeeded" in built.stdout, built.stdout + built.stderr  # sam built it; the ELF check refused it
    assert "_pydantic_core" in built.stderr and "x86-64 (e_machine 62" in built.stderr
    assert not check(tmp_path / "build")[0]
    assert pydantic_core_machines(tmp_path / "build") == {X86_64}
