"""kassa.dataclass_code: during a Lambda function's init, dataclasses run the code the layer's build compiled
(layers/core/compile_dataclass_code.py) for each text they would compile, and compile only the texts it
lacks, as they would have. Each case defines its classes with the table installed and uninstalls it after."""

from __future__ import annotations

import dataclasses
import json
import marshal
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[dataclass_code.Report]:
    """The table the build compiles from the texts of ``_point``'s methods, installed; a fresh report."""
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(_texts_of(_point)))
    subprocess.run([sys.executable, str(COMPILER), str(texts), str(tmp_path)], check=True, timeout=60)
    (table,) = tmp_path.glob("dataclass_code.*.marshal")
    assert table.name == f"dataclass_code.{sys.implementation.cache_tag}.marshal"
    report = dataclass_code.report = dataclass_code.Report()
    assert dataclass_code.install(str(table)) is True
    try:
        yield report
    finally:
        dataclass_code.uninstall()


def _texts_of(define: object) -> list[str]:
    """What dataclasses compile for the classes ``define`` makes: installed with an empty table, every text
    is reported as compiled."""
    dataclass_code.report = dataclass_code.Report()
    dataclass_code._table.clear()
    dataclasses.exec = dataclass_code._exec  # type: ignore[attr-defined]
    try:
        define()  # type: ignore[operator]
        return list(dataclass_code.report.compiled)
    finally:
        dataclass_code.uninstall()


def test_a_class_whose_texts_are_in_the_table_compiles_nothing_and_works(
    installed: dataclass_code.Report,
) -> None:
    point = _point()
    assert installed.compiled == []
    assert installed.found >= 5  # __init__, __repr__, __eq__, __hash__, __setattr__, __delattr__
    a = point(1, 2)
    assert (a.x, a.y, point(3).y) == (1, 2, 0)
    assert a == point(1, 2) and a != point(2, 1) and hash(a) == hash(point(1, 2))
    assert repr(a).endswith("Point(x=1, y=2)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 5  # type: ignore[misc]


def test_the_table_s_code_is_what_runs(tmp_path: Path) -> None:
    """Not compiled again from the text: a table whose __repr__ code says so is the one used."""
    texts = _texts_of(_point)
    (repr_text,) = [text for text in texts if "def __repr__" in text]
    marked = repr_text.replace("return self", "return 'from the table' or self", 1)
    assert marked != repr_text
    (tmp_path / "texts.json").write_text(json.dumps([marked]))
    subprocess.run([sys.executable, str(COMPILER), str(tmp_path / "texts.json"), str(tmp_path)], check=True, timeout=60)
    table_file = next(tmp_path.glob("dataclass_code.*.marshal"))
    table = marshal.loads(table_file.read_bytes())
    table_file.write_bytes(marshal.dumps({repr_text: table[marked]}))
    assert dataclass_code.install(str(table_file))
    try:
        assert repr(_point()(1, 2)) == "from the table"
    finally:
        dataclass_code.uninstall()


def test_a_text_the_table_lacks_is_compiled_as_dataclasses_would(installed: dataclass_code.Report) -> None:
    @dataclasses.dataclass
    class Unlisted:
        name: str

    assert len(installed.compiled) >= 3 and all("__create_fn__" in text for text in installed.compiled)
    assert Unlisted("a") == Unlisted("a") and repr(Unlisted("a")).endswith("Unlisted(name='a')")
    # Compiled without this module's `from __future__ import annotations`: the return annotation is None,
    # not the string a postponed annotation would leave.
    assert Unlisted.__init__.__annotations__["return"] is None


def test_uninstall_gives_dataclasses_the_builtin_exec_back(installed: dataclass_code.Report) -> None:
    assert vars(dataclasses)["exec"] is dataclass_code._exec
    dataclass_code.uninstall()
    assert "exec" not in vars(dataclasses)
    _point()
    assert installed.found == 0 and installed.compiled == []


@pytest.mark.parametrize("content", [None, b"not marshal", b"\xe9"], ids=["missing", "garbage", "truncated"])
def test_without_a_readable_table_nothing_is_installed(tmp_path: Path, content: bytes | None) -> None:
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
