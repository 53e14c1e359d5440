"""`make build`: ``sam build`` without a container, for Lambda's arm64, then the ELF check on its output.

    python -m kassa_dev.sam_build [--template template.yaml] [--build-dir .aws-sam/build]

aws-sam-cli runs from its own tool environment, ``.tools/sam`` (`make build` makes it from
devtools/tools/sam.txt), not from .venv. No Docker: the layer's Makefile (``BuildMethod: makefile``,
layers/core/Makefile) installs manylinux aarch64 wheels (pydantic-core) with ``pip install --platform`` on
any host and compiles the layer's bytecode. It and sam's Python builder (the functions' code) run
``python3.12`` from PATH, and must find one that really runs: the interpreter :mod:`kassa_dev.python312`
finds goes first on PATH, ahead of a pyenv shim (which fails unless PYENV_VERSION names 3.12). Relative
CodeUri/ContentUri paths resolve against the repository (``--base-dir``), so a copy of the template kept
elsewhere builds the same sources.

Standard library only, so `make build` needs no dev venv. Exit status: sam's when it fails, else the
ELF check's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from kassa_dev import elf_check
from kassa_dev.python312 import MISSING, find_python312

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"


def sam_environment(python312: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = os.pathsep.join([str(python312.parent), env.get("PATH", "")])
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sam build for arm64 without a container, then the ELF check")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--build-dir", type=Path, default=ROOT / elf_check.DEFAULT_DIR)
    args = parser.parse_args(argv)
    python312 = find_python312()
    if python312 is None:
        print(MISSING, file=sys.stderr)
        return 1
    if not SAM.exists():
        print(f"{SAM} is missing: `make build` makes it from devtools/tools/sam.txt", file=sys.stderr)
        return 1
    template, build_dir = args.template.resolve(), args.build_dir.resolve()
    command = [SAM, "build", "--template", template, "--build-dir", build_dir, "--base-dir", ROOT]
    built = subprocess.run(command, env=sam_environment(python312), cwd=ROOT, check=False)  # noqa: S603 - fixed argv
    if built.returncode != 0:
        return built.returncode
    return elf_check.main([str(build_dir)])


if __name__ == "__main__":
    sys.exit(main())
