"""The uncertain variables of a run and their distributions.

Every coefficient row with a range ``low < high`` (:meth:`gep.accounting.coefficients.CoefficientSet.ranges`:
the tidy rows, the carbon pools, the price index) is a variable, drawn from a distribution
chosen by its confidence (``docs/uncertainty.md``):

==========  ============================================================
confidence  distribution on ``[low, high]``
==========  ============================================================
verified    normal centred on the value, the range as ±2 σ, truncated to the range
derived     as verified
recalled    triangular with its mode at the value
assumed     uniform
==========  ============================================================

A row is the unit of a draw, so every use of it moves together: the price index of a
year is one draw for every price valued through that year, the tariff of a province one
draw wherever it applies. ``[uncertainty] correlated`` names parameters whose keys share
one draw (comonotone: each key at the same quantile of its own range). Rows without a
range, rows with ``low == high`` and coefficients the scenario overrides are held at their
value (listed as fixed), unless ``[uncertainty.coefficients]`` gives them a range.
``[uncertainty.inputs]`` declares errors of gridded inputs: a relative error is a factor
``1 ± r`` on the whole grid, an absolute one an offset (in the input's unit), one draw per
input (a systematic error; independent cell noise averages out over a zone).
``[uncertainty.inputs.landcover] confusion_matrix = "file.csv"`` declares the accuracy of the
land-cover map: the proportions of each mapped class that belong to each reference class, drawn
from a Dirichlet distribution on the matrix's counts, re-allocate the zone × class areas
(:mod:`gep.uncertainty.landcover`).

A row of ``n_columns`` uniform numbers in [0, 1) (a Sobol' or Monte Carlo design) becomes
a row of values by each variable's inverse distribution function (:meth:`Space.values`).

References
----------
Saltelli, A. et al. (2008) Global Sensitivity Analysis: The Primer, ch. 1 (input distributions);
JCGM 101:2008 (GUM Supplement 1) §6.4 (rectangular, triangular and normal inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from gep.errors import ScenarioError, nearest
from gep.uncertainty import landcover

DISTRIBUTIONS = ("uniform", "triangular", "normal")
#: Distribution of a coefficient by its confidence (``docs/uncertainty.md`` says why).
BY_CONFIDENCE = {"verified": "normal", "derived": "normal", "recalled": "triangular", "assumed": "uniform"}
#: A normal input spans its range as ±2 standard deviations (about 95 %), truncated to it.
SIGMAS_IN_HALF_RANGE = 2.0
KEYS = {"distributions", "correlated", "fixed", "coefficients", "inputs"}
ERROR_KEYS = {"relative", "absolute", "low", "high", "distribution"}


@dataclass(frozen=True)
class Variable:
    """One uncertain quantity: a coefficient row or the error of a gridded input.

    Attributes
    ----------
    name : str
        ``parameter`` or ``parameter[key]`` (the names ``[coefficients.overrides]`` accepts;
        ``price_index.<series>[year]``, ``carbon_pools.<pool>[lucode]``), or ``input:<name>``.
    kind : str
        ``coefficient`` or ``input``.
    parameter, key : str
        The row (an input: its name, and key ``relative`` or ``absolute``).
    value : float
        The deterministic value [unit] (an input: factor 1 or offset 0).
    low, high : float
        The range [unit].
    distribution : str
        ``uniform``, ``triangular`` or ``normal``.
    unit, confidence, basis : str
        The row's unit and confidence, and where the range comes from.
    column : int
        The column of uniform numbers that drives it (variables of one correlated parameter share it).
    shape : float
        A land-cover proportion (distribution ``dirichlet``): its count in the confusion matrix
        (:mod:`gep.uncertainty.landcover`).
    """

    name: str
    kind: str
    parameter: str
    key: str
    value: float
    low: float
    high: float
    distribution: str
    unit: str = ""
    confidence: str = ""
    basis: str = ""
    column: int = -1
    shape: float = 0.0

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at the quantiles ``u`` in [0, 1) [unit] (the inverse distribution function); a ``dirichlet``
        variable: the gamma variate of shape :attr:`shape` (:meth:`Space.normalised` makes its row proportions)."""
        from scipy import stats

        u = np.asarray(u, dtype=float)
        lo, hi, mode = self.low, self.high, min(max(self.value, self.low), self.high)
        if self.distribution == "dirichlet":
            return stats.gamma.ppf(u, self.shape) if self.shape > 0 else np.zeros_like(u)
        if self.distribution == "uniform":
            return lo + u * (hi - lo)
        if self.distribution == "triangular":
            return stats.triang.ppf(u, (mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        sigma = (hi - lo) / (2 * SIGMAS_IN_HALF_RANGE)
        return stats.truncnorm.ppf(u, (lo - mode) / sigma, (hi - mode) / sigma, loc=mode, scale=sigma)

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "value": self.value, "low": self.low, "high": self.high,
                "distribution": self.distribution, "unit": self.unit, "confidence": self.confidence, "basis": self.basis}


@dataclass(frozen=True)
class Space:
    """The variables of a run, the columns of uniform numbers that drive them, and what is held fixed.

    Attributes
    ----------
    variables : tuple of Variable
    columns : tuple of str
        One name per column of the design (a correlated parameter's columns are named after it).
    fixed : tuple of dict
        Rows held at their value, with the reason.
    """

    variables: tuple[Variable, ...]
    columns: tuple[str, ...]
    fixed: tuple[dict, ...] = ()
    settings: Mapping = field(default_factory=dict)
    confusion: Any = None

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def values(self, u: np.ndarray) -> np.ndarray:
        """Values of every variable, shape ``(rows, variables)``, from uniforms of shape ``(rows, columns)``."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        return self.normalised(np.column_stack([v.ppf(u[:, v.column]) for v in self.variables])) if self.variables else np.zeros((len(u), 0))

    def normalised(self, values: np.ndarray) -> np.ndarray:
        """``values`` (rows × variables) with the gamma variates of each land-cover row divided by their sum:
        Dirichlet proportions (:mod:`gep.uncertainty.landcover`)."""
        values = np.array(values, dtype=float)
        rows: dict[str, list[int]] = {}
        for j, v in enumerate(self.variables):
            if v.distribution == "dirichlet":
                rows.setdefault(v.key.split(">")[0], []).append(j)
        for idx in rows.values():
            total = values[:, idx].sum(axis=1, keepdims=True)
            values[:, idx] = values[:, idx] / np.where(total > 0, total, 1.0)
        return values

    def central(self) -> np.ndarray:
        """The deterministic values (the coefficient set's, factor 1 and offset 0 for input errors)."""
        return np.array([v.value for v in self.variables], dtype=float)

    def restrict(self, names: set[str]) -> "Space":
        """The space of the variables in ``names`` only, columns renumbered in their first order."""
        kept = [v for v in self.variables if v.name in names]
        order: dict[int, int] = {}
        for v in kept:
            order.setdefault(v.column, len(order))
        columns = [""] * len(order)
        for old, new in order.items():
            columns[new] = self.columns[old]
        return replace(self, variables=tuple(replace(v, column=order[v.column]) for v in kept), columns=tuple(columns))


def _name(parameter: str, key: str) -> str:
    return f"{parameter}[{key}]" if key else parameter


def _split(name: str) -> tuple[str, str | None]:
    if name.endswith("]") and "[" in name:
        p, k = name[:-1].split("[", 1)
        return p, k
    return name, None


def _error(sc_name: str, key: str, message: str, hint: str) -> ScenarioError:
    return ScenarioError(message, hint=hint, where=f"{sc_name}: [uncertainty] {key}")


def _distribution(value: Any, sc_name: str, key: str) -> str:
    if value not in DISTRIBUTIONS:
        raise _error(sc_name, key, f"distribution {value!r} is not one of {', '.join(DISTRIBUTIONS)}", "write e.g. distribution = \"triangular\"")
    return str(value)


def _range(spec: Mapping, value: float, sc_name: str, key: str) -> tuple[float, float] | None:
    """``(low, high)`` a declaration gives (``low``/``high``, or ``relative`` around the value), or None."""
    if "relative" in spec:
        r = spec["relative"]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r < 10:
            raise _error(sc_name, key, f"relative must be a fraction such as 0.1, got {r!r}", "write relative = 0.1 for ±10 %")
        lo, hi = value * (1 - r), value * (1 + r)
        return (min(lo, hi), max(lo, hi))
    if "low" in spec or "high" in spec:
        lo, hi = spec.get("low"), spec.get("high")
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (lo, hi)):
            raise _error(sc_name, key, f"give both low and high as numbers, got low = {lo!r}, high = {hi!r}", "write { low = 0.4, high = 0.6 } in the row's unit")
        if lo > hi:
            raise _error(sc_name, key, f"low {lo:g} > high {hi:g}", "swap them: low is the lower end of the range")
        return float(lo), float(hi)
    return None


def _table(raw: Any, sc_name: str, key: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _error(sc_name, key, "must be a table", "see docs/uncertainty.md")
    return dict(raw)


def build(ranges, overrides: set[tuple[str, str]], declared: Mapping | None, inputs: Mapping[str, str], sc_name: str,
          read_confusion=None) -> Space:
    """The space of a scenario: every ranged coefficient row and every declared input error.

    Parameters
    ----------
    ranges : pandas.DataFrame
        :meth:`CoefficientSet.ranges` of the run's coefficient set (overrides applied).
    overrides : set of (parameter, key)
        Rows the scenario overrides (held at their new value unless declared).
    declared : mapping, optional
        The scenario's ``[uncertainty]`` table.
    inputs : mapping
        Gridded input name → unit, of the scenario.
    sc_name : str
        The scenario file's name (for messages).
    read_confusion : callable, optional
        File name → :class:`gep.uncertainty.landcover.Confusion` (read relative to the scenario), for
        ``[uncertainty.inputs.landcover] confusion_matrix``.

    Raises
    ------
    ScenarioError
        An unknown key, coefficient or input; a distribution not known; a range with low > high (exit 2).
    """
    decl = _table(declared, sc_name, "")
    for k in decl:
        if k not in KEYS:
            near = nearest(k, KEYS)
            raise _error(sc_name, k, "unknown key", (f"did you mean '{near}'? " if near else "") + f"keys are {', '.join(sorted(KEYS))}")
    by_conf = dict(BY_CONFIDENCE)
    for conf, dist in _table(decl.get("distributions"), sc_name, "distributions").items():
        if conf not in by_conf:
            raise _error(sc_name, f"distributions.{conf}", "is not a confidence level", f"levels are {', '.join(BY_CONFIDENCE)}")
        by_conf[conf] = _distribution(dist, sc_name, f"distributions.{conf}")
    rows = ranges.reset_index(drop=True)
    names = [_name(p, str(k)) for p, k in zip(rows["parameter"], rows["key"])]
    by_name = dict(zip(names, range(len(names))))
    parameters = set(rows["parameter"])

    def rows_of(name: str, where: str) -> list[int]:
        p, k = _split(name)
        if k is not None and name in by_name:
            return [by_name[name]]
        if k is None and p in parameters:
            return [i for i, q in enumerate(rows["parameter"]) if q == p]
        near = nearest(name, names + sorted(parameters))
        raise _error(sc_name, where, f"'{name}' names no coefficient of the run's coefficient set",
                     (f"did you mean '{near}'? " if near else "") + "write 'parameter' or 'parameter[key]' as `gep coefficients show` lists them")

    correlated = decl.get("correlated", [])
    fixed_names = decl.get("fixed", [])
    for key, lst in (("correlated", correlated), ("fixed", fixed_names)):
        if not isinstance(lst, list) or not all(isinstance(x, str) for x in lst):
            raise _error(sc_name, key, "must be a list of coefficient names", f'write {key} = ["carbon_pools.c_soil"]')
    held = {i for n in fixed_names for i in rows_of(n, "fixed")}
    declared_rows: dict[int, tuple[str | None, tuple[float, float] | None]] = {}
    for name, spec in _table(decl.get("coefficients"), sc_name, "coefficients").items():
        where = f"coefficients.{name}"
        spec = _table(spec, sc_name, where)
        bad = set(spec) - {"relative", "low", "high", "distribution"}
        if bad:
            raise _error(sc_name, where, f"unknown key(s) {', '.join(sorted(bad))}", "a coefficient takes low, high, relative and distribution")
        one_row = "low" in spec or "high" in spec
        # low and high name one row: a bare parameter name is then its row without a key (e.g. the national tariff)
        hits = [by_name[name]] if one_row and name in by_name else rows_of(name, where)
        dist = _distribution(spec["distribution"], sc_name, where) if "distribution" in spec else None
        if one_row and len(hits) > 1:
            raise _error(sc_name, where, f"'{name}' has {len(hits)} keys; low and high apply to one row", f"write '{name}[<key>]', or use relative = 0.1")
        for i in hits:
            declared_rows[i] = (dist, _range(spec, float(rows.at[i, "value"]), sc_name, where))
    group_of = {p: p for p in correlated}
    for p in correlated:
        rows_of(p, "correlated")

    variables: list[Variable] = []
    fixed: list[dict] = []
    columns: list[str] = []
    column_of: dict[str, int] = {}
    for i, r in rows.iterrows():
        name = names[i]
        value = float(r["value"])
        lo, hi = float(r["low"]), float(r["high"])
        dist = by_conf.get(str(r["confidence"]), "uniform")
        reason = None
        if i in declared_rows:
            d, rng = declared_rows[i]
            dist = d or dist
            if rng is not None:
                lo, hi = rng
        elif (str(r["parameter"]), str(r["key"])) in overrides:
            reason = "overridden by the scenario (declare a range in [uncertainty.coefficients] to vary it)"
        if i in held:
            reason = "held fixed by [uncertainty] fixed"
        elif reason is None and (math.isnan(lo) or math.isnan(hi)):
            reason = "no range in the coefficient set"
        elif reason is None and not hi > lo:
            reason = "low = high"
        if reason is None and not lo <= value <= hi:
            raise _error(sc_name, f"coefficients.{name}", f"value {value:g} lies outside the range [{lo:g}, {hi:g}]", "give a range that holds the value")
        if reason:
            fixed.append({"name": name, "value": value, "unit": str(r["unit"]), "reason": reason})
            continue
        group = group_of.get(str(r["parameter"]), name)
        if group not in column_of:
            column_of[group] = len(columns)
            columns.append(group)
        variables.append(Variable(name, "coefficient", str(r["parameter"]), str(r["key"]), value, lo, hi, dist, str(r["unit"]),
                                  str(r["confidence"]), str(r["range_basis"]), column_of[group]))
    confusion = None
    for name, spec in _table(decl.get("inputs"), sc_name, "inputs").items():
        where = f"inputs.{name}"
        if name == landcover.PARAMETER:
            confusion = _landcover(_table(spec, sc_name, where), sc_name, where, read_confusion)
            for i, j, n in landcover.entries(confusion):
                a, b = confusion.codes[i], confusion.codes[j]
                columns.append(f"input:{name}")
                variables.append(Variable(f"input:{name}[{a}>{b}]", "input", name, f"{a}>{b}", float(i == j), 0.0, 1.0, "dirichlet",
                                          "dimensionless", "declared", f"share of mapped class {a} that is class {b}: {n:g} of "
                                          f"{confusion.counts[i].sum():g} reference samples ({Path(confusion.path).name})", len(columns) - 1, n))
            if not landcover.entries(confusion):
                fixed.append({"name": f"input:{name}", "value": 1.0, "unit": "", "reason": "every mapped class agrees with its reference samples"})
            continue
        if name not in inputs:
            near = nearest(name, inputs)
            raise _error(sc_name, where, f"'{name}' is not a gridded input of the scenario",
                         (f"did you mean '{near}'? " if near else "") + f"inputs are {', '.join(sorted(inputs)) or 'none'}")
        spec = _table(spec, sc_name, where)
        bad = set(spec) - ERROR_KEYS
        if bad:
            raise _error(sc_name, where, f"unknown key(s) {', '.join(sorted(bad))}", "an input error takes relative or absolute (or low and high), and distribution")
        mode = "absolute" if "absolute" in spec else "relative"
        if "absolute" in spec:
            a = spec["absolute"]
            if isinstance(a, bool) or not isinstance(a, (int, float)) or not a >= 0:
                raise _error(sc_name, where, f"absolute must be a non-negative number in the input's unit, got {a!r}", f"write absolute = 0.5 ({inputs[name]})")
            rng, value = (-float(a), float(a)), 0.0
        else:
            value = 1.0
            rng = _range(spec, value, sc_name, where)
            if rng is None:
                raise _error(sc_name, where, "give relative (a fraction), absolute, or low and high", "write { relative = 0.1 } for ±10 %")
        if not rng[1] > rng[0]:
            fixed.append({"name": f"input:{name}", "value": value, "unit": "", "reason": "zero error"})
            continue
        dist = _distribution(spec.get("distribution", "normal"), sc_name, where)
        columns.append(f"input:{name}")
        variables.append(Variable(f"input:{name}", "input", name, mode, value, rng[0], rng[1], dist,
                                  "dimensionless" if mode == "relative" else inputs[name], "declared",
                                  f"declared {mode} error of the input", len(columns) - 1))
    settings = {"distributions": by_conf, "correlated": list(correlated), "fixed": list(fixed_names),
                "declared": {k: v for k, v in decl.items() if k in ("coefficients", "inputs")}}
    return Space(tuple(variables), tuple(columns), tuple(fixed), settings, confusion)


def _landcover(spec: Mapping, sc_name: str, where: str, read_confusion):
    """The confusion matrix ``[uncertainty.inputs.landcover]`` names (:mod:`gep.uncertainty.landcover`)."""
    bad = set(spec) - {landcover.KEY}
    if bad or not isinstance(spec.get(landcover.KEY), str):
        raise _error(sc_name, where, "takes one key, confusion_matrix: a CSV of sample counts (rows mapped, columns reference class)",
                     'write confusion_matrix = "accuracy.csv"')
    if read_confusion is None:
        raise _error(sc_name, where, "no scenario folder to read the confusion matrix from", "run it from a scenario file")
    return read_confusion(spec[landcover.KEY])
