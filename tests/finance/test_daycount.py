"""Day-count conventions: hand-counted days and year fractions, and properties."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.errors import InputError
from gep.finance import daycount as dc


def test_act_365_nl_skips_29_february():
    # 28 Feb -> 1 Mar 2024: 2 actual days, one of them 29 Feb -> 1 day.
    assert dc.day_count_days(date(2024, 2, 28), date(2024, 3, 1), dc.ACT_365_NL) == 1
    # 20 Nov 2023 -> 29 Feb 2024: 10 + 31 + 31 + 29 = 101 actual, minus 29 Feb = 100.
    assert dc.day_count_days(date(2023, 11, 20), date(2024, 2, 29), dc.ACT_365_NL) == 100
    # a whole leap year counts 365 days, and the year fraction is exactly 1
    assert dc.day_count_days(date(2024, 1, 1), date(2025, 1, 1), dc.ACT_365_NL) == 365
    assert dc.year_fraction(date(2024, 1, 1), date(2025, 1, 1), dc.ACT_365_NL) == 1.0
    # 29 Feb counts as 28 Feb (QuantLib NoLeap): 29 Feb -> 1 Mar is one day
    assert dc.day_count_days(date(2024, 2, 29), date(2024, 3, 1), dc.ACT_365_NL) == 1
    # ACT/365F keeps the leap day
    assert dc.year_fraction(date(2024, 1, 1), date(2025, 1, 1), dc.ACT_365F) == 366 / 365


def test_30_360_bond_basis():
    # 31 Jan -> 31 Mar: D1 = 30, then D2 = 30: 2 * 30 = 60 days
    assert dc.day_count_days(date(2024, 1, 31), date(2024, 3, 31), dc.THIRTY_360) == 60
    # 28 Feb -> 31 Mar: D1 = 28 so D2 stays 31: 30 + 31 - 28 = 33
    assert dc.day_count_days(date(2024, 2, 28), date(2024, 3, 31), dc.THIRTY_360) == 33
    assert dc.year_fraction(date(2024, 1, 15), date(2024, 7, 15), dc.THIRTY_360) == 0.5


def test_act_360_and_icma():
    # 1 Jan -> 1 Jul 2024: 31+29+31+30+31+30 = 182 days
    assert dc.year_fraction(date(2024, 1, 1), date(2024, 7, 1), dc.ACT_360) == 182 / 360
    # ICMA: 15 Mar -> 15 Sep 2024 (184 days) inside the annual period
    # 15 Mar 2024 -> 15 Mar 2025 (365 days): 184 / (1 * 365)
    yf = dc.year_fraction(date(2024, 3, 15), date(2024, 9, 15), dc.ACT_ACT_ICMA,
                          ref_start=date(2024, 3, 15), ref_end=date(2025, 3, 15), frequency=1)
    assert yf == 184 / 365


def test_simple_year_fraction_is_d_over_ty_for_icma():
    # D = 181 days; TY the interest year's days: 365, or 366 when it holds a 29 February
    assert dc.simple_year_fraction(date(2025, 9, 15), date(2026, 3, 15), dc.ACT_ACT_ICMA, 365) == 181 / 365
    assert dc.simple_year_fraction(date(2023, 9, 15), date(2024, 3, 15), dc.ACT_ACT_ICMA, 366) == 182 / 366
    # the fixed-basis conventions keep their own basis (exchange: no-leap days / 365)
    assert dc.simple_year_fraction(date(2023, 9, 15), date(2024, 3, 15), dc.ACT_365_NL) == 181 / 365
    with pytest.raises(InputError):
        dc.simple_year_fraction(date(2025, 9, 15), date(2026, 3, 15), dc.ACT_ACT_ICMA)


def test_normalize_accepts_case_and_rejects_unknown_with_suggestion():
    assert dc.normalize_day_count(" act/act-icma ") == dc.ACT_ACT_ICMA
    with pytest.raises(InputError) as exc:
        dc.normalize_day_count("ACT/356", where="bond.toml, key day_count")
    line = exc.value.line()
    assert "bond.toml, key day_count" in line
    assert 'unknown day count "ACT/356"' in line
    for name in dc.DAY_COUNTS:
        assert name in line


def test_add_months_clips_to_month_end():
    assert dc.add_months(date(2024, 8, 31), -6) == date(2024, 2, 29)
    assert dc.add_months(date(2023, 8, 31), -6) == date(2023, 2, 28)
    assert dc.add_months(date(2024, 2, 29), 6, day=31) == date(2024, 8, 31)
    assert dc.add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_leap_days_between():
    assert dc.leap_days_between(date(2023, 1, 1), date(2029, 1, 1)) == 2  # 2024, 2028
    assert dc.leap_days_between(date(2024, 2, 29), date(2024, 3, 1)) == 0  # (start, end]
    assert dc.leap_days_between(date(1899, 12, 31), date(1900, 12, 31)) == 0  # 1900 not leap
    assert dc.leap_days_between(date(1999, 12, 31), date(2000, 12, 31)) == 1  # 2000 leap


_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=200, deadline=None)
@given(_dates, _dates, _dates, st.sampled_from(dc.DAY_COUNTS))
def test_day_counts_are_additive(a, b, c, conv):
    if conv == dc.THIRTY_360:
        return  # 30/360 is not additive across month ends by construction
    assert dc.day_count_days(a, b, conv) + dc.day_count_days(b, c, conv) == \
        dc.day_count_days(a, c, conv)


@settings(max_examples=200, deadline=None)
@given(_dates, st.integers(min_value=0, max_value=3000))
def test_no_leap_never_exceeds_actual(a, n):
    b = a + timedelta(days=n)
    nl = dc.day_count_days(a, b, dc.ACT_365_NL)
    assert n - (n // 365 + 1) <= nl <= n


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)).filter(
    lambda d: (d.month, d.day) != (2, 29)), st.integers(min_value=1, max_value=30))
def test_no_leap_whole_years_are_365_days(a, k):
    b = a.replace(year=a.year + k)
    assert dc.day_count_days(a, b, dc.ACT_365_NL) == 365 * k
