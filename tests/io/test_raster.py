"""Reading rasters through rasterio: a band of a multi-band (monthly) file, whole or in row blocks."""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
import pytest
import rasterio
import rasterio.shutil
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
    assert cog.finish() == hashlib.sha256(path.read_bytes()).hexdigest()  # the digest of the file written
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


def test_a_cog_deflated_on_several_threads_is_the_same_file(tmp_path):
    rng = np.random.default_rng(8)
    values = rng.integers(0, 40, size=(1500, 1300)).astype(np.float32) * np.float32(0.25)  # deflated, many tiles
    values[:, :100] = np.nan
    grid = ("EPSG:32650", (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0))
    digests = []
    for threads in (1, 2, 4):
        cog = raster.CogWriter(tmp_path / f"t{threads}.tif", values.shape, *grid, units="m**3", long_name="water yield")
        cog.write(0, values)
        digests.append(cog.finish(threads=threads))
    assert len(set(digests)) == 1
    with rasterio.open(tmp_path / "t4.tif") as src:
        assert src.profile["compress"] == "deflate"
        np.testing.assert_array_equal(src.read(1), values)


def test_a_cog_not_finished_leaves_no_file(tmp_path):
    cog = raster.CogWriter(tmp_path / "x.tif", (4, 3), "EPSG:32650", (30.0, 0.0, 0.0, 0.0, -30.0, 0.0))
    cog.write(0, np.ones((4, 3), dtype=np.float32))
    cog.discard()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("warp_memory", [None, 190 * 140 * 4 * 5])  # default; groups of 5 months
def test_the_months_of_a_raster_resampled_in_one_warp_equal_each_month_resampled_alone(tmp_path, monkeypatch, warp_memory):
    if warp_memory is not None:
        monkeypatch.setattr(raster, "WARP_MEMORY_BYTES", warp_memory)
    rng = np.random.default_rng(3)
    months = rng.uniform(0, 200, (12, 6, 5)).astype(np.float32)
    months[4, 1, 2] = -9999.0  # nodata: NaN in that month only
    path = tmp_path / "monthly.tif"
    with rasterio.open(path, "w", driver="GTiff", height=6, width=5, count=12, dtype="float32", crs="EPSG:32650",
                       transform=from_origin(500000, 4000000, 900, 900), nodata=-9999.0) as dst:
        dst.write(months)
        dst.update_tags(units="mm")
    ref_path = tmp_path / "fine.tif"
    with rasterio.open(ref_path, "w", driver="GTiff", height=190, width=140, count=1, dtype="uint8", crs="EPSG:32650",
                       transform=from_origin(500030, 4000000, 30, 30), nodata=0) as dst:  # beyond the coarse grid's last row
        dst.write(np.ones((1, 190, 140), dtype=np.uint8))
    reference = raster.read_codes(ref_path)
    bands = [raster.read(path, band=b) for b in range(1, 13)]
    complete = [b for k, b in enumerate(bands) if k != 4]
    for months in (complete, bands):  # warped together, and one by one (GDAL shares nodata across a warp's bands)
        together = raster.resample_many(months, reference, "bilinear", ["month"] * len(months))
        for band, one in zip(months, together):
            alone = raster.resample(band, reference, "bilinear", "month")
            assert one.dims == ("y", "x") and one.shape == (190, 140) and one.dtype == np.float32
            np.testing.assert_array_equal(one.values, alone.values)
            assert {k: str(v) for k, v in one.attrs.items()} == {k: str(v) for k, v in alone.attrs.items()}  # _FillValue: NaN
    assert np.isnan(together[4].values[50:, :]).any() and not np.isnan(together[3].values[:180]).any()
    with pytest.raises(ValueError, match="different grids"):
        raster.resample_many([bands[0], reference.astype(np.float32)], reference, "bilinear", ["a", "b"])


@pytest.mark.parametrize("shape", [(37, 23), (64, 64), (1, 9), (33, 1)])
def test_overview_levels_are_means_of_the_valid_cells_they_cover_at_every_level(shape, monkeypatch):
    monkeypatch.setattr(raster, "OVERVIEW_STRIP_ROWS", 8)  # several strips, the last one short
    rng = np.random.default_rng(11)
    values = rng.uniform(-5, 100, shape).astype(np.float32)
    values[rng.random(shape) < 0.3] = np.nan
    values[:4, :4] = np.nan  # a block of nodata only: NaN above it
    levels = 3
    outs = [io.BytesIO() for _ in range(levels)]
    rows = raster.overview_rows(levels)
    assert rows % 2**levels == 0
    raster.overview_levels((values[r:r + rows] for r in range(0, shape[0], rows)), outs)
    for k, out in enumerate(outs, start=1):
        f = 2**k
        ny, nx = -(-shape[0] // f), -(-shape[1] // f)
        got = np.frombuffer(out.getvalue(), dtype="<f4").reshape(ny, nx)
        padded = np.full((ny * f, nx * f), np.nan, np.float32)
        padded[:shape[0], :shape[1]] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN blocks
            want = np.nanmean(padded.reshape(ny, f, nx, f).astype(np.float64), axis=(1, 3))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
        assert np.isnan(got[0, 0]) == (k <= 2)


@pytest.mark.parametrize("shape", [(513, 20), (1100, 700), (300, 2100), (512, 512)])
def test_a_cog_gets_the_overview_levels_gdal_would_make(tmp_path, shape):
    values = np.ones(shape, np.float32)
    with rasterio.open(tmp_path / "src.tif", "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32", crs="EPSG:32650",
                       transform=from_origin(500000, 4000000, 30, 30)) as dst:
        dst.write(values, 1)
    rasterio.shutil.copy(tmp_path / "src.tif", tmp_path / "gdal.tif", driver="COG")
    cog = raster.CogWriter(tmp_path / "gep.tif", shape, "EPSG:32650", (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0))
    cog.write(0, values)
    cog.finish(at_once=2)
    with rasterio.open(tmp_path / "gdal.tif") as a, rasterio.open(tmp_path / "gep.tif") as b:
        assert a.overviews(1) == b.overviews(1) == [2**k for k in range(1, raster.overview_count(shape) + 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gdal.tif", "gep.tif", "src.tif"]


def test_a_noisy_map_is_stored_as_it_is_and_a_patterned_one_deflated(tmp_path):
    rng = np.random.default_rng(8)
    maps = {"noisy.tif": rng.uniform(0, 900, (600, 500)).astype(np.float32),  # water yield from measured rainfall
            "classes.tif": rng.choice(np.array([0.0, 3.5, 12.25], np.float32), size=(600, 500))}
    maps["noisy.tif"][:50] = np.nan
    for name, values in maps.items():
        cog = raster.CogWriter(tmp_path / name, values.shape, "EPSG:32650", (30.0, 0.0, 500000.0, 0.0, -30.0, 4000000.0))
        cog.write(0, values)
        cog.finish()
        with rasterio.open(tmp_path / name) as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.profile.get("compress") == (None if name == "noisy.tif" else "deflate")
            np.testing.assert_array_equal(src.read(1), values)
            assert src.overviews(1) == [2]
