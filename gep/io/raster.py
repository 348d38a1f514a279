"""GeoTIFF / NetCDF rasters: reading with units and grid checks.

Gridded inputs are read lazily when ``chunks`` is given (dask), eagerly
otherwise. Every raster must carry a unit: from the scenario, or from a
``units`` metadata tag in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from gep.errors import GridError, InputError, UnitError
from gep.units import parse_unit

#: Authalic radius of the WGS 84 ellipsoid [m] (sphere of equal surface area).
AUTHALIC_RADIUS_M = 6371007.181


@dataclass(frozen=True)
class GridSpec:
    """Shape, transform and CRS of a raster, for alignment checks."""

    shape: tuple[int, int]
    transform: tuple[float, ...]
    crs: str
    geographic: bool

    def describe(self) -> str:
        t = self.transform
        return f"{self.shape[0]}×{self.shape[1]} cells of {abs(t[0]):g}×{abs(t[4]):g} at origin ({t[2]:.6g}, {t[5]:.6g}), {self.crs or 'no CRS'}"

    def matches(self, other: "GridSpec") -> bool:
        return (
            self.shape == other.shape
            and np.allclose(self.transform[:6], other.transform[:6], rtol=0, atol=1e-6 * max(1.0, abs(self.transform[0])))
            and (self.crs == other.crs or not self.crs or not other.crs)
        )


def _open(path: Path, chunks: int | None, masked: bool) -> xr.DataArray:
    if not path.is_file():
        raise InputError(f"raster file not found: {path}", hint="check the path (relative paths are relative to the scenario file)")
    try:
        import rioxarray

        da = rioxarray.open_rasterio(path, masked=masked, chunks={"x": chunks, "y": chunks} if chunks else None)
    except Exception as exc:  # rasterio raises its own error types
        raise InputError(f"cannot read raster {path}: {exc}", hint="give a GeoTIFF (or NetCDF) readable by GDAL") from exc
    if "band" in da.dims:
        if da.sizes["band"] != 1:
            raise InputError(f"raster {path} has {da.sizes['band']} bands", hint="give one band per input file")
        da = da.squeeze("band", drop=True)
    return da


def cells(path: str | Path) -> int:
    """Number of cells of a raster, read from its header only."""
    import rasterio

    try:
        with rasterio.open(path) as src:
            return int(src.width) * int(src.height)
    except Exception as exc:  # rasterio raises its own error types
        raise InputError(f"cannot read raster {path}: {exc}", hint="give a GeoTIFF (or NetCDF) readable by GDAL") from exc


def spec_of(da: xr.DataArray) -> GridSpec:
    """Grid description of a raster read by :func:`read`."""
    crs = da.rio.crs
    t = tuple(da.rio.transform())
    return GridSpec(tuple(int(s) for s in da.shape), t, crs.to_string() if crs else "", bool(crs and crs.is_geographic))


def read(path: str | Path, unit: str | None = None, chunks: int | None = None, what: str = "raster") -> xr.DataArray:
    """Read a single-band continuous raster as float with NaN for nodata.

    Parameters
    ----------
    path : str or Path
        GeoTIFF or NetCDF file.
    unit : str, optional
        Unit of the values; if None, the file's ``units`` tag is used.
    chunks : int, optional
        Chunk size for a lazy dask read.

    Returns
    -------
    DataArray
        Dims ``(y, x)`` with ``attrs['units']``.
    """
    path = Path(path)
    da = _open(path, chunks, masked=True)
    unit = unit or da.attrs.get("units") or da.attrs.get("UNITS")
    if not unit:
        raise UnitError(f"{what} {path} has no unit", hint=f"give it in the scenario, e.g. {what} = {{ path = \"{path.name}\", units = \"mm/yr\" }}, or tag the GeoTIFF with 'units'")
    parse_unit(unit, f"{what} {path}")
    da = da.astype(np.float64) if not chunks else da.astype(np.float64)
    da.attrs = {"units": unit, "source": str(path)}
    return da


def read_codes(path: str | Path, chunks: int | None = None, what: str = "raster") -> xr.DataArray:
    """Read an integer class or zone raster; nodata cells become 0."""
    path = Path(path)
    da = _open(path, chunks, masked=False)
    nodata = da.rio.nodata
    if not np.issubdtype(da.dtype, np.integer):
        vals = da.data
        frac = vals % 1 if not hasattr(vals, "compute") else None
        if frac is not None and np.nanmax(np.where(np.isfinite(vals), frac, 0)) > 0:
            raise GridError(f"{what} {path} holds non-integer values", hint="class and zone rasters must hold integer codes")
        da = da.fillna(0)
    if nodata is not None and np.isfinite(nodata):
        da = da.where(da != nodata, 0)
    return da.astype(np.int64).assign_attrs(source=str(path))


def cell_area(da: xr.DataArray) -> xr.DataArray:
    """Area of each cell [m²]: constant on projected grids; per latitude on geographic grids.

    On a geographic grid the area of a cell between latitudes φ1, φ2 and
    longitudes Δλ apart is R²·Δλ·|sin φ2 − sin φ1| on the authalic sphere of
    WGS 84 (exact for a sphere of the ellipsoid's surface area).

    References
    ----------
    Snyder, J. P. (1987) Map Projections — A Working Manual, USGS PP 1395 (authalic sphere).
    """
    spec = spec_of(da)
    t = spec.transform
    if spec.geographic:
        ny = spec.shape[0]
        lat_top = t[5] + t[4] * np.arange(ny)
        lat_bot = lat_top + t[4]
        rows = AUTHALIC_RADIUS_M**2 * np.deg2rad(abs(t[0])) * np.abs(np.sin(np.deg2rad(lat_top)) - np.sin(np.deg2rad(lat_bot)))
        area = xr.DataArray(np.broadcast_to(rows[:, None], spec.shape), dims=("y", "x"), coords={"y": da["y"], "x": da["x"]})
    else:
        unit = da.rio.crs.linear_units if da.rio.crs is not None else "metre"
        if unit not in ("metre", "meter", "m"):
            raise GridError(f"grid of {da.attrs.get('source', 'raster')} is in '{unit}', not metres", hint="reproject to a metric projected CRS or a geographic CRS")
        area = xr.full_like(da, abs(t[0] * t[4]), dtype=np.float64)
    return area.assign_attrs(units="m**2")


def check_aligned(reference: xr.DataArray, other: xr.DataArray, ref_name: str, name: str) -> None:
    """Raise :class:`GridError` naming both grids if ``other`` is not on ``reference``'s grid."""
    a, b = spec_of(reference), spec_of(other)
    if not a.matches(b):
        raise GridError(
            f"{name} ({other.attrs.get('source', '')}) is on a different grid than {ref_name}: {b.describe()} vs {a.describe()}",
            hint="resample it onto the land-cover grid (same CRS, cell size, origin and shape), e.g. with gdalwarp -tr -te -t_srs",
        )
