"""Bond schedule, yield <-> price, accrued interest and risk measures.

Hand-worked numbers follow the CCDC convention: PV = sum CF/(1+y/f)^(d/TS+i),
final period PV = FV/(1+y*D/365); ACT/ACT-ICMA accrual c/f * d/TS.
"""

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gep.errors import InputError
from gep.finance import daycount as dc
from gep.finance.pricing import (
    accrued_interest,
    analytics,
    analytics_from_price,
    clean_price,
    dirty_price,
    dirty_prices,
    yield_from_price,
)
from gep.finance.schedule import Bond, bond_from_dict, remaining_flows, schedule

# 3-year 5 % annual bond, 15 Mar 2022 -> 15 Mar 2025 (the final year has 365 days)
B3 = Bond(face=100, coupon_rate=0.05, frequency=1, issue_date=date(2022, 3, 15),
          maturity_date=date(2025, 3, 15), day_count="ACT/ACT-ICMA")


def test_par_bond_on_coupon_date_is_100():
    assert dirty_price(B3, date(2022, 3, 15), 0.05) == pytest.approx(100.0, abs=1e-12)
    assert dirty_price(B3, date(2023, 3, 15), 0.05) == pytest.approx(100.0, abs=1e-12)
    # final period, 365 days: 105 / (1 + 0.05 * 365/365) = 100
    assert dirty_price(B3, date(2024, 3, 15), 0.05) == pytest.approx(100.0, abs=1e-12)
    assert accrued_interest(B3, date(2023, 3, 15)) == 0.0


def test_act_act_accrued_by_hand():
    # 15 Mar -> 15 Sep 2022 = 184 days of a 365-day period: 5 * 184/365
    assert accrued_interest(B3, date(2022, 9, 15)) == pytest.approx(5 * 184 / 365, abs=1e-12)
    assert 5 * 184 / 365 == pytest.approx(2.5205479452, abs=1e-10)
    # semiannual 3 %: period 10 Jan -> 10 Jul 2024 has 31+29+31+30+31+30 = 182 days;
    # 10 Jan -> 1 Apr = 21+29+31+1 = 82 days: 1.5 * 82/182
    b = Bond(face=100, coupon_rate=0.03, frequency=2, issue_date=date(2023, 7, 10),
             maturity_date=date(2026, 7, 10), day_count="ACT/ACT-ICMA")
    assert accrued_interest(b, date(2024, 4, 1)) == pytest.approx(1.5 * 82 / 182, abs=1e-12)
    assert 1.5 * 82 / 182 == pytest.approx(0.675824176, abs=1e-9)


def test_ccdc_formula_mid_period_by_hand():
    # settle 15 Sep 2022: d = 181 days to 15 Mar 2023, TS = 365, w = 181/365, y = 4 %
    w = 181 / 365
    hand = 5 / 1.04 ** w + 5 / 1.04 ** (w + 1) + 105 / 1.04 ** (w + 2)
    assert hand == pytest.approx(104.827333752, abs=1e-9)
    assert dirty_price(B3, date(2022, 9, 15), 0.04) == pytest.approx(hand, abs=1e-12)
    assert clean_price(B3, date(2022, 9, 15), 0.04) == pytest.approx(hand - 5 * 184 / 365,
                                                                     abs=1e-12)


def test_final_period_simple_yield_by_hand():
    # 4 % annual, maturity 15 Mar 2026, settle 15 Sep 2025: D = 15+31+30+31+31+28+15 = 181,
    # FV = 104, y = 3 %: 104 / (1 + 0.03 * 181/365)
    b = Bond(face=100, coupon_rate=0.04, frequency=1, issue_date=date(2023, 3, 15),
             maturity_date=date(2026, 3, 15), day_count="ACT/ACT-ICMA")
    settle = date(2025, 9, 15)
    fl = remaining_flows(b, settle)
    assert fl.final_period
    assert fl.simple_years == 181 / 365  # TY: 15 Mar 2025 -> 15 Mar 2026 = 365 days
    assert fl.year_days == 365
    assert dirty_price(b, settle, 0.03) == pytest.approx(104 / (1 + 0.03 * 181 / 365), abs=1e-12)
    assert 104 / (1 + 0.03 * 181 / 365) == pytest.approx(102.475501444, abs=1e-9)
    # accrued: 15 Mar -> 15 Sep 2025 = 184 of 365 days
    assert accrued_interest(b, settle) == pytest.approx(4 * 184 / 365, abs=1e-12)
    a = analytics(b, settle, 0.03)
    T = 181 / 365
    assert a.macaulay_duration == pytest.approx(T)
    assert a.modified_duration == pytest.approx(T / (1 + 0.03 * T))
    assert a.convexity == pytest.approx(2 * T * T / (1 + 0.03 * T) ** 2)
    assert yield_from_price(b, settle, a.clean_price) == pytest.approx(0.03, abs=1e-12)


def test_exchange_bond_act_365_nl_by_hand():
    # 3 % semiannual exchange bond, coupons 10 Mar / 10 Sep, ACT/365-NL.
    b = Bond(face=100, coupon_rate=0.03, frequency=2, issue_date=date(2023, 9, 10),
             maturity_date=date(2026, 9, 10), day_count="ACT/365-NL")
    settle = date(2024, 3, 1)
    # 10 Sep 2023 -> 1 Mar 2024: 20+31+30+31+31+29+1 = 173 days, minus 29 Feb = 172
    assert accrued_interest(b, settle) == pytest.approx(100 * 0.03 * 172 / 365, abs=1e-12)
    fl = remaining_flows(b, settle)
    # w = 9 days / (365/2); later flows w + i
    assert fl.periods[0] == pytest.approx(18 / 365)
    assert np.allclose(np.diff(fl.periods), 1.0)
    y = 0.025
    hand = sum(1.5 / (1 + y / 2) ** (18 / 365 + i) for i in range(5)) + 101.5 / (
        1 + y / 2) ** (18 / 365 + 5)
    assert dirty_price(b, settle, y) == pytest.approx(hand, abs=1e-12)


def test_zero_coupon_bond():
    b = bond_from_dict({"face": 100, "coupon_rate": 0, "issue_date": date(2025, 1, 15),
                        "maturity_date": date(2027, 1, 15), "day_count": "ACT/ACT-ICMA"})
    assert b.frequency == 1 and b.is_zero_coupon
    # 1 Jul 2025: d = 198 days to 15 Jan 2026 of TS = 365: 100 / 1.016^(198/365 + 1)
    assert dirty_price(b, date(2025, 7, 1), 0.016) == pytest.approx(
        100 / 1.016 ** (198 / 365 + 1), abs=1e-12)
    assert accrued_interest(b, date(2025, 7, 1)) == 0.0
    # within the last year: simple yield, 1 Jul 2026 -> 15 Jan 2027 = 198 days
    assert dirty_price(b, date(2026, 7, 1), 0.016) == pytest.approx(
        100 / (1 + 0.016 * 198 / 365), abs=1e-12)


def test_amortising_bond_coupons_on_outstanding_and_per_100():
    b = Bond(face=1000, coupon_rate=0.05, frequency=1, issue_date=date(2020, 1, 1),
             maturity_date=date(2023, 1, 1), day_count="ACT/ACT-ICMA",
             amortization=((date(2022, 1, 1), 500.0),))
    s = schedule(b)
    assert np.allclose(s.coupon, [50, 50, 25])
    assert np.allclose(s.principal, [0, 500, 500])
    assert np.allclose(s.outstanding, [1000, 1000, 500])
    # 1 Jan 2021 at 5 %: 550/1.05 + 525/1.05^2 = 523.8095 + 476.1905 = 1000 -> 100 per 100
    a = analytics(b, date(2021, 1, 1), 0.05)
    assert a.dirty_price == pytest.approx(100.0, abs=1e-12)
    assert a.values()["dirty_value"] == pytest.approx(1000.0, abs=1e-9)
    # after the repayment only 500 is outstanding; 2022 has 365 days: 525/1.05 = 500
    a2 = analytics(b, date(2022, 1, 1), 0.05)
    assert a2.outstanding == 500.0
    assert a2.dirty_price == pytest.approx(100.0, abs=1e-12)
    assert a2.values()["dirty_value"] == pytest.approx(500.0, abs=1e-9)


def test_first_coupon_date_short_and_long_stub():
    common = dict(face=100, coupon_rate=0.05, frequency=1, issue_date=date(2024, 1, 15),
                  maturity_date=date(2027, 6, 15), day_count="ACT/ACT-ICMA")
    short = schedule(Bond(**common))
    # 15 Jan -> 15 Jun 2024 = 152 days of the 366-day period 15 Jun 2023 -> 15 Jun 2024
    assert short.end[0] == date(2024, 6, 15)
    assert short.coupon[0] == pytest.approx(5 * 152 / 366)
    long = schedule(Bond(**common, first_coupon_date=date(2025, 6, 15)))
    assert long.end[0] == date(2025, 6, 15)
    assert long.fraction[0] == pytest.approx(1 + 152 / 366)
    assert long.coupon[0] == pytest.approx(5 * (1 + 152 / 366))
    # accrued inside the long stub on 15 Jun 2024 = one notional part: 5 * 152/366
    assert accrued_interest(Bond(**common, first_coupon_date=date(2025, 6, 15)),
                            date(2024, 6, 15)) == pytest.approx(5 * 152 / 366)


def test_vectorised_over_yields_and_bonds():
    ys = np.array([0.01, 0.03, 0.05])
    vec = dirty_price(B3, date(2022, 9, 15), ys)
    assert vec.shape == (3,)
    assert np.allclose(vec, [dirty_price(B3, date(2022, 9, 15), y) for y in ys], rtol=0,
                       atol=1e-12)
    b2 = Bond(face=100, coupon_rate=0.03, frequency=2, issue_date=date(2022, 1, 10),
              maturity_date=date(2032, 1, 10), day_count="ACT/365-NL")
    grid = dirty_prices([B3, b2], date(2022, 9, 15), np.array([[0.02, 0.03], [0.04, 0.05]]))
    assert grid.shape == (2, 2)
    assert grid[1, 1] == pytest.approx(dirty_price(b2, date(2022, 9, 15), 0.05), abs=1e-12)
    assert grid[0, 0] == pytest.approx(dirty_price(B3, date(2022, 9, 15), 0.02), abs=1e-12)
    prices = clean_price(B3, date(2022, 9, 15), ys)
    assert np.allclose(yield_from_price(B3, date(2022, 9, 15), prices), ys, atol=1e-12)


def test_error_paths():
    with pytest.raises(InputError, match="on or after maturity_date"):
        dirty_price(B3, date(2025, 3, 15), 0.05)
    with pytest.raises(InputError, match="before issue_date"):
        dirty_price(B3, date(2022, 3, 14), 0.05)
    with pytest.raises(InputError, match="price must be positive"):
        yield_from_price(B3, date(2022, 9, 15), -1.0)
    with pytest.raises(InputError, match="coupon_rate"):
        Bond(face=100, coupon_rate=3.5, frequency=1, issue_date=date(2022, 1, 1),
             maturity_date=date(2025, 1, 1))
    with pytest.raises(InputError, match="frequency"):
        Bond(face=100, coupon_rate=0.03, frequency=3, issue_date=date(2022, 1, 1),
             maturity_date=date(2025, 1, 1))
    with pytest.raises(InputError, match="not a coupon date"):
        Bond(face=100, coupon_rate=0.03, frequency=1, issue_date=date(2022, 1, 1),
             maturity_date=date(2025, 1, 1), amortization=((date(2023, 6, 1), 10.0),))
    with pytest.raises(InputError, match="more than the face"):
        Bond(face=100, coupon_rate=0.03, frequency=1, issue_date=date(2022, 1, 1),
             maturity_date=date(2025, 1, 1), amortization=((date(2023, 1, 1), 60.0),
                                                           (date(2024, 1, 1), 60.0)))
    with pytest.raises(InputError, match="first_coupon_date"):
        Bond(face=100, coupon_rate=0.03, frequency=2, issue_date=date(2022, 1, 1),
             maturity_date=date(2025, 1, 1), first_coupon_date=date(2022, 5, 1))
    with pytest.raises(InputError, match="yield"):
        analytics(B3, date(2022, 9, 15), -1.5)


def test_bond_from_dict_errors_name_key():
    base = {"face": 100, "coupon_rate": 0.03, "frequency": 1, "issue_date": "2022-01-01",
            "maturity_date": "2025-01-01", "day_count": "ACT/ACT-ICMA"}
    assert bond_from_dict(base, "x.toml").issue_date == date(2022, 1, 1)
    with pytest.raises(InputError) as exc:
        bond_from_dict({k: v for k, v in base.items() if k != "maturity_date"}, "x.toml")
    assert exc.value.where == "x.toml, key maturity_date"
    with pytest.raises(InputError, match='did you mean "coupon_rate"'):
        bond_from_dict({**base, "coupon_rte": 0.03}, "x.toml")
    with pytest.raises(InputError, match="frequency"):
        bond_from_dict({k: v for k, v in base.items() if k != "frequency"}, "x.toml")


# --------------------------------------------------------------------------- properties

@st.composite
def bonds_and_settle(draw):
    issue = draw(st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)))
    freq = draw(st.sampled_from([1, 2, 4]))
    months = draw(st.integers(min_value=3, max_value=15 * 12))
    maturity = dc.add_months(issue, months)
    assume(maturity > issue + timedelta(days=10))
    bond = Bond(face=draw(st.sampled_from([100.0, 1e6])),
                coupon_rate=draw(st.floats(min_value=0.0, max_value=0.12)),
                frequency=freq, issue_date=issue, maturity_date=maturity,
                day_count=draw(st.sampled_from(dc.DAY_COUNTS)))
    span = (maturity - issue).days
    settle = issue + timedelta(days=draw(st.integers(min_value=0, max_value=span - 2)))
    assume(remaining_flows(bond, settle).simple_years > 0)
    return bond, settle


_yields = st.floats(min_value=-0.005, max_value=0.25)


@settings(max_examples=60, deadline=None)
@given(bonds_and_settle(), _yields, _yields)
def test_price_decreasing_in_yield(bs, y1, y2):
    bond, settle = bs
    assume(abs(y1 - y2) > 1e-6)
    lo, hi = min(y1, y2), max(y1, y2)
    assert dirty_price(bond, settle, lo) > dirty_price(bond, settle, hi)


@settings(max_examples=60, deadline=None)
@given(bonds_and_settle(), _yields)
def test_yield_of_price_roundtrip(bs, y):
    bond, settle = bs
    p = clean_price(bond, settle, y)
    assert yield_from_price(bond, settle, p) == pytest.approx(y, abs=1e-9)
    a = analytics_from_price(bond, settle, dirty_price(bond, settle, y), clean=False)
    assert a.yield_to_maturity == pytest.approx(y, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(bonds_and_settle(), _yields)
def test_clean_is_dirty_minus_accrued_and_dv01(bs, y):
    bond, settle = bs
    a = analytics(bond, settle, y)
    assert a.clean_price == pytest.approx(a.dirty_price - a.accrued_interest, abs=1e-12)
    assert a.accrued_interest >= 0
    # DV01 (central difference) ~ modified duration * dirty price * 1 bp
    assert a.dv01 == pytest.approx(a.modified_duration * a.dirty_price * 1e-4, rel=1e-6)
    assert a.modified_duration <= a.macaulay_duration + 1e-12 or y < 0
    assert a.convexity > 0
