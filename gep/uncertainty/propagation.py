"""Values of the uncertain variables pushed through the services of one landscape.

The landscape (land-cover key, zone × class areas, every input grid) is built once; each
sample changes coefficient values (and the declared input errors) only. A service (with the
services its method needs: a *unit*) is evaluated in one of two ways:

**multi-affine model (exact, vectorised).** Most services are affine in each coefficient over
per-class and per-zone sums — a runoff coefficient per class, a price, a nutrient content —
or in its inverse (a bulk density, an energy-efficiency ratio divide), with products between
a few of them (sediment = λ/ρ × soil retained; storage = porosity × depth × area). Such a
function is a polynomial of degree at most one in each transformed variable
``x = θ`` or ``x = 1/θ``: with ``w = (x − x_base)/(x_high − x_base)``,

    f(θ) = Σ_S m_S Π_{i∈S} w_i,     m_S = Σ_{U⊆S} (−1)^{|S|−|U|} f(θ_base with U at high)

(the Möbius inversion of the values at the corners). :func:`fit` finds the terms with the
engine itself: axis probes (each variable at low, base and high: affine in θ or in 1/θ, or
not), then the variables that interact within one output (one engine evaluation per
variable of that output), then the pairs, triples, … among them whose lower terms are all
present; it checks the whole model against the engine at the all-high corner of every
output, at the all-low and all-high corners of the box and at random points of it. A sample then costs a few multiplications.

**Chebyshev curves (exact to a checked tolerance).** A variable the output is neither affine
in nor in its inverse, but smooth (a constant inside an exponential or a logarithm: the
heterotrophic respiration of NEP, a·f·Σ(exp(b·T) + ln(c·P + 1))), may still enter a model if
no two such variables interact (one engine evaluation per pair tells). Each term holding it
(its main effect, its products with affine variables) is computed at the Chebyshev–Lobatto
nodes of its range (:func:`lobatto`, :data:`NODES`, nested) and interpolated by the
barycentric formula; the nodes are enough when the last two Chebyshev coefficients are below
:data:`RTOL` of the output (:func:`chebyshev_tail`: for an analytic function they and the
interpolation error decay alike, Trefethen 2019, Theorems 8.1–8.2); the whole model is then
checked as above.

**per sample (the engine).** A unit that is neither (constants that interact inside an
exponential or a power — RWEQ sand fixation, the Budyko curve — or a cap such as
min(load, capacity) that binds inside the box) is computed by the engine for every sample, on
the same landscape, in worker processes.

Outputs of a unit: for every component of every service it reports, the quantity by zone ×
ecosystem, the CNY per unit of that quantity at the price year (:func:`unit_value`) and
the price year; the valuation to the accounting year (price index) is applied per sample
by :func:`index_factors`, so one price-index draw per year serves every component.

References
----------
Saltelli, A. et al. (2008) Global Sensitivity Analysis: The Primer, §1.2.8 (the high-dimensional
model representation that the Möbius terms are); Trefethen, L. N. (2019) Approximation Theory and
Approximation Practice, extended ed., SIAM, ch. 5 and 8; Rabitz, H. & Aliş, Ö. F. (1999) General
foundations of high-dimensional model representations, J. Math. Chem. 25, 197–233.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from gep.accounting import catalogue
from gep.accounting.coefficients import CoefficientSet
from gep.accounting.compute import compute_services, materialise
from gep.accounting.landscape import Landscape
from gep.accounting.valuation import unit_value
from gep.uncertainty import landcover
from gep.uncertainty.space import Space, Variable

#: Relative tolerance of the exactness checks (axis affinity, zero terms, model vs engine).
RTOL = 1e-9
#: Highest order of interaction terms the model looks for before falling back to per-sample runs.
MAX_ORDER = 4
#: Random points of the box at which a fitted model is checked against the engine.
CHECK_POINTS = 2
#: An output moved by at most this many variables has all their pairs probed (else the interacting ones are found first).
PAIRS_DIRECTLY = 6
#: Chebyshev–Lobatto node counts tried in turn for a variable the output is smooth but not affine in (nested sets).
NODES = (9, 17)


# --------------------------------------------------------------------------- outputs of a unit


@dataclass(frozen=True)
class Block:
    """One component of a service in a unit's flat output: its quantity (``size`` values, zone × ecosystem)
    followed by one value, its CNY per unit at ``price_year``."""

    service: str
    component: str
    size: int
    price_year: int
    unit: str


@dataclass(frozen=True)
class Unit:
    """Services evaluated together: a reported service and the services its method needs."""

    services: tuple[str, ...]
    reported: tuple[str, ...]
    variables: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return "+".join(self.reported)


def units_of(enabled: tuple[str, ...], methods: Mapping[str, str]) -> list[Unit]:
    """The units of the enabled services: a service with the services its method needs, merged when they share one."""
    groups: list[set[str]] = []
    for sid in enabled:
        closure, todo = set(), [sid]
        while todo:
            s = todo.pop()
            if s not in closure:
                closure.add(s)
                todo += list(catalogue.BY_ID[s].method(methods[s]).needs)
        hit = [g for g in groups if g & closure]
        for g in hit:
            groups.remove(g)
            closure |= g
        groups.append(closure)
    order = {s: i for i, s in enumerate(catalogue.BY_ID)}
    return [Unit(tuple(sorted(g, key=order.get)), tuple(s for s in enabled if s in g)) for g in sorted(groups, key=lambda g: min(order[s] for s in g))]


@dataclass(frozen=True)
class _Recorder(CoefficientSet):
    """A coefficient set that notes which rows are read: ``(parameter, key)``, ``("carbon_pools", "*")``."""

    log: set = field(default_factory=set, compare=False, repr=False)

    def row(self, parameter: str, key: str = ""):  # noqa: D102
        r = super().row(parameter, key)
        self.log.add((parameter, str(r["key"])))
        return r

    def lut(self, parameter: str, unit: str, codes_present=None, default=None):  # noqa: D102
        out = super().lut(parameter, unit, codes_present, default)
        keys = set(self._rows(parameter)["key"].astype(str))
        if codes_present is None:
            self.log.update((parameter, k) for k in keys)
        else:
            self.log.update((parameter, str(int(c)) if str(int(c)) in keys else "*") for c in np.asarray(codes_present))
        return out

    def __getattribute__(self, name: str):
        if name == "carbon_pools":
            object.__getattribute__(self, "log").add(("carbon_pools", "*"))
        return object.__getattribute__(self, name)


def recording(coef: CoefficientSet) -> _Recorder:
    """A copy of ``coef`` that records the rows the services read (:attr:`_Recorder.log`)."""
    from dataclasses import fields

    return _Recorder(**{f.name: getattr(coef, f.name) for f in fields(CoefficientSet)})


# --------------------------------------------------------------------------- applying values


class Applier:
    """Puts the values of a :class:`Space`'s variables into a coefficient set and a landscape."""

    def __init__(self, coef: CoefficientSet, ls: Landscape, space: Space):
        self.coef, self.ls, self.space = coef, ls, space
        rows = {(p, str(k)): i for i, (p, k) in enumerate(zip(coef.rows["parameter"], coef.rows["key"]))}
        pools = {str(int(c)): i for i, c in enumerate(coef.carbon_pools["lucode"])} if len(coef.carbon_pools) else {}
        index = {(str(s), str(int(y))): i for i, (s, y) in enumerate(zip(coef.price_index["series"], coef.price_index["year"]))}
        self._parameters = coef.rows["parameter"].to_numpy()
        self.targets: list[tuple[str, Any]] = []
        conf = space.confusion
        if conf is not None:
            self._positions = np.searchsorted(ls.legend.codes, conf.codes)
        for v in space.variables:
            if v.kind == "input" and v.parameter == landcover.PARAMETER:
                a, b = (conf.codes.index(int(c)) for c in v.key.split(">"))
                self.targets.append(("landcover", (a, b)))
            elif v.kind == "input":
                self.targets.append(("input", (v.parameter, v.key)))
            elif v.parameter.startswith("carbon_pools."):
                self.targets.append(("pool", (v.parameter.split(".", 1)[1], pools[v.key])))
            elif v.parameter.startswith("price_index."):
                self.targets.append(("index", index[(v.parameter.split(".", 1)[1], v.key)]))
            else:
                self.targets.append(("row", rows[(v.parameter, v.key)]))

    def apply(self, values: np.ndarray, which: tuple[int, ...] | None = None, ls: Landscape | None = None) -> tuple[CoefficientSet, Landscape]:
        """The coefficient set and landscape (``ls``, default the whole one) with ``values`` (one per variable) put in;
        ``which``: only those variables."""
        base_ls = self.ls if ls is None else ls
        idx = range(len(self.targets)) if which is None else which
        value_col = self.coef.rows.columns.get_loc("value")
        rows = pools = index = p = None
        grid = {}
        for i in idx:
            kind, target = self.targets[i]
            x = float(values[i])
            if kind == "row":
                rows = self.coef.rows.copy() if rows is None else rows
                rows.iat[target, value_col] = x
            elif kind == "pool":
                pools = self.coef.carbon_pools.copy() if pools is None else pools
                pools.iat[target[1], pools.columns.get_loc(target[0])] = x
            elif kind == "index":
                index = self.coef.price_index.copy() if index is None else index
                index.iat[target, index.columns.get_loc("value")] = x
            elif kind == "landcover":
                p = np.eye(len(self.space.confusion.codes)) if p is None else p
                p[target] = x
            else:
                name, mode = target
                da = grid.get(name, base_ls.grid[name])
                grid[name] = (da * x if mode == "relative" else da + x).assign_attrs(da.attrs)
        coef = self.coef
        if rows is not None or pools is not None or index is not None:
            coef = replace(coef, rows=rows if rows is not None else coef.rows,
                           carbon_pools=pools if pools is not None else coef.carbon_pools,
                           price_index=index if index is not None else coef.price_index)
            self._carry_lookups(coef, rows, idx)
        if p is not None:
            return coef, self._reallocated(base_ls, grid, p)
        return coef, (replace(base_ls, grid=base_ls.grid.assign(grid)) if grid else base_ls)

    def _reallocated(self, ls: Landscape, grid: dict, p: np.ndarray) -> Landscape:
        """``ls`` with the grids ``grid`` and its zone × class areas re-allocated by the land-cover proportions ``p``:
        each cell's area scaled by the new over the old area of its zone and class (:mod:`gep.uncertainty.landcover`)."""
        from gep.accounting.landscape import _Derived, _take, where

        area = ls.class_area()
        new = landcover.reallocate(area.values, self._positions, p)
        ratio = np.divide(new, area.values, out=np.ones_like(new), where=area.values > 0)
        zone, cls = ls.grid["zone_index"].data, ls.grid["class_index"].data
        key = where((zone >= 0) & (cls >= 0), zone * ratio.shape[1] + cls, -1)
        cell = grid.get("cell_area", ls.grid["cell_area"])
        grid["cell_area"] = (cell * _take(ratio.ravel(), key)).assign_attrs(cell.attrs)
        return replace(ls, grid=ls.grid.assign(grid), derived=_Derived(keys=ls.derived.keys, class_area=area.copy(data=new)))

    def _carry_lookups(self, coef: CoefficientSet, rows, idx) -> None:
        """Give ``coef`` the row groups and confidences of :attr:`coef` (regrouping every row costs more than a
        sample's arithmetic): only the groups of parameters whose values changed are taken from ``rows``."""
        groups = dict(self.coef._by_parameter)
        if rows is not None:
            for p in {self._parameters[self.targets[i][1]] for i in idx if self.targets[i][0] == "row"}:
                groups[p] = rows.iloc[np.flatnonzero(self._parameters == p)]  # by position: the groups keep the rows' order
        coef.__dict__["_by_parameter"] = groups  # the cached properties of a CoefficientSet (values only changed)
        coef.__dict__["_confidence"] = self.coef._confidence


# --------------------------------------------------------------------------- evaluating a unit with the engine


def evaluate(unit: Unit, coef: CoefficientSet, ls: Landscape, methods: Mapping[str, str], switches: Mapping) -> tuple[np.ndarray, tuple[Block, ...]]:
    """A unit's flat output computed by the engine, and its layout (see :class:`Block`)."""
    view = ls.collecting()
    results = compute_services(view, coef, unit.reported, methods, switches)
    if view.batch is not None:
        view.batch.run()
    results, _ = materialise(results)
    parts, blocks = [], []
    for sid in unit.reported:
        for c in results[sid].components:
            q = np.asarray(c.quantity.transpose("zone", "ecosystem").values, dtype=float).ravel()
            parts += [q, [unit_value(c)]]
            blocks.append(Block(sid, c.name, q.size, int(c.price_year), c.quantity.attrs.get("units", "")))
    return np.concatenate(parts) if parts else np.zeros(0), tuple(blocks)


def index_factors(index, series: str, values: np.ndarray, variables: tuple[Variable, ...], price_year: int, year: int) -> np.ndarray:
    """Factor that moves CNY of ``price_year`` to ``year`` per sample: Π I_s/100 over the years between.

    ``values`` (samples × variables) holds the sampled index rows among ``variables``
    (``price_index.<series>[year]``); other years keep the coefficient set's value. Equal to
    :func:`gep.accounting.valuation.index_factor` at every sample.
    """
    from gep.accounting.valuation import index_factor

    n = len(values)
    if price_year == year:
        return np.ones(n)
    factor = np.full(n, index_factor(index, series, price_year, year))  # checks the years exist; the set's values
    lo, hi = sorted((price_year, year))
    have = dict(zip(index[index["series"].astype(str) == series]["year"].astype(int), index[index["series"].astype(str) == series]["value"].astype(float)))
    ratio = np.ones(n)
    for j, v in enumerate(variables):
        if v.parameter == f"price_index.{series}" and lo < int(v.key) <= hi:
            ratio *= values[:, j] / have[int(v.key)]
    return factor * (ratio if year > price_year else 1.0 / ratio)


# --------------------------------------------------------------------------- the multi-affine model


@dataclass(frozen=True)
class Model:
    """A fitted model of a unit's flat output (see the module notes).

    ``inverse[i]`` is True where the output is affine in 1/θ_i; ``terms`` maps a tuple of
    variable positions (within the unit) to its Möbius term (one value per output); a term that
    holds a smooth variable ``i`` (a key of ``nodes``: its Chebyshev–Lobatto nodes [its unit]) has
    its values at those nodes in ``curves`` (nodes × outputs, the other variables of the term at
    their high end), and ``terms`` holds its value at the high end of ``i``.
    """

    low: np.ndarray
    high: np.ndarray
    inverse: np.ndarray
    terms: Mapping[tuple[int, ...], np.ndarray]
    checked: Mapping = field(default_factory=dict)
    nodes: Mapping[int, np.ndarray] = field(default_factory=dict)
    curves: Mapping[tuple[int, ...], np.ndarray] = field(default_factory=dict)

    def _w(self, theta: np.ndarray) -> np.ndarray:
        base = (self.low + self.high) / 2
        t, b, h = np.array(theta, dtype=float), base.copy(), self.high.copy()
        inv = self.inverse
        t[:, inv], b[inv], h[inv] = 1.0 / t[:, inv], 1.0 / b[inv], 1.0 / h[inv]  # only where affine in 1/θ (θ > 0 there)
        return (t - b) / (h - b)

    def predict(self, theta: np.ndarray, reduce: np.ndarray | None = None) -> np.ndarray:
        """Outputs at ``theta`` (samples × unit variables); with ``reduce`` (outputs × r) the reduced outputs."""
        from scipy.interpolate import BarycentricInterpolator

        theta = np.atleast_2d(theta)
        w = self._w(theta) if theta.shape[1] else np.zeros((len(theta), 0))
        out = None
        for s, m in self.terms.items():
            smooth = [i for i in s if i in self.nodes]
            mono = np.prod(w[:, [i for i in s if i not in self.nodes]], axis=1) if s else np.ones(len(theta))
            if smooth:  # the term's curve in its smooth variable, interpolated at the samples (barycentric formula)
                c = self.curves[s] @ reduce if reduce is not None else self.curves[s]
                part = mono[:, None] * BarycentricInterpolator(self.nodes[smooth[0]], c)(theta[:, smooth[0]]).reshape(len(theta), -1)
            else:
                part = np.outer(mono, m @ reduce if reduce is not None else m)
            out = part if out is None else out + part
        return out


class NotMultiAffine(Exception):
    """The unit is not multi-affine in its variables (it is computed per sample); the message says why."""


def _close(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.abs(a - b) <= RTOL * scale + 1e-300


def lobatto(low: float, high: float, n: int) -> np.ndarray:
    """``n`` Chebyshev–Lobatto nodes of ``[low, high]``, from ``high`` down to ``low`` (``n`` odd: the midpoint is one);
    the nodes of ``n`` are among those of ``2n − 1``."""
    x = (low + high) / 2 + (high - low) / 2 * np.cos(np.pi * np.arange(n) / (n - 1))
    x[[0, -1]] = high, low
    if n % 2:
        x[n // 2] = (low + high) / 2  # exactly the base, where a term vanishes
    return x


def chebyshev_tail(values: np.ndarray) -> np.ndarray:
    """Largest magnitude of the last two Chebyshev coefficients of the interpolant through ``values`` (nodes × outputs,
    at :func:`lobatto` nodes), per output: the size of the interpolation error of a function analytic on the interval
    (Trefethen 2019, ATAP, Theorems 8.1–8.2: the coefficients and the error decay alike, as ρ^−n)."""
    n = len(values)
    coef = np.polynomial.chebyshev.chebfit(np.cos(np.pi * np.arange(n) / (n - 1)), values, n - 1)
    return np.max(np.abs(coef[-2:]), axis=0)


def fit(f: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, blocks: list[slice], names: list[str],
        seed: int = 0) -> Model:
    """Fit the model of ``f`` on the box ``[low, high]`` with the engine (``f``) as the oracle: multi-affine, with
    Chebyshev curves in the variables the output is smooth but not affine in (see the module notes).

    Parameters
    ----------
    f : callable
        Values of the unit's variables (one per position) → flat outputs.
    low, high : arrays
        The box.
    blocks : list of slice
        Output blocks within which variables may interact (a component's quantity, its price).
    names : list of str
        Variable names (for messages; ``parameter[key]`` names of one parameter are screened together).
    seed : int
        Seed of the random check points.

    Raises
    ------
    NotMultiAffine
        A variable the output is neither affine in (nor in its inverse) nor smooth in (Chebyshev coefficients that do
        not fall below :data:`RTOL` by :data:`NODES`), an interaction of two smooth variables, interactions beyond
        :data:`MAX_ORDER`, a non-finite output, or a check point the model misses.
    """
    k = len(low)
    base = (low + high) / 2
    cache: dict[frozenset, np.ndarray] = {}

    def at_point(moved: Mapping[int, float]) -> np.ndarray:
        """The engine with the variables of ``moved`` at those values, the others at the base."""
        key = frozenset((i, float(x)) for i, x in moved.items() if x != base[i])
        if key not in cache:
            theta = base.copy()
            for i, x in key:
                theta[i] = x
            y = np.asarray(f(theta), dtype=float)
            if not np.all(np.isfinite(y)):
                raise NotMultiAffine("a non-finite output inside the box")
            cache[key] = y
        return cache[key]

    def at(hi: frozenset) -> np.ndarray:
        return at_point({i: high[i] for i in hi})

    f0 = at(frozenset())
    scale_all = lambda: np.maximum.reduce([np.abs(v) for v in cache.values()])  # noqa: E731
    # parameters whose every row leaves the output unchanged at both ends together are screened out in two evaluations
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name.split("[", 1)[0], []).append(i)
    screened = set()
    for members in groups.values():
        if len(members) > 2 and all(np.all(_close(at_point({i: end[i] for i in members}), f0, scale_all())) for end in (low, high)):
            screened.update(members)
    inverse = np.zeros(k, dtype=bool)
    smooth: list[int] = []
    active = []
    for i in (i for i in range(k) if i not in screened):
        y_lo, y_hi = at_point({i: low[i]}), at(frozenset({i}))
        scale = np.maximum.reduce([np.abs(y_lo), np.abs(y_hi), np.abs(f0)])
        if np.all(_close(y_hi, f0, scale)) and np.all(_close(y_lo, f0, scale)):
            continue  # no effect
        active.append(i)
        # affine in θ: the base is the midpoint, so f(lo) + f(hi) = 2 f(base)
        if np.all(_close(y_lo + y_hi, 2 * f0, scale)):
            continue
        if low[i] > 0:
            x_lo, x0, x_hi = 1 / low[i], 1 / base[i], 1 / high[i]
            slope = (y_hi - f0) / (x_hi - x0)
            if np.all(_close(f0 + slope * (x_lo - x0), y_lo, scale)):
                inverse[i] = True
                continue
        for j in smooth:  # two such variables may not interact (one evaluation each, before any node is computed)
            pair = at(frozenset({i, j})) - at(frozenset({i})) - at(frozenset({j})) + f0
            if np.any(~_close(pair, 0.0, scale_all())):
                raise NotMultiAffine(f"{names[j]} and {names[i]}: two variables the output is not affine in interact")
        smooth.append(i)
    nodes: dict[int, np.ndarray] = {}
    for i in smooth:
        for n in NODES:  # Chebyshev–Lobatto nodes until the last coefficients fall below the tolerance (nested sets)
            x = lobatto(low[i], high[i], n)
            values = np.array([at_point({i: xj}) for xj in x])
            if np.all(chebyshev_tail(values - f0) <= RTOL * np.max(np.abs(values), axis=0) + 1e-300):
                nodes[i] = x
                break
        else:
            raise NotMultiAffine(f"{names[i]}: the output is not affine in it (nor in its inverse), nor smooth enough for "
                                 f"{NODES[-1]} Chebyshev nodes over [{low[i]:g}, {high[i]:g}]")
    terms: dict[tuple[int, ...], np.ndarray] = {(): f0}
    terms.update({(i,): at(frozenset({i})) - f0 for i in active})
    curves: dict[tuple[int, ...], np.ndarray] = {(i,): np.array([at_point({i: xj}) for xj in nodes[i]]) - f0 for i in nodes}

    def mobius(s: tuple[int, ...], smooth: int | None = None, x: float = 0.0) -> np.ndarray:
        """The Möbius term of ``s`` at the high corner, or with its smooth variable ``smooth`` at ``x``."""
        total = np.zeros_like(f0)
        for r in range(len(s) + 1):
            for u in itertools.combinations(s, r):
                total += (-1) ** (len(s) - r) * at_point({j: (x if j == smooth else high[j]) for j in u})
        return total

    def model_at(hi: frozenset) -> np.ndarray:
        return sum((m for s, m in terms.items() if set(s) <= hi), np.zeros_like(f0))

    # variables that move each block, and those among them that interact
    interacting: set[int] = set()
    interacting_pairs: set[tuple[int, int]] = set()
    for b in blocks:
        moving = [i for i in active if np.any(~_close(terms[(i,)][b], 0.0, scale_all()[b]))]
        if len(moving) < 2:
            continue
        corner = frozenset(moving)
        if np.all(_close(at(corner)[b], model_at(corner)[b], scale_all()[b])):
            continue
        if len(moving) <= PAIRS_DIRECTLY:  # few variables: their pairs are cheaper than finding the interacting ones
            interacting_pairs.update(itertools.combinations(sorted(moving), 2))
            continue
        for i in moving:  # i interacts within the block when its effect at the corner differs from its effect at the base
            rest = corner - {i}
            if not np.all(_close((at(corner) - at(rest))[b], terms[(i,)][b], scale_all()[b])):
                interacting.add(i)
    # terms of rising order among the interacting variables, each only when all its lower terms exist
    order = 2
    candidates = sorted(interacting_pairs | set(itertools.combinations(sorted(interacting), 2)))
    while candidates:
        if order > MAX_ORDER:
            raise NotMultiAffine(f"interactions of more than {MAX_ORDER} coefficients")
        kept = []
        for s in candidates:
            m = mobius(s)
            if np.all(_close(m, 0.0, scale_all())):
                continue
            own = [i for i in s if i in nodes]
            if len(own) > 1:
                raise NotMultiAffine(f"{' and '.join(names[i] for i in own)}: two variables the output is not affine in interact")
            if own:  # the term's curve at the nodes of its smooth variable, the others high
                curve = np.array([mobius(s, own[0], xj) for xj in nodes[own[0]]])
                if np.any(chebyshev_tail(curve) > RTOL * scale_all() + 1e-300):
                    raise NotMultiAffine(f"{names[own[0]]}: its interaction with {', '.join(names[i] for i in s if i != own[0])} is not smooth enough")
                curves[s] = curve
            terms[s] = m
            kept.append(s)
        order += 1
        kept_set = set(kept)
        candidates = sorted({tuple(sorted(set(a) | set(b))) for a in kept for b in kept if len(set(a) | set(b)) == order})
        candidates = [s for s in candidates if all(sub in kept_set for sub in itertools.combinations(s, order - 1))]
    model = Model(low, high, inverse, terms, nodes=nodes, curves=curves)
    # the whole model against the engine: every block's all-high corner, then the all-low and all-high corners of
    # the box (a cap that binds when every variable is low or high: a variable alone at its end may move nothing),
    # then random points of the box (between the nodes of a smooth variable)
    for b in blocks:
        moving = frozenset(i for i in active if np.any(~_close(terms[(i,)][b], 0.0, scale_all()[b])))
        if len(moving) > 1 and not np.all(_close(at(moving)[b], model_at(moving)[b], scale_all()[b])):
            raise NotMultiAffine("interactions the terms do not explain")
    rng = np.random.default_rng(seed)
    worst = 0.0
    points = [("the all-low corner", low), ("the all-high corner", high)] + [("a random point", low + rng.random(k) * (high - low)) for _ in range(CHECK_POINTS)]
    for where, theta in points if k else []:
        y = np.asarray(f(theta), dtype=float)
        pred = model.predict(theta[None, :])[0]
        scale = np.maximum(np.abs(y), scale_all())
        if not np.all(np.isfinite(y)) or not np.all(_close(pred, y, scale)):
            raise NotMultiAffine(f"the model misses the engine at {where} of the box (a threshold such as a cap binds inside it)")
        worst = max(worst, float(np.max(np.abs(pred - y) / np.maximum(scale, 1e-300))) if y.size else 0.0)
    return replace(model, checked={"engine_evaluations": len(cache) + (len(points) if k else 0), "terms": len(terms),
                                   "max_relative_difference": worst, "chebyshev_nodes": {names[i]: len(x) for i, x in nodes.items()}})


# --------------------------------------------------------------------------- a cap applied to a model

#: The switch under which purification is min(load, Σ capacity) per zone; with it off the capacities are multi-affine.
CAP_SWITCH = "purification_capped_by_load"


def capped_services(unit: Unit, switches: Mapping) -> dict[str, tuple[str, ...]]:
    """The services of ``unit`` whose quantities are their capacities capped by the zone's load
    (:func:`gep.accounting.services.purification.cap_by_load`), with the pollutants (their components);
    empty unless every service of the unit is one and the switch :data:`CAP_SWITCH` is on."""
    from gep.accounting.services import purification
    from gep.accounting.switches import value as switch

    by_service = {"water_purification": purification.WATER_POLLUTANTS, "air_purification": purification.AIR_POLLUTANTS}
    if not switch(dict(switches), CAP_SWITCH) or not set(unit.services) <= set(by_service):
        return {}
    return {s: by_service[s] for s in unit.reported}


@dataclass(frozen=True)
class Capped:
    """A model of the uncapped capacities (:data:`CAP_SWITCH` off: multi-affine) with the engine's own cap applied to
    every sample at once: per zone, min(load, Σ capacity) shared in proportion to capacity
    (:func:`gep.accounting.services.purification.cap_by_load` on arrays with a sample dimension).

    ``loads`` maps a block's position to the zone loads of its pollutant [t/yr] (zones in the landscape's order).
    """

    model: Model
    blocks: tuple[Block, ...]
    loads: Mapping[int, np.ndarray]

    @property
    def checked(self) -> Mapping:
        return self.model.checked

    def predict(self, theta: np.ndarray, reduce: np.ndarray | None = None) -> np.ndarray:
        """Outputs at ``theta`` (samples × unit variables), capped; with ``reduce`` (outputs × r) the reduced outputs."""
        import xarray as xr

        from gep.accounting.services.purification import cap_by_load

        y = self.model.predict(theta)
        pos = 0
        for j, b in enumerate(self.blocks):
            if j in self.loads:
                load = np.asarray(self.loads[j], dtype=float)
                q = xr.DataArray(y[:, pos:pos + b.size].reshape(len(y), len(load), -1), dims=("sample", "zone", "ecosystem"))
                y[:, pos:pos + b.size] = cap_by_load(q, xr.DataArray(load, dims="zone")).values.reshape(len(y), -1)
            pos += b.size + 1
        return y @ reduce if reduce is not None else y


def cap(model: Model, unit: Unit, blocks: tuple[Block, ...], ls: Landscape, switches: Mapping) -> Capped:
    """``model`` (fitted with :data:`CAP_SWITCH` off) with the loads of the landscape's ``emissions`` table as its cap."""
    from gep.accounting.services.purification import zone_loads

    pollutants = capped_services(unit, switches)
    loads = {s: zone_loads(ls, pols, s) for s, pols in pollutants.items()}
    return Capped(model, blocks, {j: loads[b.service][b.component].values for j, b in enumerate(blocks) if b.component in pollutants.get(b.service, ())})


# --------------------------------------------------------------------------- a unit's own cells


def compact(ls: Landscape, ecosystems: set[str], reads: set[str] | None = None) -> Landscape | None:
    """The landscape of only the cells of ``ecosystems`` (a ``1 × n`` grid) with the zone × class areas of the
    whole landscape; None for a chunked landscape. A per-sample unit whose components lie in those ecosystems
    costs a fraction of the cells per sample (:func:`compact_for` checks it gives the same outputs).

    ``reads``: the gridded inputs the unit reads (:func:`gep.accounting.catalogue.input_name` of a grid); then
    only those grids are kept, and cells equal in zone, class and every one of them become one cell whose
    area is their sum (``np.unique`` rows, areas summed by ``np.bincount``): a service linear in the cell
    area gives the same zone sums, up to the order of the additions.
    """
    import xarray as xr

    from gep.accounting.catalogue import input_name
    from gep.accounting.landscape import _Derived

    cls = ls.grid["class_index"].data
    if hasattr(cls, "map_blocks"):
        return None
    inside = np.asarray(ls.legend.class_mask(sorted(ecosystems)), dtype=bool)
    keep = (np.asarray(cls) >= 0) & (np.asarray(ls.grid["zone_index"].data) >= 0)
    keep &= np.append(inside, False)[np.asarray(cls)]
    names = [k for k in ls.grid.data_vars if reads is None or k in ("class_index", "zone_index", "cell_area") or input_name(k) in reads]
    values = {k: np.asarray(ls.grid[k].values)[keep] for k in names}
    if reads is not None:
        keys = np.column_stack([values[k].astype(np.float64) for k in names if k != "cell_area"])
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        area = np.bincount(inverse.ravel(), weights=values["cell_area"], minlength=len(first))
        values = {k: (area if k == "cell_area" else v[first]) for k, v in values.items()}
    grid = xr.Dataset({k: (("y", "x"), v[None, :], dict(ls.grid[k].attrs)) for k, v in values.items()}, attrs=dict(ls.grid.attrs))
    return replace(ls, grid=grid, derived=_Derived(class_area=ls.class_area()))


def compact_for(unit: Unit, ls: Landscape, applier: "Applier", points: np.ndarray, methods: Mapping, switches: Mapping) -> Landscape:
    """The smallest landscape that gives a per-sample unit's outputs at ``points`` (rows of values): the cells of
    the ecosystems its components are non-zero in, merged where they are equal in every grid the unit reads
    (:func:`compact`), or only the cells, if the outputs there are identical (relative 10⁻¹²); else ``ls`` itself."""
    from gep.accounting.coefficients import ECOSYSTEMS

    full = [evaluate(unit, *applier.apply(p, unit.variables), methods, switches) for p in points]
    used: set[str] = set()
    for y, blocks in full:
        pos = 0
        for b in blocks:
            q = y[pos:pos + b.size].reshape(-1, len(ECOSYSTEMS))
            used |= {e for e, nz in zip(ECOSYSTEMS, np.any(q != 0, axis=0)) if nz}
            pos += b.size + 1
    if not used:
        return ls
    reads = {i.name for s in unit.services for i in catalogue.BY_ID[s].inputs_of(methods[s])}
    for small in (compact(ls, used, reads), compact(ls, used)):
        if small is None or small.grid["class_index"].size >= ls.grid["class_index"].size * 0.9:
            continue
        if all(_same(unit, applier, small, p, y, methods, switches) for p, (y, _) in zip(points, full)):
            return small
    return ls


def _same(unit: Unit, applier: "Applier", small: Landscape, point: np.ndarray, y: np.ndarray, methods: Mapping, switches: Mapping) -> bool:
    """Whether ``unit`` gives the outputs ``y`` at ``point`` on the landscape ``small``."""
    from gep.errors import GepError

    try:
        z, _ = evaluate(unit, *applier.apply(point, unit.variables, small), methods, switches)
    except GepError:  # a grid the unit reads but its catalogue entry does not list
        return False
    return z.shape == y.shape and np.array_equal(np.isfinite(z), np.isfinite(y)) and np.allclose(z, y, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- per-sample runs in worker processes

_STATE: dict[str, Any] = {}


def _run_block(task: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
    u, rows = task
    st = _STATE
    unit = st["units"][u]
    small = st.get("landscapes", {}).get(u)
    out = []
    for values in rows:
        coef, ls = st["applier"].apply(values, unit.variables, small)
        y, _ = evaluate(unit, coef, ls, st["methods"], st["switches"])
        out.append(y)
    return u, np.array(out)


def _install(state: Mapping[str, Any]) -> None:
    """Worker initialiser: the state the tasks read (:data:`_STATE`)."""
    _STATE.clear()
    _STATE.update(state)


def start_method() -> str:
    """How worker processes start: ``forkserver`` where the platform has it, else ``spawn``.

    Never ``fork``: forking a process whose other threads (dask's scheduler, a BLAS pool) hold a
    lock leaves the child waiting for it forever; a fork server is a clean single-threaded process
    started before any of them, and ``spawn`` starts a fresh interpreter.
    """
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def run_tasks(fn: Callable, tasks: list, state: Mapping[str, Any], workers: int, done: Callable[[Any], None] = lambda _r: None) -> list:
    """``fn`` over ``tasks`` with :data:`_STATE` set to ``state``, in order.

    With ``workers > 1`` (and more than one task) in that many processes (:func:`start_method`), each
    given ``state`` once when it starts; else in this process. ``done`` is called with each result as it
    arrives (progress). The results do not depend on ``workers``.
    """
    results = []
    try:
        if workers > 1 and len(tasks) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=multiprocessing.get_context(start_method()),
                                     initializer=_install, initargs=(dict(state),)) as pool:
                for r in pool.map(fn, tasks):
                    results.append(r)
                    done(r)
        else:
            _install(state)
            for t in tasks:
                results.append(fn(t))
                done(results[-1])
    finally:
        _STATE.clear()
        _stop_fork_server()
    return results


def _stop_fork_server() -> None:
    """Stop and wait for the fork server, if one runs: no process is left behind, and the CPU time of the
    workers it started is counted to this process (its children's resource usage)."""
    import multiprocessing.forkserver as fs

    server = getattr(fs, "_forkserver", None)
    if getattr(server, "_forkserver_pid", None) is not None and hasattr(server, "_stop"):
        server._stop()  # the standard library's own shutdown (it closes the server's pipe and waits for it)


def per_sample(units: list[Unit], rows: np.ndarray, applier: Applier, methods: Mapping, switches: Mapping, workers: int,
               say: Callable[[str], None] = lambda _m: None, landscapes: Mapping[int, Landscape] | None = None) -> dict[int, np.ndarray]:
    """Outputs of units (by position in ``units``) computed by the engine for every row of values.

    Rows are split into blocks run by ``workers`` processes (:func:`run_tasks`); each sample is
    computed on its own, so the result does not depend on ``workers``.
    ``landscapes``: a unit's own (compact) landscape, by position (:func:`compact_for`).
    """
    if not units or not len(rows):
        return {}
    state = dict(units=units, applier=applier, methods=methods, switches=switches, landscapes=dict(landscapes or {}))
    n_blocks = max(1, min(len(rows), 4 * max(workers, 1)))
    splits = np.array_split(np.arange(len(rows)), n_blocks)
    tasks = [(u, rows[s]) for u in range(len(units)) for s in splits if len(s)]
    count = iter(range(1, len(tasks) + 1))
    results = run_tasks(_run_block, tasks, state, workers, lambda _r: say(f"per-sample runs: {next(count)}/{len(tasks)} blocks"))
    parts: dict[int, list] = {u: [] for u in range(len(units))}
    for u, y in results:
        parts[u].append(y)
    return {u: np.concatenate(p) for u, p in parts.items()}


def default_workers() -> int:
    """Worker processes for per-sample runs: the CPUs this process may use (at least 1)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


__all__ = ["Applier", "Block", "Capped", "Model", "cap", "capped_services", "NotMultiAffine", "Unit", "compact", "compact_for", "evaluate", "fit", "index_factors", "per_sample",
           "recording", "run_tasks", "start_method", "units_of", "default_workers"]
