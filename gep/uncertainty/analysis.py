"""The uncertainty analysis of one landscape: percentiles of GEP, categories, services and zones,
and what drives them.

:func:`analyse` (``gep uncertainty``, :mod:`gep.jobs.uncertainty`):

1. the deterministic account (the engine at the coefficient set's values);
2. the *units* (a service with the services it needs) and the coefficient rows each reads
   (recorded while the engine runs), the space restricted to them and to the price-index
   years that move their prices;
3. each unit fitted, on its own compact cells, as an exact multi-affine model (with Chebyshev curves
   in the constants it is smooth but not affine in), or left to per-sample engine runs
   (:mod:`gep.uncertainty.propagation`);
4. a Saltelli design (:mod:`gep.uncertainty.sensitivity`): the coefficients read by a per-sample
   unit form one group, so that unit is computed at the ``2N`` samples only;
5. GEP at every design row (indices), every output at the ``2N`` samples (percentiles), a
   one-at-a-time swing of the leading groups between their 5th and 95th percentiles (tornado);
6. ``verify`` samples recomputed by the whole engine and compared (a difference above 10⁻⁶ of
   GEP or of a service's value is an error, never a silent wrong number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from gep.accounting import catalogue
from gep.accounting.coefficients import CoefficientSet
from gep.accounting.compute import account_landscape
from gep.accounting.landscape import Landscape
from gep.errors import CheckFailed
from gep.uncertainty import landcover
from gep.uncertainty import propagation as prop
from gep.uncertainty import sensitivity as sens
from gep.uncertainty.space import Space

#: Groups shown in the tornado chart.
TORNADO = 12
#: Largest relative difference of GEP or of a service's value between the fast path and the engine at a verified sample.
VERIFY_RTOL = 1e-6


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyse` found (tables ready to write)."""

    space: Space
    samples: pd.DataFrame
    draws: pd.DataFrame
    summary: pd.DataFrame
    sensitivity: pd.DataFrame
    tornado: pd.DataFrame
    units: list[dict]
    deterministic: dict
    checks: dict = field(default_factory=dict)

    def gep(self) -> dict:
        """``{p5, p50, p95, mean, se}`` of GEP [CNY]."""
        row = self.summary[(self.summary["level"] == "gep")].iloc[0]
        return {k: float(row[k]) for k in ("p5", "p50", "p95", "mean", "se")}

    def rows(self, level: str) -> dict:
        """``{name: {p5, p50, p95, mean, se, deterministic}}`` of one level (``category``, ``service``, ``zone``)."""
        sel = self.summary[self.summary["level"] == level]
        return {str(r["name"]): {k: float(r[k]) for k in ("p5", "p50", "p95", "mean", "se", "deterministic")} for _, r in sel.iterrows()}


def _unit_variables(unit: prop.Unit, read: set, space: Space, methods: Mapping[str, str]) -> tuple[int, ...]:
    inputs = {i.name for s in unit.services for i in catalogue.BY_ID[s].inputs_of(methods[s])}
    pools = ("carbon_pools", "*") in read
    out = []
    for j, v in enumerate(space.variables):
        if v.kind == "input":
            hit = v.parameter in inputs or v.parameter == landcover.PARAMETER  # the areas every service counts on
        elif v.parameter.startswith("carbon_pools."):
            hit = pools
        else:
            hit = (v.parameter, v.key) in read
        if hit:
            out.append(j)
    return tuple(out)


def _fit_task(u: int):
    st = prop._STATE
    unit, applier, central = st["units"][u], st["applier"], st["central"]
    blocks = st["blocks"][u]
    variables = [applier.space.variables[j] for j in unit.variables]
    small = prop.compact_for(unit, applier.ls, applier, st["points"], st["methods"], st["switches"])
    capped = prop.capped_services(unit, st["switches"])
    # a unit capped by the zone's load: the model is of its capacities (the cap off), the cap applied to every sample
    switches = {**st["switches"], prop.CAP_SWITCH: False} if capped else st["switches"]

    def f(theta: np.ndarray, switches: Mapping = switches) -> np.ndarray:
        full = central.copy()
        full[list(unit.variables)] = theta
        coef, ls = applier.apply(full, unit.variables, small)
        return prop.evaluate(unit, coef, ls, st["methods"], switches)[0]

    slices, pos = [], 0
    for b in blocks:
        slices += [slice(pos, pos + b.size), slice(pos + b.size, pos + b.size + 1)]
        pos += b.size + 1
    low, high = np.array([v.low for v in variables]), np.array([v.high for v in variables])
    try:
        model = prop.fit(f, low, high, slices, [v.name for v in variables], seed=u)
        if capped:
            model = prop.cap(model, unit, blocks, applier.ls, st["switches"])
            _check_capped(model, lambda t: f(t, st["switches"]), low, high, u)
        return u, model, None, small
    except prop.NotMultiAffine as exc:
        return u, None, str(exc), small


def _check_capped(model: prop.Capped, f: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, seed: int) -> None:
    """The capped model against the engine with the cap on, at the corners and the centre of the box and at random
    points (relative :data:`gep.uncertainty.propagation.RTOL`)."""
    rng = np.random.default_rng(seed)
    for theta in [low, high, (low + high) / 2] + [low + rng.random(len(low)) * (high - low) for _ in range(prop.CHECK_POINTS)]:
        y, pred = f(theta), model.predict(theta[None, :])[0]
        if not np.allclose(pred, y, rtol=prop.RTOL, atol=prop.RTOL * float(np.max(np.abs(y), initial=0.0))):
            raise prop.NotMultiAffine("the capped model misses the engine with the cap on")


def _reduction(blocks: tuple[prop.Block, ...]) -> np.ndarray:
    """Matrix (outputs × 2·blocks): the total quantity and the unit value of each block."""
    n = sum(b.size + 1 for b in blocks)
    r = np.zeros((n, 2 * len(blocks)))
    pos = 0
    for j, b in enumerate(blocks):
        r[pos:pos + b.size, 2 * j] = 1.0
        r[pos + b.size, 2 * j + 1] = 1.0
        pos += b.size + 1
    return r


def analyse(ls: Landscape, coef: CoefficientSet, enabled: tuple[str, ...], methods: Mapping[str, str], switches: Mapping,
            space: Space, samples: int, seed: int, workers: int = 1, verify: int = 2, exact: bool = False,
            say: Callable[[str], None] = lambda _m: None) -> Analysis:
    """Percentiles and sensitivity indices of a landscape's account (see the module notes).

    Parameters
    ----------
    ls, coef, enabled, methods, switches
        The landscape and how it is accounted (as :func:`gep.accounting.compute.account_landscape` takes them).
    space : Space
        The uncertain variables (:func:`gep.uncertainty.space.build`).
    samples : int
        Samples for the percentiles (≥ 2; rounded up to an even number: ``A`` and ``B`` of the design).
    seed : int
        Seed of the scrambled Sobol' design and of the bootstrap.
    workers : int
        Processes for engine runs (results do not depend on it); 1 for a chunked landscape, whose
        engine runs dask parallelises with threads.
    verify : int
        Samples recomputed by the whole engine and compared.
    exact : bool
        Compute every unit by the engine per sample (no model): slow, for checking.
    """
    enabled = tuple(enabled)
    if hasattr(ls.grid["class_index"].data, "map_blocks"):
        workers = 1  # a chunked landscape: dask's threads share each engine run (its task graph does not go to other processes)
    say("deterministic account")
    account, _ = account_landscape(ls, coef, list(enabled), dict(methods), dict(switches))
    units = prop.units_of(enabled, methods)
    read_by: list[set] = []
    blocks: list[tuple[prop.Block, ...]] = []
    for unit in units:
        say(f"reading the coefficients of {unit.name}")
        rec = prop.recording(coef)
        _, b = prop.evaluate(unit, rec, ls, methods, switches)
        read_by.append(set(rec.log))
        blocks.append(b)
    # the space: variables some unit reads, and the price-index years between a price year and the accounting year
    series = coef.profile.get("valuation", {}).get("price_index", "cpi")
    years = {b.price_year for bs in blocks for b in bs}
    keep = set()
    for u, unit in enumerate(units):
        keep |= {space.variables[j].name for j in _unit_variables(unit, read_by[u], space, methods)}
    for v in space.variables:
        if v.parameter == f"price_index.{series}" and any(min(py, ls.year) < int(v.key) <= max(py, ls.year) for py in years):
            keep.add(v.name)
    space = space.restrict(keep)
    units = [prop.Unit(u.services, u.reported, _unit_variables(u, read_by[i], space, methods)) for i, u in enumerate(units)]
    applier = prop.Applier(coef, ls, space)
    central = space.central()

    # each unit on the cells of its own ecosystems when that gives the same outputs (prop.compact_for), at these points
    rng = np.random.default_rng(seed)
    lows, highs = np.array([v.low for v in space.variables]), np.array([v.high for v in space.variables])
    points = np.vstack([central, lows + rng.random((2, len(central))) * (highs - lows)])
    say(f"fitting {len(units)} services ({len(space.variables)} variables)")
    state = dict(units=units, applier=applier, central=central, blocks=blocks, methods=methods, switches=switches, points=points)
    fitted = ([(u, None, "exact: per-sample engine runs asked", None) for u in range(len(units))] if exact
              else prop.run_tasks(_fit_task, list(range(len(units))), state, workers))
    models: dict[int, prop.Model | prop.Capped] = {u: m for u, m, _, _ in fitted if m is not None}
    slow = [u for u, m, _, _ in fitted if m is None]
    reasons = {u: r for u, _, r, _ in fitted if r}
    landscapes = {u: small for u, _, _, small in fitted if small is not None}

    # groups: the columns read by a per-sample unit form one group (merged when units share a column)
    group_of = {c: c for c in space.columns}
    for u in slow:
        cols = sorted({space.variables[j].column for j in units[u].variables})
        if not cols:
            continue
        name = f"{units[u].name} (per sample: all its coefficients)"
        merged = {group_of[space.columns[c]] for c in cols}
        for c, g in list(group_of.items()):
            if g in merged or c in {space.columns[i] for i in cols}:
                group_of[c] = name
    column_groups = tuple(group_of[c] for c in space.columns)
    base = max(1, -(-samples // 2))
    d = sens.design(column_groups, base, seed) if space.columns else None
    theta = space.values(d.u) if d is not None else central[None, :]
    rows_s = d.samples if d is not None else np.array([0])
    say(f"design: {len(theta)} rows, {len(rows_s)} samples")

    # per-sample units at the 2N samples, each on the cells of its own ecosystems when that gives the same outputs
    slow_units = [units[u] for u in slow]
    say("the cells of the per-sample services")
    small = {i: landscapes[u] if u in landscapes else prop.compact_for(units[u], ls, applier, points, methods, switches) for i, u in enumerate(slow)}
    per = prop.per_sample(slow_units, theta[rows_s], applier, methods, switches, workers, say, small)
    outputs_s: dict[int, np.ndarray] = {u: per[i] for i, u in enumerate(slow)}
    for u, m in models.items():
        outputs_s[u] = m.predict(theta[rows_s][:, list(units[u].variables)])

    # index factor per sample and design row, per price year
    index_vars = [j for j, v in enumerate(space.variables) if v.parameter.startswith("price_index.")]
    ivars = tuple(space.variables[j] for j in index_vars)

    def idx(th: np.ndarray, py: int) -> np.ndarray:
        return prop.index_factors(coef.price_index, series, th[:, index_vars], ivars, py, ls.year)

    # GEP at every design row (reduced outputs: total quantity and unit value per block)
    y = np.zeros(len(theta))
    if d is not None:
        g_index = {g: i for i, g in enumerate(d.groups)}
        for u, unit in enumerate(units):
            r = _reduction(blocks[u])
            if u in models:
                red = models[u].predict(theta[:, list(unit.variables)], r)
            else:
                red_s = outputs_s[u] @ r
                red_a, red_b = red_s[:base], red_s[base:]
                red = np.repeat(red_a, d.stride, axis=0)
                red[d.rows_b] = red_b
                own = {column_groups[space.variables[j].column] for j in unit.variables}
                for g in own:
                    red[d.rows_a + 1 + g_index[g]] = red_b
            for j, b in enumerate(blocks[u]):
                y += red[:, 2 * j] * red[:, 2 * j + 1] * idx(theta, b.price_year)
    # every output at the samples
    ths = theta[rows_s]
    table = _aggregate(units, blocks, outputs_s, ls, lambda py: idx(ths, py))
    deterministic = _deterministic(account)
    summary = _summary(table, deterministic)
    ind = sens.indices(d, y, seed) if d is not None else {}
    sensitivity = _sensitivity(ind, space, column_groups, d)
    tornado = _tornado(sensitivity, space, column_groups, units, blocks, models, applier, central, methods, switches, idx,
                       {u: small[i] for i, u in enumerate(slow)})
    cells = {u: int(small[i].grid["class_index"].size) for i, u in enumerate(slow)}
    unit_rows = [{"unit": unit.name, "services": list(unit.reported), "variables": len(unit.variables),
                  "method": _method(models.get(u)),
                  **({"cells": cells[u], "cells_of_landscape": int(ls.grid["class_index"].size)} if u in cells else {}),
                  **({"terms": models[u].checked["terms"], "engine_evaluations": models[u].checked["engine_evaluations"],
                      "max_relative_difference": models[u].checked["max_relative_difference"],
                      "chebyshev_nodes": models[u].checked["chebyshev_nodes"]} if u in models else {"reason": reasons.get(u, "")})}
                 for u, unit in enumerate(units)]
    draws = pd.DataFrame(ths, columns=space.names)
    draws.insert(0, "sample", np.arange(len(ths)))
    checks = _verify(table, ths, applier, ls, enabled, methods, switches, verify, say) if verify else {}
    return Analysis(space, table, draws, summary, sensitivity, tornado, unit_rows, deterministic, checks)


def _method(model: prop.Model | prop.Capped | None) -> str:
    if model is None:
        return "per sample (engine)"
    smooth = model.checked.get("chebyshev_nodes", {})
    return ("multi-affine model" + (f", Chebyshev curves in {', '.join(smooth)}" if smooth else "")
            + (" of the capacities, capped by the zone's load per sample" if isinstance(model, prop.Capped) else ""))


def _aggregate(units, blocks, outputs, ls: Landscape, idx) -> pd.DataFrame:
    """Value per sample of GEP, every category, service and zone [CNY]."""
    n = len(next(iter(outputs.values()))) if outputs else 0
    n_zones = ls.n_zones
    services: dict[str, np.ndarray] = {}
    zones = np.zeros((n, n_zones))
    for u, unit in enumerate(units):
        y, pos = outputs[u], 0
        for b in blocks[u]:
            q = y[:, pos:pos + b.size]
            value = q * (y[:, pos + b.size] * idx(b.price_year))[:, None]
            pos += b.size + 1
            services[b.service] = services.get(b.service, np.zeros(n)) + value.sum(axis=1)
            zones += value.reshape(n, n_zones, -1).sum(axis=2)
    cols = {"gep_cny": sum(services.values(), np.zeros(n))}
    for c in catalogue.CATEGORIES:
        cols[f"category:{c}"] = sum((v for s, v in services.items() if catalogue.BY_ID[s].category == c), np.zeros(n))
    cols.update({f"service:{s}": v for s, v in services.items()})
    names = ls.zones["name"].astype(str).to_numpy() if "name" in ls.zones else ls.zones["zone_id"].astype(str).to_numpy()
    cols.update({f"zone:{z}": zones[:, i] for i, z in enumerate(names)})
    out = pd.DataFrame(cols)
    out.insert(0, "sample", np.arange(n))
    return out


def _deterministic(account) -> dict:
    values = account.data["value"].sum(("zone", "ecosystem"))
    out = {"gep_cny": account.gep}
    out.update({f"category:{k}": v for k, v in account.category_totals().items()})
    out.update({f"service:{s}": float(values.sel(service=s)) for s in account.data["service"].values})
    out.update({f"zone:{r.zone_name}": float(r.gep_cny) for r in account.zone_table().itertuples()})
    return out


def _summary(table: pd.DataFrame, deterministic: dict) -> pd.DataFrame:
    rows = []
    for col in table.columns[1:]:
        level, name = ("gep", "GEP") if col == "gep_cny" else col.split(":", 1)
        rows.append({"level": level, "name": name, **sens.statistics(table[col].to_numpy()), "deterministic": deterministic.get(col, np.nan),
                     "n": len(table), "unit": "CNY"})
    return pd.DataFrame(rows, columns=["level", "name", "p5", "p50", "p95", "mean", "se", "sd", "deterministic", "n", "unit"])


def _sensitivity(ind: dict, space: Space, column_groups: tuple[str, ...], d) -> pd.DataFrame:
    rows = []
    for g, s in ind.items():
        members = [v for v in space.variables if column_groups[v.column] == g]
        first = members[0] if members else None
        rows.append({"name": g, "variables": len(members), "members": ";".join(v.name for v in members[:20]) + (";…" if len(members) > 20 else ""),
                     "kind": first.kind if first else "", "confidence": first.confidence if len(members) == 1 else "",
                     "distribution": first.distribution if len(members) == 1 else "",
                     "low": first.low if len(members) == 1 else np.nan, "high": first.high if len(members) == 1 else np.nan,
                     "unit": first.unit if len(members) == 1 else "", **s})
    df = pd.DataFrame(rows, columns=["name", "variables", "members", "kind", "confidence", "distribution", "low", "high", "unit", "S1", "S1_conf", "ST", "ST_conf"])
    df = df.sort_values(["ST", "S1", "name"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def _tornado(sensitivity, space, column_groups, units, blocks, models, applier, central, methods, switches, idx, landscapes) -> pd.DataFrame:
    """GEP with one group at its 5th and at its 95th percentile, the others at their values (a per-sample unit
    on its own landscape in ``landscapes``, by position)."""
    top = list(sensitivity["name"][:TORNADO])
    rows = [central]
    for g in top:
        for q in (0.05, 0.95):
            th = central.copy()
            for j, v in enumerate(space.variables):
                if column_groups[v.column] == g:
                    th[j] = v.ppf(np.array([q]))[0]
            rows.append(th)
    th = space.normalised(np.array(rows))
    gep = np.zeros(len(th))
    for u, unit in enumerate(units):
        if u in models:
            y = models[u].predict(th[:, list(unit.variables)])
        else:
            y = np.array([prop.evaluate(unit, *applier.apply(t, unit.variables, landscapes[u]), methods, switches)[0] for t in th])
        pos = 0
        for b in blocks[u]:
            gep += y[:, pos:pos + b.size].sum(axis=1) * y[:, pos + b.size] * idx(th, b.price_year)
            pos += b.size + 1
    out = pd.DataFrame({"name": top, "gep_low_cny": gep[1::2], "gep_high_cny": gep[2::2]})
    out["central_cny"] = gep[0]
    out["swing_cny"] = (out["gep_high_cny"] - out["gep_low_cny"]).abs()
    return out.sort_values("swing_cny", ascending=False, kind="stable").reset_index(drop=True)


def _verify(table: pd.DataFrame, ths: np.ndarray, applier, ls, enabled, methods, switches, k: int, say) -> dict:
    """Recompute ``k`` samples with the whole engine; a relative difference of GEP or of a service's value above
    :data:`VERIFY_RTOL` raises CheckFailed."""
    picks = np.unique(np.linspace(0, len(ths) - 1, min(k, len(ths))).round().astype(int))
    worst = worst_service = 0.0
    for i in picks:
        say(f"verifying sample {i} with the engine")
        coef, lsv = applier.apply(ths[i])
        acc, _ = account_landscape(lsv, coef, list(enabled), dict(methods), dict(switches))
        values = acc.data["value"].sum(("zone", "ecosystem"))
        for name, engine in [("GEP", acc.gep)] + [(f"service {s}", float(values.sel(service=s))) for s in enabled]:
            col = "gep_cny" if name == "GEP" else f"service:{name.split(' ', 1)[1]}"
            fast = float(table[col].iloc[i]) if col in table else 0.0
            diff = abs(fast - engine) / max(abs(engine), 1.0)
            if name == "GEP":
                worst = max(worst, diff)
            worst_service = max(worst_service, diff)
            if diff > VERIFY_RTOL:
                raise CheckFailed(f"sample {i}: {name} {fast:,.2f} CNY from the fast path, {engine:,.2f} CNY from the engine",
                                  hint="run with --exact (every service computed by the engine per sample) and report the scenario")
    return {"verified_samples": [int(i) for i in picks], "max_relative_difference_gep": worst, "max_relative_difference_services": worst_service,
            "relative_tolerance": VERIFY_RTOL}
