"""Township GEP assessment (乡镇 GEP 考核): indicators, targets, scores, ranking and grades.

Indicators per township (zone of the GEP runs)
---------------------------------------------
``gep_growth``
    average yearly GEP growth from the base year to the assessed year,
    ``(GEP_y / GEP_b)^(1/(y − b)) − 1``, at comparable prices of the runs' base year by
    default (real growth: inflation is not rewarded), or at current prices [-];
``realisation_rate``
    ecological product value realised (sold, paid for or transferred in the year; a
    table per township) over the township's GEP at the year's prices [-] (the "value
    realisation rate" concept of Lin et al. 2023);
``forest_cover``
    area of the forest ecosystem (land-cover classes mapped to ``forest`` by the run's
    coefficient set; add ``shrub`` where special shrubland counts, as in China's 森林覆盖率)
    over the township's area, from the run's ``cells.nc`` [-];
``water_class``
    the worst GB 3838-2002 class of the township's monitoring sections in the assessed
    year (:func:`gep.monitoring.compliance.evaluate`, national single-factor method).

Scoring rule (gep's own, documented in ``docs/monitoring.md``)
-------------------------------------------------------------
Each indicator has a weight ``w`` (points), a target ``T`` and a floor ``F``:

* continuous indicators earn ``w · clip((A − F)/(T − F), 0, 1)``: full points at or
  above the target, none at or below the floor, linear in between (default floors:
  growth ``T − 0.05``, realisation rate and forest cover 0);
* water class earns ``w · max(0, 1 − per_class · max(0, class − target_class))``
  (default ``per_class = 0.5``: half the points lost per class below target);
* score = 100 · Σ points / Σ weights of the assessed indicators: an indicator with no
  data for a township (no section in it, no realised value) is not assessed and its
  weight drops out (listed in ``not_assessed``);
* ranking by score, ties broken by GEP growth, then realisation rate (rank ``min``);
* grades: excellent (优秀) ≥ 90, good (良好) ≥ 80, pass (合格) ≥ 60, fail (不合格) below.

Rationale: targets are set per township (hill townships keep forest, plain townships
grow services), so points measure progress against the township's own target rather
than a league table of absolute GEP; the floors make partial progress count and stop
a single indicator from dominating. Lishui's GEP 综合考评办法 (December 2021; 1000 points
over 5 first-level, 18 second-level and 91 third-level indicators, "差异化赋分"
differentiated scoring, county and department level) applies the same idea at county
level; no published township-level scoring rule was found, so this rule is gep's.

References
----------
Zhejiang Online (2022-04-12), 丽水首次出台GEP综合考评办法; Lin Y., Xu W., Li P., Wang X.,
Ouyang Z. (2023) 生态产品价值实现率评价方法——以丽水市为例, 生态学报 43(1): 189-197;
NDRC & NBS (2022) 生态产品总值核算规范（试行） (comparable prices); 环办〔2011〕22号.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gep.errors import InputError, ScenarioError
from gep.monitoring.compliance import CLASS_NAMES, class_number
from gep.units import affine

__all__ = ["INDICATORS", "GRADES", "Targets", "parse_targets", "gep_by_zone", "forest_cover", "water_class", "indicator_table", "score", "realised_by_zone", "purchases"]

#: Indicators, their kind and default floor rule.
INDICATORS = ("gep_growth", "realisation_rate", "forest_cover", "water_class")
#: Grade thresholds [points] (gep's convention; the grades of Chinese 考核: 优秀, 良好, 合格, 不合格).
GRADES = ((90.0, "excellent"), (80.0, "good"), (60.0, "pass"), (-np.inf, "fail"))
GRADE_ZH = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
SCHEMA = {
    "assessment": {"name", "description", "year", "base_year", "basis", "zones", "note"},
    "indicators": None, "target": None, "grades": {"excellent", "good", "pass"},
    "purchase": {"share", "basis", "min_score", "scale_by_score", "zones", "note"},
}
INDICATOR_KEYS = {
    "gep_growth": {"weight", "target", "floor"},
    "realisation_rate": {"weight", "target", "floor", "table"},
    "forest_cover": {"weight", "target", "floor", "ecosystems"},
    "water_class": {"weight", "target", "per_class", "monitoring", "sections", "dl_rule"},
}


@dataclass
class Targets:
    """A validated targets file (``docs/monitoring.md``)."""

    path: str
    name: str
    year: int
    base_year: int
    basis: str
    zones: list[int]
    weights: dict[str, float]
    defaults: dict[str, Any]
    floors: dict[str, float | None]
    per_zone: pd.DataFrame
    options: dict[str, Any]
    grades: tuple
    purchase: dict | None
    raw: dict = field(default_factory=dict)


def _err(path: str, key: str, message: str, hint: str) -> ScenarioError:
    return ScenarioError(f"{path}: {key}: {message}", hint=hint)


def _num(v: Any, path: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise _err(path, key, f"must be a number, got {v!r}", "write a plain number (fractions for rates: 0.05 = 5 %)")
    return float(v)


def _target_value(ind: str, v: Any, path: str, key: str) -> float:
    if ind == "water_class":
        try:
            return float(class_number(v))
        except (InputError, KeyError) as exc:
            raise _err(path, key, f"{v!r} is not a water class", "use I, II, III, IV or V") from exc
    return _num(v, path, key)


def parse_targets(raw: dict, path: str) -> Targets:
    """Validate a targets file read from TOML.

    Raises
    ------
    ScenarioError
        Unknown section, key or indicator; a missing year, weight or target; a floor not
        below its target; a target for a zone listed twice.
    """
    for section, value in raw.items():
        if section not in SCHEMA:
            raise _err(path, f"[{section}]", "unknown section", f"sections are {', '.join(SCHEMA)}")
        if SCHEMA[section] is not None:
            extra = sorted(set(value) - SCHEMA[section]) if isinstance(value, dict) else ["(not a table)"]
            if extra:
                raise _err(path, f"[{section}] {extra[0]}", "unknown key", f"allowed: {', '.join(sorted(SCHEMA[section]))}")
    a = raw.get("assessment", {})
    for key in ("year", "base_year"):
        if not isinstance(a.get(key), int) or isinstance(a.get(key), bool):
            raise _err(path, f"[assessment] {key}", f"must be a year, got {a.get(key)!r}", "e.g. year = 2022, base_year = 2020")
    if a["base_year"] >= a["year"]:
        raise _err(path, "[assessment] base_year", "must be before year", "GEP growth is measured from base_year to year")
    basis = str(a.get("basis", "comparable"))
    if basis not in ("comparable", "current"):
        raise _err(path, "[assessment] basis", f"{basis!r} is not comparable or current", "comparable prices measure real growth")
    inds = raw.get("indicators", {})
    if not isinstance(inds, dict) or not inds:
        raise _err(path, "[indicators]", "missing", f"give at least one of {', '.join(INDICATORS)} with a weight and a target")
    weights, defaults, floors, options = {}, {}, {}, {}
    for ind, spec in inds.items():
        if ind not in INDICATORS:
            raise _err(path, f"[indicators.{ind}]", "unknown indicator", f"use {', '.join(INDICATORS)}")
        extra = sorted(set(spec) - INDICATOR_KEYS[ind])
        if extra:
            raise _err(path, f"[indicators.{ind}] {extra[0]}", "unknown key", f"allowed: {', '.join(sorted(INDICATOR_KEYS[ind]))}")
        if "weight" not in spec:
            raise _err(path, f"[indicators.{ind}] weight", "missing", "the points the indicator is worth")
        weights[ind] = _num(spec["weight"], path, f"[indicators.{ind}] weight")
        if weights[ind] <= 0:
            raise _err(path, f"[indicators.{ind}] weight", "must be > 0", "drop the indicator instead of giving it no weight")
        if "target" in spec:
            defaults[ind] = _target_value(ind, spec["target"], path, f"[indicators.{ind}] target")
        floors[ind] = _num(spec["floor"], path, f"[indicators.{ind}] floor") if "floor" in spec else None
        options[ind] = {k: v for k, v in spec.items() if k not in ("weight", "target", "floor")}
    base = Path(path)
    if "realisation_rate" in options and "table" not in options["realisation_rate"]:
        raise _err(path, "[indicators.realisation_rate] table", "missing", "a CSV of zone, year, realised [CNY] (value realised per township)")
    if "water_class" in options:
        for key in ("monitoring", "sections"):
            if key not in options["water_class"]:
                raise _err(path, f"[indicators.water_class] {key}", "missing", "the monitoring series and the section table (with a zone column)")
    for ind, opt in options.items():
        for key in ("table", "monitoring", "sections"):
            if key in opt:
                f = base.parent / str(opt[key])
                if not f.is_file():
                    raise _err(path, f"[indicators.{ind}] {key}", f"file not found: {opt[key]}", "paths are relative to the targets file")
                opt[key] = f
    rows = []
    for i, t in enumerate(raw.get("target", [])):
        key = f"[[target]] #{i + 1}"
        if not isinstance(t, dict) or not isinstance(t.get("zone"), int):
            raise _err(path, f"{key} zone", "missing or not an integer zone id", "zone = <id of the zone table>")
        extra = sorted(set(t) - set(weights) - {"zone", "name", "note"})
        if extra:
            raise _err(path, f"{key} {extra[0]}", "not an indicator of [indicators]", f"indicators: {', '.join(weights)}")
        rows.append({"zone": t["zone"], **{ind: _target_value(ind, t[ind], path, f"{key} {ind}") for ind in weights if ind in t}})
    per_zone = pd.DataFrame(rows, columns=["zone", *weights])
    if per_zone["zone"].duplicated().any():
        raise _err(path, "[[target]] zone", f"zone {per_zone['zone'][per_zone['zone'].duplicated()].iloc[0]} is listed twice", "one [[target]] per zone")
    for ind in weights:
        if ind not in defaults and per_zone[ind].isna().all():
            raise _err(path, f"[indicators.{ind}] target", "missing", "give a default target, or one per zone in [[target]]")
    g = raw.get("grades", {})
    grades = ((_num(g.get("excellent", 90), path, "[grades] excellent"), GRADES[0][1]), (_num(g.get("good", 80), path, "[grades] good"), GRADES[1][1]),
              (_num(g.get("pass", 60), path, "[grades] pass"), GRADES[2][1]), GRADES[3])
    zones = a.get("zones", [])
    if not isinstance(zones, list) or not all(isinstance(z, int) for z in zones):
        raise _err(path, "[assessment] zones", "must be a list of zone ids", "e.g. zones = [3, 5, 6]; empty = every zone")
    pur = raw.get("purchase")
    if pur is not None:
        share = _num(pur.get("share", -1), path, "[purchase] share")
        if not 0 < share <= 1:
            raise _err(path, "[purchase] share", f"must be in (0, 1], got {share}", "the share of the GEP increase paid")
        pb = str(pur.get("basis", basis))
        if pb not in ("comparable", "current"):
            raise _err(path, "[purchase] basis", f"{pb!r} is not comparable or current", "comparable prices pay real growth only")
        pur = {"share": share, "basis": pb, "min_score": _num(pur.get("min_score", 60), path, "[purchase] min_score"),
               "scale_by_score": bool(pur.get("scale_by_score", False)), "zones": list(pur.get("zones", [])), "note": str(pur.get("note", ""))}
    return Targets(path, str(a.get("name", Path(path).stem)), a["year"], a["base_year"], basis, zones, weights, defaults, floors, per_zone,
                   options, grades, pur, raw)


# --------------------------------------------------------------------------- indicators


def gep_by_zone(accounts: dict[int, Any]) -> pd.DataFrame:
    """GEP per zone and year at current and comparable prices [CNY] from run accounts.

    Parameters
    ----------
    accounts : dict of int to xarray.Dataset
        ``account.nc`` of each year (``value``, ``value_comparable``, ``zone_name``).

    Returns
    -------
    pandas.DataFrame
        ``year, zone, zone_name, value_cny, value_cny_comparable, base_year``.
    """
    frames = []
    for year, ds in sorted(accounts.items()):  # one account per year
        cur = ds["value"].sum(["service", "ecosystem"]).to_series()
        comp = ds["value_comparable"].sum(["service", "ecosystem"]).to_series() if "value_comparable" in ds else cur * np.nan
        frames.append(pd.DataFrame({"year": int(year), "zone": cur.index.astype(int), "zone_name": ds["zone_name"].to_numpy().astype(str),
                                    "value_cny": cur.to_numpy(), "value_cny_comparable": comp.to_numpy(),
                                    "base_year": int(ds.attrs["base_year"]) if "base_year" in ds.attrs else None}))
    return pd.concat(frames, ignore_index=True)


def forest_cover(ecosystem_index: np.ndarray, zone_index: np.ndarray, cell_area: np.ndarray, names: list[str], zones: np.ndarray,
                 ecosystems: tuple[str, ...] = ("forest",)) -> np.ndarray:
    """Share of each zone's area in the given ecosystem types [-] (``np.bincount``, no loop over cells).

    Parameters
    ----------
    ecosystem_index, zone_index : ndarray of int
        Per cell: index into ``names`` and into ``zones`` (-1 outside).
    cell_area : ndarray
        Per cell area [m²] (0 outside).
    names : list of str
        Ecosystem type of each index (``flag_meanings`` of ``cells.nc``).
    zones : ndarray
        Zone ids in index order.
    ecosystems : tuple of str
        Types that count as forest cover.
    """
    unknown = sorted(set(ecosystems) - set(names))
    if unknown:
        raise InputError(f"unknown ecosystem type {unknown[0]!r} in forest_cover ecosystems", hint=f"types: {', '.join(names)}")
    z = np.asarray(zone_index).ravel()
    e = np.asarray(ecosystem_index).ravel()
    a = np.asarray(cell_area, dtype=float).ravel()
    inside = z >= 0
    wanted = np.isin(e, [names.index(n) for n in ecosystems]) & inside
    total = np.bincount(z[inside], weights=a[inside], minlength=len(zones))
    forest = np.bincount(z[wanted], weights=a[wanted], minlength=len(zones))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, forest / total, np.nan)


def water_class(summary: pd.DataFrame, sections: pd.DataFrame, year: int) -> pd.DataFrame:
    """Worst GB 3838-2002 class per zone in ``year`` from a section summary (``zone`` column of the section table).

    Returns
    -------
    pandas.DataFrame
        ``zone, water_class (1-6), sections`` (the zone's sections with data that year).
    """
    if "zone" not in sections.columns:
        raise InputError("section table has no 'zone' column", hint="give each section the zone (township) id it lies in")
    link = sections[["section", "zone"]].assign(zone=pd.to_numeric(sections["zone"], errors="coerce")).dropna()
    s = summary[(summary["period"] == str(year)) & (summary["class"] > 0)].merge(link, on="section")
    return s.groupby("zone", sort=True).agg(water_class=("class", "max"), sections=("section", lambda x: ";".join(sorted(x)))).reset_index().astype({"zone": int})


def indicator_table(t: Targets, gep: pd.DataFrame, cover: pd.Series | None, realised: pd.Series | None, water: pd.DataFrame | None) -> pd.DataFrame:
    """Achievement, target and floor per zone and indicator (long form).

    Parameters
    ----------
    t : Targets
    gep : pandas.DataFrame
        :func:`gep_by_zone`.
    cover : pandas.Series or None
        Forest cover by zone [-].
    realised : pandas.Series or None
        Value realised by zone in ``t.year`` [CNY].
    water : pandas.DataFrame or None
        :func:`water_class`.

    Returns
    -------
    pandas.DataFrame
        ``zone, zone_name, indicator, value, target, floor, weight, assessed, detail``.
    """
    col = "value_cny_comparable" if t.basis == "comparable" else "value_cny"
    a = gep[gep["year"] == t.base_year].set_index("zone")
    b = gep[gep["year"] == t.year].set_index("zone")
    zones = pd.Index(t.zones or sorted(b.index), name="zone")
    unknown = sorted(set(zones) - set(b.index))
    if unknown:
        raise InputError(f"{t.path}: zone {unknown[0]} is not a zone of the {t.year} run", hint=f"zones: {', '.join(map(str, sorted(b.index)))}")
    names = b["zone_name"].reindex(zones)
    values: dict[str, pd.Series] = {}
    detail: dict[str, pd.Series] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = b[col].reindex(zones) / a[col].reindex(zones)
        values["gep_growth"] = ratio ** (1.0 / (t.year - t.base_year)) - 1
    detail["gep_growth"] = (f"GEP {t.base_year}→{t.year} " + a[col].reindex(zones).map("{:,.0f}".format) + " → " + b[col].reindex(zones).map("{:,.0f}".format)
                            + f" CNY ({t.basis})")
    if realised is not None:
        values["realisation_rate"] = realised.reindex(zones) / b["value_cny"].reindex(zones)
        detail["realisation_rate"] = "realised " + realised.reindex(zones).map("{:,.0f}".format) + f" CNY of GEP {t.year}"
    if cover is not None:
        values["forest_cover"] = cover.reindex(zones)
        detail["forest_cover"] = pd.Series("forest ecosystem area / zone area", index=zones)
    if water is not None:
        w = water.set_index("zone")
        values["water_class"] = w["water_class"].reindex(zones).astype(float)
        detail["water_class"] = "sections " + w["sections"].reindex(zones).fillna("none")
    frames = []
    for ind, weight in t.weights.items():  # the four indicators at most
        tgt = pd.Series(t.defaults.get(ind, np.nan), index=zones, dtype=float)
        if ind in t.per_zone.columns and len(t.per_zone):
            tgt = t.per_zone.set_index("zone")[ind].reindex(zones).fillna(tgt)
        if tgt.isna().any():
            raise ScenarioError(f"{t.path}: zone {tgt[tgt.isna()].index[0]} has no {ind} target", hint=f"give [indicators.{ind}] target (a default) or a [[target]] for that zone")
        floor = t.floors.get(ind)
        if ind == "gep_growth":
            fl = tgt - 0.05 if floor is None else pd.Series(floor, index=zones)
        elif ind == "water_class":
            fl = pd.Series(np.nan, index=zones)
        else:
            fl = pd.Series(0.0 if floor is None else floor, index=zones)
        bad = (fl >= tgt) & tgt.notna()
        if bad.any():
            raise ScenarioError(f"{t.path}: [indicators.{ind}] floor {fl[bad].iloc[0]} is not below the target {tgt[bad].iloc[0]} (zone {bad[bad].index[0]})",
                                hint="the floor earns no points and must lie below the target")
        v = values.get(ind, pd.Series(np.nan, index=zones))
        frames.append(pd.DataFrame({"zone": zones, "zone_name": names.to_numpy(), "indicator": ind, "value": v.to_numpy(dtype=float),
                                    "target": tgt.to_numpy(dtype=float), "floor": fl.to_numpy(dtype=float), "weight": weight,
                                    "assessed": np.isfinite(v.to_numpy(dtype=float)),
                                    "detail": detail.get(ind, pd.Series("", index=zones)).reindex(zones).fillna("no data").to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def score(ind: pd.DataFrame, per_class: float = 0.5, grades: tuple = GRADES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points per indicator, score, rank and grade (module notes).

    Parameters
    ----------
    ind : pandas.DataFrame
        :func:`indicator_table`.
    per_class : float
        Share of the water-class points lost per class below target.
    grades : tuple of (threshold, name)
        Descending thresholds.

    Returns
    -------
    (indicators, scores)
        ``indicators`` with ``points``; ``scores`` one row per zone: ``zone, zone_name,
        value_<ind>, target_<ind>, points_<ind>, score, rank, grade, not_assessed``.
    """
    df = ind.copy()
    water = df["indicator"] == "water_class"
    v, tgt, fl, w = (df[c].to_numpy(dtype=float) for c in ("value", "target", "floor", "weight"))
    with np.errstate(invalid="ignore", divide="ignore"):
        linear = w * np.clip((v - fl) / (tgt - fl), 0.0, 1.0)
        classes = w * np.maximum(0.0, 1.0 - per_class * np.maximum(0.0, v - tgt))
    df["points"] = np.where(df["assessed"], np.where(water, classes, linear), np.nan)
    per = df.pivot_table(index="zone", columns="indicator", values=["value", "target", "points"], aggfunc="first", dropna=False)
    per.columns = [f"{a}_{b}" for a, b in per.columns]
    per = df.drop_duplicates("zone")[["zone", "zone_name"]].merge(per.reset_index(), on="zone")
    got = df.assign(assessed_weight=np.where(df["assessed"], df["weight"], 0.0)).groupby("zone", sort=True)[["points", "assessed_weight"]].sum()
    missing = df[~df["assessed"]].groupby("zone", sort=True)["indicator"].agg(";".join).rename("not_assessed")
    per = per.merge(got.reset_index(), on="zone").merge(missing.reset_index(), how="left", on="zone")
    per["score"] = np.where(per["assessed_weight"] > 0, 100.0 * per["points"] / per["assessed_weight"].where(per["assessed_weight"] > 0, 1), np.nan)
    per["not_assessed"] = per["not_assessed"].fillna("")
    key = per[["score"] + [c for c in ("value_gep_growth", "value_realisation_rate") if c in per.columns]].fillna(-np.inf)
    order = np.lexsort([-key[c].to_numpy() for c in reversed(key.columns)])
    ranks = np.empty(len(per), dtype=int)
    ranks[order] = np.arange(1, len(per) + 1)
    per["rank"] = pd.Series(ranks).groupby([key[c].to_numpy() for c in key.columns]).transform("min").to_numpy()
    thresholds = np.array([g[0] for g in grades])
    idx = np.argmax(per["score"].fillna(-np.inf).to_numpy()[:, None] >= thresholds[None, :], axis=1)
    per["grade"] = np.array([g[1] for g in grades], dtype=object)[idx]
    per["grade_zh"] = per["grade"].map(GRADE_ZH)
    per = per.drop(columns=["points", "assessed_weight"]).sort_values(["rank", "zone"]).reset_index(drop=True)
    if "value_water_class" in per.columns:
        per["water_class_name"] = per["value_water_class"].map(lambda c: CLASS_NAMES.get(int(c), "") if np.isfinite(c) else "")
    return df, per


def realised_by_zone(table: pd.DataFrame, year: int, where: str) -> pd.Series:
    """Value realised per zone in ``year`` [CNY] from a table ``zone, year, realised [money unit]``.

    Parameters
    ----------
    table : pandas.DataFrame
        The table as read (the unit of ``realised`` in ``attrs['units']``, default CNY).
    where : str
        The file, for messages.
    """
    unit = table.attrs.get("units", {}).get("realised", "CNY")
    scale, _ = affine(unit, "CNY", f"column 'realised' of {where}")
    for col in ("zone", "year", "realised"):
        bad = pd.to_numeric(table[col], errors="coerce").isna()
        if bad.any():
            raise InputError(f"realised-value table {where}, row {int(bad.to_numpy().nonzero()[0][0]) + 1}: {col} {table[col][bad].iloc[0]!r} is not a number",
                             hint="zone and year are integers, realised a number")
    rows = table[pd.to_numeric(table["year"]) == year]
    return (pd.to_numeric(rows["realised"]) * scale).groupby(pd.to_numeric(rows["zone"]).astype(int)).sum()


def purchases(t: Targets, scores: pd.DataFrame, gep: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """GEP-growth payments of ``[purchase]`` (the purchase feature, :func:`gep.accounting.growth.purchase`) after the assessment.

    A township scoring at least ``min_score`` (and listed in ``zones``, if given) is paid
    ``share`` of its GEP increase from the base year to the assessed year, times
    ``score/100`` with ``scale_by_score``; the others are listed with the reason.

    Returns
    -------
    pandas.DataFrame
        ``zone, zone_name, score, grade, gep_from_cny, gep_to_cny, increase_cny, growth,
        payment_cny [CNY], eligible, reason``.
    """
    from gep.accounting.growth import purchase

    pur = t.purchase
    wanted = pur["zones"] or list(scores["zone"])
    eligible = scores[(scores["score"] >= pur["min_score"]) & scores["zone"].isin(wanted)]["zone"].tolist()
    spec = {"share": pur["share"], "basis": pur["basis"], "from_year": t.base_year, "to_year": t.year, "zones": eligible}
    paid = purchase(gep, spec, base_year) if eligible else pd.DataFrame(columns=["zone", "payment_cny"])
    pay = scores[scores["zone"].isin(wanted)][["zone", "zone_name", "score", "grade"]].merge(paid.drop(columns=["zone_name"], errors="ignore"), how="left", on="zone")
    pay["eligible"] = pay["zone"].isin(eligible)
    factor = np.where(pur["scale_by_score"], pay["score"] / 100.0, 1.0)
    pay["payment_cny"] = np.where(pay["eligible"], pay["payment_cny"].astype(float) * factor, 0.0)
    pay["reason"] = np.where(pay["eligible"], np.where(pay["increase_cny"].astype(float) > 0, "share of the GEP increase" + (" × score/100" if pur["scale_by_score"] else ""),
                                                       "GEP did not grow: nothing to pay"), f"score below {pur['min_score']:g}")
    return pay
