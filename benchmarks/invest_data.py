"""The files gep and InVEST 3.20 both read in the side-by-side benchmark (``benchmarks/invest.py``).

Usage::

    python benchmarks/invest_data.py DATADIR N

writes N × N cells at 30 m (EPSG:32650, origin 500000 E, 4000000 N), deterministic
(numpy seed 42), tiled 256 × 256 LZW GeoTIFFs as InVEST's own sample data are:

- ``lulc.tif`` (uint8, nodata 255): five classes in 1.2 km patches, 5 % of the cells
  re-drawn at random, 1 % nodata. The codes are the CNLUCC codes of gep's cn-2022
  legend (21 forest, 31 high-cover grassland, 64 marsh, 11 paddy, 51 urban), so both
  programs read the same raster; InVEST accepts any integer lucode;
- ``precip.tif``, ``eto.tif`` [mm/yr], ``depth.tif`` [mm], ``pawc.tif`` [-] (float32,
  nodata -9999): InVEST's annual-water-yield rasters;
- ``awc.tif`` [mm] (float32): plant-available water content as InVEST computes it from
  them, min(root depth of the class, depth) × PAWC (Sharp et al. 2020). gep's Budyko
  method reads AWC itself, so gep reads this raster where InVEST reads depth and PAWC;
- ``zones.tif`` (uint8, nodata 0) and ``watersheds.geojson``: the same four quadrants,
  as the raster gep reads and the polygons InVEST's water yield reads; ``zones.csv``;
- ``carbon_pools.csv``: the InVEST carbon pool table for the five classes, with the
  densities of cn-2022 (gep reads this very file: ``[coefficients] carbon_pools``);
- ``biophysical.csv``: InVEST's biophysical table with cn-2022's Kc and vegetated flags;
- ``carbon.toml``, ``awy.toml``: the gep scenarios (see ``benchmarks/README.md``).

Nothing here is InVEST code or data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

#: InVEST-style class → (CNLUCC code of cn-2022, name, root depth [mm] for the biophysical table).
CLASSES = {1: (21, "forest", 5000.0), 2: (31, "grassland", 2000.0), 3: (64, "marsh", 1000.0), 4: (11, "paddy", 1500.0), 5: (51, "urban", 500.0)}
CELL = 30.0
ORIGIN = (500000.0, 4000000.0)
CRS = "EPSG:32650"
PATCH = 40
#: Seasonality constant Z of cn-2022 (water_conservation.budyko_z), given to InVEST too.
BUDYKO_Z = 3.0


def _cn2022(table: str, match: dict, column: str) -> str:
    """A value of the shipped cn-2022 set: ``column`` of the first row of ``table`` matching ``match``."""
    import csv

    from gep.io.coefficient_files import find_set

    with open(find_set("cn-2022") / table, encoding="utf-8") as f:  # the set shipped inside the package
        for row in csv.DictReader(f):
            if all(row[k] == str(v) for k, v in match.items()):
                return row[column]
    raise KeyError(f"{table}: no row {match}")


def _pools(code: int) -> list[float]:
    return [float(_cn2022("carbon_pools.csv", {"lucode": code}, k)) for k in ("c_above", "c_below", "c_soil", "c_dead")]


def _vegetated(code: int) -> int:
    return int(_cn2022("landcover.csv", {"code": code}, "vegetated"))


def _kc(code: int) -> float:
    return float(_cn2022("water_conservation.csv", {"parameter": "water_conservation.kc", "key": code}, "value"))


def _write(path: Path, arr: np.ndarray, nodata: float, units: str | None = None) -> None:
    import rasterio
    from rasterio.transform import from_origin

    n = arr.shape[0]
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": arr.dtype.name, "crs": CRS, "transform": from_origin(*ORIGIN, CELL, CELL),
               "nodata": nodata, "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "lzw"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        if units:
            dst.update_tags(units=units)


def generate(out: Path, n: int) -> None:
    """Write every file of the benchmark for an ``n`` × ``n`` grid into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    coarse = rng.integers(1, 6, size=(n // PATCH + 1, n // PATCH + 1))
    cls = np.kron(coarse, np.ones((PATCH, PATCH), dtype=np.int64))[:n, :n].astype(np.uint8)
    noise = rng.random((n, n), dtype=np.float32)
    redraw = noise < 0.05
    cls[redraw] = rng.integers(1, 6, size=int(redraw.sum()))
    lut = np.full(256, 255, dtype=np.uint8)
    for k, (code, _, _) in CLASSES.items():
        lut[k] = code
    lulc = lut[cls]
    lulc[noise > 0.99] = 255
    del noise, redraw
    _write(out / "lulc.tif", lulc, 255)

    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    precip = (800 + 600 * xx / n + rng.normal(0, 20, (n, n))).astype(np.float32)
    _write(out / "precip.tif", precip, -9999.0, "mm/yr")
    del precip
    eto = (1200 - 300 * yy / n + rng.normal(0, 15, (n, n))).astype(np.float32)
    _write(out / "eto.tif", eto, -9999.0, "mm/yr")
    del eto, xx, yy
    depth = rng.uniform(300, 3000, (n, n)).astype(np.float32)
    _write(out / "depth.tif", depth, -9999.0, "mm")
    pawc = rng.uniform(0.05, 0.25, (n, n)).astype(np.float32)
    _write(out / "pawc.tif", pawc, -9999.0, "dimensionless")
    root = np.full(256, 1.0, dtype=np.float32)
    for code, _, depth_mm in CLASSES.values():
        root[code] = depth_mm if _vegetated(code) else 1.0
    awc = (np.minimum(root[lulc], depth) * pawc).astype(np.float32)
    _write(out / "awc.tif", awc, -9999.0, "mm")
    del depth, pawc, awc

    half = n // 2
    zones = np.empty((n, n), dtype=np.uint8)
    zones[:half, :half], zones[:half, half:], zones[half:, :half], zones[half:, half:] = 1, 2, 3, 4
    _write(out / "zones.tif", zones, 0)
    (out / "zones.csv").write_text("zone_id,name\n" + "".join(f"{k},watershed {k}\n" for k in range(1, 5)), encoding="utf-8")
    _watersheds(out / "watersheds.geojson", n)

    with open(out / "carbon_pools.csv", "w", encoding="utf-8") as f:
        f.write("lucode,lulc_name,c_above,c_below,c_soil,c_dead\n")
        for code, name, _ in CLASSES.values():
            f.write(f"{code},{name}," + ",".join(f"{v:g}" for v in _pools(code)) + "\n")
    with open(out / "biophysical.csv", "w", encoding="utf-8") as f:
        f.write("lucode,lulc_name,lulc_veg,root_depth,kc\n")
        for code, name, depth_mm in CLASSES.values():
            f.write(f"{code},{name},{_vegetated(code)},{depth_mm:g},{_kc(code):g}\n")
    _scenarios(out)


def _watersheds(path: Path, n: int) -> None:
    """The four quadrants as polygons, ws_id 1..4, in the grid's CRS (GeoJSON with a named CRS, read by GDAL)."""
    x0, y0 = ORIGIN
    half = (n // 2) * CELL
    rest = n * CELL - half
    feats = []
    for i in range(2):
        for j in range(2):
            xa, ya = x0 + j * half, y0 - i * half
            w, h = (half if j == 0 else rest), (half if i == 0 else rest)
            ring = [[xa, ya], [xa + w, ya], [xa + w, ya - h], [xa, ya - h], [xa, ya]]
            feats.append({"type": "Feature", "properties": {"ws_id": 2 * i + j + 1}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32650"}}, "features": feats}
    path.write_text(json.dumps(doc), encoding="utf-8")


def _scenarios(out: Path) -> None:
    """gep scenarios reading the same files: carbon stock (with sequestration by class) and Budyko water conservation."""
    region = '[region]\nlandcover = "lulc.tif"\nzones = "zones.tif"\nzone_table = "zones.csv"\n'
    (out / "carbon.toml").write_text(
        '# Side-by-side benchmark with the InVEST carbon model (benchmarks/invest.py): carbon stock from the\n'
        '# InVEST pool table, with carbon sequestration by class (the GEP service the stock belongs to).\n'
        '[scenario]\nname = "bench-carbon"\nyear = 2022\n\n' + region + '\n'
        '[coefficients]\nset = "cn-2022"\ncarbon_pools = "carbon_pools.csv"\n\n'
        '[services]\nenabled = ["carbon_sequestration"]\n\n[methods]\ncarbon_sequestration = "rate_lut"\n', encoding="utf-8")
    # water conservation covers forest, grassland and marsh here (paddy and urban are not ecosystems of the service)
    overrides = "".join(f'"water_conservation.runoff_coefficient[{code}]" = 0\n' for code in (21, 31, 64))
    (out / "awy.toml").write_text(
        '# Side-by-side benchmark with InVEST annual water yield (benchmarks/invest.py): Budyko AET and\n'
        '# P - AET per cell (storm runoff set to 0 so that the map is InVEST\'s water yield on ecosystem cells).\n'
        '[scenario]\nname = "bench-awy"\nyear = 2022\n\n' + region + '\n'
        '[inputs]\nprecipitation = "precip.tif"\net0 = "eto.tif"\nawc = "awc.tif"\n\n'
        '[coefficients]\nset = "cn-2022"\n\n[coefficients.overrides]\n' + overrides + '\n'
        '[services]\nenabled = ["water_conservation"]\n\n[methods]\nwater_conservation = "budyko"\n', encoding="utf-8")


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
