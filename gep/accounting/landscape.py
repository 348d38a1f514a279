"""The landscape a run accounts for: grids, zones, tables and per-class look-ups.

A :class:`Landscape` bundles what the services read: the land-cover class
index and zone index per cell, the cell area, every gridded input (DataArrays
with ``units``), the tabular inputs, and the coefficient set's legend. It
offers the vectorised building blocks that services share: per-class look-up
tables mapped onto cells, ecosystem masks, and zone × ecosystem sums
(``np.bincount`` style, also on dask arrays). It performs no I/O and is
immutable; it is built in stages by :func:`gep.accounting.region.build`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting.coefficients import ECOSYSTEMS, CoefficientSet, Legend
from gep.errors import ScenarioError
from gep.units import convert, magnitude

CELL_DIMS = ("y", "x")


def _take(table: np.ndarray, idx: Any, outside: float | int = 0.0, dtype: Any = np.float64) -> Any:
    """``table[idx]`` as ``dtype`` with index -1 (nodata) giving ``outside``; numpy or dask."""
    padded = np.append(np.asarray(table, dtype=dtype), np.asarray(outside, dtype=dtype))
    if hasattr(idx, "map_blocks"):
        return idx.map_blocks(lambda b: padded[b], dtype=padded.dtype)
    return padded[idx]


def where(cond: Any, a: Any, b: Any) -> Any:
    """``np.where`` for numpy arrays, ``dask.array.where`` for dask arrays."""
    if hasattr(cond, "map_blocks"):
        import dask.array as da

        return da.where(cond, a, b)
    return np.where(cond, a, b)


def _bincount(key: Any, weights: Any, n: int) -> Any:
    """Sum ``weights`` by integer ``key`` into ``n`` bins (keys outside 0 … n − 1 dropped).

    numpy arrays use one ``np.bincount`` on the cells inside the region (their
    positions are cached with the key); dask arrays one bincount per block, summed
    lazily (:func:`gep.execution.zonal_sum`), so that a run computes all services in
    one pass over the blocks.
    """
    if hasattr(key, "map_blocks"):
        import dask.array as da

        from gep.execution import zonal_sum

        return zonal_sum(da.where((key >= 0) & (key < n), key, n), weights, n)
    if isinstance(key, _Key):
        return np.bincount(key.full.ravel(), weights=np.asarray(weights).ravel(), minlength=n + 1)[:n]
    valid = key >= 0
    return np.bincount(key[valid].ravel(), weights=np.asarray(weights)[valid].ravel(), minlength=n)[:n]


class _Key:
    """A numpy group key over all cells, cells without a group in the extra bin ``n`` (dropped).

    One ``np.bincount`` pass over contiguous memory, no gather of the valid cells;
    the key is ``np.intp``, which ``np.bincount`` uses without a conversion pass.

    Built with two region-sized allocations: ``zone·n_sub + sub[class]``, where
    ``sub`` maps class -1 (outside) beyond ``n`` and zone -1 gives a negative
    key; both are then sent to ``n`` by one in-place ``minimum`` on the
    unsigned view (negatives are huge unsigned numbers).
    """

    def __init__(self, zone: np.ndarray, cls: np.ndarray, sub: np.ndarray, n_sub: int, n: int):
        table = np.asarray(sub, dtype=np.intp).copy()
        table[-1] = 2 * n + 1  # class index -1 → beyond every zone's keys
        full = np.multiply(zone, n_sub, dtype=np.intp)
        full += table[cls]
        unsigned = full.view(np.uintp)
        np.minimum(unsigned, n, out=unsigned)
        self.full = full


@dataclass
class _Derived:
    """Group keys and zone × class areas derived from a landscape's grids: computed once, shared by its views."""

    keys: dict = field(default_factory=dict)
    class_area: Any = None
    positions: Any = None


@dataclass(frozen=True)
class Landscape:
    """Grids and tables of one accounting region and year (immutable).

    Parameters
    ----------
    grid : xarray.Dataset
        Dims ``(y, x)``; variables ``class_index`` (int, -1 outside the region),
        ``zone_index`` (int, -1 outside), ``cell_area`` [m²] and every gridded
        input with a ``units`` attribute.
    zones : pandas.DataFrame
        One row per zone in index order: ``zone_id``, ``name`` (+ optional
        ``name_zh``, ``gdp``).
    tables : dict of pandas.DataFrame
        Tabular inputs by name (``production``, ``emissions``, ...).
    legend : Legend
        Land-cover legend of the coefficient set.
    year : int
        Accounting year.
    changes : dict
        Record of the scenario's changes (see :mod:`gep.accounting.changes`).
    parcel : Parcel, optional
        Cell weights of a polygon whose account is wanted (see :mod:`gep.accounting.parcels`).
    batch : ZonalBatch, optional
        Set on the view :meth:`collecting` returns for a chunked landscape: zonal sums are deferred into it.
    """

    grid: xr.Dataset
    zones: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    legend: Legend
    year: int
    codes_present: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    #: What the scenario changed before the services ran (land-cover operations, input changes,
    #: resampling); recorded in the run manifest under ``changes``.
    changes: dict = field(default_factory=dict)
    #: The parcel whose account is computed (:class:`gep.accounting.parcels.Parcel`), or None for the whole region.
    parcel: Any = None
    #: Inputs with implausible values (outside their plausible range; :func:`gep.accounting.region.check_values`).
    warnings: tuple[str, ...] = ()
    batch: Any = field(default=None, repr=False, compare=False)
    derived: _Derived = field(default_factory=_Derived, repr=False, compare=False)

    # ---------------------------------------------------------------- inputs
    def input(self, name: str, unit: str, service: str) -> xr.DataArray:
        """Gridded input ``name`` converted to ``unit``; a clear error if absent."""
        if name not in self.grid:
            raise ScenarioError(
                f"service '{service}' needs the gridded input '{name}' [{unit}], which the scenario does not give",
                hint=f"add '{name} = \"path/to/{name}.tif\"' (or a constant such as '{name} = \"1.0 {unit}\"') under [inputs], or disable the service",
            )
        return magnitude(self.grid[name], unit, f"input '{name}'")

    def has_input(self, name: str) -> bool:
        return name in self.grid

    def monthly(self, name: str, unit: str, service: str) -> list[xr.DataArray]:
        """The twelve grids of monthly input ``name`` (``<name>_01`` … ``<name>_12``) in ``unit``; a clear error if absent."""
        from gep.accounting.catalogue import MONTHS

        grids = [f"{name}_{m}" for m in MONTHS]
        missing = [g for g in grids if g not in self.grid]
        if missing:
            raise ScenarioError(
                f"service '{service}' needs the monthly input '{name}' [{unit}], January to December"
                + ("" if len(missing) == len(grids) else f" (months {', '.join(g.rsplit('_', 1)[1] for g in missing)} are missing)"),
                hint=f"add '{name} = \"path/to/{name}.tif\"' (a 12-band raster) or a list of 12 rasters or constants under [inputs]; with annual grids only, use the method nep_rh_annual",
            )
        return [self.input(g, unit, service) for g in grids]

    def table(self, name: str, service: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """Tabular input ``name``; a clear error if the scenario does not give it."""
        if name not in self.tables:
            raise ScenarioError(
                f"service '{service}' needs the table '{name}', which the scenario does not give",
                hint=f"add '{name} = \"path/to/{name}.csv\"' under [tables], or disable the service",
            )
        return self.tables[name]

    # ------------------------------------------------------------ look-ups
    @property
    def cell_area(self) -> xr.DataArray:
        """Area of each cell inside the region [m²] (0 outside)."""
        return self.grid["cell_area"]

    @property
    def n_zones(self) -> int:
        return len(self.zones)

    def per_cell(self, table: np.ndarray, name: str = "", unit: str = "", outside: float | int = 0.0, dtype: Any = np.float64) -> xr.DataArray:
        """Broadcast a per-class table (legend order) onto the cells as ``dtype``; ``outside`` outside the region
        (one look-up: no per-cell temporary of another type)."""
        idx = self.grid["class_index"]
        out = xr.DataArray(_take(table, self._positions(), outside, dtype), dims=idx.dims, coords=idx.coords, name=name or None)
        if unit:
            out.attrs["units"] = unit
        return out

    def lut_table(self, coef: CoefficientSet, parameter: str, unit: str, ecosystems: tuple[str, ...] | None = None) -> xr.DataArray:
        """A per-class coefficient [unit], dims ``(class,)`` in legend order, 0 outside ``ecosystems``.

        Only classes present in the land cover must have values.
        """
        present = self.codes_present
        if ecosystems is not None:
            inside = self.legend.class_mask(ecosystems)
            present = np.array([c for c in present if inside[np.searchsorted(self.legend.codes, c)]], dtype=np.int64)
        table = coef.lut(parameter, unit, present)
        if ecosystems is not None:
            table = np.where(self.legend.class_mask(ecosystems), table, 0.0)
        return xr.DataArray(np.nan_to_num(table), dims=("class",), coords={"class": self.legend.codes}, name=parameter, attrs={"units": unit})

    def lut(self, coef: CoefficientSet, parameter: str, unit: str, ecosystems: tuple[str, ...] | None = None) -> xr.DataArray:
        """Per-cell value of a per-class coefficient [unit] (see :meth:`lut_table`)."""
        return self.per_cell(self.lut_table(coef, parameter, unit, ecosystems).values, parameter, unit)

    def mask(self, ecosystems: tuple[str, ...]) -> xr.DataArray:
        """1.0 on cells whose class belongs to ``ecosystems``, else 0.0 [-]."""
        return self.per_cell(self.legend.class_mask(ecosystems).astype(np.float64), "mask", "dimensionless")

    def class_mask(self, codes: tuple[int, ...]) -> xr.DataArray:
        """1.0 on cells of the given land-cover codes, else 0.0 [-]."""
        return self.per_cell(np.isin(self.legend.codes, codes).astype(np.float64), "mask", "dimensionless")

    # ------------------------------------------------------------ zonal sums
    def zonal(self, values: xr.DataArray, unit: str | None = None) -> xr.DataArray:
        """Sum a per-cell quantity by zone × ecosystem type.

        Parameters
        ----------
        values : xarray.DataArray
            Per-cell quantity (dims ``y, x``), in ``values.attrs['units']``.

        Returns
        -------
        xarray.DataArray
            Dims ``(zone, ecosystem)``, same unit.
        """
        ne = len(ECOSYSTEMS)
        sums = self._sum_by("ecosystem", values.data, self.n_zones * ne).reshape(self.n_zones, ne)
        out = self.zone_eco_array(sums)
        out.attrs["units"] = unit or values.attrs.get("units", "")
        return out

    def zonal_by_class(self, values: xr.DataArray) -> np.ndarray:
        """Sum a per-cell quantity by zone × land-cover class; array ``(zone, class)``."""
        nc = len(self.legend.codes)
        return self._sum_by("class", values.data, self.n_zones * nc).reshape(self.n_zones, nc)

    def class_area(self) -> xr.DataArray:
        """Area of each zone × land-cover class [m²], dims ``(zone, class)``, summed once per landscape.

        A zonal sum of a per-class value times the cell area is this times the
        per-class table (no pass over the cells): with ``f`` linear in area,
        ``Σ_cells f(v[class], a_cell) = f(v[class], Σ a_cell)`` by zone × class.
        """
        if self.derived.class_area is None:
            sums = convert(self.zonal_by_class(self.cell_area), self.cell_area.attrs.get("units", "m**2"), "m**2", "cell_area")
            self.derived.class_area = xr.DataArray(sums, dims=("zone", "class"), coords={"zone": self.zones["zone_id"].to_numpy(), "class": self.legend.codes}, attrs={"units": "m**2"})
        return self.derived.class_area

    def zone_area(self) -> xr.DataArray:
        """Area of each zone × ecosystem type [m²] (from :meth:`class_area`)."""
        return self.class_to_ecosystem(self.class_area(), "m**2")

    def collecting(self) -> "Landscape":
        """A view of this landscape whose zonal sums are collected into one batch (chunked landscapes).

        The view's :attr:`batch` (a :class:`gep.execution.ZonalBatch`) computes them
        all in one pass over the blocks when ``batch.run()`` is called (after every
        service asked for its sums, before they are used); for an in-memory
        landscape the view is the landscape itself (``batch`` None) and sums are
        computed at once. Derived keys and areas are shared with the view.
        """
        if not hasattr(self.grid["class_index"].data, "map_blocks"):
            return self
        from gep.execution import ZonalBatch

        return replace(self, batch=ZonalBatch())

    def _sum_by(self, kind: str, values: Any, n: int) -> Any:
        """Sum per-cell ``values`` by the zone × ``kind`` key into ``n`` bins (batched on a collecting view)."""
        if self.batch is not None:
            return self.batch.add(self._key(kind), values, n)
        return _bincount(self._key(kind), values, n)

    def _key(self, kind: str) -> Any:
        """Group key of each cell, zone × ecosystem or zone × class, built once.

        Dask keys give cells outside the region the extra bin ``n`` (zones × kinds);
        numpy keys are a :class:`_Key`.
        """
        cache = self.derived.keys
        if kind not in cache:
            cls = self.grid["class_index"].data
            zone = self.grid["zone_index"].data
            if kind == "ecosystem":
                n_sub = len(ECOSYSTEMS)
                table = np.append(self.legend.ecosystem_index, 0).astype(np.int32)
            else:
                n_sub = len(self.legend.codes)
                table = np.append(np.arange(n_sub), 0).astype(np.int32)
            n = self.n_zones * n_sub
            if hasattr(cls, "map_blocks"):
                sub = self._positions().map_blocks(lambda b: table[b], dtype=np.int32)
                cache[kind] = where((cls >= 0) & (zone >= 0), zone.astype(np.intp) * n_sub + sub, n)
            else:
                cache[kind] = _Key(zone, cls, table, n_sub, n)
        return cache[kind]

    def _positions(self) -> Any:
        """The class index as positions in a per-class table (-1 outside the region), built once.

        A chunked grid's blocks are converted to ``np.intp`` once and shared by every look-up of a pass:
        numpy indexes with ``np.intp`` directly, where an ``int16`` index is converted on every look-up
        (1.2 against 2.2 ms for 10⁶ cells and one look-up; 0.74 ms each further look-up). A numpy grid
        keeps its narrow index (a region-sized ``np.intp`` copy would take 8 bytes a cell).
        """
        idx = self.grid["class_index"].data
        if not hasattr(idx, "map_blocks"):
            return idx
        if self.derived.positions is None or self.derived.positions[0] is not idx:  # a view with other grids builds its own
            self.derived.positions = (idx, idx.astype(np.intp))
        return self.derived.positions[1]

    def spread(self, table: np.ndarray) -> Any:
        """Value of a ``(zone, ecosystem)`` table at each cell, 0 outside the region (numpy or dask)."""
        key = self._key("ecosystem")
        if isinstance(key, _Key):
            return np.append(np.asarray(table, dtype=np.float64).ravel(), 0.0)[key.full]
        return _take(np.asarray(table).ravel(), key)

    def class_to_ecosystem(self, by_class: Any, unit: str) -> xr.DataArray:
        """Aggregate a ``(zone, class)`` array (or DataArray) to ``(zone, ecosystem)``."""
        ne = len(ECOSYSTEMS)
        onehot = np.zeros((len(self.legend.codes), ne))
        onehot[np.arange(len(self.legend.codes)), self.legend.ecosystem_index] = 1.0
        if isinstance(by_class, xr.DataArray):
            by_class = by_class.transpose("zone", "class").data
        return self.zone_eco_array(by_class @ onehot, unit)

    def zone_eco_array(self, data: np.ndarray, unit: str = "") -> xr.DataArray:
        """Wrap a ``(zone, ecosystem)`` array with the account's coordinates."""
        da_ = xr.DataArray(
            data if hasattr(data, "map_blocks") else np.asarray(data, dtype=np.float64),
            dims=("zone", "ecosystem"),
            coords={"zone": self.zones["zone_id"].to_numpy(), "ecosystem": list(ECOSYSTEMS)},
        )
        if unit:
            da_.attrs["units"] = unit
        return da_

    def zone_position(self, zone_ids: Any, where: str) -> np.ndarray:
        """Row positions of ``zone_ids`` in the zone table; unknown ids raise."""
        ids = self.zones["zone_id"].to_numpy()
        z = np.asarray(zone_ids)
        pos = np.searchsorted(np.sort(ids), z)
        order = np.argsort(ids)
        ok = (pos < len(ids)) & (np.sort(ids)[np.minimum(pos, len(ids) - 1)] == z)
        if not ok.all():
            bad = sorted(set(z[~ok].tolist()))[:5]
            raise ScenarioError(f"{where}: zone id(s) {bad} are not zones of the region", hint=f"use zone ids from the zone table ({', '.join(map(str, ids[:10]))}...)")
        return order[pos]

    def by_zone_eco(self, zone_ids: Any, ecosystems: Any, values: Any, where: str, unit: str = "") -> xr.DataArray:
        """Sum table rows into a ``(zone, ecosystem)`` array (vectorised, via bincount)."""
        ne = len(ECOSYSTEMS)
        zpos = self.zone_position(zone_ids, where)
        eco = np.asarray(ecosystems, dtype=object)
        bad = sorted(set(eco) - set(ECOSYSTEMS))
        if bad:
            raise ScenarioError(f"{where}: unknown ecosystem type(s) {bad}", hint=f"use one of {', '.join(ECOSYSTEMS)}")
        epos = np.searchsorted(np.array(ECOSYSTEMS), eco.astype(str), sorter=np.argsort(ECOSYSTEMS))
        epos = np.argsort(ECOSYSTEMS)[epos]
        sums = np.bincount(zpos * ne + epos, weights=np.asarray(values, dtype=np.float64), minlength=self.n_zones * ne)
        return self.zone_eco_array(sums.reshape(self.n_zones, ne), unit)

    def allocate_by_area(self, zone_values: np.ndarray, ecosystems: tuple[str, ...], unit: str) -> xr.DataArray:
        """Share per-zone values among ``ecosystems`` in proportion to their area in the zone.

        A zone without any cell of those ecosystems keeps its value on the
        first ecosystem listed, so nothing is lost.
        """
        area = self.zone_area().where(self.zone_area()["ecosystem"].isin(list(ecosystems)), 0.0)
        zone_area = area.sum("ecosystem")
        share = xr.where(zone_area > 0, area / zone_area.where(zone_area > 0), 0.0)
        fallback = xr.zeros_like(share)
        fallback.loc[{"ecosystem": ecosystems[0]}] = 1.0
        share = xr.where(zone_area > 0, share, fallback)
        values = xr.DataArray(np.asarray(zone_values, dtype=np.float64), dims=("zone",), coords={"zone": share["zone"]})
        return (share * values).transpose("zone", "ecosystem").assign_attrs(units=unit)

    def zone_sums(self, table: pd.DataFrame, values: np.ndarray, where: str) -> np.ndarray:
        """Sum table rows (with a ``zone_id`` column) per zone, in zone order."""
        pos = self.zone_position(table["zone_id"].to_numpy(), where)
        return np.bincount(pos, weights=np.asarray(values, dtype=np.float64), minlength=self.n_zones)
