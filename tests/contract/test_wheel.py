"""What `pip install .` installs: the wheel built from this checkout, read back.

The wheel carries two packages, every module of each: `kassa` (the runtime, what the Lambda layer ships)
and `kassa_dev` (the `kassa` CLI and its local stack), and the `kassa` console script; never the tests.
Its requirements: the runtime's (`pip install .`), plus the `local` extra that the CLI's local stack needs
(`pip install '.[local]'`): together they cover every third-party module the CLI imports, the handlers
`kassa serve` runs included. The Lambda layer gets none of the extra (it is generated from the runtime's).

The wheel is built from a copy of the checkout with pip and the build backend [build-system] pins, which
`.[dev]` installs into .venv: no build isolation, no index, nothing downloaded.
"""

from __future__ import annotations

import ast
import configparser
import functools
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kassa_dev import layer_requirements, template

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Import name -> its source directory in the checkout.
SOURCES = {"kassa": ROOT / "layers/core/kassa", "kassa_dev": ROOT / "devtools/kassa_dev"}
# What the local stack needs beyond the runtime; none of it may reach the Lambda layer.
LOCAL_ONLY = ("moto", "pyyaml", "werkzeug", "flask", "swagger-ui-bundle")
# Not copied into the build: environments, caches, earlier builds (at the top), bytecode (anywhere).
TOP_IGNORED = shutil.ignore_patterns(".*", "build", "dist", "tmp", "*.egg-info")
IGNORED_ANYWHERE = shutil.ignore_patterns("__pycache__", ".*_cache")


def _ignored(directory: str, names: list[str]) -> set[str]:
    top = TOP_IGNORED(directory, names) if Path(directory) == ROOT else set()
    return set(top) | set(IGNORED_ANYWHERE(directory, names))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    (backend,) = (Requirement(text) for text in PYPROJECT["build-system"]["requires"])
    installed = metadata.version(backend.name)
    assert backend.specifier.contains(installed), (
        f"the build backend is {backend}, .venv has {backend.name} {installed}: reinstall .venv (make test)"
    )
    source = tmp_path_factory.mktemp("checkout") / "kassa"
    shutil.copytree(ROOT, source, ignore=_ignored)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run([*command, "--wheel-dir", str(out), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("kassa-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = (path for path in wheel.namelist() if path.split("/")[0].endswith(".dist-info") and path.endswith(name))
    return wheel.read(path).decode()


def _requires_dist(wheel: zipfile.ZipFile) -> list[Requirement]:
    return [
        Requirement(text)
        for text in HeaderParser().parsestr(_dist_info(wheel, "/METADATA")).get_all("Requires-Dist") or []
    ]


def _extra(wheel: zipfile.ZipFile, extra: str) -> list[Requirement]:
    """The requirements the extra adds."""
    return [r for r in _requires_dist(wheel) if r.marker is not None and r.marker.evaluate({"extra": extra})]


# --------------------------------------------------------------------------- what it holds


def _source_modules() -> set[str]:
    return {
        f"{package}/{path.relative_to(directory).as_posix()}"
        for package, directory in SOURCES.items()
        for path in directory.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_wheel_holds_every_module_of_both_packages(wheel: zipfile.ZipFile) -> None:
    expected = _source_modules()
    subpackages = {path.rsplit("/", 1)[0] for path in expected if path.endswith("/__init__.py")}
    # Every subpackage of the runtime, the ones the CLI needs first (kassa.anomaly was once left out).
    assert {"kassa/anomaly", "kassa/api", "kassa/store", "kassa/reconcile", "kassa_dev/bench"} <= subpackages
    missing = expected - set(wheel.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_wheel_holds_nothing_but_the_two_packages(wheel: zipfile.ZipFile) -> None:
    tops = {path.split("/")[0] for path in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == set(SOURCES), sorted(tops)
    python = {path for path in wheel.namelist() if path.endswith(".py")}
    assert python == _source_modules(), sorted(python ^ _source_modules())
    assert not [path for path in wheel.namelist() if "tests/" in path or "conftest" in path or "test_" in path]


def test_wheel_declares_the_kassa_command(wheel: zipfile.ZipFile) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(_dist_info(wheel, "/entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == {"kassa": "kassa_dev.cli:main"}
    assert "def main(" in wheel.read("kassa_dev/cli.py").decode()


# --------------------------------------------------------------------------- what it requires


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module name an import statement anywhere in ``tree`` may load (function bodies included,
    ``if TYPE_CHECKING:`` blocks left out); ``from a import b`` yields both ``a`` and ``a.b``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(child, module, is_package)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        yield from _imports(node, module, is_package)


def _first_party_file(module: str) -> Path | None:
    top, *rest = module.split(".")
    if top not in SOURCES:
        return None
    path = SOURCES[top].joinpath(*rest)
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def cli_third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module -> where it is imported, over everything the `kassa` CLI may import:
    from kassa_dev.cli, every first-party module reachable from it, and every function's handler (kassa serve
    and kassa invoke run them in-process)."""
    pending: list[tuple[str, Path, bool]] = [("kassa_dev.cli", SOURCES["kassa_dev"] / "cli.py", False)]
    for spec in template.functions(template.load_template(ROOT / "template.yaml")).values():
        handler_module = spec.handler.rsplit(".", 1)[0]
        pending.append((handler_module, spec.code_dir / f"{handler_module.replace('.', '/')}.py", False))
    seen: set[Path] = set()
    found: dict[str, set[str]] = {}
    while pending:
        module, path, is_package = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for imported in _imports(ast.parse(path.read_text(), str(path)), module, is_package):
            top = imported.split(".")[0]
            if top in SOURCES:
                parts = imported.split(".")
                for i in range(1, len(parts) + 1):
                    name = ".".join(parts[:i])
                    file = _first_party_file(name)
                    if file is not None:
                        pending.append((name, file, file.name == "__init__.py"))
            elif (path.parent / f"{top}.py").is_file() or (path.parent / top / "__init__.py").is_file():
                pending.append((imported, path.parent / f"{imported.replace('.', '/')}.py", False))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(module)
    return found


def install_closure(roots: Iterable[Requirement], extras: set[str], wheel: zipfile.ZipFile) -> set[str]:
    """Canonical names of every distribution ``pip install 'kassa[extras]'`` installs besides kassa, read from
    the wheel's requirements and the installed distributions' metadata, markers evaluated here."""
    pending = [(requirement, extras | {""}) for requirement in roots]
    needed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, wanted = pending.pop()
        if requirement.marker is not None and not any(requirement.marker.evaluate({"extra": e}) for e in wanted):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        if name != "kassa":
            needed.add(name)
        dependencies = (
            _requires_dist(wheel) if name == "kassa" else [Requirement(t) for t in metadata.requires(name) or []]
        )
        pending.extend((dependency, set(requirement.extras) | {""}) for dependency in dependencies)
    return needed


@functools.cache
def _distributions_by_module() -> dict[str, set[str]]:
    return {module: set(map(canonicalize_name, dists)) for module, dists in metadata.packages_distributions().items()}


def _providers(module: str) -> set[str]:
    """The installed distributions that provide the top-level module."""
    return _distributions_by_module().get(module, set())


def test_the_local_extra_covers_every_module_the_cli_imports(wheel: zipfile.ZipFile) -> None:
    """`pip install '.[local]'` then `kassa serve`: no ModuleNotFoundError (PyYAML was once dev-only)."""
    installed = install_closure(_requires_dist(wheel), {"local"}, wheel)
    imports = cli_third_party_imports()
    assert {"yaml", "moto", "werkzeug", "boto3", "aws_lambda_powertools"} <= set(imports), sorted(imports)
    uncovered = {module: sorted(where) for module, where in imports.items() if not _providers(module) & installed}
    assert not uncovered, f"imported by the CLI, installed by no requirement of kassa[local]: {uncovered}"


def test_the_runtime_requirements_are_the_layers_and_nothing_local(wheel: zipfile.ZipFile) -> None:
    """`pip install .` requires what the Lambda layer is generated from, and the layer holds no local tooling."""
    runtime = [str(r) for r in _requires_dist(wheel) if r.marker is None]
    assert runtime == [str(Requirement(text)) for text in layer_requirements.runtime_dependencies()]
    layer = set(layer_requirements.pinned((ROOT / "layers/core/requirements.txt").read_text()))
    base = install_closure(_requires_dist(wheel), set(), wheel)
    for name in map(canonicalize_name, LOCAL_ONLY):
        assert name not in layer and name not in base, name
    assert {canonicalize_name(r.name) for r in _extra(wheel, "local")} >= {"moto", "pyyaml"}


def test_dev_installs_the_local_extra_and_every_requirement_is_pinned(wheel: zipfile.ZipFile) -> None:
    requirements = _requires_dist(wheel)
    dev = _extra(wheel, "dev")
    assert any(canonicalize_name(r.name) == "kassa" and r.extras == {"local"} for r in dev), [str(r) for r in dev]
    pins = layer_requirements.constraints()
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name == "kassa":
            continue
        specifiers = [(s.operator, s.version) for s in requirement.specifier]
        assert specifiers == [("==", pins.get(name))], f"{requirement}: constraints.txt pins {pins.get(name)}"
