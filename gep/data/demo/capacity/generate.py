"""Generate the demo basin's catchment raster ``catchments.tif`` (SYNTHETIC, not real data).

The demo county's 10 towns (``../data/zones.tif``, see ``../README.md``) are grouped
into 7 water-function catchments, following the demo's drainage (hills in the south
drain through the Tianmu Lake reservoirs to the plain; the plain drains north-east to
Changdang Lake). Cells outside the county (land-cover nodata 0) get catchment 0
(= outside every catchment). Deterministic: same inputs give the same bytes.

    zone (town)                       -> catchment
    1 Licheng, 2 Kunlun               -> 1 Licheng urban reach
    3 Daitou                          -> 2 Daitou (Changdang Lake inflow)
    4 Shanghuang                      -> 3 Shanghuang
    5 Daibu                           -> 4 Daxi reservoir
    6 Tianmuhu                        -> 5 Shahe reservoir
    7 Bieqiao, 8 Shangxing            -> 6 Bieqiao-Shangxing
    9 Zhuze, 10 Shezhu                -> 7 Zhuze-Shezhu

Run from the repository root:  /work/venv/bin/python gep/data/demo/capacity/generate.py
Output: ``catchments.tif`` (uint8, DEFLATE, nodata 0, the demo grid EPSG:32650 30 m).
"""

from pathlib import Path

import numpy as np
import rasterio

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
ZONE_TO_CATCHMENT = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 6, 9: 7, 10: 7}


def main() -> None:
    with rasterio.open(DATA / "zones.tif") as src:
        zones = src.read(1)
        profile = src.profile
    with rasterio.open(DATA / "landcover.tif") as src:
        lc = src.read(1)
    lut = np.zeros(256, dtype=np.uint8)
    for z, c in ZONE_TO_CATCHMENT.items():
        lut[z] = c
    catch = lut[zones]
    catch[lc == 0] = 0
    profile.update(dtype="uint8", count=1, nodata=0, compress="deflate", predictor=2, tiled=False)
    for key in ("blockxsize", "blockysize"):
        profile.pop(key, None)
    with rasterio.open(HERE / "catchments.tif", "w", **profile) as dst:
        dst.write(catch, 1)
        dst.update_tags(units="1", description="demo water-function catchment id (see generate.py)")
    print("catchments:", {int(c): int(n) for c, n in zip(*np.unique(catch, return_counts=True))})


if __name__ == "__main__":
    main()
