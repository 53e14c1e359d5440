"""Writes layers/core/requirements.txt (what `sam build` installs into the layer): the layer's complete
runtime closure, every package pinned to its constraints.txt version, so the artifact holds exactly
the versions the tests ran. A test fails when the file drifts; the artifact smoke test
(tests/artifact) builds a layer from that file alone and runs every handler on it.

The roots are pyproject.toml's runtime dependencies (declared once) minus what the Lambda runtime
provides; their dependencies are read from the metadata of the packages installed in this (the dev)
environment, with environment markers evaluated for the Lambda runtime (CPython 3.12, Linux, arm64),
and pinned from constraints.txt.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS_PATH = ROOT / "layers/core/requirements.txt"
CONSTRAINTS_PATH = ROOT / "constraints.txt"

# What the Lambda Python runtime (python3.12) already holds, outside any layer.
PROVIDED_BY_LAMBDA = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")

# Environment markers as the Lambda python3.12 runtime on arm64 evaluates them.
LAMBDA_MARKERS: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.0",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "sys_platform": "linux",
}

HEADER = """\
# Generated from pyproject.toml and constraints.txt by `make layer-requirements`; do not edit.
# The layer's complete runtime closure for Lambda python3.12 on arm64, each package at the version
# the tests ran (constraints.txt): `sam build` installs exactly what tests/artifact ran.
# Left to the Lambda runtime, as nothing in the layer requires them:
#   {left_out}
# Pinned here although the Lambda runtime has them too:
#   {pinned_anyway}
# `pip install` (what `sam build` runs) cannot see the runtime's copies: it installs them into the
# layer as dependencies of the packages below, and there they shadow the runtime's (the layer comes
# first on sys.path). Unpinned, they would be whatever is newest on the day of the build.
"""


def runtime_dependencies() -> list[str]:
    """pyproject.toml's runtime dependencies, as declared."""
    return list(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def constraints() -> dict[str, str]:
    """Canonical package name -> the version constraints.txt pins."""
    return pinned(CONSTRAINTS_PATH.read_text())


def pinned(text: str) -> dict[str, str]:
    """Canonical package name -> version, for each ``name[extras]==version`` line of a requirements file."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            if specifier.operator != "==":
                raise ValueError(f"not pinned: {line}")
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _provided(requirement: Requirement) -> bool:
    return canonicalize_name(requirement.name) in PROVIDED_BY_LAMBDA


def closure(roots: Iterable[str]) -> dict[str, set[str]]:
    """Canonical name -> the packages that require it ("" for a root), over every dependency the roots
    need on Lambda (extras followed, markers evaluated for LAMBDA_MARKERS)."""
    pins = constraints()
    needed: dict[str, set[str]] = {}
    pending: list[tuple[Requirement, str]] = [(Requirement(root), "") for root in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, wanted_by = pending.pop()
        name = canonicalize_name(requirement.name)
        needed.setdefault(name, set()).add(wanted_by)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        if name not in pins:
            raise ValueError(f"{name} (required by {wanted_by or 'pyproject.toml'}) is not pinned in constraints.txt")
        installed = metadata.version(name)
        if installed != pins[name]:
            raise ValueError(f"{name} {installed} is installed, constraints.txt pins {pins[name]}: run `make test`")
        for text in metadata.requires(name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate(_lambda_markers(extra)) for extra in requirement.extras or {""}):
                pending.append((Requirement(f"{dependency.name}{_extras(dependency)}"), name + _extras(requirement)))
    return needed


def _lambda_markers(extra: str) -> dict[str, str]:
    return {**LAMBDA_MARKERS, "extra": extra}


def _extras(requirement: Requirement) -> str:
    return f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""


def requirements(dependencies: list[str] | None = None) -> str:
    """The requirements file for ``dependencies`` (default: pyproject.toml's runtime dependencies)."""
    declared = [Requirement(dep) for dep in (runtime_dependencies() if dependencies is None else dependencies)]
    roots = [dep for dep in declared if not _provided(dep)]
    pins = constraints()
    for dep in roots:
        if not dep.specifier.contains(pins.get(canonicalize_name(dep.name), "")):
            raise ValueError(f"pyproject.toml wants {dep}, constraints.txt pins {pins.get(dep.name)}")
    needed = closure(str(dep) for dep in roots)
    root_names: dict[str, Requirement] = {canonicalize_name(dep.name): dep for dep in roots}
    lines = []
    for name in sorted(needed):
        if name in root_names:
            lines.append(f"{name}{_extras(root_names[name])}=={pins[name]}\n")
        else:
            via = ", ".join(sorted(needed[name] - {""}))
            lines.append(f"{name}=={pins[name]}  # via {via}\n")
    left_out = [name for name in PROVIDED_BY_LAMBDA if name not in needed]
    pinned_anyway = [name for name in PROVIDED_BY_LAMBDA if name in needed]
    header = HEADER.format(left_out=", ".join(left_out) or "nothing", pinned_anyway=", ".join(pinned_anyway) or "none")
    return header + "".join(lines)


if __name__ == "__main__":
    sys.stdout.write(requirements())
