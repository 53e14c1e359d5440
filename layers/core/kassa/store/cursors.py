"""Pagination cursors: a query's LastEvaluatedKey, opaque to callers, and checked on the way back in so
that a forged cursor, or one from another wallet or run, can never steer a query."""

from __future__ import annotations

import base64
import json
from typing import Any

from kassa import errors


def encode(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode() if key else None


def decode(cursor: str | None, pk: str, sk_prefix: str, numbers: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The key ``cursor`` stands for, if it names a position under ``pk`` (sort keys starting with
    ``sk_prefix``; ``numbers`` are the index's numeric key attributes); else InvalidRequest."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = (
            isinstance(key, dict)
            and set(key) == {"pk", "sk", *numbers}
            and key["pk"] == {"S": pk}
            and key["sk"] == {"S": key["sk"].get("S")}
            and str(key["sk"]["S"]).startswith(sk_prefix)
            and all(
                key[n] == {"N": key[n].get("N")} and str(key[n]["N"]).isdigit() and len(key[n]["N"]) < 20
                for n in numbers
            )
        )
    except (ValueError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise errors.InvalidRequest("cursor is not valid here")
    return key
