"""What jobs load: scenarios, coefficient sets, bonds and curves, read through :mod:`gep.io`
and handed to the domain as plain data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def scenario(path: str | Path):
    """Read and validate a GEP scenario file (:class:`gep.accounting.scenario.Scenario`).

    One :class:`gep.errors.ScenarioError` reports every problem, each with its file, key and line.
    """
    from gep.accounting.scenario import parse
    from gep.io.files import read_toml

    path = Path(path)
    raw = read_toml(path, what="scenario file")
    return parse(raw, path, path.read_text(encoding="utf-8"))


def scenario_with_problems(path: str | Path):
    """A scenario read as far as it goes and every problem found in it (:func:`gep.accounting.scenario.parse` with ``partial``)."""
    from gep.accounting.scenario import parse
    from gep.io.files import read_toml

    path = Path(path)
    raw = read_toml(path, what="scenario file")
    return parse(raw, path, path.read_text(encoding="utf-8"), partial=True)


def bond(path: str | Path):
    """Read and validate a bond file (:class:`gep.finance.schedule.Bond`; keys in docs/bonds.md).

    Its structure tables (``[reserve]``, ``[sweep]``, ``[[use_of_proceeds]]``) are
    checked too, whatever the command.
    """
    from gep.finance.debt import bond_of_file
    from gep.io.files import read_toml

    data = read_toml(path, what="bond file")
    return bond_of_file(data, str(path), green_catalogue() if "use_of_proceeds" in data else None)


def debt(path: str | Path, refs):
    """Read and validate a bond or loan file with its structure (:class:`gep.finance.debt.Debt`).

    ``refs`` reads what a loan file references (:class:`gep.jobs.references.FileReferences`).
    """
    from gep.finance.debt import debt_from_dict
    from gep.io.files import read_toml

    data = read_toml(path, what="bond file")
    return debt_from_dict(data, path, refs, green_catalogue() if "use_of_proceeds" in data else None)


@lru_cache(maxsize=1)
def green_catalogue():
    """The Green Bond Endorsed Projects Catalogue (2021) shipped with gep (:class:`gep.finance.green.Catalogue`).

    Read once per process from :data:`gep.finance.green.CATALOGUE_FILE`; the
    catalogue carries the file's SHA-256, which the impact manifest records.
    """
    from gep.finance.green import CATALOGUE_COLUMNS, CATALOGUE_FILE, Catalogue
    from gep.io.files import sha256_file
    from gep.io.tables import read_csv

    df = read_csv(CATALOGUE_FILE, CATALOGUE_COLUMNS, "green bond catalogue", dtype=str)
    return Catalogue.from_rows(df.to_dict("records"), sha256_file(CATALOGUE_FILE))


def curve(path: str | Path):
    """Read and validate a curve file: zero rates or par yields, bootstrapped (:class:`gep.finance.curve.Curve`)."""
    from gep.finance.curve import curve_from_dict
    from gep.io.files import read_toml

    return curve_from_dict(read_toml(path, what="curve file"), source=str(path))


def coefficient_set(name_or_path: str, relative_to: Path | None = None, verify: bool = True):
    """A coefficient set by id or folder, following its ``base`` chain (:class:`gep.accounting.coefficients.CoefficientSet`).

    With ``verify`` the SHA-256 of every file is checked against the set's header (``manifest.toml``).
    """
    from gep.accounting.coefficients import from_files
    from gep.io.coefficient_files import read_set

    return from_files(read_set(name_or_path, relative_to), verify)


def coefficients_for(sc):
    """A scenario's coefficient set with its overrides, carbon-pool table and ``[valuation]`` settings applied."""
    from gep.accounting.coefficients import BIOPHYSICAL_COLUMNS, POOL_COLUMNS, REMAP_COLUMNS, validate_pools
    from gep.io.files import sha256_file
    from gep.io.tables import read_csv

    def key(path) -> str:
        return f"scenario/{sc.relative(path)}"

    coef = coefficient_set(sc.coefficient_set, sc.folder)
    if sc.landcover_remap is not None:  # first: the tables below and the overrides name the user's codes
        coef = coef.with_landcover_remap(read_csv(sc.landcover_remap, REMAP_COLUMNS, "land-cover remap table", lowercase=True), key(sc.landcover_remap), sha256_file(sc.landcover_remap))
    if sc.carbon_pools is not None:
        pools = validate_pools(read_csv(sc.carbon_pools, POOL_COLUMNS, "InVEST carbon pool table", lowercase=True), Path(sc.carbon_pools))
        coef = coef.with_carbon_pools(pools, key(sc.carbon_pools), sha256_file(sc.carbon_pools))
    if sc.biophysical_table is not None:
        table = read_csv(sc.biophysical_table, BIOPHYSICAL_COLUMNS, "InVEST biophysical table", lowercase=True)
        coef = coef.with_biophysical_table(table, key(sc.biophysical_table), sha256_file(sc.biophysical_table))
    if sc.overrides:
        coef = coef.with_overrides(sc.overrides, where=str(sc.path))
    return coef.with_valuation(dict(sc.valuation)).with_province(sc.province, where=f"{sc.path}")


def coefficient_problems(set_id: str | None = None, root: Path | None = None, rules: bool = True) -> dict:
    """Problems per coefficient set (:class:`gep.errors.Problem`): one set by id, ``id@version`` or folder,
    else every set under ``root`` (default the shipped sets) and every frozen version under its
    ``releases/`` (keyed ``releases/<id>/<version>``); an empty list means the set verifies.

    With ``rules`` the citation, range and release rules apply too
    (:func:`gep.accounting.coefficients.problems_of`).
    """
    from gep.accounting.coefficients import problems_of
    from gep.io.coefficient_files import HEADER, RELEASES, coefficients_root, find_set, read_for_rules, read_set

    def problems(folder: Path) -> list:
        return problems_of(read_set(str(folder)), read_for_rules(folder) if rules else None)

    if set_id:
        folder = find_set(set_id)
        return {folder.name: problems(folder)}
    root = root or coefficients_root()
    current = sorted(p for p in root.iterdir() if (p / HEADER).is_file())
    frozen = sorted(p.parent for p in (root / RELEASES).glob(f"*/*/{HEADER}"))
    return {**{f.name: problems(f) for f in current}, **{f"{RELEASES}/{f.parent.name}/{f.name}": problems(f) for f in frozen}}


# --------------------------------------------------------------------------- a scenario's region: read and align


def region_bytes(sc) -> tuple[tuple[int, int], int]:
    """Shape of a scenario's land-cover grid and bytes per cell of every raster it reads, once read
    (headers only): what :func:`gep.execution.plan` weighs against the available memory."""
    from gep.io import raster

    # zones from a vector file are rasterised as int64 ids
    zones = 8 if sc.zone_id_field is not None else raster.held_bytes(sc.zones, codes=True)
    per_cell = raster.held_bytes(sc.landcover, codes=True) + zones
    per_cell += sum(raster.held_bytes(gi.path, band=gi.band) for gi in sc.inputs.values() if gi.path is not None)
    if sc.changes or sc.area is not None:
        per_cell += 24  # codes, zones and cell areas the change operations and parcels hold whole (int64, float64)
    return raster.shape(sc.landcover), per_cell


def read_region(sc, plan=None, area=None, progress=None):
    """Read a scenario's region onto the land-cover grid: the first stage of a landscape.

    Reads the land cover, the zones (resampled when allowed), the zone table,
    every gridded input (a raster put on the land-cover grid, or a constant), the
    masks and polygons of the ``[[changes]]``, the rasters of input operations,
    the tables and the parcel (``area``, default ``[region] area``). Every grid is
    a dask array of blocks of ``plan.rows`` whole rows (:class:`gep.execution.Plan`;
    default: in memory): in memory, views of rasters read whole; chunked, read from
    the files block by block when computed. The other stages are
    :func:`gep.accounting.region.build`.

    Returns
    -------
    gep.accounting.region.Region
    """
    import dask.array as dsa
    import numpy as np
    import xarray as xr

    from gep import execution
    from gep.accounting.changes import InputChange
    from gep.accounting.region import Region
    from gep.geometry import cell_fractions
    from gep.io import raster
    from gep.io.files import sha256_file
    from gep.io.tables import read_csv, read_zone_table
    from gep.io.vector import read_polygons

    if plan is None:
        plan = execution.plan(*region_bytes(sc))
    lazy = plan.rows if plan.chunked else None

    def blocked(da: xr.DataArray) -> xr.DataArray:
        """A raster as blocks of whole rows (a view of it when it was read whole)."""
        if hasattr(da.data, "map_blocks"):
            return da if da.data.chunks[0][0] == plan.rows or len(da.data.chunks[0]) == 1 else da.copy(data=da.data.rechunk((plan.rows, -1)))
        return da.copy(data=execution.row_blocks(np.asarray(da.data), plan.rows))

    say = progress or (lambda _m: None)
    resampled: list = []
    files: dict = {}
    say("land cover")
    lc = raster.read_codes(sc.landcover, lazy, "land cover")
    spec = raster.spec_of(lc)
    say("zones")
    if sc.zone_id_field is not None:  # a vector file of zones, rasterised on the land-cover grid
        zr, zones = _vector_zones(sc, lc, spec)
    else:
        zr = _on_grid(lc, raster.read_codes(sc.zones, lazy, "zones raster"), "the zones raster", "nearest" if sc.resample else None, resampled)
        zones = read_zone_table(sc.zone_table)
    zr = blocked(zr)
    attrs: dict = {}
    if not spec.geographic and abs(abs(spec.transform[0]) - abs(spec.transform[4])) < 1e-9:
        attrs["cell_size_m"] = abs(spec.transform[0])
    attrs["crs"] = spec.crs
    attrs["transform"] = list(spec.transform[:6])
    where: dict = {}
    if any(not isinstance(op, InputChange) or op.has_where for op in sc.changes):
        say("land-cover changes")
        for op in sc.changes:
            for key, value in (("mask", op.mask), ("polygon", op.polygon)):
                if value is None or f"{key}:{value}" in where:
                    continue
                path = (sc.folder / value).resolve()
                what = f"{op.label or '[[changes]]'} {key}"
                if key == "mask":
                    where[f"mask:{value}"] = raster.read_mask(path, lc, sc.resample, what)
                else:
                    polys = read_polygons(path, spec.crs, abs(spec.transform[0]), what)
                    where[f"polygon:{value}"] = cell_fractions(polys.geometry, spec.transform, spec.shape)
                files[f"{key}:{value}"] = sha256_file(path)
    inputs, files_read = {}, {}
    for name, gi in sorted(sc.inputs.items()):
        say(name)
        if gi.path is not None:
            files_read[name] = (raster.read(gi.path, gi.unit, lazy, f"input '{name}'", gi.band), f"input '{name}'", gi.resample or ("bilinear" if sc.resample else None))
            inputs[name] = None  # put on the grid below, with the other bands of its file
        else:
            data = dsa.full(spec.shape, gi.value, chunks=(plan.rows, -1), dtype=np.float64)
            inputs[name] = xr.DataArray(data, dims=("y", "x"), attrs={"units": gi.unit, "source": f"constant {gi.value} {gi.unit}"})
    for name, da in _on_grid_many(lc, files_read, resampled).items():
        inputs[name] = blocked(da).assign_attrs(units=da.attrs["units"], source=str(sc.inputs[name].path))  # NaN outside the region stays NaN
    replacements = {}
    for op in sc.changes:
        if isinstance(op, InputChange) and op.path is not None and op.input in sc.inputs:
            where_op = f"{sc.path.name}: {op.label or '[[changes]]'}"
            path = (sc.folder / op.path).resolve()
            da = raster.read(path, op.units, lazy, f"{where_op} path")
            replacements[op.index] = blocked(_on_grid(lc, da, f"{where_op} path", "bilinear" if sc.resample else None, resampled))
            files[f"path:{op.path}"] = sha256_file(path)
    reference = None
    if sc.inputs_landcover is not None and sc.follow_inputs:
        reference = raster.read_codes(sc.inputs_landcover, None, "land cover of the shared inputs")
        raster.check_aligned(lc, reference, "the land cover", f"the land cover of the shared inputs ({sc.inputs_landcover})")
    tables = {}
    for name, path in sorted(sc.tables.items()):
        say(name)
        tables[name] = read_csv(path, what=f"{name} table")
        tables[name].attrs["price_year"] = sc.table_price_years.get(name, sc.year)
    parcel = None
    parcel_path = area if area is not None else sc.area
    if parcel_path is not None:
        say("parcel")
        parcel = read_parcel(parcel_path, lc, sc.folder)
    area = raster.cell_area(lc)  # one area per row: blocks of it are broadcast, never a region-sized array
    rows_area = dsa.from_array(np.ascontiguousarray(area.data[:, :1]), chunks=(plan.rows, 1))
    area = area.copy(data=dsa.broadcast_to(rows_area, area.shape, chunks=(plan.rows, area.shape[1])))
    return Region(landcover=blocked(lc), zones=zr, zone_table=zones, cell_area=area, spacing=raster.spacing_m(lc), attrs=attrs,
                  description=spec.describe(), inputs=inputs, where=where, replacements=replacements, reference_landcover=reference,
                  tables=tables, parcel=parcel, resampled=resampled, files=files)


def _vector_zones(sc, lc, spec):
    """The zones raster and zone table of a vector file of zones (``[region] zones`` = .gpkg/.shp/.geojson).

    A ``zone_table`` given beside it adds its columns (``name_zh``, ``gdp``) by ``zone_id``.
    """
    import pandas as pd

    from gep.io.tables import read_zone_table
    from gep.io.vector import read_zones

    z = read_zones(sc.zones, sc.zone_id_field, sc.zone_name_field, spec.crs, spec.transform, spec.shape)
    table = pd.DataFrame(z.table).sort_values("zone_id").reset_index(drop=True)
    table.attrs.update(units={}, path=str(sc.zones))
    if sc.zone_table is not None:
        extra = read_zone_table(sc.zone_table)
        table = table.merge(extra.drop(columns=["name"]), on="zone_id", how="left")
        table.attrs.update(units=extra.attrs.get("units", {}), path=str(sc.zones))
    return lc.copy(data=z.ids).assign_attrs(source=str(sc.zones)), table


def _on_grid(lc, da, name: str, method: str | None, record: list):
    """``da`` on the land-cover grid: as is when aligned, resampled when allowed, else a GridError naming both grids."""
    return _on_grid_many(lc, {name: (da, name, method)}, record)[name]


def _on_grid_many(lc, rasters: dict, record: list) -> dict:
    """Rasters (key → (DataArray, name, method)) on the land-cover grid (:func:`_on_grid`); the ones on one grid,
    of one type and resampled alike (the bands of a monthly raster) in one warp (:func:`gep.io.raster.resample_many`).
    Resamplings are recorded in the order of ``rasters``."""
    from gep import execution
    from gep.io import raster

    a = raster.spec_of(lc)
    out, groups = {}, {}
    for key, (da, name, method) in rasters.items():
        b = raster.spec_of(da)
        if a.matches(b):
            out[key] = da
            continue
        if method is None:
            raster.check_aligned(lc, da, "the land cover", name)
        groups.setdefault((b, str(da.dtype), method), []).append(key)
    for (_, _, method), keys in groups.items():
        done = raster.resample_many([rasters[k][0] for k in keys], lc, method, [rasters[k][1] for k in keys], execution.threads())
        out.update(zip(keys, done))
    warped = {k for keys in groups.values() for k in keys}
    for key, (da, name, _) in rasters.items():
        if key in warped:
            record.append({"name": name, "from": raster.spec_of(da).describe(), "to": a.describe(), "method": out[key].attrs["resampling"]})
    return {key: out[key] for key in rasters}


def read_parcel(path, lc, folder):
    """Cell weights of a GeoJSON parcel on the land-cover grid (:mod:`gep.geometry`); path recorded relative to ``folder``."""
    import os

    from gep.accounting.parcels import MAX_PARCEL_FEATURES, Parcel
    from gep.geometry import area_m2, cell_fractions
    from gep.io import raster
    from gep.io.files import sha256_file
    from gep.io.vector import read_polygons

    path = Path(path)
    spec = raster.spec_of(lc)
    polys = read_polygons(path, spec.crs, abs(spec.transform[0]), "parcel (area)")
    w = cell_fractions(polys.geometry, spec.transform, spec.shape)
    feats = [(name, cell_fractions(g, spec.transform, spec.shape)) for name, g in polys.features] if 1 < len(polys.features) <= MAX_PARCEL_FEATURES else []
    shown = Path(os.path.relpath(path.resolve(), Path(folder).resolve())).as_posix()
    return Parcel(w, shown, sha256_file(path), area_m2(polys.geometry, spec.crs), polys.source_crs, feats)
