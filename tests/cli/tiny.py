"""A tiny scenario on disk (GeoTIFFs + CSVs + TOML) for CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

CODES = np.array([[211, 212, 11], [64, 43, 51]], dtype=np.uint16)
ZONES = np.array([[1, 1, 2], [1, 2, 2]], dtype=np.uint8)


def write_tif(path: Path, data: np.ndarray, units: str | None = None, nodata=None, x0: float = 640000.0, crs: str = "EPSG:32650") -> None:
    ny, nx = data.shape
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": 3500000.0 - 15.0 - 30.0 * np.arange(ny), "x": x0 + 15.0 + 30.0 * np.arange(nx)})
    da = da.rio.write_crs(crs)
    if units:
        da.attrs["units"] = units
    if nodata is not None:
        da = da.rio.write_nodata(nodata)
    da.rio.to_raster(path)


def make(tmp: Path, codes: np.ndarray = CODES, extra_toml: str = "", precipitation: np.ndarray | None = None) -> Path:
    """Write a 2×3 scenario into ``tmp`` and return the scenario path."""
    import rioxarray  # noqa: F401  (registers .rio)

    d = tmp / "data"
    d.mkdir(parents=True, exist_ok=True)
    write_tif(d / "landcover.tif", codes.astype(np.uint16), nodata=0)
    write_tif(d / "zones.tif", ZONES, nodata=0)
    p = precipitation if precipitation is not None else np.full(codes.shape, 1200.0, dtype=np.float32)
    write_tif(d / "precipitation.tif", p.astype(np.float32), "mm/yr", nodata=np.nan)
    write_tif(d / "et.tif", np.full(codes.shape, 700.0, dtype=np.float32), "mm/yr", nodata=np.nan)
    (d / "zones.csv").write_text("zone_id,name,name_zh,gdp [yi_CNY]\n1,North,北镇,1\n2,South,南镇,2\n", encoding="utf-8")
    (d / "production.csv").write_text("zone_id,product,ecosystem,quantity,unit\n1,rice,cropland,10,t\n2,freshwater_fish,water,1,t\n", encoding="utf-8")
    text = f"""
[scenario]
name = "tiny"
year = 2022

[region]
landcover = "data/landcover.tif"
zones = "data/zones.tif"
zone_table = "data/zones.csv"

[inputs]
precipitation = "data/precipitation.tif"
et = "data/et.tif"

[tables]
production = "data/production.csv"

[services]
enabled = ["provisioning", "water_conservation"]
{extra_toml}
"""
    path = tmp / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path
