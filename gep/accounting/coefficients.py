"""Versioned coefficient sets: load, validate, look up, override.

A coefficient set (``gep/data/coefficients/<id>/``) holds every number the engine uses
that is not an input map: per-class lookup tables (runoff coefficients, carbon
pools, purification capacities), scalars (bulk density, EER) and prices with
their price year, each row with ``value, unit, source, year, confidence, note``.
Confidence is one of ``verified``, ``derived``, ``recalled``, ``assumed``.

Tidy rows are keyed by ``(parameter, key)``: ``key`` is empty for scalars, a
land-cover code for per-class values (``*`` is the default for classes not
listed), or a name (pollutant, product). ``landcover.csv`` is the legend,
``carbon_pools.csv`` the four carbon pools per class in the InVEST carbon
model's table format, ``price_index.csv`` the pinned price index series.
A set may extend a ``base`` set: its rows replace the base's rows with the
same key, its profile keys replace the base's.

Every row may carry its plausible range ``low, high`` (in the row's unit) and
``range_basis`` (where the range comes from); :meth:`CoefficientSet.uncertainty`
and :meth:`CoefficientSet.ranges` expose them with the confidence, for
uncertainty analysis. :func:`citation_problems` holds the citation and range
rules ``gep coefficients verify`` applies (gep/data/coefficients/README.md).
A set is named by id (the current version) or ``id@version`` (a frozen
release under ``gep/data/coefficients/releases/``, :func:`gep.io.coefficient_files.find_set`).
"""

from __future__ import annotations

import copy
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pint

from gep.errors import CoefficientError, GridError, Problem, UnitError, nearest
from gep.numbers import MAX_EXPONENT
from gep.units import affine, parse_unit, split_quantity

CONFIDENCE = ("verified", "derived", "recalled", "assumed")
#: Parameters with one row per province (key: the GB/T 2260 two-digit code) besides the national default
#: (key empty); a scenario's ``[region] province`` selects its province's row (:meth:`CoefficientSet.with_province`).
PROVINCIAL = ("price.electricity",)
#: Optional columns of every value table (after ``confidence``): the plausible range in the row's unit and its basis.
RANGE_COLUMNS = ("low", "high", "range_basis")
POOL_COLUMNS = ("lucode", "c_above", "c_below", "c_soil", "c_dead")
#: Columns of a land-cover remap table: the user's code and the set's code it maps onto (optionally a ``name``).
REMAP_COLUMNS = ("lucode", "code")
#: Columns of InVEST's annual-water-yield biophysical table that gep reads.
BIOPHYSICAL_COLUMNS = ("lucode", "lulc_veg", "root_depth", "kc")
#: Range columns of the carbon-pool table: ``c_above_low, c_above_high, …`` (one ``range_basis`` per row).
POOL_RANGE_COLUMNS = tuple(f"{pool}_{end}" for pool in POOL_COLUMNS[1:] for end in ("low", "high"))
INDEX_COLUMNS = ("series", "year", "value", "basis", "source", "confidence")
ECOSYSTEMS = ("forest", "shrub", "grassland", "wetland", "water", "cropland", "urban", "bare")
NODATA_CODES = (0, 255, 65535)


def weakest(confidences) -> str:
    """The weakest of some confidence tags (:data:`CONFIDENCE` order; ``verified`` for none, an unknown tag counts as ``assumed``)."""
    order = {c: i for i, c in enumerate(CONFIDENCE)}
    return CONFIDENCE[max((order.get(str(c), len(CONFIDENCE) - 1) for c in confidences), default=0)]


@dataclass(frozen=True)
class Legend:
    """Land-cover legend: class codes, names and ecosystem types.

    ``codes`` are sorted; :meth:`index` maps a code raster to dense class
    indices ``0..n-1`` (``-1`` for nodata) so that per-class tables become
    vectorised ``np.take`` look-ups.
    """

    codes: np.ndarray
    classes: tuple[str, ...]
    names_zh: tuple[str, ...]
    ecosystems: tuple[str, ...]
    vegetated: np.ndarray

    @property
    def ecosystem_index(self) -> np.ndarray:
        """Index into :data:`ECOSYSTEMS` for each class [-]."""
        return np.array([ECOSYSTEMS.index(e) for e in self.ecosystems], dtype=np.int16)

    def class_mask(self, ecosystems: tuple[str, ...] | list[str]) -> np.ndarray:
        """Boolean per class: True where the class's ecosystem is in ``ecosystems``."""
        return np.isin(np.array(self.ecosystems), list(ecosystems))

    def label(self, code: int) -> str:
        i = int(np.searchsorted(self.codes, code))
        if i < len(self.codes) and self.codes[i] == code:
            return f"{code} ({self.classes[i]})"
        return str(code)


@dataclass(frozen=True)
class Override:
    """One scenario override of a coefficient, recorded in the run manifest."""

    parameter: str
    key: str
    old: Any
    new: Any
    unit: str

    def as_dict(self) -> dict:
        return {"parameter": self.parameter, "key": self.key, "old": self.old, "new": self.new, "unit": self.unit}


@dataclass(frozen=True)
class Uncertainty:
    """A coefficient with its plausible range and how sure we are of it.

    ``low`` and ``high`` are NaN when the row gives no range (a ``verified``
    or ``derived`` value whose source gives no spread).
    """

    parameter: str
    key: str
    value: float
    low: float
    high: float
    unit: str
    confidence: str
    range_basis: str
    source: str

    @property
    def has_range(self) -> bool:
        return not (np.isnan(self.low) or np.isnan(self.high))


class Reads:
    """The rows of a coefficient set read while it records (:meth:`CoefficientSet.recording`).

    ``rows`` holds ``(parameter, key)`` of every row a look-up returned: for a
    per-class table, the rows of the classes asked for (or the ``*`` row that
    stood in for them). Recorders nest: a row read inside an inner recording is
    also recorded by the outer ones.
    """

    def __init__(self) -> None:
        self.rows: set[tuple[str, str]] = set()


@dataclass
class _Recorders:
    """The recorders active on a coefficient set and the copies made from it (shared, mutable)."""

    active: list = field(default_factory=list)

    def note(self, parameter: str, key: str) -> None:
        for reads in self.active:
            reads.rows.add((parameter, key))


@dataclass(frozen=True)
class CoefficientSet:
    """A loaded, validated coefficient set with its profile and provenance (immutable: changes make a new set)."""

    id: str
    version: str
    description: str
    folders: tuple[Path, ...]
    rows: pd.DataFrame
    legend: Legend
    carbon_pools: pd.DataFrame
    price_index: pd.DataFrame
    profile: dict
    files: dict[str, str]
    overrides: tuple[Override, ...] = ()
    #: Implausible values the scenario brought in (overrides outside a row's ``low``–``high``), shown and recorded.
    warnings: tuple[str, ...] = ()
    #: GB/T 2260 province code whose rows :data:`PROVINCIAL` parameters use (``[region] province``), or None.
    province: str | None = None
    recorders: _Recorders = field(default_factory=_Recorders, repr=False, compare=False)

    # ----------------------------------------------------------------- lookup
    @cached_property
    def _by_parameter(self) -> dict[str, pd.DataFrame]:
        """The rows grouped by parameter (derived from :attr:`rows` once)."""
        return {p: g for p, g in self.rows.groupby("parameter", sort=False)}

    def _rows(self, parameter: str) -> pd.DataFrame:
        sel = self._by_parameter.get(parameter, self.rows.iloc[0:0])
        if sel.empty:
            raise CoefficientError(
                f"coefficient '{parameter}' is missing from set {self.id}",
                hint=f"add a row for it to a CSV in {self.folders[-1]} or override it in the scenario's [coefficients.overrides]",
            )
        return sel

    def has(self, parameter: str) -> bool:
        try:
            return not self._rows(parameter).empty
        except CoefficientError:
            return False

    def row(self, parameter: str, key: str = "") -> pd.Series:
        """The row of ``parameter[key]`` (the ``*`` row for a key without one).

        A :data:`PROVINCIAL` parameter asked for its national default (empty key)
        gives the row of :attr:`province` when the set is for a province, unless
        a scenario overrode the default row.
        """
        sel = self._rows(parameter)
        if key == "" and self.province is not None and parameter in PROVINCIAL and not self._overridden(parameter, ""):
            key = self.province
        hit = sel[sel["key"] == str(key)]
        if hit.empty:
            hit = sel[sel["key"] == "*"]
        if hit.empty:
            raise CoefficientError(
                f"coefficient '{parameter}' has no value for key '{key}' in set {self.id}",
                hint=f"add a row '{parameter},{key},...' (or a default row with key '*'); keys present: {', '.join(sel['key'].astype(str))}",
            )
        found = hit.iloc[0]
        self.recorders.note(parameter, str(found["key"]))
        return found

    def _overridden(self, parameter: str, key: str) -> bool:
        return any(o.parameter == parameter and o.key == key for o in self.overrides)

    # -------------------------------------------------------------- recording
    @contextmanager
    def recording(self):
        """Record the rows read inside the ``with`` block: ``with coef.recording() as reads: ...`` (:class:`Reads`)."""
        reads = Reads()
        self.recorders.active.append(reads)
        try:
            yield reads
        finally:
            self.recorders.active.remove(reads)

    def confidence_of(self, rows) -> str:
        """The weakest confidence among ``rows`` (``(parameter, key)`` pairs); ``verified`` for none.

        A component computed from no coefficient of the set (only the scenario's
        own tables) rests on no value of the set, so nothing weakens it.
        """
        return weakest([self._confidence[r] for r in rows if r in self._confidence])

    @cached_property
    def _confidence(self) -> dict[tuple[str, str], str]:
        """The confidence of each ``(parameter, key)``, its first row's (derived from :attr:`rows` once)."""
        out: dict[tuple[str, str], str] = {}
        for p, k, c in zip(self.rows["parameter"].tolist(), self.rows["key"].tolist(), self.rows["confidence"].tolist()):
            out.setdefault((p, k), c)
        return out

    def lut_keys(self, parameter: str, codes: np.ndarray) -> list[str]:
        """The key of the row :meth:`lut` uses for each land-cover code: the code, else ``*`` (else '')."""
        keyed = set(self._rows(parameter)["key"].astype(str))
        return [str(int(c)) if str(int(c)) in keyed else ("*" if "*" in keyed else "") for c in np.asarray(codes)]

    def quantity(self, parameter: str, key: str = "") -> pint.Quantity:
        """The value of ``parameter[key]`` as a pint Quantity."""
        r = self.row(parameter, key)
        return float(r["value"]) * parse_unit(r["unit"], f"coefficient {parameter}")

    def scalar(self, parameter: str, unit: str, key: str = "") -> float:
        """The value of ``parameter[key]`` converted to ``unit`` [unit]."""
        r = self.row(parameter, key)
        scale, offset = affine(r["unit"], unit, f"coefficient '{parameter}' (key '{key}') in set {self.id}")
        return float(r["value"]) * scale + offset

    def keys(self, parameter: str) -> list[str]:
        return [k for k in self._rows(parameter)["key"].astype(str) if k not in ("", "*")]

    def lut(self, parameter: str, unit: str, codes_present: np.ndarray | None = None, default: float | None = None) -> np.ndarray:
        """Per-class values of ``parameter`` in legend order, converted to ``unit``.

        Classes without a row take the ``*`` row, else ``default``; if neither
        exists and the class occurs in ``codes_present``, a
        :class:`CoefficientError` names the parameter and the classes.
        """
        sel = self._rows(parameter)
        out = np.full(len(self.legend.codes), np.nan)
        keyed = set(sel["key"].astype(str))
        for code in (np.asarray(codes_present) if codes_present is not None else [int(k) for k in keyed if k not in ("", "*")]):
            self.recorders.note(parameter, str(int(code)) if str(int(code)) in keyed else "*")
        star = sel[sel["key"] == "*"]
        if not star.empty:
            s, o = affine(star.iloc[0]["unit"], unit, f"coefficient '{parameter}'")
            out[:] = float(star.iloc[0]["value"]) * s + o
        elif default is not None:
            out[:] = default
        for _, r in sel[sel["key"] != "*"].iterrows():
            try:
                code = int(r["key"])
            except ValueError as exc:
                raise CoefficientError(f"coefficient '{parameter}' has non-numeric land-cover key '{r['key']}'", hint="per-class keys are land-cover codes from landcover.csv") from exc
            i = int(np.searchsorted(self.legend.codes, code))
            if i >= len(self.legend.codes) or self.legend.codes[i] != code:
                raise CoefficientError(f"coefficient '{parameter}' names land-cover code {code}, which is not in the legend of set {self.id}", hint="use a code from landcover.csv")
            s, o = affine(r["unit"], unit, f"coefficient '{parameter}' (class {code})")
            out[i] = float(r["value"]) * s + o
        if codes_present is not None:
            missing = [self.legend.label(c) for c in np.asarray(codes_present) if np.isnan(out[np.searchsorted(self.legend.codes, c)])]
            if missing:
                raise CoefficientError(
                    f"coefficient '{parameter}' has no value for land-cover class(es) {', '.join(missing)} present in the region",
                    hint=f"add rows '{parameter},<code>,...' or a default row with key '*' to set {self.id}, or override them in the scenario",
                )
        return out

    def price(self, parameter: str, key: str = "") -> tuple[pint.Quantity, int]:
        """A price as ``(Quantity in CNY per unit, price_year)``."""
        r = self.row(parameter, key)
        q = float(r["value"]) * parse_unit(r["unit"], f"price {parameter}")
        if q.dimensionality.get("[currency]", 0) != 1:
            raise CoefficientError(f"price '{parameter}' has unit '{r['unit']}', which is not money per unit", hint="prices are in CNY per unit, e.g. 'CNY/m**3'")
        if pd.isna(r["price_year"]):
            raise CoefficientError(f"price '{parameter}' has no price_year", hint="every price row needs the year its CNY refer to")
        return q, int(r["price_year"])

    # ------------------------------------------------------------ uncertainty
    def uncertainty(self, parameter: str, key: str = "", unit: str | None = None) -> Uncertainty:
        """Value, range ``(low, high)`` and confidence of ``parameter[key]``, in ``unit`` (default the row's).

        ``carbon_pools.<pool>`` with a land-cover code as key reads the carbon-pool table [t C/ha].
        """
        if parameter.startswith("carbon_pools."):
            table = self.ranges()
            hit = table[(table["parameter"] == parameter) & (table["key"] == str(key))]
            if hit.empty:
                raise CoefficientError(f"'{parameter}[{key}]' is not in the carbon-pool table of set {self.id}", hint=f"pools are {', '.join(POOL_COLUMNS[1:])}, keys are lucodes")
            r = hit.iloc[0]
        else:
            r = self.row(parameter, key)
        scale, offset = (1.0, 0.0) if unit is None else affine(r["unit"], unit, f"coefficient '{parameter}' (key '{key}') in set {self.id}")
        conv = lambda v: float(v) * scale + offset if pd.notna(v) else float("nan")  # noqa: E731
        return Uncertainty(
            parameter, str(key), conv(r["value"]), conv(r["low"]), conv(r["high"]), unit or str(r["unit"]),
            str(r["confidence"]), str(r["range_basis"] or ""), str(r["source"]),
        )

    def ranges(self) -> pd.DataFrame:
        """Every value of the set with its range and confidence, one row each.

        Columns ``parameter, key, value, low, high, unit, confidence,
        range_basis, source``: the tidy rows, then the carbon pools as
        ``carbon_pools.<pool>`` keyed by lucode [t C/ha] (the names
        :meth:`with_overrides` accepts, so sampled values can be applied as
        overrides), then the price index as ``price_index.<series>`` keyed by
        year (previous year = 100; not overridable).
        """
        cols = ["parameter", "key", "value", "low", "high", "unit", "confidence", "range_basis", "source"]
        parts = [self.rows[cols]]
        pools = self.carbon_pools
        if len(pools):
            for pool in POOL_COLUMNS[1:]:
                parts.append(pd.DataFrame({
                    "parameter": f"carbon_pools.{pool}", "key": pools["lucode"].astype(str),
                    "value": pd.to_numeric(pools[pool]).astype(float),
                    "low": _numeric_column(pools, f"{pool}_low"), "high": _numeric_column(pools, f"{pool}_high"),
                    "unit": "tC/ha", "confidence": _text_column(pools, "confidence"),
                    "range_basis": _text_column(pools, "range_basis"), "source": _text_column(pools, "source"),
                }))
        index = self.price_index
        if len(index):
            parts.append(pd.DataFrame({
                "parameter": "price_index." + index["series"].astype(str), "key": index["year"].astype(str),
                "value": pd.to_numeric(index["value"]).astype(float),
                "low": _numeric_column(index, "low"), "high": _numeric_column(index, "high"),
                "unit": "dimensionless", "confidence": _text_column(index, "confidence"),
                "range_basis": _text_column(index, "range_basis"), "source": _text_column(index, "source"),
            }))
        return pd.concat(parts, ignore_index=True)

    # -------------------------------------------------------------- overrides
    def with_overrides(self, overrides: dict[str, Any], where: str = "scenario") -> "CoefficientSet":
        """A copy with values replaced: ``{"param": v, "param[key]": v}``.

        ``v`` is a number in the row's own unit, or a string with a unit
        (``"8 CNY/m**3"``) that is converted to the row's unit.
        """
        rows, pools, done, warned, problems = self.rows.copy(), self.carbon_pools, list(self.overrides), list(self.warnings), []
        for spec, value in overrides.items():
            try:
                if _split_key(spec)[0].startswith("carbon_pools."):
                    param, key = _split_key(spec)
                    pools, override = self._override_pool(pools, param.split(".", 1)[1], key, value, where)
                    done.append(override)
                else:
                    override, warning = self._override_row(rows, spec, value, where)
                    done.append(override)
                    warned += [warning] if warning else []
            except CoefficientError as exc:
                problems.append(Problem(exc.message + (f". Fix: {exc.hint}" if exc.hint else ""), key=f"[coefficients.overrides] {spec}"))
        if problems:
            n = len(problems)
            raise CoefficientError(f"{where}: {n} problem{'s' * (n > 1)} in [coefficients.overrides]: " + " | ".join(map(str, problems)),
                                   hint="see `gep coefficients show` for each parameter, its unit and plausible range", problems=problems)
        return replace(self, rows=rows, carbon_pools=pools, overrides=tuple(done), warnings=tuple(warned))

    def _override_row(self, rows: pd.DataFrame, spec: str, value: Any, where: str) -> tuple[Override, str | None]:
        """Override one tidy row in ``rows`` (in place): the record and a warning when the value is implausible."""
        param, key = _split_key(spec)
        mask = (rows["parameter"] == param) & (rows["key"] == key)
        if not mask.any():
            near = nearest(param, sorted(set(rows["parameter"])))
            raise CoefficientError(f"names no coefficient of set {self.id}",
                                   hint=(f"did you mean '{near}'? " if near else "") + "write 'parameter' or 'parameter[key]' as listed by `gep coefficients show`")
        idx = rows.index[mask][0]
        unit = str(rows.at[idx, "unit"])
        number = _override_value(spec, value, unit, rows.at[idx, "value"], where)
        lo, hi, basis = physical_limits(param, unit)
        if not lo <= number <= hi:
            raise CoefficientError(f"{_shown(value, unit)} is impossible: {basis}, so it must lie in [{lo:g}, {hi:g}] {unit}",
                                   hint=f"give a value in {unit} within that range (the set's value is {rows.at[idx, 'value']:g} {unit})")
        low, high, range_basis = rows.at[idx, "low"], rows.at[idx, "high"], str(rows.at[idx, "range_basis"] or "").strip()
        warning = None
        if pd.notna(low) and pd.notna(high) and not low <= number <= high:
            warning = (f"override '{spec}' = {number:g} {unit} is outside the plausible range [{low:g}, {high:g}] {unit} of set {self.id}"
                       + (f" ({range_basis})" if range_basis else ""))
        old = float(rows.at[idx, "value"])
        rows.at[idx, "value"] = number
        rows.at[idx, "source"] = f"scenario override ({where})"
        rows.at[idx, "confidence"] = "assumed"
        rows.loc[idx, ["low", "high"]] = np.nan
        rows.at[idx, "range_basis"] = "scenario override: no range given"
        return Override(param, key, old, number, unit), warning

    @staticmethod
    def _override_pool(pools: pd.DataFrame, pool: str, key: str, value: Any, where: str) -> tuple[pd.DataFrame, Override]:
        """Override one carbon-pool density, ``carbon_pools.c_above[211]`` [t C/ha]: the new table and the record."""
        if pool not in POOL_COLUMNS[1:]:
            raise CoefficientError(f"'carbon_pools.{pool}' is not a carbon pool", hint=f"pools are {', '.join(POOL_COLUMNS[1:])}")
        pools = pools.copy()
        hit = pools.index[pools["lucode"].astype(str) == key]
        if not len(hit):
            raise CoefficientError(f"the carbon pool table has no lucode {key!r}", hint="write carbon_pools.<pool>[<land-cover code>]")
        number = _override_value(f"carbon_pools.{pool}[{key}]", value, "tC/ha", pools.at[hit[0], pool], where)
        if number < 0:
            raise CoefficientError(f"{number:g} t C/ha is impossible: a carbon density is not negative", hint="give a density ≥ 0 t C/ha")
        old = float(pools.at[hit[0], pool])
        pools.at[hit[0], pool] = number
        for end in ("low", "high"):
            if f"{pool}_{end}" in pools:
                pools[f"{pool}_{end}"] = pd.to_numeric(pools[f"{pool}_{end}"], errors="coerce").astype(float)
                pools.at[hit[0], f"{pool}_{end}"] = np.nan
        return pools, Override(f"carbon_pools.{pool}", key, old, number, "tC/ha")

    def with_carbon_pools(self, pools: pd.DataFrame, file_key: str, sha256: str) -> "CoefficientSet":
        """A copy whose carbon pools are a user's InVEST table (:func:`validate_pools`), recorded as ``file_key``."""
        return replace(self, carbon_pools=pools, files={**self.files, file_key: sha256})

    def with_landcover_remap(self, table: pd.DataFrame, file_key: str, sha256: str) -> "CoefficientSet":
        """A copy whose legend is a user's own land-cover codes, each mapped onto a class of this set.

        ``table`` (:data:`REMAP_COLUMNS`): ``lucode`` (the user's code), ``code`` (a code
        of this set's legend) and optionally ``name``. Each user code takes the mapped
        class's ecosystem type, Chinese name and every per-class value (look-up rows
        and carbon pools); a 5-class InVEST map onto the 30-odd classes of cn-2022 works.
        The table is recorded in the provenance as ``file_key``.
        """
        path = str(table.attrs.get("path", "landcover remap table"))
        first = int(table.attrs.get("first_row_line", 2))
        problems = []
        user = pd.to_numeric(table["lucode"], errors="coerce")
        target = pd.to_numeric(table["code"], errors="coerce")
        for i in range(len(table)):
            where = dict(file=path, line=i + first, key=f"lucode {table['lucode'].iloc[i]}")
            if pd.isna(user.iloc[i]) or user.iloc[i] != int(user.iloc[i]) or user.iloc[i] <= 0 or int(user.iloc[i]) in NODATA_CODES:
                problems.append(Problem(f"lucode must be a positive whole number other than the nodata codes {', '.join(map(str, NODATA_CODES))}", **where))
            if pd.isna(target.iloc[i]) or int(target.iloc[i]) not in set(self.legend.codes.tolist()):
                problems.append(Problem(f"code {table['code'].iloc[i]!r} is not a class of set {self.id} (codes: {', '.join(map(str, self.legend.codes[:12]))}, ...)", **where))
        if user.duplicated().any():
            problems.append(Problem(f"lucode {int(user[user.duplicated()].iloc[0])} is mapped twice", file=path))
        if problems:
            raise CoefficientError(f"{len(problems)} problem(s) in the land-cover remap table: " + " | ".join(map(str, problems)),
                                   hint=f"one row per land-cover code of your map: lucode,code,name with code a class of set {self.id} (gep coefficients show {self.id})", problems=problems)
        user, target = user.astype(int).to_numpy(), target.astype(int).to_numpy()
        order = np.argsort(user)
        user, target = user[order], target[order]
        pos = np.searchsorted(self.legend.codes, target)
        names = table["name"].astype(str).to_numpy()[order] if "name" in table else np.array([self.legend.classes[i] for i in pos])
        legend = Legend(codes=user, classes=tuple(names), names_zh=tuple(self.legend.names_zh[i] for i in pos),
                        ecosystems=tuple(self.legend.ecosystems[i] for i in pos), vegetated=self.legend.vegetated[pos])
        mapping = pd.DataFrame({"key": target.astype(str), "new": user.astype(str)})
        is_class = self.rows["key"].isin([str(c) for c in self.legend.codes])
        per_class = self.rows[is_class].merge(mapping, on="key").assign(key=lambda d: d["new"]).drop(columns="new")
        rows = pd.concat([self.rows[~is_class], per_class], ignore_index=True)
        pools = self.carbon_pools
        if len(pools):
            pools = pools.assign(lucode=pools["lucode"].astype(int).astype(str)).merge(mapping.rename(columns={"key": "lucode"}), on="lucode")
            pools = pools.assign(lucode=pools["new"].astype(int)).drop(columns="new").sort_values("lucode").reset_index(drop=True)
        return replace(self, rows=rows, legend=legend, carbon_pools=pools, files={**self.files, file_key: sha256})

    def with_biophysical_table(self, table: pd.DataFrame, file_key: str, sha256: str) -> "CoefficientSet":
        """A copy with an InVEST annual-water-yield biophysical table's values per land-cover code.

        ``table`` (:data:`BIOPHYSICAL_COLUMNS`, as InVEST writes it; other columns are
        ignored): ``kc`` becomes ``water_conservation.kc``, ``root_depth`` [mm]
        ``water_conservation.root_depth`` and ``lulc_veg`` (1: the Budyko curve applies,
        0: AET = min(Kc·ET0, P)) ``water_conservation.lulc_veg`` of each ``lucode``.
        Impossible values (negative Kc or depth, ``lulc_veg`` other than 0 or 1, a code
        not in the legend) are one error naming the file, line and value.
        """
        path = str(table.attrs.get("path", "biophysical table"))
        first = int(table.attrs.get("first_row_line", 2))
        codes = set(self.legend.codes.tolist())
        problems, new = [], []
        columns = (("kc", "water_conservation.kc", "dimensionless"), ("root_depth", "water_conservation.root_depth", "mm"), ("lulc_veg", "water_conservation.lulc_veg", "dimensionless"))
        for i, r in enumerate(table.to_dict("records")):
            where = dict(file=path, line=i + first, key=f"lucode {r['lucode']}")
            code = pd.to_numeric(r["lucode"], errors="coerce")
            if pd.isna(code) or int(code) not in codes:
                problems.append(Problem(f"lucode {r['lucode']!r} is not a land-cover code of the legend ({', '.join(map(str, sorted(codes)[:12]))}, ...): map your codes with a landcover_remap table", **where))
                continue
            for col, parameter, unit in columns:
                v = pd.to_numeric(r[col], errors="coerce")
                if pd.isna(v) or not np.isfinite(v) or v < 0 or (col == "lulc_veg" and v not in (0, 1)):
                    problems.append(Problem(f"{col} {r[col]!r} is impossible: " + ("lulc_veg is 1 (vegetated) or 0" if col == "lulc_veg" else f"{col} is a number ≥ 0"), **where))
                    continue
                new.append({"parameter": parameter, "key": str(int(code)), "value": float(v), "unit": unit, "price_year": np.nan,
                            "source": f"scenario biophysical table {Path(path).name}", "year": np.nan, "confidence": "assumed", "note": "",
                            "low": np.nan, "high": np.nan, "range_basis": "the user's InVEST biophysical table", "file": Path(path).name})
        if problems:
            raise CoefficientError(f"{len(problems)} problem(s) in the biophysical table: " + " | ".join(map(str, problems)),
                                   hint="InVEST's biophysical table: lucode, lulc_veg (0/1), root_depth [mm], kc [-], one row per land-cover code", problems=problems)
        added = pd.DataFrame(new)
        keep = ~self.rows.set_index(["parameter", "key"]).index.isin(added.set_index(["parameter", "key"]).index)
        return replace(self, rows=pd.concat([self.rows[keep], added], ignore_index=True), files={**self.files, file_key: sha256})

    def with_valuation(self, settings: dict[str, Any]) -> "CoefficientSet":
        """A copy whose ``[valuation]`` profile settings are updated (a scenario's ``[valuation]``)."""
        if not settings:
            return self
        profile = copy.deepcopy(self.profile)
        profile.setdefault("valuation", {}).update(settings)
        return replace(self, profile=profile)

    def with_province(self, code: str | int | None, where: str = "scenario") -> "CoefficientSet":
        """A copy whose :data:`PROVINCIAL` parameters take the rows of province ``code`` (GB/T 2260, e.g. ``32`` Jiangsu).

        A code without a row is an error listing the codes the set has; ``None`` keeps the national defaults.
        """
        if code is None:
            return replace(self, province=None)
        code = str(code).strip()
        for parameter in PROVINCIAL:
            if not self.has(parameter):
                continue
            codes = sorted(k for k in self._rows(parameter)["key"].astype(str) if k not in ("", "*"))
            if code not in codes:
                raise CoefficientError(
                    f"{where}: [region] province {code!r}: coefficient set {self.id} has no '{parameter}' row for it",
                    hint=f"use a GB/T 2260 province code the set has ({', '.join(codes)}), leave province out to use the national default, or override '{parameter}' with your tariff",
                )
        return replace(self, province=code)

    # ------------------------------------------------------------- provenance
    def provenance(self) -> dict:
        """What a run manifest records about the set."""
        return {
            "id": self.id,
            "version": self.version,
            "files": dict(sorted(self.files.items())),
            "overrides": [o.as_dict() for o in self.overrides],
            **({"province": self.province} if self.province is not None else {}),
        }

    def table(self) -> pd.DataFrame:
        """All tidy rows (for ``gep coefficients show``)."""
        return self.rows.sort_values(["parameter", "key"]).reset_index(drop=True)


def _override_value(spec: str, value: Any, unit: str, current: Any, where: str) -> float:
    """An override's value in the row's ``unit``: a number (already in it) or a ``"value unit"`` string, converted."""
    if isinstance(value, str):
        try:
            number, given = split_quantity(value, f"override '{spec}'")
        except UnitError as exc:
            raise CoefficientError(f"{value!r} is not a number with a unit", hint=f"write e.g. \"{current} {unit}\"") from exc
        s, o = affine(given or "dimensionless", unit, f"override '{spec}'")
        return number * s + o
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if not np.isfinite(number):
            raise CoefficientError(f"{value!r} is not a finite number", hint=f"e.g. {current} (in {unit})")
        return number
    raise CoefficientError("must be a number or a string with a unit", hint=f"e.g. {current} (in {unit})")


def _shown(value: Any, unit: str) -> str:
    return value if isinstance(value, str) else f"{value:g} {unit}"


#: Physical limits of coefficients (values outside are impossible, not merely implausible), by parameter
#: pattern (:mod:`fnmatch`, first match wins): ``(pattern, low, high, unit of the limits, basis)``.
#: A ``None`` unit means the limits hold in any unit (0 and ∞). The plausible range of a value is
#: the row's own ``low``–``high`` (gep/data/coefficients/README.md).
PHYSICAL_LIMITS: tuple[tuple[str, float, float, str | None, str], ...] = (
    ("price.*", 0.0, np.inf, None, "a price is not negative"),
    ("*.cover_coefficient", -np.inf, np.inf, None, "a regression slope may have either sign"),
    *((pattern, 0.0, 1.0, "dimensionless", "a share of a whole is between 0 and 1 (0 % and 100 %)") for pattern in (
        "*runoff_coefficient", "*_share", "*.nep_ratio", "*.erodible_fraction", "*.crust_factor", "*.roughness_factor",
        "*.support_practice", "*.cover_management", "*.marsh_porosity", "*.sediment_fraction", "*.nutrient_content",
        "*.fertilizer_content", "*.annualisation_rate", "*.lulc_veg")),
    ("*", 0.0, np.inf, None, "an amount, density, rate, depth or constant of a physical process is not negative"),
)


def physical_limits(parameter: str, unit: str) -> tuple[float, float, str]:
    """``(low, high, basis)`` of a coefficient in ``unit`` (:data:`PHYSICAL_LIMITS`)."""
    import fnmatch

    for pattern, lo, hi, limit_unit, basis in PHYSICAL_LIMITS:
        if fnmatch.fnmatchcase(parameter, pattern):
            if limit_unit is None:
                return lo, hi, basis
            s, o = affine(limit_unit, unit, f"limits of coefficient '{parameter}'")
            return lo * s + o, hi * s + o, basis
    return -np.inf, np.inf, "no limit"


def physical_problems(coef: "CoefficientSet") -> list[Problem]:
    """Rows of a set whose value is physically impossible (:data:`PHYSICAL_LIMITS`), one problem each."""
    out = []
    for r in coef.rows.itertuples():
        lo, hi, basis = physical_limits(r.parameter, r.unit)
        if not lo <= r.value <= hi:
            out.append(Problem(f"value {r.value:g} {r.unit} is impossible: {basis} ([{lo:g}, {hi:g}] {r.unit})", file=str(r.file), key=f"{r.parameter}[{r.key}]" if r.key else r.parameter))
    return out


def _split_key(spec: str) -> tuple[str, str]:
    spec = spec.strip()
    if spec.endswith("]") and "[" in spec:
        param, key = spec[:-1].split("[", 1)
        return param.strip(), key.strip()
    return spec, ""


def _validate_tidy(df: pd.DataFrame, path: str) -> pd.DataFrame:
    df = df.copy()
    df["key"] = df["key"].astype(object).where(df["key"].notna(), "").astype(str).str.strip()
    df["key"] = df["key"].str.replace(r"\.0$", "", regex=True)
    df["parameter"] = df["parameter"].astype(str).str.strip()
    df["unit"] = df["unit"].fillna("dimensionless").astype(str).str.strip()
    for i, r in df.iterrows():
        line = int(i) + 2
        try:
            float(r["value"])
        except (TypeError, ValueError) as exc:
            raise CoefficientError(f"{path}, line {line}: value {r['value']!r} of '{r['parameter']}' is not a number", hint="write a plain number; put the unit in the unit column") from exc
        if pd.isna(r["value"]):
            raise CoefficientError(f"{path}, line {line}: '{r['parameter']}' has no value", hint="fill in the value or delete the row")
        parse_unit(r["unit"], f"{path}, line {line}")
        if r["confidence"] not in CONFIDENCE:
            raise CoefficientError(f"{path}, line {line}: confidence {r['confidence']!r} is not one of {', '.join(CONFIDENCE)}", hint="tag how sure we are of the value")
        if not isinstance(r["source"], str) or not r["source"].strip():
            raise CoefficientError(f"{path}, line {line}: '{r['parameter']}' has no source", hint="every value needs a source (or 'assumed' with a note saying why)")
    dup = df.duplicated(["parameter", "key"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise CoefficientError(f"{path}: '{first['parameter']}[{first['key']}]' is defined twice", hint="keep one row per parameter and key")
    df["value"] = df["value"].astype(float)
    first = int(df.attrs.get("first_row_line", 2))
    _check_magnitude(df, "value", df["value"], f"{path}, line", first)
    for col in ("low", "high"):
        df[col] = _numeric_column(df, col, f"{path}, line", first)
    df["range_basis"] = _text_column(df, "range_basis")
    df["file"] = Path(path).name
    return df


def _numeric_column(df: pd.DataFrame, col: str, where: str | None = None, first_line: int = 2) -> pd.Series:
    """Column ``col`` as floats (NaN where empty or absent); a non-number raises naming the line."""
    if col not in df:
        return pd.Series(np.nan, index=df.index, dtype=float)
    raw = df[col]
    if raw.dtype == object:  # a huge integer read as a Python int would overflow in to_numeric: parse its text
        raw = raw.astype(str).where(raw.notna())
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
    if bad.any() and where is not None:
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CoefficientError(f"{where} {i + first_line}: {col} {df[col].iloc[i]!r} is not a number", hint=f"write a plain number in the row's unit, or leave {col} empty")
    values = values.astype(float)
    if where is not None:
        _check_magnitude(df, col, values, where, first_line)
    return values


def _check_magnitude(df: pd.DataFrame, col: str, values: pd.Series, where: str, first_line: int) -> None:
    """Refuse an infinite value or one beyond 1e±MAX_EXPONENT in ``col`` (pandas reads ``1e99999999`` or a
    5,000-digit integer as ``inf``; it would flow into every product silently), naming the line."""
    v = values.to_numpy(dtype=float)
    bad = np.isinf(v) | (np.abs(np.nan_to_num(v)) > 10.0**MAX_EXPONENT)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = str(df[col].iloc[i])
        shown = shown if len(shown) <= 40 else f"{shown[:20]}… ({len(shown)} characters)"
        raise CoefficientError(f"{where} {i + first_line}: {col} {shown!r} is out of range (numbers range over 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT})",
                               hint="write the value in the row's unit as a plain number")


def _text_column(df: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as stripped strings ('' where empty or absent)."""
    if col not in df:
        return pd.Series("", index=df.index, dtype=object)
    return df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()


def from_files(chain: list[dict], verify: bool = True) -> CoefficientSet:
    """The coefficient set read by :func:`gep.io.coefficient_files.read_set` (its ``base`` chain, base first).

    With ``verify`` a file that differs from the SHA-256 in its set's header
    raises :class:`CoefficientError` (the top set's first problem is named).
    """
    if verify:
        for entry in reversed(chain):
            if entry["problems"]:
                raise CoefficientError(f"coefficient set {entry['header']['id']} fails verification: {entry['problems'][0]}",
                                       hint="restore the file, or release a new set version with `gep coefficients rehash` (a correction is a new version)")
    base: CoefficientSet | None = None
    for entry in chain:
        base = _one_set(entry, base)
    return base


def _one_set(entry: dict, base: CoefficientSet | None) -> CoefficientSet:
    """A set's own tables on top of its base set's."""
    folder, header = entry["folder"], entry["header"]
    tidy = [_validate_tidy(df, df.attrs["path"]) for df in entry["tidy"]]
    tidy_parts = ([base.rows] if base is not None else []) + tidy
    if not tidy_parts:
        raise CoefficientError(f"coefficient set {header['id']} has no coefficient tables", hint="list CSV files in the [files] of its manifest.toml")
    rows = pd.concat(tidy_parts, ignore_index=True).drop_duplicates(["parameter", "key"], keep="last").reset_index(drop=True)

    legend_df = entry["legend"]
    legend = _make_legend(legend_df, folder) if legend_df is not None else (base.legend if base else None)
    if legend is None:
        raise CoefficientError(f"coefficient set {header['id']} has no landcover.csv legend", hint="add landcover.csv or a base set that has one")
    pools = entry["pools"]
    pools = validate_pools(pools, folder / "carbon_pools.csv") if pools is not None else (base.carbon_pools if base else pd.DataFrame(columns=POOL_COLUMNS))
    index = entry["index"]
    index = index if index is not None else (base.price_index if base else pd.DataFrame(columns=INDEX_COLUMNS))

    profile = copy.deepcopy(base.profile) if base else {}
    for section in ("services", "methods", "switches", "valuation"):
        profile.setdefault(section, {})
        profile[section].update(header.get(section, {}))
    files = dict(base.files) if base else {}
    files.update({f"{header['id']}/{k}": v for k, v in header["files"].items()})
    return CoefficientSet(
        id=header["id"],
        version=str(header["version"]),
        description=header.get("description", ""),
        folders=(base.folders if base else ()) + (folder,),
        rows=rows,
        legend=legend,
        carbon_pools=pools,
        price_index=index,
        profile=profile,
        files=files,
    )


def _make_legend(df: pd.DataFrame, folder: Path) -> Legend:
    df = df.sort_values("code").reset_index(drop=True)
    bad = sorted(set(df["ecosystem"]) - set(ECOSYSTEMS))
    if bad:
        raise CoefficientError(f"{folder / 'landcover.csv'}: unknown ecosystem type(s) {', '.join(bad)}", hint=f"use one of {', '.join(ECOSYSTEMS)}")
    if df["code"].duplicated().any():
        raise CoefficientError(f"{folder / 'landcover.csv'}: duplicate land-cover code {df['code'][df['code'].duplicated()].iloc[0]}", hint="one row per code")
    return Legend(
        codes=df["code"].to_numpy(dtype=np.int64),
        classes=tuple(df["class"].astype(str)),
        names_zh=tuple(df["name_zh"].astype(str)),
        ecosystems=tuple(df["ecosystem"].astype(str)),
        vegetated=df["vegetated"].astype(bool).to_numpy(),
    )


def validate_pools(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A carbon-pool table in the InVEST format (``lucode, c_above, c_below, c_soil, c_dead`` [t C/ha]), checked."""
    for col in POOL_COLUMNS[1:]:
        vals = pd.to_numeric(df[col], errors="coerce")
        if vals.isna().any() or (vals < 0).any():
            line = int(vals.index[vals.isna() | (vals < 0)][0]) + 2
            raise CoefficientError(f"{path}, line {line}: {col} must be a non-negative number [t C/ha]", hint="InVEST carbon table format: lucode,c_above,c_below,c_soil,c_dead in t C/ha")
    return df


# --------------------------------------------------------------------------- citation rules

#: A year in a source: 1800-2099 not inside a longer number ("GB 3838-2002" and "欧阳志云等 2013" both count).
SOURCE_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
#: A locator inside a source: table, page, section, article, appendix, equation or figure, with its number,
#: or the date of a dated quote or tariff (``2022-12-30``, ``2022年12月30日``).
SOURCE_LOCATOR = re.compile(
    r"(?<!\d)(?:1[89]|20)\d\d-\d\d-\d\d(?!\d)|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|表\s*[A-Za-z]?\.?\s*\d|附表|附录\s*[A-Za-z0-9]|附件\s*\d|第\s*[\d一二三四五六七八九十百]+\s*[章节条款页]|\d+\s*页"
    r"|(?:公)?式\s*[(（]?\d|图\s*\d|§\s*\d"
    r"|\b(?:tables?|tab\.|pages?|pp?\.|sections?|sect?\.|chapter|ch\.|appendix|annex|articles?|art\.|clause|item"
    r"|paragraph|para\.|equation|eqn?\.|figure|fig\.)\s*[A-Z]?[.\-]?\s*\d",
    re.IGNORECASE,
)
NEEDS_YEAR = ("verified", "derived", "recalled")
NEEDS_LOCATOR = ("verified", "recalled")
NEEDS_RANGE = ("recalled", "assumed")


def citation_problems(df: pd.DataFrame, path: str) -> list[Problem]:
    """Rows of a coefficient table that break the citation and range rules (gep/data/coefficients/README.md).

    A table is checked when it has ``source`` and ``confidence`` columns; its
    values are ``value`` (range ``low, high``) or, in the InVEST carbon-pool
    table, the four pools (ranges ``c_above_low, c_above_high, …``).

    * every row names a source;
    * ``verified``, ``derived`` and ``recalled`` sources name a year;
    * ``verified`` and ``recalled`` sources name a table, page, section,
      article, appendix, equation or figure (with its number), or the date of
      a dated quote or tariff;
    * ``recalled`` and ``assumed`` rows give ``low`` and ``high`` for every
      value and a ``range_basis``; any row that gives a range gives its basis;
    * ``low <= value <= high``.

    Returns one :class:`~gep.errors.Problem` per broken rule, located by file,
    line and row label (the row's columns before its values, e.g.
    ``price.electricity 32``): ``file, line N: label: what is wrong``.
    """
    if "source" not in df or "confidence" not in df:
        return []
    pools = [c for c in POOL_COLUMNS[1:] if c in df]
    values = [(c, f"{c}_low", f"{c}_high") for c in pools] if pools else [("value", "low", "high")] if "value" in df else []
    first_value = df.columns.get_loc(values[0][0]) if values else 1
    label_cols = [c for c in df.columns[: max(first_value, 1)]]
    first = int(df.attrs.get("first_row_line", 2))
    problems = []
    for i, row in enumerate(df.to_dict("records")):
        text = lambda c: "" if pd.isna(row.get(c)) else str(row.get(c)).strip()  # noqa: E731
        label = " ".join(text(c) for c in label_cols if text(c)) or None
        conf, source = text("confidence"), text("source")
        missing = []
        if not source:
            missing.append("no source: name author or issuer, year, title or standard and table or page, or say why none exists")
        else:
            if conf in NEEDS_YEAR and not SOURCE_YEAR.search(source):
                missing.append(f"the source of a value tagged {conf} names no year")
            if conf in NEEDS_LOCATOR and not SOURCE_LOCATOR.search(source):
                missing.append(f"the source of a value tagged {conf} names no table, page or section (e.g. '表2', 'Table 3', 'p. 12', '§2.4', or the date of a quote)")
        ranged = False
        for value_col, low_col, high_col in values:
            v, lo, hi = (pd.to_numeric(text(c) or np.nan, errors="coerce") for c in (value_col, low_col, high_col))
            for col in (low_col, high_col):
                if text(col) and pd.isna(pd.to_numeric(text(col), errors="coerce")):
                    missing.append(f"{col} {text(col)!r} is not a number")
            if pd.isna(lo) or pd.isna(hi):
                if conf in NEEDS_RANGE:
                    missing.append(f"a value tagged {conf} needs a range: {low_col} and {high_col} are required")
                elif not (pd.isna(lo) and pd.isna(hi)):
                    missing.append(f"give both {low_col} and {high_col}, or neither")
                continue
            ranged = True
            if lo > hi:
                missing.append(f"{low_col} {lo:g} > {high_col} {hi:g}")
            elif not pd.isna(v) and not lo <= v <= hi:
                missing.append(f"{value_col} {v:g} is outside [{lo:g}, {hi:g}]")
        if (ranged or conf in NEEDS_RANGE) and not text("range_basis"):
            missing.append("range_basis is empty: say in one sentence where the range comes from")
        problems += [Problem(m, file=path, key=label, line=i + first) for m in missing]
    return problems


def problems_of(chain: list[dict], rules: dict | None = None) -> list[Problem]:
    """Problems of a set (as read by :func:`gep.io.coefficient_files.read_set`).

    Its files' hashes first, then (accounting sets) the validation of its rows;
    then, given ``rules`` (what :func:`gep.io.coefficient_files.read_for_rules`
    read), for a current set: that a version frozen under ``releases/`` still
    has the released files (a correction needs a new version), that its
    ``base`` names a version, and the citation and range rules of
    :func:`citation_problems` for every table; for a frozen copy, only that its
    folder is named after its version (the citation rules postdate the frozen
    copies, and a frozen file is never edited).
    """
    top = chain[-1]
    problems = list(top["problems"])
    if not problems and top["header"].get("kind", "accounting") == "accounting":
        try:
            problems = physical_problems(from_files(chain, verify=False))
        except CoefficientError as exc:
            problems = [Problem(exc.line())]
    if rules is None:
        return problems
    folder, header = top["folder"], top["header"]
    where = str(folder / "manifest.toml")
    version = str(header["version"])
    if rules["frozen"]:
        if version != folder.name:
            problems.append(Problem(f"version {version} in a folder named {folder.name}", file=where))
        return problems
    if rules["released"] is not None and rules["released"] != header.get("files"):
        problems.append(Problem(f"version {version} was released with other files ({rules['release']}); a correction is a new version: bump 'version'", file=where))
    base = rules["base"]
    if base and not rules["base_pinned"]:
        problems.append(Problem(f"base '{base}' names no version, so this set's values change when the base is released again; write base = \"{base}@<version>\"", file=where))
    for df in rules["tables"]:
        problems += citation_problems(df, df.attrs["path"])
    return problems


def _distinct(block: np.ndarray) -> np.ndarray:
    """Sorted distinct values of one block (a histogram for 8- and 16-bit codes, no sort)."""
    b = np.asarray(block)
    if b.dtype.kind in "iu" and b.dtype.itemsize <= 2:
        lo = int(np.iinfo(b.dtype).min)
        flat = b.ravel() if lo == 0 else b.ravel().astype(np.int32) - lo
        return np.flatnonzero(np.bincount(flat)) + lo
    return np.unique(b)


def unique_codes(*arrays: Any) -> list[np.ndarray]:
    """Sorted distinct values of each numpy or dask array (dask: one pass over the blocks of all of them)."""
    if any(hasattr(a, "map_blocks") for a in arrays):
        import dask

        parts = [[dask.delayed(_distinct)(b) for b in a.to_delayed().ravel()] if hasattr(a, "map_blocks") else [_distinct(a)] for a in arrays]
        parts = dask.compute(*parts)
        return [np.unique(np.concatenate(p)) for p in parts]
    return [_distinct(a) for a in arrays]


def _count(arr: Any, value: int) -> int:
    n = (arr == value).sum()
    return int(n.compute() if hasattr(n, "compute") else n)


def lookup(keys: np.ndarray, present: np.ndarray, missing: int = -1) -> Any:
    """A function mapping a block of codes to the position of each code in the sorted ``keys``
    (``missing`` for codes not in ``keys``); ``present`` are the codes the array holds.

    A table indexed by code when the codes are small non-negative integers (one gather
    per cell), else a binary search.
    """
    keys = np.asarray(keys)
    hi = int(present.max()) if present.size else 0
    if present.size and int(present.min()) >= 0 and hi < 2**20:
        table = np.full(hi + 1, missing, dtype=np.int32)
        inside = keys[(keys >= 0) & (keys <= hi)]
        table[inside] = np.searchsorted(keys, inside)
        return lambda b: table[b]

    def search(b: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(keys, b), len(keys) - 1)
        return np.where(keys[pos] == b, pos, missing).astype(np.int32)

    return search


def class_index(legend: Legend, codes: Any, present: np.ndarray | None = None) -> tuple[Any, np.ndarray]:
    """Map a land-cover code array to dense class indices; unknown codes raise.

    Returns ``(index array with -1 for nodata, codes present)``. Works on numpy
    and (lazily, block by block) on dask arrays. ``present``: the distinct codes
    of the array, when already known (:func:`unique_codes`).
    """
    uniq = unique_codes(codes)[0] if present is None else present
    found = uniq
    uniq = uniq[~np.isin(uniq, NODATA_CODES)]
    known = np.isin(uniq, legend.codes)
    if not known.all():
        bad = uniq[~known]
        counts = [(int(c), _count(codes, c)) for c in bad[:5]]
        raise GridError(
            "land cover holds code(s) not in the legend: " + ", ".join(f"{c} ({n} cells)" for c, n in counts),
            hint="reclassify them to codes in gep/data/coefficients/<set>/landcover.csv (see gep/data/coefficients/README.md), or add the class to a custom set",
        )
    position = lookup(legend.codes, found)

    def block(b: np.ndarray) -> np.ndarray:
        return position(b).astype(np.int16)  # nodata codes are not in the legend: -1

    idx = codes.map_blocks(block, dtype=np.int16) if hasattr(codes, "map_blocks") else block(np.asarray(codes))
    return idx, uniq


__all__ = ["CoefficientSet", "Legend", "Override", "Uncertainty", "from_files", "problems_of", "citation_problems", "class_index", "validate_pools", "ECOSYSTEMS"]
