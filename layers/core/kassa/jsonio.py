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


# A surrogate escape (or, in text already decoded, a surrogate itself): the parsed strings must then be
# checked, since JSON lets "\ud800" stand alone and such a string is no Unicode text at all.
_SURROGATE_TEXT = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(text: str | bytes) -> Any:
    """Parse JSON text; fractional numbers become ``Decimal`` exactly as written.

    Every way the text can be unreadable (bad syntax, NaN, duplicate keys, absurd nesting, an integer
    too long to convert, a number beyond Decimal's exponent range, a string that is not Unicode text)
    raises ``json.JSONDecodeError``, so callers have one error to answer.
    """
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError, UnicodeDecodeError, ArithmeticError) as error:
        # ArithmeticError: decimal.InvalidOperation for an exponent such as 1e1000000000000000000.
        raise json.JSONDecodeError(f"unreadable JSON: {type(error).__name__}", "", 0) from None
    pattern = _SURROGATE_TEXT if isinstance(text, str) else _SURROGATE_BYTES
    if pattern.search(text) and not _all_text(value):  # type: ignore[arg-type]
        raise json.JSONDecodeError("a string holds a lone surrogate, which is not Unicode text", "", 0)
    return value


def _all_text(value: Any) -> bool:
    """Does every string in ``value`` (keys included) encode as UTF-8?"""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_all_text(key) and _all_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_all_text(item) for item in value)
    return True


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
