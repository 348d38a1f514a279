"""About the least a program can do for each job of ``benchmarks/invest.py``: the floor beside InVEST and gep.

Usage::

    python benchmarks/invest_floor.py carbon|awy DATADIR WORKSPACE

Reads the GeoTIFFs of ``benchmarks/invest_data.py`` whole (GDAL decoding on every core), computes
the per-cell result and its sums by zone, and writes the per-cell map (a tiled 256 × 256 float32
GeoTIFF, DEFLATE level 1 on every core, NaN where there is no result: no overviews, no tags) and
the zone table (``zones.csv``), nothing else. numpy and rasterio only: no unit checks, no
manifest, no value digests, no other output. It is what issue 21's wording of the job ("reading
the GeoTIFFs, computing, writing the per-cell map and the tables") costs at about the least on
this machine, so that a ratio against InVEST can be read beside about the largest one a program
writing such a map could reach here. ``benchmarks/invest.py`` checks its totals against InVEST's.

- ``carbon``: each cell's total carbon density from ``carbon_pools.csv`` (the four pools summed
  [t C/ha], InVEST's table; ``tot_c.tif``) and the stock [t C] = density × cell area by zone (one
  ``np.bincount`` of zone × land-cover code, then the densities).
- ``awy``: InVEST's annual water yield Y = P − AET [mm] (``wyield.tif``) with AET from the Budyko
  curve on vegetated classes (Zhang et al. 2004: AET/P = min(1 + PET/P − (1 + (PET/P)^ω)^(1/ω),
  PET/P), ω = min(Z·AWC/P + 1.25, 5), PET = Kc·ET0, Z of ``invest_data.BUDYKO_Z``) and AET =
  min(PET, P) elsewhere, from ``lulc.tif``, ``precip.tif``, ``eto.tif``, ``awc.tif`` and
  ``biophysical.csv``; the volume [m³] = Y × cell area by zone. Computed in float32, in blocks of
  rows on every core (sums in float64), as a careful minimal program would.

The land cover and zones must be bytes (codes 0-255), as ``invest_data.py`` writes them.
"""

import csv
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.invest_data import BUDYKO_Z  # noqa: E402  (the Z both InVEST and gep are given)

POOLS = ("c_above", "c_below", "c_soil", "c_dead")
ROWS = 128  # rows per block of the water-yield pass


def read(path: Path) -> tuple[np.ndarray, dict, float | None]:
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.nodata


def by_code(path: Path, value) -> np.ndarray:
    """A per-code table [256] from a CSV keyed by ``lucode``: ``value(row)``, NaN for codes without a row."""
    table = np.full(256, np.nan, np.float32)
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            table[int(row["lucode"])] = value(row)
    return table


def write(ws: Path, name: str, cell: np.ndarray, profile: dict, sums: np.ndarray, column: str) -> None:
    """The per-cell map and the zone table (zones with a non-zero total; zone 0 is the zones raster's nodata)."""
    with open(ws / "zones.csv", "w", encoding="utf-8") as f:
        f.write(f"zone,{column}\n")
        f.writelines(f"{z},{float(s)!r}\n" for z, s in enumerate(sums) if z != 0 and s != 0)
    with rasterio.open(ws / name, "w", driver="GTiff", width=cell.shape[1], height=cell.shape[0], count=1, dtype="float32",
                       crs=profile["crs"], transform=profile["transform"], nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
                       compress="DEFLATE", zlevel=1, num_threads="ALL_CPUS") as dst:
        dst.write(cell, 1)


def carbon(data: Path, ws: Path, lulc: np.ndarray, zones: np.ndarray, profile: dict, nodata) -> None:
    density = by_code(data / "carbon_pools.csv", lambda row: sum(float(row[k]) for k in POOLS))  # t C/ha
    if nodata is not None:
        density[int(nodata)] = np.nan
    cell = density[lulc]
    pairs = np.bincount((zones.astype(np.uint16) << 8 | lulc).ravel(), minlength=256 * 256).reshape(256, 256)  # cells by zone × code
    stock = pairs @ np.nan_to_num(density).astype(np.float64) * cell_area_m2(profile) / 1e4  # t C/ha × ha
    write(ws, "tot_c.tif", cell, profile, stock, "stock_tc")


def awy(data: Path, ws: Path, lulc: np.ndarray, zones: np.ndarray, profile: dict, nodata) -> None:
    (p_all, _, p_nd), (e_all, _, e_nd), (a_all, _, a_nd) = (read(data / f) for f in ("precip.tif", "eto.tif", "awc.tif"))
    kc = by_code(data / "biophysical.csv", lambda row: float(row["kc"]))
    veg = by_code(data / "biophysical.csv", lambda row: float(row["lulc_veg"])) == 1
    if nodata is not None:
        kc[int(nodata)] = np.nan
    out = np.empty(lulc.shape, np.float32)
    starts = range(0, lulc.shape[0], ROWS)
    sums = np.zeros((len(starts), 256))
    z, one = np.float32(BUDYKO_Z), np.float32(1.0)

    def block(k: int) -> None:
        s = slice(starts[k], starts[k] + ROWS)
        lc, p, e, a = lulc[s], p_all[s], e_all[s], a_all[s]
        with np.errstate(all="ignore"):
            pet = kc[lc] * e
            ratio = pet / p
            omega = np.minimum(z * a / p + np.float32(1.25), np.float32(5.0))
            frac = np.minimum(one + ratio - (one + ratio**omega) ** (one / omega), ratio)
            aet = np.where(veg[lc], np.where(p > 0, frac * p, np.float32(0.0)), np.minimum(pet, p))
            y = p - aet
        y[(p == p_nd) | (e == e_nd) | (a == a_nd) | np.isnan(pet)] = np.nan
        out[s] = y
        sums[k] = np.bincount(zones[s].ravel(), weights=np.nan_to_num(y).ravel(), minlength=256)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(block, range(len(starts))))
    write(ws, "wyield.tif", out, profile, sums.sum(axis=0) * cell_area_m2(profile) / 1000.0, "wyield_vol_m3")  # mm × m² / 1000


def cell_area_m2(profile: dict) -> float:
    """Area of one cell of the grid [m²] (a projected grid in metres, as ``invest_data.py`` writes)."""
    return abs(profile["transform"].a * profile["transform"].e)


def main() -> None:
    model, data, ws = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if model not in ("carbon", "awy"):
        raise SystemExit(f"unknown model {model!r}: carbon or awy")
    ws.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        lulc, profile, nodata = read(data / "lulc.tif")
        zones = read(data / "zones.tif")[0]
        if lulc.dtype != np.uint8 or zones.dtype != np.uint8:
            raise SystemExit(f"{data}: lulc.tif and zones.tif must be bytes (they are {lulc.dtype}, {zones.dtype}): write them with invest_data.py")
        (carbon if model == "carbon" else awy)(data, ws, lulc, zones, profile, nodata)


if __name__ == "__main__":
    main()
