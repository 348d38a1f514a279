"""The bounded number parser (gep.numbers): checked on the string, exact, one GepError for anything else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from gep.errors import GepError, InputError
from gep.ledger.errors import InvalidRequest
from gep.numbers import json_int, parse_decimal, parse_int, split_number


@pytest.mark.parametrize("text,value,rest", [("1.5 t", Decimal("1.5"), "t"), ("250", Decimal(250), ""), ("-3.2e-5 kg", Decimal("-3.2e-5"), "kg"),
                                             (".5", Decimal("0.5"), ""), ("5.", Decimal(5), ""), ("1e40", Decimal("1e40"), ""),
                                             ("0.000000001", Decimal("1e-9"), ""), ("  7 t/yr ", Decimal(7), "t/yr")])
def test_split_number(text, value, rest):
    assert split_number(text) == (value, rest)


@pytest.mark.parametrize("text,words", [("1e9999999 t", "exponent of 7 digits"), ("1e99999999", "exponent of 8 digits"),
                                        ("9" * 5000, "longer than 200"), ("1e1000000", "exponent of 7 digits"), ("1e41", "out of range"),
                                        ("0.1e42", "out of range"), ("1e-41", "out of range"), ("9" * 41, "41 significant digits"),
                                        ("", "not a number"), ("e5", "not a number"), ("abc", "not a number"), ("1.5.5", "not a number")])
def test_refusals_name_the_problem(text, words):
    with pytest.raises(InputError, match=words):
        parse_decimal(text, "amount")


def test_leading_zeros_do_not_count_and_limits_are_adjustable():
    assert parse_decimal("0" * 150 + "1") == 1
    assert parse_decimal("1e6", max_exponent=6) == Decimal("1e6")
    with pytest.raises(InvalidRequest):
        parse_decimal("1e7", max_exponent=6, error=InvalidRequest)


def test_integers():
    assert parse_int(" 42 ") == 42 and parse_int("-7") == -7 and json_int("12345678901234567890") == 12345678901234567890
    for bad in ("1.0", "1e3", "", "x", "9" * 20, "9" * 5000):
        with pytest.raises(InputError):
            parse_int(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_number_or_one_clear_error(text):
    try:
        value, rest = split_number(text)
    except GepError as exc:
        assert "\n" not in exc.line()
        return
    assert value.is_finite() and abs(value.adjusted()) <= 40 and isinstance(rest, str)


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30"), places=6))
def test_exact_for_ordinary_numbers(d):
    assert parse_decimal(str(d)) == d
