"""A small scenario on disk for the scenario-tool CLI tests (changes, parcels, series, compare).

6 × 6 cells of 30 m (UTM 50N, upper-left corner 640000, 3500000), two zones:

    land cover                      zones
    211 211 211  11  11  11         1 1 1 2 2 2
    211 211  11  11  12  12         1 1 1 2 2 2
    212 212  11  43  12  12         1 1 1 2 2 2
    212  64  43  43  51  51         1 1 1 2 2 2
     31  64  43  11  51  52         1 1 1 2 2 2
     31  31  11  11  11  52         1 1 1 2 2 2
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.cli.tiny import write_tif

CODES = np.array([
    [211, 211, 211, 11, 11, 11],
    [211, 211, 11, 11, 12, 12],
    [212, 212, 11, 43, 12, 12],
    [212, 64, 43, 43, 51, 51],
    [31, 64, 43, 11, 51, 52],
    [31, 31, 11, 11, 11, 52],
], dtype=np.uint16)
ZONES = np.array([[1, 1, 1, 2, 2, 2]] * 6, dtype=np.uint8)
X0, Y0, CELL = 640000.0, 3500000.0, 30.0
SERVICES = '["provisioning", "water_conservation", "flood_mitigation", "carbon_sequestration"]'


def grid(value: float, codes: np.ndarray = CODES, scale: dict | None = None) -> np.ndarray:
    """A smooth-ish float field that differs by class (so class-dependent inputs matter)."""
    r, c = np.indices(codes.shape)
    base = value * (1 + 0.01 * r - 0.005 * c)
    for code, f in (scale or {}).items():
        base = np.where(codes == code, base * f, base)
    return base.astype(np.float32)


def write_inputs(d: Path, codes: np.ndarray = CODES, x0: float = X0, crs: str = "EPSG:32650", y0: float = Y0, cell: float = CELL) -> None:
    import rioxarray  # noqa: F401

    d.mkdir(parents=True, exist_ok=True)
    kw = {"x0": x0, "crs": crs}
    write_tif(d / "landcover.tif", codes.astype(np.uint16), nodata=0, **kw)
    write_tif(d / "zones.tif", ZONES, nodata=0, **kw)
    write_tif(d / "precipitation.tif", grid(1200.0), "mm/yr", nodata=np.nan, **kw)
    write_tif(d / "et.tif", grid(650.0, codes, {51: 0.4, 52: 0.5, 43: 1.3, 64: 1.2}), "mm/yr", nodata=np.nan, **kw)
    write_tif(d / "storm_rainfall.tif", grid(250.0), "mm/yr", nodata=np.nan, **kw)
    write_tif(d / "npp.tif", grid(600.0, codes, {211: 1.4, 212: 1.3, 51: 0.1, 52: 0.15, 43: 0.05}), "gC/(m**2*yr)", nodata=np.nan, **kw)
    write_tif(d / "temperature.tif", grid(16.0), "degC", nodata=np.nan, **kw)
    (d / "zones.csv").write_text("zone_id,name,name_zh,gdp [yi_CNY]\n1,Hill,山镇,1\n2,Plain,平镇,3\n", encoding="utf-8")
    (d / "production.csv").write_text("zone_id,product,ecosystem,quantity,unit\n1,timber,forest,30,m**3\n2,rice,cropland,12,t\n2,freshwater_fish,water,2,t\n", encoding="utf-8")


def scenario(tmp: Path, extra: str = "", name: str = "kit", region_extra: str = "", file: str | None = None) -> Path:
    """Write ``<file or name>.toml`` using ``data/`` (inputs written once per folder)."""
    if not (tmp / "data" / "landcover.tif").is_file():
        write_inputs(tmp / "data")
    text = f"""# kit scenario
[scenario]
name = "{name}"
year = 2022
base_year = 2020

[region]
landcover = "data/landcover.tif"
zones = "data/zones.tif"
zone_table = "data/zones.csv"
{region_extra}
[inputs]
precipitation = "data/precipitation.tif"
et = "data/et.tif"
storm_rainfall = "data/storm_rainfall.tif"
npp = "data/npp.tif"
temperature = "data/temperature.tif"

[tables]
production = "data/production.csv"

[services]
enabled = {SERVICES}

[methods]
carbon_sequestration = "nep_ratio"

[switches]
water_conservation_net_of_water_use = false
{extra}
"""
    path = tmp / f"{file or name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def lonlat_polygon(path: Path, rings: list[list[tuple[float, float]]], names: list[str] | None = None) -> Path:
    """GeoJSON (WGS 84 lon/lat) of polygons given in UTM 50N (x, y)."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    feats = []
    for i, ring in enumerate(rings):
        pts = [list(tr.transform(x, y)) for x, y in ring]
        feats.append({"type": "Feature", "properties": {"name": (names or [f"p{i}"] * len(rings))[i]}, "geometry": {"type": "Polygon", "coordinates": [pts + [pts[0]]]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
