"""Polygons on grids: the exact fraction of each cell covered by a polygon (pure, vectorised).

:func:`cell_fractions` gives, for every cell of a north-up grid, the fraction of
the cell's area inside a (multi)polygon, computed exactly (to floating-point
precision) from the polygon/cell intersection:

1. cells whose centre lies inside the polygon get 1, the others 0
   (``shapely.contains_xy``, vectorised);
2. cells the polygon's boundary passes through (found by rasterising the
   boundary with ``all_touched`` and widening that band by one cell, so none
   is missed) get ``area(cell ∩ polygon) / area(cell)`` from
   ``shapely.intersection`` on arrays of cell boxes (vectorised, GEOS), block
   by block of 16 × 16 cells against the polygon clipped to the block.

Every other cell lies wholly inside or wholly outside, so step 1 is exact
for it. The fractions are exact in the grid's coordinate plane; on a
geographic grid they are fractions of the cell in longitude × latitude; the
true area density varies across a cell by tan φ·Δφ (cos φ), so they differ
from the fraction of the geodesic cell area by less than 1e-4 of the cell
for cells of 0.01° or less up to 60° latitude. Parcels that tile the region give fractions that sum to 1 in every
cell (up to rounding, ≈ 1e-12).

References
----------
Gillies, S. et al. (2024) Shapely 2 (GEOS bindings, vectorised geometry).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _window(bounds: tuple[float, float, float, float], transform: tuple[float, ...], shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Row/column window ``(r0, r1, c0, c1)`` covering ``bounds``, clipped to the grid."""
    a, _, c, _, e, f = transform[:6]
    minx, miny, maxx, maxy = bounds
    cols = sorted(((minx - c) / a, (maxx - c) / a))
    rows = sorted(((maxy - f) / e, (miny - f) / e))
    c0, c1 = max(0, int(np.floor(cols[0])) - 1), min(shape[1], int(np.ceil(cols[1])) + 1)
    r0, r1 = max(0, int(np.floor(rows[0])) - 1), min(shape[0], int(np.ceil(rows[1])) + 1)
    if r0 >= r1 or c0 >= c1:
        return None
    return r0, r1, c0, c1


def cell_fractions(geom: Any, transform: tuple[float, ...], shape: tuple[int, int]) -> np.ndarray:
    """Fraction of each cell inside ``geom`` [0–1].

    Parameters
    ----------
    geom : shapely geometry
        Polygon or MultiPolygon in the grid's CRS.
    transform : tuple
        Affine transform of the grid ``(a, b, c, d, e, f)`` (north-up: b = d = 0).
    shape : (int, int)
        Rows and columns.

    Returns
    -------
    ndarray of float64
        ``shape``; 0 outside, 1 inside, the exact overlap on boundary cells.
    """
    import shapely
    from rasterio import features
    from rasterio.transform import Affine
    from scipy.ndimage import binary_dilation

    out = np.zeros(shape, dtype=np.float64)
    if geom is None or geom.is_empty:
        return out
    a, b, c, d, e, f = transform[:6]
    if abs(b) > 0 or abs(d) > 0:
        from gep.errors import GridError

        raise GridError("the grid is rotated or sheared", hint="warp it to a north-up grid first (gdalwarp)")
    win = _window(geom.bounds, transform, shape)
    if win is None:
        return out
    r0, r1, c0, c1 = win
    rows = np.arange(r0, r1)
    cols = np.arange(c0, c1)
    xs = c + a * (cols + 0.5)
    ys = f + e * (rows + 0.5)
    X, Y = np.meshgrid(xs, ys)
    shapely.prepare(geom)
    sub = shapely.contains_xy(geom, X, Y).astype(np.float64)
    wt = Affine(a, 0.0, c + a * c0, 0.0, e, f + e * r0)
    edge = features.rasterize([(geom.boundary, 1)], out_shape=sub.shape, transform=wt, all_touched=True, fill=0, dtype="uint8").astype(bool)
    edge = binary_dilation(edge, iterations=1)
    if edge.any():
        sub[edge] = _edge_fractions(geom, edge, cols, rows, transform)
    out[r0:r1, c0:c1] = sub
    return out


#: Boundary cells are handled in blocks of this many cells a side: the polygon is first clipped
#: to each block, so each cell is intersected with a small piece of it only.
BLOCK = 16


def _edge_fractions(geom: Any, edge: np.ndarray, cols: np.ndarray, rows: np.ndarray, transform: tuple[float, ...]) -> np.ndarray:
    """Exact covered fraction of the cells flagged in ``edge`` (in ``np.nonzero`` order)."""
    import shapely

    a, _, c, _, e, f = transform[:6]
    ri, ci = np.nonzero(edge)
    out = np.zeros(ri.size)
    block = (ri // BLOCK) * (edge.shape[1] // BLOCK + 1) + ci // BLOCK
    order = np.argsort(block, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(block[order]) != 0])
    ends = np.r_[starts[1:], order.size]
    for s0, s1 in zip(starts, ends):  # one GEOS clip per block of BLOCK × BLOCK cells, not per cell
        idx = order[s0:s1]
        x0 = c + a * cols[ci[idx]]
        y0 = f + e * rows[ri[idx]]
        xa, xb = np.minimum(x0, x0 + a), np.maximum(x0, x0 + a)
        ya, yb = np.minimum(y0, y0 + e), np.maximum(y0, y0 + e)
        piece = shapely.intersection(geom, shapely.box(xa.min(), ya.min(), xb.max(), yb.max()))
        if piece.is_empty:
            continue
        boxes = shapely.box(xa, ya, xb, yb)
        out[idx] = shapely.area(shapely.intersection(boxes, piece)) / abs(a * e)
    return np.clip(out, 0.0, 1.0)


def area_m2(geom: Any, crs: Any) -> float:
    """Area of a polygon [m²]: planar in a projected CRS, geodesic (WGS 84 ellipsoid) in a geographic one."""
    from pyproj import CRS, Geod

    crs = CRS.from_user_input(crs) if crs else None
    if crs is not None and crs.is_geographic:
        geod = Geod(ellps="WGS84") if crs.ellipsoid is None else Geod(a=crs.ellipsoid.semi_major_metre, b=crs.ellipsoid.semi_minor_metre)
        area, _ = geod.geometry_area_perimeter(geom)
        return abs(float(area))
    return float(geom.area)


def grid_bounds(transform: tuple[float, ...], shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of a grid from its affine transform ``(a, b, c, d, e, f)`` and ``(rows, cols)``."""
    a, _, c, _, e, f = (float(v) for v in list(transform)[:6])
    xs, ys = (c, c + a * shape[1]), (f, f + e * shape[0])
    return min(xs), min(ys), max(xs), max(ys)


def bounds_overlap(a: tuple[float, float, float, float], a_crs: Any, b: tuple[float, float, float, float], b_crs: Any) -> bool:
    """Whether two bounding boxes overlap, ``b`` reprojected to ``a``'s CRS (pyproj ``transform_bounds``; same CRS or none: as given)."""
    if a_crs and b_crs and str(a_crs) != str(b_crs):
        from pyproj import CRS, Transformer

        b = Transformer.from_crs(CRS.from_user_input(b_crs), CRS.from_user_input(a_crs), always_xy=True).transform_bounds(*b, densify_pts=21)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
