"""Exact money.

Amounts enter as ``Decimal`` parsed from JSON text (never through ``float``) and are stored as integer
*units*: the amount times ``10**scale``. The scale is the currency's precision, 6 decimal places by
default because game providers send up to 6 decimals whatever the currency. An amount with more
fractional digits than the scale is refused, never rounded: rounding money silently is how ledgers
drift.
"""

from __future__ import annotations

import re
from decimal import Decimal

from kassa.errors import InvalidAmount

DEFAULT_SCALE = 6
# The largest amount one movement may carry, in major units. Far above any real bet or deposit (the
# protocol's "tens of millions"), far below what DynamoDB's 38-digit numbers can hold after summing.
MAX_AMOUNT = Decimal("1000000000000")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# Beyond this exponent canonical() writes digits and exponent instead of plain digits.
_PLAIN_EXPONENT = 1000
_DECIMAL_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


def parse_decimal_text(text: str) -> Decimal:
    """A plain decimal string as the native API takes it: no exponent, no NaN, no spaces."""
    if not isinstance(text, str) or not _DECIMAL_TEXT.match(text):
        raise InvalidAmount('amount must be a decimal string such as "10.50"')
    return Decimal(text)


def to_units(amount: Decimal, scale: int) -> int:
    """Exact conversion to integer units; too many decimals, non-finite or huge amounts are errors.

    Integer arithmetic on the decimal's digits throughout: ``Decimal.normalize`` and ``scaleb`` round
    to the context's 28 significant digits, which would silently accept "0.1000000000000000000000000000001".
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount("amount must be a finite number")
    # copy_abs, not abs(): abs() rounds to the context and overflows for an exponent such as 1e1000000.
    if amount.copy_abs() > MAX_AMOUNT:
        raise InvalidAmount(f"amount must not exceed {MAX_AMOUNT}")
    sign, digits, exponent = _significant(amount)
    if exponent < -scale:
        raise InvalidAmount(f"amount has more than {scale} decimal places")
    # At most 13 + scale digits now (the amount is within MAX_AMOUNT and has no more than scale decimals).
    return (-1 if sign else 1) * int(digits or "0") * 10 ** (exponent + scale)


def _significant(amount: Decimal) -> tuple[int, str, int]:
    """(sign, digits, exponent) with trailing zeros removed, exactly: the digits stay text, because
    JSON may spell an amount with thousands of them (Python refuses int() of over 4,300 digits)."""
    sign, digit_tuple, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return 0, "", 0
    significant = digits.rstrip("0")
    return sign, significant, exponent + len(digits) - len(significant)


def from_units(units: int, scale: int) -> Decimal:
    """The exact decimal value of ``units``, with exactly ``scale`` fractional digits."""
    return Decimal(f"{units}E-{scale}")  # exact: built from the digits, not through context arithmetic


def format_units(units: int, scale: int) -> str:
    """Decimal string with the currency's full precision, e.g. ``"10.500000"``."""
    return f"{from_units(units, scale):.{scale}f}"


def canonical(amount: Decimal) -> str:
    """One spelling per value ("10", "10.0", "10.00" and "1E+1" agree), exact however many digits:
    used to compare request payloads."""
    if not amount.is_finite():
        return str(amount)  # "NaN", "Infinity": a payload of its own, never mistaken for a number
    sign, digits, exponent = _significant(amount)
    text = digits or "0"
    if not -_PLAIN_EXPONENT <= exponent <= _PLAIN_EXPONENT:
        # Far outside any amount Kassa accepts (1E+999999999 would be a billion zeros written out):
        # digits and exponent, still one spelling per value, and never equal to a plain one.
        return f"{'-' if sign else ''}{text}E{exponent}"
    if exponent >= 0:
        text += "0" * exponent
    else:
        text = text.rjust(-exponent + 1, "0")
        text = f"{text[:exponent]}.{text[exponent:]}"
    return f"-{text}" if sign else text
