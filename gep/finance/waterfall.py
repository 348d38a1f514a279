"""Cash-flow waterfall of a debt: a debt-service reserve account (DSRA) and a cash sweep.

Each period ``k``, on every Monte Carlo path (vectorised over paths; the loop
runs over the tens of payment dates, each step depending on the last):

1. the reserve balance earns ``interest_rate`` for the period:
   ``B ← B (1 + r_B Δ_k)``;
2. CFADS pays the debt service due, ``DS_k``; a shortfall is **drawn** from the
   reserve, ``draw = min(DS_k − CFADS_k, B)``; what the reserve cannot cover
   is a payment **shortfall** (a default on the debt);
3. cash left over **tops up** the reserve to its target ``T_k``: the debt
   service falling due in the ``target_months`` months after date ``k``
   (Yescombe 2014, 14.4.1: typically six months of debt service);
4. reserve money above the target is **released** (it returns to the sponsor
   with the distributions; at maturity the target is 0 and all of it is
   released);
5. a share ``s`` of the cash still left is **swept** to prepay principal,
   pro rata over the remaining instalments (every later coupon and principal
   payment shrinks by the same factor; Yescombe 2014, 14.4.4, cash sweep);
6. the rest is distributed.

The reserve starts with ``initial``: ``"target"`` (funded from the bond
proceeds at issue, so the proceeds left for the projects are principal −
``T_0``), a fixed amount [CNY], or 0 (funded from cash flows).

Sizing with a waterfall: the principal scales the debt service (and the
reserve target and a ``"target"`` initial funding) by ``λ = P / face``; a path
defaults iff some period has a shortfall, and a larger ``λ`` never pays more
of the debt service, so each path has a largest ``λ`` without a shortfall,
found by bisection on all paths at once (:func:`max_scale`).  The largest
principal whose default probability stays at or below ``α`` is the order
statistic ``λ_(⌊αN⌋+1) · face`` of the paths (as without a waterfall).

References
----------
Yescombe, E. R. (2014), *Principles of Project Finance*, 2nd ed., Academic
Press, ch. 14.4 (reserve accounts, cash sweep) and 12 (cover ratios).
Moody's Investors Service (2022), *Generic Project Finance Methodology*
(DSRA as liquidity; DSCR on CFADS before reserve draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from gep.errors import InputError
from gep.finance import daycount as dc

RESERVE_KEYS = ("target_months", "initial", "interest_rate")
SWEEP_KEYS = ("share",)


@dataclass(frozen=True)
class Reserve:
    """Debt-service reserve account terms.

    Attributes
    ----------
    target_months : float
        Target = debt service due within this many months after each payment date [months].
    initial : str or float
        ``"target"`` (funded at issue from the proceeds), or an amount [CNY] (0: from cash flows).
    interest_rate : float
        Simple interest earned on the balance [1/yr].
    """

    target_months: float = 6.0
    initial: Any = "target"
    interest_rate: float = 0.0

    def as_dict(self) -> dict:
        return {"target_months": self.target_months, "initial": self.initial, "interest_rate": self.interest_rate}


@dataclass(frozen=True)
class Sweep:
    """Cash sweep: ``share`` of the cash left after debt service and reserve top-up prepays principal."""

    share: float

    def as_dict(self) -> dict:
        return {"share": self.share}


@dataclass(frozen=True)
class Waterfall:
    """A reserve account, a cash sweep, or both."""

    reserve: Reserve | None = None
    sweep: Sweep | None = None

    def __bool__(self) -> bool:
        return self.reserve is not None or self.sweep is not None

    def as_dict(self) -> dict:
        return {"reserve": None if self.reserve is None else self.reserve.as_dict(),
                "sweep": None if self.sweep is None else self.sweep.as_dict()}


def _num(table: Mapping, key: str, where: str, lo: float, hi: float, hint: str, default: float) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise InputError(f"{key} must be a number in [{lo:g}, {hi:g}], got {v!r}", hint=hint, where=f"{where}.{key}")
    return float(v)


def _table(data: Mapping, name: str, keys: tuple[str, ...], where: str) -> Mapping | None:
    t = data.get(name)
    if t is None:
        return None
    if not isinstance(t, Mapping):
        raise InputError(f"{name} must be a table", hint=f"write [{name}]", where=f"{where} {name}")
    for k in t:
        if k not in keys:
            raise InputError(f'unknown key "{k}" in [{name}]', hint="valid keys: " + ", ".join(keys),
                             where=f"{where} {name}.{k}")
    return t


def waterfall_from_dict(data: Mapping, source: str) -> Waterfall:
    """The ``[reserve]`` and ``[sweep]`` tables of a bond or loan file (both optional).

    Raises
    ------
    gep.errors.InputError
        An unknown key or a value out of range, naming the file and key.
    """
    where = f"{source}, key"
    reserve = sweep = None
    t = _table(data, "reserve", RESERVE_KEYS, where)
    if t is not None:
        initial = t.get("initial", "target")
        if initial != "target":
            initial = _num(t, "initial", f"{where} reserve", 0.0, 1e15,
                           'the opening balance in CNY, or "target" (funded from the proceeds at issue)', 0.0)
        reserve = Reserve(
            target_months=_num(t, "target_months", f"{where} reserve", 0.0, 120.0,
                               "months of debt service to hold, e.g. 6", 6.0),
            initial=initial,
            interest_rate=_num(t, "interest_rate", f"{where} reserve", -0.1, 1.0,
                               "interest earned on the balance, decimal per year, e.g. 0.015", 0.0))
    t = _table(data, "sweep", SWEEP_KEYS, where)
    if t is not None:
        if "share" not in t:
            raise InputError('missing required key "share"', hint="share of excess cash that prepays principal, e.g. 0.5",
                             where=f"{where} sweep.share")
        sweep = Sweep(_num(t, "share", f"{where} sweep", 0.0, 1.0, "a fraction in [0, 1], e.g. 0.5", 0.0))
    return Waterfall(reserve, sweep)


def reserve_targets(end: tuple, amount: np.ndarray, issue, months: float) -> np.ndarray:
    """Target balance after each date: the debt service due in the following ``months`` months [CNY].

    Parameters
    ----------
    end : tuple of datetime.date
        Payment dates, ascending.
    amount : numpy.ndarray
        Scheduled debt service on each date [CNY].
    issue : datetime.date
        Issue (drawdown) date.
    months : float
        Months of debt service to hold (whole and fractional months: the
        window is ``⌊months⌋`` calendar months plus the fraction × 30 days).

    Returns
    -------
    numpy.ndarray, shape (K + 1,)
        ``T_0`` (at issue) then ``T_k`` after payment date ``k``; ``T_K = 0``.
    """
    from datetime import timedelta

    dates = (issue,) + tuple(end)
    whole = int(math.floor(months))
    extra = timedelta(days=round((months - whole) * 30))
    out = np.zeros(len(dates))
    for i, d in enumerate(dates):
        horizon = dc.add_months(d, whole) + extra
        due = np.array([d < e <= horizon for e in end])
        out[i] = float(amount[due].sum())
    return out


@dataclass(frozen=True)
class Flow:
    """Waterfall results per path and period (shape ``(N, K)``, CNY) and per path.

    ``debt_service`` due (after any sweep), ``paid`` from cash and reserve, ``draw``,
    ``topup``, ``release``, ``sweep``, ``distribution``, ``shortfall`` (unpaid debt service),
    ``balance`` (reserve after the period), ``outstanding`` (principal during the period);
    ``initial`` the opening reserve [CNY].
    """

    debt_service: np.ndarray
    draw: np.ndarray
    topup: np.ndarray
    release: np.ndarray
    sweep: np.ndarray
    distribution: np.ndarray
    shortfall: np.ndarray
    balance: np.ndarray
    outstanding: np.ndarray
    initial: float


def run(cfads: np.ndarray, ds, wf: Waterfall, scale: np.ndarray | float = 1.0) -> Flow:
    """Run the waterfall on CFADS paths for a debt scaled by ``scale`` (principal / face).

    Parameters
    ----------
    cfads : numpy.ndarray
        Shape ``(N, K)`` [CNY].
    ds : gep.finance.coverage.DebtService
        Scheduled debt service (at ``scale = 1``).
    wf : Waterfall
    scale : float or numpy.ndarray of shape (N,)
        Principal multiplier per path.

    Returns
    -------
    Flow
    """
    cfads = np.asarray(cfads, dtype=float)
    n, k_count = cfads.shape
    lam = np.broadcast_to(np.asarray(scale, dtype=float), (n,))
    sched_out = ds.outstanding
    out_after = np.concatenate((sched_out[1:], [0.0]))  # scheduled principal after each payment
    res = wf.reserve
    share = wf.sweep.share if wf.sweep is not None else 0.0
    if res is not None:
        targets = reserve_targets(ds.periods.end, ds.amount, ds.periods.start[0], res.target_months)
        initial = lam * targets[0] if res.initial == "target" else np.full(n, float(res.initial))
    else:
        targets = np.zeros(k_count + 1)
        initial = np.zeros(n)
    balance = initial.copy()
    factor = np.ones(n)  # remaining principal / scheduled remaining principal
    names = ("debt_service", "draw", "topup", "release", "sweep", "distribution", "shortfall", "balance", "outstanding")
    rec = {name: np.zeros((n, k_count)) for name in names}
    for k in range(k_count):
        due = lam * factor * ds.amount[k]
        rec["outstanding"][:, k] = lam * factor * sched_out[k]
        if res is not None and res.interest_rate:
            balance = balance * (1.0 + res.interest_rate * ds.periods.years[k])
        cash = cfads[:, k]
        from_cash = np.clip(cash, 0.0, due)
        draw = np.minimum(due - from_cash, balance)
        balance = balance - draw
        surplus = np.maximum(cash - due, 0.0)
        target = lam * factor * targets[k + 1]
        topup = np.minimum(surplus, np.maximum(target - balance, 0.0))
        balance = balance + topup
        surplus = surplus - topup
        release = np.maximum(balance - target, 0.0)
        balance = balance - release
        remaining = lam * factor * out_after[k]
        sweep = np.minimum(share * surplus, remaining)
        if out_after[k] > 0:
            factor = np.where(remaining > 0, factor * (1.0 - sweep / np.where(remaining > 0, remaining, 1.0)), factor)
        for name, value in (("debt_service", due), ("draw", draw), ("topup", topup), ("release", release),
                            ("sweep", sweep), ("distribution", surplus - sweep + release),
                            ("shortfall", due - from_cash - draw), ("balance", balance)):
            rec[name][:, k] = value
    return Flow(initial=float(initial.mean()), **rec)


def max_scale(cfads: np.ndarray, ds, wf: Waterfall, iterations: int = 60) -> np.ndarray:
    """Largest principal multiplier ``λ`` without a debt-service shortfall, per path.

    Bisection on all paths at once: ``λ = 0`` never defaults; the upper end
    doubles from 1 until every path defaults (at most 2^40).  60 halvings
    leave a relative error below 1e-15 of the bracket.
    """
    n = cfads.shape[0]

    def ok(lam: np.ndarray) -> np.ndarray:
        return ~np.any(run(cfads, ds, wf, lam).shortfall > 1e-9 * np.maximum(lam, 1e-300)[:, None] * ds.face, axis=1)

    lo = np.zeros(n)
    hi = np.ones(n)
    for _ in range(40):
        good = ok(hi)
        if not good.any():
            break
        lo = np.where(good, hi, lo)
        hi = np.where(good, hi * 2.0, hi)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        good = ok(mid)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid)
    return lo
