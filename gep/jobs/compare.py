"""``gep compare BASE ALT``: ΔGEP of two scenarios or run folders (load -> compute -> write).

:func:`load` makes the two sides (a scenario is computed and written as a ``gep
run`` into ``<out>/base`` or ``<out>/alt``; a run folder is read);
:func:`compute` builds the Δ tables (:mod:`gep.accounting.delta`), the per-cell
map and the consistency checks (totals add up, the per-cell map sums to the
account, grids and coefficient sets agree); :func:`write` writes the tables,
charts, workbook and the manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting.delta import by_category, by_service, by_zone, carbon_stock_delta, delta_cells, delta_table, landcover_transitions, unrelated
from gep.audit.manifest import CompareRecord, Manifest, RunRecord, SideRef
from gep.errors import InputError
from gep.jobs.job import Written, output_folder, rebased

KIND = CompareRecord.KIND


@dataclass
class Side:
    """One side of a comparison."""

    label: str
    name: str
    year: int
    account: xr.Dataset
    cells: xr.Dataset | None
    manifest: Manifest | None
    run_dir: str | None
    #: Carbon stock per zone and pool (``carbon_stock.csv``), None without a carbon service.
    carbon: pd.DataFrame | None = None

    @property
    def run(self) -> RunRecord | None:
        """The ``gep run`` record of the side's manifest (None for a side without one)."""
        return self.manifest.record if self.manifest is not None and isinstance(self.manifest.record, RunRecord) else None


def checks(base: Side, alt: Side, delta: pd.DataFrame, cells_delta: xr.DataArray | None) -> pd.DataFrame:
    """Consistency checks: (check, status, detail); status ``ok``, ``note`` or ``FAIL``."""
    rows = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        rows.append({"check": name, "status": "ok" if ok else ("note" if ok is None else "FAIL"), "detail": detail})

    gb, ga = float(base.account["value"].sum()), float(alt.account["value"].sum())
    d = float(delta["delta_value_cny"].sum())
    tol = 1e-6 * max(abs(gb), abs(ga), 1.0)
    add("Δ table adds up", abs((ga - gb) - d) <= tol, f"GEP_alt − GEP_base = {ga - gb:,.2f} CNY; Σ Δ rows = {d:,.2f} CNY")
    for side in (base, alt):
        if side.manifest is not None and side.manifest.gep_total_cny is not None:
            rec = side.manifest.gep_total_cny
            g = float(side.account["value"].sum())
            add(f"{side.label} GEP equals its run manifest", abs(rec - g) <= 1e-6 * max(abs(g), 1.0), f"account {g:,.2f} CNY; manifest {rec:,.2f} CNY")
        if side.cells is not None and "gep_value" in side.cells:
            s = float(side.cells["gep_value"].sum(dtype=np.float64))
            g = float(side.account["value"].sum())
            add(f"{side.label} per-cell map sums to its GEP", abs(s - g) <= 1e-4 * max(abs(g), 1.0), f"Σ cells {s:,.0f} CNY vs GEP {g:,.0f} CNY (cells stored as float32)")
    if cells_delta is not None:
        s = float(cells_delta.sum())
        add("per-cell Δ map sums to ΔGEP", abs(s - (ga - gb)) <= 1e-4 * max(abs(gb), abs(ga), 1.0), f"Σ Δ cells {s:,.0f} CNY vs ΔGEP {ga - gb:,.0f} CNY")
    else:
        add("per-cell Δ map", None, "not drawn: the two runs are on different grids (or a run folder lacks cells.nc)")
    if base.run is not None and alt.run is not None:
        ca, cb = base.run.coefficients, alt.run.coefficients
        same = (ca.id, ca.version) == (cb.id, cb.version)
        add("same coefficient set", same or None, f"{ca.id}@{ca.version} vs {cb.id}@{cb.version}" + ("" if same else ": differences include coefficient changes"))
        oa, ob = list(ca.overrides or ()), list(cb.overrides or ())
        add("same coefficient overrides", (oa == ob) or None, f"{len(oa)} vs {len(ob)} override(s)" + ("" if oa == ob else ": ALT values reflect different prices or coefficients"))
    add("same accounting year", base.year == alt.year or None, f"{base.year} vs {alt.year}" + ("" if base.year == alt.year else ": values are at different years' prices"))
    sb, sa = set(base.account["service"].values), set(alt.account["service"].values)
    add("same services", sb == sa or None, f"{len(sb)} services" if sb == sa else f"only in BASE: {sorted(sb - sa)}; only in ALT: {sorted(sa - sb)}")
    zb, za = set(base.account["zone"].values.tolist()), set(alt.account["zone"].values.tolist())
    add("same zones", zb == za or None, f"{len(zb)} zones" if zb == za else f"only in BASE: {sorted(zb - za)}; only in ALT: {sorted(za - zb)}")
    return pd.DataFrame(rows)


def summary(base: Side, alt: Side, delta: pd.DataFrame) -> dict:
    """The ``--json`` document of ``gep compare``."""
    svc = by_service(delta)
    zones = by_zone(delta)
    gb, ga = float(base.account["value"].sum()), float(alt.account["value"].sum())

    def num(v):
        return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)

    return {
        "base": {"scenario": base.name, "year": base.year, "gep_total_cny": gb, "run_dir": base.run_dir},
        "alt": {"scenario": alt.name, "year": alt.year, "gep_total_cny": ga, "run_dir": alt.run_dir},
        "delta_gep_cny": ga - gb,
        "delta_gep_pct": (ga - gb) / gb if gb else None,
        "by_category": {r.category: num(r.delta_value_cny) for r in by_category(delta).itertuples()},
        "by_service": {
            r.service: {
                "category": r.category, "unit": r.unit,
                "delta_quantity": num(r.delta_quantity), "quantity_base": num(r.quantity_base), "quantity_alt": num(r.quantity_alt),
                "delta_value_cny": num(r.delta_value_cny), "value_base_cny": num(r.value_base_cny), "value_alt_cny": num(r.value_alt_cny),
                "delta_pct": num(r.delta_pct),
            }
            for r in svc.itertuples()
        },
        "by_zone": {str(r.zone_name): {"zone": int(r.zone), "delta_value_cny": num(r.delta_value_cny), "delta_pct": num(r.delta_pct)} for r in zones.itertuples()},
    }


# --------------------------------------------------------------------------- running a comparison


def load_side(path, label: str, out_dir, area=None, chunks: int | None = None, progress=None, command: str = KIND) -> Side:
    """One side of a comparison: a scenario (computed and written to ``out_dir/<label>``) or a run folder."""
    from gep.errors import InputError, ScenarioError
    from gep.accounting.account import carbon_stock_table
    from gep.io.outputs import read_run
    from gep.io.tables import read_csv
    from gep.jobs import run as runner

    path = Path(path)
    if path.is_dir():
        if area is not None:
            raise InputError(f"a parcel applies to scenarios, but {label} is a run folder ({path})", hint="give the scenario .toml, or a run folder that was itself run for that parcel", key="area")
        account, cells, doc = read_run(path)
        manifest = Manifest.from_dict(doc, str(path / "manifest.json")) if doc is not None else None
        run = manifest.record if manifest is not None and isinstance(manifest.record, RunRecord) else None
        name = (run.scenario.name if run is not None else None) or path.name
        carbon = read_csv(path / "carbon_stock.csv") if (path / "carbon_stock.csv").is_file() else None
        return Side(label, str(name), int(account.attrs.get("year", 0)), account, cells, manifest, str(path), carbon)
    if not path.is_file():
        raise InputError(f"{label} not found: {path}", hint="give a scenario .toml or a run folder written by `gep run`")
    job = runner.load(path, area=area, chunks=chunks)
    sc = job.scenario
    if sc.series is not None:
        raise ScenarioError(f"{path}: a multi-year series cannot be one side of a comparison", hint="compare two single-year scenarios, or two run folders of the series (<run>/<year>/)")
    written = runner.write(runner.compute(job, progress), Path(out_dir) / label.lower(), f"{command} ({label.lower()}: {path.name})")
    result = written.result
    return Side(label, sc.name, sc.year, result.account.data, result.cells, written.manifest, str(written.folder), carbon_stock_table(result.account))


@dataclass(frozen=True)
class Comparison:
    """A computed comparison: the Δ tables, the per-cell Δ map, the checks and the summary document."""

    base: Side
    alt: Side
    delta: pd.DataFrame
    by_service: pd.DataFrame
    by_zone: pd.DataFrame
    by_category: pd.DataFrame
    cells: xr.DataArray | None
    transitions: pd.DataFrame
    checks: pd.DataFrame
    doc: dict
    #: Change of the carbon stock per zone and pool (None unless both sides have one).
    carbon: pd.DataFrame | None = None


def default_folder(base, alt) -> Path:
    """``runs/compare-<base>-vs-<alt>/``."""
    import re

    return Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"compare-{Path(base).stem}-vs-{Path(alt).stem}")


def load(base, alt, out_dir, *, area=None, chunks: int | None = None, status=None, command: str = KIND) -> tuple[Side, Side]:
    """The two sides: a scenario is computed and written as a run into ``out_dir/base`` or ``out_dir/alt``; a run folder is read.

    ``status(label)`` returns a context manager shown while a side is loaded.
    """
    import contextlib

    from gep.errors import InputError

    base, alt = Path(base), Path(alt)
    if area is not None and not Path(area).is_file():
        raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon", key="area")
    shown = status or (lambda _label: contextlib.nullcontext())
    with shown("BASE"):
        b = load_side(base, "BASE", out_dir, area, chunks, command=command)
    with shown("ALT"):
        a = b if (alt.resolve() == base.resolve() and base.is_file()) else load_side(alt, "ALT", out_dir, area, chunks, command=command)
    return b, (replace(b, label="ALT") if a is b else a)


def compute(sides: tuple[Side, Side], progress: Callable[[str], None] | None = None) -> Comparison:
    """The Δ tables, per-cell Δ map, land-cover transitions, checks and summary of two sides."""
    base, alt = sides
    why = unrelated(base.account, alt.account, base.cells, alt.cells)
    if why:
        raise InputError(f"refusing to compare unrelated regions: {why}", hint="compare two scenarios or runs of the same region (same zone table and grid)")
    delta = delta_table(base.account, alt.account)
    cells = delta_cells(base.cells, alt.cells)
    carbon = carbon_stock_delta(base.carbon, alt.carbon)
    doc = summary(base, alt, delta)
    if carbon is not None:
        doc["carbon_stock"] = {"base_tc": float(carbon["total_base_tc"].sum()), "alt_tc": float(carbon["total_alt_tc"].sum()),
                               "delta_tc": float(carbon["total_delta_tc"].sum()),
                               "by_pool": {p[:-9]: float(carbon[p].sum()) for p in carbon.columns if p.endswith("_delta_tc") and p != "total_delta_tc"}}
    return Comparison(base, alt, delta, by_service(delta), by_zone(delta), by_category(delta), cells,
                      landcover_transitions(base.cells, alt.cells), checks(base, alt, delta, cells), doc, carbon)


def write(comparison: Comparison, out_dir, command: str = KIND) -> Written[Comparison]:
    """Write the comparison's tables, charts, workbook and manifest into ``out_dir``, whole or not at all
    (:func:`gep.jobs.job.output_folder`; see :func:`_write_into`)."""
    folder = Path(out_dir)
    with output_folder(folder, KIND) as tmp:
        written = _write_into(comparison, tmp, command)
    return _placed(written, tmp, folder)


def _placed(written: "Written[Comparison]", tmp: Path, folder: Path) -> "Written[Comparison]":
    """A comparison written into ``tmp``, with the paths its document names as they are once ``tmp`` is ``folder``."""
    doc = dict(written.result.doc)
    doc["out_dir"] = str(folder)
    for side in ("base", "alt"):
        if doc[side].get("run_dir"):
            doc[side] = dict(doc[side], run_dir=rebased(doc[side]["run_dir"], tmp, folder))
    return Written(replace(written.result, doc=doc), folder, written.manifest)


def _write_into(comparison: Comparison, out_dir, command: str = KIND) -> Written[Comparison]:
    """Write the comparison's tables, charts, workbook and manifest into ``out_dir``.

    The manifest (kind ``gep compare``) records each side's run folder and the
    SHA-256 of its ``manifest.json``, ``account.nc`` and ``cells.nc`` (paths
    relative to ``out_dir``), so that ``gep replay`` can check them and recompute
    the comparison from them (a parcel is recorded in each side's own manifest).
    The returned comparison's document names the folder, the outputs and the checks.
    """
    from gep.audit import manifest as mf
    from gep.audit import provenance
    from gep.io import charts as report
    from gep.io import outputs, workbook
    from gep.io.raster import georeferenced, is_geographic

    c = comparison
    base, alt, delta, svc, zones, cats, cells, transitions, chk = c.base, c.alt, c.delta, c.by_service, c.by_zone, c.by_category, c.cells, c.transitions, c.checks
    doc = dict(c.doc)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ["delta.csv", "delta.parquet", "delta_by_service.csv", "delta_by_zone.csv", "compare.xlsx", "waterfall.png", "zones.png"]
    outputs.write_csv(delta, out / "delta.csv")
    outputs.write_parquet(delta, out / "delta.parquet")
    outputs.write_csv(svc, out / "delta_by_service.csv")
    outputs.write_csv(zones, out / "delta_by_zone.csv")
    gb, ga = doc["base"]["gep_total_cny"], doc["alt"]["gep_total_cny"]
    title = f"{alt.name} vs {base.name}"
    report.waterfall(svc, gb, ga, out / "waterfall.png", f"ΔGEP by service: {title}")
    report.zone_bars(delta, out / "zones.png", f"ΔGEP by zone and service: {title}")
    if cells is not None:
        transform = base.cells.attrs.get("transform")
        transform = (1.0, 0.0, 0.0, 0.0, -1.0, 0.0) if transform is None else [float(v) for v in np.asarray(transform).ravel()]
        crs = str(base.cells.attrs.get("crs", ""))
        geographic = is_geographic(crs)
        zone_index = base.cells["zone_index"].values if "zone_index" in base.cells else None
        report.delta_map(np.asarray(cells.values), np.asarray(base.cells["cell_area"].values), zone_index, transform, geographic, out / "delta_map.png", f"Change of GEP per cell: {title}")
        outputs.write_netcdf(georeferenced(xr.Dataset({"delta_gep_value": cells.astype(np.float32)}, attrs={k: base.cells.attrs[k] for k in ("crs", "transform") if k in base.cells.attrs})), out / "delta_cells.nc")
        files += ["delta_map.png", "delta_cells.nc"]
    fmt = {"quantity_base": workbook.QTY, "quantity_alt": workbook.QTY, "delta_quantity": workbook.QTY, "value_base_cny": workbook.CNY, "value_alt_cny": workbook.CNY, "delta_value_cny": workbook.CNY, "delta_pct": workbook.PCT}
    zfmt = {col: workbook.CNY for col in zones.columns if col.endswith("_cny")} | {"delta_pct": workbook.PCT}
    readme = _readme(base, alt, doc, out)
    inputs = _inputs_sheet(base, alt, transitions)
    sheets = [
        workbook.Sheet("README", readme, widths={"item": 34, "value": 120}),
        workbook.Sheet("inputs", inputs, widths={"side": 8, "kind": 14, "name": 34, "detail": 70, "sha256": 66}),
        workbook.Sheet("results", delta, formats=fmt),
        workbook.Sheet("by_service", svc, formats=fmt),
        workbook.Sheet("by_zone", zones, formats=zfmt),
        workbook.Sheet("by_category", cats, formats=fmt),
        workbook.Sheet("checks", chk, widths={"check": 40, "status": 8, "detail": 110}),
    ]
    if c.carbon is not None:
        outputs.write_csv(c.carbon, out / "carbon_stock_delta.csv")
        files.append("carbon_stock_delta.csv")
        sheets.append(workbook.Sheet("carbon_stock", c.carbon, formats={col: workbook.QTY for col in c.carbon.columns if col.endswith("_tc")}))
    workbook.write_workbook(out / "compare.xlsx", sheets)
    doc["out_dir"] = str(out)
    doc["outputs"] = sorted(files)
    doc["checks"] = {r.check: r.status for r in chk.itertuples()}
    if len(transitions):
        doc["landcover_transitions"] = json.loads(transitions.to_json(orient="records"))
    manifest = mf.Manifest(
        kind=KIND, command=command, record=CompareRecord(_side_record(base, out), _side_record(alt, out)),
        outputs=outputs.hashes(out, files),
        results={"delta_gep_cny": doc["delta_gep_cny"], "gep_base_cny": gb, "gep_alt_cny": ga,
                 "tolerance": DIGEST_TOLERANCE, "relative_tolerance": mf.RELATIVE_TOLERANCE},
        environment=provenance.environment(), rng=provenance.rng_record(None),
    )
    manifest, _, _ = mf.write(out, manifest)
    return Written(replace(comparison, doc=doc), out, manifest)


def _rel(path, start) -> str | None:
    import os

    if path is None:
        return None
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


#: Absolute tolerance [CNY] recorded for replaying a comparison's values (as ``gep run``).
DIGEST_TOLERANCE = 1e-3


def _side_record(side: Side, out) -> SideRef:
    """Manifest entry of one side: scenario name, run folder and SHA-256 of the files the comparison read."""
    from gep.io.files import sha256_file

    files = {}
    if side.run_dir is not None:
        for name in ("manifest.json", "account.nc", "cells.nc"):
            f = Path(side.run_dir) / name
            if f.is_file():
                files[name] = sha256_file(f)
    return SideRef(side.name, _rel(side.run_dir, out), _manifest_hash(side.run_dir), files)


def _manifest_hash(run_dir) -> str | None:
    from gep.io.files import sha256_file

    if run_dir is None or not (Path(run_dir) / "manifest.json").is_file():
        return None
    return sha256_file(Path(run_dir) / "manifest.json")


def _flatten(d, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    if isinstance(d, dict):
        for k in sorted(d):
            out += _flatten(d[k], f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, x in enumerate(d):
            out += _flatten(x, f"{prefix}[{i}]")
    else:
        out.append((prefix, json.dumps(d, ensure_ascii=False) if isinstance(d, (list, dict)) else str(d)))
    return out


def _readme(base: Side, alt: Side, doc: dict, out) -> pd.DataFrame:
    from gep.io.charts import money_scale

    div, lab = money_scale([doc["base"]["gep_total_cny"], doc["alt"]["gep_total_cny"]])
    rows = [
        ("what this is", f"Comparison of two GEP accounts: ALT = {alt.name} ({alt.year}) against BASE = {base.name} ({base.year}). Δ = ALT − BASE."),
        ("GEP BASE", f"{doc['base']['gep_total_cny'] / div:,.4f} {lab} per year"),
        ("GEP ALT", f"{doc['alt']['gep_total_cny'] / div:,.4f} {lab} per year"),
        ("ΔGEP", f"{doc['delta_gep_cny']:,.0f} CNY per year ({doc['delta_gep_pct']:+.3%})" if doc["delta_gep_pct"] is not None else f"{doc['delta_gep_cny']:,.0f} CNY per year"),
        ("sheet inputs", "the files each run read (with SHA-256), the scenario's change operations, and the land-cover transitions between the runs"),
        ("sheet results", "ΔGEP by zone × service with category: physical quantity (in the service's unit) and value (CNY) in BASE, ALT and Δ"),
        ("sheets by_service, by_zone, by_category", "the same summed"),
        ("sheet checks", "consistency checks (ok / note / FAIL)"),
        ("charts", "waterfall.png (service contributions), zones.png (per zone), delta_map.png (per cell, CNY/ha)"),
        ("money", "CNY per year at the accounting year's prices; quantities per year"),
    ]
    for side in (base, alt):
        rows.append((f"{side.label} run folder", str(_rel(side.run_dir, out))))
        shown = side.manifest.document("kind", "command", "scenario", "services", "coefficients", "changes", "results") if side.manifest is not None else {}
        for k, v in _flatten(shown):
            if k.startswith("scenario.resolved") or ".digests." in k:
                continue
            rows.append((f"{side.label} manifest: {k}", v[:30000]))
    return pd.DataFrame(rows, columns=["item", "value"])


def _inputs_sheet(base: Side, alt: Side, transitions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for side in (base, alt):
        run = side.run
        if run is None:
            continue
        for k, v in sorted(run.inputs.items()):
            rows.append({"side": side.label, "kind": "input file", "name": k, "detail": v.path, "sha256": v.sha256 or ""})
        for k, v in sorted(run.constants.items()):
            rows.append({"side": side.label, "kind": "constant", "name": k, "detail": f"{v.get('value')} {v.get('units')}", "sha256": ""})
        for o in run.coefficients.overrides or ():
            rows.append({"side": side.label, "kind": "override", "name": f"{o.get('parameter')}[{o.get('key')}]", "detail": f"{o.get('old')} → {o.get('new')} {o.get('unit')}", "sha256": ""})
        for e in run.operations:
            what = {k: e[k] for k in ("from", "to", "classes", "share", "input", "scale", "zones", "polygon", "mask", "cells", "area_ha", "share_before", "share_after") if k in e}
            rows.append({"side": side.label, "kind": f"change: {e.get('op')}", "name": e.get("label", ""), "detail": (e.get("note", "") + " " + json.dumps(what, ensure_ascii=False)).strip(), "sha256": ""})
        for k, v in sorted(run.change_files.items()):
            rows.append({"side": side.label, "kind": "change file", "name": k, "detail": "", "sha256": v})
        if run.parcel:
            p = run.parcel
            rows.append({"side": side.label, "kind": "parcel", "name": p.get("path", ""), "detail": f"{p.get('polygon_area_ha', 0):,.2f} ha; {p.get('method', '')}", "sha256": p.get("sha256", "")})
    for r in transitions.itertuples():
        rows.append({"side": "Δ", "kind": "land-cover change", "name": f"{int(r.from_code)} → {int(r.to_code)}", "detail": f"{int(r.cells)} cells, {r.area_ha:,.2f} ha", "sha256": ""})
    return pd.DataFrame(rows, columns=["side", "kind", "name", "detail", "sha256"])


def run(base, alt, out_dir=None, *, area=None, chunks: int | None = None, status=None, command: str = KIND,
        progress: Callable[[str], None] | None = None) -> Written[Comparison]:
    """Compare ALT against BASE (scenarios or run folders) and write the comparison.

    Parameters
    ----------
    base, alt : path
        A scenario ``.toml`` (computed and written into ``<out_dir>/base`` or ``alt``) or a run folder.
    out_dir : path, optional
        Default ``runs/compare-<base>-vs-<alt>/``.
    area : path, optional
        A GeoJSON parcel: compare the parcel's accounts.
    status : callable, optional
        ``status(label)`` returns a context manager shown while a side is computed.
    """
    folder = Path(out_dir) if out_dir else default_folder(base, alt)
    with output_folder(folder, KIND) as tmp:  # checked before anything is computed; the sides' runs are written inside
        written = _write_into(compute(load(base, alt, tmp, area=area, chunks=chunks, status=status, command=command), progress), tmp, command)
    return _placed(written, tmp, folder)


def replay(manifest: Manifest, run_dir, out_dir) -> None:
    """Recompute a recorded ``gep compare`` from its two recorded run folders into ``out_dir``.

    Returns None: the comparison's results are compared through its outputs.
    """
    record = manifest.record
    base = load_side((Path(run_dir) / record.base.run_dir).resolve(), "BASE", out_dir)
    alt = load_side((Path(run_dir) / record.alt.run_dir).resolve(), "ALT", out_dir)
    if record.base.run_dir == record.alt.run_dir:
        alt = replace(base, label="ALT")
    write(compute((base, alt)), out_dir, manifest.command or KIND)
    return None
