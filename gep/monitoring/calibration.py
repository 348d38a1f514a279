"""Calibration of the basin model to monitoring: decay rates and export-coefficient multipliers.

Forward model
-------------
Every capacity model of :data:`gep.capacity.models.MODELS` is linear in the target
concentration: ``W(Cs) = W(0) + Cs·(W(1) − W(0))``. Its inverse gives the concentration
at the reach's control section for a load ``L`` [t/yr]:

``C = (L − W(0)) / (W(1) − W(0))``   [mg/L]

evaluated with the same model and inputs as the capacity run (GB/T 25173-2010 forms),
with the flow measured at the section at the sampling time (design flow when none
was measured). For the 1-D mid-reach model this is
``C = (L/31.536 + C0·Q·e^(−kx/2u))·e^(−kx/2u)/(Q + q)``. The load of the reach's
catchment and pollutant is ``L = L_point + m_p·L_nonpoint`` (export-coefficient method,
:func:`gep.capacity.loads.nonpoint_loads`).

Fitted parameters
-----------------
* ``decay``: the first-order decay rate ``k`` [1/d] of every linked reach and pollutant
  whose model uses one (``1d-downstream``, ``1d-head``, ``1d-mid``, ``zhejiang``, ``mixed``);
* ``export``: one multiplier ``m_p`` [-] per pollutant on every export coefficient.

They are fitted in log space (positive by construction) by bounded nonlinear least
squares (:func:`scipy.optimize.least_squares`, trust-region reflective) on the residuals
``ln C_fit − ln C_obs`` (``residuals = "log"``, the default: concentrations are skewed and
span orders of magnitude) or ``C_fit − C_obs`` (``"linear"``). A sample below the
detection limit is censored: with ``censored = "one-sided"`` (default) it adds a residual
only when the fit exceeds the DL (``max(0, f(C_fit) − f(DL))``); ``"exclude"`` drops it;
``"substitute"`` uses DL/2.

Uncertainty
-----------
* Wald (linearised) covariance ``Cov(θ) = s²·(JᵀJ)⁻¹`` with ``s² = SSR/(n − p)`` and ``J``
  the Jacobian of the residuals at the optimum (Bates & Watts 1988, §2.3); standard errors
  of ``k`` and ``m`` by the delta method (``SE = e^θ·SE_θ``); 95 % intervals
  ``exp(θ ± t_{0.975, n−p}·SE_θ)`` (asymmetric, positive);
* optional profile intervals: the values of one parameter, the others re-fitted, where
  ``SSR ≤ SSR_min·(1 + F_{0.95; 1, n−p}/(n − p))`` (Bates & Watts 1988, §6.1); an interval
  reaching a bound is reported open at the bound.

References
----------
GB/T 25173-2010 《水域纳污能力计算规程》; Johnes (1996) *J. Hydrol.* 183, 323-349;
Bates, D. M. & Watts, D. G. (1988) *Nonlinear Regression Analysis and Its Applications*,
Wiley; Branch, Coleman & Li (1999) SIAM J. Sci. Comput. 21, 1-23 (trust-region reflective).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gep.capacity.basin import COLUMN_OF, DEFAULT_UNITS, DIMENSIONLESS
from gep.capacity.loads import canonical_pollutant
from gep.capacity.models import MODELS
from gep.errors import InputError, ScenarioError
from gep.units import Q_, affine, parse_quantity

__all__ = ["Calibration", "parse_calibration", "basin_loads", "Problem", "observations", "build", "predict", "residuals", "fit", "apply", "RESIDUALS", "CENSORED", "DECAY_UNIT"]

RESIDUALS = ("log", "linear")
CENSORED = ("one-sided", "exclude", "substitute")
#: Unit of the fitted decay rates.
DECAY_UNIT = "1/d"
#: Units of the model inputs as the calibration holds them (magnitudes).
MAGNITUDE_UNITS = {**DEFAULT_UNITS, "decay": DECAY_UNIT}
#: Smallest concentration the log residual takes [mg/L] (a fit of exactly 0).
FLOOR = 1e-9
OBS_COLUMNS = ["section", "time", "reach", "pollutant", "catchment", "model", "observed", "status", "detection_limit", "flow", "flow_source", "row"]


def _expand(reaches: pd.DataFrame) -> pd.DataFrame:
    """One row per reach and pollutant, as the capacity run reads the table (:func:`gep.capacity.basin._expand`)."""
    from gep.capacity.basin import _expand as expand_pollutants

    df = expand_pollutants(reaches).drop(columns="_row")
    df["id"] = df["id"].astype(str).str.strip()
    df.attrs = dict(reaches.attrs)
    return df


def uses_decay(model: str) -> bool:
    """Whether a capacity model's result depends on the decay rate."""
    return "decay" in MODELS[model].inputs


def flow_argument(model: str) -> str:
    """The model argument the measured section flow replaces (``flow`` for rivers, ``outflow`` for lakes)."""
    entry = MODELS[model]
    return "flow" if "flow" in entry.inputs else "outflow"


def observations(series: pd.DataFrame, sections: pd.DataFrame, reaches: pd.DataFrame, pollutants: tuple[str, ...] = ()) -> pd.DataFrame:
    """Concentrations measured at the control sections of linked reaches, with the flow at sampling.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`gep.monitoring.series.normalise` output (window already applied).
    sections : pandas.DataFrame
        Section table with a ``reach`` column (reach id of the reaches table; empty = not linked).
    reaches : pandas.DataFrame
        Reaches/lakes table of the basin scenario (units in ``attrs['units']``).
    pollutants : tuple of str
        Pollutants to use (default: every pollutant of the linked reaches).

    Returns
    -------
    pandas.DataFrame
        :data:`OBS_COLUMNS`; ``flow`` [m³/s] measured at the section and time, or the
        reach's design flow (``flow_source`` says which).

    Raises
    ------
    InputError
        No ``reach`` column, a section naming an unknown reach, a linked reach that shares
        its catchment and pollutant with another row (its load cannot be attributed), or
        no observation at all.
    """
    if "reach" not in sections.columns:
        raise InputError("section table has no 'reach' column", hint="link each calibration section to the reach whose control section it is (column reach = reach id)")
    links = sections[["section", "reach"]].dropna()
    links = links.assign(reach=links["reach"].astype(str).str.strip())
    links = links[links["reach"] != ""]
    rows = _expand(reaches)
    unknown = sorted(set(links["reach"]) - set(rows["id"]))
    if unknown:
        raise InputError(f"section table links to reach {unknown[0]!r}, which is not in the reaches table", hint=f"reaches: {', '.join(sorted(set(rows['id'])))}")
    rows = rows.reset_index(drop=True).assign(row=lambda d: np.arange(len(d)))
    shared = rows.groupby(["catchment", "pollutant"])["id"].transform("nunique") > 1
    linked = rows["id"].isin(links["reach"])
    if (shared & linked).any():
        r = rows[shared & linked].iloc[0]
        raise InputError(f"reach {r['id']} shares catchment {r['catchment']} and {r['pollutant']} with another reach: its load cannot be attributed",
                         hint="calibrate on catchments with one reach per pollutant, or split the catchment")
    obs = series[series["status"].isin(["valid", "below_dl"])].merge(links, on="section")
    obs = obs.merge(rows[["id", "pollutant", "catchment", "model", "row"]].rename(columns={"id": "reach", "pollutant": "parameter", "row": "reach_row"}),
                    on=["reach", "parameter"])
    if pollutants:
        obs = obs[obs["parameter"].isin([canonical_pollutant(p) for p in pollutants])]
    if obs.empty:
        raise InputError("no concentration measured at a linked section for a pollutant of its reach",
                         hint="check the section table's reach column, the pollutants and the calibration window")
    flows = series[(series["parameter"] == "flow") & (series["status"] == "valid")][["section", "time", "value"]].rename(columns={"value": "measured_flow"})
    obs = obs.merge(flows, how="left", on=["section", "time"])
    design = _design_flows(rows)
    obs["design_flow"] = design[obs["reach_row"].to_numpy()]
    measured = obs["measured_flow"].notna()
    obs["flow"] = np.where(measured, obs["measured_flow"], obs["design_flow"])
    obs["flow_source"] = np.where(measured, "measured", "design")
    out = obs.rename(columns={"parameter": "pollutant", "value": "observed"})
    out["row"] = out["reach_row"]
    return out[OBS_COLUMNS].sort_values(["section", "pollutant", "time"], kind="stable").reset_index(drop=True)


def _design_flows(rows: pd.DataFrame) -> np.ndarray:
    """Design flow [m³/s] of every expanded reach row: ``flow`` for rivers, ``outflow`` for lakes."""
    units = rows.attrs.get("units", {})
    out = np.full(len(rows), np.nan)
    for col in ("flow", "outflow"):
        if col in rows.columns:
            scale, _ = affine(units.get(col, "m**3/s"), "m**3/s", f"column '{col}'")
            vals = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float) * scale
            use = (rows["model"].map({m: flow_argument(m) for m in MODELS}) == col).to_numpy()
            out = np.where(use & np.isfinite(vals), vals, out)
    return out


@dataclass
class Problem:
    """A calibration problem: observations, static model inputs and the parameter vector layout."""

    obs: pd.DataFrame
    params: pd.DataFrame
    static: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]
    decay_index: np.ndarray
    export_index: np.ndarray
    fixed_decay: np.ndarray
    point: np.ndarray
    nonpoint: np.ndarray
    residuals: str = "log"
    censored: str = "one-sided"
    info: dict = field(default_factory=dict)

    @property
    def theta0(self) -> np.ndarray:
        return np.log(np.clip(self.params["prior"].to_numpy(dtype=float), self.params["lower"].to_numpy(dtype=float), self.params["upper"].to_numpy(dtype=float)))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.log(self.params["lower"].to_numpy(dtype=float)), np.log(self.params["upper"].to_numpy(dtype=float))


def build(obs: pd.DataFrame, reaches: pd.DataFrame, loads: pd.DataFrame, *, decay: bool = True, export: bool = True,
          decay_bounds: tuple[float, float] = (1e-3, 5.0), export_bounds: tuple[float, float] = (0.05, 20.0),
          residuals: str = "log", censored: str = "one-sided") -> Problem:
    """Set up a calibration problem.

    Parameters
    ----------
    obs : pandas.DataFrame
        :func:`observations` output.
    reaches : pandas.DataFrame
        The basin's reaches/lakes table (units in ``attrs['units']``).
    loads : pandas.DataFrame
        ``catchment, pollutant, point_t_per_yr, nonpoint_t_per_yr`` [t/yr].
    decay, export : bool
        Fit decay rates / export multipliers.
    decay_bounds : (float, float)
        Bounds of every decay rate [1/d].
    export_bounds : (float, float)
        Bounds of every export multiplier [-].
    residuals, censored : str
        :data:`RESIDUALS`, :data:`CENSORED` (see the module notes).
    """
    if residuals not in RESIDUALS:
        raise InputError(f"unknown residuals {residuals!r}", hint=f"use one of {', '.join(RESIDUALS)}")
    if censored not in CENSORED:
        raise InputError(f"unknown censored rule {censored!r}", hint=f"use one of {', '.join(CENSORED)}")
    if censored == "exclude":
        obs = obs[obs["status"] == "valid"].reset_index(drop=True)
    rows = _expand(reaches).reset_index(drop=True)
    units = rows.attrs.get("units", {})
    prior_decay = np.full(len(rows), np.nan)
    if "decay" in rows.columns:
        scale, _ = affine(units.get("decay", DECAY_UNIT), DECAY_UNIT, "column 'decay'")
        prior_decay = pd.to_numeric(rows["decay"], errors="coerce").to_numpy(dtype=float) * scale
    params = []
    decay_index = np.full(len(obs), -1)
    export_index = np.full(len(obs), -1)
    if decay:
        fitted = obs[obs["model"].map(uses_decay)].groupby(["reach", "pollutant", "row"], sort=True).size().reset_index(name="n_obs")
        params.append(fitted.assign(parameter="decay " + fitted["reach"] + " " + fitted["pollutant"], kind="decay", unit=DECAY_UNIT,
                                    prior=prior_decay[fitted["row"].to_numpy()], lower=decay_bounds[0], upper=decay_bounds[1]))
        decay_index = _position(obs, fitted.assign(index=np.arange(len(fitted))), ["reach", "pollutant"])
    if export:
        pols = obs.groupby("pollutant", sort=True).size().reset_index(name="n_obs")
        start = sum(len(p) for p in params)
        params.append(pols.assign(parameter="export " + pols["pollutant"], kind="export", reach="", unit="-", prior=1.0,
                                  lower=export_bounds[0], upper=export_bounds[1]))
        export_index = _position(obs, pols.assign(index=start + np.arange(len(pols))), ["pollutant"])
    if not params:
        raise InputError("nothing to fit: no linked reach uses a decay rate and export multipliers are off", hint="set [fit] decay = true or export = true")
    table = pd.concat(params, ignore_index=True)[["parameter", "kind", "reach", "pollutant", "unit", "prior", "lower", "upper", "n_obs"]]
    bad = table[~(np.isfinite(table["prior"]) & (table["prior"] > 0))]
    if len(bad):
        raise InputError(f"{bad['parameter'].iloc[0]} has no positive starting value in the reaches table", hint="give the reach a decay rate > 0 (it is the starting value)")
    load = obs[["catchment", "pollutant"]].merge(loads, how="left", on=["catchment", "pollutant"])
    static = _static(obs, rows, units)
    fixed = prior_decay[obs["row"].to_numpy()]
    return Problem(obs=obs, params=table, static=static, decay_index=decay_index, export_index=export_index, fixed_decay=fixed,
                   point=load["point_t_per_yr"].fillna(0.0).to_numpy(dtype=float), nonpoint=load["nonpoint_t_per_yr"].fillna(0.0).to_numpy(dtype=float),
                   residuals=residuals, censored=censored)


def _position(obs: pd.DataFrame, keyed: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Index of each observation's parameter in ``keyed`` (column ``index``), -1 where it has none."""
    return obs[keys].merge(keyed[keys + ["index"]], how="left", on=keys)["index"].fillna(-1).to_numpy(dtype=int)


def _static(obs: pd.DataFrame, rows: pd.DataFrame, units: dict) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Per model: observation positions and every input but cs, flow and decay (magnitudes in :data:`MAGNITUDE_UNITS`)."""
    out = {}
    for model, idx in obs.groupby("model", sort=True).groups.items():  # one entry per model name
        pos = obs.index.get_indexer(idx)
        entry = MODELS[model]
        picked = rows.iloc[obs["row"].to_numpy()[pos]]
        kwargs: dict[str, Any] = {}
        for name in entry.inputs + entry.optional:
            if name in ("cs", "decay", flow_argument(model)):
                continue
            col = COLUMN_OF[name]
            if col not in picked.columns:
                continue
            vals = pd.to_numeric(picked[col], errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(vals).all():
                if name in entry.inputs:
                    raise InputError(f"reach {picked['id'].iloc[int(np.flatnonzero(~np.isfinite(vals))[0])]} has no {col} (model {model})", hint=f"give {col} in the reaches table")
                if name == "b":
                    vals = np.where(np.isfinite(vals), vals, 1.0)
                else:
                    continue
            if name not in DIMENSIONLESS:
                scale, offset = affine(units.get(col, DEFAULT_UNITS[name]), MAGNITUDE_UNITS[name], f"column '{col}'")
                vals = vals * scale + offset
            kwargs[name] = vals
        out[model] = (pos, kwargs)
    return out


def predict(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Concentration at the control section for each observation [mg/L] (module notes)."""
    t = np.exp(np.asarray(theta, dtype=float))
    k = np.where(problem.decay_index >= 0, t[np.maximum(problem.decay_index, 0)], problem.fixed_decay)
    m = np.where(problem.export_index >= 0, t[np.maximum(problem.export_index, 0)], 1.0)
    load = problem.point + m * problem.nonpoint
    flow = problem.obs["flow"].to_numpy(dtype=float)
    out = np.full(len(load), np.nan)
    for model, (pos, kwargs) in problem.static.items():  # one vectorised call per model name: W(0) and W(1) stacked
        n = len(pos)
        args = {name: np.tile(v, 2) for name, v in kwargs.items()}
        args[flow_argument(model)] = np.tile(flow[pos], 2)
        if "decay" in MODELS[model].inputs:
            args["decay"] = np.tile(k[pos], 2)
        w = _capacity(model, np.repeat([0.0, 1.0], n), args) * np.ones(2 * n)
        w0, w1 = w[:n], w[n:]
        out[pos] = (load[pos] - w0) / (w1 - w0)
    return out


def _capacity(model: str, cs: np.ndarray, args: dict[str, np.ndarray]) -> np.ndarray:
    """W [t/yr] of a registered model from magnitudes in :data:`MAGNITUDE_UNITS` (cs in mg/L).

    A model declared with :func:`gep.units.unitful` is called through its unwrapped body
    with the magnitudes converted once to its declared units (the unit check happened
    when the inputs were converted); any other model gets Quantities.
    """
    fn = MODELS[model].function
    declared = getattr(fn, "units", None)
    if declared is not None and hasattr(fn, "__wrapped__"):
        conv = {}
        for name, v in args.items():  # a handful of model arguments
            if name in declared and name in MAGNITUDE_UNITS:
                scale, offset = affine(MAGNITUDE_UNITS[name], declared[name], name)
                v = v * scale + offset
            conv[name] = v
        return np.asarray(fn.__wrapped__(cs=cs * affine("mg/L", declared["cs"], "cs")[0], **conv), dtype=float)
    quantities = {name: Q_(v, MAGNITUDE_UNITS[name]) if name in MAGNITUDE_UNITS else v for name, v in args.items()}
    return np.asarray(fn(cs=Q_(cs, "mg/L"), **quantities).to("t/yr").magnitude, dtype=float)


def sparsity(problem: Problem) -> Any:
    """Which parameters each residual depends on (for the finite-difference Jacobian)."""
    from scipy.sparse import lil_matrix

    m = lil_matrix((len(problem.obs), len(problem.params)), dtype=int)
    rows = np.arange(len(problem.obs))
    for idx in (problem.decay_index, problem.export_index):
        ok = idx >= 0
        m[rows[ok], idx[ok]] = 1
    return m


def residuals(problem: Problem, theta: np.ndarray) -> np.ndarray:
    """Residual of every observation (module notes: log or linear, censored one-sided)."""
    pred = predict(problem, theta)
    obs = problem.obs
    status = obs["status"].to_numpy()
    below = status == "below_dl"
    dl = obs["detection_limit"].to_numpy(dtype=float)
    y = np.where(below & (problem.censored == "substitute"), 0.5 * dl, obs["observed"].to_numpy(dtype=float))
    f = (lambda x: np.log(np.maximum(x, FLOOR))) if problem.residuals == "log" else (lambda x: x)
    r = f(pred) - f(y)
    if problem.censored == "one-sided":
        r = np.where(below, np.maximum(f(pred) - f(dl), 0.0), r)
    return r


def _solve(problem: Problem, theta0: np.ndarray, free: np.ndarray | None = None, fixed: np.ndarray | None = None):
    from scipy.optimize import least_squares

    lo, hi = problem.bounds
    pattern = problem.info.setdefault("sparsity", sparsity(problem))
    if free is None:
        return least_squares(lambda th: residuals(problem, th), theta0, bounds=(lo, hi), method="trf", x_scale="jac", **_sparse(pattern))
    full = fixed.copy()

    def fun(sub: np.ndarray) -> np.ndarray:
        full[free] = sub
        return residuals(problem, full)

    return least_squares(fun, theta0[free], bounds=(lo[free], hi[free]), method="trf", x_scale="jac", **_sparse(pattern.tocsc()[:, free]))


def _sparse(pattern) -> dict:
    """``least_squares``'s Jacobian sparsity for ``pattern`` (observations × free parameters), none for one parameter.

    A sparsity pattern makes the trust-region reflective method solve each step in a two-dimensional subspace
    (``tr_solver="lsmr"``); with one free parameter (a profile of a two-parameter fit) that subspace has one
    dimension and SciPy 1.17.1 fails in ``solve_trust_region_2d`` (``IndexError``) once the trust region shrinks
    below the Newton step. One column has nothing to group, so the dense solver (``"exact"``) is as cheap.
    """
    return {"jac_sparsity": pattern} if pattern.shape[1] > 1 else {}


def fit(problem: Problem, profile: bool = False, level: float = 0.95) -> dict:
    """Fit the parameters and their uncertainty (module notes).

    Returns
    -------
    dict
        ``parameters`` (one row per parameter: prior, estimate, se, Wald and profile
        intervals, ``at_bound``), ``residuals`` (per observation: observed, fitted,
        residual), ``correlation`` (parameter × parameter), ``stats`` (n, p, SSR, s,
        RMSE, R², converged, message).

    Raises
    ------
    InputError
        Fewer observations than parameters.
    """
    from scipy import stats as st

    n, p = len(problem.obs), len(problem.params)
    if n <= p:
        raise InputError(f"{n} observation(s) for {p} parameter(s): the fit is not determined", hint="widen the window, link more sections, or fit fewer parameters")
    sol = _solve(problem, problem.theta0)
    theta = sol.x
    r = sol.fun
    ssr = float(r @ r)
    dof = n - p
    s2 = ssr / dof
    jac = sol.jac.toarray() if hasattr(sol.jac, "toarray") else np.asarray(sol.jac, dtype=float)
    jtj = jac.T @ jac
    rank = int(np.linalg.matrix_rank(jtj))
    cov = s2 * np.linalg.pinv(jtj)
    se_t = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if rank < p:
        se_t[:] = np.nan
    tq = float(st.t.ppf(0.5 + level / 2, dof))
    lo, hi = problem.bounds
    table = problem.params.copy()
    est = np.exp(theta)
    table["estimate"] = est
    table["se"] = est * se_t
    table["ci_low"] = np.exp(theta - tq * se_t)
    table["ci_high"] = np.exp(theta + tq * se_t)
    table["at_bound"] = np.isclose(theta, lo) | np.isclose(theta, hi)
    table["profile_low"] = np.nan
    table["profile_high"] = np.nan
    if profile:
        limit = ssr * (1.0 + float(st.f.ppf(level, 1, dof)) / dof)
        for i in range(p):  # one profile per parameter
            table.loc[i, ["profile_low", "profile_high"]] = np.exp(_profile(problem, theta, i, limit, se_t[i]))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.sqrt(np.diag(cov))
        corr = cov / np.outer(d, d)
    names = list(table["parameter"])
    pred = predict(problem, theta)
    res = problem.obs.assign(predicted=pred, residual=r)
    y = problem.obs["observed"].to_numpy(dtype=float)
    f = np.log(np.maximum(y, FLOOR)) if problem.residuals == "log" else y
    valid = (problem.obs["status"] == "valid").to_numpy()
    sst = float(((f[valid] - f[valid].mean()) ** 2).sum()) if valid.any() else np.nan
    stats = {"n": n, "p": p, "dof": dof, "ssr": ssr, "s": float(np.sqrt(s2)), "rmse": float(np.sqrt(ssr / n)),
             "r2": float(1 - float((r[valid] ** 2).sum()) / sst) if sst and np.isfinite(sst) else None,
             "rank": rank, "identifiable": rank == p, "converged": bool(sol.success), "message": str(sol.message), "nfev": int(sol.nfev),
             "residuals": problem.residuals, "censored": problem.censored, "level": level,
             "n_below_dl": int((problem.obs["status"] == "below_dl").sum()), "n_design_flow": int((problem.obs["flow_source"] == "design").sum())}
    return {"parameters": table, "residuals": res, "correlation": pd.DataFrame(corr, index=names, columns=names), "stats": stats, "theta": theta}


def _profile(problem: Problem, theta: np.ndarray, i: int, limit: float, se: float) -> tuple[float, float]:
    """Profile interval of parameter ``i`` in log space (open at a bound when the SSR never exceeds ``limit``)."""
    from scipy.optimize import brentq

    from scipy.sparse.csgraph import connected_components

    lo, hi = problem.bounds
    pattern = problem.info.setdefault("sparsity", sparsity(problem)).tocsc()
    _, comp = connected_components((pattern.T @ pattern) > 0, directed=False)
    free = np.flatnonzero((comp == comp[i]) & (np.arange(len(theta)) != i))  # parameters sharing observations with i, directly or not

    def excess(v: float) -> float:
        fixed = theta.copy()
        fixed[i] = v
        if free.size:
            sol = _solve(problem, fixed, free, fixed)
            r = sol.fun
        else:
            r = residuals(problem, fixed)
        return float(r @ r) - limit

    step = se if np.isfinite(se) and se > 0 else 0.1
    ends = []
    for sign, bound in ((-1, lo[i]), (1, hi[i])):
        inner, outer = theta[i], theta[i]
        found = False
        for _ in range(40):  # step outward until the SSR passes the limit or the bound is reached
            outer = float(np.clip(outer + sign * step, lo[i], hi[i]))
            if excess(outer) > 0:
                found = True
                break
            inner = outer
            if outer == bound:
                break
            step *= 1.6
        ends.append(brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-3) if found else bound)
    return ends[0], ends[1]


def apply(reaches: pd.DataFrame, export: pd.DataFrame, parameters: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Use calibrated values in a basin: decay rates per reach and pollutant, export multipliers per pollutant.

    Parameters
    ----------
    reaches : pandas.DataFrame
        Reaches/lakes table (units in ``attrs['units']``); a row listing several
        pollutants is split into one row per pollutant.
    export : pandas.DataFrame
        Export-coefficient table (``landcover, pollutant, value, unit``).
    parameters : pandas.DataFrame
        ``kind, reach, pollutant, estimate`` (decay in 1/d, export multipliers [-]).

    Returns
    -------
    (reaches, export, applied)
        The tables with the calibrated values and, per parameter, where it was applied
        (``rows``: reaches rows or export rows changed; 0 = not present in this basin).
    """
    rows = _expand(reaches)
    units = dict(reaches.attrs.get("units", {}))
    dec = parameters[parameters["kind"] == "decay"]
    applied = []
    if len(dec):
        unit = units.get("decay", DECAY_UNIT)
        scale, _ = affine(DECAY_UNIT, unit, "calibrated decay")
        key = pd.MultiIndex.from_arrays([dec["reach"].astype(str), dec["pollutant"].astype(str)])
        value = pd.Series(dec["estimate"].to_numpy(dtype=float) * scale, index=key)
        hit = pd.MultiIndex.from_arrays([rows["id"], rows["pollutant"]]).isin(key)
        if "decay" not in rows.columns:
            rows["decay"] = np.nan
            units["decay"] = unit
        new = value.reindex(pd.MultiIndex.from_arrays([rows["id"], rows["pollutant"]])).to_numpy()
        rows["decay"] = np.where(hit, new, pd.to_numeric(rows["decay"], errors="coerce"))
        counts = pd.Series(hit, index=rows.index).groupby([rows["id"], rows["pollutant"]]).sum()
        applied += [{"parameter": p, "rows": int(counts.get((r, q), 0))} for p, r, q in zip(dec["parameter"], dec["reach"], dec["pollutant"])]
    exp = export.copy()
    mult = parameters[parameters["kind"] == "export"]
    if len(mult):
        factor = exp["pollutant"].map(canonical_pollutant).map(dict(zip(mult["pollutant"], mult["estimate"].astype(float))))
        exp["value"] = pd.to_numeric(exp["value"]) * factor.fillna(1.0)
        n = exp["pollutant"].map(canonical_pollutant).value_counts()
        applied += [{"parameter": p, "rows": int(n.get(q, 0))} for p, q in zip(mult["parameter"], mult["pollutant"])]
    rows.attrs = {**reaches.attrs, "units": units}
    exp.attrs = dict(export.attrs)
    return rows, exp, applied


def summary(parameters: pd.DataFrame) -> list[dict]:
    """Parameter rows for a manifest (estimate, unit, se, intervals), JSON-ready."""
    cols = ["parameter", "kind", "reach", "pollutant", "unit", "prior", "estimate", "se", "ci_low", "ci_high", "profile_low", "profile_high", "at_bound", "n_obs"]
    return json.loads(parameters[cols].to_json(orient="records"))


# --------------------------------------------------------------------------- the calibration file

#: Keys of a calibration file (``docs/monitoring.md``).
SCHEMA = {
    "calibration": {"name", "description", "basin", "monitoring", "sections", "start", "end", "residuals", "censored"},
    "fit": {"decay", "export", "pollutants", "profile", "level"},
    "bounds": {"decay", "export"},
}


@dataclass(frozen=True)
class Calibration:
    """A validated calibration file with resolved paths (``options``: what :func:`build` and :func:`fit` take)."""

    path: Path
    name: str
    basin: Path
    monitoring: Path
    sections: Path
    start: str | None
    end: str | None
    options: dict


def parse_calibration(raw: dict, path: str | Path) -> Calibration:
    """Validate a calibration file read from TOML (keys: :data:`SCHEMA`, ``docs/monitoring.md``).

    Raises
    ------
    ScenarioError
        An unknown section or key, a missing or absent file, an unknown residual or
        censoring rule, bounds that are not ``[lower, upper]`` with ``0 < lower < upper``,
        a level outside [0.5, 1). Exit code 2, naming the file and key.
    """
    path = Path(path)
    for section, value in raw.items():
        if section not in SCHEMA or not isinstance(value, dict):
            raise ScenarioError(f"{path.name}: unknown section [{section}]", hint=f"sections are {', '.join(SCHEMA)}")
        extra = sorted(set(value) - SCHEMA[section])
        if extra:
            raise ScenarioError(f"{path.name}: [{section}] {extra[0]}: unknown key", hint=f"allowed: {', '.join(sorted(SCHEMA[section]))}")
    cal = raw.get("calibration", {})
    files = {}
    for key in ("basin", "monitoring", "sections"):
        if key not in cal:
            raise ScenarioError(f"{path.name}: [calibration] {key}: missing", hint="give the basin scenario, the monitoring series and the section table (with a reach column)")
        f = path.parent / str(cal[key])
        if not f.is_file():
            raise ScenarioError(f"{path.name}: [calibration] {key}: file not found: {cal[key]}", hint="paths are relative to the calibration file")
        files[key] = f
    fitp, bounds = raw.get("fit", {}), raw.get("bounds", {})
    residuals = str(cal.get("residuals", "log"))
    censored = str(cal.get("censored", "one-sided"))
    if residuals not in RESIDUALS or censored not in CENSORED:
        bad = ("residuals", residuals, RESIDUALS) if residuals not in RESIDUALS else ("censored", censored, CENSORED)
        raise ScenarioError(f"{path.name}: [calibration] {bad[0]}: unknown value {bad[1]!r}", hint=f"use one of {', '.join(bad[2])}")

    def pair(key: str, unit: str | None, default: tuple[float, float]) -> tuple[float, float]:
        if key not in bounds:
            return default
        v = bounds[key]
        if not isinstance(v, list) or len(v) != 2:
            raise ScenarioError(f"{path.name}: [bounds] {key}: must be [lower, upper]", hint="e.g. decay = [\"0.001/d\", \"5/d\"]")
        vals = tuple(float(parse_quantity(str(x), unit, f"{path.name}: [bounds] {key}").to(unit).magnitude) if unit else float(x) for x in v)
        if not 0 < vals[0] < vals[1]:
            raise ScenarioError(f"{path.name}: [bounds] {key}: need 0 < lower < upper, got {v}", hint="positive bounds, lower first")
        return vals

    level = fitp.get("level", 0.95)
    if isinstance(level, bool) or not isinstance(level, float) or not 0.5 <= level < 1:
        raise ScenarioError(f"{path.name}: [fit] level: must be a fraction in [0.5, 1), got {level!r}", hint="e.g. level = 0.95")
    options = {"decay": bool(fitp.get("decay", True)), "export": bool(fitp.get("export", True)),
               "pollutants": [str(p) for p in fitp.get("pollutants", [])], "profile": bool(fitp.get("profile", False)), "level": level,
               "decay_bounds": pair("decay", DECAY_UNIT, (1e-3, 5.0)), "export_bounds": pair("export", None, (0.05, 20.0)),
               "residuals": residuals, "censored": censored}
    start = str(cal["start"]) if "start" in cal else None
    end = str(cal["end"]) if "end" in cal else None
    return Calibration(path, str(cal.get("name", path.stem)), files["basin"], files["monitoring"], files["sections"], start, end, options)


def basin_loads(landcover: np.ndarray, catchments: np.ndarray, cell_area: Any, export: pd.DataFrame, points: pd.DataFrame | None,
                conversions: list[dict], vintage: int) -> pd.DataFrame:
    """Point and non-point loads [t/yr] per catchment and pollutant, as the basin's capacity run computes them.

    Parameters
    ----------
    landcover, catchments : numpy.ndarray
        Land-cover codes and catchment ids (0 or less: outside every catchment).
    cell_area : array_like
        Cell areas (an :class:`xarray.DataArray` with units).
    export : pandas.DataFrame
        Export coefficients (:func:`gep.capacity.loads.nonpoint_loads`).
    points : pandas.DataFrame or None
        Point-source table (rows of other vintages than ``vintage`` are left out).
    conversions : list of dict
        The basin scenario's land-cover conversions (:func:`gep.capacity.basin.apply_conversions`).

    Returns
    -------
    pandas.DataFrame
        ``catchment, pollutant, nonpoint_t_per_yr, point_t_per_yr``.
    """
    from gep.capacity.basin import apply_conversions, as_int_ids
    from gep.capacity.loads import nonpoint_loads, point_loads

    lc, _ = apply_conversions(landcover, catchments, conversions)
    cz = np.where(catchments > 0, catchments, -1)
    out = nonpoint_loads(lc, cz, export, cell_area)[["catchment", "pollutant", "nonpoint_t_per_yr"]]
    if points is not None:
        pts = points
        if "vintage" in pts.columns:
            pts = pts[pd.to_numeric(pts["vintage"], errors="coerce") == vintage].drop(columns="vintage")
        pts = pts.assign(catchment=as_int_ids(pts["catchment"], "point-source table"))
        out = out.merge(point_loads(pts)[["catchment", "pollutant", "point_t_per_yr"]], how="outer", on=["catchment", "pollutant"])
    out["point_t_per_yr"] = out["point_t_per_yr"].fillna(0.0) if "point_t_per_yr" in out.columns else 0.0
    out["nonpoint_t_per_yr"] = out["nonpoint_t_per_yr"].fillna(0.0)
    return out
