"""JSON with exact numbers: parsed into ``Decimal`` (never ``float``) and written back digit for digit."""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does a ledger.
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"amount": "1", "amount": "2"} means different things to different parsers: refuse it.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise json.JSONDecodeError("duplicate key in object", "", 0)
    return result


def loads(text: str | bytes) -> Any:
    """Parse JSON text; fractional numbers become ``Decimal`` exactly as written.

    Every way the text can be unreadable (bad syntax, NaN, duplicate keys, absurd nesting, an integer
    too long to convert) raises ``json.JSONDecodeError``, so callers have one error to answer.
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise json.JSONDecodeError(f"unreadable JSON: {type(error).__name__}", "", 0) from None


def dumps(value: Any) -> str:
    """Serialize, writing each ``Decimal`` as a JSON number with its exact digits (never via float)."""
    # Each Decimal is first written as a string carrying a random marker, then unquoted: the json
    # module has no hook for raw number text, and a float would lose digits.
    marker = secrets.token_hex(8)
    text = json.dumps(_marked(value, marker), separators=(",", ":"), ensure_ascii=False)
    return re.sub(f'"{marker}(-?[0-9]+(?:\\.[0-9]+)?)"', r"\1", text)


def _marked(value: Any, marker: str) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite amounts cannot be written")
        return f"{marker}{value:f}"
    if isinstance(value, dict):
        return {key: _marked(item, marker) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(item, marker) for item in value]
    return value
