#!/usr/bin/env python
"""Generate the SYNTHETIC extra files the demo scenarios use (run from anywhere):

    python gep/data/demo/extra/generate.py

Writes next to this script, except the monthly grids (deterministic, byte-identical on every run):

* ``landcover_2020.tif``, ``landcover_2021.tif``: earlier land-cover years of the demo
  county for ``demo_series_2020_2022.toml``, made from the 2022 map
  (``../data/landcover.tif``) with gep's own land-cover change operations
  (:mod:`gep.accounting.changes`) run backwards: construction land that grew 2020→2022 around
  Licheng and Kunlun is paddy again, forest planted on dry cropland in the hill towns
  is dry cropland again, marsh restored from fish ponds near Changdang Lake is pond
  again. 2021 is half-way (the same operations with half the area; the cell order
  is the same, so 2021's changes are a subset of 2020's).
* ``precipitation_wgs84.tif``: the demo precipitation on a 0.01° WGS 84 grid
  (EPSG:4326, ≈ 1 km), for ``demo_resample.toml`` (inputs on another grid and CRS).
* ``../data/temperature_monthly.tif``, ``../data/precipitation_monthly.tif`` (beside the
  demo's other inputs, as ``demo.toml`` and ``gep init`` use them): 12-band monthly climate
  grids (January to December) on a 1 km grid in the demo's UTM zone, as monthly
  climate grids usually come, for the monthly soil-respiration model of
  ``demo.toml`` (carbon sequestration, method ``nep_rh``). Each is the demo's
  annual grid averaged to 1 km, with a seasonal cycle shaped like the climate
  normals of the lower Yangtze plain (Jan about 13 °C below the annual mean, Jul
  about 12 °C above; about 17 % of the year's rain in June) — synthetic, like
  everything else.
* GeoJSON polygons (WGS 84 lon/lat, RFC 7946): ``water_source_protection.geojson``
  (around the Shahe and Daxi reservoirs), ``changdang_restoration.geojson`` (the
  Changdang Lake shore), ``project_site.geojson`` (an eco-tourism project site by
  Shahe reservoir), ``villages.geojson`` (three village areas, one straddling two
  towns) and ``tiles.geojson`` (four tiles that cover the whole county, to check that
  parcel accounts add up to the county's).

Nothing here is measured data (see ../README.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import rasterio

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
sys.path.insert(0, str(HERE.parents[2]))  # the repository, for gep

from gep.accounting import changes  # noqa: E402
from gep.jobs.inputs import coefficient_set as load_set  # noqa: E402

X0, Y0, RES = 640000.0, 3500000.0, 30.0

# --------------------------------------------------------------------------- history 2020/2021 → 2022
#: Operations run on the 2022 map to get 2020 (areas in ha; 2021 uses half of each).
HISTORY = [
    {"op": "convert", "from": [53, 51], "to": 11, "zones": [1, 2], "area_ha": 420.0, "near": [11], "note": "construction land built 2020-2022 was paddy"},
    {"op": "convert", "from": [213], "to": 12, "zones": [5, 6, 10], "area_ha": 650.0, "near": [12], "note": "forest planted 2020-2022 on dry cropland"},
    {"op": "convert", "from": [64], "to": 43, "zones": [3], "area_ha": 70.0, "near": [43], "note": "marsh restored 2020-2022 from fish ponds"},
]


def history(fraction: float) -> np.ndarray:
    legend = load_set("cn-2022").legend
    with rasterio.open(DATA / "landcover.tif") as src:
        codes = src.read(1).astype(np.int64)
    with rasterio.open(DATA / "zones.tif") as src:
        zones = src.read(1).astype(np.int64)
    area = np.full(codes.shape, RES * RES)
    ops, probs = changes.validate([dict(op, area_ha=op["area_ha"] * fraction) for op in HISTORY])
    assert not probs, probs
    res = changes.apply_landcover(changes.ChangeGrid(codes, zones, area, (RES, RES)), ops, legend)
    for e in res.log:
        print(f"  {e['note']}: {e['area_ha']:.2f} ha ({e['cells']} cells)")
    return res.codes


def write_codes(path: Path, codes: np.ndarray, year: int) -> None:
    with rasterio.open(DATA / "landcover.tif") as src:
        profile = src.profile
        tags = src.tags()
    tags = {k: v for k, v in tags.items() if k not in ("generator",)}
    tags.update(source=f"SYNTHETIC land cover {year} of the demo county, made from the 2022 map by scenarios/demo/extra/generate.py", generator="scenarios/demo/extra/generate.py")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(codes.astype(profile["dtype"]), 1)
        dst.update_tags(**tags)


def precipitation_wgs84(path: Path) -> None:
    import rioxarray  # noqa: F401
    import xarray as xr
    from rasterio.enums import Resampling

    da = xr.open_dataarray(DATA / "precipitation.tif", engine="rasterio").squeeze("band", drop=True)
    out = da.rio.reproject("EPSG:4326", resolution=0.01, resampling=Resampling.average)
    out = out.astype(np.float32)
    out.attrs = {"units": "mm/yr", "source": "SYNTHETIC demo precipitation averaged onto a 0.01 degree WGS 84 grid", "generator": "scenarios/demo/extra/generate.py"}
    out = out.rio.write_nodata(np.nan, encoded=False)
    out.rio.to_raster(path, compress="DEFLATE", tags={"units": "mm/yr"})


# --------------------------------------------------------------------------- monthly climate
#: Monthly mean temperature minus the annual mean [K], January to December (shape of the lower-Yangtze
#: climate normals, rounded; a synthetic cycle, not a station's record).
T_CYCLE = np.array([-12.8, -10.8, -6.4, -0.5, 4.8, 8.5, 12.1, 11.6, 7.4, 1.8, -4.5, -11.2])
#: Share of the year's precipitation in each month (same shape; sums to 1).
P_CYCLE = np.array([60, 60, 95, 85, 100, 200, 170, 130, 85, 60, 55, 40], dtype=float) / 1140.0
CLIMATE_RES = 1000.0  # m


def monthly_climate(path: Path, annual: str, unit: str, monthly) -> None:
    """A 12-band 1 km grid from the demo's annual grid ``annual``: ``monthly(annual_mean)`` gives the 12 months."""
    import rioxarray  # noqa: F401
    import xarray as xr
    from rasterio.enums import Resampling
    from scipy import ndimage

    da = xr.open_dataarray(DATA / f"{annual}.tif", engine="rasterio").squeeze("band", drop=True)
    coarse = da.rio.reproject(da.rio.crs, resolution=CLIMATE_RES, resampling=Resampling.average)
    values = coarse.values.astype(np.float64)
    gap = ~np.isfinite(values)
    if gap.any():  # cells outside the county: the nearest county value, so interpolation reaches the edge
        idx = ndimage.distance_transform_edt(gap, return_distances=False, return_indices=True)
        values = values[tuple(idx)]
    bands = np.round(monthly(values), 2).astype(np.float32)
    out = xr.DataArray(bands, dims=("band", "y", "x"), coords={"band": np.arange(1, 13), "y": coarse["y"], "x": coarse["x"]})
    out = out.rio.write_crs(coarse.rio.crs).rio.write_transform(coarse.rio.transform()).rio.write_nodata(np.nan, encoded=False)
    out.attrs = {"units": unit}
    out.rio.to_raster(path, compress="DEFLATE", tags={"units": unit, "source": f"SYNTHETIC monthly {annual} of the demo county (January to December), made by scenarios/demo/extra/generate.py", "generator": "scenarios/demo/extra/generate.py"})


# --------------------------------------------------------------------------- polygons
def lonlat(rc: list[tuple[float, float]]) -> list[list[float]]:
    """(row, col) grid positions → closed ring of [lon, lat] (rounded to 1e-7°, ≈ 1 cm)."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    xs = np.array([X0 + RES * c for _, c in rc])
    ys = np.array([Y0 - RES * r for r, _ in rc])
    lon, lat = tr.transform(xs, ys)
    ring = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat)]
    return ring + [ring[0]]


def feature(name: str, rings: list[list[tuple[float, float]]], **props) -> dict:
    return {"type": "Feature", "properties": {"name": name, **props}, "geometry": {"type": "Polygon", "coordinates": [lonlat(r) for r in rings]}}


def write_geojson(path: Path, feats: list[dict], description: str) -> None:
    doc = {"type": "FeatureCollection", "description": description + " SYNTHETIC (demo county).", "features": feats}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def polygons() -> None:
    write_geojson(HERE / "water_source_protection.geojson", [
        feature("Shahe reservoir water-source protection zone", [[(870, 500), (880, 735), (1080, 750), (1075, 505)]], level="first-class"),
        feature("Daxi reservoir water-source protection zone", [[(830, 895), (835, 1085), (1060, 1090), (1055, 890)]], level="first-class"),
    ], "Water-source protection zones (饮用水水源保护区) around the Shahe and Daxi reservoirs.")
    write_geojson(HERE / "changdang_restoration.geojson", [
        feature("Changdang Lake shore restoration area", [[(110, 1060), (100, 1180), (240, 1150), (470, 1160), (500, 1080), (330, 1030), (200, 1020)]]),
    ], "Wetland restoration area (退渔还湿) on the western shore of Changdang Lake.")
    write_geojson(HERE / "project_site.geojson", [
        feature("Shahe eco-tourism project site", [[(840, 430), (835, 520), (900, 560), (990, 545), (1000, 470), (940, 415)]], purpose="GEP-backed loan collateral"),
    ], "An eco-tourism project site by Shahe reservoir (e.g. for a GEP-backed loan).")
    write_geojson(HERE / "villages.geojson", [
        feature("Village A (Daibu)", [[(700, 930), (700, 1010), (770, 1010), (770, 930)]]),
        feature("Village B (Shezhu)", [[(900, 250), (880, 330), (950, 360), (990, 280)]]),
        feature("Village C (Licheng/Kunlun border)", [[(600, 700), (600, 800), (680, 800), (680, 700)]]),
    ], "Three village areas; village C straddles the Licheng/Kunlun town border.")
    m = 40  # tiles reach 40 cells (1.2 km) beyond the grid so that they cover every cell
    write_geojson(HERE / "tiles.geojson", [
        feature("north-west", [[(-m, -m), (-m, 650), (650, 650), (650, -m)]]),
        feature("north-east", [[(-m, 650), (-m, 1300 + m), (650, 1300 + m), (650, 650)]]),
        feature("south-west", [[(650, -m), (650, 650), (1300 + m, 650), (1300 + m, -m)]]),
        feature("south-east", [[(650, 650), (650, 1300 + m), (1300 + m, 1300 + m), (1300 + m, 650)]]),
    ], "Four tiles covering the whole demo grid: their parcel accounts add up to the county's.")


def main() -> None:
    for year, fraction in ((2020, 1.0), (2021, 0.5)):
        print(f"land cover {year}:")
        write_codes(HERE / f"landcover_{year}.tif", history(fraction), year)
    precipitation_wgs84(HERE / "precipitation_wgs84.tif")
    monthly_climate(DATA / "temperature_monthly.tif", "temperature", "degC", lambda t: t[None] + T_CYCLE[:, None, None])
    monthly_climate(DATA / "precipitation_monthly.tif", "precipitation", "mm", lambda p: p[None] * P_CYCLE[:, None, None])
    polygons()
    print(f"wrote {HERE}")


if __name__ == "__main__":
    main()
