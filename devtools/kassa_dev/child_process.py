"""A context manager run in a child process of its own, for the embedded services: moto's state is per
process, so a stack started there is a fresh one every time, whatever this process has started before,
and what this process does no longer competes with it for one interpreter lock."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


def _serve(connection: Any, factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """In the child: enter the context, send what it yields, hold it until told to stop."""
    try:
        with factory(*args, **kwargs) as value:
            connection.send(("ready", value))
            with contextlib.suppress(EOFError):
                connection.recv()
    except BaseException:
        import traceback

        with contextlib.suppress(OSError):
            connection.send(("error", traceback.format_exc()))


@contextlib.contextmanager
def in_child_process(factory: Callable[..., Any], *args: Any, name: str, **kwargs: Any) -> Iterator[Any]:
    """``with factory(*args, **kwargs) as value`` in a spawned child; yields ``value`` (it must pickle, as must
    ``factory``: a module-level function)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(theirs, factory, args, kwargs), name=name)
    child.start()
    theirs.close()
    try:
        try:
            status, payload = ours.recv()
        except EOFError:
            raise RuntimeError(f"the {name} process died (exit code {child.exitcode})") from None
        if status != "ready":
            raise RuntimeError(f"the {name} process did not start:\n{payload}")
        yield payload
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        child.join(timeout=60)
        if child.is_alive():
            child.terminate()
            child.join()
        ours.close()
