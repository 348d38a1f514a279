"""``gep uncertainty SCENARIO``: GEP with ranges, and what drives them (load -> compute -> write).

:func:`load` reads the scenario and its coefficient set (as ``gep run`` does) and builds the
space of uncertain variables (:mod:`gep.uncertainty.space`: the set's ranges, the scenario's
``[uncertainty]`` declarations); :func:`compute` builds the landscape once and runs the
analysis (:mod:`gep.uncertainty.analysis`); :func:`write` writes the tables (CSV, Parquet and
one workbook), the tornado and distribution charts and the manifest (kind ``gep uncertainty``),
which ``gep replay`` re-runs with the recorded samples and seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from gep.audit import manifest as mf
from gep.audit import provenance
from gep.errors import InputError, ScenarioError
from gep.io import charts, outputs
from gep.io.workbook import CNY, Sheet, write_workbook
from gep.jobs import run as run_job
from gep.jobs.job import Written

KIND = mf.UncertaintyRecord.KIND
OUTPUTS = ("summary.csv", "summary.parquet", "sensitivity.csv", "sensitivity.parquet", "samples.csv", "samples.parquet",
           "draws.parquet", "tornado.csv", "uncertainty.xlsx", "tornado.png", "distribution.png")
#: Default number of samples (A and B of the design, 512 rows each).
DEFAULT_SAMPLES = 1024
#: Absolute tolerance of the recorded results [CNY].
TOLERANCE = 1e-3


@dataclass(frozen=True)
class UncertaintyJob:
    """What ``gep uncertainty`` loaded: the run's job, the space, and the analysis parameters."""

    run: run_job.RunJob
    space: object  # gep.uncertainty.space.Space
    samples: int
    seed: int
    workers: int
    verify: int
    exact: bool

    @property
    def parameters(self) -> dict:
        """What the manifest records (``workers`` is left out: results do not depend on it)."""
        s = self.space
        return {"samples": self.samples, "seed": self.seed, "verify": self.verify, "exact": self.exact,
                "design": "Saltelli (SALib, scrambled Sobol'), no second-order terms", "settings": dict(s.settings),
                "fixed": list(s.fixed)}


@dataclass(frozen=True)
class UncertaintyResult:
    """What :func:`compute` found: the analysis of the scenario's landscape."""

    job: UncertaintyJob
    analysis: object  # gep.uncertainty.analysis.Analysis
    changes: dict

    def summary(self, folder: Path | None = None) -> dict:
        """The ``--json`` document."""
        a, sc, coef = self.analysis, self.job.run.scenario, self.job.run.coef
        top = a.sensitivity.head(20)
        return {
            "scenario": sc.name, "year": sc.year, "coefficient_set": f"{coef.id}@{coef.version}",
            "samples": len(a.samples), "seed": self.job.seed,
            "gep_total_cny": a.gep(), "gep_deterministic_cny": a.deterministic["gep_cny"],
            "categories": a.rows("category"), "services": a.rows("service"), "zones": a.rows("zone"),
            "sensitivity": [{k: (None if isinstance(r[k], float) and r[k] != r[k] else r[k]) for k in ("rank", "name", "variables", "kind", "confidence", "S1", "S1_conf", "ST", "ST_conf")}
                            for r in top.to_dict(orient="records")],
            "variables": len(a.space.variables), "fixed": len(a.space.fixed), "units": a.units, "checks": a.checks,
            "run_dir": str(folder) if folder else None,
        }


def load(path: str | Path, *, samples: int | None = None, seed: int | None = None, chunks: int | None = None,
         workers: int | None = None, verify: int = 2, exact: bool = False, coefficient_version: str | None = None) -> UncertaintyJob:
    """Load a scenario for an uncertainty analysis.

    Parameters
    ----------
    path : path
        Scenario TOML (its ``[uncertainty]`` table declares input errors, ranges and correlations).
    samples : int, optional
        Samples for the percentiles (≥ 2; default :data:`DEFAULT_SAMPLES`).
    seed : int, optional
        Seed of the design (default 0).
    chunks : int, optional
        Chunk size of a chunked landscape (dask).
    workers : int, optional
        Processes for engine runs (default: the CPUs available).
    verify : int
        Samples recomputed by the whole engine and compared (≥ 0).
    exact : bool
        Every service by the engine per sample (no model).
    """
    from gep.io.tables import read_csv
    from gep.uncertainty import landcover, propagation, space

    samples = DEFAULT_SAMPLES if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise InputError(f"the sample count must be an integer of at least 2, got {samples!r}", hint="give e.g. --samples 1024", key="samples")
    seed = 0 if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"the seed must be a non-negative integer, got {seed!r}", hint="give e.g. --seed 7", key="seed")
    if verify < 0:
        raise InputError(f"verify must be ≥ 0, got {verify}", hint="give e.g. --verify 2", key="verify")
    job = run_job.load(path, chunks=chunks, coefficient_version=coefficient_version)
    sc = job.scenario
    if sc.area is not None:
        raise ScenarioError(f"{sc.path.name}: [region] area: the uncertainty of a parcel's account is not supported",
                            hint="run gep uncertainty on the whole region (remove [region] area), or gep run --area for the parcel's account")
    sp = space.build(job.coef.ranges(), {(o.parameter, o.key) for o in job.coef.overrides}, sc.raw.get("uncertainty"),
                     {k: v.unit for k, v in sc.inputs.items()}, sc.path.name,
                     lambda name: landcover.from_table(read_csv(sc.path.parent / name, what="confusion matrix"), job.coef.legend.codes))
    return UncertaintyJob(job, sp, samples, seed, workers or propagation.default_workers(), verify, exact)


def compute(job: UncertaintyJob, progress: Callable[[str], None] | None = None) -> UncertaintyResult:
    """Build the scenario's landscape once and run the analysis (no file written)."""
    from gep import execution
    from gep.accounting.region import build as build_landscape
    from gep.accounting.scenario import for_year
    from gep.jobs import inputs
    from gep.uncertainty.analysis import analyse

    say = progress or (lambda _m: None)
    rj = job.run
    sc = for_year(rj.scenario, rj.scenario.year) if rj.scenario.series is not None else rj.scenario
    plan = execution.plan(*inputs.region_bytes(sc), chunks=rj.chunks)
    region = inputs.read_region(sc, plan, None, lambda m: say(f"reading {m}"))
    ls = build_landscape(region, sc, rj.coef.legend, None)
    if not plan.chunked:  # in memory: numpy grids, which the worker processes share (a dask landscape runs in one process)
        ls = replace(ls, grid=ls.grid.compute())
    analysis = analyse(ls, rj.coef, rj.enabled, rj.methods, rj.switches, job.space, job.samples, job.seed,
                       job.workers, job.verify, job.exact, say)
    return UncertaintyResult(job, analysis, dict(ls.changes))


def run_id(job: UncertaintyJob) -> str:
    """``<scenario>-<year>-uncertainty-<hash>``: hash of the scenario and coefficient files, samples and seed."""
    sc, coef = job.run.scenario, job.run.coef
    h = provenance.sha256_bytes(provenance.canonical_json({"run": run_job.run_id(sc, coef), "samples": job.samples, "seed": job.seed}).encode())
    return provenance.run_folder_name(sc.name, f"{sc.year}-uncertainty", h)


def write(result: UncertaintyResult, out_dir: Path | None, command: str = KIND) -> Written[UncertaintyResult]:
    """Write the tables, charts, workbook and manifest."""
    job, a = result.job, result.analysis
    sc = job.run.scenario
    folder = Path(out_dir) if out_dir else (sc.output_dir or Path("runs")) / run_id(job)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in (("summary", a.summary), ("sensitivity", a.sensitivity), ("samples", a.samples)):
        outputs.write_csv(df, folder / f"{name}.csv")
        outputs.write_parquet(df, folder / f"{name}.parquet")
    outputs.write_parquet(a.draws, folder / "draws.parquet")
    outputs.write_csv(a.tornado, folder / "tornado.csv")
    import pandas as pd

    variables = pd.DataFrame([v.as_dict() for v in a.space.variables])
    fixed = pd.DataFrame(list(a.space.fixed), columns=["name", "value", "unit", "reason"])
    money = {c: CNY for c in ("p5", "p50", "p95", "mean", "se", "sd", "deterministic")}
    write_workbook(folder / "uncertainty.xlsx", [
        Sheet("summary", a.summary, money), Sheet("sensitivity", a.sensitivity), Sheet("tornado", a.tornado),
        Sheet("variables", variables), Sheet("fixed", fixed), Sheet("services", pd.DataFrame(a.units)),
    ])
    gep = a.gep()
    title = charts.drawable(f"GEP {sc.name} {sc.year}: p50 {gep['p50'] / 1e8:,.2f} (p5 {gep['p5'] / 1e8:,.2f} – p95 {gep['p95'] / 1e8:,.2f}) × 10⁸ CNY, n = {len(a.samples)}")
    charts.tornado(list(a.tornado["name"]), a.tornado["gep_low_cny"].to_numpy(), a.tornado["gep_high_cny"].to_numpy(),
                   float(a.tornado["central_cny"].iloc[0]) if len(a.tornado) else a.deterministic["gep_cny"], folder / "tornado.png", title)
    intervals = a.summary[a.summary["level"].isin(["gep", "category", "service"])].iloc[::-1]
    intervals = intervals.assign(name=intervals["name"].where(intervals["level"] != "category", intervals["name"] + " (category)"))
    charts.distribution(a.samples["gep_cny"].to_numpy(), a.deterministic["gep_cny"], intervals, folder / "distribution.png", title)
    record = run_job.run_record(sc, job.run.coef, job.run.enabled, job.run.methods, job.run.switches, result.changes, folder,
                                record=mf.UncertaintyRecord, parameters=job.parameters)
    if a.space.confusion is not None:  # the confusion matrix is an input: replay names it when it changed
        path = Path(a.space.confusion.path)
        record = replace(record, inputs={**record.inputs, "uncertainty.landcover": mf.FileRef(run_job._relpath(path, sc.folder), provenance.sha256_file(path))})
    results = {"gep_cny": gep, "gep_deterministic_cny": a.deterministic["gep_cny"], "variables": len(a.space.variables),
               "units": a.units, "checks": a.checks, "tolerance": TOLERANCE, "relative_tolerance": mf.RELATIVE_TOLERANCE}
    manifest = mf.Manifest(kind=KIND, command=command, record=record, outputs=outputs.hashes(folder, list(OUTPUTS)),
                           results=provenance.to_jsonable(results), environment=provenance.environment(),
                           rng=provenance.rng_record(job.seed))
    manifest, _, _ = mf.write(folder, manifest)
    return Written(result, folder, manifest)


def run(job: UncertaintyJob, out_dir: Path | None = None, command: str = KIND, progress: Callable[[str], None] | None = None) -> Written[UncertaintyResult]:
    """Compute and write an uncertainty analysis."""
    return write(compute(job, progress), out_dir, command)


def replay(manifest: mf.Manifest, scenario_path: str | Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded ``gep uncertainty`` (same samples, seed, coefficient-set version) into ``out_dir``."""
    p = manifest.record.parameters
    job = load(scenario_path, samples=int(p["samples"]), seed=int(p["seed"]), verify=int(p.get("verify", 0)),
               exact=bool(p.get("exact", False)), coefficient_version=manifest.record.coefficients.version)
    return write(compute(job), out_dir, manifest.command or KIND).manifest


__all__ = ["KIND", "load", "compute", "write", "run", "replay", "UncertaintyJob", "UncertaintyResult"]
