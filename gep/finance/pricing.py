"""Yield <-> price of fixed-rate bonds and their risk measures.

Prices are quoted per 100 of the principal outstanding at settlement
[CNY per 100 face] (for a bullet bond: per 100 face); absolute values [CNY] for
the whole outstanding principal are in :class:`BondAnalytics` too.

Dirty price from a yield ``y`` (annual, compounded ``f`` times a year), China
interbank convention (CCDC valuation conventions; ICMA Rule 251 for the
fraction ``d/TS``)::

    PV = sum_i CF_i / (1 + y/f) ** (d/TS + i)        i = 0 .. n-1

with ``d`` days from settlement to the next coupon and ``TS`` days in the
current period (see :func:`gep.finance.schedule.remaining_flows`).  In the
final coupon period (one flow left) a simple yield::

    PV = FV / (1 + y * D / TY)

with ``FV`` the final cash flow (principal outstanding + last coupon), ``D``
actual days to maturity and ``TY`` the actual days of the current interest
year (366 when it contains 29 February); fixed-basis day counts use their own
basis instead of ``D/TY`` (:func:`gep.finance.daycount.simple_year_fraction`).
Clean price = dirty price - accrued interest.

References
----------
People's Bank of China (2007), 银发〔2007〕200号 《中国人民银行关于完善全国银行间债券市场
债券到期收益率计算标准有关事项的通知》 and its attached table of formulas
(全国银行间债券市场债券到期收益率计算标准调整对照表): ACT/ACT; d/TS exponents;
final period and zero-coupon bonds within a year, ``D/TY``.  Applied by CCDC
(中债估值) and CFETS.
ICMA Primary Market Handbook, Rule 251.
Fabozzi, F. J., *Bond Markets, Analysis and Strategies*, ch. 4 (Macaulay and
modified duration, convexity, price value of a basis point).
Hull, J. C., *Options, Futures, and Other Derivatives*, ch. 4 (duration,
convexity).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Sequence

import numpy as np
from scipy.optimize import brentq

from gep.errors import InputError
from gep.finance.schedule import Bond, Flows, remaining_flows

#: One basis point [1/year].
BP = 1e-4


# --------------------------------------------------------------------------- vectorised kernel


@dataclass(frozen=True)
class FlowMatrix:
    """Remaining flows of several bonds, zero-padded to a common length.

    Attributes
    ----------
    amount, periods : numpy.ndarray, shape (n_bonds, n_flows)
        Cash flows [CNY] and discount exponents [periods].
    final, simple_years, frequency, accrued, outstanding : numpy.ndarray, shape (n_bonds,)
        Final-period flag, ``D/TY`` (or the bond's basis) [years], coupons per year, accrued
        interest [CNY] and principal outstanding [CNY].
    """

    amount: np.ndarray
    periods: np.ndarray
    final: np.ndarray
    simple_years: np.ndarray
    frequency: np.ndarray
    accrued: np.ndarray
    outstanding: np.ndarray


def stack_flows(flows: Sequence[Flows]) -> FlowMatrix:
    """Stack :class:`~gep.finance.schedule.Flows` into a :class:`FlowMatrix`."""
    n = max(len(f.amount) for f in flows)
    amount = np.zeros((len(flows), n))
    periods = np.zeros((len(flows), n))
    for i, f in enumerate(flows):
        amount[i, : len(f.amount)] = f.amount
        periods[i, : len(f.periods)] = f.periods
    return FlowMatrix(
        amount=amount,
        periods=periods,
        final=np.array([f.final_period for f in flows]),
        simple_years=np.array([f.simple_years for f in flows]),
        frequency=np.array([f.frequency for f in flows], dtype=float),
        accrued=np.array([f.accrued for f in flows]),
        outstanding=np.array([f.outstanding for f in flows]),
    )


def pv_matrix(fm: FlowMatrix, y: np.ndarray | float) -> np.ndarray:
    """Dirty value of each bond at yields ``y`` [CNY] (CCDC convention).

    Parameters
    ----------
    fm : FlowMatrix
        ``n_bonds`` bonds.
    y : array_like, shape broadcastable to (..., n_bonds)
        Yields to maturity as decimals [1/year].

    Returns
    -------
    numpy.ndarray, shape (..., n_bonds)
        Dirty value [CNY]; NaN where ``1 + y/f <= 0`` or ``1 + y*D/TY <= 0``.
    """
    y = np.asarray(y, dtype=float)
    y = np.broadcast_to(y, np.broadcast_shapes(y.shape, fm.final.shape))
    with np.errstate(all="ignore"):
        base = 1.0 + y[..., None] / fm.frequency[:, None]
        disc = np.where(base > 0, base, np.nan) ** (-fm.periods)
        comp = np.sum(np.where(fm.amount != 0, fm.amount * disc, 0.0), axis=-1)
        comp = np.where(np.all(base > 0, axis=-1), comp, np.nan)
        denom = 1.0 + y * fm.simple_years
        simple = np.where(denom > 0, fm.amount.sum(axis=-1) / denom, np.nan)
    return np.where(fm.final, simple, comp)


def dirty_prices(bonds: Sequence[Bond], settle: date, yields) -> np.ndarray:
    """Dirty prices of many bonds at once [CNY per 100 outstanding face].

    Parameters
    ----------
    bonds : sequence of Bond
    settle : datetime.date
    yields : array_like, shape broadcastable to (..., len(bonds))
        Yield of each bond [1/year, decimal].

    Returns
    -------
    numpy.ndarray, shape (..., len(bonds))
    """
    fm = stack_flows([remaining_flows(b, settle) for b in bonds])
    return pv_matrix(fm, yields) * 100.0 / fm.outstanding


# --------------------------------------------------------------------------- one bond


def _as_out(x: np.ndarray, like) -> float | np.ndarray:
    return float(x) if np.ndim(like) == 0 else x


def pv_flows(fl: Flows, y) -> float | np.ndarray:
    """Dirty value of remaining flows at yield(s) ``y`` [CNY] (CCDC convention).

    ``y`` may be a scalar or an array of yields [1/year, decimal]; the result has
    its shape.
    """
    fm = stack_flows([fl])
    out = pv_matrix(fm, np.asarray(y, dtype=float)[..., None])[..., 0]
    return _as_out(out, y)


def dirty_price(bond: Bond, settle: date, y) -> float | np.ndarray:
    """Dirty (full) price from a yield [CNY per 100 outstanding face].

    ``PV = sum CF_i/(1+y/f)^(d/TS+i)``, final period ``FV/(1+y*D/TY)`` (PBoC 2007; CCDC).

    Parameters
    ----------
    bond : Bond
    settle : datetime.date
    y : float or array_like
        Yield to maturity [1/year, decimal], compounded ``frequency`` times a year.
    """
    fl = remaining_flows(bond, settle)
    return pv_flows(fl, y) * 100.0 / fl.outstanding


def accrued_interest(bond: Bond, settle: date) -> float:
    """Accrued interest at settlement [CNY per 100 outstanding face].

    ACT/ACT-ICMA: ``100 * c/f * d_accrued/TS`` (ICMA Rule 251); fixed-basis
    conventions: ``100 * c * days/basis``.
    """
    fl = remaining_flows(bond, settle)
    return fl.accrued * 100.0 / fl.outstanding


def clean_price(bond: Bond, settle: date, y) -> float | np.ndarray:
    """Clean price = dirty price - accrued interest [CNY per 100 outstanding face]."""
    fl = remaining_flows(bond, settle)
    return (pv_flows(fl, y) - fl.accrued) * 100.0 / fl.outstanding


#: Yields a price may imply [1/yr]: from −10 % (below the most negative government yields seen, about
#: −1 %, by a wide margin) to +1,000 % (a distressed bond). A price outside implies an impossible bond
#: (a price of 1e9 per 100 face is a typing or unit error), refused rather than solved.
YIELD_RANGE = (-0.10, 10.0)


def _yield_bracket(fl: Flows) -> tuple[float, float]:
    """Lower end of the yield domain (kept slightly inside it, and not below :data:`YIELD_RANGE`) and a first upper end."""
    if fl.final_period:
        lo = -0.999 / fl.simple_years if fl.simple_years > 0 else -0.999
        lo = max(lo, -50.0)
    else:
        lo = -0.999 * fl.frequency
    return max(lo, YIELD_RANGE[0]), 1.0


def solve_yield(fl: Flows, dirty_value: float) -> float:
    """Yield to maturity that prices ``fl`` at ``dirty_value`` [1/year].

    Brent's method (``scipy.optimize.brentq``) on a bracket: the lower end is
    just inside the domain (``1 + y/f > 0``, or ``1 + y*D/TY > 0`` in the
    final period) and not below :data:`YIELD_RANGE`, the upper end doubles from
    100 % until the price falls below the target (up to the range's upper end).
    Price is strictly decreasing in yield for positive flows, so the root is
    unique.

    Parameters
    ----------
    fl : Flows
    dirty_value : float
        Dirty value of the outstanding principal [CNY].

    Raises
    ------
    gep.errors.InputError
        Non-positive price, or a price no yield in :data:`YIELD_RANGE` reproduces.
    """
    if not np.isfinite(dirty_value) or dirty_value <= 0:
        raise InputError(f"price must be positive, got {dirty_value}",
                         hint="give the price per 100 face, e.g. 99.85", key="price")
    if fl.final_period and fl.simple_years <= 0:
        raise InputError("no time left to maturity under this day count: yield undefined",
                         hint="choose an earlier settlement date", key="settle")
    lo, hi = _yield_bracket(fl)

    def g(y: float) -> float:
        return float(pv_flows(fl, y)) - dirty_value

    shown = dirty_value * 100 / fl.outstanding
    if g(lo) < 0:
        raise InputError(
            f"price {shown:.6g} per 100 face is impossible: it implies a yield below {YIELD_RANGE[0]:.0%} a year "
            f"(the price at {lo:.1%} is {(float(pv_flows(fl, lo)) * 100 / fl.outstanding):.6g})",
            hint="check the price: per 100 of face value (e.g. 99.85), clean unless --dirty", key="price")
    while g(hi) > 0:
        if hi >= YIELD_RANGE[1]:
            raise InputError(
                f"price {shown:.6g} per 100 face is impossible: it implies a yield above {YIELD_RANGE[1]:.0%} a year",
                hint="check the price: per 100 of face value (e.g. 99.85)", key="price")
        hi = min(hi * 2.0, YIELD_RANGE[1])
    return float(brentq(g, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500))


def dirty_value_of_quote(fl: Flows, price: float, clean: bool = True) -> float:
    """Dirty value [CNY] of the outstanding principal quoted at ``price``.

    Parameters
    ----------
    fl : Flows
    price : float
        Quote [CNY per 100 outstanding face], > 0.
    clean : bool
        Whether the quote excludes accrued interest.
    """
    price = float(price)
    if not np.isfinite(price) or price <= 0:
        raise InputError(f"price must be positive, got {price}",
                         hint="give the price per 100 face, e.g. 99.85", key="price")
    return price * fl.outstanding / 100.0 + (fl.accrued if clean else 0.0)


def yield_from_price(bond: Bond, settle: date, price, *, clean: bool = True
                     ) -> float | np.ndarray:
    """Yield to maturity from a price [1/year, decimal].

    Parameters
    ----------
    bond : Bond
    settle : datetime.date
    price : float or array_like
        Price(s) [CNY per 100 outstanding face].
    clean : bool
        ``True`` (default) when ``price`` is clean (the market quote, 净价);
        ``False`` for dirty (全价).

    Returns
    -------
    float or numpy.ndarray
        Yield(s), the inverse of :func:`dirty_price` / :func:`clean_price`.
    """
    fl = remaining_flows(bond, settle)
    p = np.asarray(price, dtype=float)
    dirty = np.vectorize(lambda q: dirty_value_of_quote(fl, q, clean), otypes=[float])(p)
    out = np.array([solve_yield(fl, float(v)) for v in dirty.ravel()]).reshape(p.shape)
    return _as_out(out, price)


# --------------------------------------------------------------------------- risk measures


@dataclass(frozen=True)
class BondAnalytics:
    """Price, yield and risk of one bond at a settlement date.

    Attributes
    ----------
    settle : datetime.date
    yield_to_maturity : float
        [1/year, decimal], China interbank convention.
    dirty_price, clean_price, accrued_interest : float
        [CNY per 100 outstanding face].
    macaulay_duration : float
        Present-value-weighted time of the flows [years].
    modified_duration : float
        ``-(1/P) dP/dy`` [years].
    convexity : float
        ``(1/P) d2P/dy2`` [years^2].
    dv01 : float
        ``(P(y - 1bp) - P(y + 1bp)) / 2``, central difference
        [CNY per 100 outstanding face per basis point].
    outstanding : float
        Principal outstanding at settlement [CNY].
    """

    settle: date
    yield_to_maturity: float
    dirty_price: float
    clean_price: float
    accrued_interest: float
    macaulay_duration: float
    modified_duration: float
    convexity: float
    dv01: float
    outstanding: float

    def values(self) -> dict[str, float]:
        """Absolute amounts for the whole outstanding principal [CNY]."""
        k = self.outstanding / 100.0
        return {"dirty_value": self.dirty_price * k, "clean_value": self.clean_price * k,
                "accrued_value": self.accrued_interest * k, "dv01_value": self.dv01 * k}

    def to_dict(self) -> dict:
        """Plain dictionary (dates as ISO strings)."""
        d = asdict(self)
        d["settle"] = self.settle.isoformat()
        return d


def risk_from_flows(fl: Flows, y: float) -> BondAnalytics:
    """Price and risk measures of remaining flows at yield ``y``.

    Compounded periods (``t_i = (d/TS + i)/f`` years, ``v = 1 + y/f``)::

        Macaulay  D = sum t_i PV_i / P
        modified  D* = D / v
        convexity C = sum PV_i t_i (t_i + 1/f) / v**2 / P

    Final period (simple yield, ``T = D/TY``): ``D = T``,
    ``D* = T/(1 + yT)``, ``C = 2 T**2 / (1 + yT)**2``.  DV01 is the central
    difference of the dirty price over +-1 bp (Fabozzi ch. 4; Hull ch. 4).
    """
    y = float(y)
    scale = 100.0 / fl.outstanding
    if not np.isfinite(pv_flows(fl, y)):
        lower = "-1/T" if fl.final_period else f"{-fl.frequency}"
        raise InputError(f"yield {y} is outside the valid range (> {lower})",
                         hint="give a yield as a decimal, e.g. 0.03 or 3%", key="yield")
    if fl.final_period:
        T = fl.simple_years
        a = float(fl.amount.sum())
        p = a / (1.0 + y * T)
        mac = T
        mod = T / (1.0 + y * T)
        conv = 2.0 * T * T / (1.0 + y * T) ** 2
    else:
        f = fl.frequency
        v = 1.0 + y / f
        t = fl.years
        pv = fl.amount * v ** (-fl.periods)
        p = float(pv.sum())
        mac = float((t * pv).sum() / p)
        mod = mac / v
        conv = float((pv * t * (t + 1.0 / f)).sum() / (v * v) / p)
    up, down = pv_flows(fl, np.array([y + BP, y - BP]))
    dv01 = (down - up) / 2.0 * scale
    dirty = p * scale
    accrued = fl.accrued * scale
    return BondAnalytics(settle=fl.settle, yield_to_maturity=y, dirty_price=dirty,
                         clean_price=dirty - accrued, accrued_interest=accrued,
                         macaulay_duration=mac, modified_duration=mod, convexity=conv,
                         dv01=float(dv01), outstanding=fl.outstanding)


def analytics(bond: Bond, settle: date, y: float) -> BondAnalytics:
    """Price and risk measures of a bond at yield ``y`` [1/year, decimal]."""
    return risk_from_flows(remaining_flows(bond, settle), y)


def analytics_from_price(bond: Bond, settle: date, price: float, *, clean: bool = True
                         ) -> BondAnalytics:
    """Price and risk measures of a bond quoted at ``price`` [CNY per 100 outstanding face]."""
    fl = remaining_flows(bond, settle)
    return risk_from_flows(fl, solve_yield(fl, dirty_value_of_quote(fl, price, clean)))
