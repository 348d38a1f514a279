"""``gep bond coverage``: load the debt and the revenue file, simulate, write the outputs.

Outputs in the run folder (default ``runs/<debt-name>-coverage-<hash>/``, the
hash covering the debt file, the revenue file, every file they reference and
the options):

``coverage.csv``
    One row per debt-service date (UTF-8 with BOM, for Excel).
``coverage.json``
    Inputs as resolved (streams, calibrations, loan terms), simulation settings,
    summary measures, the per-period table and the checks (canonical JSON).
``coverage.xlsx``
    Sheets ``inputs``, ``cash_flows``, ``results``, ``checks`` for finance users
    (deterministic bytes: fixed zip and document dates).
``coverage_fan.png``
    Fan chart of revenue against debt service and of the DSCR (5–95 % band, median).
``manifest.json``
    Kind ``gep bond coverage``: SHA-256 of the debt and revenue files and of
    every referenced manifest and output file (each output checked against its
    manifest before use), ledger tree heads, seed and generator, parameters,
    package and library versions, output hashes, the previous manifest's hash.
    No timestamps, no absolute paths.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gep import provenance
from gep.errors import InputError
from gep.finance.coverage import Coverage, coverage, debt_service
from gep.finance.loan import PUBLISHED_LENDING_RATIOS
from gep.finance.revenue import CreditSales, FixedFee, GovernmentPurchase, simulate_stream, stream_generator
from gep.io import outputs
from gep.io.bondfile import Debt, load_debt
from gep.io.coefficient_files import sha256_file
from gep.io.revenuefile import RevenueSpec, load_revenue, portable_path

__all__ = ["CoverageRun", "run_coverage", "OUTPUTS", "KIND"]

KIND = "gep bond coverage"
OUTPUTS = ("coverage.csv", "coverage.json", "coverage.xlsx", "coverage_fan.png")
#: Default number of Monte Carlo paths.
DEFAULT_PATHS = 10_000
#: Largest number of paths accepted (memory: 8 bytes × paths × periods × streams).
MAX_PATHS = 1_000_000
#: Price histories shorter than this many log returns get a warning in the checks.
SHORT_HISTORY = 30


@dataclass
class CoverageRun:
    """A finished coverage run: inputs, result, the report document and the folder."""

    debt: Debt
    revenue: RevenueSpec
    result: Coverage
    doc: dict
    folder: Path
    manifest: dict


# --------------------------------------------------------------------------- documents


def _debt_doc(debt: Debt) -> dict:
    b = debt.bond
    out = {"type": "loan" if debt.loan is not None else "bond", "name": b.name, "face_cny": b.face,
           "coupon_rate": b.coupon_rate, "frequency": b.frequency, "issue_date": b.issue_date.isoformat(),
           "maturity_date": b.maturity_date.isoformat(), "day_count": b.day_count}
    if debt.loan is not None:
        out["loan"] = debt.loan.as_dict()
    if debt.waterfall:
        out["waterfall"] = debt.waterfall.as_dict()
    if b.calendar:  # payment dates adjusted: record the calendar and its data source
        from gep.finance.calendar import get_calendar

        out["calendar"] = {**get_calendar(b.calendar).as_dict(), "convention": b.business_day_convention,
                           "accrual": b.accrual, "beyond_range": b.calendar_beyond_range}
    return out


def _stream_doc(s: Any) -> dict:
    out = {"name": s.name, "kind": s.kind, "growth": s.growth,
           "start_date": s.active_from.isoformat() if s.active_from else None,
           "end_date": s.active_to.isoformat() if s.active_to else None, "source": dict(s.source)}
    if isinstance(s, CreditSales):
        out.update(volume_per_yr=s.volume, unit=s.unit, share=s.share, price=s.price.as_dict(),
                   price_unit=f"CNY per {s.unit}")
    elif isinstance(s, GovernmentPurchase):
        out.update(gep_cny_per_yr=s.gep, share=s.share, basis=s.basis, base_gep_cny_per_yr=s.base_gep,
                   volatility=s.volatility)
    elif isinstance(s, FixedFee):
        out.update(amount_cny_per_yr=s.amount, volatility=s.volatility)
    return out


def _period_rows(cov: Coverage) -> list[dict]:
    ds = cov.debt
    p = ds.periods
    q = [f"p{x:g}" for x in cov.percentiles]
    rows = []
    for k in range(len(ds)):
        r = {"period": k + 1, "start": p.start[k].isoformat(), "payment_date": p.end[k].isoformat(),
             "time_years": float(p.time[k]), "period_years": float(p.years[k]),
             "outstanding_cny": float(ds.outstanding[k]), "coupon_cny": float(ds.coupon[k]),
             "principal_cny": float(ds.principal[k]), "debt_service_cny": float(ds.amount[k]),
             "revenue_mean_cny": float(cov.revenue_mean[k]), "revenue_mean_se_cny": _f(cov.revenue_mean_se[k])}
        r.update({f"revenue_{n}_cny": float(cov.revenue_pct[i, k]) for i, n in enumerate(q)})
        r["dscr_of_mean_revenue"] = _f(cov.dscr_of_mean[k])
        r["dscr_mean"], r["dscr_mean_se"] = _f(cov.dscr_mean[k]), _f(cov.dscr_mean_se[k])
        r.update({f"dscr_{n}": _f(cov.dscr_pct[i, k]) for i, n in enumerate(q)})
        r["p_dscr_below_1"] = float(cov.p_breach[k]) if ds.amount[k] > 0 else None
        r["p_dscr_below_1_se"] = float(cov.se_breach[k]) if ds.amount[k] > 0 else None
        r.update({f"llcr_{n}": _f(cov.llcr_pct[i, k]) for i, n in enumerate(q)})
        if cov.reserve is not None:  # waterfall: reserve account and cash sweep
            r.update({(key if key.startswith("p_") else f"{key}_cny"): float(v[k])
                      for key, v in cov.reserve["periods"].items()})
        rows.append(r)
    return rows


def _f(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _checks(debt: Debt, spec: RevenueSpec, cov: Coverage) -> list[dict]:
    ds = cov.debt
    out = [
        {"check": "principal repaid equals the face", "status": "ok" if abs(ds.principal.sum() - ds.face) <= 1e-6 * ds.face else "fail",
         "value": float(ds.principal.sum()), "note": f"face {ds.face:,.2f} CNY"},
        {"check": "PV of debt service at the discount rate / debt outstanding", "status": "info",
         "value": cov.pv_debt_service / ds.face,
         "note": "1 when the discount rate equals the coupon rate of a regular-period debt"},
        {"check": "Monte Carlo standard error of P(DSCR < 1 in any period)", "status": "info",
         "value": cov.se_breach_any, "note": f"{cov.n_paths} paths; halve it with 4× the paths"},
    ]
    checked = sum(len(r.record.get("outputs", {})) for r in spec.references) + sum(
        len(r.get("outputs", {})) for r in debt.references)
    if checked:
        out.insert(1, {"check": "run outputs match their manifests (SHA-256)", "status": "ok", "value": checked,
                       "note": "every account.csv / credits.csv used was hashed and compared with its manifest"})
    if cov.p_breach_any == 0:
        out.append({"check": "no simulated breach", "status": "info", "value": 3.0 / cov.n_paths,
                    "note": "95 % upper bound of P(DSCR < 1) by the rule of three (3/N)"})
    if debt.loan is not None and debt.loan.lending_ratio is not None:
        lo, hi = PUBLISHED_LENDING_RATIOS
        ok = lo <= debt.loan.lending_ratio <= hi
        out.append({"check": "lending ratio within published GEP-backed loans (0.1 %–48 % of GEP)",
                    "status": "ok" if ok else "warning", "value": debt.loan.lending_ratio, "note": ""})
    if any(ds.amount == 0):
        out.append({"check": "periods without debt service", "status": "info", "value": int(np.sum(ds.amount == 0)),
                    "note": "DSCR undefined there; their revenue is not carried forward"})
    for s in spec.streams:
        if isinstance(s, CreditSales) and s.price.calibration is not None:
            c = s.price.calibration
            out.append({"check": f'price history of "{s.name}": log returns', "status":
                        "warning" if c.n_returns < SHORT_HISTORY else "ok", "value": c.n_returns,
                        "note": f"{c.first_date} to {c.last_date}; fewer than {SHORT_HISTORY} returns make σ uncertain"})
            if "drift" not in s.price.given and abs(c.log_drift) < 2 * c.se_log_drift:
                out.append({"check": f'estimated drift of "{s.name}" is not significant', "status": "warning",
                            "value": c.drift, "note": f"|ν̂| = {abs(c.log_drift):.4f} < 2·se = {2 * c.se_log_drift:.4f}; "
                            "consider a given drift (e.g. 0)"})
    return out


# --------------------------------------------------------------------------- files


def _csv(rows: list[dict], path: Path) -> None:
    outputs.write_csv(pd.DataFrame(rows), path)


def _xlsx(doc: dict, rows: list[dict], path: Path) -> None:
    """Workbook with inputs, cash flows, results and checks; fixed dates so the bytes are reproducible."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise InputError("openpyxl is not installed", hint="pip install openpyxl") from exc
    import datetime

    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "inputs"
    ws.append(["item", "value", "unit / note"])
    d = doc["debt"]
    for key, unit in (("type", ""), ("name", ""), ("face_cny", "CNY"), ("coupon_rate", "1/yr"), ("frequency", "per yr"),
                      ("issue_date", ""), ("maturity_date", ""), ("day_count", "")):
        ws.append([f"debt {key}", d[key], unit])
    for key, value in sorted((d.get("loan") or {}).items()):
        ws.append([f"loan {key}", value, ""])
    for key, value in _flat(d.get("waterfall") or {}).items():
        ws.append([f"waterfall {key}", value, "CNY, months, 1/yr or share"])
    sim = doc["simulation"]
    for key in ("paths", "seed", "generator", "stream_generators", "discount_rate"):
        ws.append([f"simulation {key}", sim[key], ""])
    for s in doc["revenue"]["streams"]:
        for key, value in s.items():
            if isinstance(value, dict):
                for k2, v2 in _flat(value).items():
                    ws.append([f'stream "{s["name"]}" {key}.{k2}', v2, ""])
            elif key != "name":
                ws.append([f'stream "{s["name"]}" {key}', value, ""])
    for ref in doc["inputs"]:
        ws.append([f"file {ref['role']}", ref.get("path") or ref.get("ledger"), ref.get("sha256") or ref.get("records_sha256")])

    cf = wb.create_sheet("cash_flows")
    names = list(doc["revenue_means"])
    head = ["period", "payment_date", "outstanding_cny", "coupon_cny", "principal_cny", "debt_service_cny"]
    head += [f"mean: {n} [CNY]" for n in names] + ["revenue_mean_cny", "revenue_p5_cny", "revenue_p50_cny", "revenue_p95_cny"]
    cf.append(head)
    for k, r in enumerate(rows):
        cf.append([r["period"], r["payment_date"], r["outstanding_cny"], r["coupon_cny"], r["principal_cny"],
                   r["debt_service_cny"]] + [doc["revenue_means"][n][k] for n in names]
                  + [r["revenue_mean_cny"], r["revenue_p5_cny"], r["revenue_p50_cny"], r["revenue_p95_cny"]])

    res = wb.create_sheet("results")
    res.append(["measure", "value"])
    for k, v in _flat(doc["summary"]).items():
        res.append([k, v])
    res.append([])
    cols = ["period", "payment_date", "revenue_mean_cny", "revenue_mean_se_cny", "dscr_of_mean_revenue", "dscr_mean",
            "dscr_mean_se", "dscr_p5", "dscr_p50", "dscr_p95", "p_dscr_below_1", "p_dscr_below_1_se", "llcr_p5",
            "llcr_p50", "llcr_p95"]
    cols += [c for c in rows[0] if c not in cols and c not in head and c != "start"]
    start = res.max_row + 1
    res.append(cols)
    for r in rows:
        res.append([r[c] for c in cols])

    ck = wb.create_sheet("checks")
    ck.append(["check", "status", "value", "note"])
    for c in doc["checks"]:
        ck.append([c["check"], c["status"], c["value"], c["note"]])
    for sheet, bold_rows in ((ws, [1]), (cf, [1]), (res, [1, start]), (ck, [1])):
        for r in bold_rows:
            for cell in sheet[r]:
                cell.font = bold
        sheet.column_dimensions["A"].width = 48
    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.creator = "gep"
    wb.properties.created = fixed
    buf = io.BytesIO()
    wb.save(buf)
    _normalise_zip(buf.getvalue(), path)


def _normalise_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx with fixed entry dates and document dates (reproducible bytes)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2000-01-01T00:00:00Z\g<3>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    path.write_bytes(out.getvalue())


def _flat(d: Any, prefix: str = "") -> dict:
    if isinstance(d, dict):
        out: dict = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(d, list):
        return {prefix[:-1]: ", ".join(str(x) for x in d)}
    return {prefix[:-1]: d}


def _fan(cov: Coverage, title: str, path: Path) -> None:
    """Fan chart: revenue (5–95 % band, median, mean) vs debt service; DSCR band and median."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = cov.debt
    t = ds.periods.time
    lo, mid, hi = 0, len(cov.percentiles) // 2, len(cov.percentiles) - 1
    fig, (a, b) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    scale = 1e6
    a.fill_between(t, cov.revenue_pct[lo] / scale, cov.revenue_pct[hi] / scale, alpha=0.3, color="tab:green",
                   label=f"revenue p{cov.percentiles[lo]:g}–p{cov.percentiles[hi]:g}")
    a.plot(t, cov.revenue_pct[mid] / scale, color="tab:green", label="revenue median")
    a.plot(t, cov.revenue_mean / scale, color="tab:green", ls=":", label="revenue mean")
    a.plot(t, ds.amount / scale, color="black", marker="s", ms=4, ls="--", lw=1, label="debt service")
    a.set_ylabel("CNY million per period")
    a.legend(fontsize=8, loc="upper left")
    a.set_title(title, fontsize=10)
    pay = ds.amount > 0
    b.fill_between(t[pay], cov.dscr_pct[lo][pay], cov.dscr_pct[hi][pay], alpha=0.3, color="tab:blue",
                   label=f"DSCR p{cov.percentiles[lo]:g}–p{cov.percentiles[hi]:g}")
    b.plot(t[pay], cov.dscr_pct[mid][pay], color="tab:blue", marker="o", ms=3, label="DSCR median")
    b.axhline(1.0, color="red", lw=1, label="DSCR = 1")
    b.set_ylabel("DSCR [-]")
    b.set_xlabel("years from the start of the debt")
    b.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- run


def _relpath(path: Path, start: Path) -> str:
    """``path`` relative to ``start``; just the file name when that would climb to the root.

    A relative path that climbs to the file-system root spells out the absolute
    location (``../../home/ann/...``); the SHA-256 identifies the file anyway.
    """
    return portable_path(path, start)


def run_coverage(bond_path: str | Path, revenue_path: str | Path, *, paths: int = DEFAULT_PATHS, seed: int = 0,
                 out: str | Path | None = None, discount_rate: float | None = None,
                 max_breach: float | None = None, target_dscr: float = 1.0,
                 command: str = KIND) -> CoverageRun:
    """Load, simulate, measure and write a coverage run.

    Parameters
    ----------
    bond_path : path
        Bond file or loan file (``[loan]``).
    revenue_path : path
        Revenue file.
    paths : int
        Monte Carlo paths, 1 … :data:`MAX_PATHS`.
    seed : int
        Seed of ``numpy.random.PCG64``, ≥ 0.
    out : path, optional
        Output folder (default ``runs/<debt-name>-coverage-<hash>/``).
    discount_rate : float, optional
        LLCR discount rate [1/yr]; default the revenue file's
        ``[coverage] discount_rate``, else the debt's coupon rate.
    max_breach : float, optional
        Sizing threshold ``α`` of ``P(min DSCR < target_dscr)``.
    target_dscr : float
        DSCR covenant of the sizing.
    command : str
        Command line recorded in the manifest.

    Returns
    -------
    CoverageRun
    """
    if isinstance(paths, bool) or not isinstance(paths, int) or not 1 <= paths <= MAX_PATHS:
        raise InputError(f"paths must be a whole number in [1, {MAX_PATHS:,}], got {paths!r}", hint="e.g. --paths 10000",
                         where="--paths")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a whole number ≥ 0, got {seed!r}", hint="e.g. --seed 42", where="--seed")
    if max_breach is not None and not 0.0 <= max_breach < 1.0:
        raise InputError(f"max breach probability must be in [0, 1), got {max_breach}", hint='e.g. "5%"',
                         where="--max-breach")
    if not target_dscr > 0 or not math.isfinite(target_dscr):
        raise InputError(f"target DSCR must be positive, got {target_dscr}", hint="e.g. 1.2", where="--target-dscr")
    bond_path, revenue_path = Path(bond_path), Path(revenue_path)
    debt = load_debt(bond_path)
    spec = load_revenue(revenue_path)
    rate = discount_rate if discount_rate is not None else spec.discount_rate
    if rate is None and debt.bond.coupon_rate == 0:
        raise InputError("a zero-coupon bond has no coupon rate to discount the LLCR at",
                         hint="give --discount-rate (e.g. its yield) or [coverage] discount_rate", where="--discount-rate")
    ds = debt_service(debt.bond)
    cfads = np.zeros((paths, len(ds)))
    means = {}
    for i, stream in enumerate(spec.streams):  # one stream at a time: memory ~ paths × periods
        cash = simulate_stream(stream, ds.periods, stream_generator(seed, i), paths)
        cfads += cash
        means[stream.name] = cash.mean(axis=0, keepdims=True)
        del cash
    if debt.waterfall and max_breach is not None and target_dscr != 1.0:
        raise InputError("--target-dscr does not apply with a reserve account or a cash sweep",
                         hint="with [reserve]/[sweep] sizing limits P(debt-service shortfall after reserve draws); "
                         "drop --target-dscr", where="--target-dscr")
    cov = coverage(ds, cfads, rate, means, sizing_threshold=max_breach, target_dscr=target_dscr,
                   waterfall=debt.waterfall or None)

    rows = _period_rows(cov)
    stochastic = any(s.stochastic for s in spec.streams)
    references = [dict(r) for r in debt.references] + [r.as_dict() for r in spec.references]
    summary = cov.summary()
    if cov.sizing is not None and debt.loan is not None and debt.loan.gep:
        summary["sizing"]["max_lending_ratio"] = cov.sizing.max_principal / debt.loan.gep
    doc = {
        "kind": KIND,
        "debt": _debt_doc(debt),
        "revenue": {"name": spec.name, "streams": [_stream_doc(s) for s in spec.streams]},
        "inputs": references,
        "simulation": {"paths": paths, "seed": seed, "generator": provenance.RNG_GENERATOR,
                       "stream_generators": "stream i (0-based, file order): Generator(PCG64(seed).jumped(i))",
                       "stochastic": stochastic, "percentiles": list(cov.percentiles),
                       "percentile_method": "linear interpolation (Hyndman & Fan 1996, definition 7)",
                       "discount_rate": cov.discount_rate,
                       "discount_rate_source": "--discount-rate" if discount_rate is not None else
                       ("revenue file [coverage]" if spec.discount_rate is not None else "coupon rate of the debt"),
                       "booking": "annual flows booked at each payment date: rate at the period end × period years"},
        "units": {"money": "CNY", "rates": "decimal per year", "volatility": "per sqrt(year)",
                  "ratios": "dimensionless", "time": "years from the start of the debt"},
        "summary": summary,
        "periods": rows,
        "revenue_means": {k: [float(x) for x in v] for k, v in cov.stream_mean.items()},
    }
    doc["checks"] = _checks(debt, spec, cov)

    name = debt.bond.name or bond_path.stem
    key = {"bond": sha256_file(bond_path), "revenue": sha256_file(revenue_path), "inputs": references,
           "paths": paths, "seed": seed, "discount_rate": rate, "max_breach": max_breach, "target_dscr": target_dscr}
    folder = Path(out) if out else Path("runs") / provenance.run_folder_name(name, "coverage", provenance.sha256_bytes(provenance.canonical_json(key).encode()), default="debt", max_len=60)
    folder.mkdir(parents=True, exist_ok=True)
    _csv(rows, folder / "coverage.csv")
    (folder / "coverage.json").write_bytes(provenance.canonical_bytes(doc))
    _xlsx(doc, rows, folder / "coverage.xlsx")
    _fan(cov, f"{name}: revenue and DSCR, {paths:,} paths, seed {seed}", folder / "coverage_fan.png")
    manifest = {
        "manifest_version": provenance.MANIFEST_VERSION,
        "kind": KIND,
        "command": command,
        "inputs": {"bond": {"path": _relpath(bond_path, folder), "sha256": sha256_file(bond_path)},
                   "revenue": {"path": _relpath(revenue_path, folder), "sha256": sha256_file(revenue_path)},
                   "references": references},
        "parameters": {"paths": paths, "seed": seed, "discount_rate": cov.discount_rate,
                       "discount_rate_option": discount_rate,  # as given (None: revenue file or coupon), for gep replay
                       "percentiles": list(cov.percentiles), "max_breach": max_breach, "target_dscr": target_dscr},
        "rng": {**provenance.rng_record(seed, stochastic),
                "streams": "stream i (0-based, file order): Generator(PCG64(seed).jumped(i))"},
        "outputs": outputs.hashes(folder, list(OUTPUTS)),
        "results": summary,
        "environment": provenance.environment(),
    }
    provenance.write_manifest(folder, manifest)
    return CoverageRun(debt, spec, cov, doc, folder, manifest)
