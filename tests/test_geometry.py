"""Polygon/cell weights against analytic shapes, and cell areas of geographic grids against
geodesic and spherical references."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from gep.geometry import area_m2, cell_fractions
from gep.io import raster

#: 10 × 10 grid of 10 m cells, upper-left corner (0, 100).
T = (10.0, 0.0, 0.0, 0.0, -10.0, 100.0)
SHAPE = (10, 10)


def test_aligned_square_covers_whole_cells():
    w = cell_fractions(box(20, 30, 50, 70), T, SHAPE)  # x 20–50 → columns 2–4; y 30–70 → rows 3–6
    expected = np.zeros(SHAPE)
    expected[3:7, 2:5] = 1.0
    np.testing.assert_allclose(w, expected, atol=1e-12)


def test_offset_square_gives_halves_and_quarters():
    w = cell_fractions(box(15, 35, 35, 55), T, SHAPE)  # a 2 × 2-cell square shifted by half a cell both ways
    assert w.sum() == pytest.approx(4.0, abs=1e-12)
    # corners 1/4, edges 1/2, centre 1 (rows 4–6, columns 1–3)
    np.testing.assert_allclose(w[4:7, 1:4], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], atol=1e-12)
    assert w[[0, 9], :].sum() == 0 and w[:, [0, 9]].sum() == 0


def test_triangle_by_hand():
    # right triangle over one cell (row 0, column 0): half of it
    w = cell_fractions(Polygon([(0, 90), (10, 90), (0, 100)]), T, SHAPE)
    assert w[0, 0] == pytest.approx(0.5, abs=1e-12) and w.sum() == pytest.approx(0.5, abs=1e-12)


def test_circle_area_is_exact():
    circle = shapely.Point(47.3, 52.1).buffer(31.7, quad_segs=64)
    w = cell_fractions(circle, T, SHAPE)
    assert (w * 100.0).sum() == pytest.approx(circle.area, rel=1e-12)
    assert w.max() == pytest.approx(1.0) and w.min() == 0.0


def test_polygon_with_hole_and_multipolygon():
    ring = box(0, 0, 100, 100).difference(box(30, 30, 70, 70))
    w = cell_fractions(ring, T, SHAPE)
    assert (w * 100).sum() == pytest.approx(ring.area)
    multi = shapely.MultiPolygon([box(0, 0, 10, 10), box(90, 90, 100, 100)])
    assert cell_fractions(multi, T, SHAPE).sum() == pytest.approx(2.0)


def test_tiles_sum_to_one_in_every_cell():
    tiles = [Polygon([(-5, -5), (43.2, -5), (57.7, 105), (-5, 105)]), Polygon([(43.2, -5), (105, -5), (105, 105), (57.7, 105)])]
    total = sum(cell_fractions(t, T, SHAPE) for t in tiles)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_polygon_outside_the_grid_and_partly_outside():
    assert cell_fractions(box(500, 500, 600, 600), T, SHAPE).sum() == 0.0
    w = cell_fractions(box(-50, -50, 15, 15), T, SHAPE)  # only the lower-left 1.5 × 1.5 cells are inside the grid
    assert w.sum() == pytest.approx(2.25)


def test_large_polygon_is_fast_and_exact():
    t = (30.0, 0.0, 0.0, 0.0, -30.0, 30000.0)
    poly = shapely.Point(15000, 15000).buffer(12345.6, quad_segs=256)
    w = cell_fractions(poly, t, (1000, 1000))
    assert (w * 900.0).sum() == pytest.approx(poly.area, rel=1e-10)


# --------------------------------------------------------------------------- geographic grids


def geographic(lat_top: float, dlat: float, dlon: float, ny: int, nx: int, crs: str = "EPSG:4326"):
    import rioxarray  # noqa: F401
    import xarray as xr

    da = xr.DataArray(np.zeros((ny, nx)), dims=("y", "x"), coords={"y": lat_top - dlat * (np.arange(ny) + 0.5), "x": 119.0 + dlon * (np.arange(nx) + 0.5)})
    from rasterio.transform import from_origin

    return da.rio.write_crs(crs).rio.write_transform(from_origin(119.0, lat_top, dlon, dlat))


@pytest.mark.parametrize("lat", [0.0, 31.5, 60.0, 79.99])
def test_geographic_cell_area_matches_the_geodesic_area(lat):
    from pyproj import Geod

    d = 0.01
    area = raster.cell_area(geographic(lat + d, d, d, 1, 1)).values[0, 0]
    ref, _ = Geod(ellps="WGS84").polygon_area_perimeter([119, 119 + d, 119 + d, 119], [lat, lat, lat + d, lat + d])
    assert area == pytest.approx(abs(ref), rel=1e-8)


def test_geographic_cell_area_on_a_sphere_is_the_spherical_band():
    R = 6371000.0
    da = geographic(40.0, 1.0, 2.0, 10, 3, crs=f"+proj=longlat +R={R} +no_defs")
    area = raster.cell_area(da).values
    lat_top = 40.0 - np.arange(10)
    band = R**2 * np.deg2rad(2.0) * (np.sin(np.deg2rad(lat_top)) - np.sin(np.deg2rad(lat_top - 1.0)))
    np.testing.assert_allclose(area[:, 0], band, rtol=1e-12)
    assert np.all(area[:, 0] == area[:, 2])


def test_whole_globe_area():
    a = raster.band_area(-90.0, 90.0, 360.0)
    assert a == pytest.approx(5.10065621724e14, rel=1e-10)  # WGS 84 ellipsoid surface area
    assert raster.band_area(-90.0, 90.0, 360.0, a=6371000.0, e=0.0) == pytest.approx(4 * np.pi * 6371000.0**2)


def test_polygon_area_geodesic_and_planar():
    sq = box(119.0, 31.0, 119.01, 31.01)
    from pyproj import Geod

    ref, _ = Geod(ellps="WGS84").geometry_area_perimeter(sq)
    assert area_m2(sq, "EPSG:4326") == pytest.approx(abs(ref))
    assert area_m2(box(0, 0, 30, 30), "EPSG:32650") == 900.0


def test_read_polygons_reprojects_lonlat(tmp_path):
    from pyproj import Transformer

    from gep.io.vector import read_polygons

    tr = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    ring = [list(tr.transform(x, y)) for x, y in [(640000, 3499000), (641000, 3499000), (641000, 3500000), (640000, 3500000), (640000, 3499000)]]
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "km"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    polys = read_polygons(path, "EPSG:32650", 30.0)
    assert polys.geometry.area == pytest.approx(1e6, rel=1e-6)  # a 1 km square, back in UTM
    assert polys.features[0][0] == "km" and polys.source_crs == "OGC:CRS84"
    # a legacy 'crs' member is honoured
    path.write_text(json.dumps({"type": "Polygon", "crs": {"type": "name", "properties": {"name": "EPSG:32650"}}, "coordinates": [[[640000, 3499000], [640300, 3499000], [640300, 3499300], [640000, 3499000]]]}))
    assert read_polygons(path, "EPSG:32650", 30.0).geometry.area == pytest.approx(45000.0)
