"""``gep run SCENARIO``: the GEP account of a scenario (load -> compute -> write).

:func:`load` reads the scenario and its coefficient set (once) and resolves the
services; :func:`compute` reads the region (:func:`gep.jobs.inputs.read_region`),
builds the landscape and accounts it (:mod:`gep.accounting`); :func:`write`
writes the tables, per-cell NetCDF, chart and manifest. A multi-year scenario
is run by :mod:`gep.jobs.series`, one year at a time through :func:`compute`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from gep import execution
from gep.accounting.changes import check_codes
from gep.accounting.coefficients import CoefficientSet
from gep.accounting.compute import RunResult, account_landscape, resolve_services
from gep.accounting.region import build as build_landscape
from gep.accounting.scenario import Scenario, for_year
from gep.audit import manifest as mf
from gep.audit import provenance
from gep.errors import InputError, ScenarioError
from gep.io import charts, outputs
from gep.io.coefficient_files import recorded_set
from gep.io.files import sha256_file
from gep.io.raster import cells as raster_cells
from gep.jobs import inputs
from gep.jobs.job import Written

KIND = mf.RunRecord.KIND
OUTPUTS = ("account.csv", "account.parquet", "components.csv", "zones.csv", "account.nc", "cells.nc", "value_by_service_zone.png")

#: Absolute tolerance of the value digests in manifests [CNY] and of quantities [unit].
DIGEST_TOLERANCE = 1e-3


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
    enabled: tuple[str, ...]
    methods: dict[str, str]
    switches: dict
    area: Path | None = None
    chunks: int | None = None

    @property
    def chunked(self) -> bool:
        return bool(self.chunks)


def load(path: str | Path, *, area: str | Path | None = None, chunks: int | None = None, scheduler: str | None = None, workers: int | None = None,
         coefficient_version: str | None = None) -> RunJob:
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
    coefficient_version : str, optional
        Load this version of the scenario's coefficient set while it is present,
        current or frozen under ``coefficients/releases/`` (replay: the version the run recorded).
    """
    sc = inputs.scenario(path)
    if coefficient_version is not None:
        sc = replace(sc, coefficient_set=recorded_set(sc.coefficient_set, coefficient_version, sc.folder))
    if area is not None and not Path(area).is_file():
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


def run_id(sc: Scenario, coef: CoefficientSet) -> str:
    """Deterministic run id: scenario name + hash of the scenario and coefficient files."""
    h = provenance.sha256_bytes((sha256_file(sc.path) + provenance.canonical_json(coef.provenance())).encode())
    return provenance.run_folder_name(sc.name, str(sc.year), h)


def write(result: RunResult, out_dir: Path | None, command: str = KIND) -> Written[RunResult]:
    """Write account tables, per-cell NetCDF, chart and manifest."""
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
    charts.value_by_service_zone(table, folder / "value_by_service_zone.png", f"GEP {sc.name} {sc.year}: {acc.gep / 1e8:,.2f} × 10⁸ CNY")
    manifest, _, _ = mf.write(folder, build_manifest(result, command, folder, outputs.hashes(folder, list(OUTPUTS))))
    return Written(result, folder, manifest)


def build_manifest(result: RunResult, command: str, folder: Path, output_hashes: dict[str, str]) -> mf.Manifest:
    """The run manifest of a run written into ``folder`` (see DESIGN.md section 6 and :mod:`gep.audit.manifest`).

    Paths are relative: the scenario to the run folder, inputs to the
    scenario folder.
    """
    acc = result.account.data
    record = run_record(result.scenario, result.coef, result.enabled, result.methods, result.switches, result.changes, folder)
    results = {
        "tolerance": DIGEST_TOLERANCE,
        "relative_tolerance": mf.RELATIVE_TOLERANCE,
        "gep_total_cny": result.account.gep,
        "value_digest": provenance.value_digest(acc["value"].values, DIGEST_TOLERANCE),
        "quantity_digest": provenance.value_digest(acc["quantity"].values, DIGEST_TOLERANCE),
        "digests": {
            "account.nc": provenance.digests(acc, DIGEST_TOLERANCE),
            "cells.nc": provenance.file_digests(folder / "cells.nc", DIGEST_TOLERANCE) if (folder / "cells.nc").is_file() else provenance.digests(result.cells, DIGEST_TOLERANCE),
        },
    }
    return mf.Manifest(kind=KIND, command=command, record=record, outputs=output_hashes, results=results,
                       environment=provenance.environment(), rng=provenance.rng_record(None))


def run_record(sc: Scenario, coef: CoefficientSet, enabled, methods: dict, switches: dict, changes: dict | None, folder: Path,
               record: type = mf.RunRecord, **extra) -> mf.RunRecord:
    """The record of what a run of ``sc`` read (scenario relative to ``folder``, inputs to the scenario folder),
    as ``record`` (a :class:`~gep.audit.manifest.RunRecord` or a kind that extends it, with ``extra`` fields)."""
    files = {"landcover": sc.landcover, "zones": sc.zones, "zone_table": sc.zone_table}
    files.update({f"inputs.{k}": v.path for k, v in sc.inputs.items() if v.path is not None})
    files.update({f"tables.{k}": v for k, v in sc.tables.items()})
    return record(
        scenario=mf.ScenarioRef(_relpath(sc.path, folder), sha256_file(sc.path), sc.raw),
        services={"enabled": list(enabled), "methods": {sid: methods[sid] for sid in enabled}, "switches": dict(switches)},
        coefficients=mf.CoefficientsRef.from_dict(coef.provenance()),
        inputs={k: mf.FileRef(_relpath(p, sc.folder), sha256_file(p)) for k, p in sorted(files.items())},
        constants={k: {"value": v.value, "units": v.unit} for k, v in sc.inputs.items() if v.path is None},
        changes=changes,
        **extra,
    )


def _relpath(path: Path, start: Path | None) -> str:
    """``path`` relative to ``start`` (the run folder), so a manifest holds no absolute path."""
    import os

    return Path(os.path.relpath(Path(path).resolve(), Path(start or ".").resolve())).as_posix()


def run(job: RunJob, out_dir: Path | None = None, command: str = KIND, progress: Callable[[str], None] | None = None) -> Written[RunResult]:
    """Compute and write a loaded scenario's account (a single year; see :mod:`gep.jobs.series`)."""
    result = compute(job, progress)
    if progress:
        progress("writing outputs")
    return write(result, out_dir, command)


def replay(manifest: mf.Manifest, scenario_path: str | Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded ``gep run`` into ``out_dir`` on the parcel, series year and coefficient-set version it used;
    return the new manifest.

    The parcel path is recorded relative to the scenario folder. The set is loaded at the recorded version
    (a frozen copy under ``coefficients/releases/`` once the set has moved on).
    """
    record = manifest.record
    area = Path(scenario_path).parent / record.parcel_given if record.parcel_given else None
    job = load(scenario_path, area=area, coefficient_version=record.coefficients.version)
    return write(compute(job, year=record.series_year), out_dir, manifest.command or KIND).manifest
