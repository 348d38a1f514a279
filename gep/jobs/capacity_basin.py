"""Reading a whole-basin capacity scenario (``gep capacity basin SCENARIO``).

File access only; the calculation lives in :mod:`gep.capacity.basin`. The keys of the
scenario TOML are documented in ``docs/capacity.md``. Relative paths are relative to
the scenario file.

Tables may start with ``#`` comment lines (a header explaining the file); units go in
the column headers as ``name [unit]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gep.errors import ScenarioError
from gep.io.coefficient_files import find_set
from gep.io.files import sha256_file
from gep.io.files import read_toml
from gep.io.tables import read_csv

__all__ = ["BasinScenario", "load_basin", "read_table", "read_grids", "REACH_COLUMNS", "POINT_COLUMNS"]

#: Required columns of the reaches/lakes table.
REACH_COLUMNS = ("id", "catchment", "water_body", "model", "pollutant")
#: Required columns of the point-source table.
POINT_COLUMNS = ("source_id", "catchment", "pollutant", "load", "unit")

SCHEMA: dict[str, set[str]] = {
    "scenario": {"name", "description", "vintage", "safety_margin"},
    "tables": {"reaches", "point_sources"},
    "grids": {"catchments", "landcover"},
    "landcover": {"scenario", "path", "convert"},
    "coefficients": {"export", "standards"},
    "output": {"dir"},
}
CONVERT_KEYS = {"catchment", "from", "to", "share"}


@dataclass
class BasinScenario:
    """A validated capacity scenario with resolved paths."""

    path: Path
    raw: dict
    name: str
    vintage: int
    safety_margin: float
    reaches_path: Path
    point_path: Path | None
    catchments_path: Path
    landcover_path: Path
    landcover_scenario: Path | None
    conversions: list[dict] = field(default_factory=list)
    export_set: str = "export-cn"
    standards_set: str = "gb3838-2002"
    output_dir: Path | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    def relative(self, p: Path) -> str:
        """Path relative to the scenario folder, '/'-separated (no absolute paths in manifests)."""
        return Path(os.path.relpath(Path(p).resolve(), self.folder.resolve())).as_posix()

    def input_files(self) -> dict[str, Path]:
        files = {"tables.reaches": self.reaches_path, "grids.catchments": self.catchments_path, "grids.landcover": self.landcover_path}
        if self.point_path is not None:
            files["tables.point_sources"] = self.point_path
        if self.landcover_scenario is not None:
            files["landcover.scenario"] = self.landcover_scenario
        return files


def _err(path: Path, section: str, key: str, message: str, hint: str) -> ScenarioError:
    return ScenarioError(f"{path.name}: [{section}] {key}: {message}", hint=hint)


def _file(path: Path, folder: Path, value: Any, section: str, key: str) -> Path:
    if not isinstance(value, str) or not value:
        raise _err(path, section, key, f"must be a file path, got {value!r}", "write a path relative to the scenario file")
    p = (folder / value)
    if not p.is_file():
        raise _err(path, section, key, f"file not found: {value}", "paths are relative to the scenario file")
    return p


def load_basin(path: str | Path) -> BasinScenario:
    """Read and validate a capacity scenario TOML (keys: ``docs/capacity.md``)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"capacity scenario not found: {path}", hint="check the path")
    raw = read_toml(path, what="capacity scenario")
    folder = path.parent
    for section, value in raw.items():
        if section not in SCHEMA:
            raise ScenarioError(f"{path.name}: unknown section [{section}]", hint=f"sections are {', '.join(SCHEMA)}")
        if not isinstance(value, dict):
            raise ScenarioError(f"{path.name}: {section} must be a table [{section}]", hint="see docs/capacity.md")
        for key in value:
            if key not in SCHEMA[section]:
                raise _err(path, section, key, "unknown key", f"allowed: {', '.join(sorted(SCHEMA[section]))}")
    sc = raw.get("scenario", {})
    name = sc.get("name") or path.stem
    vintage = sc.get("vintage")
    if not isinstance(vintage, int) or isinstance(vintage, bool) or not 1900 <= vintage <= 2200:
        raise _err(path, "scenario", "vintage", f"must be a year like 2024, got {vintage!r}", "the vintage year of the credits")
    margin = sc.get("safety_margin", 0.10)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
        raise _err(path, "scenario", "safety_margin", f"must be a fraction in [0, 1), got {margin!r}", "e.g. 0.10 for 10 %")
    tables = raw.get("tables", {})
    if "reaches" not in tables:
        raise _err(path, "tables", "reaches", "missing", "give the reaches/lakes table, e.g. reaches = \"reaches.csv\"")
    reaches = _file(path, folder, tables["reaches"], "tables", "reaches")
    points = _file(path, folder, tables["point_sources"], "tables", "point_sources") if "point_sources" in tables else None
    grids = raw.get("grids", {})
    if "catchments" not in grids:
        raise _err(path, "grids", "catchments", "missing", "give the catchment raster, e.g. catchments = \"catchments.tif\"")
    catchments = _file(path, folder, grids["catchments"], "grids", "catchments")

    lcsec = raw.get("landcover", {})
    lc_scenario = None
    sources = [k for k in ("scenario", "path") if k in lcsec] + (["grids.landcover"] if "landcover" in grids else [])
    if len(sources) != 1:
        raise ScenarioError(
            f"{path.name}: give the land cover exactly once (found: {', '.join(sources) or 'none'})",
            hint="use [grids] landcover = \"x.tif\", [landcover] path = \"x.tif\" or [landcover] scenario = \"gep-scenario.toml\"",
        )
    if "scenario" in lcsec:
        from gep.accounting.scenario import load as load_scenario

        lc_scenario = _file(path, folder, lcsec["scenario"], "landcover", "scenario")
        landcover = load_scenario(lc_scenario).landcover
    elif "path" in lcsec:
        landcover = _file(path, folder, lcsec["path"], "landcover", "path")
    else:
        landcover = _file(path, folder, grids["landcover"], "grids", "landcover")

    conversions = lcsec.get("convert", [])
    if not isinstance(conversions, list):
        raise _err(path, "landcover", "convert", "must be an array of tables [[landcover.convert]]", "see docs/capacity.md")
    clean = []
    for i, rule in enumerate(conversions):
        where = f"convert[{i}]"
        if not isinstance(rule, dict):
            raise _err(path, "landcover", where, "must be a table", "[[landcover.convert]] catchment = 5, from = [211], to = 51, share = 0.3")
        extra = set(rule) - CONVERT_KEYS
        if extra or not {"catchment", "from", "to"} <= set(rule):
            raise _err(path, "landcover", where, f"keys must be catchment, from, to[, share] (got {', '.join(sorted(rule))})", "see docs/capacity.md")
        frm = rule["from"] if isinstance(rule["from"], list) else [rule["from"]]
        share = rule.get("share", 1.0)
        ints = [rule["catchment"], rule["to"], *frm]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or not frm:
            raise _err(path, "landcover", where, "catchment, from and to must be integer codes", "e.g. from = [211, 212], to = 51")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise _err(path, "landcover", where, f"share must be in (0, 1], got {share!r}", "the fraction of matching cells converted")
        clean.append({"catchment": rule["catchment"], "from": sorted(frm), "to": rule["to"], "share": float(share)})

    coef = raw.get("coefficients", {})
    out = raw.get("output", {}).get("dir")
    return BasinScenario(
        path=path, raw=raw, name=str(name), vintage=vintage, safety_margin=float(margin),
        reaches_path=reaches, point_path=points, catchments_path=catchments, landcover_path=Path(landcover),
        landcover_scenario=lc_scenario, conversions=clean,
        export_set=str(coef.get("export", "export-cn")), standards_set=str(coef.get("standards", "gb3838-2002")),
        output_dir=(folder / out) if out else None,
    )


def read_table(path: str | Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    """Read a reaches or point-source CSV (``#`` comment lines allowed; units in header brackets)."""
    return read_csv(path, required, what, dtype={"id": str, "source_id": str})


def read_grids(bs: BasinScenario) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Land cover, catchment ids (0 = outside) and cell area [m²], checked to share one grid."""
    from gep.io.raster import cell_area, check_aligned, read_codes

    lc = read_codes(bs.landcover_path, what="land cover")
    catch = read_codes(bs.catchments_path, what="catchment raster")
    check_aligned(lc, catch, "the land cover", "the catchment raster")
    return lc, catch, cell_area(lc)


def coefficient_provenance(set_id: str) -> dict:
    """Id, version and file hashes of a coefficient set, plus its manifest's own hash."""
    from gep.io.coefficient_files import read_manifest

    folder = find_set(set_id)
    m = read_manifest(folder)
    return {"id": m["id"], "version": str(m["version"]), "files": dict(sorted(m.get("files", {}).items())),
            "manifest_sha256": sha256_file(folder / "manifest.toml")}



@dataclass
class BasinResult:
    """Outputs of one basin run (tables plus provenance)."""

    scenario: BasinScenario
    capacity: pd.DataFrame
    credits: pd.DataFrame
    unassessed: pd.DataFrame
    conversions: list[dict]
    coefficients: dict
    run_dir: Path | None = None
    manifest: dict | None = None


def compute_basin(bs: BasinScenario) -> BasinResult:
    """Read every input of ``bs`` and compute capacities and credits."""
    from gep.capacity.basin import apply_conversions, basin_credits, reach_capacities
    from gep.io.capacity_tables import read_export_coefficients, read_standards

    standards = read_standards(bs.standards_set)
    export = read_export_coefficients(bs.export_set)
    reaches = read_table(bs.reaches_path, REACH_COLUMNS, "reaches table")
    points = read_table(bs.point_path, POINT_COLUMNS, "point-source table") if bs.point_path else None
    caps = reach_capacities(reaches, standards)
    lc, catch, area = read_grids(bs)
    lc_arr, log = apply_conversions(np.asarray(lc.values), np.asarray(catch.values), bs.conversions)
    credits, rest = basin_credits(caps, lc_arr, np.asarray(catch.values), area, export, points, bs.safety_margin, bs.vintage)
    coef = {"standards": coefficient_provenance(bs.standards_set), "export": coefficient_provenance(bs.export_set)}
    return BasinResult(bs, caps, credits, rest, log, coef)


def run_id(bs: BasinScenario, coef: dict) -> str:
    """``<name>-capacity-<hash>``: hash of the scenario, its inputs and the coefficient sets."""
    from gep.audit.provenance import canonical_json, run_folder_name, sha256_bytes

    parts = {"scenario": sha256_file(bs.path), "inputs": {k: sha256_file(p) for k, p in sorted(bs.input_files().items())}, "coefficients": coef}
    return run_folder_name(bs.name, "capacity", sha256_bytes(canonical_json(parts).encode()), default="basin")


def write_basin(result: BasinResult, out_dir: Path | None, command: str) -> Path:
    """Write capacity.csv, credits.csv, credits.parquet and manifest.json; return the folder."""
    from gep.audit import manifest as mf
    from gep.audit import provenance
    from gep.capacity.basin import totals
    from gep.io import outputs

    bs = result.scenario
    folder = Path(out_dir) if out_dir else (bs.output_dir or Path("runs")) / run_id(bs, result.coefficients)
    folder.mkdir(parents=True, exist_ok=True)
    outputs.write_csv(result.capacity, folder / "capacity.csv")
    outputs.write_csv(result.credits, folder / "credits.csv")
    outputs.write_parquet(result.credits, folder / "credits.parquet")
    names = ["capacity.csv", "credits.csv", "credits.parquet"]
    record = mf.BasinRecord(
        scenario=mf.ScenarioRef(Path(os.path.relpath(bs.path.resolve(), folder.resolve())).as_posix(), sha256_file(bs.path), bs.raw),
        parameters={"vintage": bs.vintage, "safety_margin": bs.safety_margin, "landcover_conversions": result.conversions},
        inputs={k: mf.FileRef(bs.relative(p), sha256_file(p)) for k, p in sorted(bs.input_files().items())},
        coefficients={role: mf.CoefficientsRef.from_dict(c) for role, c in result.coefficients.items()},
    )
    manifest = mf.Manifest(
        kind=mf.BasinRecord.KIND, command=command, record=record, outputs=outputs.hashes(folder, names),
        results={"totals": totals(result.credits), "tolerance": 1e-6, "relative_tolerance": mf.RELATIVE_TOLERANCE,
                 "unassessed_loads": result.unassessed.to_dict(orient="records")},
        environment=provenance.environment(), rng=provenance.rng_record(None, used=False),
    )
    manifest, _, _ = mf.write(folder, manifest)
    result.run_dir = folder
    result.manifest = manifest
    return folder


def replay(manifest, scenario_path: Path, out_dir: Path):
    """Re-run a recorded ``gep capacity basin`` (its scenario file) into ``out_dir``; return the new manifest."""
    result = compute_basin(load_basin(scenario_path))
    write_basin(result, out_dir, manifest.command or "gep capacity basin")
    return result.manifest
