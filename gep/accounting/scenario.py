"""Scenario files (TOML): schema, validation and resolution.

A scenario names the region's grids and tables, the accounting year, the
coefficient set and any overrides, and which services and methods to use.
Validation (:func:`parse`, on the parsed TOML and its text; the file is read by
:func:`gep.jobs.inputs.scenario`) reports every problem at once as located
records (:class:`gep.errors.Problem`: file, key, line, message) and suggests the
nearest valid key for a typo. See ``docs/scenarios.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gep.accounting import catalogue
from gep.accounting import switches as switches_mod
from gep.accounting.catalogue import BY_ID
from gep.accounting.changes import CLASS_DEPENDENT_INPUTS, InputChange, Operation, OperationProblem, validate
from gep.errors import Problem, ScenarioError, UnitError, nearest
from gep.units import parse_unit, split_quantity

#: Gridded and tabular inputs a scenario may give: every input of every service of the catalogue.
INPUTS = catalogue.INPUTS
MONTHLY = catalogue.MONTHLY
TABLES = catalogue.TABLES
SWITCHES = switches_mod.SWITCHES
NEGATIVE_RULES = switches_mod.CHOICES["negative_water_conservation"]
CHOICE_SWITCHES = switches_mod.CHOICES

#: Keys allowed in each section; ``None`` marks free-form sections checked separately.
SCHEMA: dict[str, Any] = {
    "scenario": {"name", "description", "year", "base_year"},
    "region": {"landcover", "zones", "zone_table", "zone_id_field", "zone_name_field", "area", "province"},
    "inputs": None,
    "tables": set(TABLES),
    "coefficients": {"set", "carbon_pools", "landcover_remap", "biophysical_table", "overrides"},
    "services": {"enabled", "disabled"},
    "methods": None,
    "switches": set(SWITCHES),
    "valuation": {"price_index", "carbon_price_basis"},
    "changes": None,
    "series": None,
    "purchase": {"zones", "share", "basis", "from_year", "to_year", "note"},
    "output": {"dir"},
    "execution": {"chunks", "resample"},
    "uncertainty": None,  # checked by gep.uncertainty.space (gep uncertainty)
}
#: Keys of one year of a ``[series.<year>]`` table.
SERIES_YEAR_KEYS = {"landcover", "zone_table", "inputs", "tables", "changes", "note"}
#: Bases of a GEP-growth purchase.
PURCHASE_BASES = ("comparable", "current")
RASTER_SUFFIXES = (".tif", ".tiff", ".nc", ".vrt")
#: Vector files a ``[region] zones`` may be (rasterised by gep on the land-cover grid).
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json")
RESAMPLING_METHODS = ("nearest", "bilinear", "cubic", "average", "mean", "mode")


@dataclass(frozen=True)
class GridInput:
    """A gridded input: a raster file or a constant quantity.

    ``resample`` names the method used when the raster is on another grid
    (``nearest``, ``bilinear``, ``cubic``, ``average``/``mean``, ``mode``);
    ``None`` means the grids must match (or ``[execution] resample = true``).
    """

    name: str
    path: Path | None
    value: float | None
    unit: str | None
    resample: str | None = None
    #: Band of a multi-band raster (1-based; a monthly input's 12-band file), None for a single-band file.
    band: int | None = None


@dataclass(frozen=True)
class SeriesYear:
    """One year of a multi-year series: what differs from the scenario's own inputs."""

    year: int
    landcover: Path
    zone_table: Path
    inputs: dict[str, GridInput]
    tables: dict[str, Path]
    changes: tuple[Operation, ...]
    #: Price year of each of the year's own tables (default the year).
    table_price_years: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A validated, resolved scenario (immutable: :func:`for_year` makes the scenario of one year)."""

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
    enabled: tuple[str, ...] | None
    disabled: tuple[str, ...]
    methods: dict[str, str]
    switches: dict[str, Any]
    valuation: dict[str, str]
    output_dir: Path | None = None
    chunks: int | None = None
    #: The user's land-cover codes onto the set's legend (``[coefficients] landcover_remap``), and InVEST's
    #: annual-water-yield biophysical table (``[coefficients] biophysical_table``).
    landcover_remap: Path | None = None
    biophysical_table: Path | None = None
    #: A vector file of zones (``[region] zones`` = .gpkg/.shp/.geojson) is rasterised on the land-cover grid:
    #: the attributes holding each zone's id and name.
    zone_id_field: str | None = None
    zone_name_field: str | None = None
    #: GeoJSON polygon whose account is computed (``[region] area`` or ``--area``).
    area: Path | None = None
    #: Validated ``[[changes]]`` operations (:mod:`gep.accounting.changes`), applied in order.
    changes: tuple[Operation, ...] = ()
    #: ``[execution] resample = true``: resample any input on another grid (nearest for classes, bilinear for values).
    resample: bool = False
    #: Years of a multi-year series (``[series.<year>]``), sorted; None for a single-year scenario.
    series: dict[int, SeriesYear] | None = None
    #: GEP-growth purchase (``[purchase]``), see docs/scenarios.md.
    purchase: dict | None = None
    #: ``[region] province``: GB/T 2260 two-digit code of the region's province (selects provincial tariffs), or None.
    province: str | None = None
    #: Price year of the CNY amounts in each table (``{ path = ..., price_year = ... }``, default the year the
    #: table is given for: ``[scenario] year``, or the year of a ``[series.<year>.tables]`` entry).
    table_price_years: dict[str, int] = field(default_factory=dict)
    #: ``[series] inputs_follow_landcover``: inputs shared by every year were observed on the
    #: ``[region]`` land cover; in a year whose land cover differs, the class-dependent ones follow it.
    series_follow: bool = True
    #: Set by :func:`for_year`: the land cover the shared inputs were observed on, and which inputs follow.
    inputs_landcover: Path | None = None
    follow_inputs: tuple[str, ...] = ()


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


def _array_line(text: str, array: str, index: int, key: str | None = None) -> int | None:
    """1-based line of ``key`` inside the ``index``-th ``[[array]]`` table (its header if no key)."""
    lines = text.splitlines()
    head = re.compile(r"^\s*\[\[\s*" + re.escape(array) + r"\s*\]\]")
    hits = [i for i, line in enumerate(lines) if head.match(line)]
    if index >= len(hits):
        return _line_of(text, array.split(".")[-1], ".".join(array.split(".")[:-1]) or None)
    start = hits[index]
    if key:
        pat = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
        for i in range(start + 1, len(lines)):
            if re.match(r"^\s*\[", lines[i]):
                break
            if pat.match(lines[i]):
                return i + 1
    return start + 1


def _suggest(word: str, choices) -> str:
    near = nearest(word, choices)
    return f" (did you mean '{near}'?)" if near else ""


class _Problems:
    """The problems of one scenario file, each located by key and line."""

    def __init__(self, path: Path, text: str):
        self.path, self.text, self.items = path, text, []

    def add(self, section: str | None, key: str, message: str, line: int | None = None, label: str | None = None) -> None:
        line = line if line is not None else _line_of(self.text, key, section)
        label = label or (f"[{section}] {key}" if section else key)
        self.items.append(Problem(message, file=str(self.path), key=label, line=line))

    def changes(self, array: str, problems: list[OperationProblem]) -> None:
        """Record the problems of a ``[[changes]]`` list with the line of each key."""
        for pr in problems:
            if pr.index is None:
                self.add(None, array, pr.message)
                continue
            line = _array_line(self.text, array, pr.index, pr.key if pr.key not in ("changes", "op") else "op")
            self.add(None, pr.key, pr.message, line=line, label=f"[[{array}]] #{pr.index + 1} {pr.key}")


def _path(folder: Path, value: Any, probs: _Problems, section: str, key: str, must_exist: bool = True) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        probs.add(section, key, f"expected a file path string, got {value!r}")
        return None
    p = (folder / value).resolve() if not Path(value).is_absolute() else Path(value)
    if must_exist and not p.exists():
        probs.add(section, key, f"file not found: {p}")
    return p


def _entries(block: dict, key: str, section: str, allowed, what: str, shape: str, probs: _Problems) -> dict:
    """The ``name = value`` pairs of ``[<section>.]<key>`` whose names are allowed; a problem for every other name."""
    where = f"{section}.{key}" if section else key
    table = block.get(key, {})
    if not isinstance(table, dict):
        probs.add(section or None, key, f"must be a table of {shape}")
        return {}
    for name in table:
        if name not in allowed:
            probs.add(where, name, f"unknown {what}{_suggest(name, allowed)}; {what}s are {', '.join(allowed)}")
    return {name: v for name, v in table.items() if name in allowed}


def _grid_inputs(folder: Path, block: dict, section: str, probs: _Problems) -> dict[str, GridInput]:
    """The gridded inputs of ``[<section>.]inputs`` (a monthly input as its twelve grids)."""
    where = f"{section}.inputs" if section else "inputs"
    out: dict[str, GridInput] = {}
    for name, v in _entries(block, "inputs", section, INPUTS, "input", "input = path or quantity", probs).items():
        if name in MONTHLY:
            out.update(_monthly_input(folder, name, v, probs, where))
        elif (gi := _grid_input(folder, name, v, probs, where)) is not None:
            out[name] = gi
    return out


def _monthly_input(folder: Path, name: str, value: Any, probs: _Problems, section: str) -> dict[str, GridInput]:
    """A monthly input's twelve grids ``<name>_01`` … ``<name>_12``: the bands of one 12-band raster, or a list
    of 12 rasters or constants (January first)."""
    months = catalogue.MONTHS
    if isinstance(value, list):
        if len(value) != len(months):
            probs.add(section, name, f"a monthly input needs {len(months)} entries (January to December), got {len(value)}")
            return {}
        grids = {f"{name}_{m}": _grid_input(folder, f"{name}_{m}", v, probs, section) for m, v in zip(months, value)}
        return {k: gi for k, gi in grids.items() if gi is not None}
    gi = _grid_input(folder, name, value, probs, section)
    if gi is None:
        return {}
    if gi.path is None:
        probs.add(section, name, f"a monthly input needs 12 values: a 12-band raster or a list of 12 rasters or constants, got one constant {value!r}")
        return {}
    return {f"{name}_{m}": replace(gi, name=f"{name}_{m}", band=i) for i, m in enumerate(months, start=1)}


def _grid_input(folder: Path, name: str, value: Any, probs: _Problems, section: str = "inputs") -> GridInput | None:
    if isinstance(value, dict):
        bad = set(value) - {"path", "units", "value", "resample"}
        if bad:
            probs.add(section, name, f"unknown key(s) {sorted(bad)}; use path, units, value or resample")
        method = value.get("resample")
        if method is not None and method not in RESAMPLING_METHODS:
            probs.add(section, name, f"resample must be one of {', '.join(RESAMPLING_METHODS)}{_suggest(str(method), RESAMPLING_METHODS)}, got {method!r}")
            method = None
        unit = value.get("units")
        if unit is not None:
            try:
                parse_unit(unit, f"[{section}] {name}")
            except ScenarioError as exc:
                probs.add(section, name, exc.message)
        if "path" in value:
            p = _path(folder, value["path"], probs, section, name)
            return GridInput(name, p, None, unit, method)
        if "value" in value and unit:
            return GridInput(name, None, float(value["value"]), unit)
        probs.add(section, name, "give 'path' (and optionally 'units') or 'value' and 'units'")
        return None
    if isinstance(value, str) and value.lower().endswith(RASTER_SUFFIXES):
        return GridInput(name, _path(folder, value, probs, section, name), None, None)
    if isinstance(value, str):
        try:
            number, unit = split_quantity(value, f"[{section}] {name}")
        except UnitError as exc:
            probs.add(section, name, f"{value!r} is neither a raster path (.tif, .nc) nor a number with a unit ({exc.message})")
            return None
        if not unit:
            probs.add(section, name, f"constant {value!r} needs a unit, e.g. \"{value} {INPUTS.get(name, '')}\"")
            return None
        return GridInput(name, None, number, unit)
    probs.add(section, name, f"expected a raster path or a quantity string such as \"1200 mm/yr\", got {value!r}")
    return None


def parse(raw: dict, path: str | Path, text: str = "", *, partial: bool = False) -> Scenario | tuple[Scenario, list[Problem]]:
    """Validate a parsed scenario file; raise one :class:`ScenarioError` carrying every problem.

    Parameters
    ----------
    raw : dict
        The parsed TOML.
    path : path
        The scenario file (relative paths are relative to its folder; problems name it).
    text : str
        The file's text, to locate each problem's line.
    partial : bool
        Return ``(scenario, problems)`` instead of raising: the scenario holds what
        could be read (a missing file or key is ``None``), so that the caller can
        add the problems only it can see (the coefficient set, the inputs each
        service needs) and report everything at once (:func:`raise_problems`).
    """
    path = Path(path)
    folder = path.parent
    probs = _Problems(path, text)

    for section, value in raw.items():
        if section not in SCHEMA:
            probs.add(None, section, f"unknown section{_suggest(section, SCHEMA)}; sections are {', '.join(SCHEMA)}")
            continue
        allowed = SCHEMA[section]
        if section == "changes":
            continue  # an array of tables, checked below
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
    vector_zones = isinstance(region.get("zones"), str) and region["zones"].lower().endswith(VECTOR_SUFFIXES)
    for key in ("landcover", "zones", "zone_table"):
        if key not in region:
            if not (key == "zone_table" and vector_zones):
                probs.add("region", key, "is required" + (" (or give zones as a vector file: .gpkg, .shp, .geojson, with zone_id_field)" if key == "zone_table" else ""))
        else:
            paths[key] = _path(folder, region[key], probs, "region", key)
    fields = {k: region.get(k) for k in ("zone_id_field", "zone_name_field")}
    for k, v in fields.items():
        if v is not None and (not isinstance(v, str) or not v.strip()):
            probs.add("region", k, f"must be the name of an attribute of the zones file, got {v!r}")
        elif v is not None and not vector_zones:
            probs.add("region", k, "applies to zones given as a vector file (.gpkg, .shp, .geojson); a zones raster holds the ids itself")
    if vector_zones and not fields["zone_id_field"]:
        probs.add("region", "zones", "a vector file of zones needs zone_id_field = \"<attribute holding each zone's id>\" (and zone_name_field for its name)")

    inputs = _grid_inputs(folder, raw, "", probs)

    tables, table_years = _tables(folder, raw.get("tables", {}), "tables", year, probs)

    area = _path(folder, region["area"], probs, "region", "area") if "area" in region else None
    changes = _changes(folder, raw.get("changes", []), "changes", set(INPUTS), probs)
    series = _series(folder, raw.get("series"), probs, paths) if "series" in raw else None
    if series is not None:
        if year and year not in series:
            probs.add("scenario", "year", f"{year} is not one of the series years {sorted(series)}; it is the year a single-year run (and replay) accounts")
        sb = raw["series"].get("base_year")
        if sb is not None:
            if base_year is not None and sb != base_year:
                probs.add("series", "base_year", f"differs from [scenario] base_year {base_year}; give it once")
            base_year = sb if isinstance(sb, int) and not isinstance(sb, bool) else base_year
        if base_year is None:
            base_year = min(series)
    purchase = _purchase(raw["purchase"], series, probs) if "purchase" in raw else None

    coef = raw.get("coefficients", {})
    set_id = coef.get("set", "cn-2022")
    pools, remap, biophysical = (_path(folder, coef[k], probs, "coefficients", k) if k in coef else None for k in ("carbon_pools", "landcover_remap", "biophysical_table"))
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
        elif method not in BY_ID[sid].method_names:
            probs.add("methods", sid, f"unknown method '{method}'{_suggest(str(method), BY_ID[sid].method_names)}; methods: {', '.join(BY_ID[sid].method_names)}")
        else:
            methods[sid] = method

    switches = dict(raw.get("switches", {}))
    for key, value in switches.items():
        if key in CHOICE_SWITCHES:
            if value not in CHOICE_SWITCHES[key]:
                probs.add("switches", key, f"must be one of {', '.join(CHOICE_SWITCHES[key])}{_suggest(str(value), CHOICE_SWITCHES[key])}, got {value!r}")
        elif key in SWITCHES and not isinstance(value, bool):
            probs.add("switches", key, f"must be true or false, got {value!r}")

    province = region.get("province")
    if province is not None:
        text_code = str(province).strip()
        if isinstance(province, bool) or not (text_code.isdigit() and len(text_code) == 2):
            probs.add("region", "province", f"must be a GB/T 2260 two-digit province code such as \"32\" (Jiangsu), got {province!r}")
            province = None
        else:
            province = text_code

    valuation = dict(raw.get("valuation", {}))
    if valuation.get("carbon_price_basis", "tCO2") not in ("tCO2", "tC"):
        probs.add("valuation", "carbon_price_basis", "must be 'tCO2' (market price per t CO2) or 'tC' (price per t C)")

    out_dir = raw.get("output", {}).get("dir")
    resample = raw.get("execution", {}).get("resample", False)
    if not isinstance(resample, bool):
        probs.add("execution", "resample", f"must be true or false, got {resample!r} (per input: {{ path = \"x.tif\", resample = \"bilinear\" }})")
        resample = False
    chunks = raw.get("execution", {}).get("chunks")
    if chunks is not None and (not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 16):
        probs.add("execution", "chunks", f"must be an integer chunk size of at least 16 cells, got {chunks!r}")
        chunks = None
    if probs.items and not partial:
        raise_problems(probs.items)
    sc = Scenario(
        path=path,
        raw=raw,
        name=str(sc.get("name", path.stem)),
        year=year,
        base_year=base_year,
        coefficient_set=set_id,
        carbon_pools=pools,
        landcover_remap=remap,
        biophysical_table=biophysical,
        overrides=overrides,
        landcover=paths.get("landcover"),
        zones=paths.get("zones"),
        zone_table=paths.get("zone_table"),
        zone_id_field=fields["zone_id_field"],
        zone_name_field=fields["zone_name_field"],
        inputs=inputs,
        tables=tables,
        table_price_years=table_years,
        enabled=tuple(enabled) if enabled is not None else None,
        disabled=tuple(disabled),
        methods=methods,
        switches=switches,
        valuation=valuation,
        output_dir=(folder / out_dir) if out_dir else None,
        chunks=chunks,
        area=area,
        changes=changes,
        resample=resample,
        series=series,
        purchase=purchase,
        province=province,
        series_follow=bool(raw.get("series", {}).get("inputs_follow_landcover", True)) if isinstance(raw.get("series"), dict) else True,
    )
    return (sc, probs.items) if partial else sc


def raise_problems(problems: list[Problem]) -> None:
    """Raise one :class:`ScenarioError` listing every problem of a scenario (file, line, key, message)."""
    n = len(problems)
    raise ScenarioError(
        f"{n} problem{'s' if n > 1 else ''} in scenario: " + " | ".join(map(str, problems)),
        hint="see docs/scenarios.md for every key, its unit and default",
        problems=problems,
    )


def locate(problem: Problem, path: Path, text: str, section: str, key: str | None = None) -> Problem:
    """``problem`` placed in the scenario file: its file and the line of ``key`` in ``[section]`` (or of the section)."""
    line = _line_of(text, key, section) if key else _line_of(text, section)
    return replace(problem, file=str(path), line=problem.line or line)


def _tables(folder: Path, block: Any, section: str, year: int, probs: _Problems) -> tuple[dict[str, Path], dict[str, int]]:
    """Tables of ``[<section>]``: ``name = "path"`` or ``name = { path = "...", price_year = 2021 }``.

    Returns the paths and the price year of each table's CNY amounts (default ``year``,
    the year the table is given for).
    """
    paths: dict[str, Path] = {}
    years: dict[str, int] = {}
    if not isinstance(block, dict):
        return paths, years
    for name, value in block.items():
        if name not in TABLES:
            continue
        price_year = year
        if isinstance(value, dict):
            bad = set(value) - {"path", "price_year"}
            if bad:
                probs.add(section, name, f"unknown key(s) {sorted(bad)}; use path and price_year")
            given = value.get("price_year", year)
            if isinstance(given, bool) or not isinstance(given, int) or not 1900 <= given <= 2200:
                probs.add(section, name, f"price_year must be a year like 2021 (the year of the table's CNY amounts), got {given!r}")
            else:
                price_year = given
            value = value.get("path")
        p = _path(folder, value, probs, section, name)
        if p is not None:
            paths[name] = p
            years[name] = price_year
    return paths, years


def _changes(folder: Path, raw: Any, array: str, inputs: set[str], probs: _Problems) -> tuple[Operation, ...]:
    """Validate a ``[[changes]]`` list (see :mod:`gep.accounting.changes`) and check the files it names."""
    ops, problems = validate(raw, inputs)
    probs.changes(array, problems)
    out = []
    for op in ops:
        line = _array_line(probs.text, array, op.index, "op")
        op = replace(op, label=f"[[{array}]] #{op.index + 1}" + (f" (line {line})" if line else ""))
        files = {"mask": op.mask, "polygon": op.polygon, "path": op.path if isinstance(op, InputChange) else None}
        for key, value in files.items():
            if value is not None:
                p = (folder / value) if not Path(value).is_absolute() else Path(value)
                if not p.is_file():
                    line = _array_line(probs.text, array, op.index, key)
                    probs.add(None, key, f"file not found: {p.resolve()}", line=line, label=f"[[{array}]] #{op.index + 1} {key}")
        out.append(op)
    return tuple(out)


def _series(folder: Path, raw: Any, probs: _Problems, paths: dict) -> dict[int, SeriesYear] | None:
    """Validate ``[series]``: ``base_year`` and one ``[series.<year>]`` table per year."""
    if not isinstance(raw, dict):
        probs.add(None, "series", "must be a table [series] with one [series.<year>] table per year")
        return None
    out: dict[int, SeriesYear] = {}
    for key, value in raw.items():
        if key == "base_year":
            if not isinstance(value, int) or isinstance(value, bool) or not 1900 <= value <= 2200:
                probs.add("series", "base_year", f"must be a year like 2020, got {value!r}")
            continue
        if key == "inputs_follow_landcover":
            if not isinstance(value, bool):
                probs.add("series", key, f"must be true or false, got {value!r}")
            continue
        if not (key.isdigit() and len(key) == 4 and 1900 <= int(key) <= 2200):
            probs.add("series", key, f"unknown key{_suggest(key, ['base_year', 'inputs_follow_landcover'])}; [series] holds base_year, inputs_follow_landcover and one [series.<year>] table per year (e.g. [series.2020])")
            continue
        section = f"series.{key}"
        if not isinstance(value, dict):
            probs.add(None, section, f"must be a table [{section}] (it may be empty: the year then uses [region] and [inputs] as they are)")
            continue
        for k in value:
            if k not in SERIES_YEAR_KEYS:
                probs.add(section, k, f"unknown key{_suggest(k, SERIES_YEAR_KEYS)}; allowed: {', '.join(sorted(SERIES_YEAR_KEYS))}")
        year = int(key)
        lc = _path(folder, value["landcover"], probs, section, "landcover") if "landcover" in value else paths.get("landcover")
        zt = _path(folder, value["zone_table"], probs, section, "zone_table") if "zone_table" in value else paths.get("zone_table")
        inputs = _grid_inputs(folder, value, section, probs)
        tables, table_years = _tables(folder, _entries(value, "tables", section, TABLES, "table", "table = path", probs), f"{section}.tables", year, probs)
        changes = _changes(folder, value.get("changes", []), f"{section}.changes", set(INPUTS), probs)
        out[year] = SeriesYear(year, lc, zt, inputs, tables, changes, table_years)
    if len(out) < 2:
        probs.add(None, "series", f"a series needs at least two [series.<year>] tables, found {len(out)}")
    return dict(sorted(out.items()))


def _purchase(raw: Any, series: dict | None, probs: _Problems) -> dict | None:
    """Validate ``[purchase]``: a share of a zone's GEP increase between two series years."""
    if not isinstance(raw, dict):
        return None
    if series is None:
        probs.add(None, "purchase", "needs a multi-year [series] (the payment is a share of the GEP increase between two years)")
        return None
    out: dict[str, Any] = {}
    share = raw.get("share")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        probs.add("purchase", "share", f"must be a fraction in (0, 1] of the GEP increase, got {share!r}")
    else:
        out["share"] = float(share)
    basis = raw.get("basis", "comparable")
    if basis not in PURCHASE_BASES:
        probs.add("purchase", "basis", f"must be one of {', '.join(PURCHASE_BASES)}{_suggest(str(basis), PURCHASE_BASES)}")
    out["basis"] = basis
    years = sorted(series)
    for key, default in (("from_year", years[0]), ("to_year", years[-1])):
        y = raw.get(key, default)
        if y not in series:
            probs.add("purchase", key, f"must be one of the series years {years}, got {y!r}")
        out[key] = y
    if out["from_year"] in series and out["to_year"] in series and out["from_year"] >= out["to_year"]:
        probs.add("purchase", "to_year", f"must be after from_year {out['from_year']}")
    zones = raw.get("zones")
    if zones is not None:
        z = zones if isinstance(zones, list) else [zones]
        if not z or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in z):
            probs.add("purchase", "zones", f"must be zone ids (positive integers), got {zones!r}")
        else:
            out["zones"] = sorted(set(z))
    if "note" in raw:
        out["note"] = str(raw["note"])
    return out


def for_year(sc: Scenario, year: int) -> Scenario:
    """The single-year scenario of one year of a series (its land cover, inputs, tables and changes).

    Changes of ``[[changes]]`` apply to every year, then the year's own
    ``[[series.<year>.changes]]``; comparable prices are those of the series base year.
    """
    if sc.series is None:
        return sc
    if year not in sc.series:
        raise ScenarioError(f"{sc.path}: {year} is not a year of the series ({', '.join(map(str, sc.series))})", hint="use one of the [series.<year>] years")
    y = sc.series[year]
    inputs = dict(sc.inputs)
    inputs.update(y.inputs)
    tables = dict(sc.tables)
    tables.update(y.tables)
    table_years = {name: sc.table_price_years.get(name, sc.year) for name in sc.tables}
    table_years.update({name: y.table_price_years.get(name, year) for name in y.tables})
    n = len(sc.changes)
    year_changes = tuple(replace(op, index=op.index + n) for op in y.changes)
    follow: tuple[str, ...] = ()
    ref = None
    if sc.series_follow and Path(y.landcover).resolve() != Path(sc.landcover).resolve():
        follow = tuple(n for n in CLASS_DEPENDENT_INPUTS if n in sc.inputs and n not in y.inputs and sc.inputs[n].path is not None)
        ref = sc.landcover if follow else None
    return replace(
        sc, year=year, landcover=y.landcover, zone_table=y.zone_table, inputs=inputs, tables=tables, table_price_years=table_years,
        changes=sc.changes + year_changes, series=None, purchase=None, inputs_landcover=ref, follow_inputs=follow,
    )
