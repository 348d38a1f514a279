"""A GEP run: scenario → landscape → services → valuation → account → outputs + manifest."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from gep.accounting import catalogue
from gep.accounting import parcels as apportion
from gep import execution
from gep.audit import manifest as mf
from gep.jobs import inputs
from gep.audit import provenance
from gep.io import charts as report
from gep.accounting.account import Account, assemble
from gep.accounting.changes import check_codes
from gep.accounting.coefficients import CoefficientSet
from gep.errors import ScenarioError
from gep.io import outputs
from gep.io.files import sha256_file
from gep.io.raster import cells as raster_cells
from gep.accounting.region import build as build_landscape
from gep.accounting.landscape import Landscape
from gep.accounting.scenario import Scenario, for_year
from gep.accounting.services.result import ServiceResult

#: Absolute tolerance of the value digests in manifests [CNY] and of quantities [unit].
DIGEST_TOLERANCE = 1e-3


@dataclass
class RunResult:
    scenario: Scenario
    coef: CoefficientSet
    landscape: Landscape
    account: Account
    enabled: list[str]
    methods: dict[str, str]
    switches: dict
    cells: xr.Dataset
    run_dir: Path | None = None
    manifest: dict | None = None
    #: What the scenario changed (land-cover and input operations, resampling, parcel), for the manifest.
    changes: dict | None = None

    def summary(self) -> dict:
        """The ``--json`` document of ``gep run``."""
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
        out = {
            "scenario": self.scenario.name,
            "year": self.scenario.year,
            "price_year": self.scenario.year,
            "coefficient_set": f"{self.coef.id}@{self.coef.version}",
            "gep_total_cny": acc.gep,
            "categories": acc.category_totals(),
            "services": services,
            "zones": {str(r.zone_name): r.gep_cny for r in acc.zone_table().itertuples()},
            "run_dir": str(self.run_dir) if self.run_dir else None,
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
        return out


def resolve_services(sc: Scenario, coef: CoefficientSet) -> tuple[list[str], dict[str, str], dict]:
    """Enabled services (catalogue order), their methods and the switches, profile then scenario."""
    enabled = sc.enabled if sc.enabled is not None else list(coef.profile.get("services", {}).get("enabled", [s.id for s in catalogue.CATALOGUE]))
    enabled = [s.id for s in catalogue.CATALOGUE if s.id in enabled and s.id not in sc.disabled]
    methods = {}
    for sid in enabled:
        service = catalogue.get(sid, str(sc.path))
        method = sc.methods.get(sid) or coef.profile.get("methods", {}).get(sid) or service.default_method
        methods[sid] = catalogue.check_method(service, method, f"coefficient set {coef.id}")
    switches = dict(coef.profile.get("switches", {}))
    switches.update(sc.switches)
    switches["carbon_method"] = methods.get("carbon_sequestration", coef.profile.get("methods", {}).get("carbon_sequestration", "nep_rh"))
    return enabled, methods, switches


@dataclass(frozen=True)
class RunJob:
    """What ``gep run`` loaded: the scenario, its coefficient set (loaded once), the services and how to execute.

    Attributes
    ----------
    scenario : Scenario
        The loaded scenario (a multi-year series: every year is computed from it).
    coef : CoefficientSet
        Its coefficient set with overrides, carbon-pool table and valuation settings applied.
    enabled, methods, switches
        Services in catalogue order, their methods and the switches (profile, then scenario).
    area : Path, optional
        The parcel asked for on the command line (``None``: ``[region] area`` or the whole region).
    chunks : int, optional
        Chunk size of a chunked run (``None``: in memory).
    """

    scenario: Scenario
    coef: CoefficientSet
    enabled: list[str]
    methods: dict[str, str]
    switches: dict
    area: Path | None = None
    chunks: int | None = None

    @property
    def chunked(self) -> bool:
        return bool(self.chunks)


def load(path: str | Path, *, area: str | Path | None = None, chunks: int | None = None, scheduler: str | None = None, workers: int | None = None) -> RunJob:
    """Load a scenario and its coefficient set, and resolve its services (nothing computed yet).

    Parameters
    ----------
    path : path
        Scenario TOML.
    area : path, optional
        GeoJSON parcel whose account is wanted (default ``[region] area``).
    chunks : int, optional
        Chunk size (default ``[execution] chunks``; with a ``scheduler`` or ``workers``
        and no chunk size, :data:`gep.execution.DEFAULT_CHUNKS`).
    """
    sc = inputs.scenario(path)
    if area is not None and not Path(area).is_file():
        from gep.errors import InputError

        raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon, e.g. scenarios/demo/parcels/village.geojson", key="area")
    coef = inputs.coefficients_for(sc)
    enabled, methods, switches = resolve_services(sc, coef)
    chunks = chunks or sc.chunks or (execution.DEFAULT_CHUNKS if scheduler or workers else None)
    return RunJob(sc, coef, enabled, methods, switches, Path(area) if area is not None else None, chunks)


def steps(job: RunJob) -> int:
    """Number of progress steps of :func:`run` (for a progress bar)."""
    sc = job.scenario
    one = 3 + len(sc.inputs) + len(sc.tables) + len(job.enabled) + 2 + job.chunked + bool(sc.changes) + bool(job.area or sc.area)
    return one * (len(sc.series) if sc.series else 1)


def compute(job: RunJob, progress: Callable[[str], None] | None = None, *, year: int | None = None) -> RunResult:
    """Compute the account of a loaded scenario (no outputs written).

    Parameters
    ----------
    job : RunJob
        From :func:`load`; the scenario's ``[[changes]]`` are applied before the services run.
    year : int, optional
        For a multi-year series scenario, the year to account (default ``[scenario] year``).
    """
    say = progress or (lambda _m: None)
    sc, coef, area = job.scenario, job.coef, job.area
    is_series = sc.series is not None
    if is_series:
        sc = for_year(sc, year if year is not None else sc.year)
    elif year is not None and year != sc.year:
        raise ScenarioError(f"{sc.path}: year {year} asked, but the scenario accounts {sc.year} and has no [series]", hint="add [series.<year>] tables for a multi-year account")
    bad = check_codes(sc.changes, coef.legend)
    if bad:
        raise ScenarioError(f"{sc.path}: " + " | ".join(map(str, bad)), hint=f"use codes of the legend of {coef.id} (gep coefficients show {coef.id}; landcover.csv) or ecosystem names", problems=[replace(b, file=str(sc.path)) for b in bad])
    if not job.chunks:
        execution.check_fits(raster_cells(sc.landcover), len(sc.inputs))
    region = inputs.read_region(sc, job.chunks, area, lambda m: say(f"reading {m}"))
    ls = build_landscape(region, sc, coef.legend, area)
    account, cell_ds = account_landscape(ls, coef, job.enabled, job.methods, job.switches, sc.base_year, say)
    record = dict(ls.changes, series=is_series)
    if record.get("parcel") is not None:
        record["parcel"] = dict(record["parcel"], from_scenario=area is None)
    return RunResult(sc, coef, ls, account, job.enabled, job.methods, job.switches, cell_ds, changes=record)


def replay(manifest: mf.Manifest, scenario_path: str | Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded ``gep run`` into ``out_dir`` on the parcel and series year it used; return the new manifest.

    The parcel path is recorded relative to the scenario folder.
    """
    record = manifest.record
    area = Path(scenario_path).parent / record.parcel_given if record.parcel_given else None
    result = compute(load(scenario_path, area=area), year=record.series_year)
    write(result, out_dir, manifest.command or "gep run")
    return result.manifest


def account_landscape(
    ls: Landscape,
    coef: CoefficientSet,
    enabled: list[str],
    methods: dict[str, str],
    switches: dict,
    base_year: int | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[Account, xr.Dataset]:
    """Run every enabled service on a landscape and assemble the valued account.

    Returns the account and the per-cell quantities (float32).
    """
    results, cells = {}, {}
    view = ls.collecting()
    for sid in enabled:
        say(f"service {sid}")
        results[sid] = catalogue.BY_ID[sid].account(view, coef, methods[sid], switches)
        for name, da in results[sid].cells.items():
            cells[name] = _clean_cell(da.astype(np.float32), da.attrs.get("units", ""))
    sums = apportion.basis_sums(view, results) if ls.parcel is None else None
    view.class_area()  # the value map's area shares: summed in the same pass
    batch = view.batch
    if batch is not None:
        say("zonal sums over the chunks")
        batch.run()
    results, sums = materialise(results, sums)
    say("valuation")
    val = coef.profile.get("valuation", {})
    gdp = ls.zones["gdp_cny"].to_numpy() if "gdp_cny" in ls.zones and ls.parcel is None else None  # no GEP/GDP for a parcel
    value_with = lambda res: assemble(res, methods, ls.zones, ls.year, coef.price_index, val.get("price_index", "cpi"), base_year)  # noqa: E731
    results, cells, parcels = apportion.parcel_account(ls, results, cells, value_with)
    account = assemble(results, methods, ls.zones, ls.year, coef.price_index, val.get("price_index", "cpi"), base_year, gdp)
    account.parcels = parcels
    cell_ds = xr.Dataset(cells)
    cell_ds.update(apportion.extra_cells(ls, results, account.data["value"], sums))
    for name in ("class_index", "zone_index", "cell_area"):
        cell_ds[name] = _clean_cell(ls.grid[name], ls.grid[name].attrs.get("units", ""))
    cell_ds.attrs.update({k: ls.grid.attrs[k] for k in ("crs", "transform") if k in ls.grid.attrs})
    return account, cell_ds


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
    import dataclasses

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


def run_id(sc: Scenario, coef: CoefficientSet) -> str:
    """Deterministic run id: scenario name + hash of the scenario and coefficient files."""
    h = provenance.sha256_bytes((sha256_file(sc.path) + provenance.canonical_json(coef.provenance())).encode())
    return provenance.run_folder_name(sc.name, str(sc.year), h)


def write(result: RunResult, out_dir: Path | None, command: str) -> Path:
    """Write account tables, per-cell NetCDF, chart and manifest; return the run folder."""
    sc = result.scenario
    folder = Path(out_dir) if out_dir else (sc.output_dir or Path("runs")) / run_id(sc, result.coef)
    folder.mkdir(parents=True, exist_ok=True)
    acc = result.account
    table = acc.table()
    outputs.write_csv(table, folder / "account.csv")
    outputs.write_parquet(table, folder / "account.parquet")
    outputs.write_csv(acc.components, folder / "components.csv")
    outputs.write_csv(acc.zone_table(), folder / "zones.csv")
    outputs.write_netcdf(acc.data, folder / "account.nc")
    outputs.write_netcdf(result.cells, folder / "cells.nc")
    report.value_by_service_zone(table, folder / "value_by_service_zone.png", f"GEP {sc.name} {sc.year}: {acc.gep / 1e8:,.2f} × 10⁸ CNY")
    names = ["account.csv", "account.parquet", "components.csv", "zones.csv", "account.nc", "cells.nc", "value_by_service_zone.png"]
    result.run_dir = folder
    manifest, _, _ = mf.write(folder, build_manifest(result, command, outputs.hashes(folder, names)))
    result.manifest = manifest
    return folder


def build_manifest(result: RunResult, command: str, output_hashes: dict[str, str]) -> mf.Manifest:
    """The run manifest (see DESIGN.md section 6 and :mod:`gep.audit.manifest`).

    Paths are relative: the scenario to the run folder, inputs to the
    scenario folder.
    """
    sc = result.scenario
    files = {"landcover": sc.landcover, "zones": sc.zones, "zone_table": sc.zone_table}
    files.update({f"inputs.{k}": v.path for k, v in sc.inputs.items() if v.path is not None})
    files.update({f"tables.{k}": v for k, v in sc.tables.items()})
    acc = result.account.data
    record = mf.RunRecord(
        scenario=mf.ScenarioRef(_relpath(sc.path, result.run_dir), sha256_file(sc.path), sc.raw),
        services={"enabled": result.enabled, "methods": result.methods, "switches": dict(result.switches)},
        coefficients=mf.CoefficientsRef.from_dict(result.coef.provenance()),
        inputs={k: mf.FileRef(_relpath(p, sc.folder), sha256_file(p)) for k, p in sorted(files.items())},
        constants={k: {"value": v.value, "units": v.unit} for k, v in sc.inputs.items() if v.path is None},
        changes=result.changes,
    )
    results = {
        "tolerance": DIGEST_TOLERANCE,
        "relative_tolerance": mf.RELATIVE_TOLERANCE,
        "gep_total_cny": result.account.gep,
        "value_digest": provenance.value_digest(acc["value"].values, DIGEST_TOLERANCE),
        "quantity_digest": provenance.value_digest(acc["quantity"].values, DIGEST_TOLERANCE),
        "digests": {
            "account.nc": provenance.digests(acc, DIGEST_TOLERANCE),
            "cells.nc": provenance.file_digests(result.run_dir / "cells.nc", DIGEST_TOLERANCE) if result.run_dir and (result.run_dir / "cells.nc").is_file() else provenance.digests(result.cells, DIGEST_TOLERANCE),
        },
    }
    return mf.Manifest(kind=mf.RunRecord.KIND, command=command, record=record, outputs=output_hashes, results=results,
                       environment=provenance.environment(), rng=provenance.rng_record(None))


def _relpath(path: Path, start: Path | None) -> str:
    """``path`` relative to ``start`` (the run folder), so a manifest holds no absolute path."""
    import os

    return Path(os.path.relpath(Path(path).resolve(), Path(start or ".").resolve())).as_posix()


def run(job: RunJob, out_dir: Path | None = None, command: str = "gep run", progress: Callable[[str], None] | None = None) -> RunResult:
    """Compute and write a loaded scenario's account (a single year; see :mod:`gep.jobs.series`)."""
    result = compute(job, progress)
    if progress:
        progress("writing outputs")
    write(result, out_dir, command)
    return result
