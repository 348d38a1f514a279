"""Accounts of any parcel, and per-cell value maps (pure, vectorised).

A service reports its quantity by zone × ecosystem type; some of it is a sum
over cells (water conservation, soil retention ...), some is capped or
clamped per zone (purification is min(load, capacity)), some comes from
statistics tables (provisioning, recreation, landscape). To give the account
of an arbitrary polygon, each zone × ecosystem quantity ``Q[z, e]`` is shared
out over the cells by the service's own per-cell map ``x`` (its *basis*):

    parcel quantity[z, e] = Q[z, e] · Σ_i w_i·x_i / Σ_i x_i      (i in zone z, type e)

with ``w_i`` the fraction of cell i inside the polygon (:func:`gep.geometry.cell_fractions`).
Services without a per-cell map (statistics tables), and zone × ecosystem
entries whose basis sums to 0, are shared by area (``Σ w·a / Σ a`` of the type in
the zone; if the zone has no cell of that type, by the zone's area). The
shares are linear in ``w``: parcels that tile the region (Σ w = 1 in every
cell) give accounts that add up to the region's account, and a parcel
covering the whole region gives the region's account.

The same shares with one cell at a time give the per-cell value map
(:func:`cell_values`, CNY per cell per year) used for maps and ``gep compare``.

Assumption to state in reports: table-based values (crops, tourism, housing
premiums) are spread over the ecosystem type they are booked to by area
within each zone, since the tables carry no locations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gep.accounting.coefficients import ECOSYSTEMS
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import ServiceResult

#: A parcel file with up to this many features also gets one account row per feature.
MAX_PARCEL_FEATURES = 200
#: How parcel weights are computed (recorded in the manifest).
PARCEL_METHOD = "exact polygon/cell overlap area (shapely/GEOS) on boundary cells, cell-centre test elsewhere; fractions exact to ~1e-12"


@dataclass
class Parcel:
    """A polygon's cell weights.

    Attributes
    ----------
    weights : ndarray
        Fraction of each cell inside the polygon [0–1].
    path : str
        The GeoJSON as given (relative to the working directory or scenario).
    sha256 : str
        SHA-256 of the GeoJSON file.
    area_m2 : float
        Area of the polygon [m²] (planar in a projected grid CRS, geodesic in a geographic one).
    source_crs : str
        CRS of the file's coordinates.
    features : list of (name, ndarray)
        Per-feature weights when the file holds several features.
    """

    weights: np.ndarray
    path: str
    sha256: str
    area_m2: float
    source_crs: str
    features: list[tuple[str, np.ndarray]] = field(default_factory=list)
    method: str = PARCEL_METHOD


def basis(res: ServiceResult, sid: str, name: str | None = None) -> xr.DataArray | None:
    """Per-cell map that shares out a service's (or one component's/extra's) zone totals."""
    cells = res.cells
    if name is not None:
        if f"{sid}_capacity_{name}" in cells:
            return cells[f"{sid}_capacity_{name}"]
        if name in cells and name != sid:
            return cells[name]
        part_of = [k for k in cells if k != sid and name.startswith(f"{k}_")]  # carbon_stock_c_soil: by the carbon_stock map
        if part_of:
            return cells[max(part_of, key=len)]
    if sid in cells:
        return cells[sid]
    caps = [v for k, v in sorted(cells.items()) if k.startswith(f"{sid}_capacity_")]
    if caps:
        return sum(caps[1:], caps[0])
    return None


def _like(w: np.ndarray, template: Any) -> Any:
    if hasattr(template, "map_blocks"):
        import dask.array as da

        return da.from_array(w, chunks=template.chunks)
    return w


def _finite(a: Any) -> Any:
    """NaN and inf → 0 (numpy or dask)."""
    if hasattr(a, "map_blocks"):
        import dask.array as da

        return da.where(da.isfinite(a), a, 0.0)
    return np.where(np.isfinite(a), a, 0.0)


def _zonal(ls: Landscape, data: Any) -> np.ndarray:
    out = ls.zonal(xr.DataArray(data, dims=("y", "x")).assign_attrs(units="1")).data
    return np.asarray(out.compute() if hasattr(out, "compute") else out, dtype=np.float64)


def shares(ls: Landscape, x: xr.DataArray | None, w: np.ndarray, area_share: np.ndarray | None = None) -> np.ndarray:
    """Share of each zone × ecosystem entry that falls on weights ``w`` [-], shape (zone, ecosystem).

    ``Σ w·x / Σ x`` where the basis sums to a non-zero value, else the area share of
    the type in the zone, else the area share of the zone (``area_share``, if
    already computed for ``w``).
    """
    share = area_share if area_share is not None else _area_share(ls, w)
    if x is None:
        return share
    xd = _finite(x.data)
    x_all, x_w = _zonal(ls, xd), _zonal(ls, xd * _like(w, xd))
    ok = x_all != 0
    return np.where(ok, np.divide(x_w, x_all, out=np.zeros_like(x_w), where=ok), share)


def _area_share(ls: Landscape, w: np.ndarray) -> np.ndarray:
    """Area share of ``w`` in each zone × ecosystem (zone share where the zone has no such cell)."""
    area = ls.cell_area.data
    wa = _like(w, area)
    a_all, a_w = _zonal(ls, area), _zonal(ls, area * wa)
    az, azw = a_all.sum(axis=1, keepdims=True), a_w.sum(axis=1, keepdims=True)
    zone_share = np.divide(azw, az, out=np.zeros_like(azw), where=az > 0)
    return np.where(a_all > 0, np.divide(a_w, a_all, out=np.zeros_like(a_w), where=a_all > 0), zone_share)


def _scaled(da: xr.DataArray, s: np.ndarray) -> xr.DataArray:
    out = da * xr.DataArray(s, dims=("zone", "ecosystem"), coords={"zone": da["zone"], "ecosystem": da["ecosystem"]})
    return out.assign_attrs(da.attrs)


def apportion(results: dict[str, ServiceResult], ls: Landscape, w: np.ndarray) -> dict[str, ServiceResult]:
    """The service results of the cells weighted by ``w`` (a parcel), see the module notes.

    Components are shared by their own basis where the service has one per
    component (purification capacities per pollutant); a quantity that is the
    sum of its components stays the sum of the shared components.
    """
    out = {}
    cache: dict[int, np.ndarray] = {}
    by_area = _area_share(ls, w)
    keep = []  # keep the bases alive so that their ids stay unique while cached

    def share_of(x: xr.DataArray | None) -> np.ndarray:
        if x is None:
            return by_area
        key = id(x)
        if key not in cache:
            keep.append(x)
            cache[key] = shares(ls, x, w, by_area)
        return cache[key]

    for sid, res in results.items():
        service_basis = basis(res, sid)
        comps = [dataclasses.replace(c, quantity=_scaled(c.quantity, share_of(basis(res, sid, c.name)))) for c in res.components]
        quantity = res.quantity
        if quantity is not None:
            units = {c.quantity.attrs.get("units") for c in res.components}
            summed = sum((np.asarray(c.quantity.values) for c in res.components), np.zeros(quantity.shape)) if res.components else None
            if summed is not None and units == {quantity.attrs.get("units")} and np.allclose(summed, np.asarray(quantity.values), rtol=1e-9, atol=1e-12):
                quantity = sum((c.quantity for c in comps[1:]), comps[0].quantity).assign_attrs(quantity.attrs)
            else:
                quantity = _scaled(quantity, share_of(service_basis))
        extras = {k: _scaled(v, share_of(basis(res, sid, k))) for k, v in res.extras.items()}
        cells = {k: (v * _like(w, v.data)).assign_attrs(v.attrs) for k, v in res.cells.items()}
        out[sid] = dataclasses.replace(res, quantity=quantity, components=comps, extras=extras, cells=cells)
    return out


def basis_sums(ls: Landscape, results: dict[str, ServiceResult]) -> dict[str, Any]:
    """Zone × ecosystem sums of each service's basis (its finite part), by service id.

    Lazy inside :meth:`Landscape.collecting` on a chunked landscape, so that a
    run computes them in the same pass over the chunks as the services.
    """
    out = {}
    for sid, res in results.items():
        x = basis(res, sid)
        if x is not None:
            out[sid] = ls.zonal(xr.DataArray(_finite(x.data), dims=("y", "x")).assign_attrs(units="1")).data
    return out


_GEP_VALUE_ATTRS = {"units": "CNY/yr", "long_name": "GEP per cell (account values shared out over cells)"}


def cell_values(ls: Landscape, results: dict[str, ServiceResult], value: xr.DataArray, sums: dict[str, Any] | None = None) -> xr.DataArray:
    """Value of each cell [CNY/yr]: every zone × ecosystem value shared out over its cells.

    Parameters
    ----------
    ls : Landscape
        The landscape the account was computed on.
    results : dict
        Service results (their per-cell maps are the bases).
    value : DataArray
        GepAccount values, dims ``(zone, service, ecosystem)`` [CNY].
    sums : dict, optional
        :func:`basis_sums` of ``results`` if already computed.

    Returns
    -------
    DataArray
        Dims ``(y, x)``, 0 outside the region; sums by zone × ecosystem to the account.

    Notes
    -----
    The shares by area of all services are added into one zone × ecosystem
    table first, so the map costs one look-up for them all plus one per
    service with a basis.
    """
    by_area = np.zeros(ls.zone_area().shape)  # CNY per m² of each zone × ecosystem, summed over services
    by_basis = []  # (CNY per unit of basis, basis) of each service with one
    for _sid, area_part, basis_part in _shares(ls, results, value, sums):
        by_area += area_part
        by_basis += [basis_part] if basis_part is not None else []
    total = ls.spread(by_area) * ls.cell_area.data
    for per_unit, x in by_basis:
        part = ls.spread(per_unit) * x
        if isinstance(total, np.ndarray):
            total += part
        else:
            total = total + part
    return xr.DataArray(total, dims=("y", "x"), coords={k: ls.grid[k] for k in ("y", "x") if k in ls.grid.coords}, name="gep_value", attrs=dict(_GEP_VALUE_ATTRS))


def service_values(ls: Landscape, results: dict[str, ServiceResult], value: xr.DataArray, sums: dict[str, Any] | None = None) -> dict[str, xr.DataArray]:
    """Value of each cell by service [CNY/yr]: each service's zone × ecosystem values shared out over its cells
    (by its own per-cell map where it has one, else by area), as :func:`cell_values` does for their sum.

    Returns
    -------
    dict of str → DataArray
        ``value_<service>``, dims ``(y, x)``, float32, 0 outside the region.
    """
    out = {}
    for sid, area_part, basis_part in _shares(ls, results, value, sums):
        total = ls.spread(area_part) * ls.cell_area.data
        total = total + ls.spread(basis_part[0]) * basis_part[1] if basis_part is not None else total
        out[f"value_{sid}"] = xr.DataArray(total, dims=("y", "x"), attrs={"units": "CNY/yr", "long_name": f"value of {sid} per cell"}).astype(np.float32)
    return out


def _shares(ls: Landscape, results: dict[str, ServiceResult], value: xr.DataArray, sums: dict[str, Any] | None):
    """How each service's zone × ecosystem values are shared out over cells: per service, the part shared by area
    [CNY/m², zone × ecosystem] and, for a service with its own per-cell map, (CNY per unit of the map, the map), else None.

    Values of a zone × ecosystem without area go to the zone's other cells by area.
    """
    if sums is None:
        sums = basis_sums(ls, results)
    sums = {sid: np.asarray(s.compute() if hasattr(s, "compute") else s, dtype=np.float64) for sid, s in sums.items()}
    a_all = np.asarray(ls.zone_area().values, dtype=np.float64)
    az = a_all.sum(axis=1, keepdims=True)
    ok_a = a_all > 0
    for sid, res in results.items():
        v = np.asarray(value.sel(service=sid).transpose("zone", "ecosystem").values, dtype=np.float64)
        rest, by_basis = v, None
        if sid in sums:
            ok = sums[sid] != 0
            by_basis = (np.divide(v, sums[sid], out=np.zeros_like(v), where=ok), _finite(basis(res, sid).data))
            rest = np.where(ok, 0.0, v)
        by_area = np.divide(rest, a_all, out=np.zeros_like(rest), where=ok_a)
        left = np.where(ok_a, 0.0, rest).sum(axis=1, keepdims=True)
        yield sid, by_area + np.divide(left, az, out=np.zeros_like(left), where=az > 0), by_basis


def parcel_account(ls: Landscape, results: dict[str, ServiceResult], cells: dict[str, xr.DataArray], assemble_fn) -> tuple[dict, dict, Any]:
    """Apply a landscape's parcel (if any) to service results and per-cell maps.

    Parameters
    ----------
    ls : Landscape
        With ``ls.parcel`` set for a parcel run (else everything is returned unchanged).
    results, cells : dict
        Service results and per-cell maps of the whole region.
    assemble_fn : callable
        ``assemble_fn(results) -> GepAccount`` (valuation with the run's settings),
        used for the per-feature totals of a multi-feature parcel file.

    Returns
    -------
    results, cells, parcels
        The parcel's results and weighted per-cell maps, and the per-feature
        table (one row for a file of one feature; ``None`` beyond :data:`MAX_PARCEL_FEATURES`).
    """
    import pandas as pd

    if ls.parcel is None:
        return results, cells, None
    parcels = None
    features = ls.parcel.features or [(Path(ls.parcel.path).stem, ls.parcel.weights)]
    if len(features) <= MAX_PARCEL_FEATURES:
        rows = []
        area = np.asarray(ls.cell_area.data)
        for name, w in features:
            acc = assemble_fn(apportion(results, ls, w))
            rows.append({"feature": name, "area_in_region_ha": float(np.sum(area * w)) / 1e4, **{f"{c}_cny": v for c, v in acc.category_totals().items()}, "gep_cny": acc.gep})
        parcels = pd.DataFrame(rows)
    w = ls.parcel.weights
    out_cells = {k: (v * _like(w, v.data)).astype(v.dtype).assign_attrs(v.attrs) for k, v in cells.items()}
    return apportion(results, ls, w), out_cells, parcels


def extra_cells(ls: Landscape, results: dict[str, ServiceResult], value: xr.DataArray, sums: dict[str, Any] | None = None,
                values: dict[str, xr.DataArray] | None = None) -> dict[str, xr.DataArray]:
    """Per-cell outputs added to ``cells.nc``: value per cell, ecosystem index, land cover, parcel weight.

    ``sums`` are the :func:`basis_sums` of ``results`` if already computed; ``values`` their
    :func:`service_values` if already computed. The value per cell of a run of one service is that service's
    (the same numbers as :func:`cell_values` gives, to the bit: the same operations in the same order), not
    computed twice.
    """
    out = {}
    if values is not None and len(results) == 1:
        v = next(iter(values.values())).assign_attrs(**_GEP_VALUE_ATTRS)
    else:
        v = cell_values(ls, results, value, sums)
    out["gep_value"] = v.astype(np.float32, copy=False).assign_attrs(v.attrs)
    eco = ls.per_cell(ls.legend.ecosystem_index, outside=-1, dtype=np.int16)
    out["ecosystem_index"] = eco.assign_attrs(long_name="ecosystem type index (-1 outside)", flag_meanings=" ".join(ECOSYSTEMS))
    lc = ls.per_cell(ls.legend.codes, outside=0, dtype=np.int32)
    out["landcover"] = lc.assign_attrs(long_name="land-cover code after the scenario's changes (0 outside)")
    if ls.parcel is not None:
        out["parcel_weight"] = xr.DataArray(ls.parcel.weights.astype(np.float32), dims=("y", "x"), attrs={"units": "1", "long_name": "fraction of the cell inside the parcel"})
    for k in list(out):
        out[k].attrs = {a: b for a, b in out[k].attrs.items() if a in ("units", "long_name", "flag_meanings")}
        out[k].encoding = {}
    return out
