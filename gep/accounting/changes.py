"""Land-cover change and input change operations of a scenario (pure, vectorised, deterministic).

A scenario's ``[[changes]]`` is a list of operations applied in order to the
land-cover grid (and the monitoring inputs) before any service runs:

``convert``
    Convert cells of classes ``from`` to class ``to``, inside a zone, a mask
    raster or a GeoJSON polygon (or all three intersected), entirely, by
    ``fraction`` of the eligible area, or by ``area_ha``. Cells are taken in a
    deterministic order: nearest first to cells of ``near`` (default: ``to``),
    by Euclidean distance on the grid (distance transform), ties broken by a
    fixed pseudo-random key per cell (:func:`cell_key`, ``seed`` 0 unless
    given); or row-major (north to south, west to east); or by that key alone
    (``order = "random"``).
``target``
    Reach a target ``share`` of ``classes`` (e.g. forest cover 56 %) in the
    region (or inside the given zones/mask/polygon) by converting eligible
    ``from`` cells to ``to``, nearest to existing ``classes`` cells first.
    ``by_year`` records the year the target is set for; the run always shows
    the target state (in a series, list the target under the years it applies to).
``protect``
    Exclude cells from every ``convert`` and ``target`` operation of the
    scenario, wherever the ``protect`` is listed: cells of ``classes`` (on the
    original map) and/or inside zones, a mask or a polygon (permanent basic
    farmland, water-source protection zones, ecological red lines).
``input``
    Change a gridded monitoring input: ``scale`` it (a wetter year:
    precipitation × 1.1), ``add`` a quantity, or replace it by a raster
    (``path``) or a constant (``value``), optionally only inside zones, a mask
    or a polygon.

Converted cells take, for the class-dependent inputs listed in
``update_inputs`` (default :data:`CLASS_DEPENDENT_INPUTS` that the scenario
gives), the mean value of their new class over the unchanged cells of the same
zone (else of the region; else they keep their value and the log says so):
forest planted on cropland gets forest NPP, ET and cover, not cropland's.

Every operation returns a log entry (cells and hectares converted, by source
class and by zone, shares before and after) recorded in the run manifest.
Nothing here reads files: masks and polygons arrive as per-cell fractions
(:mod:`gep.io.vector`, :mod:`gep.geometry`).

References
----------
Danielsson, P.-E. (1980) Euclidean distance mapping. Computer Graphics and
Image Processing 14, 227–248 (the distance transform, via
``scipy.ndimage.distance_transform_edt``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Iterable, Mapping

import numpy as np

from gep.accounting.coefficients import ECOSYSTEMS, NODATA_CODES, Legend
from gep.errors import Problem, ScenarioError

#: Operation name → keys it accepts (besides ``op``).
WHERE_KEYS = ("zones", "mask", "polygon")
OPS: dict[str, set[str]] = {
    "convert": {"from", "to", "area_ha", "fraction", "order", "near", "seed", "allow_shortfall", "update_inputs", "note", *WHERE_KEYS},
    "target": {"classes", "share", "from", "to", "by_year", "near", "seed", "allow_shortfall", "update_inputs", "note", *WHERE_KEYS},
    "protect": {"classes", "note", *WHERE_KEYS},
    "input": {"input", "scale", "add", "path", "value", "units", "note", *WHERE_KEYS},
}
ORDERS = ("nearest", "row_major", "random")
#: Inputs whose value depends on the land-cover class; converted cells take their new class's value.
CLASS_DEPENDENT_INPUTS = ("et", "npp", "fcover", "et_hot", "awc", "negative_ions")
#: A polygon or mask selects the cells it covers by at least this fraction.
MIN_COVER = 0.5


# --------------------------------------------------------------------------- typed operations


@dataclass(frozen=True)
class Operation:
    """One validated ``[[changes]]`` operation: where it applies and how it is named.

    Attributes
    ----------
    index : int
        Position in the scenario's list of changes (0-based).
    label : str
        How messages and the manifest name it (``[[changes]] #2 (line 31)``).
    note : str, optional
        The scenario's own note.
    zones : tuple of int, optional
        Only inside these zones.
    mask, polygon : str, optional
        Only inside this raster mask / GeoJSON polygon (paths as written).
    """

    OP: ClassVar[str] = ""
    #: Fields written to the log even when they hold their default.
    ALWAYS: ClassVar[tuple[str, ...]] = ()

    index: int = 0
    label: str = ""
    note: str | None = None
    zones: tuple[int, ...] | None = None
    mask: str | None = None
    polygon: str | None = None

    @property
    def op(self) -> str:
        return self.OP

    @property
    def has_where(self) -> bool:
        """Whether it applies only inside zones, a mask or a polygon."""
        return self.zones is not None or self.mask is not None or self.polygon is not None

    def as_dict(self) -> dict:
        """The operation as the scenario gave it, validated (the manifest's log entry starts from it)."""
        out: dict[str, Any] = {"index": self.index, "op": self.OP}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "index" or (f.name == "label" and not value) or (value is None and f.name not in self.ALWAYS):
                continue
            out[f.name.rstrip("_")] = list(value) if isinstance(value, tuple) else (dict(value) if isinstance(value, Mapping) else value)
        return out

    @staticmethod
    def from_dict(d: Mapping) -> "Operation":
        """The typed operation of a validated dict (``op`` names its kind)."""
        kind = KINDS[d["op"]]
        names = {f.name for f in fields(kind)}
        kw = {}
        for key, value in d.items():
            name = key + "_" if key + "_" in names else key
            if name in names:
                kw[name] = tuple(value) if isinstance(value, list) else value
        return kind(**kw)


@dataclass(frozen=True)
class Convert(Operation):
    """Convert cells of classes ``from_`` to class ``to``: all, a ``fraction`` of the eligible area, or ``area_ha``."""

    OP: ClassVar[str] = "convert"
    ALWAYS: ClassVar[tuple[str, ...]] = ("order", "allow_shortfall")

    from_: tuple = ()
    to: int = 0
    area_ha: float | None = None
    fraction: float | None = None
    order: str = "nearest"
    near: tuple | None = None
    seed: int | None = None
    allow_shortfall: bool = False
    update_inputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Target(Operation):
    """Reach a target ``share`` of ``classes`` by converting eligible ``from_`` cells to ``to``."""

    OP: ClassVar[str] = "target"
    ALWAYS: ClassVar[tuple[str, ...]] = ("allow_shortfall",)

    classes: tuple = ()
    share: float = 0.0
    from_: tuple = ()
    to: int = 0
    by_year: int | None = None
    near: tuple | None = None
    seed: int | None = None
    allow_shortfall: bool = False
    update_inputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Protect(Operation):
    """Keep cells (of ``classes``, and/or inside zones, a mask or a polygon) out of every conversion."""

    OP: ClassVar[str] = "protect"

    classes: tuple | None = None


@dataclass(frozen=True)
class InputChange(Operation):
    """Change a gridded input: ``scale`` it, ``add`` a quantity, or replace it by a raster (``path``) or a ``value``."""

    OP: ClassVar[str] = "input"

    input: str = ""
    scale: float | None = None
    add: Mapping | None = None  # {"value": float, "units": str}
    path: str | None = None
    value: Mapping | None = None  # {"value": float, "units": str}
    units: str | None = None

    @property
    def how(self) -> str:
        """The change in words, for the log: ``× 1.1``, ``+ 50 mm/yr``, ``← wet.tif``, ``= 1200 mm/yr``."""
        if self.scale is not None:
            return f"× {self.scale:g}"
        if self.add is not None:
            return f"+ {self.add['value']:g} {self.add['units']}"
        if self.path is not None:
            return f"← {self.path}"
        return f"= {self.value['value']:g} {self.value['units']}"


#: Operation name → its type.
KINDS: dict[str, type[Operation]] = {k.OP: k for k in (Convert, Target, Protect, InputChange)}


@dataclass(frozen=True)
class OperationProblem:
    """A problem of one operation of a ``[[changes]]`` list (``index`` None: of the list itself)."""

    index: int | None
    key: str
    message: str


# --------------------------------------------------------------------------- validation


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _class_list(v: Any) -> list | None:
    """``from``/``classes``/``near`` value → list of int codes or ecosystem names, or None if invalid."""
    items = v if isinstance(v, list) else [v]
    if not items:
        return None
    for x in items:
        if not (_is_int(x) or (isinstance(x, str) and x in ECOSYSTEMS)):
            return None
    return list(items)


def validate(raw: Any, inputs: Iterable[str] = ()) -> tuple[list[Operation], list[OperationProblem]]:
    """Check a ``[[changes]]`` list; return the clean operations and every problem.

    Parameters
    ----------
    raw : list of dict
        The operations as parsed from TOML.
    inputs : iterable of str
        Names of the gridded inputs an ``input`` operation may change.

    Returns
    -------
    ops : list of Operation
        One typed operation per valid table (:class:`Convert`, :class:`Target`,
        :class:`Protect`, :class:`InputChange`) with its ``index`` (0-based
        position), the keys given and defaults filled in.
    problems : list of OperationProblem
        ``index`` is None for a problem with the list itself.
    """
    from gep.errors import UnitError
    from gep.units import split_quantity

    probs: list[OperationProblem] = []
    if not isinstance(raw, list):
        return [], [OperationProblem(None, "changes", "must be an array of tables: write each operation as [[changes]] with op = \"convert\" ...")]
    inputs = set(inputs)
    ops = []
    for i, item in enumerate(raw):
        n0 = len(probs)

        def bad(key: str, msg: str) -> None:
            probs.append(OperationProblem(i, key, msg))

        if not isinstance(item, dict):
            bad("changes", "each operation must be a table with an 'op' key")
            continue
        op = item.get("op")
        if op not in OPS:
            near = difflib.get_close_matches(str(op), list(OPS), n=1, cutoff=0.5)
            bad("op", f"unknown operation {op!r}" + (f" (did you mean '{near[0]}'?)" if near else "") + f"; operations: {', '.join(OPS)}")
            continue
        allowed = OPS[op]
        for key in item:
            if key != "op" and key not in allowed:
                near = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.5 if len(key) <= 3 else 0.6)
                bad(key, f"unknown key for op = \"{op}\"" + (f" (did you mean '{near[0]}'?)" if near else "") + f"; allowed: {', '.join(sorted(allowed))}")
        clean: dict[str, Any] = {"index": i, "op": op}
        if "note" in item:
            clean["note"] = str(item["note"])
        # where
        if "zones" in item:
            z = item["zones"] if isinstance(item["zones"], list) else [item["zones"]]
            if not z or not all(_is_int(x) and x > 0 for x in z):
                bad("zones", f"must be a zone id or a list of zone ids (positive integers), got {item['zones']!r}")
            else:
                clean["zones"] = sorted(set(z))
        for key in ("mask", "polygon"):
            if key in item:
                if not isinstance(item[key], str) or not item[key].strip():
                    bad(key, f"must be a file path, got {item[key]!r}")
                else:
                    clean[key] = item[key]
        if op in ("convert", "target"):
            for key in ("from", "to"):
                if key not in item:
                    bad(key, "is required" + (" (the classes that may be converted, codes or ecosystem names such as \"cropland\")" if key == "from" else " (the land-cover code cells become)"))
            if "from" in item:
                cl = _class_list(item["from"])
                if cl is None:
                    bad("from", f"must be land-cover codes or ecosystem names ({', '.join(ECOSYSTEMS)}), got {item['from']!r}")
                else:
                    clean["from"] = cl
            if "to" in item:
                if not _is_int(item["to"]) or item["to"] in NODATA_CODES:
                    bad("to", f"must be one land-cover code (an integer of the legend), got {item['to']!r}")
                else:
                    clean["to"] = item["to"]
            if "near" in item:
                cl = _class_list(item["near"])
                if cl is None:
                    bad("near", f"must be land-cover codes or ecosystem names, got {item['near']!r}")
                else:
                    clean["near"] = cl
            if "allow_shortfall" in item:
                if not isinstance(item["allow_shortfall"], bool):
                    bad("allow_shortfall", "must be true or false")
                clean["allow_shortfall"] = bool(item["allow_shortfall"])
            else:
                clean["allow_shortfall"] = False
            if "update_inputs" in item:
                u = item["update_inputs"]
                if not isinstance(u, list) or not all(isinstance(x, str) for x in u):
                    bad("update_inputs", "must be a list of input names, e.g. [\"npp\", \"et\"] ([] keeps every input as it is)")
                else:
                    unknown = [x for x in u if x not in inputs]
                    if unknown:
                        bad("update_inputs", f"unknown input(s) {unknown}; inputs: {', '.join(sorted(inputs))}")
                    clean["update_inputs"] = list(u)
        if op == "convert":
            amounts = [k for k in ("area_ha", "fraction") if k in item]
            if len(amounts) > 1:
                bad(amounts[1], "give either area_ha or fraction, not both (neither converts every eligible cell)")
            if "area_ha" in item:
                if not _is_num(item["area_ha"]) or item["area_ha"] < 0:
                    bad("area_ha", f"must be an area in hectares ≥ 0, got {item['area_ha']!r}")
                else:
                    clean["area_ha"] = float(item["area_ha"])
            if "fraction" in item:
                if not _is_num(item["fraction"]) or not 0 <= item["fraction"] <= 1:
                    bad("fraction", f"must be a fraction in [0, 1] of the eligible area, got {item['fraction']!r}")
                else:
                    clean["fraction"] = float(item["fraction"])
            order = item.get("order", "nearest")
            if order not in ORDERS:
                bad("order", f"must be one of {', '.join(ORDERS)}, got {order!r}")
            clean["order"] = order
            if "seed" in item:
                if not _is_int(item["seed"]) or item["seed"] < 0:
                    bad("seed", "must be a non-negative integer")
                clean["seed"] = item["seed"]
            if "seed" in item and order == "row_major":
                bad("seed", "does not apply with order = \"row_major\" (it sets the tie-break and the random order)")
        if op == "target":
            if "classes" not in item:
                bad("classes", "is required: the classes whose share is targeted, e.g. classes = [\"forest\", \"shrub\"]")
            else:
                cl = _class_list(item["classes"])
                if cl is None:
                    bad("classes", f"must be land-cover codes or ecosystem names, got {item['classes']!r}")
                else:
                    clean["classes"] = cl
            share = item.get("share")
            if not _is_num(share) or not 0 <= share <= 1:
                hint = f" (a fraction: {share / 100:g} for {share:g} %)" if _is_num(share) and 1 < share <= 100 else ""
                bad("share", f"must be a fraction in [0, 1], got {share!r}{hint}")
            else:
                clean["share"] = float(share)
            if "seed" in item:
                if not _is_int(item["seed"]) or item["seed"] < 0:
                    bad("seed", "must be a non-negative integer")
                clean["seed"] = item["seed"]
            if "by_year" in item:
                if not _is_int(item["by_year"]) or not 1900 <= item["by_year"] <= 2200:
                    bad("by_year", f"must be a year like 2030, got {item['by_year']!r}")
                else:
                    clean["by_year"] = item["by_year"]
        if op == "protect":
            if "classes" in item:
                cl = _class_list(item["classes"])
                if cl is None:
                    bad("classes", f"must be land-cover codes or ecosystem names, got {item['classes']!r}")
                else:
                    clean["classes"] = cl
            if not any(k in item for k in ("classes", *WHERE_KEYS)):
                bad("op", "protect needs classes, zones, mask or polygon (what to keep unchanged)")
        if op == "input":
            name = item.get("input")
            if name is None:
                bad("input", "is required: the gridded input to change, e.g. input = \"precipitation\"")
            elif name not in inputs:
                near = difflib.get_close_matches(str(name), sorted(inputs), n=1, cutoff=0.6)
                bad("input", f"unknown input {name!r}" + (f" (did you mean '{near[0]}'?)" if near else "") + f"; inputs: {', '.join(sorted(inputs))}")
            else:
                clean["input"] = name
            how = [k for k in ("scale", "add", "path", "value") if k in item]
            if len(how) != 1:
                bad("op", f"input changes need exactly one of scale, add, path, value (got {', '.join(how) or 'none'})")
            if "scale" in item:
                if not _is_num(item["scale"]) or item["scale"] < 0:
                    bad("scale", f"must be a factor ≥ 0, e.g. 1.1, got {item['scale']!r}")
                else:
                    clean["scale"] = float(item["scale"])
            for key in ("add", "value"):
                if key in item:
                    try:
                        number, unit = split_quantity(str(item[key]))
                        if not unit:
                            raise ValueError
                        clean[key] = {"value": number, "units": unit}
                    except (UnitError, ValueError):
                        bad(key, f"must be a quantity with a unit such as \"50 mm/yr\", got {item[key]!r}")
            if "path" in item:
                if not isinstance(item["path"], str) or not item["path"].strip():
                    bad("path", f"must be a raster file path, got {item['path']!r}")
                else:
                    clean["path"] = item["path"]
            if "units" in item:
                if "path" not in item:
                    bad("units", "only applies with path")
                clean["units"] = str(item["units"])
        if len(probs) == n0:
            ops.append(Operation.from_dict(clean))
    return ops, probs


# --------------------------------------------------------------------------- the grid changes act on


@dataclass
class ChangeGrid:
    """What land-cover operations act on (plain numpy arrays of one shape).

    Parameters
    ----------
    codes : ndarray of int
        Land-cover codes (nodata codes outside the region).
    zones : ndarray of int
        Zone id per cell, 0 outside the region.
    area : ndarray of float
        Cell area [m²].
    spacing : (float, float)
        Cell size (dy, dx) [m] for distances.
    regions : dict of str → ndarray
        Fraction [0, 1] of each cell inside each mask or polygon, keyed as
        ``"mask:<path>"`` / ``"polygon:<path>"`` (the path as written).
    """

    codes: np.ndarray
    zones: np.ndarray
    area: np.ndarray
    spacing: tuple[float, float] = (1.0, 1.0)
    regions: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def inside(self) -> np.ndarray:
        return (self.zones > 0) & ~np.isin(self.codes, NODATA_CODES)


def expand(classes: list, legend: Legend | None, where: str) -> np.ndarray:
    """Codes of a class list: integer codes (checked against the legend) and ecosystem names.

    Without a legend (``None``) only integer codes are accepted, unchecked.
    """
    out: list[int] = []
    for c in classes:
        if legend is None:
            if not _is_int(c):
                raise ScenarioError(f"{where}: class {c!r} must be an integer land-cover code here", hint="ecosystem names need a coefficient set's legend")
            out.append(int(c))
            continue
        if isinstance(c, str):
            out += [int(x) for x in legend.codes[np.array(legend.ecosystems) == c]]
        else:
            if c not in legend.codes:
                raise ScenarioError(f"{where}: land-cover code {c} is not in the legend", hint=f"use codes of gep/data/coefficients/<set>/landcover.csv ({', '.join(map(str, legend.codes[:12]))}, ...) or ecosystem names ({', '.join(ECOSYSTEMS)})")
            out.append(int(c))
    return np.unique(np.array(out, dtype=np.int64))


def check_codes(ops: Iterable[Operation], legend: Legend, file: str | None = None) -> list[Problem]:
    """Every class code of the operations that is not in the legend, one problem each (all at once)."""
    out = []
    for op in ops:
        for key in ("from", "to", "classes", "near"):
            vals = getattr(op, key + "_" if key == "from" else key, None)
            if vals is None:
                continue
            bad = [c for c in (vals if isinstance(vals, tuple) else [vals]) if _is_int(c) and c not in legend.codes]
            if bad:
                out.append(Problem(f"land-cover code(s) {bad} are not in the legend", file=file, key=f"{op.label or '[[changes]]'} {key}"))
    return out


def select(grid: ChangeGrid, op: Operation, where: str) -> np.ndarray:
    """Cells inside the region and inside the op's zones ∩ mask ∩ polygon (boolean)."""
    sel = grid.inside.copy()
    if op.zones is not None:
        sel &= np.isin(grid.zones, list(op.zones))
        missing = sorted(set(op.zones) - set(np.unique(grid.zones[grid.zones > 0]).tolist()))
        if missing:
            raise ScenarioError(f"{where}: zone(s) {missing} are not in the zones raster", hint="use zone ids of the zone table")
    for key, path in (("mask", op.mask), ("polygon", op.polygon)):
        if path is not None:
            sel &= grid.regions[f"{key}:{path}"] >= MIN_COVER
    return sel


def cell_key(idx: np.ndarray, seed: int = 0) -> np.ndarray:
    """A fixed pseudo-random key per cell (splitmix64 hash of the flat cell index and ``seed``).

    Used to break distance ties and for ``order = "random"``: deterministic, the
    same for a cell whatever the other candidates are, and without the
    north-to-south bias of row-major order.

    References
    ----------
    Steele, Lea & Flood (2014) Fast splittable pseudorandom number generators, OOPSLA (splitmix64).
    """
    with np.errstate(over="ignore"):
        z = np.asarray(idx, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _order(cand: np.ndarray, order: str, seed: int | None, grid: ChangeGrid, codes: np.ndarray, near_codes: np.ndarray) -> np.ndarray:
    """Flat indices of candidate cells in conversion order (see the module notes)."""
    if order == "row_major" or cand.size == 0:
        return cand
    key = cell_key(cand, int(seed or 0))
    if order == "random":
        return cand[np.argsort(key, kind="stable")]
    from scipy.ndimage import distance_transform_edt

    near = np.isin(codes, near_codes) & grid.inside
    if not near.any():
        return cand[np.argsort(key, kind="stable")]
    dist = distance_transform_edt(~near, sampling=grid.spacing).ravel()[cand]
    return cand[np.lexsort((key, dist))]


def _prefix(order: np.ndarray, area: np.ndarray, target_m2: float) -> int:
    """Smallest number of cells (in order) whose area reaches ``target_m2`` (all if it cannot)."""
    if target_m2 <= 0 or order.size == 0:
        return 0
    cum = np.cumsum(area[order])
    return int(min(order.size, np.searchsorted(cum, target_m2 * (1 - 1e-12), side="left") + 1))


def _breakdown(idx: np.ndarray, keys: np.ndarray, area: np.ndarray) -> dict[str, float]:
    """Hectares per key value of the cells ``idx`` (sorted keys)."""
    if idx.size == 0:
        return {}
    k = keys[idx]
    u, inv = np.unique(k, return_inverse=True)
    ha = np.bincount(inv, weights=area[idx]) / 1e4
    return {str(int(a)): float(b) for a, b in zip(u, ha)}


@dataclass
class LandcoverChange:
    """Result of :func:`apply_landcover`."""

    codes: np.ndarray
    original: np.ndarray
    op_of_cell: np.ndarray  # index of the last operation that converted each cell, -1 if unchanged
    log: list[dict]
    update_inputs: dict[int, tuple[str, ...] | None]  # op index → inputs to update (None = default list)

    @property
    def changed(self) -> np.ndarray:
        return self.codes != self.original


def _where(op: Operation, where: str) -> str:
    label = op.label or f"[[changes]] #{op.index + 1}"
    return f"{where}: {label} (op = \"{op.OP}\")" if where else f"{label} (op = \"{op.OP}\")"


def apply_landcover(grid: ChangeGrid, ops: Iterable[Operation], legend: Legend | None, year: int | None = None, where: str = "") -> LandcoverChange:
    """Apply the land-cover operations (``convert``, ``target``, ``protect``) in order.

    Parameters
    ----------
    grid : ChangeGrid
        Codes, zones, cell areas [m²], spacing [m] and region fractions.
    ops : list of Operation
        Validated operations (:func:`validate`); ``input`` operations are skipped.
    legend : Legend or None
        Land-cover legend (codes and ecosystem types); None accepts any
        integer codes (no ecosystem names).
    year : int, optional
        Accounting year (recorded; a ``target``'s ``by_year`` is informational:
        the run shows the target state with the accounting year's data and prices).

    Returns
    -------
    LandcoverChange
        New codes, the original codes, which operation converted each cell,
        and one log entry per operation.

    Raises
    ------
    ScenarioError
        Unknown codes, zones not in the raster, or an amount that the eligible
        cells cannot supply (unless ``allow_shortfall = true``).
    """
    codes = np.array(grid.codes, dtype=np.int64, copy=True)
    original = codes.copy()
    flat = codes.ravel()
    area = np.asarray(grid.area, dtype=np.float64).ravel()
    zones_flat = grid.zones.ravel()
    op_of = np.full(codes.size, -1, dtype=np.int32)
    inside = grid.inside
    protected = np.zeros(codes.shape, dtype=bool)
    log: list[dict] = []
    ops = list(ops)
    for op in ops:
        if not isinstance(op, Protect):
            continue
        w = _where(op, where)
        sel = select(grid, op, w)
        if op.classes is not None:
            sel &= np.isin(original, expand(op.classes, legend, w))
        protected |= sel
    update: dict[int, tuple[str, ...] | None] = {}
    for op in ops:
        w = _where(op, where)
        entry: dict[str, Any] = op.as_dict()
        entry.pop("allow_shortfall", None)
        if isinstance(op, InputChange):
            continue
        if isinstance(op, Protect):
            sel = select(grid, op, w)
            if op.classes is not None:
                sel &= np.isin(original, expand(op.classes, legend, w))
            entry.update(cells=int(sel.sum()), area_ha=float(area[sel.ravel()].sum() / 1e4))
            log.append(entry)
            continue
        frm = expand(op.from_, legend, w)
        to = int(op.to)
        if legend is not None and to not in legend.codes:
            raise ScenarioError(f"{w}: 'to' code {to} is not in the legend", hint=f"use a code of gep/data/coefficients/<set>/landcover.csv ({', '.join(map(str, legend.codes[:12]))}, ...)")
        region = select(grid, op, w)
        eligible = region & np.isin(codes, frm) & ~protected & (codes != to)
        blocked = int((region & np.isin(codes, frm) & protected).sum())
        cand = np.flatnonzero(eligible.ravel())
        eligible_ha = float(area[cand].sum() / 1e4)
        if isinstance(op, Convert):
            near = expand(op.near if op.near is not None else [to], legend, w)
            ordered = _order(cand, op.order, op.seed, grid, codes, near)
            if op.area_ha is not None:
                want = op.area_ha * 1e4
            elif op.fraction is not None:
                want = op.fraction * float(area[cand].sum())
            else:
                want = float(area[cand].sum())
            n = _prefix(ordered, area, want)
            got = float(area[ordered[:n]].sum())
            if op.area_ha is not None and got < want * (1 - 1e-9) and not op.allow_shortfall:
                raise ScenarioError(
                    f"{w}: asks for {op.area_ha:g} ha but only {eligible_ha:,.2f} ha of class(es) {frm.tolist()} are eligible there"
                    + (f" ({blocked} protected cells excluded)" if blocked else ""),
                    hint="lower area_ha, widen zones/mask/polygon or 'from', or set allow_shortfall = true",
                )
            entry.update(requested_ha=want / 1e4, eligible_ha=eligible_ha, protected_cells_skipped=blocked)
        else:  # target
            target_codes = expand(op.classes, legend, w)
            if to not in target_codes:
                raise ScenarioError(f"{w}: 'to' code {to} is not one of the target classes {target_codes.tolist()}", hint="convert into one of the classes whose share is targeted")
            reg = region.ravel()
            total = float(area[reg].sum())
            if total <= 0:
                raise ScenarioError(f"{w}: the target area holds no cell of the region", hint="check zones/mask/polygon")
            have = float(area[reg & np.isin(flat, target_codes)].sum())
            need = op.share * total - have
            near = expand(op.near if op.near is not None else op.classes, legend, w)
            ordered = _order(cand[~np.isin(flat[cand], target_codes)], "nearest", op.seed, grid, codes, near)
            n = _prefix(ordered, area, need)
            got = float(area[ordered[:n]].sum())
            if need > 0 and got < need * (1 - 1e-9) and not op.allow_shortfall:
                raise ScenarioError(
                    f"{w}: share {op.share:.2%} needs {need / 1e4:,.2f} ha more of {target_codes.tolist()}, but only {eligible_ha:,.2f} ha of class(es) {frm.tolist()} are eligible"
                    + (f" ({blocked} protected cells excluded)" if blocked else ""),
                    hint="lower the share, widen 'from', or set allow_shortfall = true",
                )
            entry.update(share_before=have / total, share_after=(have + got) / total, region_ha=total / 1e4, needed_ha=max(need, 0.0) / 1e4,
                         eligible_ha=eligible_ha, protected_cells_skipped=blocked, already_met=bool(need <= 0))
        take = ordered[:n]
        entry.update(
            applied=True,
            cells=int(n),
            area_ha=got / 1e4,
            by_class_ha=_breakdown(take, flat, area),
            by_zone_ha=_breakdown(take, zones_flat, area),
        )
        flat[take] = to
        op_of[take] = op.index
        update[op.index] = op.update_inputs
        log.append(entry)
    assert not (codes != original)[~inside].any()
    return LandcoverChange(codes, original, op_of.reshape(codes.shape), log, update)


# --------------------------------------------------------------------------- inputs


def _bincount(key: Any, weights: Any, n: int) -> np.ndarray:
    from gep.accounting.landscape import _bincount as bc

    out = bc(key, weights, n)
    return np.asarray(out.compute() if hasattr(out, "compute") else out, dtype=np.float64)


def _like(arr: np.ndarray, template: Any) -> Any:
    """``arr`` as a dask array chunked like ``template`` when the template is dask, else as is."""
    if hasattr(template, "map_blocks"):
        import dask.array as da

        return da.from_array(arr, chunks=template.chunks)
    return arr


def follow_class(values: Any, change: LandcoverChange, zones: np.ndarray, legend: Legend, name: str, ops: Iterable[int] | None = None) -> tuple[Any, dict]:
    """Give converted cells the mean value of their new class (same zone, else region).

    Parameters
    ----------
    values : ndarray or dask array
        The input's values per cell.
    change : LandcoverChange
        Result of :func:`apply_landcover`.
    zones : ndarray
        Zone id per cell (0 outside).
    name : str
        Input name (for the log).
    ops : iterable of int, optional
        Only cells converted by these operations are updated (default all).

    Returns
    -------
    values, log
        Updated values (same type) and ``{"input", "cells", "from_zone", "from_region", "kept"}``.
    """
    op_of = change.op_of_cell
    moved = op_of >= 0 if ops is None else np.isin(op_of, list(ops))
    log = {"input": name, "cells": int(moved.sum()), "from_zone": 0, "from_region": 0, "kept": 0}
    if not moved.any():
        return values, log
    nc = len(legend.codes)
    zmax = int(zones.max()) + 1
    inside = (zones > 0) & np.isin(change.original, legend.codes)
    ref = inside & ~change.changed  # reference cells: never converted
    old_pos = np.searchsorted(legend.codes, np.where(inside, change.original, legend.codes[0]))
    new_pos = np.searchsorted(legend.codes, np.where(moved, change.codes, legend.codes[0]))
    key_zone = np.where(ref, zones.astype(np.int64) * nc + old_pos, -1)
    key_reg = np.where(ref, old_pos, -1)
    if hasattr(values, "map_blocks"):
        import dask.array as da

        ok = ~da.isnan(values)
        key_zone_ok = da.where(ok, _like(key_zone, values), -1)
        key_reg_ok = da.where(ok, _like(key_reg, values), -1)
        zero = da.where(ok, values, 0.0)
        one = da.where(ok, 1.0, 0.0)
    else:
        ok = ~np.isnan(values)
        key_zone_ok = np.where(ok, key_zone, -1)
        key_reg_ok = np.where(ok, key_reg, -1)
        zero = np.where(ok, values, 0.0)
        one = ok.astype(np.float64)
    s_z, n_z = _bincount(key_zone_ok, zero, zmax * nc), _bincount(key_zone_ok, one, zmax * nc)
    s_r, n_r = _bincount(key_reg_ok, zero, nc), _bincount(key_reg_ok, one, nc)
    mz = np.divide(s_z, n_z, out=np.full_like(s_z, np.nan), where=n_z > 0)
    mr = np.divide(s_r, n_r, out=np.full_like(s_r, np.nan), where=n_r > 0)
    kz = zones.astype(np.int64) * nc + new_pos
    new_zone = mz[np.where(moved, kz, 0)]
    new_reg = mr[new_pos]
    use_zone = moved & np.isfinite(new_zone)
    use_reg = moved & ~use_zone & np.isfinite(new_reg)
    log.update(from_zone=int(use_zone.sum()), from_region=int(use_reg.sum()), kept=int((moved & ~use_zone & ~use_reg).sum()))
    repl = np.where(use_zone, new_zone, np.where(use_reg, new_reg, np.nan))
    mask = use_zone | use_reg
    if hasattr(values, "map_blocks"):
        import dask.array as da

        return da.where(_like(mask, values), _like(repl, values), values), log
    return np.where(mask, repl, values), log


def apply_input(values: Any, op: InputChange, sel: np.ndarray | None, replacement: Any = None, add: float | None = None) -> Any:
    """Apply one ``input`` operation to an input's values (numpy or dask, in the input's unit).

    Parameters
    ----------
    values : array
        Current values.
    op : InputChange
        The validated operation (``scale``, ``add``, ``path`` or ``value``).
    sel : ndarray of bool, optional
        Cells to change (None: every cell).
    replacement : array or float, optional
        New values for ``path``/``value`` (already in the input's unit).
    add : float, optional
        Amount to add (already in the input's unit).
    """
    if op.scale is not None:
        new = values * op.scale
    elif op.add is not None:
        new = values + add
    else:
        new = replacement
    if sel is None:
        if np.isscalar(new):
            return values * 0 + new
        return new
    s = _like(sel, values)
    if hasattr(values, "map_blocks"):
        import dask.array as da

        return da.where(s, new, values)
    return np.where(s, new, values)
