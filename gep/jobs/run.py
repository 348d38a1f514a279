"""``gep run SCENARIO``: the GEP account of a scenario (load -> compute -> write).

:func:`load` reads the scenario and its coefficient set (once) and resolves the
services; :func:`compute` reads the region (:func:`gep.jobs.inputs.read_region`),
builds the landscape and accounts it (:mod:`gep.accounting`); :func:`write`
writes the tables, per-cell NetCDF, chart and manifest. A multi-year scenario
is run by :mod:`gep.jobs.series`, one year at a time through :func:`compute`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from gep import execution
from gep.accounting.account import carbon_stock_table, water_yield_table
from gep.accounting.changes import check_codes
from gep.accounting.coefficients import CoefficientSet
from gep.accounting.compute import RunResult, account_landscape, missing_inputs, resolve_services
from gep.accounting.region import build as build_landscape
from gep.accounting.scenario import Scenario, for_year, locate, raise_problems
from gep.audit import manifest as mf
from gep.audit import provenance
from gep.errors import GepError, InputError, Problem, ScenarioError
from gep.io import charts, outputs, raster, report
from gep.io.coefficient_files import recorded_set
from gep.io.files import sha256_file, sha256_files
from gep.jobs import inputs
from gep.jobs.job import Written, check_destination, output_folder
from gep.units import format_money

KIND = mf.RunRecord.KIND

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
        current or frozen under ``gep/data/coefficients/releases/`` (replay: the version the run recorded).
    """
    if area is not None and not Path(area).is_file():
        raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon, e.g. gep/data/demo/extra/project_site.geojson", key="area")
    sc, problems = inputs.scenario_with_problems(path)
    if coefficient_version is not None:
        sc = replace(sc, coefficient_set=recorded_set(sc.coefficient_set, coefficient_version, sc.folder))
    text = sc.path.read_text(encoding="utf-8")
    coef = profile = None
    try:
        coef = profile = inputs.coefficients_for(sc)
    except GepError as exc:  # the set, its overrides or a table the scenario brings: located with the scenario's other problems
        found = exc.problems or (Problem(exc.message + (f". Fix: {exc.hint}" if exc.hint else ""), key="[coefficients]"),)
        problems += [locate(p, sc.path, text, *_section_key(p.key)) for p in found]
        try:  # the set's profile alone still tells which services run and what they need
            profile = inputs.coefficient_set(sc.coefficient_set, sc.folder)
        except GepError:
            profile = None
    if profile is not None:
        enabled, methods, switches = resolve_services(sc, profile)
        problems += [locate(p, sc.path, text, p.key.strip("[]")) for p in missing_inputs(sc, methods)]
    if problems:
        raise_problems(problems)
    chunks = chunks or sc.chunks or (execution.DEFAULT_CHUNKS if scheduler or workers else None)
    return RunJob(sc, coef, enabled, methods, switches, Path(area) if area is not None else None, chunks)


def _section_key(label: str | None) -> tuple[str, str | None]:
    """``"[coefficients.overrides] price.carbon"`` → ``("coefficients.overrides", "price.carbon")``."""
    label = label or "[coefficients]"
    section, _, key = label.partition("]")
    return section.strip("[ "), key.strip() or None


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
    plan = execution.plan(*inputs.region_bytes(sc), chunks=job.chunks)
    region = inputs.read_region(sc, plan, area, lambda m: say(f"reading {m}"))
    ls = build_landscape(region, sc, coef.legend, area)
    account, cell_ds = account_landscape(ls, coef, job.enabled, job.methods, job.switches, sc.base_year, say, hold_cells=not plan.chunked)
    record = dict(ls.changes, series=is_series)
    if record.get("parcel") is not None:
        record["parcel"] = dict(record["parcel"], from_scenario=area is None)
    return RunResult(sc, coef, ls, account, job.enabled, job.methods, job.switches, cell_ds, changes=record, execution=plan,
                     warnings=coef.warnings + ls.warnings)


def run_id(sc: Scenario, coef: CoefficientSet, parcel: Path | None = None) -> str:
    """Deterministic run id: scenario name + hash of the scenario and coefficient files (and of the parcel file:
    a parcel's account has a folder of its own, ``<name>-<parcel>-<year>-<hash>``)."""
    key = sha256_file(sc.path) + provenance.canonical_json(coef.provenance()) + (sha256_file(parcel) if parcel is not None else "")
    name = f"{sc.name}-{Path(parcel).stem}" if parcel is not None else sc.name
    return provenance.run_folder_name(name, str(sc.year), provenance.sha256_bytes(key.encode()))


def parcel_of(job_or_result) -> Path | None:
    """The parcel file a run accounts (``--area``, else ``[region] area``), or None for the whole region."""
    area = getattr(job_or_result, "area", None)
    sc = job_or_result.scenario
    return Path(area) if area is not None else (Path(sc.area) if sc.area is not None else None)


def destination(job: RunJob, out_dir: Path | None) -> Path:
    """The output folder of a loaded run: ``out_dir``, else ``[output] dir`` (default ``runs/``) / run id."""
    sc = job.scenario
    return Path(out_dir) if out_dir else (sc.output_dir or Path("runs")) / run_id(sc, job.coef, parcel_of(job))


def refuse_other_region(parcel: Path | None) -> Callable[[dict], str | None]:
    """A run never replaces the account of another area: a parcel's run does not overwrite the whole region's, nor the reverse."""

    def refuse(doc: dict) -> str | None:
        recorded = ((doc.get("changes") or {}).get("parcel") or {}).get("path") if isinstance(doc.get("changes"), dict) else None
        if parcel is None and recorded:
            return f"holds the account of the parcel {recorded}; the whole region's account goes to a folder of its own"
        if parcel is not None and not recorded:
            return f"holds the account of the whole region; the account of the parcel {Path(parcel).name} goes to a folder of its own (leave out --out for runs/<name>-{Path(parcel).stem}-<year>-<hash>/)"
        return None

    return refuse


def write(result: RunResult, out_dir: Path | None, command: str = KIND) -> Written[RunResult]:
    """Write account tables, per-cell NetCDF (value digests taken while writing), maps, chart, report and manifest,
    whole or not at all (:func:`gep.jobs.job.output_folder`)."""
    sc = result.scenario
    parcel = sc.folder / result.landscape.parcel.path if result.landscape.parcel is not None else None
    folder = Path(out_dir) if out_dir else (sc.output_dir or Path("runs")) / run_id(sc, result.coef, parcel)
    with output_folder(folder, KIND, refuse_other_region(parcel)) as tmp:
        names, cell_digests, maps = _write_tables(result, tmp)
        with ThreadPoolExecutor(1) as beside:  # the tables and cells.nc (written whole by now) hashed while the maps are made
            tables = beside.submit(outputs.hashes, tmp, list(names))
            written, map_hashes = _write_maps(result, tmp, maps)
            names += written
            names.append("report.html")
            _write_report(result, tmp, folder, names)
            known = {**tables.result(), **map_hashes}
        manifest, _, _ = mf.write(tmp, build_manifest(result, command, tmp, outputs.hashes(tmp, names, known), cell_digests))
    return Written(result, folder, manifest)


def _write_tables(result: RunResult, folder: Path) -> tuple[list[str], dict[str, str], MapsPass | None]:
    """The account tables and NetCDF files; the names written, the value digests of ``cells.nc`` and the
    ``maps/`` layers streamed in the same pass as ``cells.nc`` (:func:`write_cells`)."""
    acc = result.account
    table = acc.table()
    outputs.write_csv(table, folder / "account.csv")
    outputs.write_parquet(table, folder / "account.parquet")
    outputs.write_csv(acc.components, folder / "components.csv")
    outputs.write_csv(acc.zone_table(), folder / "zones.csv")
    outputs.write_netcdf(acc.data, folder / "account.nc")
    cell_digests, maps = write_cells(result, folder / "cells.nc", folder / "maps")
    names = ["account.csv", "account.parquet", "components.csv", "zones.csv", "account.nc", "cells.nc"]
    for name, frame in (("parcels.csv", acc.parcels), ("carbon_stock.csv", carbon_stock_table(acc)), ("water_yield.csv", water_yield_table(acc))):
        if frame is not None:
            outputs.write_csv(frame, folder / name)
            names.append(name)
    return names, cell_digests, maps


def map_layers(result: RunResult) -> dict[str, str]:
    """The per-cell layers of ``maps/`` by file name: ``<service>.tif`` (quantity per cell), ``<service>_value.tif``
    (value per cell) and ``gep_value.tif``; none when the grid has no CRS or transform."""
    cells = result.cells
    if cells.attrs.get("crs") is None or cells.attrs.get("transform") is None:
        return {}
    layers = {f"{name}.tif": name for name in result.enabled if name in cells}
    layers.update({f"{n}.tif": n for n in ("carbon_stock", "water_yield") if n in cells})
    layers.update({f"{sid}_value.tif": f"value_{sid}" for sid in result.enabled if f"value_{sid}" in cells})
    layers["gep_value.tif"] = "gep_value"
    return layers


def map_copies(result: RunResult) -> dict[str, str]:
    """``maps/`` files written as a copy of another, by file name: a run of one service has one value per cell,
    its ``<service>_value.tif`` is ``gep_value.tif`` (the same numbers:
    :func:`gep.accounting.parcels.extra_cells`), compressed once and copied."""
    values = [sid for sid in result.enabled if f"value_{sid}" in result.cells]
    return {f"{values[0]}_value.tif": "gep_value.tif"} if len(values) == 1 and map_layers(result) else {}


def _write_maps(result: RunResult, folder: Path, maps: MapsPass | None) -> tuple[list[str], dict[str, str]]:
    """The chart, ``maps/*.tif`` (Cloud-Optimised GeoTIFFs of the layers streamed by :func:`write_cells`,
    NaN outside the region: :func:`map_layers`) and the GEP map; the names written and the maps' SHA-256 by name
    (each taken on the thread that finished the map).

    The COGs are finished on a thread per core while this thread draws the two charts: GDAL compresses with the GIL
    released, matplotlib draws with it held, so the charts cost little wall time beside the maps. The last map to
    start is deflated by GDAL on every core, so that it does not run on one core alone once the others are done
    (the 8000² water-yield benchmark: 16.39 → 15.49 s, the same peak; every map on every core was as fast but
    peaked 60-100 MB higher; benchmarks/RESULTS.md, session 11).
    """
    sc, cells, acc = result.scenario, result.cells, result.account
    crs, transform = cells.attrs.get("crs"), cells.attrs.get("transform")
    threads = execution.threads()
    with ThreadPoolExecutor(threads) as pool:  # one map per core; leaving waits for every map, a chart's error too
        writers = maps.writers if maps is not None else {}
        at_once = min(threads, len(writers))
        finished = {f"maps/{name}": pool.submit(w.finish, at_once, threads if k == len(writers) - 1 else 1) for k, (name, w) in enumerate(writers.items())}
        charts.value_by_service_zone(acc.table(), folder / "value_by_service_zone.png", f"GEP {sc.name} {sc.year}: {format_money(acc.gep)}/yr")
        if maps is not None:
            charts.gep_map(maps.value, maps.cell_area, maps.zone_index, transform, bool(raster.is_geographic(crs)), folder / "gep_map.png",
                           f"GEP per cell: {sc.name} {sc.year}", total=maps.total(), shape=maps.shape)
    digests = {name: f.result() for name, f in finished.items()}
    names = ["value_by_service_zone.png"]
    if maps is None:
        return names, digests
    for name, source in maps.copies.items():
        outputs.copy_file(folder / "maps" / source, folder / "maps" / name)
        digests[f"maps/{name}"] = digests[f"maps/{source}"]  # the same bytes
    return names + [f"maps/{name}" for name in [*maps.writers, *maps.copies]] + ["gep_map.png"], digests


def _write_report(result: RunResult, folder: Path, shown: Path, names: list[str]) -> None:
    """``report.html`` (:mod:`gep.io.report`)."""
    from gep import __version__
    from gep.accounting.catalogue import BY_ID

    acc = result.account
    zones = acc.zone_table().rename(columns={"zone": "zone_id", "zone_name": "name"})
    if "name_zh" in result.landscape.zones:
        zones.insert(2, "名称", result.landscape.zones["name_zh"].to_numpy())
    tables = []
    carbon, wyield = carbon_stock_table(acc), water_yield_table(acc)
    if carbon is not None:
        tables.append(("Carbon stock 碳储量 [t C]", "Four pools per land-cover class (InVEST carbon model); not part of GEP. carbon_stock.csv", carbon))
    if wyield is not None:
        tables.append(("Annual water yield 产水量 (InVEST)", "Every land cell, Y = P − AET (Budyko); beside the water-conservation service, not part of GEP. water_yield.csv", wyield))
    if acc.parcels is not None:
        tables.append(("Parcels 地块", "One account per feature of the parcel file. parcels.csv", acc.parcels))
    maps = [(folder / "gep_map.png", "GEP per cell [元/ha per year]")]
    chart_files = [(folder / "value_by_service_zone.png", "Value by service and by zone")]
    report.write_report(folder / "report.html", result.summary(shown), {s: BY_ID[s].name_zh for s in BY_ID},
                        {"provisioning": "物质供给", "regulating": "调节服务", "cultural": "文化服务"}, zones, tables, maps, chart_files,
                        sorted(names), result.scenario.path.name, __version__)


@dataclass
class MapsPass:
    """The ``maps/`` layers as :func:`write_cells` streamed them: a :class:`gep.io.raster.CogWriter` per file
    (not finished yet) and the cells of the GEP map (every :func:`gep.io.charts.map_step`-th cell of the grid)."""

    writers: dict[str, raster.CogWriter]
    shape: tuple[int, int]
    value: np.ndarray
    cell_area: np.ndarray
    zone_index: np.ndarray | None
    sums: dict[int, float]
    copies: dict[str, str] = field(default_factory=dict)  # file name → the file it is a copy of (:func:`map_copies`)

    def total(self) -> float:
        """GEP of the grid [CNY/yr]: the blocks' sums (float64) added in the order of their rows."""
        return float(sum(v for _, v in sorted(self.sums.items())))

    def discard(self) -> None:
        """Remove every map's raw file (a run that stops before its maps are finished)."""
        for w in self.writers.values():
            w.discard()


def write_cells(result: RunResult, path: Path, maps_dir: Path | None = None) -> tuple[dict[str, str], MapsPass | None]:
    """Write the per-cell layers of a run to ``path`` (``cells.nc``; the per-service values ``value_*`` go to
    ``maps/`` only) in blocks on every core, in one pass over the blocks that also streams the layers of
    :func:`map_layers` (NaN outside the region) into their COGs in ``maps_dir`` and keeps the cells the GEP map
    draws, so that no layer is computed twice or held whole.

    Returns the value digests of ``cells.nc`` (:class:`gep.audit.provenance.Digest`, taken from the blocks as
    they are written) and the ``maps/`` layers as streamed (None when the grid has no ``maps/``:
    :func:`map_layers`, or ``maps_dir`` is None); :func:`_write_maps` finishes them.
    """
    cells = raster.georeferenced(result.cells)
    layers = map_layers(result) if maps_dir is not None else {}
    copies = map_copies(result) if layers else {}
    layers = {name: var for name, var in layers.items() if name not in copies}
    shape = (cells.sizes["y"], cells.sizes["x"])
    in_file = [n for n in cells.data_vars if cells[n].dims == ("y", "x") and not str(n).startswith("value_")]
    digests = {n: provenance.Digest(shape, DIGEST_TOLERANCE) for n in in_file}
    segment = provenance.segment_rows(shape)
    rows = result.execution.rows if result.execution is not None else execution.block_rows(shape)
    rows = segment * max(1, round(rows / segment))  # blocks of whole digest segments
    streamed = {f"maps/{name}": cells[var].where(cells["cell_area"] > 0) for name, var in layers.items()}  # NaN outside, lazily
    maps = None
    if layers:
        maps_dir.mkdir()
        step = charts.map_step(shape)
        drawn = (len(range(0, shape[0], step)), len(range(0, shape[1], step)))
        described = {source: f"{cells[layers[source]].attrs.get('long_name', layers[source])}; also {name}: the run's only service"
                     for name, source in copies.items()}
        maps = MapsPass({name: raster.CogWriter(maps_dir / name, shape, cells.attrs["crs"], cells.attrs["transform"], cells[var].attrs.get("units", ""),
                                                described.get(name, cells[var].attrs.get("long_name", var))) for name, var in layers.items()},
                        shape, np.empty(drawn, np.float32), np.empty(drawn, np.float64), np.empty(drawn, np.int32) if "zone_index" in cells else None, {},
                        copies)
        sampled = {"maps/gep_value.tif": maps.value, "cell_area": maps.cell_area, "zone_index": maps.zone_index}

    def observe(name: str, row0: int, block: np.ndarray) -> None:
        if name in digests:
            digests[name].update(row0, block)
        if maps is None:
            return
        if name in streamed:
            maps.writers[name[len("maps/"):]].write(row0, block)
        if name == "maps/gep_value.tif":
            maps.sums[row0] = float(np.nansum(block, dtype=np.float64))
        if sampled.get(name) is not None:
            first = -row0 % step  # the block's first row drawn
            sampled[name][(row0 + first) // step :][: len(range(first, len(block), step))] = block[first::step, ::step]

    try:
        outputs.write_cells(cells[in_file].assign(streamed), path, rows, observe=observe, threads=execution.threads(), only_observed=list(streamed))
    except BaseException:
        if maps is not None:
            maps.discard()
        raise
    return {n: d.hexdigest() for n, d in sorted(digests.items())}, maps


def build_manifest(result: RunResult, command: str, folder: Path, output_hashes: dict[str, str], cell_digests: dict[str, str]) -> mf.Manifest:
    """The run manifest of a run written into ``folder`` (see DESIGN.md section 6 and :mod:`gep.audit.manifest`).

    Paths are relative: the scenario to the run folder, inputs to the
    scenario folder. ``cell_digests``: the value digests of ``cells.nc`` (:func:`write_cells`).
    """
    acc = result.account.data
    record = run_record(result.scenario, result.coef, result.enabled, result.methods, result.switches, result.changes, folder)
    results = {
        "tolerance": DIGEST_TOLERANCE,
        "relative_tolerance": mf.RELATIVE_TOLERANCE,
        "gep_total_cny": result.account.gep,
        "digest_version": provenance.DIGEST_VERSION,
        "warnings": list(result.warnings),
        "value_digest": provenance.value_digest(acc["value"].values, DIGEST_TOLERANCE),
        "quantity_digest": provenance.value_digest(acc["quantity"].values, DIGEST_TOLERANCE),
        "digests": {"account.nc": provenance.digests(acc, DIGEST_TOLERANCE), "cells.nc": dict(cell_digests)},
    }
    if result.execution is not None:
        results["execution"] = result.execution.record()
    return mf.Manifest(kind=KIND, command=command, record=record, outputs=output_hashes, results=results,
                       environment=provenance.environment(), rng=provenance.rng_record(None))


def run_record(sc: Scenario, coef: CoefficientSet, enabled, methods: dict, switches: dict, changes: dict | None, folder: Path,
               record: type = mf.RunRecord, **extra) -> mf.RunRecord:
    """The record of what a run of ``sc`` read (scenario relative to ``folder``, inputs to the scenario folder),
    as ``record`` (a :class:`~gep.audit.manifest.RunRecord` or a kind that extends it, with ``extra`` fields)."""
    files = {k: v for k, v in (("landcover", sc.landcover), ("zones", sc.zones), ("zone_table", sc.zone_table),
                               ("landcover_remap", sc.landcover_remap), ("biophysical_table", sc.biophysical_table)) if v is not None}
    files.update({f"inputs.{k}": v.path for k, v in sc.inputs.items() if v.path is not None})
    files.update({f"tables.{k}": v for k, v in sc.tables.items()})
    files = sorted(files.items())
    return record(
        scenario=mf.ScenarioRef(_relpath(sc.path, folder), sha256_file(sc.path), sc.raw),
        services={"enabled": list(enabled), "methods": {sid: methods[sid] for sid in enabled}, "switches": dict(switches)},
        coefficients=mf.CoefficientsRef.from_dict(coef.provenance()),
        inputs={k: mf.FileRef(_relpath(p, sc.folder), h) for (k, p), h in zip(files, sha256_files(p for _, p in files))},
        constants={k: {"value": v.value, "units": v.unit} for k, v in sc.inputs.items() if v.path is None},
        changes=changes,
        **extra,
    )


def _relpath(path: Path, start: Path | None) -> str:
    """``path`` relative to ``start`` (the run folder), so a manifest holds no absolute path."""
    import os

    return Path(os.path.relpath(Path(path).resolve(), Path(start or ".").resolve())).as_posix()


def run(job: RunJob, out_dir: Path | None = None, command: str = KIND, progress: Callable[[str], None] | None = None) -> Written[RunResult]:
    """Compute and write a loaded scenario's account (a single year; see :mod:`gep.jobs.series`).

    The output folder is checked before anything is computed (:func:`gep.jobs.job.check_destination`).
    """
    folder = destination(job, out_dir)
    check_destination(folder, KIND, refuse_other_region(parcel_of(job)))
    with execution.fewer_collections():
        result = compute(job, progress)
        if progress:
            progress("writing outputs")
        return write(result, folder, command)


def replay(manifest: mf.Manifest, scenario_path: str | Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded ``gep run`` into ``out_dir`` on the parcel, series year and coefficient-set version it used;
    return the new manifest.

    The parcel path is recorded relative to the scenario folder. The set is loaded at the recorded version
    (a frozen copy under ``gep/data/coefficients/releases/`` once the set has moved on).
    """
    record = manifest.record
    area = Path(scenario_path).parent / record.parcel_given if record.parcel_given else None
    job = load(scenario_path, area=area, coefficient_version=record.coefficients.version)
    return write(compute(job, year=record.series_year), out_dir, manifest.command or KIND).manifest
