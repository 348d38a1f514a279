"""About the least a program can do for the carbon job of ``benchmarks/invest.py``: the floor beside InVEST and gep.

Usage::

    python benchmarks/invest_floor.py DATADIR WORKSPACE

Reads ``lulc.tif`` and ``zones.tif`` of ``benchmarks/invest_data.py`` whole (GDAL decoding on every
core), looks up each cell's total carbon density in ``carbon_pools.csv`` (the four pools summed
[t C/ha], InVEST's table), sums the stock [t C] = density × cell area by zone (one ``np.bincount``
of zone × land-cover code, then the densities), and writes the
per-cell density map (a tiled 256 × 256 float32 GeoTIFF, DEFLATE level 1 on every core: no
overviews, no tags) and the zone table (``zones.csv``: zone, stock [t C]). numpy and rasterio only:
no unit checks, no manifest, no value digests, no other output. It is what issue 21's wording of
the job ("reading the GeoTIFFs, computing, writing the per-cell map and the tables") costs at
about the least on this machine, so that a ratio against InVEST can be read beside about the largest one
a program writing such a map could reach here. ``benchmarks/invest.py`` checks its total against
InVEST's. The land cover and zones must be bytes (codes 0-255), as ``invest_data.py`` writes them.
"""

import csv
import sys
from pathlib import Path

import numpy as np
import rasterio

POOLS = ("c_above", "c_below", "c_soil", "c_dead")


def main() -> None:
    data, ws = Path(sys.argv[1]), Path(sys.argv[2])
    ws.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        with rasterio.open(data / "lulc.tif") as src:
            lulc, profile, nodata = src.read(1), src.profile, src.nodata
        with rasterio.open(data / "zones.tif") as src:
            zones = src.read(1)
        if lulc.dtype != np.uint8 or zones.dtype != np.uint8:
            raise SystemExit(f"{data}: lulc.tif and zones.tif must be bytes (they are {lulc.dtype}, {zones.dtype}): write them with invest_data.py")
        density = np.full(256, np.nan, np.float32)  # t C/ha by land-cover code; NaN: no pool row, or nodata
        with open(data / "carbon_pools.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                density[int(row["lucode"])] = sum(float(row[k]) for k in POOLS)
        if nodata is not None:
            density[int(nodata)] = np.nan
        cell = density[lulc]
        cell_ha = abs(profile["transform"].a * profile["transform"].e) / 1e4
        pairs = np.bincount((zones.astype(np.uint16) << 8 | lulc).ravel(), minlength=256 * 256).reshape(256, 256)  # cells by zone × code
        stock = pairs @ np.nan_to_num(density).astype(np.float64) * cell_ha
        with open(ws / "zones.csv", "w", encoding="utf-8") as f:
            f.write("zone,stock_tc\n")
            f.writelines(f"{z},{float(s)!r}\n" for z, s in enumerate(stock) if z != 0 and pairs[z].any())
        with rasterio.open(ws / "tot_c.tif", "w", driver="GTiff", width=cell.shape[1], height=cell.shape[0], count=1, dtype="float32",
                           crs=profile["crs"], transform=profile["transform"], nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
                           compress="DEFLATE", zlevel=1, num_threads="ALL_CPUS") as dst:
            dst.write(cell, 1)


if __name__ == "__main__":
    main()
