"""GB 3838-2002 compliance of monitoring sections per period: class, exceedance, pollution index.

Pure functions over tidy tables (no loop over sections, periods or samples: pandas
group reductions and numpy broadcasting). The method follows the national surface-water
evaluation method 《地表水环境质量评价办法（试行）》 (环办〔2011〕22号):

* the value of a parameter in a period is the arithmetic mean of its samples in the
  period (below-DL samples at the substituted value, :func:`gep.monitoring.series.substitute`);
* the class of a parameter is the best class whose GB 3838-2002 limit the mean meets
  (upper limits: mean ≤ limit; dissolved oxygen, a lower limit: mean ≥ limit); a mean
  beyond class V is class 6, "worse than V" (劣Ⅴ类);
* the class of a section is the worst class of its evaluated parameters (single-factor
  method). Total nitrogen is reported but, as in the national method, not evaluated
  for the class unless asked (``include`` argument);
* exceedance against the section's target class with limit S: multiple
  ``(C − S)/S`` when ``C > S`` (``(S − C)/S`` for DO), and the exceedance rate, the
  share of the period's samples beyond S;
* single-factor index ``P_i = C_i/S_i`` and the pollution index

  ``P = k0 · Σ_i w_i · C_i / C0_i``

  (:func:`pollution_index`). The section report uses ``C0_i = S_i``, equal weights
  ``w_i = 1/n`` and ``k0 = 1`` (the mean single-factor index, 综合污染指数); a
  compensation agreement gives its own baselines ``C0_i``, weights and ``k0``
  (Xin'an River: four parameters, ``w_i = 0.25``; :mod:`gep.monitoring.compensation`).

References
----------
GB 3838-2002 《地表水环境质量标准》 Table 1; 环办〔2011〕22号 《地表水环境质量评价办法（试行）》
(single-factor evaluation, evaluated items); ``docs/monitoring.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.capacity.models import normalise_class
from gep.errors import InputError
from gep.monitoring.series import PARAMETERS, period_labels
from gep.units import affine

__all__ = [
    "CLASS_NAMES", "NOT_EVALUATED", "limit_table", "classify", "class_limit", "class_number", "pollution_index",
    "annotate", "period_stats", "section_summary", "evaluate",
]

#: Class number → name; 6 is worse than class V (劣Ⅴ类), 0 = no standard or no data.
CLASS_NAMES = {0: "", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "worse than V"}
#: Parameters reported but not evaluated for the section class by default (环办〔2011〕22号).
NOT_EVALUATED = ("TN",)
DEFAULT_TARGET = "III"
DEFAULT_BODY = "river"
_BODIES = {"river": "river", "stream": "river", "lake": "lake", "reservoir": "lake"}


def class_number(value: object) -> int:
    """``'III'``, ``'3'`` → 3; ``'worse than V'``, ``'劣V'``, ``6`` → 6."""
    text = str(value).strip()
    if text in ("6", "劣V", "劣Ⅴ", "worse than V", "V+"):
        return 6
    return {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}[normalise_class(text)]


def limit_table(standards: pd.DataFrame) -> pd.DataFrame:
    """Limits [mg/L] by ``(parameter, water_body)``: columns ``1 … 5`` and ``bound`` (``max``/``min``).

    Parameters
    ----------
    standards : pandas.DataFrame
        GB 3838-2002 table (:func:`gep.io.capacity_tables.read_standards`).
    """
    df = standards.copy()
    scale = df["unit"].map(lambda u: affine(u, "mg/L", "GB 3838-2002 limit")[0])
    df["limit"] = df["value"].astype(float) * scale
    df["cls"] = df["class"].map(class_number)
    wide = df.pivot_table(index=["parameter", "water_body"], columns="cls", values="limit", aggfunc="first")
    wide = wide.reindex(columns=[1, 2, 3, 4, 5])
    wide["bound"] = df.groupby(["parameter", "water_body"])["bound"].first()
    return wide


def _rows(limits: pd.DataFrame, parameter: np.ndarray, water_body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = pd.MultiIndex.from_arrays([np.asarray(parameter, dtype=object), np.asarray(water_body, dtype=object)])
    sel = limits.reindex(keys)
    return sel[[1, 2, 3, 4, 5]].to_numpy(dtype=float), sel["bound"].to_numpy(dtype=object)


def classify(conc: np.ndarray, parameter: np.ndarray, water_body: np.ndarray, limits: pd.DataFrame) -> np.ndarray:
    """GB 3838-2002 class number of each concentration (vectorised).

    ``class = 1 + #(limits exceeded)``: for an upper limit the count of class limits
    below ``C``, for DO the count above ``C``; limits are monotone over the classes
    (equal limits, such as COD I = II = 15 mg/L, give the better class).

    Parameters
    ----------
    conc : array_like
        Concentrations [mg/L].
    parameter, water_body : array_like of str
        Canonical parameter and ``river``/``lake`` per value.
    limits : pandas.DataFrame
        :func:`limit_table`.

    Returns
    -------
    numpy.ndarray of int
        1-5, 6 (worse than V), 0 where the standard sets no limit or ``conc`` is NaN.
    """
    c = np.asarray(conc, dtype=float)
    lim, bound = _rows(limits, parameter, water_body)
    with np.errstate(invalid="ignore"):
        beyond = np.where((bound == "min")[:, None], lim > c[:, None], lim < c[:, None])
    cls = 1 + beyond.sum(axis=1)
    ok = np.isfinite(c) & np.isfinite(lim).all(axis=1)
    return np.where(ok, cls, 0).astype(int)


def class_limit(parameter: np.ndarray, water_body: np.ndarray, cls: np.ndarray, limits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Limit [mg/L] of class ``cls`` (1-5) per row and whether it is a lower bound (DO); NaN where none."""
    lim, bound = _rows(limits, parameter, water_body)
    k = np.clip(np.asarray(cls, dtype=int), 1, 5) - 1
    out = np.take_along_axis(lim, k[:, None], axis=1)[:, 0]
    return out, bound == "min"


def pollution_index(terms: pd.DataFrame, keys: list[str], k0: float = 1.0) -> pd.Series:
    """``P = k0 · Σ_i w_i · C_i / C0_i`` per group of ``keys``.

    Parameters
    ----------
    terms : pandas.DataFrame
        One row per parameter of each group: ``keys``, ``conc`` [mg/L], ``reference``
        (``C0_i``, same unit) and ``weight`` ``w_i`` [-].
    keys : list of str
        Group columns (e.g. ``["section", "period"]``).
    k0 : float
        Overall coefficient [-] (Xin'an River: the water-quality stability coefficient).

    Returns
    -------
    pandas.Series
        P per group [-].

    References
    ----------
    Xin'an River horizontal compensation (财政部, 环境保护部 2011; four parameters,
    weights 25 % each): ``docs/monitoring.md``.
    """
    part = terms["weight"].to_numpy(dtype=float) * terms["conc"].to_numpy(dtype=float) / terms["reference"].to_numpy(dtype=float)
    return k0 * pd.Series(part, index=terms.index).groupby([terms[k] for k in keys], sort=True).sum(min_count=1)


def _meta(series: pd.DataFrame, sections: pd.DataFrame | None) -> pd.DataFrame:
    """water_body and target class per row (defaults river, III)."""
    meta = pd.DataFrame({"section": series["section"].unique()})
    if sections is not None:
        cols = [c for c in ("section", "water_body", "target_class") if c in sections.columns]
        meta = meta.merge(sections[cols], how="left", on="section")
    body = meta["water_body"] if "water_body" in meta.columns else pd.Series(DEFAULT_BODY, index=meta.index)
    body = body.fillna(DEFAULT_BODY).astype(str).str.strip().str.lower()
    bad = ~body.isin(list(_BODIES))
    if bad.any():
        raise InputError(f"section table: section {meta['section'][bad].iloc[0]} has water_body {body[bad].iloc[0]!r}", hint="use river or lake (reservoir = lake)")
    meta["water_body"] = body.map(_BODIES)
    target = meta["target_class"] if "target_class" in meta.columns else pd.Series(DEFAULT_TARGET, index=meta.index)
    target = target.fillna(DEFAULT_TARGET).astype(str)
    try:
        meta["target"] = target.map(class_number)
    except InputError as exc:
        raise InputError(f"section table: {exc.message}", hint="target_class is I, II, III, IV or V") from exc
    return meta[["section", "water_body", "target"]]


def annotate(series: pd.DataFrame, used: np.ndarray, sections: pd.DataFrame | None, limits: pd.DataFrame, length: str) -> pd.DataFrame:
    """Samples with ``value_used``, period, water body, target class, target limit S, sample class, beyond-S flag."""
    df = series.assign(value_used=used, period=period_labels(series["time"], length)).merge(_meta(series, sections), how="left", on="section")
    s, lower = class_limit(df["parameter"].to_numpy(), df["water_body"].to_numpy(), df["target"].to_numpy(), limits)
    v = df["value_used"].to_numpy(dtype=float)
    df["target_limit"] = s
    df["lower_bound"] = lower
    with np.errstate(invalid="ignore"):
        df["beyond"] = np.where(lower, v < s, v > s) & np.isfinite(v) & np.isfinite(s)
    df["class"] = classify(v, df["parameter"].to_numpy(), df["water_body"].to_numpy(), limits)
    return df


def period_stats(samples: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Per section, period and parameter: counts, mean/min/max, class, exceedance, single-factor index.

    Parameters
    ----------
    samples : pandas.DataFrame
        :func:`annotate` output.
    limits : pandas.DataFrame
        :func:`limit_table`.

    Returns
    -------
    pandas.DataFrame
        ``section, period, parameter, unit, water_body, target_class, n_samples, n_used,
        n_below_dl, n_missing, mean, min, max, class, class_name, target_limit,
        exceedance_rate, exceedance_multiple, index``.
    """
    keys = ["section", "period", "parameter"]
    df = samples.assign(is_used=samples["status"].isin(["valid", "below_dl"]), is_below=samples["status"].eq("below_dl"))
    g = df.groupby(keys, sort=True)
    out = g.agg(unit=("unit", "first"), water_body=("water_body", "first"), target=("target", "first"),
                n_samples=("status", "size"), n_used=("is_used", "sum"), n_below_dl=("is_below", "sum"),
                mean=("value_used", "mean"), min=("value_used", "min"), max=("value_used", "max"),
                n_beyond=("beyond", "sum"), target_limit=("target_limit", "first"), lower_bound=("lower_bound", "first")).reset_index()
    out["n_missing"] = out["n_samples"] - out["n_used"]
    out["class"] = classify(out["mean"].to_numpy(), out["parameter"].to_numpy(), out["water_body"].to_numpy(), limits)
    out["class_name"] = out["class"].map(CLASS_NAMES)
    out["target_class"] = out["target"].map(CLASS_NAMES)
    c, s, lower = out["mean"].to_numpy(dtype=float), out["target_limit"].to_numpy(dtype=float), out["lower_bound"].to_numpy(dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["exceedance_rate"] = np.where(out["n_used"] > 0, out["n_beyond"] / out["n_used"].where(out["n_used"] > 0, 1), np.nan)
        multiple = np.where(lower, (s - c) / s, (c - s) / s)
        out["exceedance_multiple"] = np.where(np.isfinite(multiple), np.maximum(multiple, 0.0), np.nan)
        out["index"] = np.where(lower | ~np.isfinite(s), np.nan, c / s)
    out.loc[~np.isfinite(s), "exceedance_rate"] = np.nan
    return out[["section", "period", "parameter", "unit", "water_body", "target_class", "n_samples", "n_used", "n_below_dl", "n_missing",
                "mean", "min", "max", "class", "class_name", "target_limit", "exceedance_rate", "exceedance_multiple", "index"]]


def section_summary(stats: pd.DataFrame, include: tuple[str, ...] = ()) -> pd.DataFrame:
    """Section class per period: the worst evaluated parameter (single-factor method).

    Parameters
    ----------
    stats : pandas.DataFrame
        :func:`period_stats`.
    include : tuple of str
        Parameters of :data:`NOT_EVALUATED` to evaluate anyway (e.g. ``("TN",)`` for a lake).

    Returns
    -------
    pandas.DataFrame
        ``section, period, water_body, target_class, class, class_name, meets_target,
        worst_parameters, exceeding (parameter×multiple, ';'-separated), pollution_index
        (mean single-factor index of the evaluated upper-limit parameters), n_parameters``.
        A period without any evaluated value has class 0 and ``class_name`` "no data".
    """
    evaluated = stats[(stats["class"] > 0) & (~stats["parameter"].isin(NOT_EVALUATED) | stats["parameter"].isin(include))]
    keys = ["section", "period"]
    base = stats.groupby(keys, sort=True).agg(water_body=("water_body", "first"), target_class=("target_class", "first")).reset_index()
    worst = evaluated.groupby(keys, sort=True)["class"].max().rename("class")
    top = evaluated.merge(worst.reset_index().rename(columns={"class": "worst"}), on=keys)
    names = top[top["class"] == top["worst"]].groupby(keys, sort=True)["parameter"].agg(";".join).rename("worst_parameters")
    over = evaluated[evaluated["exceedance_multiple"] > 0]
    exceeding = (over["parameter"] + "×" + over["exceedance_multiple"].round(3).astype(str)).groupby([over[k] for k in keys], sort=True).agg(";".join).rename("exceeding")
    terms = evaluated[evaluated["index"].notna()].assign(conc=lambda d: d["mean"], reference=lambda d: d["target_limit"])
    terms = terms.assign(weight=1.0 / terms.groupby(keys)["parameter"].transform("size"))
    index = pollution_index(terms, keys).rename("pollution_index")
    count = evaluated.groupby(keys, sort=True)["parameter"].size().rename("n_parameters")
    out = base
    for extra in (worst, names, exceeding, index, count):
        out = out.merge(extra.reset_index(), how="left", on=keys)
    out["class"] = out["class"].fillna(0).astype(int)
    out["class_name"] = out["class"].map(CLASS_NAMES).where(out["class"] > 0, "no data")
    target = out["target_class"].map(class_number)
    out["meets_target"] = (out["class"] > 0) & (out["class"] <= target)
    out["worst_parameters"] = out["worst_parameters"].fillna("")
    out["exceeding"] = out["exceeding"].fillna("")
    out["n_parameters"] = out["n_parameters"].fillna(0).astype(int)
    return out[["section", "period", "water_body", "target_class", "class", "class_name", "meets_target", "worst_parameters",
                "exceeding", "pollution_index", "n_parameters"]]


def evaluate(series: pd.DataFrame, sections: pd.DataFrame | None, limits: pd.DataFrame, *, period: str = "year", start: object = None,
             end: object = None, dl_rule: str = "half", include: tuple[str, ...] = (), only_sections: tuple[str, ...] = (),
             only_parameters: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Compliance of a normalised series: annotated samples, per-parameter statistics, section classes.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`gep.monitoring.series.normalise` output.
    sections : pandas.DataFrame or None
        Section table (``water_body``, ``target_class``; defaults river, III).
    limits : pandas.DataFrame
        :func:`limit_table`.
    period : {"year", "quarter", "month"}
        Assessment period.
    start, end : date-like, optional
        Window (inclusive dates).
    dl_rule : {"half", "zero", "dl"}
        Detection-limit substitution (:data:`gep.monitoring.series.DL_RULES`).
    include : tuple of str
        Parameters of :data:`NOT_EVALUATED` to evaluate for the class anyway.
    only_sections, only_parameters : tuple of str
        Restrict to these (each must have data in the window).

    Returns
    -------
    dict
        ``samples`` (:func:`annotate`), ``stats`` (:func:`period_stats`), ``summary``
        (:func:`section_summary`).

    Raises
    ------
    InputError
        No data in the window, or a requested section or parameter without data in it.
    """
    from gep.monitoring.series import canonical_parameter, substitute, window

    where = series.attrs.get("path", "monitoring series")
    data = window(series, start, end)
    span = f"{start or 'the start'} to {end or 'the end'}"
    names = [canonical_parameter(p) for p in only_parameters]
    unknown = [p for p, n in zip(only_parameters, names) if n is None]
    if unknown:
        raise InputError(f"unknown parameter {unknown[0]!r}", hint=f"known parameters: {', '.join(PARAMETERS)}", key="parameter")
    present = data[data["status"].isin(["valid", "below_dl"])]
    for col, wanted in (("section", tuple(only_sections)), ("parameter", tuple(names))):
        empty = sorted(set(wanted) - set(present[col]))
        if empty:
            raise InputError(f"{where}: {col} {empty[0]} has no data from {span}", hint=f"the {col}s with data are {', '.join(sorted(set(present[col]))) or 'none'}")
    if only_sections:
        data = data[data["section"].isin(only_sections)]
    if names:
        data = data[data["parameter"].isin(names)]
    if not data["status"].isin(["valid", "below_dl"]).any():
        raise InputError(f"{where}: no data from {span}", hint="check the window (from, to), the sections and the parameters asked for against the file")
    samples = annotate(data, substitute(data, dl_rule), sections, limits, period)
    stats = period_stats(samples, limits)
    return {"samples": samples, "stats": stats, "summary": section_summary(stats, include)}
