"""Find a Python 3.12 interpreter: the Lambda runtime Kassa targets (template.yaml: python3.12).

`sam build` needs one on PATH to build the layer, and the artifact smoke test runs the built handlers
with one. Looked for in this order: ``KASSA_PYTHON312`` (an explicit path), ``python3.12`` on PATH when
it really runs (a pyenv shim is on PATH but fails unless PYENV_VERSION names 3.12), then pyenv's own
versions directory. Run as a module it prints the interpreter's path, or a clear message and exit 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VERSION = (3, 12)
_NAME = "python3.12"
MISSING = (
    "Python 3.12 (the Lambda runtime) was not found: set KASSA_PYTHON312 to its path, put python3.12 on "
    "PATH, or install it with pyenv (pyenv install 3.12)."
)


def _runs_as_312(candidate: str) -> bool:
    try:
        out = subprocess.run(  # noqa: S603 - a local interpreter path, no shell
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == str(VERSION)


def _candidates() -> list[str]:
    found = [os.environ.get("KASSA_PYTHON312", "")]
    found.append(shutil.which(_NAME) or "")
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += [str(p) for p in sorted((pyenv_root / "versions").glob("3.12.*/bin/python3.12"), reverse=True)]
    return [c for c in found if c]


def find_python312() -> Path | None:
    """The real interpreter (not a shim) of the first working Python 3.12, or None."""
    for candidate in _candidates():
        if _runs_as_312(candidate):
            real = subprocess.run(  # noqa: S603 - a local interpreter path, no shell
                [candidate, "-c", "import sys; print(sys.executable)"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            return Path(real)
    return None


def main() -> int:
    found = find_python312()
    if found is None:
        print(MISSING, file=sys.stderr)
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
