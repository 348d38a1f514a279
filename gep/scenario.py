"""Scenario files (TOML): schema, validation and resolution.

A scenario names the region's grids and tables, the accounting year, the
coefficient set and any overrides, and which services and methods to use.
Validation reports every problem at once, each with the file, key and line,
and suggests the nearest valid key for a typo. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gep.catalogue import BY_ID
from gep.errors import ScenarioError
from gep.io.tables import read_toml
from gep.units import Q_, parse_unit

#: Gridded inputs the services read, with the unit expected (any convertible unit is accepted).
INPUTS: dict[str, str] = {
    "precipitation": "mm/yr",
    "et": "mm/yr",
    "et0": "mm/yr",
    "awc": "mm",
    "storm_rainfall": "mm/yr",
    "npp": "gC/(m**2*yr)",
    "temperature": "degC",
    "r_factor": "MJ*mm/(ha*h*yr)",
    "k_factor": "t*ha*h/(ha*MJ*mm)",
    "sand": "percent",
    "silt": "percent",
    "clay": "percent",
    "organic_carbon": "percent",
    "dem": "m",
    "ls_factor": "dimensionless",
    "fcover": "dimensionless",
    "et_hot": "mm/yr",
    "wind_factor": "kg/m",
    "erodible_fraction": "dimensionless",
    "crust_factor": "dimensionless",
    "roughness_factor": "dimensionless",
    "negative_ions": "ion/cm**3",
}
#: Tabular inputs.
TABLES = ("production", "emissions", "visitors", "housing", "reservoirs")
SWITCHES = (
    "water_conservation_net_of_water_use",
    "purification_capped_by_load",
    "soil_retention_nutrients",
    "landscape_annualise",
    "exclude_outside_origin",
    "negative_water_conservation",
)
NEGATIVE_RULES = ("clamp_total", "keep", "clamp_cells")

#: Keys allowed in each section; ``None`` marks free-form sections checked separately.
SCHEMA: dict[str, Any] = {
    "scenario": {"name", "description", "year", "base_year"},
    "region": {"landcover", "zones", "zone_table"},
    "inputs": None,
    "tables": set(TABLES),
    "coefficients": {"set", "carbon_pools", "overrides"},
    "services": {"enabled", "disabled"},
    "methods": None,
    "switches": set(SWITCHES),
    "valuation": {"price_index", "carbon_price_basis"},
    "output": {"dir"},
    "execution": {"chunks"},
}
RASTER_SUFFIXES = (".tif", ".tiff", ".nc", ".vrt")


@dataclass(frozen=True)
class GridInput:
    """A gridded input: a raster file or a constant quantity."""

    name: str
    path: Path | None
    value: float | None
    unit: str | None


@dataclass
class Scenario:
    """A validated, resolved scenario."""

    path: Path
    raw: dict
    name: str
    year: int
    base_year: int | None
    coefficient_set: str
    carbon_pools: Path | None
    overrides: dict[str, Any]
    landcover: Path
    zones: Path
    zone_table: Path
    inputs: dict[str, GridInput]
    tables: dict[str, Path]
    enabled: list[str] | None
    disabled: list[str]
    methods: dict[str, str]
    switches: dict[str, Any]
    valuation: dict[str, str]
    output_dir: Path | None = None
    chunks: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def relative(self, p: Path) -> str:
        """A path as written relative to the scenario folder (for manifests)."""
        try:
            return Path(p).resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return Path(p).as_posix()


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """1-based line where ``key`` is set (inside ``section`` if given)."""
    lines = text.splitlines()
    start = 0
    if section:
        pat = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]")
        for i, line in enumerate(lines):
            if pat.match(line):
                start = i
                break
    pat = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
    for i in range(start, len(lines)):
        if pat.match(lines[i]):
            return i + 1
    sect = re.compile(r"^\s*\[\s*" + re.escape(key) + r"\s*\]")
    for i, line in enumerate(lines):
        if sect.match(line):
            return i + 1
    return None


def _suggest(word: str, choices) -> str:
    near = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""


class _Problems:
    def __init__(self, path: Path, text: str):
        self.path, self.text, self.items = path, text, []

    def add(self, section: str | None, key: str, message: str) -> None:
        line = _line_of(self.text, key, section)
        where = f"{self.path}" + (f", line {line}" if line else "")
        label = f"[{section}] {key}" if section else key
        self.items.append(f"{where}: {label}: {message}")


def _path(folder: Path, value: Any, probs: _Problems, section: str, key: str, must_exist: bool = True) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        probs.add(section, key, f"expected a file path string, got {value!r}")
        return None
    p = (folder / value).resolve() if not Path(value).is_absolute() else Path(value)
    if must_exist and not p.exists():
        probs.add(section, key, f"file not found: {p}")
    return p


def _grid_input(folder: Path, name: str, value: Any, probs: _Problems) -> GridInput | None:
    if isinstance(value, dict):
        bad = set(value) - {"path", "units", "value"}
        if bad:
            probs.add("inputs", name, f"unknown key(s) {sorted(bad)}; use path, units or value")
        unit = value.get("units")
        if unit is not None:
            try:
                parse_unit(unit, f"[inputs] {name}")
            except ScenarioError as exc:
                probs.add("inputs", name, exc.message)
        if "path" in value:
            p = _path(folder, value["path"], probs, "inputs", name)
            return GridInput(name, p, None, unit)
        if "value" in value and unit:
            return GridInput(name, None, float(value["value"]), unit)
        probs.add("inputs", name, "give 'path' (and optionally 'units') or 'value' and 'units'")
        return None
    if isinstance(value, str) and value.lower().endswith(RASTER_SUFFIXES):
        return GridInput(name, _path(folder, value, probs, "inputs", name), None, None)
    if isinstance(value, str):
        try:
            q = Q_(value)
        except Exception:
            probs.add("inputs", name, f"{value!r} is neither a raster path (.tif, .nc) nor a number with a unit")
            return None
        if not hasattr(q, "units"):
            probs.add("inputs", name, f"constant {value!r} needs a unit, e.g. \"{value} {INPUTS.get(name, '')}\"")
            return None
        return GridInput(name, None, float(q.magnitude), f"{q.units}")
    probs.add("inputs", name, f"expected a raster path or a quantity string such as \"1200 mm/yr\", got {value!r}")
    return None


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise one :class:`ScenarioError` listing every problem."""
    path = Path(path)
    raw = read_toml(path, what="scenario file")
    text = path.read_text(encoding="utf-8")
    folder = path.parent
    probs = _Problems(path, text)

    for section, value in raw.items():
        if section not in SCHEMA:
            probs.add(None, section, f"unknown section{_suggest(section, SCHEMA)}; sections are {', '.join(SCHEMA)}")
            continue
        allowed = SCHEMA[section]
        if not isinstance(value, dict):
            probs.add(None, section, "must be a table [section]")
            continue
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    probs.add(section, key, f"unknown key{_suggest(key, allowed)}; allowed: {', '.join(sorted(allowed))}")

    sc = raw.get("scenario", {})
    year = sc.get("year")
    if not isinstance(year, int) or not 1900 <= year <= 2200:
        probs.add("scenario", "year", f"the accounting year must be an integer like 2022, got {year!r}")
        year = 0
    base_year = sc.get("base_year")
    if base_year is not None and not isinstance(base_year, int):
        probs.add("scenario", "base_year", f"must be an integer year, got {base_year!r}")
        base_year = None

    region = raw.get("region", {})
    paths = {}
    for key in ("landcover", "zones", "zone_table"):
        if key not in region:
            probs.add("region", key, "is required")
        else:
            paths[key] = _path(folder, region[key], probs, "region", key)

    inputs = {}
    for name, value in raw.get("inputs", {}).items():
        if name not in INPUTS:
            probs.add("inputs", name, f"unknown input{_suggest(name, INPUTS)}; inputs are {', '.join(INPUTS)}")
            continue
        gi = _grid_input(folder, name, value, probs)
        if gi is not None:
            inputs[name] = gi

    tables = {}
    for name, value in raw.get("tables", {}).items():
        if name in TABLES:
            p = _path(folder, value, probs, "tables", name)
            if p is not None:
                tables[name] = p

    coef = raw.get("coefficients", {})
    set_id = coef.get("set", "cn-2022")
    pools = _path(folder, coef["carbon_pools"], probs, "coefficients", "carbon_pools") if "carbon_pools" in coef else None
    overrides = coef.get("overrides", {})
    if not isinstance(overrides, dict):
        probs.add("coefficients", "overrides", "must be a table of 'parameter[key]' = value")
        overrides = {}

    services = raw.get("services", {})
    enabled = services.get("enabled")
    disabled = services.get("disabled", [])
    for key, lst in (("enabled", enabled or []), ("disabled", disabled)):
        if not isinstance(lst, list):
            probs.add("services", key, "must be a list of service ids")
            continue
        for sid in lst:
            if sid not in BY_ID:
                probs.add("services", key, f"unknown service '{sid}'{_suggest(str(sid), BY_ID)}")

    methods = {}
    for sid, method in raw.get("methods", {}).items():
        if sid not in BY_ID:
            probs.add("methods", sid, f"unknown service{_suggest(sid, BY_ID)}")
        elif method not in BY_ID[sid].methods:
            probs.add("methods", sid, f"unknown method '{method}'{_suggest(str(method), BY_ID[sid].methods)}; methods: {', '.join(BY_ID[sid].methods)}")
        else:
            methods[sid] = method

    switches = dict(raw.get("switches", {}))
    for key, value in switches.items():
        if key == "negative_water_conservation":
            if value not in NEGATIVE_RULES:
                probs.add("switches", key, f"must be one of {', '.join(NEGATIVE_RULES)}")
        elif key in SWITCHES and not isinstance(value, bool):
            probs.add("switches", key, f"must be true or false, got {value!r}")

    valuation = dict(raw.get("valuation", {}))
    if valuation.get("carbon_price_basis", "tCO2") not in ("tCO2", "tC"):
        probs.add("valuation", "carbon_price_basis", "must be 'tCO2' (market price per t CO2) or 'tC' (price per t C)")

    out_dir = raw.get("output", {}).get("dir")
    chunks = raw.get("execution", {}).get("chunks")
    if chunks is not None and (not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 16):
        probs.add("execution", "chunks", f"must be an integer chunk size of at least 16 cells, got {chunks!r}")
        chunks = None
    if probs.items:
        n = len(probs.items)
        raise ScenarioError(
            f"{n} problem{'s' if n > 1 else ''} in scenario: " + " | ".join(probs.items),
            hint="see docs/scenarios.md for every key, its unit and default",
        )
    return Scenario(
        path=path,
        raw=raw,
        name=str(sc.get("name", path.stem)),
        year=year,
        base_year=base_year,
        coefficient_set=set_id,
        carbon_pools=pools,
        overrides=overrides,
        landcover=paths["landcover"],
        zones=paths["zones"],
        zone_table=paths["zone_table"],
        inputs=inputs,
        tables=tables,
        enabled=enabled,
        disabled=list(disabled),
        methods=methods,
        switches=switches,
        valuation=valuation,
        output_dir=(folder / out_dir) if out_dir else None,
        chunks=chunks,
    )
