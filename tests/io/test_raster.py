"""Reading rasters through rasterio: a band of a multi-band (monthly) file, whole or in row blocks."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from gep.errors import InputError
from gep.io import raster


def _write(path, bands: np.ndarray, nodata=-9999.0, units="degC") -> None:
    with rasterio.open(path, "w", driver="GTiff", height=bands.shape[1], width=bands.shape[2], count=bands.shape[0], dtype=bands.dtype,
                       crs="EPSG:32650", transform=from_origin(500000, 4000000, 30, 30), nodata=nodata) as dst:
        dst.write(bands)
        dst.update_tags(units=units)


def test_a_band_of_a_twelve_band_raster_is_read_in_memory_and_in_row_blocks(tmp_path):
    months = np.arange(12, dtype=np.float32)[:, None, None] + np.zeros((12, 5, 4), dtype=np.float32)
    months[6, 2, 3] = -9999.0
    path = tmp_path / "monthly.tif"
    _write(path, months)
    whole = raster.read(path, band=7)
    blocks = raster.read(path, chunks=2, band=7)
    assert whole.attrs["units"] == "degC" and whole.dtype == np.float32
    assert np.isnan(whole.values[2, 3]) and np.nanmax(whole.values) == 6.0
    np.testing.assert_array_equal(blocks.values, whole.values)
    assert raster.held_bytes(path, band=7) == 4


def test_a_multi_band_raster_without_a_band_or_with_a_band_it_lacks_is_a_clear_error(tmp_path):
    path = tmp_path / "monthly.tif"
    _write(path, np.zeros((12, 3, 3), dtype=np.float32))
    with pytest.raises(InputError, match="12 bands"):
        raster.read(path)
    with pytest.raises(InputError, match="not band 13"):
        raster.read(path, band=13)
