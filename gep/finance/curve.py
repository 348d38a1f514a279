"""Discount curves: zero or par-yield input, bootstrapping, Z-spread, credit-risky prices.

A :class:`Curve` holds continuously compounded zero rates at node times
[years, ACT/365F from the curve date].  Between nodes the zero rate is linear
in time; before the first node and after the last it is flat.  Discount factor
``DF(t) = exp(-z(t) t)``.

Curve files give either zero rates (``kind = "zero"``, annually or
continuously compounded) or par yields of bonds paying ``frequency`` coupons a
year (``kind = "par"``), bootstrapped node by node (Hull, *Options, Futures,
and Other Derivatives*, ch. 4, "the bootstrap method").

Bond prices from a curve discount each remaining flow to the curve date and
divide by the discount factor of the settlement date (a forward price when the
settlement date is after the curve date).  The Z-spread ``s`` is a constant,
continuously compounded spread added to every zero rate.  A credit-risky price
uses a constant hazard rate ``lambda`` and recovery ``R`` of the outstanding
principal paid at default (O'Kane, *Modelling Single-name and Multi-name
Credit Derivatives*, 2008, ch. 3, risky bond pricing).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import brentq

from gep.errors import InputError
from gep.finance.pricing import dirty_value_of_quote
from gep.finance.schedule import Bond, Flows, parse_date, is_number, remaining_flows

#: Day basis of curve times [days per year] (ACT/365F).
CURVE_BASIS = 365.0

CURVE_KEYS = ("name", "description", "curve_date", "kind", "frequency", "compounding",
              "tenors", "rates")
KINDS = ("par", "zero")
COMPOUNDINGS = ("annual", "continuous")


@dataclass(frozen=True)
class Curve:
    """A zero-coupon discount curve.

    Parameters
    ----------
    curve_date : datetime.date
        Date of ``t = 0``.
    times : numpy.ndarray
        Node times, strictly increasing, > 0 [years, ACT/365F].
    zero_rates : numpy.ndarray
        Continuously compounded zero rates at the nodes [1/year].
    name : str
        Label.
    """

    curve_date: date
    times: np.ndarray
    zero_rates: np.ndarray
    name: str = ""

    def time(self, d: date) -> float:
        """Curve time of a date: ``(d - curve_date).days / 365`` [years]."""
        return (d - self.curve_date).days / CURVE_BASIS

    def zero(self, t) -> np.ndarray:
        """Continuously compounded zero rate at time(s) ``t`` [1/year].

        Linear interpolation in ``t``; flat extrapolation.
        """
        return np.interp(np.asarray(t, dtype=float), self.times, self.zero_rates)

    def discount(self, t) -> np.ndarray:
        """Discount factor ``exp(-z(t) t)`` at time(s) ``t`` [years] (dimensionless)."""
        t = np.asarray(t, dtype=float)
        return np.exp(-self.zero(t) * t)

    def zero_rate(self, t, compounding: str = "annual") -> np.ndarray:
        """Zero rate at ``t`` [1/year], ``"annual"`` (``DF**(-1/t) - 1``) or ``"continuous"``."""
        z = self.zero(t)
        if compounding == "continuous":
            return z
        if compounding == "annual":
            return np.expm1(z)
        raise InputError(f'unknown compounding "{compounding}"',
                         hint="use annual or continuous")


def _to_cc(rates: np.ndarray, compounding: str) -> np.ndarray:
    if compounding == "continuous":
        return rates
    return np.log1p(rates)


def zero_curve(curve_date: date, tenors: Sequence[float], rates: Sequence[float],
               compounding: str = "annual", name: str = "") -> Curve:
    """Curve from zero rates.

    Parameters
    ----------
    curve_date : datetime.date
    tenors : sequence of float
        Node times [years], strictly increasing, > 0.
    rates : sequence of float
        Zero rates [1/year, decimal]; annual compounding ``DF = (1+r)**-t`` or
        continuous ``DF = exp(-r t)`` (Hull ch. 4).
    compounding : {"annual", "continuous"}
    """
    t = np.asarray(tenors, dtype=float)
    r = np.asarray(rates, dtype=float)
    return Curve(curve_date, t, _to_cc(r, compounding), name)


def _par_coupon_times(T: float, frequency: int) -> tuple[np.ndarray, np.ndarray]:
    """Coupon times ``T - k/f > 0`` (ascending) and accrual fractions [years]."""
    step = 1.0 / frequency
    n = int(math.floor(T * frequency + 1e-9))
    times = T - step * np.arange(n, -1, -1, dtype=float)
    times = times[times > 1e-9]
    tau = np.diff(np.concatenate(([0.0], times)))
    return times, tau


def bootstrap_par(curve_date: date, tenors: Sequence[float], par_yields: Sequence[float],
                  frequency: int = 1, name: str = "") -> Curve:
    """Bootstrap a zero curve from par yields.

    A par bond of tenor ``T`` pays coupons ``p * tau_k`` at ``T - k/f`` (a
    short first period when ``T`` is not a multiple of ``1/f``) and 1 at ``T``,
    and is worth 1::

        sum_k p tau_k DF(t_k) + DF(T) = 1

    For ``T <= 1/f`` this is ``DF(T) = 1 / (1 + p T)``.  Nodes are solved in
    order of tenor; coupon dates between the previous node and ``T`` use the
    interpolated zero rate, so each node is a one-dimensional root
    (``scipy.optimize.brentq``).  Hull, *Options, Futures, and Other
    Derivatives*, ch. 4; Hagan & West (2006), "Interpolation methods for curve
    construction", Applied Mathematical Finance 13(2).

    Parameters
    ----------
    curve_date : datetime.date
    tenors : sequence of float
        Par bond maturities [years], strictly increasing, > 0.
    par_yields : sequence of float
        Par yields [1/year, decimal], compounded ``frequency`` times a year.
    frequency : int
        Coupons per year of the par bonds.

    Returns
    -------
    Curve
        Continuously compounded zero rates at ``tenors``.
    """
    T_all = np.asarray(tenors, dtype=float)
    p_all = np.asarray(par_yields, dtype=float)
    z = np.zeros_like(T_all)
    for i, (T, p) in enumerate(zip(T_all, p_all)):
        if T <= 1.0 / frequency + 1e-9:
            z[i] = math.log1p(p * T) / T
            continue
        times, tau = _par_coupon_times(T, frequency)

        def residual(r: float) -> float:
            zz = np.interp(times, np.append(T_all[:i], T), np.append(z[:i], r))
            df = np.exp(-zz * times)
            return float(p * (tau * df).sum() + df[-1] - 1.0)

        lo, hi = -0.5, 1.0
        while residual(lo) < 0 and lo > -5:
            lo *= 2
        while residual(hi) > 0 and hi < 50:
            hi *= 2
        z[i] = brentq(residual, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)
    return Curve(curve_date, T_all, z, name)


# --------------------------------------------------------------------------- curve file


def _where(source: str, key: str) -> str:
    return f"{source}, key {key}"


def curve_from_dict(data: Mapping[str, Any], source: str = "curve") -> Curve:
    """Build and validate a :class:`Curve` from the keys of a curve file.

    Keys (see ``docs/bonds.md``): ``curve_date``, ``kind`` (``"par"`` or
    ``"zero"``), ``tenors`` [years], ``rates`` [decimals], ``frequency``
    (par curves, default 1), ``compounding`` (zero curves, ``"annual"``
    default or ``"continuous"``), optional ``name`` and ``description``.

    Raises
    ------
    gep.errors.InputError
        Naming the file and key that is missing or invalid.
    """
    for key in data:
        if key not in CURVE_KEYS:
            close = difflib.get_close_matches(key, CURVE_KEYS, n=1)
            raise InputError(f'unknown key "{key}"',
                             hint=(f'did you mean "{close[0]}"? ' if close else "")
                             + "valid keys: " + ", ".join(CURVE_KEYS),
                             where=_where(source, key))
    hints = {"curve_date": "add curve_date = 2025-06-30",
             "kind": 'add kind = "par" (par yields) or kind = "zero" (zero rates)',
             "tenors": "add tenors = [0.5, 1, 2, 3, 5] (years)",
             "rates": "add rates = [0.015, 0.016, ...] (decimals, one per tenor)"}
    for key, hint in hints.items():
        if key not in data:
            raise InputError(f'missing required key "{key}"', hint=hint,
                             where=_where(source, key))
    curve_date = parse_date(data["curve_date"], source, "curve_date")
    kind = data["kind"]
    if kind not in KINDS:
        raise InputError(f'kind must be "par" or "zero", got {kind!r}',
                         hint='kind = "par" for par yields, "zero" for zero rates',
                         where=_where(source, "kind"))
    tenors, rates = data["tenors"], data["rates"]
    for key, vals in (("tenors", tenors), ("rates", rates)):
        if not isinstance(vals, list) or not vals or not all(is_number(v) for v in vals):
            raise InputError(f"{key} must be a non-empty list of numbers",
                             hint=hints[key], where=_where(source, key))
    if len(tenors) != len(rates):
        raise InputError(f"tenors has {len(tenors)} entries but rates has {len(rates)}",
                         hint="give one rate per tenor", where=_where(source, "rates"))
    t = np.asarray(tenors, dtype=float)
    r = np.asarray(rates, dtype=float)
    if not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise InputError("tenors must be positive and strictly increasing",
                         hint="list tenors in years from short to long, e.g. [0.5, 1, 2]",
                         where=_where(source, "tenors"))
    if not np.all(np.isfinite(r)) or np.any(np.abs(r) >= 1):
        raise InputError("rates must be decimals between -1 and 1",
                         hint="write 2.5 % as 0.025", where=_where(source, "rates"))
    name = data.get("name", "")
    if kind == "par":
        if "compounding" in data:
            raise InputError("compounding applies to zero curves only",
                             hint='par yields compound with frequency; remove "compounding"',
                             where=_where(source, "compounding"))
        freq = data.get("frequency", 1)
        if isinstance(freq, bool) or freq not in (1, 2, 4) or not isinstance(freq, int):
            raise InputError(f"frequency must be 1, 2 or 4, got {freq!r}",
                             hint="coupons per year of the par bonds",
                             where=_where(source, "frequency"))
        return bootstrap_par(curve_date, t, r, freq, name)
    if "frequency" in data:
        raise InputError("frequency applies to par curves only",
                         hint='for zero rates use compounding = "annual" or "continuous"',
                         where=_where(source, "frequency"))
    comp = data.get("compounding", "annual")
    if comp not in COMPOUNDINGS:
        raise InputError(f'compounding must be "annual" or "continuous", got {comp!r}',
                         hint='compounding = "annual" (DF = (1+r)^-t)',
                         where=_where(source, "compounding"))
    return zero_curve(curve_date, t, r, comp, name)


# --------------------------------------------------------------------------- pricing on a curve


def _check_curve_date(curve: Curve, settle: date) -> None:
    if settle < curve.curve_date:
        raise InputError(
            f"settlement date {settle} is before the curve date {curve.curve_date}",
            hint="use a curve dated on or before the settlement date", key="curve")


def curve_value(fl: Flows, curve: Curve, spread=0.0) -> float | np.ndarray:
    """Dirty value of remaining flows on a curve plus a Z-spread [CNY].

    ``V = sum_k CF_k DF(t_k) exp(-s t_k) / (DF(t_s) exp(-s t_s))`` with
    ``t_s`` the settlement time (Hull ch. 4; Fabozzi ch. 5, zero-volatility
    spread).  Vectorised over ``spread`` [1/year, continuously compounded].
    """
    _check_curve_date(curve, fl.settle)
    ts = curve.time(fl.settle)
    tk = np.array([curve.time(d) for d in fl.dates])
    fwd = curve.discount(tk) / curve.discount(ts)
    s = np.asarray(spread, dtype=float)
    out = (fl.amount * fwd * np.exp(-s[..., None] * (tk - ts))).sum(axis=-1)
    return float(out) if s.ndim == 0 else out


def curve_dirty_price(bond: Bond, settle: date, curve: Curve, spread=0.0
                      ) -> float | np.ndarray:
    """Dirty price from a curve and a Z-spread [CNY per 100 outstanding face]."""
    fl = remaining_flows(bond, settle)
    return curve_value(fl, curve, spread) * 100.0 / fl.outstanding


def solve_z_spread(fl: Flows, curve: Curve, dirty_value: float) -> float:
    """Z-spread that reprices ``fl`` on ``curve`` to ``dirty_value`` [CNY] [1/year].

    The value is strictly decreasing in the spread; a bracket is widened from
    +-5 % until it holds the root, then Brent's method
    (``scipy.optimize.brentq``).
    """
    if not np.isfinite(dirty_value) or dirty_value <= 0:
        raise InputError(f"price must be positive, got {dirty_value}",
                         hint="give the price per 100 face, e.g. 99.85", key="price")

    def g(s: float) -> float:
        return curve_value(fl, curve, s) - dirty_value

    lo, hi = -0.05, 0.05
    while g(lo) < 0:
        lo *= 2
        if lo < -10:
            raise InputError("price too high for any Z-spread over this curve",
                             hint="check the price (per 100 face; clean unless given as a dirty price)",
                             key="price")
    while g(hi) > 0:
        hi *= 2
        if hi > 100:
            raise InputError("price too low for any Z-spread over this curve",
                             hint="check the price (per 100 face; clean unless given as a dirty price)",
                             key="price")
    return float(brentq(g, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500))


def z_spread(bond: Bond, settle: date, curve: Curve, price: float, *, clean: bool = True
             ) -> float:
    """Z-spread of a bond quoted at ``price`` over ``curve`` [1/year, continuous].

    Parameters
    ----------
    price : float
        [CNY per 100 outstanding face], clean unless ``clean=False``.
    """
    fl = remaining_flows(bond, settle)
    return solve_z_spread(fl, curve, dirty_value_of_quote(fl, price, clean))


def risky_value(fl: Flows, curve: Curve, hazard: float, recovery: float,
                steps_per_year: int = 52) -> float:
    """Dirty value of remaining flows under default risk [CNY].

    Constant hazard rate ``lambda``, survival ``Q(t) = exp(-lambda (t - t_s))``,
    recovery ``R`` of the principal outstanding at default, paid at default
    (O'Kane 2008, ch. 3)::

        V = sum_k CF_k P(t_k) Q(t_k) + R * integral N(u) P(u) (-dQ(u))

    with ``P(u) = DF(u)/DF(t_s)``.  The integral is a midpoint sum on a grid of
    at most ``1/steps_per_year`` years, aligned with the payment dates
    (principal is constant between them).  ``lambda = 0`` gives the risk-free
    curve value exactly.

    Parameters
    ----------
    hazard : float
        Default intensity [1/year], >= 0.
    recovery : float
        Recovery rate, fraction of outstanding principal in [0, 1].
    """
    if not (np.isfinite(hazard) and hazard >= 0):
        raise InputError(f"hazard rate must be >= 0, got {hazard}",
                         hint="give a decimal per year, e.g. 0.02 or 2%", key="hazard")
    if not (0.0 <= recovery <= 1.0):
        raise InputError(f"recovery must be in [0, 1], got {recovery}",
                         hint="give a fraction, e.g. 0.4 or 40%", key="recovery")
    _check_curve_date(curve, fl.settle)
    ts = curve.time(fl.settle)
    tk = np.array([curve.time(d) for d in fl.dates])
    df_s = curve.discount(ts)
    surv = np.exp(-hazard * (tk - ts))
    value = float((fl.amount * curve.discount(tk) / df_s * surv).sum())
    if hazard == 0.0 or recovery == 0.0:
        return value
    # principal outstanding during (t_{k-1}, t_k]: what is repaid at t_k and later
    outstanding = np.cumsum(fl.principal[::-1])[::-1]
    edges = np.concatenate(([ts], tk))
    rec = 0.0
    for a, b, n in zip(edges[:-1], edges[1:], outstanding):
        m = max(1, int(math.ceil((b - a) * steps_per_year)))
        u = np.linspace(a, b, m + 1)
        q = np.exp(-hazard * (u - ts))
        mid = 0.5 * (u[:-1] + u[1:])
        rec += n * float((curve.discount(mid) / df_s * (q[:-1] - q[1:])).sum())
    return value + recovery * rec


def risky_dirty_price(bond: Bond, settle: date, curve: Curve, hazard: float,
                      recovery: float, steps_per_year: int = 52) -> float:
    """Credit-risky dirty price [CNY per 100 outstanding face]; see :func:`risky_value`."""
    fl = remaining_flows(bond, settle)
    return risky_value(fl, curve, hazard, recovery, steps_per_year) * 100.0 / fl.outstanding
