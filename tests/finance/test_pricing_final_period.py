"""Final coupon period and short zero-coupon bonds: ``PV = FV / (1 + y·D/TY)``.

TY is the actual length of the current interest year: 366 when it contains a
29 February (PBoC 2007 yield standard, applied by CCDC).  Every measure is
checked twice: against hand arithmetic and against QuantLib (an independent
implementation: ``ActualActual(ISMA)`` gives ``D/TS``, which is ``D/TY`` for an
annual bond; a semiannual bond's ``D/TY`` is QuantLib's ISMA fraction with the
interest year as the reference period).
"""

from datetime import date

import pytest

from gep.finance.pricing import analytics, analytics_from_price, yield_from_price
from gep.finance.schedule import Bond, interest_year, remaining_flows

ql = pytest.importorskip("QuantLib")

# 4 % annual, 15 Mar 2021 -> 15 Mar 2024: the final interest year 15 Mar 2023 -> 15 Mar 2024
# holds 29 Feb 2024 (TY = 366).  Settle 15 Sep 2023: D = 15+31+30+31+31+29+15 = 182 days.
LEAP = Bond(face=100, coupon_rate=0.04, frequency=1, issue_date=date(2021, 3, 15),
            maturity_date=date(2024, 3, 15), day_count="ACT/ACT-ICMA")
LEAP_SETTLE = date(2023, 9, 15)
# 4 % annual, 15 Mar 2023 -> 15 Mar 2026: final year 15 Mar 2025 -> 15 Mar 2026 (TY = 365).
# Settle 15 Sep 2025: D = 15+31+30+31+31+28+15 = 181 days.
PLAIN = Bond(face=100, coupon_rate=0.04, frequency=1, issue_date=date(2023, 3, 15),
             maturity_date=date(2026, 3, 15), day_count="ACT/ACT-ICMA")
PLAIN_SETTLE = date(2025, 9, 15)
Y = 0.03


def _qd(d: date):
    return ql.Date(d.day, d.month, d.year)


def _ql_bond(b: Bond):
    freq = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly}[b.frequency]
    sch = ql.Schedule(_qd(b.issue_date), _qd(b.maturity_date), ql.Period(freq), ql.NullCalendar(),
                      ql.Unadjusted, ql.Unadjusted, ql.DateGeneration.Backward, False)
    dcc = ql.ActualActual(ql.ActualActual.ISMA, sch)
    return ql.FixedRateBond(0, 100.0, sch, [b.coupon_rate], dcc), dcc, freq


def _ql_measures(b: Bond, settle: date, y: float, comp) -> dict:
    bond, dcc, freq = _ql_bond(b)
    s = _qd(settle)

    def dirty(rate):
        return ql.CashFlows.npv(bond.cashflows(), ql.InterestRate(rate, dcc, comp, freq), False, s, s)

    clean = ql.BondFunctions.cleanPrice(bond, y, dcc, comp, freq, s)
    return {
        "dirty": dirty(y),
        "clean": clean,
        "accrued": ql.BondFunctions.accruedAmount(bond, s),
        "modified": ql.BondFunctions.duration(bond, y, dcc, comp, freq, ql.Duration.Modified, s),
        "convexity": ql.BondFunctions.convexity(bond, y, dcc, comp, freq, s),
        "dv01": (dirty(y - 1e-4) - dirty(y + 1e-4)) / 2,
        "yield": ql.BondFunctions.bondYield(bond, ql.BondPrice(clean, ql.BondPrice.Clean), dcc, comp, freq,
                                            s, 1e-15, 200),
    }


@pytest.mark.parametrize("bond, settle, days, ty", [(LEAP, LEAP_SETTLE, 182, 366), (PLAIN, PLAIN_SETTLE, 181, 365)])
def test_final_period_d_over_ty_by_hand(bond, settle, days, ty):
    fl = remaining_flows(bond, settle)
    assert fl.final_period and fl.year_days == ty
    start, end = interest_year(bond, settle)
    assert (end - start).days == ty and end == bond.maturity_date
    T = days / ty
    assert fl.simple_years == T
    a = analytics(bond, settle, Y)
    assert a.dirty_price == pytest.approx(104 / (1 + Y * T), rel=1e-15)
    assert a.accrued_interest == pytest.approx(4 * (ty - days) / ty, rel=1e-15)
    assert a.macaulay_duration == pytest.approx(T, rel=1e-15)
    assert a.modified_duration == pytest.approx(T / (1 + Y * T), rel=1e-15)
    assert a.convexity == pytest.approx(2 * T * T / (1 + Y * T) ** 2, rel=1e-14)
    dv01 = (104 / (1 + (Y - 1e-4) * T) - 104 / (1 + (Y + 1e-4) * T)) / 2
    assert a.dv01 == pytest.approx(dv01, rel=1e-12)
    assert yield_from_price(bond, settle, a.clean_price) == pytest.approx(Y, abs=1e-13)


def test_leap_year_numbers_written_out():
    # 104 / (1 + 0.03 × 182/366) = 104 / 1.0149180328 = 102.4713293
    assert analytics(LEAP, LEAP_SETTLE, Y).dirty_price == pytest.approx(102.4713293491, abs=1e-9)
    # the old D/365 rule gave 104 / (1 + 0.03 × 182/365) = 102.4672029: 4.13e-3 per 100 lower
    assert 104 / (1 + Y * 182 / 365) - analytics(LEAP, LEAP_SETTLE, Y).dirty_price == pytest.approx(
        -4.1264e-3, abs=1e-7)


def _assert_matches_quantlib(bond: Bond, settle: date, comp, rel: float) -> None:
    """Price, accrued, modified duration, convexity, DV01 and yield from price against QuantLib."""
    ref = _ql_measures(bond, settle, Y, comp)
    a = analytics(bond, settle, Y)
    for ours, theirs, tol in ((a.dirty_price, "dirty", rel), (a.clean_price, "clean", rel),
                              (a.accrued_interest, "accrued", rel), (a.modified_duration, "modified", 100 * rel),
                              (a.convexity, "convexity", 100 * rel), (a.dv01, "dv01", 1e5 * rel)):
        assert ours == pytest.approx(ref[theirs], rel=tol), theirs
    assert analytics_from_price(bond, settle, ref["clean"]).yield_to_maturity == pytest.approx(ref["yield"], abs=1e-12)


@pytest.mark.parametrize("bond, settle", [(LEAP, LEAP_SETTLE), (PLAIN, PLAIN_SETTLE)])
def test_final_period_matches_quantlib(bond, settle):
    # final period: PV = FV/(1 + y·D/TY) (QuantLib: Simple, ISMA; D/TS = D/TY for an annual bond)
    _assert_matches_quantlib(bond, settle, ql.Simple, 1e-14)


@pytest.mark.parametrize("settle", [date(2022, 9, 15), date(2022, 3, 15), date(2021, 12, 1)])
def test_compounded_periods_match_quantlib_in_leap_years(settle):
    # before the final period: PV = Σ CF/(1+y)^(d/TS + i) (QuantLib: Compounded, ISMA)
    _assert_matches_quantlib(LEAP, settle, ql.Compounded, 1e-13)


def test_semiannual_final_period_uses_the_interest_year_not_the_half_year():
    # 3 % semiannual, maturity 15 Mar 2024: final period 15 Sep 2023 -> 15 Mar 2024 (182 days), interest
    # year 15 Mar 2023 -> 15 Mar 2024 (366 days).  Settle 16 Oct 2023: D = 151 days.  PV = 101.5/(1 + y·151/366).
    b = Bond(face=100, coupon_rate=0.03, frequency=2, issue_date=date(2021, 3, 15),
             maturity_date=date(2024, 3, 15), day_count="ACT/ACT-ICMA")
    settle = date(2023, 10, 16)
    fl = remaining_flows(b, settle)
    assert fl.final_period and fl.year_days == 366 and (b.maturity_date - settle).days == 151
    assert analytics(b, settle, Y).dirty_price == pytest.approx(101.5 / (1 + Y * 151 / 366), rel=1e-15)
    rate = ql.InterestRate(Y, ql.ActualActual(ql.ActualActual.ISMA), ql.Simple, ql.Annual)
    df = rate.discountFactor(_qd(settle), _qd(b.maturity_date), _qd(date(2023, 3, 15)), _qd(b.maturity_date))
    assert analytics(b, settle, Y).dirty_price == pytest.approx(101.5 * df, rel=1e-14)


@pytest.mark.parametrize("settle, days, ty", [(date(2023, 6, 1), 288, 366), (date(2024, 6, 1), 287, 365)])
def test_zero_coupon_in_its_last_year(settle, days, ty):
    # zero-coupon 2022-03-15 -> 2024-03-15 (last year TY = 366) and 2023-03-15 -> 2025-03-15 (TY = 365)
    maturity = date(settle.year + 1, 3, 15)
    b = Bond(face=100, coupon_rate=0.0, frequency=1, issue_date=date(settle.year - 1, 3, 15),
             maturity_date=maturity, day_count="ACT/ACT-ICMA")
    assert (maturity - settle).days == days
    fl = remaining_flows(b, settle)
    assert fl.final_period and fl.year_days == ty
    a = analytics(b, settle, 0.02)
    assert a.dirty_price == pytest.approx(100 / (1 + 0.02 * days / ty), rel=1e-15)
    T = days / ty
    assert a.modified_duration == pytest.approx(T / (1 + 0.02 * T), rel=1e-15)
    assert yield_from_price(b, settle, a.clean_price) == pytest.approx(0.02, abs=1e-13)
