"""A Lambda function's init runs with the garbage collector paused and with its dataclasses' methods
compiled in advance (``kassa.dataclass_code``); its first invocation freezes what init built and starts the
collector again.

Init imports botocore, Powertools, pydantic and Kassa: some 80,000 objects that live as long as the
process (modules, classes, functions, schemas), of which a few hundred are garbage. The collector does not
know that: while they are being created it walks them again and again (a full collection's cost grows with
them), about a tenth of the cold start on Python 3.12 here, and the first request after a cold start
paid for one more full walk of them, 30-40 ms (docs/decisions.md 39). Paused during init and then frozen
(``gc.freeze``: moved where the collector never looks), they cost nothing, and every later collection walks
only what requests create. The few hundred garbage objects of init are kept.

Only in Lambda (``AWS_EXECUTION_ENV`` is ``AWS_Lambda_<runtime>``): tests, the CLI and the local servers
keep their collector as they set it. The pause is taken when the ``kassa`` package is first imported (the
first line of every function's code), and ended by ``kassa.observability.lambda_handler``, which every
handler wears.
"""

from __future__ import annotations

import gc
import os

from kassa import dataclass_code

_in_init = False  # from pause_for_init, in Lambda, to the first invocation's init_done
_paused = False


def pause_for_init() -> None:
    """In a Lambda function, pause the collector and use the dataclass code compiled at build until the first
    invocation (``init_done``)."""
    global _in_init, _paused
    if not os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_"):
        return
    _in_init = True
    dataclass_code.install()
    if gc.isenabled():
        gc.disable()
        _paused = True


def initialising() -> bool:
    """In a Lambda function, before its first invocation."""
    return _in_init


def init_done() -> list[str]:
    """At every invocation; the first ends init (later ones only check a flag). If init paused the collector,
    freeze what init built and start it again; dataclasses compile their own code again (nothing is left to
    define). Returns, at the end of an init that had the dataclass table, the texts it still compiled (a stale
    table: the caller says so)."""
    global _in_init, _paused
    if not _in_init:
        return []
    _in_init = False
    stale = dataclass_code.report.compiled if dataclass_code.uninstall() else []
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
    return stale
