"""Write the tiny GeoTIFFs of the gep-run reference cases (run once; the files are committed).

Every grid is one row of 100 m × 100 m cells (1 ha each) in UTM zone 50N
(EPSG:32650), so a per-hectare rate is the amount per cell. The land-cover
codes are those of the cn-2022 legend (gep/data/coefficients/cn-2022/landcover.csv);
all cells are in zone 1. Usage::

    python benchmarks/cases/_grids.py            # rewrite every case's grids
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent
CELL = 100.0  # m

#: case folder -> land-cover codes of the cells (left to right)
CODES = {
    "svc-provisioning": [11, 42],
    "svc-water-conservation": [211, 31, 51],
    "svc-soil-retention": [211, 11],
    "svc-sand-fixation": [31, 211],
    "svc-flood-mitigation": [211, 64, 43],
    "svc-water-purification": [64, 42],
    "valuation-purification-uncapped": [64, 42],
    "svc-air-purification": [211, 212],
    "svc-carbon-sequestration": [211, 31],
    "valuation-carbon-basis-tc": [211, 31],
    "svc-oxygen-release": [211],
    "identity-stoichiometry": [211],
    "svc-climate-regulation": [211, 42],
    "svc-negative-ions": [211, 31],
    "svc-recreation": [211],
    "svc-landscape": [211, 42, 51],
    "valuation-cpi-indexing": [211],
    "valuation-comparable-prices": [11],
}
#: case folder -> {input name: (values per cell, unit)} written as GeoTIFFs with a units tag
RASTERS = {
    "svc-water-conservation": {
        "precipitation": ([1500.0, 1400.0, 1300.0], "mm/yr"),
        "et": ([800.0, 700.0, 600.0], "mm/yr"),
    },
}


def write_tif(path: Path, data: np.ndarray, units: str | None = None, nodata=None) -> None:
    """One-band GeoTIFF with ``CELL`` m square cells in EPSG:32650."""
    import rioxarray  # noqa: F401  (registers .rio)
    from affine import Affine

    ny, nx = data.shape
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": 3500000.0 - CELL / 2 - CELL * np.arange(ny), "x": 640000.0 + CELL / 2 + CELL * np.arange(nx)})
    da = da.rio.write_crs("EPSG:32650")
    da = da.rio.write_transform(Affine(CELL, 0.0, 640000.0, 0.0, -CELL, 3500000.0))
    if units:
        da.attrs["units"] = units
    if nodata is not None:
        da = da.rio.write_nodata(nodata)
    da.rio.to_raster(path)


def main() -> None:
    for case, codes in CODES.items():
        data = HERE / case / "data"
        data.mkdir(parents=True, exist_ok=True)
        row = np.array([codes], dtype=np.uint16)
        write_tif(data / "landcover.tif", row, nodata=0)
        write_tif(data / "zones.tif", np.ones_like(row, dtype=np.uint8), nodata=0)
        for name, (values, unit) in RASTERS.get(case, {}).items():
            write_tif(data / f"{name}.tif", np.array([values], dtype=np.float32), unit, nodata=np.nan)


if __name__ == "__main__":
    main()
