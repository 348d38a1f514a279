"""``gep capacity basin SCENARIO``: whole-basin capacity, loads and credits (load -> compute -> write).

:func:`load` reads the capacity scenario, the GB 3838-2002 standards and export
coefficients, the reaches and point-source tables and the land-cover and
catchment rasters; :func:`compute` evaluates :mod:`gep.capacity.basin` on them;
:func:`write` writes ``capacity.csv``, ``credits.csv``, ``credits.parquet`` and the
manifest. The scenario keys are documented in ``docs/capacity.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from gep.audit import manifest as mf
from gep.audit import provenance
from gep.capacity.basin_scenario import POINT_COLUMNS, REACH_COLUMNS, BasinScenario, parse
from gep.errors import InputError, ScenarioError
from gep.io import outputs
from gep.io.capacity_tables import read_export_coefficients, read_standards
from gep.io.coefficient_files import find_set, read_header, recorded_set
from gep.io.files import read_toml, sha256_file
from gep.io.tables import read_csv
from gep.jobs.job import Written, check_destination, output_folder

KIND = mf.BasinRecord.KIND
OUTPUTS = ("capacity.csv", "credits.csv", "credits.parquet")
#: Further outputs of a run with ``--samples`` (credits with ranges, :mod:`gep.uncertainty.credits`).
UNCERTAINTY_OUTPUTS = ("credits_uncertainty.csv", "credits_uncertainty.parquet", "credit_samples.parquet", "credit_draws.parquet")


@dataclass(frozen=True)
class BasinInputs:
    """Everything a basin run reads: the scenario, the coefficient tables, the tables and grids."""

    scenario: BasinScenario
    standards: pd.DataFrame
    export: pd.DataFrame
    reaches: pd.DataFrame
    points: pd.DataFrame | None
    landcover: np.ndarray
    catchments: np.ndarray
    cell_area: xr.DataArray
    coefficients: dict
    #: ``{"samples", "seed", "issuable_percentile"}`` of a run with ranges (``--samples``), else None.
    uncertainty: dict | None = None
    calibration: dict | None = None  # what the manifest records of a [calibration]
    calibration_files: dict[str, Path] = field(default_factory=dict)  # the files a re-fitted calibration read

    def files(self) -> dict[str, Path]:
        """Every input file: the scenario's and those its calibration read."""
        return self.scenario.input_files() | self.calibration_files


@dataclass(frozen=True)
class BasinResult:
    """Outputs of one basin run: capacity per reach, credits per catchment × pollutant × vintage."""

    scenario: BasinScenario
    capacity: pd.DataFrame
    credits: pd.DataFrame
    unassessed: pd.DataFrame
    conversions: list[dict]
    coefficients: dict
    #: Credits with ranges (:class:`gep.uncertainty.credits.CreditUncertainty`) of a run with ``--samples``.
    uncertainty: object = None
    inputs: BasinInputs | None = None


def _landcover_of(path: Path) -> Path:
    """Land-cover raster of a GEP scenario file (a basin may take its land cover from one)."""
    from gep.jobs.inputs import scenario

    return scenario(path).landcover


def coefficient_provenance(set_id: str) -> dict:
    """Id, version and file hashes of a coefficient set, plus the hash of its ``manifest.toml``."""
    folder = find_set(set_id)
    m = read_header(folder)
    return {"id": m["id"], "version": str(m["version"]), "files": dict(sorted(m.get("files", {}).items())),
            "manifest_sha256": sha256_file(folder / "manifest.toml")}


def load(path: str | Path, versions: dict[str, str | None] | None = None, uncertainty: dict | None = None,
         calibrated: bool = True) -> BasinInputs:
    """Read a capacity scenario and every file it names.

    ``versions`` (role ``export`` or ``standards`` → version) loads those versions of the
    scenario's coefficient sets while they are present, current or frozen under
    ``gep/data/coefficients/releases/`` (replay: the versions the run recorded). ``uncertainty``
    (``{"samples", "seed", "issuable_percentile"}``) asks for credits with ranges. With a
    ``[calibration]`` (and ``calibrated``), the calibrated decay rates replace the reaches'
    per reach and pollutant and the multipliers scale the export coefficients
    (:func:`gep.monitoring.calibration.apply`).
    """
    if uncertainty is not None:
        n = uncertainty.get("samples")
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise InputError(f"the sample count must be an integer of at least 2, got {n!r}", hint="give e.g. --samples 1000", key="samples")
    from gep.io.raster import cell_area, check_aligned, read_codes

    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"capacity scenario not found: {path}", hint="check the path")
    bs = parse(read_toml(path, what="capacity scenario"), path, _landcover_of)
    if versions:
        bs = replace(bs, **{f"{role}_set": recorded_set(getattr(bs, f"{role}_set"), versions.get(role), path.parent) for role in ("export", "standards")})
    standards = read_standards(bs.standards_set)
    export = read_export_coefficients(bs.export_set)
    reaches = read_csv(bs.reaches_path, REACH_COLUMNS, "reaches table", dtype={"id": str})
    points = read_csv(bs.point_path, POINT_COLUMNS, "point-source table", dtype={"source_id": str}) if bs.point_path else None
    lc = read_codes(bs.landcover_path, what="land cover")
    catch = read_codes(bs.catchments_path, what="catchment raster")
    check_aligned(lc, catch, "the land cover", "the catchment raster")
    coef = {"standards": coefficient_provenance(bs.standards_set), "export": coefficient_provenance(bs.export_set)}
    calibration, cal_files = None, {}
    if bs.calibration is not None and calibrated:
        from gep.jobs.monitoring_calibrate import parameters_for_basin
        from gep.monitoring.calibration import apply

        params, calibration, cal_files = parameters_for_basin(*bs.calibration)
        reaches, export, calibration["applied"] = apply(reaches, export, params)
        calibration["file"] = bs.relative(bs.calibration[1])
    # the capacity models take signed 64-bit codes (-1 marks cells outside the catchments)
    return BasinInputs(bs, standards, export, reaches, points, np.asarray(lc.values, dtype=np.int64), np.asarray(catch.values, dtype=np.int64), cell_area(lc), coef,
                       uncertainty=uncertainty, calibration=calibration, calibration_files=cal_files)


def compute(inputs: BasinInputs, progress: Callable[[str], None] | None = None) -> BasinResult:
    """Capacities of every reach, land-cover conversions, loads and credits (:mod:`gep.capacity.basin`)."""
    from gep.capacity.basin import apply_conversions, basin_credits, reach_capacities

    bs = inputs.scenario
    caps = reach_capacities(inputs.reaches, inputs.standards)
    lc_arr, log = apply_conversions(inputs.landcover, inputs.catchments, bs.conversions)
    credits, rest = basin_credits(caps, lc_arr, inputs.catchments, inputs.cell_area, inputs.export, inputs.points, bs.safety_margin, bs.vintage)
    unc = None
    if inputs.uncertainty is not None:
        from gep.uncertainty import credits as uc

        p = inputs.uncertainty
        cz = np.where(np.asarray(inputs.catchments) > 0, np.asarray(inputs.catchments), -1)  # as basin_credits: outside = -1
        present = set(np.unique(np.asarray(lc_arr)[cz > 0]).astype(int).tolist())
        space = uc.space_of(inputs.export, bs.raw.get("uncertainty"), inputs.reaches, inputs.points is not None and len(inputs.points) > 0, present, bs.path.name)
        unc = uc.analyse(credits, inputs.reaches, inputs.standards, lc_arr, cz, inputs.cell_area, inputs.export, space, bs.safety_margin,
                         p["samples"], p.get("seed", 0), p.get("issuable_percentile"))
        if unc.credits is not None:
            credits = unc.credits
    return BasinResult(bs, caps, credits, rest, log, inputs.coefficients, uncertainty=unc, inputs=inputs)


def run_id(bs: BasinScenario, coef: dict) -> str:
    """``<name>-capacity-<hash>``: hash of the scenario, its inputs and the coefficient sets."""
    parts = {"scenario": sha256_file(bs.path), "inputs": {k: sha256_file(p) for k, p in sorted(bs.input_files().items())}, "coefficients": coef}
    return provenance.run_folder_name(bs.name, "capacity", provenance.sha256_bytes(provenance.canonical_json(parts).encode()), default="basin")


def write(result: BasinResult, out_dir: Path | None, command: str) -> Written[BasinResult]:
    """Write capacity.csv, credits.csv, credits.parquet and manifest.json, whole or not at all."""
    bs = result.scenario
    target = Path(out_dir) if out_dir else (bs.output_dir or Path("runs")) / run_id(bs, result.coefficients)
    with output_folder(target, KIND) as folder:
        manifest = _write_into(result, folder, command)
    return Written(result, target, manifest)


def _write_into(result: BasinResult, folder: Path, command: str) -> mf.Manifest:
    """capacity.csv, credits.csv, credits.parquet and manifest.json, into ``folder``."""
    from gep.capacity.basin import totals

    bs = result.scenario
    outputs.write_csv(result.capacity, folder / "capacity.csv")
    outputs.write_csv(result.credits, folder / "credits.csv")
    outputs.write_parquet(result.credits, folder / "credits.parquet")
    unc = result.uncertainty
    parameters = {"vintage": bs.vintage, "safety_margin": bs.safety_margin, "landcover_conversions": result.conversions}
    names = list(OUTPUTS)
    extra: dict = {}
    if unc is not None:
        outputs.write_csv(unc.summary, folder / "credits_uncertainty.csv")
        outputs.write_parquet(unc.summary, folder / "credits_uncertainty.parquet")
        outputs.write_parquet(unc.samples, folder / "credit_samples.parquet")
        outputs.write_parquet(unc.draws, folder / "credit_draws.parquet")
        names += list(UNCERTAINTY_OUTPUTS)
        parameters["uncertainty"] = {
            "samples": len(unc.draws), "seed": unc.seed, "issuable_percentile": unc.percentile,
            "issued": ("credits.csv rows are the sample at the issuable_percentile order statistic (inverted_cdf) of the remaining "
                       "capacity per catchment and pollutant: that sample's capacity, loads, margin and credits")
            if unc.percentile is not None else "credits.csv rows are the deterministic credits; credits_uncertainty.csv holds their percentiles",
            "variables": [v.as_dict() for v in unc.space.variables], "fixed": list(unc.space.fixed), "settings": dict(unc.space.settings),
        }
        extra = {"uncertainty": {"issuable_t_per_yr": unc.totals(), "checks": unc.checks}}
    record = mf.BasinRecord(
        scenario=mf.ScenarioRef(Path(os.path.relpath(bs.path.resolve(), folder.resolve())).as_posix(), sha256_file(bs.path), bs.raw),
        parameters=parameters,
        inputs={k: mf.FileRef(bs.relative(p), sha256_file(p)) for k, p in sorted((result.inputs.files() if result.inputs else bs.input_files()).items())},
        coefficients={role: mf.CoefficientsRef.from_dict(c) for role, c in result.coefficients.items()},
        calibration=provenance.to_jsonable(result.inputs.calibration) if result.inputs and result.inputs.calibration is not None else None,
    )
    manifest = mf.Manifest(
        kind=KIND, command=command, record=record, outputs=outputs.hashes(folder, names),
        results=provenance.to_jsonable({"totals": totals(result.credits), "tolerance": 1e-6, "relative_tolerance": mf.RELATIVE_TOLERANCE,
                                         "unassessed_loads": result.unassessed.to_dict(orient="records"), **extra}),
        environment=provenance.environment(),
        rng=provenance.rng_record(unc.seed if unc is not None else None, used=unc is not None),
    )
    manifest, _, _ = mf.write(folder, manifest)
    return manifest


def run(path: str | Path, out_dir: Path | None = None, command: str = KIND, progress: Callable[[str], None] | None = None,
        uncertainty: dict | None = None) -> Written[BasinResult]:
    """Load, compute and write a basin run (``uncertainty``: credits with ranges, see :func:`load`; the output folder
    is checked before computing)."""
    inputs = load(path, uncertainty=uncertainty)
    folder = Path(out_dir) if out_dir else (inputs.scenario.output_dir or Path("runs")) / run_id(inputs.scenario, inputs.coefficients)
    check_destination(folder, KIND)
    return write(compute(inputs, progress), folder, command)


def replay(manifest: mf.Manifest, scenario_path: Path, out_dir: Path) -> mf.Manifest:
    """Re-run a recorded ``gep capacity basin`` (its scenario file, the coefficient-set versions it used) into ``out_dir``;
    return the new manifest."""
    versions = {role: ref.version for role, ref in manifest.record.coefficients.items()}
    p = manifest.record.parameters.get("uncertainty")
    unc = {"samples": int(p["samples"]), "seed": int(p["seed"]), "issuable_percentile": p.get("issuable_percentile")} if p else None
    return write(compute(load(scenario_path, versions, unc)), out_dir, manifest.command or KIND).manifest
