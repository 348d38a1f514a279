"""Business-day calendars (QuantLib's China calendars), adjustment, and real published payment dates."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from gep.errors import InputError
from gep.finance import calendar as cal
from gep.finance.pricing import accrued_interest
from gep.finance.schedule import Bond, bond_from_dict, remaining_flows, schedule
from gep.jobs.inputs import bond as load_bond

ROOT = Path(__file__).resolve().parents[2]
IB, SSE = cal.get_calendar("CN-IB"), cal.get_calendar("sse")


def test_names_aliases_and_unknown_names():
    assert cal.get_calendar("cibm").name == "CN-IB" and cal.get_calendar("XSHE").name == "SZSE"
    with pytest.raises(InputError) as exc:
        cal.get_calendar("CN-IBX", where="b.toml, key calendar")
    line = exc.value.line()
    assert 'unknown calendar "CN-IBX"' in line and 'did you mean "CN-IB"' in line and "b.toml, key calendar" in line
    assert cal.normalize_convention("Modified Following") == cal.MODIFIED_FOLLOWING
    with pytest.raises(InputError, match="unknown business-day convention"):
        cal.normalize_convention("nearest")


def test_data_range_is_the_years_quantlib_lists():
    first, last = cal.data_range("CN-IB")
    assert first == date(2004, 1, 1) and last.month == 12 and last.day == 31 and last.year >= 2026
    assert cal.data_range("SSE") == (first, last)
    past = date(last.year + 1, 2, 1)
    with pytest.raises(InputError, match="outside the holiday data of calendar SSE"):
        SSE.adjust(past, cal.FOLLOWING)
    # opted in: weekends only past the data
    sat = past + timedelta(days=(5 - past.weekday()) % 7)
    assert SSE.adjust(sat, cal.FOLLOWING, beyond="weekends") == sat + timedelta(days=2)


def test_tiaoxiu_working_weekend_is_open_for_the_interbank_market_only():
    # Sunday 4 Feb 2024 and Sunday 18 Feb 2024: 调休 working days (State Council, 2024 holiday arrangement)
    for d in (date(2024, 2, 4), date(2024, 2, 18), date(2025, 9, 28)):
        assert d.weekday() == 6
        assert IB.is_business_day(d) and not SSE.is_business_day(d)
    # Saturday 3 Feb 2024 is an ordinary weekend: following goes to the 调休 Sunday on the interbank market
    assert IB.adjust(date(2024, 2, 3), cal.FOLLOWING) == date(2024, 2, 4)
    assert SSE.adjust(date(2024, 2, 3), cal.FOLLOWING) == date(2024, 2, 5)
    # Spring Festival 2024: 10-17 Feb closed; the exchanges also closed on the eve, Friday 9 Feb
    assert not SSE.is_business_day(date(2024, 2, 9)) and IB.is_business_day(date(2024, 2, 9))
    assert SSE.adjust(date(2024, 2, 10), cal.FOLLOWING) == date(2024, 2, 19)
    assert IB.adjust(date(2024, 2, 10), cal.FOLLOWING) == date(2024, 2, 18)


def test_conventions():
    # National Day 2024: 1-7 Oct closed, Saturday 12 Oct a 调休 working day
    assert SSE.adjust(date(2024, 10, 1), cal.FOLLOWING) == date(2024, 10, 8)
    assert SSE.adjust(date(2024, 10, 1), cal.PRECEDING) == date(2024, 9, 30)
    assert SSE.adjust(date(2024, 10, 1), cal.UNADJUSTED) == date(2024, 10, 1)
    # Saturday 31 May 2025 + Dragon Boat Monday 2 Jun: following leaves May, modified following does not
    assert SSE.adjust(date(2025, 5, 31), cal.FOLLOWING) == date(2025, 6, 3)
    assert SSE.adjust(date(2025, 5, 31), cal.MODIFIED_FOLLOWING) == date(2025, 5, 30)


def test_quantlib_agrees_with_the_state_council_arrangement_in_chinesecalendar():
    """An independent source: the chinesecalendar package (State Council holiday notices, 2004-2026).

    From 2008 the interbank calendar matches it day for day; the SSE calendar differs on
    2024-02-09 only (the exchanges closed on Spring Festival eve, a working day by the notice).
    """
    chinese_calendar = pytest.importorskip("chinese_calendar")
    holidays, workdays = chinese_calendar.constants.holidays, chinese_calendar.constants.workdays
    d, ib_diff, sse_diff = date(2008, 1, 1), [], []
    while d <= date(2026, 12, 31):
        open_by_notice = d.weekday() < 5 and d not in holidays
        if (open_by_notice or d in workdays) != IB.is_business_day(d):
            ib_diff.append(d)
        if open_by_notice != SSE.is_business_day(d):
            sse_diff.append(d)
        d += timedelta(days=1)
    assert ib_diff == []
    assert sse_diff == [date(2024, 2, 9)]


def test_real_bond_22_hongzheng_03_dragon_boat_festival():
    """185873.SH: coupon date Monday 10 June 2024 (Dragon Boat Festival) paid on 11 June 2024.

    Published in the issuer's 2024 coupon announcement (南昌市政公用投资控股有限责任公司, 3 June 2024,
    SSE): interest period 2023-06-10 to 2024-06-09, record date 2024-06-07, payment 2024-06-11.
    """
    b = load_bond(ROOT / "scenarios" / "bonds" / "exchange_hongzheng03.toml")
    s = schedule(b)
    k = s.end.index(date(2024, 6, 10))
    assert s.payment[k] == date(2024, 6, 11)
    assert s.start[k] == date(2023, 6, 10)  # the announced interest period starts on the theoretical date
    assert s.coupon[k] == pytest.approx(0.0344 * 1e9)  # no interest for the postponed day
    assert s.payment[0] == date(2023, 6, 12)  # Saturday 10 June 2023 -> Monday
    # accrual restarts on the theoretical date: one day accrued on 11 June 2024
    assert accrued_interest(b, date(2024, 6, 11)) == pytest.approx(3.44 / 365, rel=1e-15)
    assert remaining_flows(b, date(2024, 6, 11)).dates[0] == date(2025, 6, 10)


def _bond(**extra):
    data = {"face": 100, "coupon_rate": 0.0344, "frequency": 1, "issue_date": date(2022, 6, 10),
            "maturity_date": date(2026, 6, 10), "day_count": "ACT/ACT-ICMA"}
    return bond_from_dict({**data, **extra}, source="b.toml")


def test_adjusted_accrual_moves_the_accrual_period_ends():
    unadj = schedule(_bond(calendar="SSE"))
    adj = schedule(_bond(calendar="SSE", accrual="adjusted"))
    assert unadj.payment == adj.payment == adj.end
    k = unadj.end.index(date(2024, 6, 10))
    assert adj.start[k + 1] == date(2024, 6, 11)
    # ACT/ACT-ICMA pays c/f per regular period either way; accrued interest differs by one day
    assert accrued_interest(_bond(calendar="SSE"), date(2024, 6, 11)) == pytest.approx(3.44 / 365, rel=1e-12)
    assert accrued_interest(_bond(calendar="SSE", accrual="adjusted"), date(2024, 6, 11)) == 0.0


def test_calendar_keys_are_validated():
    with pytest.raises(InputError, match="needs a calendar"):
        _bond(business_day_convention="following")
    with pytest.raises(InputError, match='unknown calendar "NYSE"'):
        _bond(calendar="NYSE")
    with pytest.raises(InputError, match="accrual must be"):
        _bond(calendar="SSE", accrual="sometimes")
    with pytest.raises(InputError, match="unknown discount_exponent"):
        _bond(discount_exponent="d/365")
    b = _bond(calendar="cn-ib", business_day_convention="Modified-Following")
    assert (b.calendar, b.business_day_convention) == ("CN-IB", cal.MODIFIED_FOLLOWING)
    assert Bond(face=100, coupon_rate=0.03, frequency=1, issue_date=date(2022, 1, 1),
                maturity_date=date(2024, 1, 1)).business_day_convention == cal.UNADJUSTED


def test_discount_exponent_both_forms_by_hand():
    # 3 % semiannual exchange bond, coupons 10 Mar / 10 Sep, ACT/365-NL; settle 1 Mar 2024.
    # d = 9 days to 10 Mar; the period 10 Sep 2023 -> 10 Mar 2024 has 182 days, 181 without 29 Feb.
    data = {"face": 100, "coupon_rate": 0.03, "frequency": 2, "issue_date": date(2023, 9, 10),
            "maturity_date": date(2026, 9, 10), "day_count": "ACT/365-NL"}
    fixed = bond_from_dict(data)
    assert fixed.discount_exponent == "fixed_year"
    assert remaining_flows(fixed, date(2024, 3, 1)).periods[0] == pytest.approx(9 / (365 / 2), rel=1e-15)
    period = bond_from_dict({**data, "discount_exponent": "actual_period"})
    fl = remaining_flows(period, date(2024, 3, 1))
    assert fl.periods[0] == pytest.approx(9 / 181, rel=1e-15)
    assert fl.periods[1] == pytest.approx(1 + 9 / 181, rel=1e-15)
    # the interbank default is d/TS; "fixed_year" on ACT/ACT-ICMA is f·d/365 with actual days
    icma = bond_from_dict({**data, "day_count": "ACT/ACT-ICMA"})
    assert remaining_flows(icma, date(2024, 3, 1)).periods[0] == pytest.approx(9 / 182, rel=1e-15)
    icma_fixed = bond_from_dict({**data, "day_count": "ACT/ACT-ICMA", "discount_exponent": "fixed_year"})
    assert remaining_flows(icma_fixed, date(2024, 3, 1)).periods[0] == pytest.approx(2 * 9 / 365, rel=1e-15)
