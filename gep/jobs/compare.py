"""Compare two accounts (``gep compare BASE ALT``): ΔGEP by zone × service × category.

Pure tables from two account datasets (:class:`gep.accounting.account.Account.data` or a
run's ``account.nc``) and their per-cell datasets (``cells.nc``):

* :func:`delta_table`: zone × service rows with category, unit, quantity and
  value in BASE and ALT and their differences (ALT − BASE);
* :func:`by_service`, :func:`by_zone`, :func:`by_category`: the same summed;
* :func:`delta_cells`: the per-cell change of value [CNY/yr per cell] when both
  runs share one grid (None otherwise);
* :func:`checks`: consistency checks listed in the workbook (totals add up, the
  per-cell map sums to the account, grids and coefficient sets agree).

Physical quantities are compared per service in the service's unit
(provisioning sums products of different units and has no single quantity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting.catalogue import CATEGORIES
from gep.audit.manifest import CompareRecord, Manifest, RunRecord, SideRef

DELTA_COLUMNS = [
    "zone", "zone_name", "category", "service", "unit",
    "quantity_base", "quantity_alt", "delta_quantity",
    "value_base_cny", "value_alt_cny", "delta_value_cny", "delta_pct",
]


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

    @property
    def run(self) -> RunRecord | None:
        """The ``gep run`` record of the side's manifest (None for a side without one)."""
        return self.manifest.record if self.manifest is not None and isinstance(self.manifest.record, RunRecord) else None


def _per_zone_service(ds: xr.Dataset) -> pd.DataFrame:
    q = ds["quantity"].sum("ecosystem", min_count=1).to_dataframe(name="quantity").reset_index()
    v = ds["value"].sum("ecosystem").to_dataframe(name="value").reset_index()
    df = q.merge(v[["zone", "service", "value"]], on=["zone", "service"])
    return df[["zone", "zone_name", "category", "service", "unit", "quantity", "value"]]


#: Differences below this fraction of the larger value are floating-point noise and reported as 0.
RELATIVE_NOISE = 1e-9


def _diff(b, a):
    """b − a, with differences within :data:`RELATIVE_NOISE` of the larger magnitude set to 0."""
    b, a = np.asarray(b, dtype=float), np.asarray(a, dtype=float)
    d = b - a
    return np.where(np.abs(d) <= RELATIVE_NOISE * np.maximum(np.abs(a), np.abs(b)), 0.0, d)


def delta_table(base: xr.Dataset, alt: xr.Dataset) -> pd.DataFrame:
    """ΔGEP by zone × service (ALT − BASE); see :data:`DELTA_COLUMNS`.

    Zones or services present on one side only count as 0 on the other.
    Quantities are compared only where both sides report the same unit.
    """
    a, b = _per_zone_service(base), _per_zone_service(alt)
    m = a.merge(b, on=["zone", "service"], how="outer", suffixes=("_base", "_alt"))
    for col in ("zone_name", "category", "unit"):
        m[col] = m[f"{col}_base"].where(m[f"{col}_base"].notna(), m[f"{col}_alt"])
    same_unit = (m["unit_base"] == m["unit_alt"]) | m["unit_base"].isna() | m["unit_alt"].isna()
    m["unit"] = np.where(same_unit, m["unit"], m["unit_base"].astype(str) + " | " + m["unit_alt"].astype(str))
    qa = m["quantity_base"].where(m["unit_base"].notna(), 0.0)
    qb = m["quantity_alt"].where(m["unit_alt"].notna(), 0.0)
    m["quantity_base"], m["quantity_alt"] = qa, qb
    m["delta_quantity"] = np.where(same_unit, _diff(qb, qa), np.nan)
    m["value_base_cny"] = m["value_base"].fillna(0.0)
    m["value_alt_cny"] = m["value_alt"].fillna(0.0)
    m["delta_value_cny"] = _diff(m["value_alt_cny"], m["value_base_cny"])
    with np.errstate(divide="ignore", invalid="ignore"):
        m["delta_pct"] = np.where(m["value_base_cny"] != 0, m["delta_value_cny"] / m["value_base_cny"], np.nan)
    order = {s: i for i, s in enumerate(list(base["service"].values) + [s for s in alt["service"].values if s not in base["service"].values])}
    m["_o"] = m["service"].map(order)
    return m.sort_values(["zone", "_o"])[DELTA_COLUMNS].reset_index(drop=True)


def _pct(d: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        d["delta_pct"] = np.where(d["value_base_cny"] != 0, d["delta_value_cny"] / d["value_base_cny"], np.nan)
    return d


def by_service(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per service (summed over zones): category, unit, quantities and values."""
    g = delta.groupby(["service"], sort=False).agg(
        category=("category", "first"), unit=("unit", "first"),
        quantity_base=("quantity_base", lambda s: s.sum(min_count=1)), quantity_alt=("quantity_alt", lambda s: s.sum(min_count=1)),
        delta_quantity=("delta_quantity", lambda s: s.sum(min_count=1)),
        value_base_cny=("value_base_cny", "sum"), value_alt_cny=("value_alt_cny", "sum"), delta_value_cny=("delta_value_cny", "sum"),
    ).reset_index()
    return _pct(g)


def by_zone(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per zone: value by category in BASE and ALT and ΔGEP."""
    rows = []
    for (zone, name), g in delta.groupby(["zone", "zone_name"], sort=True):
        row = {"zone": int(zone), "zone_name": name}
        for c in CATEGORIES:
            row[f"delta_{c}_cny"] = float(g.loc[g["category"] == c, "delta_value_cny"].sum())
        row["gep_base_cny"] = float(g["value_base_cny"].sum())
        row["gep_alt_cny"] = float(g["value_alt_cny"].sum())
        row["delta_value_cny"] = row["gep_alt_cny"] - row["gep_base_cny"]
        rows.append(row)
    d = pd.DataFrame(rows).rename(columns={"gep_base_cny": "value_base_cny", "gep_alt_cny": "value_alt_cny"})
    return _pct(d)


def by_category(delta: pd.DataFrame) -> pd.DataFrame:
    """Δ per category (provisioning, regulating, cultural)."""
    g = delta.groupby("category")[["value_base_cny", "value_alt_cny", "delta_value_cny"]].sum().reindex(list(CATEGORIES), fill_value=0.0).reset_index()
    return _pct(g)


def same_grid(a: xr.Dataset | None, b: xr.Dataset | None) -> bool:
    """True when two cell datasets share shape, transform and CRS."""
    if a is None or b is None or "gep_value" not in a or "gep_value" not in b:
        return False
    if a["gep_value"].shape != b["gep_value"].shape:
        return False
    ta, tb = a.attrs.get("transform"), b.attrs.get("transform")
    if ta is not None and tb is not None and not np.allclose(np.asarray(ta, float), np.asarray(tb, float)):
        return False
    return a.attrs.get("crs", "") == b.attrs.get("crs", "")


def delta_cells(base: xr.Dataset | None, alt: xr.Dataset | None) -> xr.DataArray | None:
    """Per-cell ΔGEP [CNY/yr per cell] (ALT − BASE), or None when the grids differ."""
    if not same_grid(base, alt):
        return None
    d = alt["gep_value"].astype(np.float64) - base["gep_value"].astype(np.float64)
    return d.assign_attrs(units="CNY/yr", long_name="change of GEP per cell (ALT − BASE)")


def landcover_transitions(base: xr.Dataset | None, alt: xr.Dataset | None) -> pd.DataFrame:
    """Area [ha] of every land-cover transition ``from → to`` between the runs (changed cells only)."""
    cols = ["from_code", "to_code", "cells", "area_ha"]
    if not same_grid(base, alt) or "landcover" not in base or "landcover" not in alt:
        return pd.DataFrame(columns=cols)
    a = np.asarray(base["landcover"].values).ravel().astype(np.int64)
    b = np.asarray(alt["landcover"].values).ravel().astype(np.int64)
    area = np.asarray(base["cell_area"].values, dtype=np.float64).ravel()
    ch = (a != b) & (a > 0) & (b > 0)
    if not ch.any():
        return pd.DataFrame(columns=cols)
    key = a[ch] * 100000 + b[ch]
    u, inv = np.unique(key, return_inverse=True)
    return pd.DataFrame({"from_code": u // 100000, "to_code": u % 100000, "cells": np.bincount(inv), "area_ha": np.bincount(inv, weights=area[ch]) / 1e4})


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


def load_side(path, label: str, out_dir, area=None, chunks: int | None = None, progress=None, command: str = "gep compare") -> Side:
    """One side of a comparison: a scenario (computed and written to ``out_dir``) or a run folder."""
    from pathlib import Path

    from gep.jobs import run as runner
    from gep.errors import InputError
    from gep.io.outputs import read_run

    path = Path(path)
    if path.is_dir():
        if area is not None:
            raise InputError(f"a parcel applies to scenarios, but {label} is a run folder ({path})", hint="give the scenario .toml, or a run folder that was itself run for that parcel", key="area")
        account, cells, doc = read_run(path)
        manifest = Manifest.from_dict(doc, str(path / "manifest.json")) if doc is not None else None
        run = manifest.record if manifest is not None and isinstance(manifest.record, RunRecord) else None
        name = (run.scenario.name if run is not None else None) or path.name
        return Side(label, str(name), int(account.attrs.get("year", 0)), account, cells, manifest, str(path))
    if not path.is_file():
        raise InputError(f"{label} not found: {path}", hint="give a scenario .toml or a run folder written by `gep run`")
    job = runner.load(path, area=area, chunks=chunks)
    sc = job.scenario
    if sc.series is not None:
        from gep.errors import ScenarioError

        raise ScenarioError(f"{path}: a multi-year series cannot be one side of a comparison", hint="compare two single-year scenarios, or two run folders of the series (<run>/<year>/)")
    result = runner.compute(job, progress)
    folder = runner.write(result, Path(out_dir) / label.lower(), f"{command} ({label.lower()}: {path.name})")
    return Side(label, sc.name, sc.year, result.account.data, result.cells, result.manifest, str(folder))


def write_compare(base: Side, alt: Side, out_dir, command: str = "gep compare") -> tuple[dict, list[str]]:
    """Write the comparison's tables, charts, workbook and manifest into ``out_dir``; return (summary, files).

    The manifest (kind ``gep compare``, written with :func:`gep.audit.manifest.write`)
    records each side's run folder and the SHA-256 of its ``manifest.json``,
    ``account.nc`` and ``cells.nc`` (paths relative to ``out_dir``), so that
    ``gep replay`` can check them and recompute the comparison from them
    (a parcel, ``--area``, is recorded in each side's own manifest).
    """
    from pathlib import Path

    from gep.audit import manifest as mf
    from gep.audit import provenance
    from gep.io import charts as report
    from gep.io import outputs, workbook

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    delta = delta_table(base.account, alt.account)
    svc, zones, cats = by_service(delta), by_zone(delta), by_category(delta)
    cells = delta_cells(base.cells, alt.cells)
    transitions = landcover_transitions(base.cells, alt.cells)
    chk = checks(base, alt, delta, cells)
    doc = summary(base, alt, delta)
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
        geographic = _is_geographic(crs)
        zone_index = base.cells["zone_index"].values if "zone_index" in base.cells else None
        report.delta_map(np.asarray(cells.values), np.asarray(base.cells["cell_area"].values), zone_index, transform, geographic, out / "delta_map.png", f"Change of GEP per cell: {title}")
        outputs.write_netcdf(xr.Dataset({"delta_gep_value": cells.astype(np.float32)}, attrs={k: base.cells.attrs[k] for k in ("crs", "transform") if k in base.cells.attrs}), out / "delta_cells.nc")
        files += ["delta_map.png", "delta_cells.nc"]
    fmt = {"quantity_base": workbook.QTY, "quantity_alt": workbook.QTY, "delta_quantity": workbook.QTY, "value_base_cny": workbook.CNY, "value_alt_cny": workbook.CNY, "delta_value_cny": workbook.CNY, "delta_pct": workbook.PCT}
    zfmt = {c: workbook.CNY for c in zones.columns if c.endswith("_cny")} | {"delta_pct": workbook.PCT}
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
    workbook.write_workbook(out / "compare.xlsx", sheets)
    doc["out_dir"] = str(out)
    doc["outputs"] = sorted(files)
    doc["checks"] = {r.check: r.status for r in chk.itertuples()}
    if len(transitions):
        doc["landcover_transitions"] = json.loads(transitions.to_json(orient="records"))
    manifest = mf.Manifest(
        kind=CompareRecord.KIND, command=command, record=CompareRecord(_side_record(base, out), _side_record(alt, out)),
        outputs=outputs.hashes(out, files),
        results={"delta_gep_cny": doc["delta_gep_cny"], "gep_base_cny": gb, "gep_alt_cny": ga,
                 "tolerance": DIGEST_TOLERANCE, "relative_tolerance": mf.RELATIVE_TOLERANCE},
        environment=provenance.environment(), rng=provenance.rng_record(None),
    )
    mf.write(out, manifest)
    return doc, files


def _is_geographic(crs: str) -> bool:
    if not crs:
        return False
    try:
        from pyproj import CRS

        return bool(CRS.from_user_input(crs).is_geographic)
    except Exception:  # unreadable CRS string: treat as projected
        return False


def _rel(path, start) -> str | None:
    import os
    from pathlib import Path

    if path is None:
        return None
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


#: Absolute tolerance [CNY] recorded for replaying a comparison's values (as ``gep run``).
DIGEST_TOLERANCE = 1e-3


def _side_record(side: Side, out) -> SideRef:
    """Manifest entry of one side: scenario name, run folder and SHA-256 of the files the comparison read."""
    from pathlib import Path

    from gep.io.files import sha256_file

    files = {}
    if side.run_dir is not None:
        for name in ("manifest.json", "account.nc", "cells.nc"):
            f = Path(side.run_dir) / name
            if f.is_file():
                files[name] = sha256_file(f)
    return SideRef(side.name, _rel(side.run_dir, out), _manifest_hash(side.run_dir), files)


def _manifest_hash(run_dir) -> str | None:
    from pathlib import Path

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


def run(base, alt, out_dir=None, *, area=None, chunks: int | None = None, status=None, command: str = "gep compare") -> dict:
    """Compare ALT against BASE (scenarios or run folders) and write the comparison; return its summary.

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
    import contextlib
    import dataclasses
    import re
    from pathlib import Path

    from gep.errors import InputError

    base, alt = Path(base), Path(alt)
    if area is not None and not Path(area).is_file():
        raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon", key="area")
    folder = Path(out_dir) if out_dir else Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"compare-{base.stem}-vs-{alt.stem}")
    shown = status or (lambda _label: contextlib.nullcontext())
    with shown("BASE"):
        b = load_side(base, "BASE", folder, area, chunks)
    with shown("ALT"):
        a = b if (alt.resolve() == base.resolve() and base.is_file()) else load_side(alt, "ALT", folder, area, chunks)
    if a is b:
        a = dataclasses.replace(b, label="ALT")
    doc, _ = write_compare(b, a, folder, command)
    return doc


def replay(manifest: Manifest, run_dir, out_dir) -> None:
    """Recompute a recorded ``gep compare`` from its two recorded run folders into ``out_dir``.

    Returns None: the comparison's results are compared through its outputs.
    """
    import dataclasses
    from pathlib import Path

    record = manifest.record
    base = load_side((Path(run_dir) / record.base.run_dir).resolve(), "BASE", out_dir)
    alt = load_side((Path(run_dir) / record.alt.run_dir).resolve(), "ALT", out_dir)
    if record.base.run_dir == record.alt.run_dir:
        alt = dataclasses.replace(base, label="ALT")
    write_compare(base, alt, out_dir, manifest.command or CompareRecord.KIND)
    return None
