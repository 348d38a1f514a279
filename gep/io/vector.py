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


@dataclass
class Zones:
    """Zones of a vector file rasterised on a grid.

    Attributes
    ----------
    ids : ndarray
        Zone id of each cell (0 where no polygon's centre rule holds).
    table : list of dict
        One ``{"zone_id", "name"}`` per feature, in file order.
    source_crs : str
        CRS of the file.
    """

    ids: np.ndarray
    table: list[dict]
    source_crs: str


def read_zones(path: str | Path, id_field: str, name_field: str | None, grid_crs: str, transform, shape: tuple[int, int]) -> Zones:
    """Zones from a GeoPackage, shapefile or GeoJSON (any CRS GDAL reads), rasterised on a grid.

    Each polygon is reprojected to the grid's CRS (pyproj) and burnt with its id
    into the cells whose centre lies inside it (``rasterio.features.rasterize``,
    GDAL's default rule, as InVEST's zonal statistics count cells); where polygons
    overlap the later feature wins. Ids must be positive whole numbers, one per
    feature; the name field is optional (default: the id).

    Raises
    ------
    InputError
        Missing or unreadable file, a missing field, a bad id, no polygon.
    """
    import pyogrio
    import shapely
    from pyproj import CRS, Transformer
    from rasterio.features import rasterize
    from rasterio.transform import Affine

    path = Path(path)
    what = f"zones file {path}"
    if not path.is_file():
        raise InputError(f"{what} not found", hint="check [region] zones (relative paths are relative to the scenario file)")
    try:
        meta, _, wkb, values = pyogrio.raw.read(path)
    except Exception as exc:  # pyogrio raises its own error types
        raise InputError(f"cannot read {what}: {exc}", hint="give a GeoPackage, shapefile or GeoJSON of polygons") from exc
    fields = [str(f) for f in meta["fields"]]
    for field_name in (id_field, name_field):
        if field_name is not None and field_name not in fields:
            raise InputError(f"{what} has no field '{field_name}'", hint=f"its fields are {', '.join(fields) or '(none)'}; set zone_id_field and zone_name_field to two of them")
    raw_ids = values[fields.index(id_field)]
    names = values[fields.index(name_field)] if name_field else None
    geoms = shapely.from_wkb(wkb)
    src = CRS.from_user_input(meta["crs"]) if meta.get("crs") else CRS.from_user_input(GEOJSON_CRS)
    if not grid_crs:
        raise InputError(f"{what}: the land cover has no CRS, so the zones cannot be placed on it", hint="set the GeoTIFF's CRS (gdal_edit.py -a_srs EPSG:...)")
    dst = CRS.from_user_input(grid_crs)
    if not src.equals(dst):
        tr = Transformer.from_crs(src, dst, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    table, shapes = [], []
    for i, (zid, geom) in enumerate(zip(raw_ids, geoms)):
        try:
            zone = int(zid)
        except (TypeError, ValueError):
            zone = -1
        if zone <= 0 or zone != zid:
            raise InputError(f"{what}, feature {i + 1}: {id_field} = {zid!r} is not a positive whole number", hint="zone ids are whole numbers ≥ 1")
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{what}, feature {i + 1} ({id_field} {zone}) is not a polygon", hint="zones are polygons")
        table.append({"zone_id": zone, "name": str(names[i]) if names is not None and names[i] is not None else str(zone)})
        shapes.append((geom, zone))
    if not shapes:
        raise InputError(f"{what} holds no polygon", hint="give the zones as polygons")
    ids = [t["zone_id"] for t in table]
    if len(set(ids)) != len(ids):
        raise InputError(f"{what}: {id_field} {next(z for z in ids if ids.count(z) > 1)} is used by several features", hint="one feature (a MultiPolygon if need be) per zone")
    burnt = rasterize(shapes, out_shape=shape, transform=Affine(*list(transform)[:6]), fill=0, dtype="int64", all_touched=False)
    return Zones(burnt, table, src.to_string())
