"""Debt-service coverage of an ecological bond or a GEP-backed loan, by Monte Carlo.

Pure functions over arrays: the debt service comes from the bond schedule
(:func:`gep.finance.schedule.schedule`), the cash flow available for debt
service (CFADS) per path and period from :mod:`gep.finance.revenue`.  With
``k`` a debt-service period (coupon date), ``DS_k`` its coupon plus principal
and ``N`` paths:

DSCR (debt-service coverage ratio), per path and period::

    DSCR_k = CFADS_k / DS_k                                  (undefined when DS_k = 0)

minimum DSCR
    ``min_k DSCR_k`` of each path (percentiles over paths), and the minimum over
    periods of the DSCR of the mean CFADS.
LLCR (loan-life coverage ratio), at the start of period ``k``::

    LLCR_k = Σ_{j≥k} CFADS_j · DF_j / DF_{k−1}  /  outstanding_k
    DF_j = (1 + r/f)^(−f·t_j)

    with ``r`` the discount rate (default: the coupon or loan rate, i.e. the cost
    of debt), ``f`` the coupon frequency and ``t_j`` the payment time in years
    (the CCDC discount exponent of :mod:`gep.finance.pricing` at the issue date);
    the loan life is the remaining debt-service periods.
probability of a breach
    ``p_k = #{DSCR_k < 1} / N`` per period and ``p = #{min_k DSCR_k < 1} / N``
    over the loan life, each with its Monte Carlo standard error
    ``√(p (1 − p) / N)`` (binomial; Glasserman 2004, 1.1.1).  When no path
    breaches, ``3 / N`` is reported as a 95 % upper bound (the "rule of three").
sizing
    Debt service scales with the principal for a fixed coupon and amortisation
    profile (``DS_k(P) = P · u_k``), so a path breaches a target DSCR ``c`` iff
    ``P > m = min_k CFADS_k / (c · u_k)``.  The largest principal whose breach
    probability stays at or below ``α`` is the order statistic
    ``m_(⌊αN⌋ + 1)`` of the paths' ``m`` (exact for the simulated paths).
    With a reserve account or a cash sweep (:mod:`gep.finance.waterfall`) a
    path breaches when the reserve cannot cover a shortfall (a payment
    default); its largest principal is found by bisection.
standard errors of the means
    mean revenue and mean DSCR per period, ``s / √N`` with ``s`` the sample
    standard deviation over paths (``N`` the paths with a DSCR) (Glasserman
    2004, 1.1.1).

References
----------
Moody's Investors Service, *Generic Project Finance Methodology* (2022):
DSCR = CFADS / (scheduled interest + principal) per period; LLCR = NPV of
CFADS over the remaining loan life (discounted at the cost of debt) / debt
outstanding.
S&P Global Ratings, *Project Finance Operations Methodology* (2019): minimum
DSCR over the debt tenor.
Yescombe, E. R. (2014), *Principles of Project Finance*, 2nd ed., ch. 12.
Glasserman, P. (2004), *Monte Carlo Methods in Financial Engineering*, Springer.
Hyndman, R. J. & Fan, Y. (1996), Sample quantiles in statistical packages,
*The American Statistician* 50(4) (percentiles: their definition 7, numpy's default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from gep.finance import waterfall as wfall
from gep.finance.revenue import Periods
from gep.finance.schedule import Bond, schedule as make_schedule

__all__ = [
    "PERCENTILES",
    "DebtService",
    "debt_service",
    "discount_factors",
    "dscr",
    "breach_probability",
    "mc_standard_error",
    "llcr",
    "Sizing",
    "max_principal",
    "Coverage",
    "coverage",
]

#: Percentiles reported for revenue, DSCR and LLCR [%].
PERCENTILES = (5.0, 50.0, 95.0)


@dataclass(frozen=True)
class DebtService:
    """Scheduled debt service of a bond or loan, one entry per payment date.

    Attributes
    ----------
    periods : Periods
        Dates and times of the debt-service periods.
    outstanding : numpy.ndarray
        Principal outstanding during each period [CNY].
    coupon, principal : numpy.ndarray
        Interest and principal paid at the end of each period [CNY].
    face : float
        Principal at the start [CNY].
    rate : float
        Coupon (interest) rate [1/yr], the default discount rate of the LLCR.
    frequency : int
        Payments per year.
    """

    periods: Periods
    outstanding: np.ndarray
    coupon: np.ndarray
    principal: np.ndarray
    face: float
    rate: float
    frequency: int

    @property
    def amount(self) -> np.ndarray:
        """Debt service ``coupon + principal`` per period [CNY]."""
        return self.coupon + self.principal

    def __len__(self) -> int:
        return len(self.periods)


def debt_service(bond: Bond) -> DebtService:
    """The debt service of a bond (or of a loan described as a bond) from its schedule.

    Parameters
    ----------
    bond : gep.finance.schedule.Bond

    Returns
    -------
    DebtService
        Every period from the issue date to maturity, ending on the payment
        dates (the coupon dates adjusted by the bond's calendar, if any).
    """
    s = make_schedule(bond)
    periods = Periods.from_fractions((bond.issue_date,) + s.payment[:-1], s.payment, s.fraction, bond.frequency)
    return DebtService(periods, s.outstanding.astype(float), s.coupon.astype(float),
                       s.principal.astype(float), float(bond.face), float(bond.coupon_rate), bond.frequency)


def discount_factors(ds: DebtService, rate: float) -> np.ndarray:
    """``DF_k = (1 + r/f)^(−f·t_k)`` at each payment date [-].

    Parameters
    ----------
    ds : DebtService
    rate : float
        Annual discount rate ``r``, compounded ``f`` times a year [1/yr]; ``1 + r/f > 0``.
    """
    f = ds.frequency
    return (1.0 + rate / f) ** (-f * ds.periods.time)


def dscr(cfads: np.ndarray, debt: np.ndarray) -> np.ndarray:
    """``CFADS_k / DS_k`` per path and period; NaN where ``DS_k = 0`` [-].

    Parameters
    ----------
    cfads : numpy.ndarray
        Cash available for debt service, shape ``(N, K)`` [CNY].
    debt : numpy.ndarray
        Debt service, shape ``(K,)`` [CNY], ≥ 0.
    """
    debt = np.asarray(debt, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(debt > 0, cfads / np.where(debt > 0, debt, 1.0), np.nan)


def mc_standard_error(p: np.ndarray | float, n: int) -> np.ndarray | float:
    """Monte Carlo standard error of an estimated probability, ``√(p(1 − p)/N)``."""
    return np.sqrt(np.asarray(p) * (1.0 - np.asarray(p)) / n)


def breach_probability(ratio: np.ndarray, threshold: float = 1.0) -> tuple[np.ndarray, float]:
    """Share of paths with a ratio below ``threshold``: per period, and in any period.

    Parameters
    ----------
    ratio : numpy.ndarray
        DSCR per path and period, shape ``(N, K)``; NaN periods (no debt service)
        never breach.
    threshold : float
        Covenant level (1 = cash just covers debt service).

    Returns
    -------
    (numpy.ndarray, float)
        ``p_k`` (shape ``(K,)``) and ``P(min_k DSCR_k < threshold)``.
    """
    below = np.nan_to_num(ratio, nan=np.inf) < threshold
    return below.mean(axis=0), float(below.any(axis=1).mean())


def mean_and_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over paths (axis 0) and its standard error ``s/√n``, ignoring NaN [same unit as x].

    ``s`` is the sample standard deviation (``ddof = 1``) and ``n`` the number
    of paths with a value; columns with fewer than two values get NaN.
    """
    x = np.asarray(x, dtype=float)
    n = np.sum(~np.isnan(x), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(x, axis=0)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        dev = np.where(np.isnan(x), 0.0, x - mean)
        var = np.sum(dev * dev, axis=0) / np.maximum(n - 1, 1)
        se = np.where(n > 1, np.sqrt(var / np.maximum(n, 1)), np.nan)
    return mean, se


def llcr(cfads: np.ndarray, ds: DebtService, rate: float, outstanding: np.ndarray | None = None) -> np.ndarray:
    """Loan-life coverage ratio at the start of each period, per path [-].

    ``LLCR_k = Σ_{j≥k} CFADS_j DF_j / DF_{k−1} / outstanding_k`` (``DF_0 = 1``).

    Parameters
    ----------
    cfads : numpy.ndarray
        Shape ``(N, K)`` [CNY].
    ds : DebtService
    rate : float
        Discount rate [1/yr].
    outstanding : numpy.ndarray, optional
        Principal outstanding per path and period, shape ``(N, K)`` (after a
        cash sweep); default the scheduled ``ds.outstanding``.

    Returns
    -------
    numpy.ndarray
        Shape ``(N, K)``; column 0 is the LLCR over the whole loan life.
    """
    df = discount_factors(ds, rate)
    pv = np.cumsum((cfads * df)[:, ::-1], axis=1)[:, ::-1]
    df_start = np.concatenate(([1.0], df[:-1]))
    out = ds.outstanding if outstanding is None else outstanding
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(out > 0, pv / df_start / np.where(out > 0, out, 1.0), np.nan)


@dataclass(frozen=True)
class Sizing:
    """The largest principal whose breach probability stays under a threshold.

    Attributes
    ----------
    threshold : float
        Declared maximum ``P(min DSCR < target)`` [-].
    target_dscr : float
        DSCR level that counts as a breach when undershot [-].
    max_principal : float
        Largest principal [CNY] (same coupon, term and amortisation profile).
    breach_probability : float
        ``P(min DSCR < target)`` at ``max_principal`` on the simulated paths.
    standard_error : float
        Its Monte Carlo standard error.
    band : tuple of float
        Approximate 95 % band of ``max_principal`` from the binomial spread of the
        order statistic (indices ``⌊αN⌋ ± 1.96 √(Nα(1−α))``) [CNY].
    """

    threshold: float
    target_dscr: float
    max_principal: float
    breach_probability: float
    standard_error: float
    band: tuple[float, float]
    method: str = "order statistic of min_k CFADS_k / (target * DS_k per CNY of principal)"
    reserve_funding: float = 0.0

    def as_dict(self) -> dict:
        out = {"threshold": self.threshold, "target_dscr": self.target_dscr,
               "max_principal_cny": self.max_principal, "breach_probability": self.breach_probability,
               "standard_error": self.standard_error,
               "max_principal_band_95_cny": list(self.band), "method": self.method}
        if self.reserve_funding:
            out["reserve_funded_from_proceeds_cny"] = self.reserve_funding
            out["net_proceeds_cny"] = self.max_principal - self.reserve_funding
        return out


def max_principal(cfads: np.ndarray, ds: DebtService, threshold: float, target_dscr: float = 1.0) -> Sizing:
    """Largest principal with ``P(min_k DSCR_k < target) ≤ threshold`` (same profile).

    Parameters
    ----------
    cfads : numpy.ndarray
        Shape ``(N, K)`` [CNY].
    ds : DebtService
        The debt whose profile (coupon rate, dates, amortisation shares) is scaled.
    threshold : float
        ``α`` in [0, 1).
    target_dscr : float
        ``c`` > 0.

    Returns
    -------
    Sizing
    """
    unit = ds.amount / ds.face
    pay = unit > 0
    per_path = np.min(cfads[:, pay] / (target_dscr * unit[pay]), axis=1)
    return _order_statistic(per_path, threshold, target_dscr)


def _order_statistic(per_path: np.ndarray, threshold: float, target_dscr: float, **extra) -> Sizing:
    """Sizing from each path's largest sustainable principal [CNY]: the ``⌊αN⌋ + 1``-th smallest."""
    n = per_path.shape[0]
    ordered = np.sort(np.maximum(per_path, 0.0))
    m = min(int(math.floor(threshold * n)), n - 1)
    best = float(ordered[m])
    p = float(np.mean(per_path < best))
    half = 1.96 * math.sqrt(n * threshold * (1.0 - threshold))
    lo = int(min(max(math.floor(m - half), 0), n - 1))
    hi = int(min(max(math.ceil(m + half), 0), n - 1))
    return Sizing(float(threshold), float(target_dscr), best, p, float(mc_standard_error(p, n)),
                  (float(ordered[lo]), float(ordered[hi])), **extra)


def max_principal_waterfall(cfads: np.ndarray, ds: DebtService, wf: "wfall.Waterfall", threshold: float) -> Sizing:
    """Largest principal with ``P(debt-service shortfall after reserve draws) ≤ threshold``.

    Each path's largest principal without a shortfall is ``face · λ`` with
    ``λ`` from :func:`gep.finance.waterfall.max_scale`; the sizing is their
    order statistic, as in :func:`max_principal`.  A reserve funded from the
    proceeds (``initial = "target"``) scales with the principal and is
    reported with the net proceeds.
    """
    per_path = wfall.max_scale(cfads, ds, wf) * ds.face
    sizing = _order_statistic(per_path, threshold, 1.0,
                              method="order statistic of each path's largest principal without a debt-service "
                              "shortfall after reserve draws (waterfall, bisection)")
    res = wf.reserve
    if res is not None and res.initial == "target":
        targets = wfall.reserve_targets(ds.periods.end, ds.amount, ds.periods.start[0], res.target_months)
        import dataclasses

        sizing = dataclasses.replace(sizing, reserve_funding=float(targets[0] * sizing.max_principal / ds.face))
    return sizing


def _pct(x: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Percentiles over paths (axis 0); all-NaN columns give NaN without a warning."""
    out = np.full((len(q),) + x.shape[1:], np.nan)
    ok = ~np.all(np.isnan(x), axis=0) if x.ndim > 1 else np.array(not np.all(np.isnan(x)))
    if x.ndim > 1:
        if ok.any():  # over the paths with a value (after a cash sweep some paths owe nothing)
            out[:, ok] = np.nanpercentile(x[:, ok], q, axis=0)
    elif ok:
        out = np.percentile(x, q)
    return out


@dataclass(frozen=True)
class Coverage:
    """Result of :func:`coverage`: per-period arrays and summary measures.

    Per period (shape ``(K,)``): ``revenue_mean``; ``revenue_pct``, ``dscr_pct``,
    ``llcr_pct`` (shape ``(len(percentiles), K)``); ``dscr_of_mean``;
    ``p_breach`` and ``se_breach``; ``stream_mean`` (name → ``(K,)``).
    Summary: ``min_dscr_pct`` and ``min_dscr_mean`` over the per-path minima,
    ``min_dscr_of_mean`` and its period index, ``llcr_mean`` (whole life),
    ``p_breach_any`` and ``se_breach_any``, ``pv_debt_service`` at the discount rate.
    ``revenue_mean_se``, ``dscr_mean``, ``dscr_mean_se``: Monte Carlo standard errors of the
    means per period.  ``reserve``: per-period waterfall means and shortfall
    probabilities (:func:`waterfall_summary`) when the debt has a reserve or a sweep.
    """

    debt: DebtService
    n_paths: int
    discount_rate: float
    percentiles: tuple[float, ...]
    revenue_mean: np.ndarray
    revenue_pct: np.ndarray
    stream_mean: dict[str, np.ndarray]
    dscr_of_mean: np.ndarray
    dscr_pct: np.ndarray
    p_breach: np.ndarray
    se_breach: np.ndarray
    llcr_pct: np.ndarray
    llcr_mean: float
    min_dscr_pct: np.ndarray
    min_dscr_mean: float
    min_dscr_of_mean: float
    min_dscr_period: int
    p_breach_any: float
    se_breach_any: float
    pv_debt_service: float
    pv_revenue_mean: float
    sizing: Sizing | None = None
    revenue_mean_se: np.ndarray | None = None
    dscr_mean: np.ndarray | None = None
    dscr_mean_se: np.ndarray | None = None
    reserve: dict | None = None

    def summary(self) -> dict:
        """The summary block of ``coverage.json`` (ratios [-], money [CNY])."""
        q = [f"p{p:g}" for p in self.percentiles]
        pct = lambda arr: {k: _num(v) for k, v in zip(q, arr)}  # noqa: E731
        n = self.n_paths
        out = {
            "paths": n,
            "discount_rate": self.discount_rate,
            "discounting": "DF = (1 + r/f)^(-f*t), t in years from the start of the debt",
            "debt_outstanding_cny": self.debt.face,
            "pv_debt_service_cny": self.pv_debt_service,
            "pv_revenue_mean_cny": self.pv_revenue_mean,
            "min_dscr": {**pct(self.min_dscr_pct), "mean": _num(self.min_dscr_mean),
                         "of_mean_revenue": _num(self.min_dscr_of_mean),
                         "of_mean_revenue_period": self.min_dscr_period + 1},
            "llcr": {**pct(self.llcr_pct[:, 0]), "mean": _num(self.llcr_mean)},
            "p_dscr_below_1": {"any_period": self.p_breach_any, "standard_error": self.se_breach_any,
                               "upper_95_if_none": (3.0 / n) if self.p_breach_any == 0 else None},
        }
        if self.reserve is not None:
            out["waterfall"] = self.reserve["summary"]
        if self.sizing is not None:
            out["sizing"] = self.sizing.as_dict()
        return out


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def coverage(ds: DebtService, cfads: np.ndarray, discount_rate: float | None = None,
             streams: Mapping[str, np.ndarray] | None = None,
             percentiles: Sequence[float] = PERCENTILES,
             sizing_threshold: float | None = None, target_dscr: float = 1.0,
             waterfall: "wfall.Waterfall | None" = None) -> Coverage:
    """Coverage measures of simulated CFADS paths against a debt-service schedule.

    Parameters
    ----------
    ds : DebtService
    cfads : numpy.ndarray
        Cash available for debt service, shape ``(N, K)`` [CNY].
    discount_rate : float, optional
        LLCR discount rate [1/yr]; default ``ds.rate`` (cost of debt).
    streams : mapping, optional
        Per-stream paths (name → ``(N, K)``, or their means ``(1, K)``) whose means are reported.
    percentiles : sequence of float
        Percentiles over paths [%].
    sizing_threshold : float, optional
        With a value ``α``: also size the largest principal with
        ``P(min DSCR < target_dscr) ≤ α`` (:func:`max_principal`).
    target_dscr : float
        Covenant of the sizing (without a waterfall).
    waterfall : gep.finance.waterfall.Waterfall, optional
        Reserve account and/or cash sweep: debt service, DSCR and LLCR follow
        each path's swept principal; sizing limits the shortfall probability.

    Returns
    -------
    Coverage
    """
    cfads = np.asarray(cfads, dtype=float)
    n = cfads.shape[0]
    rate = ds.rate if discount_rate is None else float(discount_rate)
    q = tuple(float(p) for p in percentiles)
    flow = wfall.run(cfads, ds, waterfall) if waterfall else None
    debt = ds.amount if flow is None else flow.debt_service
    ratio = dscr(cfads, debt)
    p_k, p_any = breach_probability(ratio, 1.0)
    mean, mean_se = mean_and_se(cfads)
    dscr_mean, dscr_se = mean_and_se(ratio)
    of_mean = dscr(mean[None, :], ds.amount if flow is None else flow.debt_service.mean(axis=0))[0]
    with np.errstate(all="ignore"):
        per_path_min = np.nanmin(np.where(np.isnan(ratio), np.inf, ratio), axis=1)
    per_path_min = np.where(np.isinf(per_path_min), np.nan, per_path_min)
    life = llcr(cfads, ds, rate, None if flow is None else flow.outstanding)
    df = discount_factors(ds, rate)
    k_min = int(np.nanargmin(of_mean))
    if sizing_threshold is None:
        sizing = None
    elif waterfall:
        sizing = max_principal_waterfall(cfads, ds, waterfall, sizing_threshold)
    else:
        sizing = max_principal(cfads, ds, sizing_threshold, target_dscr)
    return Coverage(
        debt=ds, n_paths=n, discount_rate=rate, percentiles=q,
        revenue_mean=mean, revenue_pct=_pct(cfads, q),
        stream_mean={k: np.asarray(v).mean(axis=0) for k, v in (streams or {}).items()},
        dscr_of_mean=of_mean, dscr_pct=_pct(ratio, q),
        p_breach=p_k, se_breach=mc_standard_error(p_k, n),
        llcr_pct=_pct(life, q), llcr_mean=float(life[:, 0].mean()),
        min_dscr_pct=_pct(per_path_min, q), min_dscr_mean=float(per_path_min.mean()),
        min_dscr_of_mean=float(of_mean[k_min]), min_dscr_period=k_min,
        p_breach_any=p_any, se_breach_any=float(mc_standard_error(p_any, n)),
        pv_debt_service=float(np.sum(ds.amount * df)), pv_revenue_mean=float(np.sum(mean * df)),
        sizing=sizing, revenue_mean_se=mean_se, dscr_mean=dscr_mean, dscr_mean_se=dscr_se,
        reserve=None if flow is None else waterfall_summary(flow, waterfall),
    )


def waterfall_summary(flow: "wfall.Flow", wf: "wfall.Waterfall") -> dict:
    """Per-period means [CNY] and probabilities of a waterfall run, and its summary block.

    ``periods`` (name → shape ``(K,)``): ``reserve_balance_mean``, ``reserve_draw_mean``,
    ``p_reserve_draw``, ``reserve_release_mean``, ``sweep_mean``, ``outstanding_mean``,
    ``debt_service_mean``, ``p_shortfall`` and its standard error ``p_shortfall_se``;
    ``summary``: the terms, the opening reserve, ``P(shortfall in any period)`` with its
    standard error (rule of three when none) and the mean total swept and released.
    """
    n = flow.shortfall.shape[0]
    short = flow.shortfall > 1e-9 * np.maximum(flow.debt_service, 1.0)
    p_k = short.mean(axis=0)
    p_any = float(short.any(axis=1).mean())
    periods = {
        "reserve_balance_mean": flow.balance.mean(axis=0), "reserve_draw_mean": flow.draw.mean(axis=0),
        "p_reserve_draw": (flow.draw > 0).mean(axis=0), "reserve_release_mean": flow.release.mean(axis=0),
        "sweep_mean": flow.sweep.mean(axis=0), "outstanding_mean": flow.outstanding.mean(axis=0),
        "debt_service_mean": flow.debt_service.mean(axis=0),
        "p_shortfall": p_k, "p_shortfall_se": mc_standard_error(p_k, n),
    }
    summary = {**wf.as_dict(), "reserve_opening_cny": flow.initial,
               "p_shortfall_any_period": p_any, "standard_error": float(mc_standard_error(p_any, n)),
               "upper_95_if_none": (3.0 / n) if p_any == 0 else None,
               "swept_total_mean_cny": float(flow.sweep.sum(axis=1).mean()),
               "released_total_mean_cny": float(flow.release.sum(axis=1).mean()),
               "note": "DSCR = CFADS / debt service due (reserve draws not counted); a shortfall is debt "
                       "service the reserve could not cover"}
    return {"periods": periods, "summary": summary}
