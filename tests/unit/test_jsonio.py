"""JSON with exact numbers: Decimal in, the same digits out, never a float on the way."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kassa import jsonio

# --- loads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "0.1",
        "12345678.123456",
        "0.000001",
        "-5.10",
        "1.5000000",
        "1e5",
        "1E-7",
        "0.30000000000000000000000000000000001",
    ],
)
def test_loads_keeps_fractional_numbers_as_decimals_exactly_as_written(text: str) -> None:
    parsed = jsonio.loads(f'{{"amount": {text}}}')["amount"]
    assert isinstance(parsed, Decimal)
    assert parsed == Decimal(text)
    assert parsed.as_tuple() == Decimal(text).as_tuple()


def test_loads_does_not_go_through_float() -> None:
    assert jsonio.loads("0.1") == Decimal("0.1")
    assert jsonio.loads("0.1") != Decimal(float("0.1"))  # what a float on the way would have made of it


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10", 10), ("-3", -3), ("0", 0), ("123456789012345678901234567890", 123456789012345678901234567890)],
)
def test_loads_keeps_integers_as_int(text: str, expected: int) -> None:
    parsed = jsonio.loads(text)
    assert type(parsed) is int
    assert parsed == expected


def test_loads_accepts_bytes() -> None:
    assert jsonio.loads(b'{"a": [1, 2.50, "x"]}') == {"a": [1, Decimal("2.50"), "x"]}


@pytest.mark.parametrize(
    "text", ["NaN", "Infinity", "-Infinity", '{"amount": NaN}', '{"amount": Infinity}', "[1, -Infinity]"]
)
def test_loads_refuses_nan_and_infinity(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonio.loads(text)


@pytest.mark.parametrize("text", ["", "{", "01", "1.", ".5", "[1,]", "{'a': 1}"])
def test_loads_refuses_malformed_json(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonio.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 1e1000000000000000000}',  # beyond Decimal's exponent range: InvalidOperation
        "[1.5E+1000000000000000000]",
        b'{"x": 1e1000000000000000000}',
    ],
)
def test_loads_refuses_numbers_beyond_decimals_range(text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonio.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"uuid": "\\ud800"}',  # a lone high surrogate escape
        '{"uuid": "a\\udc00b"}',  # a lone low one
        '{"\\ud800": 1}',  # in a key
        '[["x", "\\udfff"]]',
        b'{"uuid": "\\ud800"}',
        '{"uuid": "\ud800"}',  # already decoded text holding a surrogate
    ],
)
def test_loads_refuses_strings_that_are_not_unicode_text(text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError, match="surrogate"):
        jsonio.loads(text)


def test_loads_keeps_a_surrogate_pair_escape_as_its_character() -> None:
    assert jsonio.loads('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


# --- dumps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("12345678.123456"), "12345678.123456"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("-5.10"), "-5.10"),
        (Decimal("10"), "10"),
        (Decimal("0"), "0"),
        (Decimal("0.1"), "0.1"),
        (Decimal("1E+2"), "100"),
        (Decimal("1E-6"), "0.000001"),
        (Decimal("1000000000000.000000"), "1000000000000.000000"),
    ],
)
def test_dumps_writes_decimals_as_raw_json_numbers_digit_for_digit(amount: Decimal, text: str) -> None:
    assert jsonio.dumps({"amount": amount}) == f'{{"amount":{text}}}'


def test_dumps_output_is_valid_json_with_the_same_numbers() -> None:
    value = {"balance": Decimal("10.500000"), "items": [Decimal("-0.000001"), 3, "EUR"], "nested": {"x": None}}
    written = jsonio.dumps(value)
    assert json.loads(written, parse_float=Decimal) == value
    assert "10.500000" in written
    assert '"10.500000"' not in written


def test_dumps_writes_tuples_as_arrays() -> None:
    assert jsonio.dumps((Decimal("1.5"), 2)) == "[1.5,2]"


@pytest.mark.parametrize(
    "text",
    ["12345678.123456", "0123456789abcdef1.5", "deadbeefdeadbeef-5.10", "0000000000000000" + "7", "-1", "1.5"],
)
def test_dumps_keeps_a_string_that_looks_like_a_number_or_a_marker_as_a_string(text: str) -> None:
    assert jsonio.loads(jsonio.dumps({"note": text, "amount": Decimal("1.5")})) == {
        "note": text,
        "amount": Decimal("1.5"),
    }


def test_dumps_uses_a_fresh_marker_so_a_forged_marker_string_stays_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    markers = iter(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"])
    monkeypatch.setattr(jsonio.secrets, "token_hex", lambda _n: next(markers))
    first = jsonio.dumps({"amount": Decimal("2.5")})
    assert first == '{"amount":2.5}'
    # A string carrying the marker of an earlier call is just text to a later call.
    assert jsonio.loads(jsonio.dumps({"note": "aaaaaaaaaaaaaaaa2.5"})) == {"note": "aaaaaaaaaaaaaaaa2.5"}


def test_dumps_leaves_non_ascii_text_readable() -> None:
    assert jsonio.dumps({"name": "Zoë €"}) == '{"name":"Zoë €"}'


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_dumps_refuses_non_finite_decimals(amount: str) -> None:
    with pytest.raises(ValueError):
        jsonio.dumps({"amount": Decimal(amount)})


def test_dumps_never_writes_floats_for_decimals() -> None:
    written = jsonio.dumps([Decimal("0.1"), Decimal("0.2")])
    assert written == "[0.1,0.2]"


# --- round trip --------------------------------------------------------------------------------

finite_decimals = st.decimals(
    allow_nan=False,
    allow_infinity=False,
    places=6,
    min_value=Decimal("-1000000000000"),
    max_value=Decimal("1000000000000"),
)
fractional_decimals = st.integers(-(10**18), 10**18).flatmap(
    lambda units: st.integers(1, 6).map(lambda places: Decimal(units).scaleb(-places))
)
scalars = st.one_of(
    finite_decimals, fractional_decimals, st.integers(-(10**20), 10**20), st.text(max_size=12), st.booleans(), st.none()
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _same_exact(written: Any, read: Any) -> None:
    """Equal values, and every fractional Decimal with the very digits it was written with."""
    if isinstance(written, dict):
        assert isinstance(read, dict) and read.keys() == written.keys()
        for key in written:
            _same_exact(written[key], read[key])
    elif isinstance(written, list):
        assert isinstance(read, list) and len(read) == len(written)
        for item_written, item_read in zip(written, read, strict=True):
            _same_exact(item_written, item_read)
    elif isinstance(written, Decimal):
        assert read == written
        if int(written.as_tuple().exponent) < 0:
            # Written with a fractional part: read back as a Decimal with the same digits and exponent.
            assert isinstance(read, Decimal)
            assert format(read, "f") == format(written, "f")
        else:
            # Integral Decimals are written as JSON integers and come back as int, equal in value.
            assert isinstance(read, int)
    else:
        assert type(read) is type(written)
        assert read == written


@settings(max_examples=200, deadline=None)
@given(documents)
def test_dumps_then_loads_round_trips_exactly(document: Any) -> None:
    _same_exact(document, jsonio.loads(jsonio.dumps(document)))


@settings(max_examples=200, deadline=None)
@given(documents)
def test_dumps_agrees_with_the_standard_parser(document: Any) -> None:
    # Whatever dumps writes is plain JSON: the standard library reads it to the same values.
    assert json.loads(jsonio.dumps(document), parse_float=Decimal) == jsonio.loads(jsonio.dumps(document))
