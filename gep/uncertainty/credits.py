"""Issuable capacity credits with ranges (``gep capacity basin --samples N``).

The variables are the export coefficients of the land-cover classes inside the catchments
(each row's range and confidence, :mod:`gep.uncertainty.space`) and the errors a capacity
scenario declares in ``[uncertainty.inputs]``: a numeric column of the reaches table
(``decay``, ``flow``, ``velocity``, ``upstream`` …: one factor or offset for the whole column,
a systematic error) or ``point_sources`` (a factor on every permitted load).

Per sample, with the land cover (after conversions) fixed:

* non-point loads are linear in the export coefficients: ``L[j, p] = Σ_c E[c, p] · G[c, p, j]``
  with ``G`` the load of catchment ``j`` when class ``c`` exports one unit of its row's
  value, computed once per class by :func:`gep.capacity.loads.nonpoint_loads`;
* capacities by :func:`gep.capacity.basin.reach_capacities` on the reaches table with that
  sample's columns (all samples in one vectorised call);
* credits by :func:`gep.capacity.credits.credit_table` (one call, the sample as vintage).

The credits a run issues may be a chosen percentile ``P`` of the remaining capacity per
catchment × pollutant: the row written to ``credits.csv`` is then the sample at that order
statistic (``inverted_cdf``: a real sample), with its capacity, loads, margin and credits,
so every credit row still satisfies ``issuable = max(capacity − load − margin, 0)`` and
``margin = safety_margin × max(capacity, 0)``, and the ledger can cite it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from gep.capacity.basin import COLUMN_OF, reach_capacities
from gep.capacity.credits import credit_table
from gep.capacity.loads import canonical_pollutant, nonpoint_loads
from gep.errors import InputError
from gep.uncertainty import sensitivity
from gep.uncertainty import space as sp

KEYS = ["catchment", "pollutant"]
NUMERIC = ["capacity_t_per_yr", "point_load_t_per_yr", "nonpoint_load_t_per_yr", "load_t_per_yr", "margin_fraction",
           "margin_t_per_yr", "remaining_t_per_yr", "issuable_t_per_yr", "issuable_kg_per_yr", "deficit_t_per_yr", "overloaded"]


def space_of(export: pd.DataFrame, declared: Mapping | None, reaches: pd.DataFrame, has_points: bool, present: set[int], sc_name: str) -> sp.Space:
    """The variables of a basin: export coefficients of the classes ``present`` in the catchments, declared input errors."""
    rows = export[export["landcover"].astype(int).isin(present)]
    ranges = pd.DataFrame({
        "parameter": "export." + rows["pollutant"].map(canonical_pollutant), "key": rows["landcover"].astype(int).astype(str),
        "value": rows["value"].astype(float), "low": pd.to_numeric(rows["low"], errors="coerce") if "low" in rows else np.nan,
        "high": pd.to_numeric(rows["high"], errors="coerce") if "high" in rows else np.nan,
        "unit": rows["unit"], "confidence": rows["confidence"], "range_basis": rows["range_basis"] if "range_basis" in rows else "", "source": rows["source"],
    })
    units = reaches.attrs.get("units", {})
    inputs = {c: units.get(c, "dimensionless") for c in set(COLUMN_OF.values()) if c in reaches.columns}
    if has_points:
        inputs["point_sources"] = "t/yr"
    return sp.build(ranges, set(), declared, inputs, sc_name)


@dataclass(frozen=True)
class CreditUncertainty:
    """Credits per sample and their percentiles.

    Attributes
    ----------
    space : Space
    draws : DataFrame
        ``sample`` and the value of every variable.
    samples : DataFrame
        Credit rows per catchment × pollutant × sample (:data:`gep.capacity.credits.CREDIT_COLUMNS`, ``sample``).
    summary : DataFrame
        Per catchment × pollutant: issuable and remaining capacity percentiles, the deterministic credits,
        the share of samples over-loaded, and the sample chosen at ``percentile``.
    credits : DataFrame or None
        The deterministic credit table with every row replaced by its sample at ``percentile`` (None without one).
    percentile : float or None
    checks : dict
    """

    space: sp.Space
    draws: pd.DataFrame
    samples: pd.DataFrame
    summary: pd.DataFrame
    credits: pd.DataFrame | None
    percentile: float | None
    checks: dict
    seed: int = 0

    def totals(self) -> dict:
        """Per pollutant: percentiles of the basin's issuable credits [t/yr] (sum over catchments per sample)."""
        tot = self.samples.groupby(["pollutant", "sample"])["issuable_t_per_yr"].sum()
        return {str(p): sensitivity.statistics(g.to_numpy()) for p, g in tot.groupby(level=0)}


def analyse(credits: pd.DataFrame, reaches: pd.DataFrame, standards: pd.DataFrame, landcover: np.ndarray, catchments: np.ndarray,
            cell_area, export: pd.DataFrame, space: sp.Space, margin: float, samples: int, seed: int,
            percentile: float | None = None) -> CreditUncertainty:
    """Credits of ``samples`` draws of ``space`` (see the module notes).

    Parameters
    ----------
    credits : DataFrame
        The deterministic credit table of the basin (:func:`gep.capacity.basin.basin_credits`).
    reaches, standards : DataFrame
        The reaches table and the GB 3838-2002 table.
    landcover, catchments, cell_area
        The land cover after conversions, the catchment ids, the cell area.
    export : DataFrame
        The export-coefficient table.
    margin : float
        Safety margin [fraction of capacity].
    samples, seed : int
        Number of samples (≥ 2) and the seed of the scrambled Sobol' sequence.
    percentile : float, optional
        Issue the credits at this percentile of the remaining capacity [0–100].
    """
    from scipy.stats import qmc

    if percentile is not None and not 0 <= percentile <= 100:
        raise InputError(f"the issuable percentile must lie in [0, 100], got {percentile:g}", hint="give e.g. 5 (credits that 95 % of the samples can carry)", key="issuable_percentile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n not a power of two: balance properties are weaker, the draws stay valid
        u = qmc.Sobol(len(space.columns), scramble=True, seed=seed).random(samples) if space.columns else np.zeros((samples, 0))
    values = space.values(u)
    det = credits.set_index(KEYS)
    keys = det.index
    n = samples
    # non-point loads: linear in the export coefficients
    nonpoint = np.repeat(det["nonpoint_load_t_per_yr"].to_numpy()[None, :], n, axis=0)
    ex = [j for j, v in enumerate(space.variables) if v.kind == "coefficient"]
    if ex:
        classes = sorted({int(space.variables[j].key) for j in ex})
        pollutants = sorted(set(det.index.get_level_values("pollutant")))
        base = export.assign(pollutant=export["pollutant"].map(canonical_pollutant))
        delta = np.zeros((n, len(keys)))
        for c in classes:  # load of each catchment when class c exports one unit of its row's value
            one = base.assign(value=np.where(base["landcover"].astype(int) == c, 1.0, 0.0))
            g = nonpoint_loads(landcover, catchments, one, cell_area, pollutants).set_index(KEYS)["nonpoint_t_per_yr"]
            g = g.reindex(keys).fillna(0.0).to_numpy()
            for j in ex:
                v = space.variables[j]
                if int(v.key) == c:
                    pol = v.parameter.split(".", 1)[1]
                    mask = (det.index.get_level_values("pollutant") == pol).astype(float)
                    delta += np.outer(values[:, j] - v.value, g * mask)
        nonpoint = nonpoint + delta
    points = np.repeat(det["point_load_t_per_yr"].to_numpy()[None, :], n, axis=0)
    caps = np.repeat(det["capacity_t_per_yr"].to_numpy()[None, :], n, axis=0)
    for j, v in enumerate(space.variables):
        if v.kind == "input" and v.parameter == "point_sources":
            points = points * values[:, [j]] if v.key == "relative" else points + values[:, [j]]
    reach_vars = [(j, v) for j, v in enumerate(space.variables) if v.kind == "input" and v.parameter != "point_sources"]
    if reach_vars:
        caps = _capacities(reaches, standards, reach_vars, values, keys)
    sample = np.repeat(np.arange(n), len(keys))
    frame = pd.DataFrame({"catchment": np.tile(keys.get_level_values(0), n), "pollutant": np.tile(keys.get_level_values(1), n), "vintage": sample})
    table = credit_table(frame.assign(capacity_t_per_yr=caps.ravel()), frame.assign(point_t_per_yr=points.ravel()),
                         frame.assign(nonpoint_t_per_yr=nonpoint.ravel()), margin_fraction=margin)
    table = table.rename(columns={"vintage": "sample"})
    summary, chosen = _summary(table, det, percentile)
    out = None
    if percentile is not None:
        pick = table.set_index(KEYS + ["sample"]).loc[[(*k, s) for k, s in zip(keys, chosen)]].reset_index()
        out = credits.copy()
        out[NUMERIC] = pick[NUMERIC].to_numpy()
        out["overloaded"] = out["overloaded"].astype(bool)
        out["issuable_kg_per_yr"] = out["issuable_kg_per_yr"].astype(np.int64)
        if "inputs" in out:  # the reach inputs recorded are the table's: name the sample and its input errors beside them
            errors = [(j, v.name) for j, v in enumerate(space.variables) if v.kind == "input"]
            out["inputs"] = [json.dumps({**json.loads(r), "uncertainty_sample": {
                "sample": int(s), "input_errors": {name: float(values[s, j]) for j, name in errors},
                "export_coefficients": "credit_draws.parquet, this sample's row"}}, sort_keys=True, ensure_ascii=False)
                for r, s in zip(out["inputs"], chosen)]
    draws = pd.DataFrame(values, columns=space.names)
    draws.insert(0, "sample", np.arange(n))
    central = credit_table(frame.iloc[: len(keys)].assign(vintage=0, capacity_t_per_yr=det["capacity_t_per_yr"].to_numpy()),
                           frame.iloc[: len(keys)].assign(vintage=0, point_t_per_yr=det["point_load_t_per_yr"].to_numpy()),
                           frame.iloc[: len(keys)].assign(vintage=0, nonpoint_t_per_yr=det["nonpoint_load_t_per_yr"].to_numpy()), margin_fraction=margin)
    checks = {"deterministic_issuable_reproduced": bool(np.allclose(central["issuable_t_per_yr"].to_numpy(), det["issuable_t_per_yr"].to_numpy(), rtol=1e-12, atol=1e-12))}
    return CreditUncertainty(space, draws, table, summary, out, percentile, checks, seed)


def _capacities(reaches: pd.DataFrame, standards: pd.DataFrame, reach_vars, values: np.ndarray, keys: pd.MultiIndex) -> np.ndarray:
    """Capacity per sample and catchment × pollutant [t/yr]: one vectorised call on the reaches table repeated per sample."""
    n = len(values)
    rep = pd.concat([reaches] * n, ignore_index=True)
    rep.attrs = dict(reaches.attrs)
    sample = np.repeat(np.arange(n), len(reaches))
    rep["id"] = rep["id"].astype(str) + "#" + sample.astype(str)
    for j, v in reach_vars:
        col = pd.to_numeric(rep[v.parameter], errors="coerce").to_numpy(dtype=float)
        x = values[sample, j]
        rep[v.parameter] = col * x if v.key == "relative" else col + x
    caps = reach_capacities(rep, standards)
    caps["sample"] = caps["id"].str.rsplit("#", n=1).str[1].astype(int)
    total = caps.groupby(["sample", "catchment", "pollutant"])["capacity_t_per_yr"].sum().unstack(["catchment", "pollutant"])
    return total.reindex(index=np.arange(n), columns=keys).fillna(0.0).to_numpy()


def _summary(table: pd.DataFrame, det: pd.DataFrame, percentile: float | None) -> tuple[pd.DataFrame, list[int]]:
    rows, chosen = [], []
    for key, g in table.groupby(KEYS, sort=False):
        g = g.sort_values("sample")
        rem = g["remaining_t_per_yr"].to_numpy()
        iss = g["issuable_t_per_yr"].to_numpy()
        row = {"catchment": key[0], "pollutant": key[1]}
        row.update({f"issuable_{k}_t_per_yr": v for k, v in sensitivity.statistics(iss).items()})
        row.update({f"remaining_{k}_t_per_yr": v for k, v in sensitivity.statistics(rem).items() if k in ("p5", "p50", "p95", "mean")})
        row["issuable_deterministic_t_per_yr"] = float(det.loc[key, "issuable_t_per_yr"])
        row["p_overloaded"] = float(g["overloaded"].mean())
        if percentile is not None:
            k = int(np.clip(np.ceil(percentile / 100 * len(rem)) - 1, 0, len(rem) - 1))  # inverted_cdf order statistic
            s = int(g["sample"].to_numpy()[np.argsort(rem, kind="stable")[k]])
            chosen.append(s)
            row.update(issuable_percentile=percentile, chosen_sample=s, issued_t_per_yr=float(iss[s]))
        rows.append(row)
    order = {k: i for i, k in enumerate(det.index)}
    df = pd.DataFrame(rows)
    df["_o"] = [order[(c, p)] for c, p in zip(df["catchment"], df["pollutant"])]
    idx = np.argsort(df["_o"].to_numpy(), kind="stable")
    df = df.iloc[idx].drop(columns="_o").reset_index(drop=True)
    return df, [chosen[i] for i in idx] if chosen else []
