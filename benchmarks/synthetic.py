"""Seeded synthetic regions for benchmarks: 10⁶ to 10⁹ cells, in memory or lazily with dask.

Land cover is drawn with the demo county's class shares in 1 km patches (so
runs of equal classes exist, as in real maps); zones are 100 rectangular
blocks; continuous inputs are uniform within plausible ranges. Nothing is read
from disk, so the figures measure computation, not GeoTIFF decoding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting import coefficients
from gep.jobs.inputs import coefficient_set
from gep.accounting.landscape import Landscape

CLASSES = np.array([11, 12, 211, 212, 213, 214, 221, 23, 24, 31, 32, 41, 42, 43, 46, 64, 51, 52, 53, 66])
SHARES = np.array([28.2, 14.1, 8.0, 6.3, 5.5, 1.5, 2.2, 1.0, 3.5, 1.0, 0.6, 2.6, 1.5, 6.9, 1.0, 1.0, 5.5, 6.0, 3.5, 0.2])
INPUTS = {
    "precipitation": ("mm/yr", 1100.0, 1400.0),
    "et": ("mm/yr", 300.0, 900.0),
    "storm_rainfall": ("mm/yr", 150.0, 320.0),
    "npp": ("gC/(m**2*yr)", 0.0, 900.0),
    "temperature": ("degC", 14.0, 17.5),
    "r_factor": ("MJ*mm/(ha*h*yr)", 4000.0, 6500.0),
    "k_factor": ("t*ha*h/(ha*MJ*mm)", 0.015, 0.045),
    "ls_factor": ("dimensionless", 0.0, 8.0),
    "fcover": ("dimensionless", 0.0, 1.0),
    "et_hot": ("mm/yr", 30.0, 300.0),
    "wind_factor": ("kg/m", 2.0, 12.0),
}
#: Monthly climate of the monthly soil-respiration model (carbon_sequestration ``nep_rh``): a lower-Yangtze
#: seasonal cycle (month minus annual mean [K]; share of the year's rain), ±1.75 K and 1100–1400 mm/yr as above.
T_CYCLE = (-12.8, -10.8, -6.4, -0.5, 4.8, 8.5, 12.1, 11.6, 7.4, 1.8, -4.5, -11.2)
P_SHARE = tuple(p / 1140.0 for p in (60, 60, 95, 85, 100, 200, 170, 130, 85, 60, 55, 40))
INPUTS.update({f"temperature_monthly_{m:02d}": ("degC", 14.0 + t, 17.5 + t) for m, t in enumerate(T_CYCLE, start=1)})
INPUTS.update({f"precipitation_monthly_{m:02d}": ("mm", 1100.0 * p, 1400.0 * p) for m, p in enumerate(P_SHARE, start=1)})
PATCH = 33  # cells per patch side (~1 km at 30 m)


def shape_for(cells: int) -> tuple[int, int]:
    side = int(round(np.sqrt(cells)))
    return side, int(np.ceil(cells / side))


def _class_block(block_info=None, shape=None, seed=0):
    """Class codes of one block: patch classes hashed from patch coordinates (chunk-independent)."""
    if block_info is not None:
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
    else:
        (r0, r1), (c0, c1) = (0, shape[0]), (0, shape[1])
    pr = (np.arange(r0, r1) // PATCH)[:, None].astype(np.uint64)
    pc = (np.arange(c0, c1) // PATCH)[None, :].astype(np.uint64)
    h = (pr * np.uint64(0x9E3779B97F4A7C15) ^ pc * np.uint64(0xC2B2AE3D27D4EB4F) ^ np.uint64(seed)) * np.uint64(0x165667B19E3779F9)
    u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    cum = np.cumsum(SHARES) / SHARES.sum()
    return CLASSES[np.searchsorted(cum, u)].astype(np.int16)


def _uniform_block(lo, hi, salt, block_info=None, shape=None):
    """Uniform values hashed from cell coordinates, so any chunking gives the same field (float64; the region holds
    them as float32, as :func:`gep.io.raster.read` holds a float32 GeoTIFF: 35 grids in float64 took 280 bytes a cell)."""
    if block_info is not None:
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
    else:
        (r0, r1), (c0, c1) = (0, shape[0]), (0, shape[1])
    r = np.arange(r0, r1, dtype=np.uint64)[:, None]
    c = np.arange(c0, c1, dtype=np.uint64)[None, :]
    h = (r * np.uint64(0xD6E8FEB86659FD93) + c * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt + 1)) * np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(31)
    u = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return lo + (hi - lo) * u


def region(cells: int, zones: int = 100, chunks: int | None = None, seed: int = 2026, coef=None, inputs: list[str] | None = None) -> Landscape:
    """A synthetic Landscape of about ``cells`` cells at 30 m with ``zones`` block zones.

    ``inputs`` limits the gridded inputs generated (default: all of :data:`INPUTS`).
    """
    wanted = {n: INPUTS[n] for n in (INPUTS if inputs is None else inputs)}
    coef = coef or coefficient_set("cn-2022")
    ny, nx = shape_for(cells)
    zy = int(np.sqrt(zones))
    zx = int(np.ceil(zones / zy))

    def zone_block(block_info=None, shape=None):
        if block_info is not None:
            (r0, r1), (c0, c1) = block_info[None]["array-location"]
        else:
            (r0, r1), (c0, c1) = (0, shape[0]), (0, shape[1])
        zr = (np.arange(r0, r1) * zy // ny)[:, None]
        zc = (np.arange(c0, c1) * zx // nx)[None, :]
        return np.minimum(zr * zx + zc, zones - 1).astype(np.int32)

    if chunks:
        import dask.array as da

        def lazy(fn, dtype, *args):
            return da.map_blocks(lambda block_info=None: fn(*args, block_info=block_info), chunks=da.core.normalize_chunks((chunks, chunks), (ny, nx)), dtype=dtype)

        codes = lazy(_class_block_fn(seed), np.int16)
        zone_index = lazy(zone_block, np.int32)
        grids = {n: lazy(_uniform_fn(lo, hi, list(INPUTS).index(n)), np.float32) for n, (_, lo, hi) in wanted.items()}
        area = da.full((ny, nx), 900.0, chunks=chunks)
    else:
        codes = _class_block(shape=(ny, nx), seed=seed)
        zone_index = zone_block(shape=(ny, nx))
        grids = {n: _uniform_block(lo, hi, list(INPUTS).index(n), shape=(ny, nx)).astype(np.float32) for n, (_, lo, hi) in wanted.items()}
        area = np.full((ny, nx), 900.0)
    idx, present = coefficients.class_index(coef.legend, codes)
    grid = xr.Dataset(
        {"class_index": (("y", "x"), idx), "zone_index": (("y", "x"), zone_index), "cell_area": (("y", "x"), area, {"units": "m**2"})},
    )
    for name, (unit, _, _) in wanted.items():
        grid[name] = (("y", "x"), grids[name], {"units": unit})
    grid.attrs["cell_size_m"] = 30.0
    zt = pd.DataFrame({"zone_id": np.arange(1, zones + 1), "name": [f"zone {i}" for i in range(1, zones + 1)]})
    zt["name_zh"] = zt["name"]
    return Landscape(grid=grid, zones=zt, tables={}, legend=coef.legend, year=2022, codes_present=np.sort(present))


def _class_block_fn(seed):
    return lambda block_info=None: _class_block(block_info=block_info, seed=seed)


def _uniform_fn(lo, hi, salt):
    return lambda block_info=None: _uniform_block(lo, hi, salt, block_info=block_info).astype(np.float32)


def baseline(ls: Landscape) -> np.ndarray:
    """The memory-bound baseline: one ``np.bincount`` of a land-cover look-up over the same cells."""
    table = np.arange(len(ls.legend.codes), dtype=np.float64) + 1.0
    idx = ls.grid["class_index"].data
    zone = ls.grid["zone_index"].data
    return np.bincount(zone.ravel(), weights=np.append(table, 0.0)[idx].ravel(), minlength=ls.n_zones)
