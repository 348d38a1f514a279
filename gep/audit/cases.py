"""Reference calculations: run the cases in ``benchmarks/cases/`` and check their expected results.

A case is a folder with

``case.toml``
    ``kind`` and the parameters of the calculation (optional for ``gep-run``
    cases, whose folder then holds ``scenario.toml``);
``expected.toml``
    the expected numbers, each with a tolerance (``[[check]]`` tables);
``SOURCE.md``
    where the expected numbers come from: a worked calculation written out
    by hand, a published total, a stoichiometric identity;
inputs
    tiny GeoTIFFs and CSV tables, or parameters in ``case.toml``.

Kinds
-----
``gep-run``
    Compute the account of ``scenario.toml`` (no files written) and read
    quantities, values, component values, index factors, category totals and
    shares from it.
``capacity``
    Evaluate a water-ecological-capacity model of :data:`gep.capacity.models.MODELS`
    (``model``, ``pollutant``, ``class``/``water_body`` or a target ``cs``, and
    ``[inputs]`` as quantity strings such as ``"10 m**3/s"``).
``bond``
    Price a bond (``[bond]`` as in a bond file, ``settle``, ``yield`` or ``price``)
    with :mod:`gep.finance.pricing`.
``account-arithmetic``
    Sum given service values (``[[items]]`` with ``label``, ``category``,
    ``value``) with the engine's account code and read totals and shares: this
    checks the account arithmetic on published figures, not gep's physical models.
    These cases are identities (they read back published numbers): they are
    reported apart and not counted as tests of the engine.
``published-account``
    Re-value a published physical account (``account``: a CSV with one row per
    priced component, see :mod:`gep.accounting.published`) with a coefficient
    set's prices (``coefficients``, optional ``province``; ``[prices]`` maps
    ``"<service>.<component>"`` to a price parameter) indexed to the account's
    ``year``, and read gep's value (``revalued``), the published value
    (``published``, an identity) or their ratio (``ratio``), selected by
    ``service`` and optionally ``component``.

A case whose ``case.toml`` says ``identity = true`` (the default of the
``account-arithmetic`` kind) is an identity: ``gep verify`` reports it apart from
the engine tests and does not count it among them.

A check passes when ``|actual − expected| ≤ abs_tol + rel_tol·|expected|``.

``expected.toml``::

    [defaults]            # optional
    rel_tol = 1e-9
    abs_tol = 0.0

    [[check]]
    name = "water conserved by the forest cell"
    what = "quantity"     # see WHAT below
    service = "water_conservation"
    ecosystem = "forest"  # optional selectors: zone, ecosystem, component
    expected = 6599.5
    unit = "m**3/yr"      # the engine's value is converted to this unit
    rel_tol = 1e-9        # overrides the default
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from gep.errors import GepError, InputError
from gep.io.files import read_toml

CASE_FILE = "case.toml"
EXPECTED_FILE = "expected.toml"
SOURCE_FILE = "SOURCE.md"
SCENARIO_FILE = "scenario.toml"

#: What a ``gep-run`` check can read, with the unit it comes in (``None``: the account's unit).
GEP_RUN_WHAT = {
    "quantity": None,
    "value": "CNY",
    "value_comparable": "CNY",
    "gep": "CNY",
    "gep_comparable": "CNY",
    "category": "CNY",
    "share_of_total": "dimensionless",
    "share_of_category": "dimensionless",
    "component_value": "CNY",
    "component_quantity": None,
    "index_factor": "dimensionless",
    "unit_price": None,
    "extra": None,
}
BOND_WHAT = ("dirty_price", "clean_price", "accrued_interest", "yield_to_maturity", "macaulay_duration", "modified_duration", "convexity", "dv01")
ARITHMETIC_WHAT = ("total", "category", "share")
PUBLISHED_WHAT = {"revalued": "CNY", "published": "CNY", "ratio": "dimensionless"}
CAPACITY_WHAT = ("capacity", "target")
#: Kinds whose cases are identities unless their case.toml says ``identity = false``.
IDENTITY_KINDS = ("account-arithmetic",)


@dataclass
class Check:
    """One expected number and what the engine gave."""

    name: str
    expected: float
    actual: float | None
    abs_tol: float
    rel_tol: float
    unit: str = ""

    @property
    def allowed(self) -> float:
        """Largest deviation that passes, ``abs_tol + rel_tol·|expected|``."""
        return self.abs_tol + self.rel_tol * abs(self.expected)

    @property
    def deviation(self) -> float:
        """``|actual − expected|`` (∞ when the engine gave nothing or NaN)."""
        if self.actual is None or not math.isfinite(self.actual):
            return math.inf
        return abs(self.actual - self.expected)

    @property
    def rel_deviation(self) -> float | None:
        return self.deviation / abs(self.expected) if self.expected else None

    @property
    def passed(self) -> bool:
        return self.deviation <= self.allowed

    def to_dict(self) -> dict:
        dev = self.deviation
        return {
            "name": self.name, "expected": self.expected, "actual": self.actual, "unit": self.unit,
            "abs_tol": self.abs_tol, "rel_tol": self.rel_tol, "allowed": self.allowed,
            "deviation": None if math.isinf(dev) else dev,
            "rel_deviation": None if self.rel_deviation is None or math.isinf(self.rel_deviation) else self.rel_deviation,
            "passed": self.passed,
        }


@dataclass
class CaseResult:
    """Outcome of one case."""

    name: str
    kind: str
    folder: Path
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    source: str = ""
    identity: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    def worst(self) -> Check | None:
        """The check with the largest deviation relative to its tolerance (failed checks first)."""
        if not self.checks:
            return None

        def score(c: Check) -> tuple:
            ratio = c.deviation / c.allowed if c.allowed > 0 else (0.0 if c.deviation == 0 else math.inf)
            return (not c.passed, ratio, c.rel_deviation or 0.0)

        return max(self.checks, key=score)

    def to_dict(self) -> dict:
        w = self.worst()
        return {
            "case": self.name, "kind": self.kind, "identity": self.identity, "passed": self.passed, "error": self.error,
            "seconds": round(self.seconds, 3), "source": self.source,
            "largest_deviation": None if w is None else {"check": w.name, "deviation": w.to_dict()["deviation"], "rel_deviation": w.to_dict()["rel_deviation"]},
            "checks": [c.to_dict() for c in self.checks],
        }


# --------------------------------------------------------------------------- discovery


def default_cases_dir() -> Path:
    """``benchmarks/cases`` of the working directory, else of the source tree gep runs from."""
    here = Path("benchmarks") / "cases"
    if here.is_dir():
        return here
    import gep

    return Path(gep.__file__).resolve().parents[1] / "benchmarks" / "cases"


def is_case(folder: Path) -> bool:
    return (folder / CASE_FILE).is_file() or (folder / SCENARIO_FILE).is_file()


def discover(folder: str | Path) -> list[Path]:
    """Case folders under ``folder`` (or ``folder`` itself if it is a case), sorted by name.

    Folders whose names start with ``_`` or ``.`` are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"cases folder not found: {folder}",
                         hint="give the folder holding the case folders (default benchmarks/cases of the working directory or of the "
                              "source tree; the reference cases are not part of an installed wheel: run from a clone of the repository)")
    if is_case(folder):
        return [folder]
    cases = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and is_case(p))
    if not cases:
        raise InputError(f"no reference cases in {folder}", hint=f"a case is a folder with {CASE_FILE} or {SCENARIO_FILE}, {EXPECTED_FILE} and {SOURCE_FILE}")
    return cases


# --------------------------------------------------------------------------- helpers


def _convert(value: float, native: str | None, unit: str | None, where: str) -> float:
    if not unit or not native or native == unit:
        return value
    from gep.units import convert

    return float(convert(value, native, unit, where))


def _sel(da: xr.DataArray, spec: dict, where: str) -> xr.DataArray:
    for dim in ("zone", "service", "ecosystem"):
        if dim in spec and dim in da.dims:
            values = [str(v) for v in da[dim].values]
            key = spec[dim]
            if str(key) not in values:
                raise InputError(f"{where}: {dim} {key!r} is not in the account", hint=f"{dim}s: {', '.join(values)}")
            da = da.isel({dim: values.index(str(key))})
    return da


def _filter(df: pd.DataFrame, spec: dict, where: str) -> pd.DataFrame:
    for col in ("service", "component", "zone", "ecosystem"):
        if col in spec:
            df = df[df[col].astype(str) == str(spec[col])]
    if df.empty:
        raise InputError(f"{where}: no component rows match {', '.join(f'{k}={spec[k]}' for k in ('service', 'component', 'zone', 'ecosystem') if k in spec)}", hint="check the selectors against components.csv of a run")
    return df


# --------------------------------------------------------------------------- kinds


def eval_gep_run(folder: Path, case: dict, specs: list[dict]) -> list[tuple[float, str | None]]:
    """Compute the account of the case's scenario and read each check's value."""
    from gep.jobs import run as runner

    result = runner.compute(runner.load(folder / case.get("scenario", SCENARIO_FILE)))
    acc = result.account
    ds = acc.data
    out = []
    for spec in specs:
        what, where = spec.get("what"), f"check '{spec.get('name')}'"
        if what not in GEP_RUN_WHAT:
            raise InputError(f"{where}: unknown what = {what!r}", hint=f"use one of {', '.join(GEP_RUN_WHAT)}")
        native = GEP_RUN_WHAT[what]
        if what in ("quantity", "value", "value_comparable"):
            if "service" not in spec:
                raise InputError(f"{where}: '{what}' needs service = ...", hint="name a service id")
            da = _sel(ds[what], spec, where)
            if what == "quantity":
                native = str(ds["unit"].sel(service=spec["service"]).item())
            value = float(da.sum(skipna=True))
        elif what == "gep":
            value = acc.gep
        elif what == "gep_comparable":
            value = float(ds["value_comparable"].sum())
        elif what == "category":
            value = acc.category_totals()[spec["category"]]
        elif what in ("share_of_total", "share_of_category"):
            table = _filter(acc.table(), spec, where)
            value = float(table[what].sum())
        elif what in ("component_value", "component_quantity", "index_factor", "unit_price"):
            rows = _filter(acc.components, spec, where)
            if what == "component_value":
                value = float(rows["value_cny"].sum())
            elif what == "component_quantity":
                value, native = float(rows["quantity"].sum()), str(rows["unit"].iloc[0])
            elif what == "index_factor":
                value = float(rows["index_factor"].iloc[0])
            else:  # CNY per unit of the component's quantity, at the price year
                value, native = float(rows["cny_per_unit_at_price_year"].iloc[0]), None
        else:  # extra
            name = spec.get("extra")
            if name not in acc.extras:
                raise InputError(f"{where}: no extra '{name}' in the account", hint=f"extras: {', '.join(acc.extras) or 'none'}")
            da = _sel(acc.extras[name], spec, where)
            value, native = float(da.sum()), acc.extras[name].attrs.get("units")
        out.append((value, native))
    return out


def _quantity(text: Any, key: str, where: str) -> Any:
    from gep.units import Q_

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return Q_(str(text))
    except Exception as exc:  # pint raises many kinds
        raise InputError(f"{where}: [inputs] {key} = {text!r} is not a quantity", hint='write e.g. "10 m**3/s"') from exc


def eval_capacity(folder: Path, case: dict, specs: list[dict]) -> list[tuple[float, str | None]]:
    """Evaluate a capacity model of :data:`gep.capacity.models.MODELS` on the case's inputs."""
    from gep.capacity.models import MODELS, target_concentration
    from gep.io.capacity_tables import read_standards

    where = str(folder / CASE_FILE)
    name = case.get("model")
    if name not in MODELS:
        raise InputError(f"{where}: unknown capacity model {name!r}", hint=f"models: {', '.join(MODELS)}")
    model = MODELS[name]
    pollutant = str(case.get("pollutant", ""))
    allowed = model.extra.get("pollutants")
    if allowed and pollutant.upper() not in allowed:
        raise InputError(f"{where}: model {name} applies to {', '.join(allowed)}, not {pollutant!r}", hint="change the pollutant or the model")
    args = {k: _quantity(v, k, where) for k, v in (case.get("inputs") or {}).items()}
    if "cs" not in args:
        if "class" not in case:
            raise InputError(f"{where}: give class = \"III\" (GB 3838-2002) or inputs.cs", hint="the target concentration is required")
        body = case.get("water_body", "lake" if model.kind == "lake" else "river")
        args["cs"] = target_concentration(read_standards(), pollutant, str(case["class"]), body)
    missing = [k for k in model.inputs if k not in args]
    if missing:
        raise InputError(f"{where}: model {name} needs {', '.join(missing)}", hint=f"inputs: {', '.join(model.inputs)}; optional: {', '.join(model.optional)}")
    w = model.function(**{k: v for k, v in args.items() if k in model.inputs or k in model.optional})
    out = []
    for spec in specs:
        what = spec.get("what")
        if what == "capacity":
            out.append((float(w.to("t/yr").magnitude), "t/yr"))
        elif what == "target":
            out.append((float(args["cs"].to("mg/L").magnitude), "mg/L"))
        else:
            raise InputError(f"check '{spec.get('name')}': unknown what = {what!r}", hint=f"use one of {', '.join(CAPACITY_WHAT)}")
    return out


def eval_bond(folder: Path, case: dict, specs: list[dict]) -> list[tuple[float, str | None]]:
    """Price the case's bond at a yield (or a quoted price) with :mod:`gep.finance.pricing`."""
    from gep.finance.pricing import analytics, analytics_from_price
    from gep.finance.schedule import bond_from_dict, parse_date

    where = str(folder / CASE_FILE)
    bond = bond_from_dict(case.get("bond") or {}, source=where)
    settle = parse_date(case.get("settle"), where, "settle")
    if "yield" in case:
        a = analytics(bond, settle, float(case["yield"]))
    elif "price" in case:
        a = analytics_from_price(bond, settle, float(case["price"]), clean=not case.get("dirty", False))
    else:
        raise InputError(f"{where}: give yield = 0.04 or price = 101.5", hint="a bond case prices at a yield or solves the yield of a price")
    out = []
    for spec in specs:
        what = spec.get("what")
        if what not in BOND_WHAT:
            raise InputError(f"check '{spec.get('name')}': unknown what = {what!r}", hint=f"use one of {', '.join(BOND_WHAT)}")
        out.append((float(getattr(a, what)), None))
    return out


def account_from_items(items: list[dict], region: str = "", year: int = 0, unit: str = "CNY") -> Any:
    """An :class:`gep.accounting.account.GepAccount` holding given service values (one zone, one ecosystem column).

    Used to check the engine's summation and share arithmetic on published figures.
    """
    from gep.accounting.account import GepAccount

    if not items:
        raise InputError("account-arithmetic case has no [[items]]", hint="add [[items]] with label, category and value")
    labels = [str(i["label"]) for i in items]
    cats = [str(i["category"]) for i in items]
    vals = np.array([float(i["value"]) for i in items]).reshape(1, -1, 1)
    n = len(items)
    data = xr.Dataset(
        {"quantity": (("zone", "service", "ecosystem"), np.full((1, n, 1), np.nan)), "value": (("zone", "service", "ecosystem"), vals)},
        coords={
            "zone": [1], "service": labels, "ecosystem": ["all"],
            "zone_name": ("zone", [region]), "zone_name_zh": ("zone", [region]),
            "category": ("service", cats), "name_zh": ("service", labels),
            "unit": ("service", [unit] * n), "method": ("service", ["given"] * n),
        },
        attrs={"year": year},
    )
    return GepAccount(data=data, components=pd.DataFrame())


def eval_account_arithmetic(folder: Path, case: dict, specs: list[dict]) -> list[tuple[float, str | None]]:
    """Totals and shares of given service values through the engine's :class:`~gep.accounting.account.GepAccount`."""
    unit = str(case.get("unit", "CNY"))
    acc = account_from_items(case.get("items") or [], str(case.get("region", "")), int(case.get("year", 0)), unit)
    table = acc.table()
    totals = acc.category_totals()
    out = []
    for spec in specs:
        what = spec.get("what")
        if what == "total":
            out.append((acc.gep, unit))
        elif what in ("category", "share"):
            cat = spec.get("category")
            if cat not in totals:
                raise InputError(f"check '{spec.get('name')}': category {cat!r} is not among the items", hint=f"categories: {', '.join(totals)}")
            if what == "category":
                out.append((totals[cat], unit))
            else:
                out.append((float(table.loc[table["category"] == cat, "share_of_total"].sum()), "dimensionless"))
        else:
            raise InputError(f"check '{spec.get('name')}': unknown what = {what!r}", hint=f"use one of {', '.join(ARITHMETIC_WHAT)}")
    return out


def eval_published_account(folder: Path, case: dict, specs: list[dict]) -> list[tuple[float, str | None]]:
    """Re-value the published quantities of the case's account with gep's prices and compare (:func:`gep.accounting.published.revalue`)."""
    from gep.accounting.published import COLUMNS, revalue
    from gep.io.tables import read_csv
    from gep.jobs.inputs import coefficient_set

    where = str(folder / CASE_FILE)
    for key in ("account", "year", "prices"):
        if key not in case:
            raise InputError(f"{where}: a published-account case needs '{key}'", hint="give account = \"account.csv\", year = <the account's year> and [prices]")
    account = read_csv(folder / str(case["account"]), COLUMNS, "published account")
    coef = coefficient_set(str(case.get("coefficients", "cn-2022"))).with_province(case.get("province"), where=where)
    table = revalue(account, coef, int(case["year"]), {str(k): str(v) for k, v in case["prices"].items()}, str(folder / str(case["account"])))
    out = []
    for spec in specs:
        what, name = spec.get("what"), f"check '{spec.get('name')}'"
        if what not in PUBLISHED_WHAT:
            raise InputError(f"{name}: unknown what = {what!r}", hint=f"use one of {', '.join(PUBLISHED_WHAT)}")
        rows = _filter(table, spec, name)
        gep, published = float(rows["gep_cny"].sum()), float(rows["published_cny"].sum())
        out.append(({"revalued": gep, "published": published, "ratio": gep / published}[what], PUBLISHED_WHAT[what]))
    return out


#: Case kind → evaluator ``(folder, case, check specs) -> [(value, native unit)]``.
KINDS: dict[str, Callable[[Path, dict, list[dict]], list[tuple[float, str | None]]]] = {
    "gep-run": eval_gep_run,
    "capacity": eval_capacity,
    "bond": eval_bond,
    "account-arithmetic": eval_account_arithmetic,
    "published-account": eval_published_account,
}


# --------------------------------------------------------------------------- running


def _source_line(folder: Path) -> str:
    text = (folder / SOURCE_FILE).read_text(encoding="utf-8")
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return ""


def run_case(folder: str | Path) -> CaseResult:
    """Run one case; a problem with the case itself becomes the case's ``error`` (it fails)."""
    folder = Path(folder)
    start = time.perf_counter()
    res = CaseResult(name=folder.name, kind="?", folder=folder)
    try:
        case = read_toml(folder / CASE_FILE, "case file") if (folder / CASE_FILE).is_file() else {}
        res.kind = str(case.get("kind", "gep-run"))
        res.identity = bool(case.get("identity", res.kind in IDENTITY_KINDS))
        if res.kind not in KINDS:
            raise InputError(f"{folder / CASE_FILE}: unknown kind {res.kind!r}", hint=f"kinds: {', '.join(KINDS)}")
        if not (folder / SOURCE_FILE).is_file():
            raise InputError(f"{folder} has no {SOURCE_FILE}", hint="say where the expected numbers come from (a hand calculation, a publication)")
        res.source = _source_line(folder)
        expected = read_toml(folder / EXPECTED_FILE, "expected results")
        specs = expected.get("check") or []
        if not specs:
            raise InputError(f"{folder / EXPECTED_FILE} has no [[check]]", hint="add [[check]] tables with name, what, expected and a tolerance")
        defaults = expected.get("defaults") or {}
        for s in specs:
            if "expected" not in s or "name" not in s:
                raise InputError(f"{folder / EXPECTED_FILE}: every [[check]] needs name and expected", hint=f"check {s.get('name', '?')!r}")
        values = KINDS[res.kind](folder, case, specs)
        for spec, (value, native) in zip(specs, values):
            unit = spec.get("unit")
            actual = _convert(value, native, unit, f"check '{spec['name']}'") if unit else value
            res.checks.append(Check(
                name=str(spec["name"]), expected=float(spec["expected"]), actual=actual,
                abs_tol=float(spec.get("abs_tol", defaults.get("abs_tol", 0.0))),
                rel_tol=float(spec.get("rel_tol", defaults.get("rel_tol", 1e-9))),
                unit=str(unit or native or ""),
            ))
    except GepError as exc:
        res.error = exc.line()
    except Exception as exc:  # a case that crashes the engine fails, with the reason, not a traceback
        res.error = f"{type(exc).__name__}: {exc}"
    res.seconds = time.perf_counter() - start
    return res


def run_cases(folder: str | Path | None = None, only: list[str] | None = None) -> list[CaseResult]:
    """Run every case under ``folder`` (default :func:`default_cases_dir`).

    Parameters
    ----------
    folder : path, optional
        Folder of case folders, or one case folder.
    only : list of str, optional
        Keep cases whose name contains one of these strings.
    """
    cases = discover(folder if folder is not None else default_cases_dir())
    if only:
        cases = [c for c in cases if any(s in c.name for s in only)]
        if not cases:
            raise InputError(f"no case name contains {', '.join(only)}", hint="see the case folder names")
    return [run_case(c) for c in cases]
