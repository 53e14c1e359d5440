"""``KASSA_DATA_DIR`` (``kassa serve --data-dir``): where the local stack is kept between two runs.

The embedded DynamoDB lives in the server's memory. With a data dir, ``kassa serve`` saves what it holds
when it stops (Ctrl-C, SIGTERM) and restores it when it starts again, so a local stack survives a restart:

- the table's items, as DynamoDB JSON (the table itself is created from template.yaml as on every start,
  so a template that gained an index indexes the restored items too);
- the objects of the template's buckets (a provider report uploaded, a run's report), base64;
- the demo operator's API key and One Wallet token. The table keeps only their hashes, so without them
  a restarted server could not print the key that still works. They are local dummy credentials.

One file, ``local-stack.json``, plain JSON, replaced atomically (written beside it, flushed, then renamed
over it): a server killed while saving leaves the previous copy whole. A lock file keeps a second
``kassa serve`` off the same directory, whose copy would overwrite the first's on its way out.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SNAPSHOT_FILE = "local-stack.json"
LOCK_FILE = "kassa-serve.lock"
FORMAT = "kassa-local-stack/1"

Item = dict[str, Any]


class DataDirError(Exception):
    """The data dir cannot be used as it is (in use, unreadable, not a snapshot); the message says why."""


@dataclass
class Snapshot:
    """What a local stack holds: its table's items, its buckets' objects (by the bucket's logical id in
    template.yaml, which outlives a change of local names), and the demo operator's secrets."""

    items: list[Item] = field(default_factory=list)
    objects: dict[str, dict[str, bytes]] = field(default_factory=dict)
    demo: dict[str, str] | None = None

    def summary(self) -> str:
        count = sum(len(keys) for keys in self.objects.values())
        return f"{_count(len(self.items), 'item')}, {_count(count, 'object')}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "items": [_binary_values(item, _to_base64) for item in self.items],
            "objects": {
                bucket: {key: _to_base64(body) for key, body in keys.items()} for bucket, keys in self.objects.items()
            },
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, kept: dict[str, Any]) -> Snapshot:
        if kept.get("format") != FORMAT:
            raise ValueError(f"format {kept.get('format')!r}, not {FORMAT!r}")
        return cls(
            items=[_binary_values(item, base64.b64decode) for item in kept["items"]],
            objects={
                bucket: {key: base64.b64decode(body) for key, body in keys.items()}
                for bucket, keys in kept["objects"].items()
            },
            demo=kept.get("demo"),
        )


class DataDir:
    """One data dir, held (locked) from ``hold()`` until ``release()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.snapshot_path = path / SNAPSHOT_FILE
        self._lock: IO[str] | None = None

    def hold(self) -> None:
        """Create the directory if needed and take it: another ``kassa serve`` holding it is an error."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = (self.path / LOCK_FILE).open("w")
        except OSError as error:
            raise DataDirError(f"cannot use {self.path} as the data dir: {error.strerror}") from error
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DataDirError(f"{self.path} is the data dir of another kassa serve, still running") from None
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def load(self) -> Snapshot | None:
        """What was saved last, or None for a new (empty) data dir."""
        if not self.snapshot_path.exists():
            return None
        try:
            return Snapshot.from_json(json.loads(self.snapshot_path.read_text()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise DataDirError(
                f"{self.snapshot_path} is not a snapshot kassa serve can restore ({error}); move it away to start empty"
            ) from error

    def save(self, snapshot: Snapshot) -> None:
        try:
            write_atomically(self.snapshot_path, lambda out: json.dump(snapshot.to_json(), out))
        except OSError as error:
            raise DataDirError(
                f"could not save the local stack to {self.snapshot_path} ({error.strerror}); "
                "the copy saved before is kept"
            ) from error


def write_atomically(path: Path, write: Callable[[IO[str]], None]) -> None:
    """``write`` into a temporary file beside ``path``, on disk, then renamed over ``path``: a reader (or the
    next start, after a kill) finds the old file or the new one, never half of one."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False, encoding="utf-8"
    ) as temporary:
        try:
            write(temporary)
            temporary.flush()
            os.fsync(temporary.fileno())
        except BaseException:
            temporary.close()
            os.unlink(temporary.name)
            raise
    os.replace(temporary.name, path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """The rename itself on disk (a directory's entries are flushed through the directory)."""
    with contextlib.suppress(OSError):  # some file systems cannot open a directory for this
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _binary_values(item: Item, convert: Callable[[Any], Any]) -> Item:
    """An item with its binary values (B, BS, at any depth) converted: boto3 reads them as bytes, JSON holds
    them as base64 text, as DynamoDB's own JSON does."""
    return {name: _attribute_value(value, convert) for name, value in item.items()}


def _attribute_value(value: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": convert(inner)}
    if kind == "BS":
        return {"BS": [convert(member) for member in inner]}
    if kind == "L":
        return {"L": [_attribute_value(member, convert) for member in inner]}
    if kind == "M":
        return {"M": _binary_values(inner, convert)}
    return value


def _to_base64(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
