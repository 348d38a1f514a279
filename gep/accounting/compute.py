"""Computing a GEP account: services in the order their methods need, then valuation, parcels and per-cell maps.

:func:`account_landscape` runs every enabled service on a landscape
(:func:`compute_services`: a service's method may need another service's
result, e.g. oxygen release by ``nep`` needs carbon sequestration), computes
the zonal sums of a chunked landscape in one pass, values the results once
(:class:`gep.accounting.valuation.Valuation`), applies a parcel and builds the
per-cell outputs. :class:`RunResult` is what one run computed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import xarray as xr

from gep.accounting import catalogue
from gep.accounting import parcels as parcels_mod
from gep.accounting.account import GepAccount, assemble
from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.scenario import Scenario
from gep.accounting.services.result import ServiceResult
from gep.accounting.switches import DEFAULTS
from gep.accounting.valuation import Valuation
from gep.execution import HELD_MAPS_BYTES, Plan


@dataclass(frozen=True)
class RunResult:
    """The account of one scenario and year: what a run computed, before anything is written.

    Attributes
    ----------
    scenario : Scenario
        The scenario accounted (a series: the scenario of that year).
    coef : CoefficientSet
        The coefficient set used.
    landscape : Landscape
        The landscape the services read.
    account : GepAccount
        The valued account.
    enabled, methods, switches
        The services reported, their methods (and those of the services they need) and the switches.
    cells : xarray.Dataset
        Per-cell quantities and values.
    changes : dict
        What the scenario changed (land-cover and input operations, resampling, parcel), for the manifest.
    execution : gep.execution.Plan, optional
        How the run executed (in memory or chunked, block size), for the summary and the manifest.
    warnings : tuple of str
        Implausible values (inputs outside their plausible range, overrides outside a coefficient's
        range), shown in the summary and recorded in the manifest.
    """

    scenario: Scenario
    coef: CoefficientSet
    landscape: Landscape
    account: GepAccount
    enabled: tuple[str, ...]
    methods: dict[str, str]
    switches: dict
    cells: xr.Dataset
    changes: dict | None = None
    execution: Plan | None = None
    #: Implausible inputs and coefficient overrides (possible, but outside their plausible range).
    warnings: tuple[str, ...] = ()

    def summary(self, run_dir: Path | str | None = None) -> dict:
        """The ``--json`` document of ``gep run`` (``run_dir``: where it was written)."""
        acc = self.account
        table = acc.data["quantity"].sum(("zone", "ecosystem"))
        values = acc.data["value"].sum(("zone", "ecosystem"))
        services = {}
        for sid in self.enabled:
            unit = str(acc.data["unit"].sel(service=sid).item())
            q = float(table.sel(service=sid)) if unit != "various" else float("nan")
            services[sid] = {
                "category": catalogue.BY_ID[sid].category,
                "method": self.methods[sid],
                "quantity": None if np.isnan(q) else q,
                "unit": unit,
                "value_cny": float(values.sel(service=sid)),
            }
            if "value_by_confidence" in acc.data:
                by = acc.data["value_by_confidence"].sel(service=sid).sum(("zone", "ecosystem"))
                services[sid]["value_by_confidence_cny"] = {str(c): float(v) for c, v in zip(by["confidence"].values, by.values)}
        out = {
            "scenario": self.scenario.name,
            "year": self.scenario.year,
            "price_year": self.scenario.year,
            "coefficient_set": f"{self.coef.id}@{self.coef.version}",
            **({"province": self.coef.province} if self.coef.province is not None else {}),
            "gep_total_cny": acc.gep,
            "categories": acc.category_totals(),
            "confidence_share": acc.confidence_share(),
            "services": services,
            "zones": {str(r.zone_name): r.gep_cny for r in acc.zone_table().itertuples()},
            "run_dir": str(run_dir) if run_dir else None,
        }
        ch = self.changes or {}
        if ch.get("operations"):
            out["changes"] = [
                {k: e[k] for k in ("label", "op", "note", "from", "to", "input", "how", "applied", "cells", "area_ha", "share_before", "share_after") if k in e}
                for e in ch["operations"]
            ]
        if ch.get("resampled"):
            out["resampled"] = ch["resampled"]
        parcel = self.landscape.parcel
        if parcel is not None:
            zt = acc.zone_table()
            w_area = self.landscape.zonal((self.landscape.cell_area * parcel.weights).assign_attrs(units="m**2")).sum("ecosystem").values
            touched = {int(z) for z, a in zip(zt["zone"], w_area) if a > 0}
            out["zones"] = {str(r.zone_name): r.gep_cny for r in zt.itertuples() if int(r.zone) in touched}
            out["parcel"] = dict(ch.get("parcel") or {}, area_in_region_ha=float(np.sum(w_area)) / 1e4, cells=int(np.count_nonzero(parcel.weights)))
            if acc.parcels is not None:
                out["parcel"]["features"] = acc.parcels.to_dict(orient="records")
        if "value_comparable" in acc.data:
            out["base_year"] = self.scenario.base_year
            out["gep_total_cny_comparable"] = float(acc.data["value_comparable"].sum())
        if "gdp" in acc.data:
            gdp = float(acc.data["gdp"].sum())
            out["gdp_cny"] = gdp
            out["gep_gdp_ratio"] = acc.gep / gdp if gdp else None
        if "carbon_stock" in acc.extras:
            out["carbon_stock_tc"] = float(acc.extras["carbon_stock"].sum())
        if self.execution is not None:
            out["execution"] = {"mode": self.execution.mode, "reason": self.execution.reason, "rows_per_block": self.execution.rows}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def resolve_services(sc: Scenario, coef: CoefficientSet) -> tuple[tuple[str, ...], dict[str, str], dict]:
    """Enabled services (catalogue order), their methods and the switches (defaults, then profile, then scenario).

    ``methods`` also names the method of every service an enabled method needs
    (oxygen release by the ``nep`` method needs carbon sequestration), so that a
    needed service that is not reported is computed the way the scenario says.
    """
    enabled = sc.enabled if sc.enabled is not None else list(coef.profile.get("services", {}).get("enabled", [s.id for s in catalogue.CATALOGUE]))
    enabled = tuple(s.id for s in catalogue.CATALOGUE if s.id in enabled and s.id not in sc.disabled)
    methods: dict[str, str] = {}

    def resolve(sid: str) -> None:
        if sid in methods:
            return
        service = catalogue.get(sid, str(sc.path))
        method = sc.methods.get(sid) or coef.profile.get("methods", {}).get(sid) or service.default_method
        methods[sid] = service.method(method, f"coefficient set {coef.id}").name
        for needed in service.method(methods[sid]).needs:
            resolve(needed)

    for sid in enabled:
        resolve(sid)
    switches = dict(DEFAULTS)
    switches.update(coef.profile.get("switches", {}))
    switches.update(sc.switches)
    return enabled, methods, switches


def missing_inputs(sc: Scenario, methods: Mapping[str, str]) -> list:
    """What the services (by the methods they run) need that the scenario does not give, one located
    :class:`~gep.errors.Problem` each (all of them at once, before anything is read)."""
    from gep.errors import Problem

    inputs = set(sc.inputs) | {n for y in (sc.series or {}).values() for n in y.inputs}
    tables = set(sc.tables) | {n for y in (sc.series or {}).values() for n in y.tables}
    out = []
    for sid, method in methods.items():
        for need in catalogue.BY_ID[sid].missing(method, inputs, tables):
            section = "tables" if need.startswith("table") else "inputs"
            out.append(Problem(f"service '{sid}' (method {method}) needs {need}, which the scenario does not give; add it, or leave the service out ([services] disabled)", key=f"[{section}]"))
    return out


def compute_services(ls: Landscape, coef: CoefficientSet, enabled: Iterable[str], methods: Mapping[str, str], switches: Mapping,
                     say: Callable[[str], None] = lambda _m: None) -> dict[str, ServiceResult]:
    """Every enabled service, each after the services its method needs (:attr:`Method.needs`).

    A needed service that is not enabled is computed for the services that need
    it and not reported. Returns the results of the enabled services, in order.
    """
    results: dict[str, ServiceResult] = {}
    read: dict[str, frozenset] = {}

    def run(sid: str) -> None:
        if sid in results:
            return
        spec = catalogue.BY_ID[sid]
        method = spec.method(methods[sid])
        for needed in method.needs:
            run(needed)
        say(f"service {sid}")
        with coef.recording() as reads:
            res = spec.compute(ls, coef, method.name, switches, {d: results[d] for d in method.needs})
        read[sid] = frozenset(reads.rows).union(*(read[d] for d in method.needs))
        results[sid] = with_confidence(res, coef, read[sid])

    enabled = list(enabled)
    for sid in enabled:
        run(sid)
    return {sid: results[sid] for sid in enabled}



def with_confidence(res: ServiceResult, coef: CoefficientSet, read: frozenset) -> ServiceResult:
    """The service's components with the coefficient rows each rests on and their weakest confidence.

    ``read`` is every row the service read (and the services its method needs).
    A component that recorded its own rows (:attr:`Component.uses`) rests on
    those and on the rows no component claimed (the service's shared quantity);
    one that did not rests on every row the service read.
    """
    claimed = frozenset().union(*(c.uses for c in res.components if c.uses is not None))
    shared = read - claimed
    components = []
    for c in res.components:
        rows = frozenset(shared | c.uses) if c.uses is not None else read
        components.append(dataclasses.replace(c, uses=rows, confidence=coef.confidence_of(rows)))
    return dataclasses.replace(res, components=components)


def account_landscape(
    ls: Landscape,
    coef: CoefficientSet,
    enabled: list[str],
    methods: dict[str, str],
    switches: dict,
    base_year: int | None = None,
    say: Callable[[str], None] = lambda _m: None,
    hold_cells: bool = False,
) -> tuple[GepAccount, xr.Dataset]:
    """Run every enabled service on a landscape and assemble the valued account.

    Returns the account and the per-cell quantities (float32), with the value per cell in all
    (``gep_value``) and by service (``value_<service>``).

    With ``hold_cells`` (an in-memory run: :attr:`gep.execution.Plan.chunked` false) the services'
    per-cell maps of a landscape in blocks are computed in the pass of the zonal sums and held whole
    when they take at most :data:`gep.execution.HELD_MAPS_BYTES`; the per-cell outputs are then made
    from them rather than from the services' graphs again (the demo: 0.6-1.4 CPU s less, 65-100 MiB more
    at the peak; benchmarks/RESULTS.md, session 6). Otherwise every per-cell output is computed when it is
    written, block by block.
    """
    view = ls.collecting()
    results = compute_services(view, coef, enabled, methods, switches, say)
    sums = parcels_mod.basis_sums(view, results) if ls.parcel is None else None
    view.class_area()  # the value map's area shares: summed in the same pass
    batch = view.batch
    if batch is not None:
        say("zonal sums over the blocks")
        held = [(sid, name) for sid, res in results.items() for name, da in res.cells.items() if hold_cells and hasattr(da.data, "map_blocks") and da.ndim == 2]
        if sum(results[sid].cells[name].nbytes for sid, name in held) > HELD_MAPS_BYTES:
            held = []  # too large to hold: computed again when written
        done = batch.run(tuple(results[sid].cells[name].data for sid, name in held))
        results = _with_cells(results, dict(zip(held, done)))
    cells = {}
    for res in results.values():
        for name, da in res.cells.items():
            cells[name] = _clean_cell(da.astype(np.float32), da.attrs.get("units", ""))
    results, sums = materialise(results, sums)
    say("valuation")
    valuation = Valuation.of(coef, ls.year, base_year)  # one valuation for the account and every parcel feature
    methods = {sid: methods[sid] for sid in results}
    gdp = ls.zones["gdp_cny"].to_numpy() if "gdp_cny" in ls.zones and ls.parcel is None else None  # no GEP/GDP for a parcel
    results, cells, parcels = parcels_mod.parcel_account(ls, results, cells, lambda res: assemble(res, methods, ls.zones, valuation))
    account = assemble(results, methods, ls.zones, valuation, gdp, parcels)
    cell_ds = xr.Dataset(cells)
    values = parcels_mod.service_values(ls, results, account.data["value"], sums)  # maps/<service>_value.tif
    cell_ds.update(parcels_mod.extra_cells(ls, results, account.data["value"], sums, values))
    cell_ds.update(values)
    for name in ("class_index", "zone_index", "cell_area"):
        cell_ds[name] = _clean_cell(ls.grid[name], ls.grid[name].attrs.get("units", ""))
    cell_ds.attrs.update({k: ls.grid.attrs[k] for k in ("crs", "transform") if k in ls.grid.attrs})
    return account, cell_ds


def _with_cells(results: dict[str, ServiceResult], computed: dict[tuple[str, str], np.ndarray]) -> dict[str, ServiceResult]:
    """The results with the per-cell maps ``computed`` (by service and map name) in the maps' own blocks,
    views of the arrays held (:func:`gep.execution.view_blocks`)."""
    from gep.execution import view_blocks

    out = dict(results)
    for sid in {sid for sid, _ in computed}:
        res = results[sid]
        maps = dict(res.cells)
        for (s, name), arr in computed.items():
            if s == sid:
                maps[name] = maps[name].copy(data=view_blocks(arr, maps[name].data.chunks))
        out[sid] = dataclasses.replace(res, cells=maps)
    return out


def _clean_cell(da: xr.DataArray, unit: str) -> xr.DataArray:
    """A per-cell output with only its unit as attribute and no encoding inherited from inputs
    (no input paths, no fill value or scale of the land-cover raster)."""
    out = da.copy(deep=False)
    out.attrs = {"units": unit} if unit else {}
    out.encoding = {}
    return out


def materialise(results: dict[str, ServiceResult], sums: dict | None = None) -> tuple[dict[str, ServiceResult], dict | None]:
    """Compute the lazy (dask) zone × ecosystem results of services (and basis sums) at once.

    In a chunked run their zonal sums were computed by one
    :class:`gep.execution.ZonalBatch` pass over the chunks; what is left is
    zone-level arithmetic on small arrays.
    """
    import dask

    keep_none = sums is None
    sums = dict(sums or {})
    arrays = list(sums.values())
    for res in results.values():
        arrays += [res.quantity] if res.quantity is not None else []
        arrays += [c.quantity for c in res.components] + list(res.extras.values())
    if not any(getattr(a, "chunks", None) for a in arrays):
        return results, None if keep_none else sums
    done = iter(dask.compute(*arrays))
    sums = {sid: next(done) for sid in sums}
    out = {}
    for sid, res in results.items():
        quantity = next(done) if res.quantity is not None else None
        components = [dataclasses.replace(c, quantity=next(done)) for c in res.components]
        extras = {k: next(done) for k in res.extras}
        out[sid] = dataclasses.replace(res, quantity=quantity, components=components, extras=extras)
    return out, None if keep_none else sums
