"""Exact money: decimal text in, integer units inside, never a float and never a rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kassa.errors import InvalidAmount, InvalidRequest
from kassa.money import (
    CURRENCY_PATTERN,
    DEFAULT_SCALE,
    MAX_AMOUNT,
    canonical,
    format_units,
    from_units,
    parse_decimal_text,
    to_units,
)

SCALE = DEFAULT_SCALE
MAX_UNITS = int(MAX_AMOUNT) * 10**SCALE


# --- parse_decimal_text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", Decimal("10")),
        ("10.50", Decimal("10.50")),
        ("-3.2", Decimal("-3.2")),
        ("0", Decimal("0")),
        ("0.000001", Decimal("0.000001")),
        ("12345678.123456", Decimal("12345678.123456")),
    ],
)
def test_parse_decimal_text_accepts_plain_decimals(text: str, expected: Decimal) -> None:
    parsed = parse_decimal_text(text)
    assert parsed == expected
    # Exactly as written: same digits and same exponent, never through float.
    assert str(parsed) == text
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    "text",
    [
        "1e5",
        "1E5",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "sNaN",
        " 1",
        "1 ",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "-.5",
        "",
        "-",
        "+1",
        "1,5",
        "1.2.3",
        "0x10",
        "1_000",
        "\u0661",
    ],  # the last: ARABIC-INDIC DIGIT ONE
)
def test_parse_decimal_text_refuses_anything_but_plain_decimal_text(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_decimal_text(text)


@pytest.mark.parametrize("value", [10, 10.5, Decimal("10"), None, b"10", ["10"]])
def test_parse_decimal_text_refuses_values_that_are_not_strings(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_decimal_text(value)


def test_invalid_amount_is_an_invalid_request_with_a_stable_code() -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_decimal_text("1e5")
    assert raised.value.code == "invalid_request"


# --- to_units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "units"),
    [
        ("0", 0),
        ("1", 1_000_000),
        ("10.50", 10_500_000),
        ("0.000001", 1),
        ("-3.2", -3_200_000),
        ("12345678.123456", 12_345_678_123_456),
        ("99999999.999999", 99_999_999_999_999),
        ("1.5000000", 1_500_000),
        ("1.500000000000000000", 1_500_000),
        ("1E+1", 10_000_000),
        ("0E-12", 0),
        ("1000000000000", MAX_UNITS),
        ("-1000000000000", -MAX_UNITS),
    ],
)
def test_to_units_is_exact(amount: str, units: int) -> None:
    assert to_units(Decimal(amount), SCALE) == units


@pytest.mark.parametrize("amount", ["0.0000001", "1.0000001", "12345678.1234567", "-0.0000001", "1E-7"])
def test_to_units_refuses_more_decimals_than_the_scale(amount: str) -> None:
    with pytest.raises(InvalidAmount):
        to_units(Decimal(amount), SCALE)


@pytest.mark.parametrize(
    "amount",
    [
        # More significant digits than Decimal's default 28-digit context: must be refused, not rounded.
        "10000000000.000000000000000001",  # accepted by the native API's DecimalString pattern
        "0.1000000000000000000000000000001",
        "1.0000000000000000000000000001",
        "999999999999.99999999999999999",
        "1000000000000.0000000000000000001",
    ],
)
def test_to_units_refuses_extra_decimals_even_beyond_28_significant_digits(amount: str) -> None:
    with pytest.raises(InvalidAmount):
        to_units(Decimal(amount), SCALE)


@pytest.mark.parametrize(
    "amount",
    [
        "1000000000000.000001",
        "1000000000001",
        "-1000000000000.000001",
        "1E+13",
        # beyond the default context's Emax (abs() would raise decimal.Overflow) and near Decimal's limit
        "1E+1000000",
        "-1E+1000000",
        "9999999999999E+999988",
        "1E+999999999999999999",
    ],
)
def test_to_units_refuses_amounts_above_max_amount(amount: str) -> None:
    with pytest.raises(InvalidAmount):
        to_units(Decimal(amount), SCALE)


@pytest.mark.parametrize("amount", ["1E-1000000", "-1E-999999999999999999"])
def test_to_units_refuses_amounts_far_below_one_unit(amount: str) -> None:
    with pytest.raises(InvalidAmount, match="decimal places"):
        to_units(Decimal(amount), SCALE)


@pytest.mark.parametrize("amount", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"])
def test_to_units_refuses_non_finite_decimals(amount: str) -> None:
    with pytest.raises(InvalidAmount):
        to_units(Decimal(amount), SCALE)


@pytest.mark.parametrize("amount", [10, 10.5, "10", None])
def test_to_units_refuses_values_that_are_not_decimals(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        to_units(amount, SCALE)


def test_to_units_honours_another_scale() -> None:
    assert to_units(Decimal("10.50"), 2) == 1050
    assert to_units(Decimal("7"), 0) == 7
    with pytest.raises(InvalidAmount):
        to_units(Decimal("10.505"), 2)


# A decimal with up to `places` fractional digits, within MAX_AMOUNT.
def decimals(places: int = SCALE, bound: int = MAX_UNITS) -> st.SearchStrategy[Decimal]:
    return st.integers(-bound, bound).map(lambda units: Decimal(units).scaleb(-places))


@settings(max_examples=200, deadline=None)
@given(decimals())
def test_to_units_agrees_with_exact_rational_arithmetic(amount: Decimal) -> None:
    assert to_units(amount, SCALE) == Fraction(amount) * 10**SCALE


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(0, int(MAX_AMOUNT) - 1),
    fraction=st.text("0123456789", min_size=SCALE, max_size=40),
    last=st.sampled_from("123456789"),
)
def test_to_units_never_rounds_a_digit_past_the_scale(whole: int, fraction: str, last: str) -> None:
    # A non-zero digit somewhere after the 6th decimal place: the amount is not a whole number of units.
    amount = Decimal(f"{whole}.{fraction}{last}")
    with pytest.raises(InvalidAmount):
        to_units(amount, SCALE)


# --- from_units / format_units -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0.000000"),
        (1, "0.000001"),
        (10_500_000, "10.500000"),
        (-3_200_000, "-3.200000"),
        (12_345_678_123_456, "12345678.123456"),
        (MAX_UNITS, "1000000000000.000000"),
    ],
)
def test_format_units_writes_the_full_precision(units: int, text: str) -> None:
    assert format_units(units, SCALE) == text


def test_from_units_has_exactly_scale_fractional_digits() -> None:
    value = from_units(10_500_000, SCALE)
    assert value == Decimal("10.5")
    assert value.as_tuple().exponent == -SCALE


@settings(max_examples=200, deadline=None)
@given(st.integers(-MAX_UNITS, MAX_UNITS))
def test_units_round_trip_through_from_units_and_format_units(units: int) -> None:
    assert to_units(from_units(units, SCALE), SCALE) == units
    assert to_units(parse_decimal_text(format_units(units, SCALE)), SCALE) == units


@settings(max_examples=200, deadline=None)
@given(decimals())
def test_a_parsed_amount_round_trips_to_the_same_value(amount: Decimal) -> None:
    text = format(amount, "f")
    assert from_units(to_units(parse_decimal_text(text), SCALE), SCALE) == amount


# --- canonical ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spellings",
    [
        ["10", "10.0", "10.00", "1E+1", "10.000000", "0.1E+2"],
        ["0", "0.0", "0.000000", "-0", "0E-10", "0E+3"],
        ["-3.2", "-3.20", "-32E-1"],
        ["0.000001", "1E-6", "0.0000010"],
        ["12345678.123456", "12345678.1234560"],
        ["1", "1." + "0" * 5000, "1" + "0" * 5000 + "E-5000"],  # more digits than int() takes
        ["1E+999999999999999999", "10E+999999999999999998"],  # written out, a quintillion zeros
        ["-5E-999999999999999999", "-50E-1000000000000000000"],
    ],
)
def test_canonical_gives_one_spelling_per_value(spellings: list[str]) -> None:
    assert len({canonical(Decimal(spelling)) for spelling in spellings}) == 1


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("10.00", "10"),
        ("1E+1", "10"),
        ("-0", "0"),
        ("0.50", "0.5"),
        ("1E+12", "1000000000000"),
        ("0.000001", "0.000001"),
    ],
)
def test_canonical_is_plain_decimal_text_without_exponent(amount: str, text: str) -> None:
    assert canonical(Decimal(amount)) == text


@settings(max_examples=200, deadline=None)
@given(decimals(), decimals())
def test_canonical_spellings_agree_exactly_when_values_agree(a: Decimal, b: Decimal) -> None:
    assert (canonical(a) == canonical(b)) == (a == b)


def test_canonical_tells_apart_values_that_differ_beyond_28_significant_digits() -> None:
    # Used to decide "same payload" for idempotency: two different amounts must never look the same.
    assert canonical(Decimal("1.0000000000000000000000000001")) != canonical(Decimal("1"))


# --- currency ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "valid"),
    [("EUR", True), ("USD", True), ("eur", False), ("EURO", False), ("EU", False), ("E1R", False), ("", False)],
)
def test_currency_codes_are_three_capital_letters(code: str, valid: bool) -> None:
    assert bool(CURRENCY_PATTERN.match(code)) is valid


@pytest.mark.parametrize(
    ("amount", "units"),
    [
        ("1." + "0" * 5000, 10**SCALE),
        ("0.25" + "0" * 4400, 250_000),
        ("7" + "0" * 5 + "." + "0" * 4400, 700_000 * 10**SCALE),
    ],
)
def test_to_units_takes_amounts_written_with_thousands_of_digits(amount: str, units: int) -> None:
    assert to_units(Decimal(amount), SCALE) == units


def test_to_units_refuses_thousands_of_decimals_without_converting_them() -> None:
    with pytest.raises(InvalidAmount, match="decimal places"):
        to_units(Decimal("0.5" + "0" * 4400 + "1"), SCALE)


def test_canonical_tells_apart_huge_and_plain_spellings() -> None:
    assert canonical(Decimal("1E+1001")) != canonical(Decimal("1E+1000"))
    assert canonical(Decimal("1E+1000")) == "1" + "0" * 1000
    assert canonical(Decimal("1E+1001")) == "1E1001"
