"""A whole-basin capacity scenario (``gep capacity basin SCENARIO``): its keys, validated.

The keys of the scenario TOML are documented in ``docs/capacity.md``; relative
paths are relative to the scenario file. :func:`parse` validates the parsed TOML
(the file is read by the job, :mod:`gep.jobs.capacity_basin`); the calculation
lives in :mod:`gep.capacity.basin`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gep.errors import ScenarioError

__all__ = ["BasinScenario", "parse", "REACH_COLUMNS", "POINT_COLUMNS"]

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
    "uncertainty": {"distributions", "correlated", "fixed", "coefficients", "inputs"},  # gep capacity basin --samples (docs/uncertainty.md)
    "calibration": {"fit", "run"},
}
CONVERT_KEYS = {"catchment", "from", "to", "share"}


@dataclass(frozen=True)
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
    #: ``("fit", calibration file)`` (re-fitted each run) or ``("run", manifest.json)`` (a recorded calibration)
    calibration: tuple[str, Path] | None = None

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
        if self.calibration is not None:
            files[f"calibration.{self.calibration[0]}"] = self.calibration[1]
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


def parse(raw: dict, path: str | Path, landcover_of: Callable[[Path], Path]) -> BasinScenario:
    """Validate a parsed capacity scenario (keys: ``docs/capacity.md``).

    Parameters
    ----------
    raw : dict
        The TOML document.
    path : path
        The scenario file (relative paths are relative to its folder).
    landcover_of : callable
        Land-cover raster of a GEP scenario file (for ``[landcover] scenario``).
    """
    path = Path(path)
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
        lc_scenario = _file(path, folder, lcsec["scenario"], "landcover", "scenario")
        landcover = landcover_of(lc_scenario)
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

    cal = raw.get("calibration", {})
    if cal and len(cal) != 1:
        raise ScenarioError(f"{path.name}: [calibration]: give exactly one of fit or run",
                            hint="fit = \"calibration.toml\" (re-fitted each run) or run = \"runs/<id>/manifest.json\" (a recorded calibration)")
    calibration = (next(iter(cal)), _file(path, folder, next(iter(cal.values())), "calibration", next(iter(cal)))) if cal else None
    coef = raw.get("coefficients", {})
    out = raw.get("output", {}).get("dir")
    return BasinScenario(
        path=path, raw=raw, name=str(name), vintage=vintage, safety_margin=float(margin),
        reaches_path=reaches, point_path=points, catchments_path=catchments, landcover_path=Path(landcover),
        landcover_scenario=lc_scenario, conversions=clean,
        export_set=str(coef.get("export", "export-cn")), standards_set=str(coef.get("standards", "gb3838-2002")),
        output_dir=(folder / out) if out else None, calibration=calibration,
    )
