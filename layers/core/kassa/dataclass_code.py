"""Dataclass methods compiled when the layer is built, not again at every cold start.

Python 3.12's ``dataclasses`` writes each method it generates (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, a frozen class's ``__setattr__`` and ``__delattr__``) as source text and compiles it with
``exec``: some 400 compilations in a function's init (Kassa's frozen value types, pydantic's, annotated_types',
Powertools'), about a fifth of what Kassa's functions spend beyond a bare boto3 handler (docs/decisions.md 41).
Lambda keeps nothing a cold start compiles.

The layer's build (layers/core/Makefile) compiles the texts every function's init hands ``exec``
(layers/core/dataclass-code.json, recorded by ``make dataclass-code``) with Lambda's Python and ships them
marshalled beside this module. During init, ``exec`` in ``dataclasses`` looks a text up there and runs the
code compiled from exactly that text, which is what compiling it again would give; a text not there (a
dataclass added since the recording, a Python whose dataclasses write other text) is compiled as before.
Code objects are only valid for the Python that compiled them: the table's name carries the version, as
bytecode's does, and the table itself the bytecode's magic number, which must be this Python's. Classes whose
methods have the same text share one code object (nothing a program can tell apart from two equal ones).

Only in Lambda, from the ``kassa`` package's import to the first invocation (``kassa.startup``); ``report``
says how many texts were found and which were compiled (the artifact smoke test requires none; in Lambda the
first invocation logs a warning if any were).

This module must not import ``from __future__``: it would not change how a text is compiled here (``compile``
is told not to inherit), but it would change what this module's own functions look like to a reader who
compares them with ``dataclasses``.
"""

import builtins
import dataclasses
import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import Any

TABLE_NAME = f"dataclass_code.{sys.implementation.cache_tag}.marshal"
TABLE = os.path.join(os.path.dirname(__file__), TABLE_NAME)


def compile_text(text: str) -> CodeType:
    """What ``exec(text, ...)`` compiles when ``dataclasses`` calls it: file ``<string>``, and the future flags
    of dataclasses.py, which has none (so none of the caller's, whatever module that is)."""
    return compile(text, "<string>", "exec", dont_inherit=True)


def dump_table(texts: list[str]) -> bytes:
    """The table of ``texts`` compiled by this Python, as ``install`` reads it (the layer's build writes it)."""
    return marshal.dumps((MAGIC_NUMBER, {text: compile_text(text) for text in texts}))


class Report:
    """What the installed ``exec`` did: texts whose code was found, and texts it had to compile. (Not a
    dataclass: it is defined before the table is installed, and would only add a class to compile.)"""

    def __init__(self) -> None:
        self.found = 0
        self.compiled: list[str] = []


report = Report()
_table: dict[str, CodeType] = {}


def install(table: str = TABLE) -> bool:
    """Have ``dataclasses`` run the code compiled from ``table`` (if there is one) instead of compiling."""
    try:
        with open(table, "rb") as file:
            content = file.read()  # at once: marshal.load reads a file object piece by piece, 8x slower
        # Written by the layer's build, beside the bytecode Python loads the same way (a .pyc is marshal too).
        magic, loaded = marshal.loads(content)  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return False  # no table (the source tree, tests), or not one this Python can read: compile as before
    if magic != MAGIC_NUMBER or not isinstance(loaded, dict):
        return False  # another Python's code, which this one must not run
    global _table
    _table = loaded
    # dataclasses calls exec by its global name: a module attribute of that name comes before the builtin.
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    return True


def uninstall() -> bool:
    """Back to the builtin ``exec``, and the table let go. Whether it was installed until now."""
    installed = vars(dataclasses).get("exec") is _exec
    global _table
    if installed:
        del dataclasses.exec  # type: ignore[attr-defined]
    _table = {}
    return installed


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
    # Only dataclasses.py calls this, as exec(text, globals, namespace); the rest is exec's own contract.
    if globals is None:  # exec's default is its caller's namespace, not this module's
        caller = sys._getframe(1)
        globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
    code = _table.get(source) if isinstance(source, str) else None  # one lookup: uninstall may replace it
    if code is not None:
        report.found += 1
    elif isinstance(source, str):
        code = compile_text(source)
        report.compiled.append(source)
    else:
        code = source
    builtins.exec(code, globals, locals)  # noqa: S102 - dataclasses' own generated methods
