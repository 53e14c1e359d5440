"""kassa.dataclass_code: during a Lambda function's init, dataclasses run the code the layer's build compiled
(layers/core/compile_dataclass_code.py) for each text they would compile, and compile only the texts it
lacks, as they would have. Each case defines its classes with the table installed and uninstalls it after."""

from __future__ import annotations

import dataclasses
import json
import marshal
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kassa import dataclass_code

COMPILER = Path(__file__).resolve().parents[2] / "layers" / "core" / "compile_dataclass_code.py"


def _point() -> type:
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0

    return Point


def _table_of(texts: list[str], into: Path) -> Path:
    """The table the layer's build makes of ``texts`` (its Makefile runs the compiler the same way)."""
    (into / "texts.json").write_text(json.dumps(texts))
    subprocess.run([sys.executable, "-B", str(COMPILER), str(into / "texts.json"), str(into)], check=True, timeout=60)
    return into / dataclass_code.TABLE_NAME


def _texts_of(define: Callable[[], object], scratch: Path) -> list[str]:
    """What dataclasses compile for the classes ``define`` makes: with an empty table, all of it."""
    report = dataclass_code.report = dataclass_code.Report()
    empty = scratch / "empty.marshal"
    empty.write_bytes(dataclass_code.dump_table([]))
    assert dataclass_code.install(str(empty))
    try:
        define()
    finally:
        dataclass_code.uninstall()
    return list(report.compiled)


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[dataclass_code.Report]:
    """The table the build compiles from the texts of ``_point``'s methods, installed; a fresh report."""
    table = _table_of(_texts_of(_point, tmp_path), tmp_path)
    report = dataclass_code.report = dataclass_code.Report()
    assert dataclass_code.install(str(table)) is True
    try:
        yield report
    finally:
        dataclass_code.uninstall()


def test_a_class_whose_texts_are_in_the_table_compiles_nothing_and_works(
    installed: dataclass_code.Report,
) -> None:
    point = _point()
    assert installed.compiled == []
    assert installed.found == 6  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    a = point(1, 2)
    assert (a.x, a.y, point(3).y) == (1, 2, 0)
    assert a == point(1, 2) and a != point(2, 1) and hash(a) == hash(point(1, 2))
    assert repr(a).endswith("Point(x=1, y=2)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 5  # type: ignore[misc]


def test_the_table_s_code_is_what_runs(tmp_path: Path) -> None:
    """Not compiled again from the text: a table whose __repr__ code says so is the one used."""
    (repr_text,) = [text for text in _texts_of(_point, tmp_path) if "def __repr__" in text]
    marked = repr_text.replace("return self", "return 'from the table' or self", 1)
    assert marked != repr_text
    magic, compiled = marshal.loads(_table_of([marked], tmp_path).read_bytes())
    table = tmp_path / "swapped.marshal"
    table.write_bytes(marshal.dumps((magic, {repr_text: compiled[marked]})))
    assert dataclass_code.install(str(table))
    try:
        assert repr(_point()(1, 2)) == "from the table"
    finally:
        dataclass_code.uninstall()


def test_a_text_the_table_lacks_is_compiled_and_reported(installed: dataclass_code.Report) -> None:
    @dataclasses.dataclass
    class Unlisted:
        name: str

    assert len(installed.compiled) == 3 and all("__create_fn__" in text for text in installed.compiled)
    assert Unlisted("a") == Unlisted("a") and repr(Unlisted("a")).endswith("Unlisted(name='a')")


def test_a_missing_text_is_compiled_as_dataclasses_would_whatever_the_caller_s_future_flags(tmp_path: Path) -> None:
    """dataclasses.py has no __future__ import, so its exec compiles a return annotation to None. The module
    is loaded here with `from __future__ import annotations` added: compiling a text with its flags would
    leave the string '__dataclass_return_type__' instead."""
    source = Path(dataclass_code.__file__).read_text(encoding="utf-8")
    with_future = types.ModuleType("dataclass_code_with_future")
    with_future.__file__ = dataclass_code.__file__
    code = compile("from __future__ import annotations\n" + source, dataclass_code.__file__, "exec")
    exec(code, vars(with_future))
    empty = tmp_path / "empty.marshal"
    empty.write_bytes(dataclass_code.dump_table([]))
    assert with_future.install(str(empty))
    try:

        @dataclasses.dataclass
        class Unlisted:
            name: str

    finally:
        with_future.uninstall()
    assert with_future.report.compiled and Unlisted.__init__.__annotations__["return"] is None


def test_uninstall_gives_dataclasses_the_builtin_exec_back(installed: dataclass_code.Report) -> None:
    assert vars(dataclasses)["exec"] is dataclass_code._exec
    assert dataclass_code.uninstall() is True
    assert "exec" not in vars(dataclasses) and dataclass_code.uninstall() is False
    _point()
    assert installed.found == 0 and installed.compiled == []


@pytest.mark.parametrize(
    "content",
    [None, b"not marshal", b"\xe9", marshal.dumps({}), marshal.dumps((b"\x00\x00\r\n", {}))],
    ids=["missing", "garbage", "truncated", "not-a-pair", "another-python"],
)
def test_without_a_table_this_python_can_use_nothing_is_installed(tmp_path: Path, content: bytes | None) -> None:
    table = tmp_path / "table.marshal"
    if content is not None:
        table.write_bytes(content)
    assert dataclass_code.install(str(table)) is False
    assert "exec" not in vars(dataclasses)


def test_without_a_namespace_the_callers_is_used() -> None:
    """As exec's own default: the calling module's globals, not kassa.dataclass_code's."""
    namespace: dict[str, object] = {}
    dataclass_code._exec("seen = __name__", None, namespace)
    assert namespace["seen"] == __name__
