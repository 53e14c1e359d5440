"""Pagination cursors: a query's LastEvaluatedKey, opaque to callers, and checked on the way back in so
that a forged cursor, or one from another wallet, run or operator, can never steer a query."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from kassa import errors


def encode(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode() if key else None


def _string(key: dict[str, Any], name: str) -> str:
    """The string attribute ``name`` of a decoded key, which must be exactly ``{"S": ...}``."""
    value = key[name]
    if value != {"S": value.get("S")} or not isinstance(value["S"], str):
        raise ValueError(name)
    return str(value["S"])


def _checked(cursor: str | None, names: set[str], valid: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The key ``cursor`` stands for, if it has exactly the attributes ``names`` and passes ``valid``."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        ok = isinstance(key, dict) and set(key) == names and valid(key)
    except (ValueError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise errors.InvalidRequest("cursor is not valid here")
    return key


def decode(cursor: str | None, pk: str, sk_prefix: str, numbers: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The key ``cursor`` stands for, if it names a position under ``pk`` (sort keys starting with
    ``sk_prefix``; ``numbers`` are the index's numeric key attributes); else InvalidRequest."""

    def valid(key: dict[str, Any]) -> bool:
        return (
            _string(key, "pk") == pk
            and _string(key, "sk").startswith(sk_prefix)
            and all(
                key[n] == {"N": key[n].get("N")} and str(key[n]["N"]).isdigit() and len(key[n]["N"]) < 20
                for n in numbers
            )
        )

    return _checked(cursor, {"pk", "sk", *numbers}, valid)


def decode_listing(cursor: str | None, kind: str, pk_prefix: str, sk: str) -> dict[str, Any] | None:
    """The key ``cursor`` stands for in the sparse index ByKind: that ``kind``, an item whose pk starts with
    ``pk_prefix`` and whose sk is ``sk`` (one operator's wallets, under a prefix); else InvalidRequest."""

    def valid(key: dict[str, Any]) -> bool:
        return _string(key, "kind") == kind and _string(key, "sk") == sk and _string(key, "pk").startswith(pk_prefix)

    return _checked(cursor, {"kind", "pk", "sk"}, valid)
