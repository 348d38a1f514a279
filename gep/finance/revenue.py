"""Revenue streams that repay ecological debt, and their seeded Monte Carlo paths.

Three kinds of stream (``docs/bonds.md``, "Revenue file"), each an annual
flow booked per debt-service period:

credit sales (:class:`CreditSales`)
    ``volume [unit/yr] × share × (1 + g)^t × P(t) × Δ`` where ``P`` is a
    geometric Brownian motion (GBM) of the credit price [CNY/unit]: capacity
    credits (t/yr of a pollutant) or carbon credits (t CO2e).
government purchase of ecological products (:class:`GovernmentPurchase`)
    ``share × GEP(t) × Δ`` (basis ``level``) or ``share × max(GEP(t) − GEP_base, 0) × Δ``
    (basis ``increase``), with ``GEP(t) = GEP_0 (1 + g)^t F(t)`` and ``F`` a
    mean-one log-normal factor of volatility σ (σ = 0: deterministic growth).
    Lishui's Jingning Daju township (景宁大均乡, 2018) was paid by the county
    for the ecological products it supplied, valued from its GEP.
fixed fees and costs (:class:`FixedFee`)
    ``± amount [CNY/yr] × (1 + g)^t F(t) × Δ`` (tourism fees; a ``cost`` is
    subtracted, so that the total is the cash flow available for debt service).

Time: ``t`` is in years from the start of the debt (its issue date), measured in
the debt's own coupon periods (``t_k = Σ fraction_j / f``: a regular annual
period is exactly one year), and ``Δ`` is the part of the period the stream is
active, in the same years.  Amounts are booked at the end of each period at the
period-end price, volume and GEP.

Random numbers: stream ``i`` (0-based, in file order) draws from
``numpy.random.Generator(numpy.random.PCG64(seed).jumped(i))`` (stream 0 is
exactly ``Generator(PCG64(seed))``): a stream's numbers depend only on the seed
and its position, so appending a stream or changing one in place leaves the
others' paths unchanged (common random numbers between revenue files).  Paths are vectorised: one ``(paths, periods)`` array of
standard normals per stochastic stream, no Python loop over paths.

References
----------
Glasserman, P. (2004), *Monte Carlo Methods in Financial Engineering*, Springer,
section 3.2 (exact simulation of geometric Brownian motion on a time grid).
Campbell, J. Y., Lo, A. W. & MacKinlay, A. C. (1997), *The Econometrics of
Financial Markets*, Princeton, section 9.3 (estimating the drift and volatility
of a log-normal price from log returns, irregular sampling).
Hull, J. C., *Options, Futures, and Other Derivatives*, ch. 15 (the log-normal
property ``E[P_t] = P_0 e^{μt}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping, Sequence

import numpy as np

from gep.errors import InputError

__all__ = [
    "Periods",
    "PriceModel",
    "Calibration",
    "CreditSales",
    "GovernmentPurchase",
    "FixedFee",
    "STREAM_KINDS",
    "stream_generator",
    "gbm_paths",
    "mean_one_factor",
    "daily_vwap",
    "calibrate_gbm",
    "simulate_stream",
    "simulate",
]

#: Days per year of the calendar time used to annualise price histories [days/yr].
DAYS_PER_YEAR = 365.0


# --------------------------------------------------------------------------- time grid


@dataclass(frozen=True)
class Periods:
    """The debt-service periods on which revenue is booked.

    Attributes
    ----------
    start, end : tuple of datetime.date
        Period start and payment (end) date.
    years : numpy.ndarray
        Length of each period [years] (``fraction / frequency``).
    time : numpy.ndarray
        Time of each payment from the start of the debt, ``cumsum(years)`` [years].
    """

    start: tuple[date, ...]
    end: tuple[date, ...]
    years: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return len(self.end)

    @classmethod
    def from_fractions(cls, start: Sequence[date], end: Sequence[date], fraction: np.ndarray,
                       frequency: int) -> "Periods":
        """Periods from a bond schedule's dates and period lengths [regular periods]."""
        years = np.asarray(fraction, dtype=float) / float(frequency)
        return cls(tuple(start), tuple(end), years, np.cumsum(years))

    def accrual(self, active_from: date | None = None, active_to: date | None = None) -> np.ndarray:
        """Years of each period during which a stream is active [years].

        The period length is scaled by the share of its calendar days that fall in
        ``[active_from, active_to]`` (either end open when None).

        Parameters
        ----------
        active_from, active_to : datetime.date, optional
            First and last day of the stream.

        Returns
        -------
        numpy.ndarray
            ``Δ_k`` [years], 0 for periods outside the stream's dates.
        """
        if active_from is None and active_to is None:
            return self.years.copy()
        lo = np.array([(s - date(1970, 1, 1)).days for s in self.start], dtype=float)
        hi = np.array([(e - date(1970, 1, 1)).days for e in self.end], dtype=float)
        a = -np.inf if active_from is None else float((active_from - date(1970, 1, 1)).days)
        b = np.inf if active_to is None else float((active_to - date(1970, 1, 1)).days)
        overlap = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None)
        return self.years * overlap / (hi - lo)


# --------------------------------------------------------------------------- price model


@dataclass(frozen=True)
class Calibration:
    """Drift and volatility of a log-normal price estimated from a price history.

    Daily volume-weighted average prices ``P_i`` on dates ``t_i`` (calendar days /
    365 [years]); log returns ``r_i = ln(P_i / P_{i-1})`` over ``Δ_i = t_i − t_{i-1}``.
    Maximum-likelihood estimates for GBM with irregular sampling (Campbell, Lo &
    MacKinlay 1997, 9.3), variance with ``n − 1`` degrees of freedom::

        ν̂ = Σ r_i / Σ Δ_i = ln(P_n / P_0) / T          log-price drift [1/yr]
        σ̂² = Σ (r_i − ν̂ Δ_i)² / Δ_i / (n − 1)          [1/yr]
        μ̂ = ν̂ + σ̂² / 2                                 drift of E[P_t] = P_0 e^{μt}
        se(ν̂) = σ̂ / √T,   se(σ̂) ≈ σ̂ / √(2 (n − 1))

    The drift of a short history is very uncertain (``se(ν̂) = σ̂/√T`` does not
    shrink with more frequent sampling); it is reported, not hidden.

    Attributes
    ----------
    source : str
        Where the prices came from (file, or ledger and instrument).
    first_date, last_date : datetime.date
        Estimation window actually used (first and last trading day).
    n_trades : int
        Price records in the window.
    n_days : int
        Trading days (one VWAP each).
    n_returns : int
        Log returns (``n_days − 1``).
    years : float
        ``T``, window length [years].
    log_drift, volatility, drift : float
        ``ν̂`` [1/yr], ``σ̂`` [1/√yr], ``μ̂`` [1/yr].
    se_log_drift, se_volatility : float
        Standard errors of ``ν̂`` and ``σ̂``.
    last_price : float
        VWAP of the last trading day [CNY/unit].
    """

    source: str
    first_date: date
    last_date: date
    n_trades: int
    n_days: int
    n_returns: int
    years: float
    log_drift: float
    volatility: float
    drift: float
    se_log_drift: float
    se_volatility: float
    last_price: float

    def as_dict(self) -> dict:
        """JSON-ready record (the ``calibration`` entry of ``coverage.json``)."""
        return {
            "source": self.source,
            "method": "GBM maximum likelihood on log returns of daily volume-weighted average prices "
                      "(Beijing dates, calendar days / 365)",
            "window": {"first_date": self.first_date.isoformat(), "last_date": self.last_date.isoformat(),
                       "years": self.years},
            "sample": {"trades": self.n_trades, "trading_days": self.n_days, "log_returns": self.n_returns},
            "log_drift": self.log_drift, "se_log_drift": self.se_log_drift,
            "volatility": self.volatility, "se_volatility": self.se_volatility,
            "drift": self.drift, "last_price": self.last_price,
        }


@dataclass(frozen=True)
class PriceModel:
    """Log-normal (GBM) price of a credit: ``P_t = P_0 exp((μ − σ²/2) t + σ W_t)``.

    Attributes
    ----------
    initial : float
        ``P_0`` at the start of the debt [CNY per unit].
    drift : float
        ``μ`` [1/yr], so that ``E[P_t] = P_0 e^{μt}``.
    volatility : float
        ``σ`` [1/√yr], ≥ 0 (0: deterministic price path).
    calibration : Calibration, optional
        Estimates the model used (when calibrated to a price history).
    given : tuple of str
        Which of ``initial``, ``drift``, ``volatility`` were given in the file
        (the others came from the calibration).
    """

    initial: float
    drift: float
    volatility: float
    calibration: Calibration | None = None
    given: tuple[str, ...] = ("initial", "drift", "volatility")

    def as_dict(self) -> dict:
        out = {"model": "GBM", "initial": self.initial, "drift": self.drift, "volatility": self.volatility,
               "given": list(self.given), "estimated": [k for k in ("initial", "drift", "volatility")
                                                       if k not in self.given]}
        if self.calibration is not None:
            out["calibration"] = self.calibration.as_dict()
        return out


def stream_generator(seed: int, index: int) -> np.random.Generator:
    """The generator of stream ``index``: ``Generator(PCG64(seed).jumped(index))``.

    Parameters
    ----------
    seed : int
        Seed of the run (recorded in the manifest), ≥ 0.
    index : int
        0-based position of the stream in the revenue file.
    """
    return np.random.Generator(np.random.PCG64(int(seed)).jumped(int(index)))


def gbm_paths(rng: np.random.Generator, initial: float, drift: float, volatility: float,
              time: np.ndarray, n_paths: int) -> np.ndarray:
    """Exact GBM samples at the grid times (Glasserman 2004, 3.2.1).

    ``ln P_k = ln P_0 + Σ_{j≤k} ((μ − σ²/2) Δ_j + σ √Δ_j Z_j)``, ``Z ~ N(0, 1)``,
    ``Δ_j = t_j − t_{j−1}`` (``t_0 = 0``); one ``(n_paths, K)`` draw, cumulated
    along the time axis.  With ``σ = 0`` no numbers are drawn and every path is
    ``P_0 e^{μt}``.

    Parameters
    ----------
    rng : numpy.random.Generator
    initial : float
        ``P_0`` [CNY per unit], > 0.
    drift : float
        ``μ`` [1/yr].
    volatility : float
        ``σ`` [1/√yr], ≥ 0.
    time : numpy.ndarray
        Increasing times ``t_k`` > 0 [years], shape ``(K,)``.
    n_paths : int
        Number of paths ``N``.

    Returns
    -------
    numpy.ndarray
        Prices, shape ``(N, K)`` [CNY per unit].
    """
    time = np.asarray(time, dtype=float)
    if volatility == 0.0:
        return np.broadcast_to(initial * np.exp(drift * time), (n_paths, time.size)).copy()
    dt = np.diff(time, prepend=0.0)
    z = rng.standard_normal((n_paths, time.size))
    steps = (drift - 0.5 * volatility**2) * dt + volatility * np.sqrt(dt) * z
    return initial * np.exp(np.cumsum(steps, axis=1))


def mean_one_factor(rng: np.random.Generator, volatility: float, time: np.ndarray,
                    n_paths: int) -> np.ndarray:
    """A log-normal factor ``F_t = exp(σ W_t − σ² t / 2)`` with ``E[F_t] = 1``.

    The GBM of :func:`gbm_paths` with ``P_0 = 1`` and ``μ = 0``: multiplies a
    deterministic growth path (GEP, fees) to make it uncertain without moving its
    mean.  ``σ = 0`` gives ones.
    """
    return gbm_paths(rng, 1.0, 0.0, volatility, time, n_paths)


def daily_vwap(days: Sequence[date], prices: Sequence[float],
               weights: Sequence[float] | None = None) -> tuple[list[date], np.ndarray]:
    """One volume-weighted average price per trading day.

    Parameters
    ----------
    days : sequence of datetime.date
        Trade date of each record.
    prices : sequence of float
        Price of each record [CNY per unit].
    weights : sequence of float, optional
        Traded amounts (any unit, only their ratios matter); equal weights when None.

    Returns
    -------
    (list of date, numpy.ndarray)
        Sorted trading days and their VWAP [CNY per unit].
    """
    p = np.asarray(prices, dtype=float)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=float)
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    uniq, inverse = np.unique(ordinals, return_inverse=True)
    value = np.bincount(inverse, weights=w * p, minlength=uniq.size)
    amount = np.bincount(inverse, weights=w, minlength=uniq.size)
    return [date.fromordinal(int(o)) for o in uniq], value / amount


def calibrate_gbm(days: Sequence[date], prices: Sequence[float], weights: Sequence[float] | None = None,
                  *, window_start: date | None = None, window_end: date | None = None,
                  source: str = "price history") -> Calibration:
    """Estimate GBM drift and volatility from a price history (see :class:`Calibration`).

    Parameters
    ----------
    days : sequence of datetime.date
        Trade date of each price record (Beijing date).
    prices : sequence of float
        Price of each record [CNY per unit], > 0.
    weights : sequence of float, optional
        Traded amount of each record (VWAP weights).
    window_start, window_end : datetime.date, optional
        Estimation window (inclusive); default the whole history.
    source : str
        Label for the report and error messages.

    Returns
    -------
    Calibration

    Raises
    ------
    gep.errors.InputError
        Fewer than three trading days in the window, or a non-positive price.
    """
    days = list(days)
    p = np.asarray(prices, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if p.size and (not np.all(np.isfinite(p)) or np.any(p <= 0)):
        raise InputError(f"{source}: prices must be positive numbers", hint="remove zero, negative or "
                         "missing prices from the history", where=source)
    if w is not None and (not np.all(np.isfinite(w)) or np.any(w <= 0)):
        raise InputError(f"{source}: traded amounts must be positive", hint="give positive amounts or "
                         "omit the amount column", where=source)
    keep = np.array([(window_start is None or d >= window_start) and (window_end is None or d <= window_end)
                     for d in days], dtype=bool)
    days = [d for d, k in zip(days, keep) if k]
    p = p[keep] if p.size else p
    w = None if w is None else w[keep]
    window = (f" in the window {window_start or '…'} to {window_end or '…'}"
              if window_start or window_end else "")
    if not days:
        raise InputError(f"{source}: no prices{window}", hint="record ledger transfers with their price, "
                         "or widen the window", where=source)
    d, vwap = daily_vwap(days, p, w)
    n = len(d) - 1
    if n < 2:
        raise InputError(
            f"{source}: {len(d)} trading day(s) of prices{window}; calibration needs at least 3",
            hint="give a longer price history, or drift and volatility directly", where=source)
    t = np.array([(x - d[0]).days for x in d], dtype=float) / DAYS_PER_YEAR
    dt = np.diff(t)
    r = np.diff(np.log(vwap))
    total = float(t[-1])
    nu = float(r.sum() / total)
    var = float(np.sum((r - nu * dt) ** 2 / dt) / (n - 1))
    sigma = math.sqrt(var)
    return Calibration(
        source=source, first_date=d[0], last_date=d[-1], n_trades=len(days), n_days=len(d), n_returns=n,
        years=total, log_drift=nu, volatility=sigma, drift=nu + 0.5 * var,
        se_log_drift=sigma / math.sqrt(total), se_volatility=sigma / math.sqrt(2.0 * (n - 1)),
        last_price=float(vwap[-1]),
    )


# --------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class CreditSales:
    """Sales of capacity or carbon credits: ``volume × share × (1+g)^t × P(t) × Δ`` [CNY].

    Attributes
    ----------
    name : str
    volume : float
        Annual volume at the start of the debt [unit/yr] (t/yr of assimilative
        capacity, or t CO2e per year).
    unit : str
        Unit of one credit (``tCO2e``, ``t/yr COD``...), the unit the price is per.
    price : PriceModel
        Price per unit [CNY/unit].
    share : float
        Share of the volume sold each year [-], in (0, 1].
    growth : float
        Annual compound growth of the volume [1/yr].
    active_from, active_to : datetime.date, optional
        Dates the sales start and stop.
    source : dict
        Where the volume came from (manifest, ledger, given), for the report.
    """

    name: str
    volume: float
    unit: str
    price: PriceModel
    share: float = 1.0
    growth: float = 0.0
    active_from: date | None = None
    active_to: date | None = None
    source: Mapping = field(default_factory=dict)
    kind = "credit_sales"

    @property
    def stochastic(self) -> bool:
        return self.price.volatility > 0


@dataclass(frozen=True)
class GovernmentPurchase:
    """Government purchase of ecological products, a share of GEP or of its increase [CNY].

    Attributes
    ----------
    name : str
    gep : float
        Annual GEP at the start of the debt [CNY/yr] (from a ``gep run``; the mean of ``gep_samples`` when given).
    share : float
        Share paid [-], in (0, 1].
    basis : str
        ``"level"``: ``share × GEP(t)``; ``"increase"``: ``share × max(GEP(t) − base_gep, 0)``.
    base_gep : float, optional
        Reference GEP of the increase [CNY/yr] (basis ``increase``).
    growth : float
        Annual compound growth of GEP [1/yr].
    volatility : float
        Volatility of the mean-one GEP factor [1/√yr].
    active_from, active_to : datetime.date, optional
    source : dict
    """

    name: str
    gep: float
    share: float
    basis: str = "level"
    base_gep: float | None = None
    growth: float = 0.0
    volatility: float = 0.0
    active_from: date | None = None
    active_to: date | None = None
    source: Mapping = field(default_factory=dict)
    #: GEP of the samples of a ``gep uncertainty`` run [CNY/yr]: each path draws its starting GEP from them
    #: (``gep`` is then their mean).
    gep_samples: np.ndarray | None = field(default=None, compare=False, repr=False)
    kind = "government_purchase"

    @property
    def stochastic(self) -> bool:
        return self.volatility > 0 or self.gep_samples is not None


@dataclass(frozen=True)
class FixedFee:
    """A fixed annual fee (tourism) or cost: ``sign × amount × (1+g)^t F(t) × Δ`` [CNY].

    Attributes
    ----------
    name : str
    amount : float
        Annual amount at the start of the debt [CNY/yr], ≥ 0.
    growth : float
        Annual compound growth [1/yr].
    volatility : float
        Volatility of the mean-one factor [1/√yr] (0: fixed).
    sign : int
        +1 for a fee, −1 for a cost (kind ``cost``).
    active_from, active_to : datetime.date, optional
    """

    name: str
    amount: float
    growth: float = 0.0
    volatility: float = 0.0
    sign: int = 1
    active_from: date | None = None
    active_to: date | None = None
    source: Mapping = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "fixed_fee" if self.sign > 0 else "cost"

    @property
    def stochastic(self) -> bool:
        return self.volatility > 0


Stream = CreditSales | GovernmentPurchase | FixedFee

#: The stream kinds of a revenue file.
STREAM_KINDS = ("credit_sales", "government_purchase", "fixed_fee", "cost")


def _growth(growth: float, time: np.ndarray) -> np.ndarray:
    return (1.0 + growth) ** time


def simulate_stream(stream: Stream, periods: Periods, rng: np.random.Generator, n_paths: int) -> np.ndarray:
    """Cash of one stream per path and period [CNY], shape ``(n_paths, K)``.

    Parameters
    ----------
    stream : CreditSales, GovernmentPurchase or FixedFee
    periods : Periods
    rng : numpy.random.Generator
        The stream's generator (:func:`stream_generator`).
    n_paths : int

    Returns
    -------
    numpy.ndarray
        Revenue (negative for a cost) booked at each payment date [CNY].
    """
    t = periods.time
    delta = periods.accrual(stream.active_from, stream.active_to)
    if isinstance(stream, CreditSales):
        p = stream.price
        price = gbm_paths(rng, p.initial, p.drift, p.volatility, t, n_paths)
        return stream.volume * stream.share * _growth(stream.growth, t) * delta * price
    if isinstance(stream, GovernmentPurchase):
        factor = mean_one_factor(rng, stream.volatility, t, n_paths)
        # the starting GEP: the run's, or per path one of the samples of an uncertainty run (drawn after the
        # factor's normals, so the factor is the same as with a fixed GEP: common random numbers)
        gep0 = stream.gep if stream.gep_samples is None else np.asarray(stream.gep_samples)[rng.integers(0, len(stream.gep_samples), n_paths)][:, None]
        gep = gep0 * _growth(stream.growth, t) * factor
        if stream.basis == "increase":
            gep = np.maximum(gep - float(stream.base_gep or 0.0), 0.0)
        return stream.share * gep * delta
    if isinstance(stream, FixedFee):
        factor = mean_one_factor(rng, stream.volatility, t, n_paths)
        return stream.sign * stream.amount * _growth(stream.growth, t) * delta * factor
    raise TypeError(f"not a revenue stream: {stream!r}")  # pragma: no cover - programming error


def simulate(streams: Iterable[Stream], periods: Periods, seed: int, n_paths: int) -> dict[str, np.ndarray]:
    """Paths of every stream, stream ``i`` on :func:`stream_generator` ``(seed, i)``.

    Parameters
    ----------
    streams : iterable of streams
        In file order.
    periods : Periods
    seed : int
        ≥ 0.
    n_paths : int
        ≥ 1.

    Returns
    -------
    dict
        Stream name → ``(n_paths, K)`` cash per period [CNY], in stream order.
    """
    return {s.name: simulate_stream(s, periods, stream_generator(seed, i), n_paths)
            for i, s in enumerate(streams)}
