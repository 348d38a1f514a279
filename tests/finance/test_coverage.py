"""Coverage of debt service: hand-worked DSCR/LLCR, GBM moments, breach probabilities, calibration, loans."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.stats import norm

from gep.errors import InputError
from gep.finance.coverage import (
    breach_probability,
    coverage,
    debt_service,
    discount_factors,
    dscr,
    llcr,
    max_principal,
    mc_standard_error,
)
from gep.finance.loan import Loan, loan_bond
from gep.finance.revenue import (
    CreditSales,
    FixedFee,
    GovernmentPurchase,
    Periods,
    PriceModel,
    calibrate_gbm,
    daily_vwap,
    gbm_paths,
    simulate,
    stream_generator,
)
from gep.finance.schedule import Bond, schedule


def amortising_3y() -> Bond:
    """Face 1000, 5 % annual, repays 300, 300, 400: coupons 50, 35, 20; debt service 350, 335, 420."""
    return Bond(face=1000.0, coupon_rate=0.05, frequency=1, issue_date=date(2025, 1, 1),
                maturity_date=date(2028, 1, 1), day_count="ACT/ACT-ICMA",
                amortization=((date(2026, 1, 1), 300.0), (date(2027, 1, 1), 300.0)))


def test_debt_service_from_the_schedule():
    ds = debt_service(amortising_3y())
    assert ds.amount.tolist() == pytest.approx([350.0, 335.0, 420.0], abs=1e-12)
    assert ds.outstanding.tolist() == [1000.0, 700.0, 400.0]
    assert ds.periods.time.tolist() == [1.0, 2.0, 3.0] and ds.periods.years.tolist() == [1.0, 1.0, 1.0]
    # at the coupon rate the debt service is worth the principal: 350/1.05 + 335/1.05² + 420/1.05³ = 1000
    assert float(np.sum(ds.amount * discount_factors(ds, 0.05))) == pytest.approx(1000.0, rel=1e-14)


def deterministic_streams():
    # credits: 100 t/yr at P0 = 1 CNY/t with drift ln 1.1 and σ = 0: price 1.1, 1.21, 1.331 -> 110, 121, 133.1
    credits = CreditSales("credits", 100.0, "tCO2e", PriceModel(1.0, math.log(1.1), 0.0))
    # fee 300 CNY/yr growing 10 %: 330, 363, 399.3
    fee = FixedFee("fee", 300.0, growth=0.1)
    # GEP 1000 growing 10 % (1100, 1210, 1331), base 900, 50 % of the increase: 100, 155, 215.5
    gov = GovernmentPurchase("gov", 1000.0, 0.5, basis="increase", base_gep=900.0, growth=0.1)
    # cost 40 CNY/yr: −40 each year
    cost = FixedFee("cost", 40.0, sign=-1)
    return [credits, fee, gov, cost]


def test_hand_worked_dscr_and_llcr_with_zero_volatility():
    ds = debt_service(amortising_3y())
    paths = simulate(deterministic_streams(), ds.periods, seed=1, n_paths=5)
    assert paths["credits"][0] == pytest.approx([110.0, 121.0, 133.1], rel=1e-12)
    assert paths["fee"][0] == pytest.approx([330.0, 363.0, 399.3], rel=1e-12)
    assert paths["gov"][0] == pytest.approx([100.0, 155.0, 215.5], rel=1e-12)
    assert paths["cost"][0] == pytest.approx([-40.0, -40.0, -40.0], rel=1e-12)
    cfads = np.sum(list(paths.values()), axis=0)
    # CFADS = 110+330+100−40 = 500; 121+363+155−40 = 599; 133.1+399.3+215.5−40 = 707.9
    assert np.all(cfads == cfads[0]) and cfads[0] == pytest.approx([500.0, 599.0, 707.9], rel=1e-12)
    cov = coverage(ds, cfads, discount_rate=0.05)
    # DSCR = 500/350 = 1.428571…, 599/335 = 1.788060…, 707.9/420 = 1.685476…
    want = [500 / 350, 599 / 335, 707.9 / 420]
    for row in cov.dscr_pct:
        assert row == pytest.approx(want, rel=1e-12)
    assert cov.min_dscr_of_mean == pytest.approx(500 / 350, rel=1e-12) and cov.min_dscr_period == 0
    assert cov.min_dscr_pct == pytest.approx([500 / 350] * 3, rel=1e-12)
    assert cov.p_breach.tolist() == [0.0, 0.0, 0.0] and cov.p_breach_any == 0.0 and cov.se_breach_any == 0.0
    # LLCR at 5 %: (500/1.05 + 599/1.05² + 707.9/1.05³) / 1000 = (476.190476 + 543.310658 + 611.510636) / 1000
    llcr0 = (500 / 1.05 + 599 / 1.05**2 + 707.9 / 1.05**3) / 1000
    assert llcr0 == pytest.approx(1.6310118, rel=1e-7)
    assert cov.llcr_mean == pytest.approx(llcr0, rel=1e-12)
    assert cov.llcr_pct[:, 0] == pytest.approx([llcr0] * 3, rel=1e-12)
    # remaining-life LLCR at the start of period 2: (599/1.05 + 707.9/1.05²) / 700
    assert cov.llcr_pct[1, 1] == pytest.approx((599 / 1.05 + 707.9 / 1.05**2) / 700, rel=1e-12)
    assert cov.llcr_pct[1, 2] == pytest.approx(707.9 / 1.05 / 400, rel=1e-12)
    assert cov.pv_debt_service == pytest.approx(1000.0, rel=1e-14)


def test_breach_probability_and_standard_error_by_hand():
    debt = np.array([100.0, 100.0])
    cfads = np.array([[90.0, 120.0],     # breaches in period 1
                      [110.0, 95.0],     # breaches in period 2
                      [120.0, 130.0],
                      [100.0, 100.0]])   # DSCR exactly 1 is not a breach
    ratio = dscr(cfads, debt)
    per, any_ = breach_probability(ratio)
    assert per.tolist() == [0.25, 0.25] and any_ == 0.5
    # s.e. = sqrt(p (1 − p) / N): sqrt(0.25·0.75/4) = 0.216506…, sqrt(0.5·0.5/4) = 0.25
    assert mc_standard_error(per, 4) == pytest.approx([0.21650635, 0.21650635], rel=1e-7)
    assert mc_standard_error(any_, 4) == pytest.approx(0.25)


def test_periods_without_debt_service_never_breach():
    ratio = dscr(np.array([[0.0, 50.0], [0.0, 150.0]]), np.array([0.0, 100.0]))
    assert np.isnan(ratio[:, 0]).all()
    per, any_ = breach_probability(ratio)
    assert per.tolist() == [0.0, 0.5] and any_ == 0.5


def test_gbm_mean_within_monte_carlo_error():
    n, p0, mu, sigma = 200_000, 50.0, 0.05, 0.3
    t = np.array([0.5, 1.0, 2.0, 3.0])
    p = gbm_paths(np.random.Generator(np.random.PCG64(11)), p0, mu, sigma, t, n)
    mean = p0 * np.exp(mu * t)                                  # E[P_t] = P0 e^{μt}
    sd = mean * np.sqrt(np.exp(sigma**2 * t) - 1.0)             # log-normal standard deviation
    z = (p.mean(axis=0) - mean) / (sd / math.sqrt(n))
    assert np.all(np.abs(z) < 4.0), z
    # log price: mean ln P0 + (μ − σ²/2) t, variance σ² t
    logp = np.log(p)
    assert np.abs(logp.mean(axis=0) - (math.log(p0) + (mu - sigma**2 / 2) * t)).max() < 4 * sigma * math.sqrt(3 / n)
    assert logp.var(axis=0) == pytest.approx(sigma**2 * t, rel=0.02)


def test_breach_probability_against_the_closed_form_within_three_standard_errors():
    # one credit stream, a 2-period annual bond; DSCR_k < 1 <=> V·P_k·1 < DS_k, and
    # P(P_t < x) = Φ((ln(x/P0) − (μ − σ²/2) t) / (σ √t))
    bond = Bond(face=1000.0, coupon_rate=0.04, frequency=1, issue_date=date(2025, 3, 1),
                maturity_date=date(2027, 3, 1), day_count="ACT/ACT-ICMA")
    ds = debt_service(bond)                       # 40, 1040
    v, p0, mu, sigma, n = 20.0, 55.0, 0.02, 0.35, 40_000
    streams = [CreditSales("c", v, "tCO2e", PriceModel(p0, mu, sigma))]
    cov = coverage(ds, simulate(streams, ds.periods, seed=3, n_paths=n)["c"])
    t = ds.periods.time
    exact = norm.cdf((np.log(ds.amount / (v * p0)) - (mu - sigma**2 / 2) * t) / (sigma * np.sqrt(t)))
    assert exact[1] == pytest.approx(0.5, abs=0.2)  # a probability well inside (0, 1)
    assert np.all(np.abs(cov.p_breach - exact) < 3 * cov.se_breach + 1e-12), (cov.p_breach, exact, cov.se_breach)


def test_seed_reproducibility_and_independent_streams():
    ds = debt_service(amortising_3y())
    streams = [CreditSales("c", 10.0, "t", PriceModel(5.0, 0.0, 0.3)), FixedFee("f", 100.0, volatility=0.2)]
    a = simulate(streams, ds.periods, seed=42, n_paths=1000)
    b = simulate(streams, ds.periods, seed=42, n_paths=1000)
    c = simulate(streams, ds.periods, seed=43, n_paths=1000)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["c"], c["c"])
    # stream i uses PCG64(seed).jumped(i): dropping the first stream leaves the second one's paths unchanged
    alone = simulate(streams[1:], ds.periods, seed=42, n_paths=1000)
    assert not np.array_equal(alone["f"], a["f"])  # it moved to index 0 ...
    again = simulate([FixedFee("x", 0.0), streams[1]], ds.periods, seed=42, n_paths=1000)
    assert np.array_equal(again["f"], a["f"])      # ... and back at index 1 it is identical
    g = stream_generator(42, 1)
    assert isinstance(g.bit_generator, np.random.PCG64)


def test_accrual_of_a_stream_with_dates():
    ds = debt_service(amortising_3y())
    # active from 2026-07-02 (half of 2026 by days: 183/365 of the period) to the end of 2026
    acc = ds.periods.accrual(date(2026, 7, 2), date(2026, 12, 31))
    assert acc[0] == 0.0 and acc[2] == 0.0
    assert acc[1] == pytest.approx(182 / 365, rel=1e-12)   # days 2026-07-02 … 2026-12-31 (end exclusive)
    assert ds.periods.accrual().tolist() == [1.0, 1.0, 1.0]


def test_daily_vwap_and_hand_calibration():
    d0 = date(2023, 1, 1)
    days = [d0, d0, d0 + timedelta(days=73), d0 + timedelta(days=146), d0 + timedelta(days=219)]
    # two trades on day 0 with VWAP (98 × 1 + 101 × 2) / 3 = 100
    prices = [98.0, 101.0, 110.0, 99.0, 108.9]
    weights = [1.0, 2.0, 5.0, 5.0, 5.0]
    d, v = daily_vwap(days, prices, weights)
    assert d == [d0, d0 + timedelta(days=73), d0 + timedelta(days=146), d0 + timedelta(days=219)]
    assert v.tolist() == pytest.approx([100.0, 110.0, 99.0, 108.9])   # (98 + 2·101)/3 = 100
    c = calibrate_gbm(days, prices, weights, source="test")
    # Δ = 73/365 = 0.2 yr; r = ln 1.1, ln 0.9, ln 1.1; T = 0.6
    r = np.log([1.1, 0.9, 1.1])
    nu = math.log(1.089) / 0.6
    var = float(np.sum((r - nu * 0.2) ** 2 / 0.2) / 2)
    assert c.n_trades == 5 and c.n_days == 4 and c.n_returns == 3 and c.years == pytest.approx(0.6)
    assert c.log_drift == pytest.approx(nu, rel=1e-12)
    assert c.volatility == pytest.approx(math.sqrt(var), rel=1e-12)
    assert c.drift == pytest.approx(nu + var / 2, rel=1e-12)
    assert c.se_log_drift == pytest.approx(math.sqrt(var) / math.sqrt(0.6), rel=1e-12)
    assert c.se_volatility == pytest.approx(math.sqrt(var) / 2, rel=1e-12)
    assert c.last_price == pytest.approx(108.9) and c.first_date == d0
    # the window drops the first day; 3 days remain (2 returns)
    w = calibrate_gbm(days, prices, weights, window_start=d0 + timedelta(days=1))
    assert w.n_days == 3 and w.first_date == d0 + timedelta(days=73)


def test_calibration_recovers_the_parameters_of_a_long_simulated_history():
    rng = np.random.Generator(np.random.PCG64(5))
    mu, sigma, n = 0.04, 0.3, 20_000            # 20 000 daily steps (≈ 55 years)
    dt = 1 / 365
    logp = np.log(80.0) + np.cumsum((mu - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n))
    days = [date(1970, 1, 1) + timedelta(days=i) for i in range(n)]
    c = calibrate_gbm(days, np.exp(logp))
    assert abs(c.volatility - sigma) < 3 * c.se_volatility
    assert abs(c.log_drift - (mu - sigma**2 / 2)) < 3 * c.se_log_drift


def test_calibration_needs_three_days_and_positive_prices():
    with pytest.raises(InputError, match="calibration needs at least 3"):
        calibrate_gbm([date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 2)], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="positive"):
        calibrate_gbm([date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)], [1.0, 0.0, 3.0])
    with pytest.raises(InputError, match="no prices"):
        calibrate_gbm([date(2024, 1, 1)], [1.0], window_start=date(2025, 1, 1))


def test_annuity_loan_schedule_by_hand():
    loan = Loan(principal=1000.0, rate=0.10, frequency=1, start_date=date(2025, 1, 15), term_years=3)
    s = schedule(loan_bond(loan))
    # A = 1000 · 0.1 / (1 − 1.1^−3) = 402.114804; principal 302.114804, 332.326284, 365.558912
    a = 1000 * 0.1 / (1 - 1.1**-3)
    assert a == pytest.approx(402.1148036, rel=1e-9)
    assert (s.coupon + s.principal) == pytest.approx([a, a, a], rel=1e-12)
    assert s.principal == pytest.approx([a - 100, (a - 100) * 1.1, (a - 100) * 1.21], rel=1e-12)
    assert s.end == (date(2026, 1, 15), date(2027, 1, 15), date(2028, 1, 15))


def test_equal_principal_bullet_and_grace():
    base = dict(principal=1200.0, rate=0.06, frequency=2, start_date=date(2025, 1, 1), term_years=2)
    eq = schedule(loan_bond(Loan(**base, repayment="equal_principal")))
    # 4 half-years of 300; interest 0.03 · (1200, 900, 600, 300)
    assert eq.principal.tolist() == pytest.approx([300.0] * 4)
    assert eq.coupon.tolist() == pytest.approx([36.0, 27.0, 18.0, 9.0])
    bullet = schedule(loan_bond(Loan(**base, repayment="bullet")))
    assert bullet.principal.tolist() == [0.0, 0.0, 0.0, 1200.0]
    grace = schedule(loan_bond(Loan(**base, grace_years=1.0)))
    # interest only for two half-years (36 each), then an annuity over 2: A = 1200·0.03/(1 − 1.03^−2)
    a = 1200 * 0.03 / (1 - 1.03**-2)
    assert grace.principal[:2].tolist() == [0.0, 0.0]
    assert (grace.coupon + grace.principal).tolist() == pytest.approx([36.0, 36.0, a, a], rel=1e-12)
    with pytest.raises(InputError, match="whole number"):
        loan_bond(Loan(**{**base, "term_years": 1.3}))
    with pytest.raises(InputError, match="not shorter than the term"):
        loan_bond(Loan(**base, grace_years=2.0))


def test_sizing_deterministic_equals_min_cfads_over_unit_debt_service():
    ds = debt_service(amortising_3y())
    cfads = np.tile([500.0, 599.0, 707.9], (10, 1))
    unit = ds.amount / 1000.0                     # 0.35, 0.335, 0.42 per CNY of principal
    z = max_principal(cfads, ds, threshold=0.05, target_dscr=1.2)
    want = min(500 / (1.2 * 0.35), 599 / (1.2 * 0.335), 707.9 / (1.2 * 0.42))
    assert z.max_principal == pytest.approx(want, rel=1e-12) and z.breach_probability == 0.0
    # at that principal the minimum DSCR is exactly the target
    assert np.min(cfads[0] / (want * unit)) == pytest.approx(1.2, rel=1e-12)


def test_sizing_keeps_the_breach_probability_under_the_threshold():
    ds = debt_service(amortising_3y())
    cfads = simulate([CreditSales("c", 10.0, "t", PriceModel(50.0, 0.0, 0.4))], ds.periods, 9, 5000)["c"]
    z = max_principal(cfads, ds, threshold=0.1)
    scaled = lambda p: dscr(cfads, ds.amount * p / ds.face)  # noqa: E731
    assert breach_probability(scaled(z.max_principal))[1] <= 0.1
    assert breach_probability(scaled(z.max_principal * 1.001))[1] > 0.1
    assert z.band[0] <= z.max_principal <= z.band[1]


def test_llcr_function_matches_a_direct_sum():
    ds = debt_service(amortising_3y())
    cfads = np.array([[400.0, 350.0, 500.0]])
    out = llcr(cfads, ds, 0.08)
    assert out[0, 0] == pytest.approx((400 / 1.08 + 350 / 1.08**2 + 500 / 1.08**3) / 1000, rel=1e-12)
    assert out[0, 2] == pytest.approx(500 / 1.08 / 400, rel=1e-12)


def test_semiannual_periods_book_half_a_year_of_revenue():
    bond = Bond(face=100.0, coupon_rate=0.03, frequency=2, issue_date=date(2025, 6, 30),
                maturity_date=date(2026, 6, 30), day_count="ACT/ACT-ICMA")
    ds = debt_service(bond)
    assert ds.periods.years.tolist() == [0.5, 0.5] and ds.periods.time.tolist() == [0.5, 1.0]
    cash = simulate([FixedFee("f", 10.0)], ds.periods, 0, 1)["f"][0]
    assert cash.tolist() == [5.0, 5.0]
    assert Periods.from_fractions(ds.periods.start, ds.periods.end, np.array([0.5, 1.0]), 2).time.tolist() == [0.25, 0.75]
