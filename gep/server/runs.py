"""Recorded runs as the platform serves them: GEP tables, comparisons, zone maps, credits.

A :class:`RunCatalogue` finds every folder under the served root that holds a
``manifest.json`` (``gep run``, ``gep series``, ``gep compare``, ``gep capacity
basin``) and answers from the files those commands wrote, through the readers of
:mod:`gep.io` (nothing is recomputed, nothing in a run folder is written). Results
are cached in memory per folder and invalidated when its manifest changes.

Zone outlines are polygonised from the run's per-cell zone index (``cells.nc``:
``zone_index``, ``crs``, ``transform``) with :func:`rasterio.features.shapes`,
merged per zone with shapely, simplified (Douglas–Peucker) to about one pixel of a
map of the whole region — 1/1000 of its extent, when that is at least a cell (a smaller
region keeps every cell edge) — and reprojected to WGS 84 with pyproj for RFC 7946 GeoJSON (or kept in the run's CRS,
for drawing under the cell maps).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gep.errors import GepError, InputError

__all__ = ["RunCatalogue", "Run", "NotFound", "KINDS"]

#: Manifest kinds the platform reads, and what it shows of each.
KINDS = {"gep run": "account", "gep series": "series", "gep compare": "comparison", "gep capacity basin": "credits"}
_MAX_DEPTH = 3


class NotFound(GepError):
    """An unknown run, variable or transaction (HTTP 404)."""


@dataclass(frozen=True)
class Run:
    """One recorded run folder.

    Attributes
    ----------
    id : str
        Folder relative to the served root, with ``/`` (e.g. ``demo-2022-362ad9666f`` or ``forest35``).
    path : Path
        The folder.
    kind : str
        The manifest's ``kind``.
    manifest : dict
        The manifest.
    stamp : float
        Modification time of the manifest (cache key).
    """

    id: str
    path: Path
    kind: str
    manifest: dict
    stamp: float

    def describe(self) -> dict:
        """What a run list shows: id, kind, name, year(s), totals."""
        m = self.manifest
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "view": KINDS.get(self.kind)}
        sc = (m.get("scenario") or {}).get("resolved", {}).get("scenario", {}) if isinstance(m.get("scenario"), dict) else {}
        res = m.get("results") or {}
        if self.kind == "gep run":
            out.update(name=sc.get("name"), year=sc.get("year"), gep_cny=res.get("gep_total_cny"))
        elif self.kind == "gep series":
            out.update(name=(m.get("scenario") or {}).get("name") if isinstance(m.get("scenario"), dict) else None,
                       years=sorted(int(y) for y in (m.get("years") or {})))
        elif self.kind == "gep compare":
            out.update(base=(m.get("base") or {}).get("scenario"), alt=(m.get("alt") or {}).get("scenario"),
                       delta_gep_cny=res.get("delta_gep_cny"), gep_base_cny=res.get("gep_base_cny"), gep_alt_cny=res.get("gep_alt_cny"))
        elif self.kind == "gep capacity basin":
            out.update(name=sc.get("name"), vintage=sc.get("vintage"))
        return out


class RunCatalogue:
    """The runs under one folder, with an in-memory cache of what is derived from them.

    Parameters
    ----------
    root : Path or None
        Folder of run folders (``gep serve --runs``); None serves no runs.
    cache_size : int
        Derived results kept (least recently used dropped first).
    """

    def __init__(self, root: Path | None, cache_size: int = 64):
        self.root = Path(root) if root is not None else None
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()
        self._inflight: dict[tuple, threading.Lock] = {}

    # ------------------------------------------------------------ discovery
    def runs(self) -> list[Run]:
        """Every run folder under the root (newest manifest first)."""
        if self.root is None or not self.root.is_dir():
            return []
        found = []
        for manifest in _manifests(self.root):
            run = self._load(manifest.parent)
            if run is not None:
                found.append(run)
        return sorted(found, key=lambda r: (-r.stamp, r.id))

    def get(self, run_id: str) -> Run:
        """The run folder ``run_id`` (relative to the root); :class:`NotFound` otherwise."""
        if self.root is None:
            raise NotFound("this server serves no runs", hint="start it with `gep serve --runs DIR`")
        parts = [p for p in str(run_id).split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") or not p.isprintable() for p in parts) or len(parts) > _MAX_DEPTH + 1:
            raise NotFound(f"run {run_id!r} is not a run id", hint="list the runs with GET /api/v1/runs")
        run = self._load(self.root.joinpath(*parts))
        if run is None:
            raise NotFound(f"no run {run_id!r}", hint="list the runs with GET /api/v1/runs")  # the server's folders are not shown
        return run

    def _load(self, folder: Path) -> Run | None:
        from gep.audit.manifest import read_document

        mpath = folder / "manifest.json"
        try:
            stamp = mpath.stat().st_mtime
        except OSError:
            return None
        key = ("manifest", str(folder), stamp)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        try:
            manifest, _ = read_document(mpath)
        except InputError:
            return None
        if manifest.get("kind") not in KINDS:
            return None
        run = Run(folder.relative_to(self.root).as_posix(), folder, manifest["kind"], manifest, stamp)
        self._put(key, run)
        return run

    # ------------------------------------------------------------ cache
    def _put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)

    def cached(self, run: Run, what: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per run version and ``what`` (concurrent callers wait for the first)."""
        return self._once((what, str(run.path), run.stamp), compute)

    def account(self, folder: Path):
        """The account (``account.nc``) of a run folder, read once per version of the file."""
        from gep.io.outputs import read_account

        path = Path(folder) / "account.nc"
        try:
            stamp = path.stat().st_mtime
        except OSError:
            stamp = None
        return self._once(("account", str(path), stamp), lambda: read_account(folder))

    def _once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = compute()
            self._put(key, value)
            with self._lock:
                self._inflight.pop(key, None)
            return value

    # ------------------------------------------------------------ GEP tables
    def gep(self, run: Run) -> dict:
        """GEP by year × zone × service (summed over ecosystem types) of a run or series.

        Returns
        -------
        dict
            ``years``, ``zones`` (id, name, name_zh, gdp_cny), ``services`` (id, category,
            name_zh, unit, method), ``rows`` (year, zone, service, value_cny,
            value_cny_comparable, quantity), ``totals`` per year (gep_cny, by category) and
            ``price_year``/``base_year``.
        """
        if run.kind == "gep run":
            folders = [(None, run.path)]
        elif run.kind == "gep series":
            years = run.manifest.get("years") or {}
            folders = [(int(y), run.path / str(years[y].get("run_dir", y))) for y in sorted(years, key=int)]
        else:
            raise NotFound(f"run {run.id} is a {run.kind}, not a GEP account", hint="choose a `gep run` or `gep series` folder")
        return self.cached(run, "gep", lambda: _gep_tables([(y, self.account(f)) for y, f in folders]))

    def zones(self, run: Run, native: bool = False) -> dict:
        """Zone outlines as GeoJSON with each zone's GEP (and ΔGEP for a comparison) as properties."""
        folder = self._cells_folder(run)
        geo = self.cached(run, f"zones:{native}", lambda: _zone_features(folder, self.account(folder), native))
        props = self._zone_properties(run)
        feats = [{**f, "properties": {**f["properties"], **props.get(f["properties"]["zone"], {})}} for f in geo["features"]]
        return {**geo, "features": feats}

    def _cells_folder(self, run: Run) -> Path:
        if run.kind == "gep run":
            return run.path
        if run.kind == "gep series":
            years = run.manifest.get("years") or {}
            last = max(years, key=int)
            return run.path / str(years[last].get("run_dir", last))
        if run.kind == "gep compare":
            return (run.path / str((run.manifest.get("base") or {}).get("run_dir", "base"))).resolve()
        raise NotFound(f"run {run.id} ({run.kind}) has no zone map", hint="choose a `gep run`, `gep series` or `gep compare` folder")

    def _zone_properties(self, run: Run) -> dict[int, dict]:
        if run.kind == "gep compare":
            table = self.comparison(run)["by_zone"]
            return {int(r["zone"]): {k: r[k] for k in ("value_base_cny", "value_alt_cny", "delta_value_cny", "delta_pct") if k in r} for r in table}
        data = self.gep(run)
        year = max(data["years"])
        out: dict[int, dict] = {}
        for r in data["rows"]:
            if r["year"] == year:
                d = out.setdefault(r["zone"], {"gep_cny": 0.0, "services": {}})
                d["gep_cny"] += r["value_cny"]
                d["services"][r["service"]] = r["value_cny"]
        return out

    # ------------------------------------------------------------ comparisons and credits
    def comparison(self, run: Run) -> dict:
        """A ``gep compare`` folder: totals, ΔGEP by zone and by service (the tables it wrote)."""
        if run.kind != "gep compare":
            raise NotFound(f"run {run.id} is a {run.kind}, not a comparison", hint="choose a folder written by `gep compare`")
        return self.cached(run, "compare", lambda: _comparison(run))

    def credits(self, run: Run) -> dict:
        """A ``gep capacity basin`` folder: capacity per reach and credits per catchment × pollutant."""
        if run.kind != "gep capacity basin":
            raise NotFound(f"run {run.id} is a {run.kind}, not a basin capacity run", hint="choose a folder written by `gep capacity basin`")
        return self.cached(run, "credits", lambda: _credits(run))

    # ------------------------------------------------------------ maps
    def map_png(self, run: Run, variable: str) -> bytes:
        """A per-cell map as PNG (one pixel per cell, up to 1,024 px a side), transparent outside the region."""
        if run.kind == "gep compare":
            path, names = run.path / "delta_cells.nc", ["delta_gep_value"]
        else:
            path, names = self._cells_folder(run) / "cells.nc", None
        return self.cached(run, f"png:{variable}", lambda: _png(path, variable, names))

    def map_variables(self, run: Run) -> list[str]:
        """Per-cell variables a map can show (physical quantities and ``gep_value``)."""
        if run.kind == "gep compare":
            return ["delta_gep_value"]
        path = self._cells_folder(run) / "cells.nc"
        return self.cached(run, "variables", lambda: _cell_variables(path))


# --------------------------------------------------------------------------- helpers (pure on what the readers return)

_NOT_MAPS = {"ecosystem_index", "landcover", "class_index", "zone_index", "cell_area", "spatial_ref"}


def _manifests(root: Path) -> list[Path]:
    out = []
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        if (folder / "manifest.json").is_file() and folder != root:
            out.append(folder / "manifest.json")
        if depth < _MAX_DEPTH:
            stack.extend((e, depth + 1) for e in entries if e.is_dir() and not e.name.startswith(".") and e.name != "manifests")
    return out


def _gep_tables(accounts: list[tuple[int | None, Any]]) -> dict:
    import pandas as pd

    frames, totals, zones, services, years = [], [], {}, {}, []
    price_year = base_year = None
    for year, acc in accounts:
        y = int(acc.attrs.get("year", year or 0))
        years.append(y)
        price_year = acc.attrs.get("price_year", price_year)
        base_year = acc.attrs.get("base_year", base_year)
        names = ["value", "quantity"] + (["value_comparable"] if "value_comparable" in acc else [])
        by = acc[names].sum("ecosystem", min_count=1).to_dataframe()[names].reset_index()
        by["year"] = y
        frames.append(by)
        meta = acc["zone"].to_dataframe().drop(columns="zone").reset_index()
        if "gdp" in acc:
            meta["gdp_cny"] = acc["gdp"].values
        for z in _records(meta):
            zones.setdefault(int(z["zone"]), z)
        for sv in _records(acc["service"].to_dataframe().drop(columns="service").reset_index()):
            services.setdefault(sv["service"], sv)
        category = by["service"].map(acc["category"].to_series())
        totals.append({"year": y, "gep_cny": float(by["value"].sum()), "categories": by.groupby(category)["value"].sum().to_dict(),
                       "gep_cny_comparable": float(by["value_comparable"].sum()) if "value_comparable" in by else None,
                       "gdp_cny": float(acc["gdp"].sum()) if "gdp" in acc else None})
    rows = pd.concat(frames, ignore_index=True).rename(columns={"value": "value_cny", "value_comparable": "value_cny_comparable"})
    various = rows["service"].map(lambda s: services[s].get("unit") == "various")
    rows.loc[various, "quantity"] = None
    return {"years": years, "zones": sorted(zones.values(), key=lambda z: z["zone"]), "services": list(services.values()),
            "rows": _records(rows[["year", "zone", "service"] + [c for c in ("value_cny", "value_cny_comparable", "quantity") if c in rows]]),
            "totals": totals, "price_year": _int(price_year), "base_year": _int(base_year)}


def _num(v: Any) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def _zone_features(folder: Path, acc: Any, native: bool) -> dict:
    import affine
    import rasterio.features
    import shapely
    from shapely.geometry import mapping, shape

    from gep.io.outputs import read_cells

    values, attrs = read_cells(folder / "cells.nc", ["zone_index"])
    if "zone_index" not in values or "transform" not in attrs:
        raise NotFound(f"{folder} has no per-cell zone index (cells.nc: zone_index, transform)", hint="re-run `gep run` with this gep")
    zone_ids = acc["zone"].values.astype(int)
    names = acc["zone_name"].values
    names_zh = acc["zone_name_zh"].values if "zone_name_zh" in acc.coords else names
    transform = affine.Affine(*[float(v) for v in np.asarray(attrs["transform"])[:6]])
    index = np.asarray(values["zone_index"]).astype("int32")
    parts: dict[int, list] = {}
    for geom, v in rasterio.features.shapes(index, mask=index >= 0, transform=transform):
        parts.setdefault(int(v), []).append(shape(geom))
    height, width = index.shape
    # about one pixel of a map of the whole region; a region under 1,000 cells across keeps every cell edge
    tolerance = max(abs(transform.a) * width, abs(transform.e) * height) / 1000
    tolerance = tolerance if tolerance >= max(abs(transform.a), abs(transform.e)) else 0.0
    crs = str(attrs.get("crs", ""))
    to_wgs84 = None
    if not native and crs:
        from pyproj import Transformer

        t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        to_wgs84 = lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1]))  # noqa: E731
    features = []
    for i in sorted(parts):
        geom = shapely.union_all(parts[i]).simplify(tolerance)
        if to_wgs84 is not None:
            geom = shapely.set_precision(shapely.transform(geom, to_wgs84), 1e-6)
        else:
            geom = shapely.set_precision(geom, 0.01)
        features.append({"type": "Feature", "id": int(zone_ids[i]),
                         "properties": {"zone": int(zone_ids[i]), "name": str(names[i]), "name_zh": str(names_zh[i])},
                         "geometry": mapping(geom)})
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if native or not crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
        doc["bbox"] = [transform.c, transform.f + transform.e * height, transform.c + transform.a * width, transform.f]
    return doc


def _comparison(run: Run) -> dict:
    from gep.io.tables import read_csv

    def records(name: str) -> list[dict]:
        path = run.path / name
        if not path.is_file():
            raise InputError(f"comparison {run.id} lacks {name}", hint="re-run `gep compare`")
        df = read_csv(path, what="comparison table")
        return _records(df)

    m = run.manifest
    return {"base": {k: (m.get("base") or {}).get(k) for k in ("scenario", "run_dir")},
            "alt": {k: (m.get("alt") or {}).get(k) for k in ("scenario", "run_dir")},
            "totals": {k: v for k, v in (m.get("results") or {}).items() if k.endswith("_cny")},
            "by_zone": records("delta_by_zone.csv"), "by_service": records("delta_by_service.csv")}


def _credits(run: Run) -> dict:
    from gep.io.tables import read_csv

    out = {}
    for name in ("credits", "capacity"):
        path = run.path / f"{name}.csv"
        if path.is_file():
            df = read_csv(path, what=f"{name} table")
            out[name] = _records(df.drop(columns=[c for c in ("inputs",) if c in df.columns]))
    sc = (run.manifest.get("scenario") or {}).get("resolved", {}).get("scenario", {})
    out["vintage"] = sc.get("vintage")
    out["safety_margin"] = sc.get("safety_margin")
    return out


def _records(df) -> list[dict]:
    import pandas as pd

    df = df.astype(object).where(pd.notna(df), None)
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _cell_variables(path: Path) -> list[str]:
    from gep.io.outputs import read_cells

    return [n for n in read_cells(path, [])[1]["grids"] if n not in _NOT_MAPS]


def _png(path: Path, variable: str, allowed: list[str] | None) -> bytes:
    """Colour a grid (viridis; diverging for a difference), NaN transparent, and encode it as PNG."""
    from matplotlib import colormaps
    from PIL import Image

    from gep.io.outputs import read_cells

    if allowed is not None and variable not in allowed:
        raise NotFound(f"no map {variable!r} here", hint=f"one of {', '.join(allowed)}")
    values, _ = read_cells(path, [variable])
    if variable not in values or variable in _NOT_MAPS:
        raise NotFound(f"{path.name} has no map {variable!r}", hint="list the maps with GET /api/v1/runs/<run>/maps")
    grid = np.asarray(values[variable], dtype="float32")
    step = max(1, int(np.ceil(max(grid.shape) / 1024)))
    grid = grid[::step, ::step]
    finite = np.isfinite(grid)
    if variable.startswith("delta_"):
        span = float(np.nanpercentile(np.abs(grid[finite]), 98)) if finite.any() else 1.0
        lo, hi, cmap = -span, span, colormaps["RdBu"]
    else:
        lo, hi = (np.nanpercentile(grid[finite], [2, 98]) if finite.any() else (0.0, 1.0))
        cmap = colormaps["viridis"]
    scaled = np.clip((grid - lo) / ((hi - lo) or 1.0), 0, 1)
    rgba = (cmap(np.where(finite, scaled, 0)) * 255).astype("uint8")
    rgba[..., 3] = np.where(finite, 255, 0)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False)
    return buf.getvalue()
