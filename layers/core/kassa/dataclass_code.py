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
A file of another Python version is never read (its name carries the version, as bytecode's does).

Only in Lambda, from the ``kassa`` package's import to the first invocation (``kassa.startup``); ``report``
says how many texts were found and which were compiled (the artifact smoke test requires none).
"""

import builtins
import dataclasses
import marshal
import os
import sys
from types import CodeType
from typing import Any

# Named as bytecode is: code objects are only valid for the Python version that compiled them.
TABLE = os.path.join(os.path.dirname(__file__), f"dataclass_code.{sys.implementation.cache_tag}.marshal")


class Report:
    """What the installed ``exec`` did: texts whose code was found, and texts it had to compile."""

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
        # Written by the layer's build, beside the bytecode Python loads the same way (a .pyc is marshal).
        loaded = marshal.loads(content)  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return False  # no table (the source tree, tests), or not one this Python can read: compile as before
    if not isinstance(loaded, dict):
        return False
    _table.clear()
    _table.update(loaded)
    # dataclasses calls exec by its global name: a module attribute of that name comes before the builtin.
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    return True


def uninstall() -> None:
    """Back to the builtin ``exec``; the table is let go."""
    if vars(dataclasses).get("exec") is _exec:
        del dataclasses.exec  # type: ignore[attr-defined]
    _table.clear()


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
    if globals is None:  # exec's default is its caller's namespace, not this module's
        caller = sys._getframe(1)
        globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
    if not isinstance(source, str):
        code = source
    elif source in _table:
        code = _table[source]
        report.found += 1
    else:
        # As exec would compile it from dataclasses: without this module's __future__ flags.
        code = compile(source, "<string>", "exec", dont_inherit=True)
        report.compiled.append(source)
    builtins.exec(code, globals, locals)  # noqa: S102 - dataclasses' own generated methods
