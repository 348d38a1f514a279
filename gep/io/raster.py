"""GeoTIFF / NetCDF rasters: reading with units and grid checks.

Gridded inputs are read lazily when ``chunks`` is given (dask), eagerly
otherwise. Every raster must carry a unit: from the scenario, or from a
``units`` metadata tag in the file.
"""

from __future__ import annotations

import functools
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import xarray as xr

from gep.errors import GridError, InputError, UnitError
from gep.units import parse_unit

#: Authalic radius of the WGS 84 ellipsoid [m] (sphere of equal surface area).
AUTHALIC_RADIUS_M = 6371007.181
#: WGS 84 semi-major axis [m] and flattening.
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563


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


def _missing(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"raster file not found: {path}", hint="check the path (relative paths are relative to the scenario file)")


def _unreadable(path: Path, exc: Exception) -> InputError:
    return InputError(f"cannot read raster {path}: {exc}", hint="give a GeoTIFF (or NetCDF) readable by GDAL")


def _open(path: Path, chunks: int | None, masked: bool, band: int | None = None) -> xr.DataArray:
    """A raster through rioxarray (resampling and masks, which need its ``rio`` accessor): its only
    band, or band ``band`` (1-based) of a multi-band file."""
    _missing(path)
    try:
        import rioxarray

        da = rioxarray.open_rasterio(path, masked=masked, chunks={"x": chunks, "y": chunks} if chunks else None)
    except Exception as exc:  # rasterio raises its own error types
        raise _unreadable(path, exc) from exc
    if "band" in da.dims:
        if band is not None:
            if not 1 <= band <= da.sizes["band"]:
                raise InputError(f"raster {path} has {da.sizes['band']} band(s), not band {band}", hint="a monthly input needs a 12-band raster (January to December) or a list of 12 rasters")
            return da.isel(band=band - 1, drop=True)
        if da.sizes["band"] != 1:
            raise InputError(f"raster {path} has {da.sizes['band']} bands", hint="give one band per input file (a monthly input: 12 bands)")
        da = da.squeeze("band", drop=True)
    elif band not in (None, 1):
        raise InputError(f"raster {path} has one band, not band {band}", hint="a monthly input needs a 12-band raster (January to December) or a list of 12 rasters")
    return da


#: GDAL decodes the tiles of one read with this many threads (both cores of the machine class).
DECODE_THREADS = "ALL_CPUS"


@dataclass(frozen=True)
class _Header:
    """What a raster file says about one of its bands, read once (no pixels)."""

    path: Path
    band: int
    shape: tuple[int, int]
    transform: tuple[float, ...]
    crs: str
    dtype: str
    nodata: float | None
    tags: dict


def _header(path: Path, band: int | None = None) -> _Header:
    """The header of the only band of ``path``, or of band ``band`` (1-based) of a multi-band file."""
    import rasterio

    _missing(path)
    try:
        with rasterio.open(path) as src:
            if band is None and src.count != 1:
                raise InputError(f"raster {path} has {src.count} bands", hint="give one band per input file (a monthly input: 12 bands)")
            if band is not None and not 1 <= band <= src.count:
                what = "one band" if src.count == 1 else f"{src.count} band(s)"
                raise InputError(f"raster {path} has {what}, not band {band}", hint="a monthly input needs a 12-band raster (January to December) or a list of 12 rasters")
            b = band or 1
            return _Header(path, b, (int(src.height), int(src.width)), tuple(src.transform)[:6], src.crs.to_string() if src.crs else "", src.dtypes[b - 1],
                           src.nodatavals[b - 1], {**dict(src.tags()), **dict(src.tags(b))})
    except InputError:
        raise
    except Exception as exc:  # rasterio raises its own error types
        raise _unreadable(path, exc) from exc


def _pixels(h: _Header, dtype: str, window: tuple[int, int] | None = None) -> np.ndarray:
    """Rows ``window`` (all when None) of the header's band as ``dtype``; GDAL decodes the tiles on both cores."""
    import rasterio
    from rasterio.windows import Window

    try:
        with rasterio.Env(GDAL_NUM_THREADS=DECODE_THREADS), rasterio.open(h.path) as src:
            if window is None:
                return src.read(h.band, out_dtype=dtype)
            return src.read(h.band, out_dtype=dtype, window=Window(0, window[0], h.shape[1], window[1] - window[0]))
    except Exception as exc:  # rasterio raises its own error types
        raise _unreadable(h.path, exc) from exc


def _value_dtype(dtype: str) -> str:
    """float32 for values whose file type float32 holds exactly (8/16-bit integers, float32), else float64."""
    return "float32" if np.dtype(dtype) in (np.dtype(t) for t in ("float32", "uint8", "int8", "uint16", "int16")) else "float64"


def _as_values(block: np.ndarray, nodata: float | None) -> np.ndarray:
    """Nodata cells → NaN, in place."""
    if nodata is not None and not np.isnan(nodata):
        block[block == block.dtype.type(nodata)] = np.nan
    return block


def _as_codes(block: np.ndarray, nodata: float | None, path: Path, what: str) -> np.ndarray:
    """Integer codes with nodata → 0 (float files must hold whole numbers; NaN → 0)."""
    if block.dtype.kind == "f":
        finite = np.isfinite(block)
        if np.any(block[finite] % 1):
            raise GridError(f"{what} {path} holds non-integer values", hint="class and zone rasters must hold integer codes")
        block = np.where(finite, block, 0).astype(np.int32)
    if nodata is not None and np.isfinite(nodata) and float(nodata) == int(nodata) and np.can_cast(np.min_scalar_type(int(nodata)), block.dtype):
        block[block == int(nodata)] = 0
    return block


def _grid(h: _Header, data, attrs: dict) -> xr.DataArray:
    """``data`` on the file's grid: dims (y, x), cell-centre coordinates, ``crs`` and ``transform`` in attrs."""
    a, _, c, _, e, f = h.transform
    ny, nx = h.shape
    coords = {"y": f + e * (np.arange(ny) + 0.5), "x": c + a * (np.arange(nx) + 0.5)}
    return xr.DataArray(data, dims=("y", "x"), coords=coords, attrs={**attrs, "crs": h.crs, "transform": h.transform})


def _lazy(h: _Header, rows: int, dtype: str, convert) -> object:
    """A dask array of full-width strips of ``rows`` rows, each read from the file when computed."""
    import dask.array as dsa

    chunks = dsa.core.normalize_chunks((rows, h.shape[1]), h.shape)
    return dsa.map_blocks(_read_strip, h, dtype, convert, chunks=chunks, dtype=dtype, meta=np.empty((0, 0), dtype=dtype))


def _read_strip(h: _Header, dtype: str, convert, block_info=None) -> np.ndarray:
    (r0, r1), _ = block_info[None]["array-location"]
    return convert(_pixels(h, dtype, (r0, r1)))


def cells(path: str | Path) -> int:
    """Number of cells of a raster, read from its header only."""
    rows, cols = shape(path)
    return rows * cols


def shape(path: str | Path) -> tuple[int, int]:
    """Rows and columns of a raster, read from its header only."""
    return _header(Path(path)).shape


def held_bytes(path: str | Path, codes: bool = False, band: int | None = None) -> int:
    """Bytes per cell a raster (or its band ``band``) takes once read: :func:`read_codes` keeps
    the file's integer type, :func:`read` float32 or float64 (header only)."""
    dtype = np.dtype(_header(Path(path), band).dtype)
    if codes:
        return dtype.itemsize if dtype.kind in "iu" else 4
    return np.dtype(_value_dtype(dtype.name)).itemsize


@functools.lru_cache(maxsize=64)
def _geographic(crs: str) -> bool:
    if not crs:
        return False
    from rasterio.crs import CRS

    return bool(CRS.from_user_input(crs).is_geographic)


def spec_of(da: xr.DataArray) -> GridSpec:
    """Grid description of a raster read by :func:`read` (its attrs) or opened with rioxarray (its ``rio`` accessor)."""
    if "transform" in da.attrs and "crs" in da.attrs:
        crs = str(da.attrs["crs"])
        return GridSpec(tuple(int(s) for s in da.shape), tuple(da.attrs["transform"])[:6], crs, _geographic(crs))
    crs = da.rio.crs
    t = tuple(da.rio.transform())
    return GridSpec(tuple(int(s) for s in da.shape), t, crs.to_string() if crs else "", bool(crs and crs.is_geographic))


def read(path: str | Path, unit: str | None = None, chunks: int | None = None, what: str = "raster", band: int | None = None) -> xr.DataArray:
    """Read a continuous raster (its only band, or band ``band``) with NaN for nodata.

    Values are float32 when the file's type fits in it exactly (float32, 8- and
    16-bit integers), else float64: the services compute each block in float64.

    Parameters
    ----------
    path : str or Path
        GeoTIFF or NetCDF file.
    unit : str, optional
        Unit of the values; if None, the file's ``units`` tag is used.
    chunks : int, optional
        Rows per block of a lazy read (dask, full-width strips read when computed);
        None reads the whole raster now.
    band : int, optional
        Band of a multi-band file (1-based), e.g. a month of a 12-band climate raster.

    Returns
    -------
    DataArray
        Dims ``(y, x)`` with ``attrs['units']``.
    """
    path = Path(path)
    h = _header(path, band)
    unit = unit or h.tags.get("units") or h.tags.get("UNITS")
    if not unit:
        raise UnitError(f"{what} {path} has no unit", hint=f"give it in the scenario, e.g. {what} = {{ path = \"{path.name}\", units = \"mm/yr\" }}, or tag the GeoTIFF with 'units'")
    parse_unit(unit, f"{what} {path}")
    dtype = _value_dtype(h.dtype)
    convert = functools.partial(_as_values, nodata=h.nodata)
    data = _lazy(h, chunks, dtype, convert) if chunks else convert(_pixels(h, dtype))
    return _grid(h, data, {"units": unit, "source": str(path)})


def read_codes(path: str | Path, chunks: int | None = None, what: str = "raster") -> xr.DataArray:
    """Read an integer class or zone raster in the file's integer type; nodata cells become 0.

    ``chunks``: rows per block of a lazy read, as in :func:`read`.
    """
    path = Path(path)
    h = _header(path)
    dtype = h.dtype if np.dtype(h.dtype).kind in "iu" else "float64"
    convert = functools.partial(_as_codes, nodata=h.nodata, path=path, what=what)
    if chunks:
        data = _lazy(h, chunks, np.dtype(dtype).name if np.dtype(dtype).kind in "iu" else "int32", convert)
    else:
        data = convert(_pixels(h, dtype))
    return _grid(h, data, {"source": str(path)})


def _ellipsoid(crs) -> tuple[float, float]:
    """Semi-major axis a [m] and eccentricity e of a CRS's ellipsoid (WGS 84 when unknown)."""
    try:
        from pyproj import CRS

        ell = CRS.from_user_input(crs).ellipsoid
        a, b = float(ell.semi_major_metre), float(ell.semi_minor_metre)
    except Exception:  # no CRS or no ellipsoid: WGS 84
        a, b = WGS84_A, WGS84_A * (1 - WGS84_F)
    e2 = max(0.0, 1.0 - (b / a) ** 2)
    return a, float(np.sqrt(e2))


def band_area(lat1_deg, lat2_deg, dlon_deg: float, a: float = None, e: float = None) -> np.ndarray:
    """Area [m²] of the ellipsoidal quadrangle between latitudes φ1, φ2 and Δλ of longitude.

    A = (b²/2)·Δλ·|q(φ2) − q(φ1)| with q(φ) = sin φ/(1 − e² sin² φ) + (1/2e)·ln((1 + e sin φ)/(1 − e sin φ))
    and b² = a²(1 − e²); on a sphere (e = 0) A = a²·Δλ·|sin φ2 − sin φ1|. Exact on the
    ellipsoid (cells bounded by meridians and parallels).

    References
    ----------
    Snyder, J. P. (1987) Map Projections — A Working Manual, USGS Professional Paper 1395,
    eq. 3-12 (q, authalic latitude).
    """
    a = WGS84_A if a is None else a
    e = np.sqrt((2 - WGS84_F) * WGS84_F) if e is None else e
    p1, p2 = np.deg2rad(np.asarray(lat1_deg, dtype=float)), np.deg2rad(np.asarray(lat2_deg, dtype=float))
    dl = np.deg2rad(abs(dlon_deg))
    if e < 1e-12:
        return a**2 * dl * np.abs(np.sin(p2) - np.sin(p1))

    def q(p):
        s = np.sin(p)
        return s / (1 - e * e * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e)

    b2 = a * a * (1 - e * e)
    return 0.5 * b2 * dl * np.abs(q(p2) - q(p1))


def cell_area(da: xr.DataArray) -> xr.DataArray:
    """Area of each cell [m²]: constant on projected grids; per latitude on geographic grids.

    On a geographic grid the area of a cell between latitudes φ1, φ2 and
    Δλ of longitude is the exact area of that quadrangle on the CRS's
    ellipsoid (:func:`band_area`; WGS 84 when the CRS names none), which
    agrees with the geodesic polygon area (pyproj ``Geod``) to about 1e-9 for
    cells of 0.01° or less. Degrees squared are never used as an area.

    References
    ----------
    Snyder, J. P. (1987) Map Projections — A Working Manual, USGS PP 1395.
    """
    spec = spec_of(da)
    t = spec.transform
    if spec.geographic:
        ny = spec.shape[0]
        lat_top = t[5] + t[4] * np.arange(ny)
        lat_bot = lat_top + t[4]
        a, e = _ellipsoid(spec.crs)
        rows = band_area(lat_top, lat_bot, t[0], a, e)
    else:
        unit = _linear_units(spec.crs)
        if unit not in ("metre", "meter", "m"):
            raise GridError(f"grid of {da.attrs.get('source', 'raster')} is in '{unit}', not metres", hint="reproject to a metric projected CRS or a geographic CRS")
        rows = np.full(spec.shape[0], abs(t[0] * t[4]))
    # a broadcast view: one value per row, no memory per cell
    return xr.DataArray(np.broadcast_to(rows[:, None], spec.shape), dims=("y", "x"), coords={"y": da["y"], "x": da["x"]}, attrs={"units": "m**2"})


def _linear_units(crs: str) -> str:
    if not crs:
        return "metre"
    from rasterio.crs import CRS

    return CRS.from_user_input(crs).linear_units


def spacing_m(da: xr.DataArray) -> tuple[float, float]:
    """Cell size (dy, dx) [m]; on geographic grids at the grid's central latitude (for distances)."""
    spec = spec_of(da)
    t = spec.transform
    if not spec.geographic:
        return abs(t[4]), abs(t[0])
    a, _ = _ellipsoid(spec.crs)
    lat = t[5] + t[4] * spec.shape[0] / 2
    return abs(np.deg2rad(t[4])) * a, abs(np.deg2rad(t[0])) * a * float(np.cos(np.deg2rad(lat)))


#: Resampling methods a scenario may name, and rasterio's name for them.
RESAMPLING = {"nearest": "nearest", "bilinear": "bilinear", "cubic": "cubic", "average": "average", "mean": "average", "mode": "mode"}


def resample(da: xr.DataArray, reference: xr.DataArray, method: str, what: str) -> xr.DataArray:
    """Resample ``da`` onto ``reference``'s grid (rioxarray ``reproject_match``).

    Parameters
    ----------
    da, reference : DataArray
        Rasters with a CRS.
    method : str
        ``nearest`` (classes, zones, masks), ``bilinear``, ``cubic``, ``average``/``mean``
        (continuous values; ``average`` when coarsening), ``mode`` (classes, coarsening).
    what : str
        Name used in error messages.
    """
    return resample_many([da], reference, method, [what])[0]


def resample_many(das: list[xr.DataArray], reference: xr.DataArray, method: str, whats: list[str], threads: int = 1) -> list[xr.DataArray]:
    """Resample rasters on one grid (e.g. the 12 months of a climate raster) onto ``reference``'s grid in one
    warp (:func:`resample`): GDAL computes the source position of each cell once for all of them, on every
    core; each result is the one :func:`resample` gives the raster alone.

    Only rasters without nodata are warped together: GDAL treats nodata across the bands of one warp
    (``UNIFIED_SRC_NODATA``), so that a cell missing in one month would blank, or fill, the others;
    rasters holding nodata are warped one by one. And only when GDAL warps one of them alone in one
    piece (:data:`WARP_MEMORY_BYTES`): a warp split into pieces places the source cells of each piece
    by its own approximate transformation, so a split warp differs from an unsplit one in the last bit
    of a few cells. Rasters warped together are never split (GDAL's memory limit raised to what they
    take), in groups of at most :data:`WARP_MEMORY_BYTES` of output each.

    Parameters
    ----------
    das : list of DataArray
        Rasters with a CRS, all on the same grid and of the same type.
    whats : list of str
        Their names in error messages.
    threads : int
        GDAL threads of a warp of several rasters (:func:`gep.execution.threads`).
    """
    from rasterio.enums import Resampling

    if method not in RESAMPLING:
        raise GridError(f"{whats[0]}: unknown resampling method {method!r}", hint=f"use one of {', '.join(RESAMPLING)}")
    src, ref_spec = spec_of(das[0]), spec_of(reference)
    if any(spec_of(d) != src or d.dtype != das[0].dtype for d in das[1:]):
        raise ValueError("resample_many: the rasters are on different grids or of different types")
    cost = (int(np.prod(src.shape)) + int(np.prod(ref_spec.shape))) * WARP_BYTES_PER_CELL  # of one raster, in GDAL's terms
    if len(das) > 1 and (cost > WARP_MEMORY_BYTES or not all(np.issubdtype(d.dtype, np.floating) and not bool(np.isnan(d.data).any()) for d in das)):
        return [resample_many([d], reference, method, [what])[0] for d, what in zip(das, whats)]
    group = max(1, WARP_MEMORY_BYTES // (int(np.prod(ref_spec.shape)) * das[0].dtype.itemsize))
    if len(das) > group:
        return [one for k in range(0, len(das), group) for one in resample_many(das[k : k + group], reference, method, whats[k : k + group], threads)]
    options = {} if len(das) == 1 else {"num_threads": threads, "warp_mem_limit": -(-2 * len(das) * cost // 2**20)}  # [MB]: one piece
    reference = _rio(reference)
    stack = _rio(das[0] if len(das) == 1 else xr.concat([d.drop_attrs(deep=False) for d in das], dim="band").assign_attrs(das[0].attrs))
    attrs = [dict(stack.attrs)] if len(das) == 1 else [dict(_rio(d).attrs) for d in das]
    if stack.rio.crs is None or reference.rio.crs is None:
        raise GridError(f"{whats[0]} ({das[0].attrs.get('source', '')}) cannot be resampled: it or the land cover has no CRS", hint="set the CRS of both GeoTIFFs (gdal_edit.py -a_srs EPSG:...)")
    nodata = stack.rio.nodata if stack.rio.nodata is not None else stack.rio.encoded_nodata
    if np.issubdtype(stack.dtype, np.floating) and nodata is None:
        stack = stack.rio.write_nodata(np.nan, encoded=False)
    out = stack.rio.reproject_match(reference, resampling=getattr(Resampling, RESAMPLING[method]), **options)
    out = out.assign_coords(x=reference["x"], y=reference["y"])
    results = []
    for i, da in enumerate(das):
        one = out if len(das) == 1 else out.isel(band=i, drop=True)
        one.attrs = dict(out.attrs)
        one.attrs.update(attrs[i])
        one.attrs.update(crs=ref_spec.crs, transform=ref_spec.transform)
        one.attrs["resampled_from"] = src.describe()
        one.attrs["resampling"] = RESAMPLING[method]
        results.append(one)
    return results


#: GDAL's default warp memory [bytes] (``GDALWarpOptions::dfWarpMemoryLimit``): a warp that needs more is split into pieces.
WARP_MEMORY_BYTES = 64 * 2**20
#: Bytes GDAL counts per cell and band of a float warp's source and output, rounded up (value, validity
#: and density masks): what :func:`resample_many` takes to decide that one raster warps in one piece.
WARP_BYTES_PER_CELL = 12


def _rio(da: xr.DataArray) -> xr.DataArray:
    """``da`` with its CRS, transform and nodata (NaN, or 0 for codes) on rioxarray's ``rio`` accessor."""
    import rioxarray  # noqa: F401 - registers the accessor

    if "transform" not in da.attrs:
        return da
    from affine import Affine

    attrs = {k: v for k, v in da.attrs.items() if k not in ("crs", "transform")}
    out = da.copy(deep=False)
    out.attrs = attrs
    out = out.rio.write_transform(Affine(*da.attrs["transform"]))
    if da.attrs["crs"]:
        out = out.rio.write_crs(da.attrs["crs"])
    return out.rio.write_nodata(np.nan if np.issubdtype(da.dtype, np.floating) else 0, encoded=False)


def read_mask(path: str | Path, reference: xr.DataArray, resample_ok: bool, what: str) -> np.ndarray:
    """A 0/1 mask raster on ``reference``'s grid: non-zero finite cells are inside (float 0/1)."""
    path = Path(path)
    da = _open(path, None, masked=True)
    da.attrs["source"] = str(path)
    if not spec_of(reference).matches(spec_of(da)):
        if not resample_ok:
            check_aligned(reference, da, "the land cover", what)
        da = resample(da.astype(np.float64), reference, "nearest", what)
    v = np.asarray(da.values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v != 0), 1.0, 0.0)


def check_aligned(reference: xr.DataArray, other: xr.DataArray, ref_name: str, name: str) -> None:
    """Raise :class:`GridError` naming both grids if ``other`` is not on ``reference``'s grid."""
    a, b = spec_of(reference), spec_of(other)
    if not a.matches(b):
        raise GridError(
            f"{name} ({other.attrs.get('source', '')}) is on a different grid than {ref_name}: {b.describe()} vs {a.describe()}",
            hint="resample it onto the land-cover grid (same CRS, cell size, origin and shape), e.g. with gdalwarp -tr -te -t_srs, or let gep do it: [execution] resample = true (nearest for classes, bilinear for values) or { path = ..., resample = \"average\" } for one input",
        )


def is_geographic(crs: str) -> bool:
    """Whether a CRS (any form pyproj reads) is geographic (degrees); an unreadable or empty one counts as projected."""
    if not crs:
        return False
    try:
        from pyproj import CRS

        return bool(CRS.from_user_input(crs).is_geographic)
    except Exception:  # unreadable CRS string: treat as projected
        return False


def georeferenced(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (attributes ``crs`` and ``transform``) with its grid written the CF way, so GIS places it:
    a ``spatial_ref`` grid-mapping variable (WKT and GDAL GeoTransform), ``grid_mapping`` on every
    gridded variable and x/y coordinates of the cell centres with their units (rioxarray)."""
    import rioxarray  # noqa: F401 - the .rio accessor
    from rasterio.transform import Affine

    crs, transform = ds.attrs.get("crs"), ds.attrs.get("transform")
    if not crs or transform is None or "y" not in ds.dims or "x" not in ds.dims:
        return ds
    t = Affine(*[float(v) for v in np.ravel(transform)[:6]])
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    # the grid mapping is made on the coordinates alone (rioxarray copies what it is given), then put on ds without copying its layers
    frame = xr.Dataset(coords={"x": t.c + t.a * (np.arange(nx) + 0.5), "y": t.f + t.e * (np.arange(ny) + 0.5)})
    frame = frame.rio.write_crs(crs).rio.write_transform(t).rio.write_coordinate_system()
    out = ds.drop_vars("spatial_ref", errors="ignore").assign_coords(x=frame["x"], y=frame["y"], spatial_ref=frame["spatial_ref"])
    for name in out.data_vars:
        if {"y", "x"} <= set(out[name].dims):
            out[name].attrs["grid_mapping"] = "spatial_ref"
    out.attrs.update(ds.attrs)  # crs and transform as gep reads them back (gep compare of run folders)
    return out


#: Creation options of the ``maps/`` COGs. DEFLATE (read by every GIS) at level 1: at 8000² this took about half
#: the CPU time of GDAL's default level 6 (benchmarks/RESULTS.md, session 5). The overviews are made by
#: :func:`overview_levels` and copied as they are (``FORCE_USE_EXISTING``): GDAL's own AVERAGE overviews took
#: 1.85 of the 2.43 CPU s of a 8000² map, these 0.35 s (benchmarks/RESULTS.md, session 7).
COG_OPTIONS = {"compress": "DEFLATE", "level": 1, "overviews": "FORCE_USE_EXISTING"}
#: Bytes of a map sampled, in :data:`COG_SAMPLES` pieces spread over it, to decide whether DEFLATE is worth it
#: (:func:`worth_compressing`).
COG_SAMPLE_BYTES = 1 << 20
COG_SAMPLES = 16
#: A map's COG is deflated when a sample deflates below this share of its size (:func:`worth_compressing`), else
#: stored as it is. The maps are the files a county publishes: a saving of a quarter is kept, where ``cells.nc``
#: keeps only a half (:data:`gep.io.outputs.CELLS_WORTH_COMPRESSING`).
COG_WORTH_COMPRESSING = 0.75
#: GDAL block cache of a COG being written [bytes]: at 8000² 16 MiB took the same CPU time as 64 MiB and ~95 MB
#: less memory per COG; 8 MiB took 1.4 × the time (benchmarks/RESULTS.md, session 5). GDAL has one cache for the
#: process: COGs written at once get this much each (two sharing 16 MiB took 1.6 × the CPU time, session 7).
COG_CACHE_BYTES = 16 * 2**20
#: A COG gets overview levels until the smallest is at most this many cells a side: GDAL's COG driver does the
#: same with its default BLOCKSIZE (512), so the levels are those GDAL would make (GDAL COG driver documentation,
#: option OVERVIEW_COUNT).
OVERVIEW_SIDE = 512
#: Rows of a map reduced at a time into its overviews (rounded up to a multiple of 2^levels: :func:`overview_rows`) [rows].
OVERVIEW_STRIP_ROWS = 256


def overview_count(shape: tuple[int, int]) -> int:
    """How many overview levels (factors 2, 4, 8 …) a map of ``shape`` gets: until the smallest is at most
    :data:`OVERVIEW_SIDE` cells a side."""
    n, size = 0, max(shape)
    while size > OVERVIEW_SIDE:
        n, size = n + 1, -(-size // 2)
    return n


def _halve(sums: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of 2 × 2 cells (an odd last row or column counts alone)."""
    r, k = sums.shape
    if r % 2 or k % 2:
        sums, counts = (np.pad(a, ((0, r % 2), (0, k % 2))) for a in (sums, counts))
    sums, counts = sums[0::2] + sums[1::2], counts[0::2] + counts[1::2]
    return sums[:, 0::2] + sums[:, 1::2], counts[:, 0::2] + counts[:, 1::2]


def overview_rows(levels: int) -> int:
    """Rows of a map :func:`overview_levels` takes at a time for ``levels`` levels: about
    :data:`OVERVIEW_STRIP_ROWS`, a multiple of 2^levels."""
    return -(-OVERVIEW_STRIP_ROWS // 2**levels) * 2**levels


def overview_levels(strips: Iterable[np.ndarray], outs: list) -> None:
    """Write the overview levels of a float32 map, given in strips of rows, to ``outs`` (factors 2, 4, 8 …).

    Each overview cell is the mean of the map's cells it covers, NaN (nodata) left out; NaN where
    all are. The sums and counts are carried level to level (so a level-4 cell is the mean of up to
    16 cells, not a mean of means) in float32: pairwise sums of at most 4^levels values, relative
    error below ``levels × 2⁻²³``, for a map's display only.

    Parameters
    ----------
    strips : iterable of ndarray, float32
        The map's rows in order (NaN: nodata), :func:`overview_rows` rows at a time (fewer in the last).
    outs : list of binary file objects
        Level 1, 2 … (``len(outs)`` levels); each gets its rows of float32, little-endian, in order.
    """
    with np.errstate(invalid="ignore"):  # 0 / 0: no valid cell below
        for block in strips:
            nan = np.isnan(block)
            sums, counts = np.where(nan, np.float32(0), block), (~nan).astype(np.float32)
            for out in outs:
                sums, counts = _halve(sums, counts)
                out.write(np.ascontiguousarray(sums / counts, dtype="<f4").tobytes())


def worth_compressing(path: Path) -> bool:
    """Whether a raw map file is worth DEFLATE: a sample of it (:data:`COG_SAMPLE_BYTES` in :data:`COG_SAMPLES`
    pieces spread over the file) deflated at level 1 is below :data:`COG_WORTH_COMPRESSING` of its size.

    Class-patterned maps and maps mostly outside the region deflate to a few per cent; noisy float maps (water
    yield from measured rainfall) to ~80 %, at ~40 ns a cell: the 8000² benchmark's water-yield map took
    2-2.5 CPU s with DEFLATE and 0.5 s stored as it is, for files of 292 and 358 MB with their overviews
    (benchmarks/RESULTS.md, session 7).
    """
    from isal import isal_zlib

    from gep.io.outputs import CELLS_ZLIB_LEVEL

    size = path.stat().st_size
    piece = max(1, min(size, COG_SAMPLE_BYTES) // COG_SAMPLES)
    with open(path, "rb") as f:
        sample = b"".join(os.pread(f.fileno(), piece, k * (size - piece) // max(1, COG_SAMPLES - 1)) for k in range(COG_SAMPLES))
    return len(isal_zlib.compress(sample, CELLS_ZLIB_LEVEL)) < COG_WORTH_COMPRESSING * len(sample)


def _vrt_of(raw: Path) -> Path:
    """The VRT describing a raw file of :class:`CogWriter`."""
    return raw.with_name(raw.name + ".vrt")


class CogWriter:
    """A Cloud-Optimised GeoTIFF of one per-cell map (float32, NaN as nodata) written from blocks of rows,
    never held whole in memory.

    :meth:`write` puts each block (any order, from any thread) into a raw float32 file beside ``path``;
    :meth:`finish` has GDAL's COG driver copy that file, described by a VRT with the CRS, transform,
    ``units`` and ``long_name`` tags and band description, into ``path`` (:data:`COG_OPTIONS`, stored as it is
    when not :func:`worth_compressing`, with the overviews of :func:`overview_levels`, block cache bounded by :data:`COG_CACHE_BYTES`) and removes the raw files. The raw file only
    passes through the page cache; GDAL releases the GIL while it copies, so COGs can be finished on
    several threads.

    Parameters
    ----------
    path : Path
        The COG written.
    shape : (int, int)
        Rows and columns.
    crs : str
        CRS (any form rasterio reads).
    transform : sequence of float
        Affine transform ``(a, b, c, d, e, f)``.
    units, long_name : str
        Tags of the file (``long_name`` is also the band description).
    """

    def __init__(self, path: str | Path, shape: tuple[int, int], crs: str, transform, units: str = "", long_name: str = ""):
        self.path = Path(path)
        self.shape = (int(shape[0]), int(shape[1]))
        self.crs, self.transform = crs, tuple(float(v) for v in np.ravel(transform)[:6])
        self.units, self.long_name = units, long_name
        self._raw = self.path.with_name(f".{self.path.name}.raw")
        self._extra: list[Path] = []  # the VRTs and overview levels of finish()
        self._fd = os.open(self._raw, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)

    def write(self, row0: int, block: np.ndarray) -> None:
        """Rows ``row0 …`` of the map (float32; whole rows)."""
        data = memoryview(np.ascontiguousarray(block, dtype="<f4")).cast("B")
        offset = int(row0) * self.shape[1] * 4
        while data:  # a regular file takes it in one call; looped as the interface allows less
            n = os.pwrite(self._fd, data, offset)
            data, offset = data[n:], offset + n

    def finish(self, at_once: int = 1, threads: int = 1) -> str:
        """Write the COG from the blocks written (with its overviews, :func:`overview_levels`), remove the raw files
        and return the COG's SHA-256 (read while its pages are still cached, on this thread: beside the other maps
        being finished rather than after all of them).

        ``at_once``: COGs finished at the same time on other threads (GDAL's block cache, one for the
        process, is sized for all of them: :data:`COG_CACHE_BYTES` each). ``threads``: GDAL threads deflating this
        COG's tiles (``NUM_THREADS``; the same bytes whatever their number, the tiles written in order).
        """
        import rasterio
        import rasterio.shutil

        from gep.io.files import sha256_file

        os.close(self._fd)
        self._fd = None
        ny, nx = self.shape
        levels = [(self._raw.with_name(f"{self._raw.name}.{k}"), (-(-ny // 2**k), -(-nx // 2**k))) for k in range(1, overview_count(self.shape) + 1)]
        vrt = self._raw.with_suffix(".vrt")
        self._extra = [vrt] + [q for p, _ in levels for q in (p, _vrt_of(p))]
        try:
            if levels:  # the map read back a strip at a time (not memory-mapped: mapped pages would count in the peak)
                rows = overview_rows(len(levels))
                with open(self._raw, "rb") as raw, ExitStack() as stack:
                    outs = [stack.enter_context(open(p, "wb")) for p, _ in levels]
                    overview_levels((np.fromfile(raw, "<f4", min(rows, ny - r) * nx).reshape(-1, nx) for r in range(0, ny, rows)), outs)
            overviews = ""
            for p, shape in levels:
                _vrt_of(p).write_text(self._vrt(p, shape), encoding="utf-8")
                overviews += f'    <Overview><SourceFilename relativeToVRT="1">{_vrt_of(p).name}</SourceFilename><SourceBand>1</SourceBand></Overview>\n'
            vrt.write_text(self._vrt(self._raw, self.shape, overviews, georeferenced=True), encoding="utf-8")
            options = COG_OPTIONS if worth_compressing(self._raw) else dict(COG_OPTIONS, compress="NONE", level=None)
            with rasterio.Env(GDAL_CACHEMAX=COG_CACHE_BYTES * max(1, at_once)):
                rasterio.shutil.copy(vrt, self.path, driver="COG", num_threads=max(1, int(threads)), **{k: v for k, v in options.items() if v is not None})
        finally:
            self.discard()
        return sha256_file(self.path)

    def _vrt(self, raw: Path, shape: tuple[int, int], overviews: str = "", georeferenced: bool = False) -> str:
        """A VRT describing a raw float32 file of ``shape`` (the map, with its grid, tags and ``overviews``; or one of its overviews)."""
        from xml.sax.saxutils import escape

        from rasterio.crs import CRS

        ny, nx = shape
        head = ""
        if georeferenced:
            a, b, c, d, e, f = self.transform
            wkt = CRS.from_user_input(self.crs).to_wkt() if self.crs else ""
            head = ((f"  <SRS>{escape(wkt)}</SRS>\n" if wkt else "")
                    + f"  <GeoTransform>{c!r}, {a!r}, {b!r}, {f!r}, {d!r}, {e!r}</GeoTransform>\n"
                    f'  <Metadata><MDI key="long_name">{escape(self.long_name)}</MDI><MDI key="units">{escape(self.units)}</MDI></Metadata>\n')
        return (f'<VRTDataset rasterXSize="{nx}" rasterYSize="{ny}">\n' + head
                + '  <VRTRasterBand dataType="Float32" band="1" subClass="VRTRawRasterBand">\n'
                + (f"    <Description>{escape(self.long_name)}</Description>\n" if georeferenced else "")
                + "    <NoDataValue>nan</NoDataValue>\n"
                f'    <SourceFilename relativeToVRT="1">{escape(raw.name)}</SourceFilename>\n'
                f"    <ImageOffset>0</ImageOffset><PixelOffset>4</PixelOffset><LineOffset>{4 * nx}</LineOffset><ByteOrder>LSB</ByteOrder>\n"
                + overviews + "  </VRTRasterBand>\n</VRTDataset>\n")

    def discard(self) -> None:
        """Remove the raw files (after :meth:`finish`, or when the map is not written after all)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for p in [self._raw, *self._extra]:
            p.unlink(missing_ok=True)
