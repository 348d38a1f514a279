"""GeoJSON polygons (parcels, restoration areas, protection zones) in a grid's CRS.

RFC 7946 GeoJSON is WGS 84 longitude/latitude. A legacy ``crs`` member
(``{"type": "name", "properties": {"name": "EPSG:32650"}}``) is honoured.
Polygons are densified (edges split to at most one grid cell)
before their vertices are reprojected with pyproj, so straight lon/lat edges
follow their true course in the grid's CRS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import InputError

#: CRS of RFC 7946 GeoJSON (WGS 84, longitude first).
GEOJSON_CRS = "OGC:CRS84"


@dataclass
class Polygons:
    """Polygons of one GeoJSON file reprojected to a grid's CRS.

    Attributes
    ----------
    geometry : shapely geometry
        Union of every feature's polygon(s).
    features : list of (name, geometry)
        Each feature with a name (its ``name`` or ``id`` property, else ``feature N``).
    source_crs : str
        CRS the file's coordinates are in.
    path : Path
        The file.
    """

    geometry: Any
    features: list[tuple[str, Any]]
    source_crs: str
    path: Path


def _crs_of(doc: dict, path: Path) -> str:
    crs = doc.get("crs")
    if not crs:
        return GEOJSON_CRS
    try:
        name = crs["properties"]["name"]
    except (KeyError, TypeError):
        raise InputError(f"{path}: unreadable 'crs' member {crs!r}", hint="drop it (RFC 7946 GeoJSON is WGS 84 lon/lat) or write {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4326\"}}") from None
    if "CRS84" in str(name).upper():
        return GEOJSON_CRS
    return str(name)


def read_polygons(path: str | Path, grid_crs: str, cell_size: float | None = None, what: str = "polygon file") -> Polygons:
    """Read a GeoJSON (FeatureCollection, Feature or bare geometry) into ``grid_crs``.

    Parameters
    ----------
    path : str or Path
        GeoJSON file.
    grid_crs : str
        CRS of the grid (WKT, EPSG code or PROJ string).
    cell_size : float, optional
        Cell size in grid units; edges are densified to it before reprojection (the
        course of a reprojected straight edge between points one cell apart departs
        from a straight line by far less than a millimetre at grid scales).

    Raises
    ------
    InputError
        Missing or unreadable file, no polygon, lon/lat out of range, invalid geometry.
    """
    import shapely
    from pyproj import CRS, Transformer
    from shapely.geometry import shape

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", hint="check the path (relative paths are relative to the scenario file)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} {path} is not valid GeoJSON: {exc}", hint="save it as UTF-8 GeoJSON (e.g. from QGIS: Export → GeoJSON, CRS EPSG:4326)") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{what} {path} is not a GeoJSON object", hint="give a FeatureCollection, a Feature or a Polygon")
    src = _crs_of(doc, path)
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
    elif doc.get("type") == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "geometry": doc, "properties": {}}]
    out = []
    for i, ft in enumerate(feats):
        g = (ft or {}).get("geometry")
        if not g:
            continue
        try:
            geom = shape(g)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise InputError(f"{what} {path}, feature {i}: unreadable geometry: {exc}", hint="each feature needs a Polygon or MultiPolygon geometry") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            if geom.geom_type == "GeometryCollection":
                geom = shapely.union_all([p for p in geom.geoms if p.geom_type in ("Polygon", "MultiPolygon")])
            else:
                continue
        if geom.is_empty:
            continue
        props = ft.get("properties") or {}
        name = str(props.get("name") or props.get("id") or ft.get("id") or f"feature {i}")
        out.append((name, geom))
    if not out:
        raise InputError(f"{what} {path} holds no Polygon or MultiPolygon", hint="draw the area as a polygon (points and lines have no area)")
    src_crs = CRS.from_user_input(src)
    if src_crs.is_geographic:
        minx, miny, maxx, maxy = shapely.union_all([g for _, g in out]).bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise InputError(
                f"{what} {path}: coordinates ({minx:.6g}, {miny:.6g}) … ({maxx:.6g}, {maxy:.6g}) are not longitude/latitude",
                hint="RFC 7946 GeoJSON is WGS 84 lon/lat; reproject it (QGIS: Export, CRS EPSG:4326) or add a 'crs' member naming its projected CRS",
            )
    if not grid_crs:
        raise InputError(f"{what} {path}: the land cover has no CRS, so the polygon cannot be placed on it", hint="set the GeoTIFF's CRS (gdal_edit.py -a_srs EPSG:...)")
    dst = CRS.from_user_input(grid_crs)
    tr = Transformer.from_crs(src_crs, dst, always_xy=True)
    seg = None
    if cell_size and not src_crs.equals(dst):
        # one cell, expressed in the source units (degrees: ~111 km per degree)
        seg = cell_size / (111_320.0 if src_crs.is_geographic and not dst.is_geographic else 1.0)
        if dst.is_geographic and not src_crs.is_geographic:
            seg = cell_size * 111_320.0

    def project(geom: Any) -> Any:
        if src_crs.equals(dst):
            return geom
        g = shapely.segmentize(geom, seg) if seg else geom
        return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

    projected = []
    for name, geom in out:
        g = project(geom)
        if not g.is_valid:
            g = shapely.make_valid(g)
            g = shapely.union_all([p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")])
        projected.append((name, g))
    return Polygons(shapely.union_all([g for _, g in projected]), projected, src_crs.to_string(), path)
