"""The pieces Lambda runs, built as ``sam build`` builds them, for this host: the layer by its own Makefile
(layers/core/Makefile, the target sam build runs for ``BuildMethod: makefile``) and boto3 as the Lambda
runtime provides it. The artifact smoke test runs every function from them, and the cold-start benchmark
times them (kassa_dev.bench.coldstart).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kassa_dev import layer_requirements

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_ID = "CoreLayer"
LAYER_SOURCE = REPO_ROOT / "layers/core"  # CoreLayer's ContentUri, where sam build runs its Makefile
LAYER_BUILD_METHOD = "makefile"  # sam build runs the ContentUri's Makefile ...
LAYER_BUILD_TARGET = f"build-{LAYER_ID}"  # ... at this target
LAYER_REQUIREMENTS = LAYER_SOURCE / "requirements.txt"
# The texts of the dataclass methods the functions' init compiles (kassa.dataclass_code), by `make dataclass-code`.
LAYER_DATACLASS_CODE = LAYER_SOURCE / "dataclass-code.json"


def pip_install(python: Path, target: Path, *args: str) -> None:
    """``<python> -m pip install --target TARGET --only-binary=:all: ARGS``: wheels only, as for Lambda."""
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-input", "--disable-pip-version-check"]
    command += ["--target", str(target), "--only-binary=:all:", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def make_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a ``make`` of its own, plus ``extra``: a make running this one (make
    test, make bench) hands its jobserver and level down in the environment, which a separate make must not
    inherit."""
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return {**env, **(extra or {})}


def build_layer(python: Path, requirements: Path, into: Path, dataclass_code: Path = LAYER_DATACLASS_CODE) -> Path:
    """CoreLayer as ``sam build`` makes it, by the same Makefile target, for this host's wheels: the
    packages ``requirements`` names and nothing else (no constraints, no dev environment), the layer's own
    source beside them, and the bytecode of all of it, with the dataclass code compiled from
    ``dataclass_code``. Returns the directory Lambda would put on sys.path (the layer's ``python/``,
    extracted to /opt/python)."""
    variables = {
        "ARTIFACTS_DIR": into,
        "LAYER_PYTHON": python,
        "LAYER_PLATFORMS": "",
        "LAYER_REQUIREMENTS": requirements.resolve(),
        "LAYER_DATACLASS_CODE": dataclass_code.resolve(),
    }
    command = ["make", "--no-print-directory", "-C", str(LAYER_SOURCE), LAYER_BUILD_TARGET]
    command += [f"{name}={value}" for name, value in variables.items()]
    done = subprocess.run(command, env=make_environment(), capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return into / "python"


def build_runtime(python: Path, into: Path) -> Path:
    """boto3 as the Lambda runtime provides it (outside the layer, after it on sys.path), at the version
    the tests pin."""
    version = layer_requirements.constraints()["boto3"]
    pip_install(python, into, f"boto3=={version}", "-c", str(layer_requirements.CONSTRAINTS_PATH))
    return into
