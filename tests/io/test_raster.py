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


def test_a_cog_written_from_blocks_in_any_order_holds_the_map_its_grid_tags_and_mean_overviews(tmp_path):
    rng = np.random.default_rng(5)
    values = rng.choice(np.array([1.5, 2.25, 7.0], dtype=np.float32), size=(1100, 700))
    values[:40, :] = np.nan  # outside the region
    path = tmp_path / "stock.tif"
    cog = raster.CogWriter(path, values.shape, "EPSG:32650", (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0), units="tC", long_name="carbon stock")
    for row0, row1 in ((900, 1100), (0, 300), (600, 900), (300, 600)):  # blocks of whole rows, in the order threads hand them over
        cog.write(row0, values[row0:row1])
    cog.finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stock.tif"]  # the raw file and its VRT are gone
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.profile["compress"] == "deflate"
        assert src.crs.to_epsg() == 32650 and tuple(src.transform)[:6] == (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0)
        assert np.isnan(src.nodata) and src.tags()["units"] == "tC" and src.tags()["long_name"] == "carbon stock" and src.descriptions == ("carbon stock",)
        np.testing.assert_array_equal(src.read(1), values)
        assert src.overviews(1)[0] == 2
        half = src.read(1, out_shape=(550, 350))
    # overviews are means of the cells they cover (NaN left out), inside the map's range
    mean = np.nanmean(values.reshape(550, 2, 350, 2), axis=(1, 3))
    np.testing.assert_allclose(half[20:], mean[20:], rtol=1e-6)
    assert np.isnan(half[:20]).all()


def test_a_cog_not_finished_leaves_no_file(tmp_path):
    cog = raster.CogWriter(tmp_path / "x.tif", (4, 3), "EPSG:32650", (30.0, 0.0, 0.0, 0.0, -30.0, 0.0))
    cog.write(0, np.ones((4, 3), dtype=np.float32))
    cog.discard()
    assert list(tmp_path.iterdir()) == []
