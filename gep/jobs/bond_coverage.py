"""``gep bond coverage``: revenue coverage of a bond or GEP-backed loan (load -> compute -> write).

:func:`load` reads the debt file, the revenue file and everything they reference
(:mod:`gep.jobs.references`); :func:`compute` simulates the revenue streams and
measures coverage (:mod:`gep.finance`); :func:`write` writes the outputs.

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

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from gep.audit import manifest as mf
from gep.audit import provenance
from gep.errors import InputError
from gep.finance.coverage import Coverage, coverage, debt_service
from gep.finance.debt import Debt
from gep.finance.loan import PUBLISHED_LENDING_RATIOS
from gep.finance.revenue import CreditSales, FixedFee, GovernmentPurchase, simulate_stream, stream_generator
from gep.finance.revenue_file import RevenueSpec, portable_path, revenue_from_dict
from gep.io import charts, outputs, workbook
from gep.io.files import read_toml, sha256_file
from gep.jobs import inputs as job_inputs
from gep.jobs.job import Written, check_destination, output_folder
from gep.jobs.references import FileReferences

__all__ = ["CoverageInputs", "CoverageResult", "load", "compute", "write", "run", "replay", "OUTPUTS", "KIND"]

KIND = mf.CoverageRecord.KIND
OUTPUTS = ("coverage.csv", "coverage.json", "coverage.xlsx", "coverage_fan.png")
#: Default number of Monte Carlo paths.
DEFAULT_PATHS = 10_000
#: Largest number of paths accepted (memory: 8 bytes × paths × periods × streams).
MAX_PATHS = 1_000_000
#: Price histories shorter than this many log returns get a warning in the checks.
SHORT_HISTORY = 30
#: How each stream draws its random numbers (recorded in coverage.json and the manifest).
STREAM_GENERATORS = "stream i (0-based, file order): Generator(PCG64(seed).jumped(i))"
#: Recorded source of a discount rate given as an option (the label existing coverage.json files carry).
GIVEN_RATE = "--discount-rate"


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


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class CoverageInputs:
    """What a coverage run loaded: the debt, the revenue streams and the simulation options."""

    bond_path: Path
    revenue_path: Path
    debt: Debt
    revenue: RevenueSpec
    paths: int
    seed: int
    discount_rate: float | None  # as given (None: the revenue file's, else the coupon rate)
    max_breach: float | None
    target_dscr: float

    @property
    def rate(self) -> float | None:
        """The LLCR discount rate used [1/yr] (None: the coupon rate)."""
        return self.discount_rate if self.discount_rate is not None else self.revenue.discount_rate


@dataclass(frozen=True)
class CoverageResult:
    """A computed coverage run: the measures, the per-period rows and the report document."""

    inputs: CoverageInputs
    coverage: Coverage
    rows: list
    doc: dict
    references: list

    @property
    def stochastic(self) -> bool:
        return any(s.stochastic for s in self.inputs.revenue.streams)


def load(bond_path: str | Path, revenue_path: str | Path, *, paths: int = DEFAULT_PATHS, seed: int = 0,
         discount_rate: float | None = None, max_breach: float | None = None, target_dscr: float = 1.0) -> CoverageInputs:
    """Check the options and read the debt file, the revenue file and everything they reference.

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
    discount_rate : float, optional
        LLCR discount rate [1/yr]; default the revenue file's
        ``[coverage] discount_rate``, else the debt's coupon rate.
    max_breach : float, optional
        Sizing threshold ``α`` of ``P(min DSCR < target_dscr)``.
    target_dscr : float
        DSCR covenant of the sizing.
    """
    if isinstance(paths, bool) or not isinstance(paths, int) or not 1 <= paths <= MAX_PATHS:
        raise InputError(f"paths must be a whole number in [1, {MAX_PATHS:,}], got {paths!r}", hint="e.g. 10000",
                         key="paths")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a whole number ≥ 0, got {seed!r}", hint="e.g. 42", key="seed")
    if max_breach is not None and not 0.0 <= max_breach < 1.0:
        raise InputError(f"max breach probability must be in [0, 1), got {max_breach}", hint='e.g. 0.05 (5 %)',
                         key="max_breach")
    if not target_dscr > 0 or not math.isfinite(target_dscr):
        raise InputError(f"target DSCR must be positive, got {target_dscr}", hint="e.g. 1.2", key="target_dscr")
    bond_path, revenue_path = Path(bond_path), Path(revenue_path)
    refs = FileReferences()
    debt = job_inputs.debt(bond_path, refs)
    spec = revenue_from_dict(read_toml(revenue_path, what="revenue file"), revenue_path, refs)
    if debt.waterfall and max_breach is not None and target_dscr != 1.0:
        raise InputError("a target DSCR does not apply with a reserve account or a cash sweep",
                         hint="with [reserve]/[sweep] sizing limits P(debt-service shortfall after reserve draws); "
                         "leave the target DSCR at 1", key="target_dscr")
    inputs = CoverageInputs(bond_path, revenue_path, debt, spec, paths, seed, discount_rate, max_breach, target_dscr)
    if inputs.rate is None and debt.bond.coupon_rate == 0:
        raise InputError("a zero-coupon bond has no coupon rate to discount the LLCR at",
                         hint="give a discount rate (e.g. its yield), or [coverage] discount_rate in the revenue file", key="discount_rate")
    return inputs


def compute(inputs: CoverageInputs, progress: Callable[[str], None] | None = None) -> CoverageResult:
    """Simulate the revenue streams, measure coverage and build the report document."""
    debt, spec, paths, seed = inputs.debt, inputs.revenue, inputs.paths, inputs.seed
    ds = debt_service(debt.bond)
    cfads = np.zeros((paths, len(ds)))
    means = {}
    for i, stream in enumerate(spec.streams):  # one stream at a time: memory ~ paths × periods
        cash = simulate_stream(stream, ds.periods, stream_generator(seed, i), paths)
        cfads += cash
        means[stream.name] = cash.mean(axis=0, keepdims=True)
        del cash
    cov = coverage(ds, cfads, inputs.rate, means, sizing_threshold=inputs.max_breach, target_dscr=inputs.target_dscr,
                   waterfall=debt.waterfall or None)

    rows = _period_rows(cov)
    stochastic = any(s.stochastic for s in spec.streams)
    references = _references(inputs)
    summary = cov.summary()
    if cov.sizing is not None and debt.loan is not None and debt.loan.gep:
        summary["sizing"]["max_lending_ratio"] = cov.sizing.max_principal / debt.loan.gep
    doc = {
        "kind": KIND,
        "debt": _debt_doc(debt),
        "revenue": {"name": spec.name, "streams": [_stream_doc(s) for s in spec.streams]},
        "inputs": references,
        "simulation": {"paths": paths, "seed": seed, "generator": provenance.RNG_GENERATOR,
                       "stream_generators": STREAM_GENERATORS,
                       "stochastic": stochastic, "percentiles": list(cov.percentiles),
                       "percentile_method": "linear interpolation (Hyndman & Fan 1996, definition 7)",
                       "discount_rate": cov.discount_rate,
                       "discount_rate_source": GIVEN_RATE if inputs.discount_rate is not None else
                       ("revenue file [coverage]" if spec.discount_rate is not None else "coupon rate of the debt"),
                       "booking": "annual flows booked at each payment date: rate at the period end × period years"},
        "units": {"money": "CNY", "rates": "decimal per year", "volatility": "per sqrt(year)",
                  "ratios": "dimensionless", "time": "years from the start of the debt"},
        "summary": summary,
        "periods": rows,
        "revenue_means": {k: [float(x) for x in v] for k, v in cov.stream_mean.items()},
    }
    doc["checks"] = _checks(debt, spec, cov)
    return CoverageResult(inputs, cov, rows, doc, references)


def write(result: CoverageResult, out_dir: str | Path | None, command: str = KIND) -> Written[CoverageResult]:
    """Write coverage.csv, coverage.json, coverage.xlsx, the fan chart and the manifest, whole or not at all."""
    target = destination(result.inputs, result.references, out_dir)
    with output_folder(target, KIND) as folder:
        manifest = _write_into(result, folder, command)
    return Written(result, target, manifest)


def destination(inputs: CoverageInputs, references: list, out_dir: str | Path | None) -> Path:
    """``out_dir``, else ``runs/<debt-name>-coverage-<hash>/``: the hash covers the debt file, the revenue file,
    every file they reference and the options."""
    if out_dir:
        return Path(out_dir)
    key = {"bond": sha256_file(inputs.bond_path), "revenue": sha256_file(inputs.revenue_path), "inputs": references,
           "paths": inputs.paths, "seed": inputs.seed, "discount_rate": inputs.rate, "max_breach": inputs.max_breach, "target_dscr": inputs.target_dscr}
    name = inputs.debt.bond.name or inputs.bond_path.stem
    return Path("runs") / provenance.run_folder_name(name, "coverage", provenance.sha256_bytes(provenance.canonical_json(key).encode()), default="debt", max_len=60)


def _references(inputs: CoverageInputs) -> list:
    return [dict(r) for r in inputs.debt.references] + [r.as_dict() for r in inputs.revenue.references]


def _write_into(result: CoverageResult, folder: Path, command: str) -> mf.Manifest:
    """coverage.csv, coverage.json, coverage.xlsx, the fan chart and the manifest, into ``folder``."""
    inputs, cov, doc = result.inputs, result.coverage, result.doc
    bond_path, revenue_path, paths, seed = inputs.bond_path, inputs.revenue_path, inputs.paths, inputs.seed
    name = inputs.debt.bond.name or bond_path.stem
    outputs.write_csv(pd.DataFrame(result.rows), folder / "coverage.csv")
    (folder / "coverage.json").write_bytes(provenance.canonical_bytes(doc))
    workbook.write_coverage_workbook(doc, result.rows, folder / "coverage.xlsx")
    ds = cov.debt
    title = f"{charts.drawable(name, bond_path.stem)}: revenue and DSCR, {paths:,} paths, seed {seed}"
    charts.coverage_fan(ds.periods.time, ds.amount, cov.revenue_pct, cov.revenue_mean, cov.dscr_pct, cov.percentiles,
                        title, folder / "coverage_fan.png")
    record = mf.CoverageRecord(
        bond=mf.FileRef(portable_path(bond_path, folder), sha256_file(bond_path)),
        revenue=mf.FileRef(portable_path(revenue_path, folder), sha256_file(revenue_path)),
        references=tuple(result.references),
        parameters={"paths": paths, "seed": seed, "discount_rate": cov.discount_rate,
                    "discount_rate_option": inputs.discount_rate,  # as given (None: revenue file or coupon), for gep replay
                    "percentiles": list(cov.percentiles), "max_breach": inputs.max_breach, "target_dscr": inputs.target_dscr},
    )
    manifest = mf.Manifest(
        kind=KIND, command=command, record=record, outputs=outputs.hashes(folder, list(OUTPUTS)), results=doc["summary"],
        environment=provenance.environment(inputs.debt.libraries),
        rng={**provenance.rng_record(seed, result.stochastic), "streams": STREAM_GENERATORS},
    )
    manifest, _, _ = mf.write(folder, manifest)
    return manifest


def run(bond_path: str | Path, revenue_path: str | Path, out_dir: str | Path | None = None, command: str = KIND,
        progress: Callable[[str], None] | None = None, **options: Any) -> Written[CoverageResult]:
    """Load, compute and write a coverage run (``options``: those of :func:`load`); the output folder is checked first."""
    inputs = load(bond_path, revenue_path, **options)
    folder = destination(inputs, _references(inputs), out_dir)
    check_destination(folder, KIND)
    return write(compute(inputs, progress), folder, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> None:
    """Re-run a recorded ``gep bond coverage`` (same files, paths, seed, rates) into ``out_dir``.

    Returns None: the results are compared through the outputs (coverage.csv and
    coverage.json are byte-identical when seeded).
    """
    record = manifest.record
    seed = manifest.seed if manifest.seed is not None else record.parameters.get("seed")
    if seed is None:
        raise InputError("the coverage manifest records no seed", hint="a coverage run records rng.seed")
    run(run_dir / record.bond.path, run_dir / record.revenue.path, out_dir, manifest.command or KIND, paths=record.paths,
        seed=int(seed), discount_rate=record.discount_rate_option, max_breach=record.max_breach, target_dscr=record.target_dscr)
    return None
