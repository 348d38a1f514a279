"""Curves: bootstrapping by hand, curve prices, Z-spread and hazard-rate prices."""

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.errors import InputError
from gep.finance.curve import (
    _par_coupon_times,
    bootstrap_par,
    curve_dirty_price,
    curve_from_dict,
    risky_dirty_price,
    z_spread,
    zero_curve,
)
from gep.finance.pricing import dirty_price
from gep.finance.schedule import Bond

D0 = date(2029, 1, 10)


def test_bootstrap_two_annual_par_yields_by_hand():
    # 1Y par 2 %: DF1 = 1/1.02.  2Y par 3 %: 0.03 DF1 + 1.03 DF2 = 1
    # DF2 = (1 - 0.03/1.02)/1.03 = 0.94231868; annual zero (1/DF2)^(1/2) - 1 = 3.01515 %
    c = bootstrap_par(D0, [1, 2], [0.02, 0.03], frequency=1)
    df1 = 1 / 1.02
    df2 = (1 - 0.03 * df1) / 1.03
    assert df2 == pytest.approx(0.9423186750, abs=1e-10)
    assert c.discount([1.0, 2.0]) == pytest.approx([df1, df2], abs=1e-14)
    assert c.zero_rate(2.0, "annual") == pytest.approx(0.0301515040, abs=1e-10)
    assert c.zero_rate(2.0, "continuous") == pytest.approx(-math.log(df2) / 2, abs=1e-14)


def test_bootstrap_semiannual_by_hand():
    # 0.5Y par 2 %: DF = 1/(1 + 0.02*0.5); 1Y par 2.2 % semiannual:
    # 0.011 DF(0.5) + 1.011 DF(1) = 1 -> DF(1) = (1 - 0.011 DF(0.5))/1.011 = 0.97834709
    c = bootstrap_par(D0, [0.5, 1], [0.02, 0.022], frequency=2)
    dfh = 1 / 1.01
    assert c.discount(0.5) == pytest.approx(dfh, abs=1e-14)
    assert c.discount(1.0) == pytest.approx((1 - 0.011 * dfh) / 1.011, abs=1e-14)
    assert (1 - 0.011 * dfh) / 1.011 == pytest.approx(0.9783470929, abs=1e-10)


def test_bootstrap_reprices_par_bonds_with_interpolated_coupons():
    tenors = [0.25, 1, 3, 5, 7.5, 10]
    pars = [0.014, 0.015, 0.017, 0.019, 0.021, 0.022]
    for f in (1, 2):
        c = bootstrap_par(D0, tenors, pars, frequency=f)
        for T, p in zip(tenors, pars):
            if T <= 1 / f:
                assert c.discount(T) * (1 + p * T) == pytest.approx(1.0, abs=1e-13)
                continue
            times, tau = _par_coupon_times(T, f)
            value = p * (tau * c.discount(times)).sum() + c.discount(T)
            assert value == pytest.approx(1.0, abs=1e-12)


def test_zero_curve_compounding_and_interpolation():
    c = zero_curve(D0, [1, 3], [0.02, 0.04], compounding="annual")
    assert c.discount(1.0) == pytest.approx(1 / 1.02, abs=1e-15)
    assert c.discount(3.0) == pytest.approx(1.04 ** -3, abs=1e-15)
    # linear in the continuous zero rate; flat outside
    assert c.zero(2.0) == pytest.approx(0.5 * (math.log(1.02) + math.log(1.04)), abs=1e-15)
    assert c.zero(0.1) == pytest.approx(math.log(1.02))
    assert c.zero(30.0) == pytest.approx(math.log(1.04))
    cc = zero_curve(D0, [1], [0.03], compounding="continuous")
    assert cc.discount(2.0) == pytest.approx(math.exp(-0.06), abs=1e-15)


def test_flat_curve_price_equals_yield_price_without_leap_years():
    # 2-year annual 4 % bond, 10 Jan 2029 -> 10 Jan 2031 (no 29 Feb): curve times 1 and 2
    # equal the ICMA periods, so a flat 3 % annual zero curve gives the price at 3 % yield:
    # 4/1.03 + 104/1.03^2
    b = Bond(face=100, coupon_rate=0.04, frequency=1, issue_date=D0,
             maturity_date=date(2031, 1, 10), day_count="ACT/ACT-ICMA")
    c = zero_curve(D0, [1, 2], [0.03, 0.03])
    hand = 4 / 1.03 + 104 / 1.03 ** 2
    assert curve_dirty_price(b, D0, c) == pytest.approx(hand, abs=1e-12)
    assert dirty_price(b, D0, 0.03) == pytest.approx(hand, abs=1e-12)


def test_z_spread_of_curve_price_and_forward_settlement():
    b = Bond(face=100, coupon_rate=0.035, frequency=2, issue_date=date(2028, 6, 1),
             maturity_date=date(2035, 6, 1), day_count="ACT/ACT-ICMA")
    c = bootstrap_par(D0, [0.5, 1, 2, 5, 10], [0.015, 0.016, 0.017, 0.02, 0.023], 2)
    settle = D0 + timedelta(days=45)
    p = curve_dirty_price(b, settle, c, spread=0.0085)
    assert z_spread(b, settle, c, p, clean=False) == pytest.approx(0.0085, abs=1e-12)
    # vectorised over spreads
    many = curve_dirty_price(b, settle, c, spread=np.array([0.0, 0.0085, 0.02]))
    assert many.shape == (3,) and many[1] == pytest.approx(p, abs=1e-12)
    assert np.all(np.diff(many) < 0)
    with pytest.raises(InputError, match="before the curve date"):
        curve_dirty_price(b, D0 - timedelta(days=1), c)


def test_hazard_rate_zero_coupon_closed_form():
    # zero-coupon bond, flat continuous zero rate r, hazard lam, recovery R of face paid at
    # default: V = 100 e^{-(r+lam)T} + R 100 lam/(r+lam) (1 - e^{-(r+lam)T})  (O'Kane ch. 3)
    b = Bond(face=100, coupon_rate=0.0, frequency=1, issue_date=D0,
             maturity_date=date(2034, 1, 10), day_count="ACT/ACT-ICMA")
    r, lam = 0.025, 0.03
    c = zero_curve(D0, [1], [r], compounding="continuous")
    T = (date(2034, 1, 10) - D0).days / 365
    k = r + lam
    assert risky_dirty_price(b, D0, c, lam, 0.0) == pytest.approx(100 * math.exp(-k * T),
                                                                  abs=1e-12)
    hand = 100 * math.exp(-k * T) + 0.4 * 100 * lam / k * (1 - math.exp(-k * T))
    assert risky_dirty_price(b, D0, c, lam, 0.4) == pytest.approx(hand, rel=1e-6)
    # recovery of face is paid at default, before maturity: with R = 100 % a discount bond is
    # worth more than risk-free (face received early), as the closed form says
    full = 100 * math.exp(-k * T) + 100 * lam / k * (1 - math.exp(-k * T))
    assert risky_dirty_price(b, D0, c, lam, 1.0) == pytest.approx(full, rel=1e-6)
    assert full > curve_dirty_price(b, D0, c)
    with pytest.raises(InputError, match="recovery"):
        risky_dirty_price(b, D0, c, lam, 1.5)
    with pytest.raises(InputError, match="hazard"):
        risky_dirty_price(b, D0, c, -0.01, 0.4)


def test_curve_from_dict_validation():
    good = {"curve_date": D0, "kind": "par", "tenors": [1, 2], "rates": [0.02, 0.03]}
    assert curve_from_dict(good, "c.toml").discount(1.0) == pytest.approx(1 / 1.02)
    with pytest.raises(InputError) as exc:
        curve_from_dict({**good, "rates": [0.02]}, "c.toml")
    assert exc.value.where == "c.toml, key rates"
    with pytest.raises(InputError, match="strictly increasing"):
        curve_from_dict({**good, "tenors": [2, 1]}, "c.toml")
    with pytest.raises(InputError, match='kind must be "par" or "zero"'):
        curve_from_dict({**good, "kind": "forward"}, "c.toml")
    with pytest.raises(InputError, match='did you mean "tenors"'):
        curve_from_dict({**good, "tenor": [1]}, "c.toml")
    with pytest.raises(InputError, match="2.5 % as 0.025"):
        curve_from_dict({**good, "rates": [2.0, 3.0]}, "c.toml")
    with pytest.raises(InputError, match='missing required key "curve_date"'):
        curve_from_dict({k: v for k, v in good.items() if k != "curve_date"}, "c.toml")


# --------------------------------------------------------------------------- properties

@st.composite
def bond_curve(draw):
    issue = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 1, 10)))
    years = draw(st.integers(min_value=1, max_value=12))
    bond = Bond(face=100, coupon_rate=draw(st.floats(min_value=0, max_value=0.08)),
                frequency=draw(st.sampled_from([1, 2, 4])), issue_date=issue,
                maturity_date=issue.replace(year=issue.year + years) if not (
                    issue.month == 2 and issue.day == 29) else date(issue.year + years, 3, 1),
                day_count=draw(st.sampled_from(["ACT/ACT-ICMA", "ACT/365-NL", "30/360"])))
    settle = D0 + timedelta(days=draw(st.integers(0, 200)))
    if settle >= bond.maturity_date:
        settle = D0
    base = draw(st.floats(min_value=0.005, max_value=0.05))
    slope = draw(st.floats(min_value=-0.002, max_value=0.003))
    tenors = [0.5, 1, 2, 3, 5, 7, 10, 15]
    curve = bootstrap_par(D0, tenors, [base + slope * t for t in tenors],
                          frequency=draw(st.sampled_from([1, 2])))
    return bond, settle, curve


@settings(max_examples=40, deadline=None)
@given(bond_curve(), st.floats(min_value=-0.01, max_value=0.05))
def test_z_spread_recovers_spread(bcs, s):
    bond, settle, curve = bcs
    if settle >= bond.maturity_date:
        return
    price = curve_dirty_price(bond, settle, curve, spread=s)
    assert z_spread(bond, settle, curve, price, clean=False) == pytest.approx(s, abs=1e-10)


@settings(max_examples=40, deadline=None)
@given(bond_curve(), st.floats(min_value=0, max_value=1), st.floats(min_value=1e-4, max_value=0.2))
def test_hazard_zero_is_risk_free_and_monotone(bcs, recovery, hazard):
    bond, settle, curve = bcs
    if settle >= bond.maturity_date:
        return
    free = curve_dirty_price(bond, settle, curve)
    assert risky_dirty_price(bond, settle, curve, 0.0, recovery) == pytest.approx(free,
                                                                                 abs=1e-12)
    # without recovery, default risk only lowers the price; recovery always raises it
    no_rec = risky_dirty_price(bond, settle, curve, hazard, 0.0)
    assert 0 < no_rec < free
    assert risky_dirty_price(bond, settle, curve, 2 * hazard, 0.0) < no_rec
    assert risky_dirty_price(bond, settle, curve, hazard, recovery) >= no_rec
