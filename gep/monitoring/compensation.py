"""Horizontal (upstream–downstream) eco-compensation agreements and their payments.

An agreement is data (a TOML file, ``docs/monitoring.md``): the parties, the assessment
section(s), the parameters, the period, the formula that turns a period's water quality
into a score, and the payment rule both ways with caps. Three formulas:

``index`` (Xin'an River, Anhui Dabie Mountains)
    ``P = k0 · Σ_i w_i · C_i / C0_i`` with ``C_i`` the period mean of parameter ``i``
    at the section(s), ``C0_i`` its baseline (given, or the mean over a baseline
    window) and weights ``w_i`` (default ``1/n``); the payment tier is the first whose
    ``upto`` is ≥ P. Xin'an River, round 1 (2012–2014): CODMn, NH3-N, TP and TN at the
    Jiekou section, weights 25 % each, ``k0`` the water-quality stability coefficient;
    P ≤ 1: Zhejiang pays Anhui 1亿 CNY a year, P > 1: Anhui pays Zhejiang 1亿 CNY.
``class`` (Jiangsu–Anhui Chuhe River, Chenqian section)
    the score is the GB 3838-2002 class of the period (worst parameter of the period
    means, 1 … 6) and the tiers are classes (``upto = 2`` = class II or better).
``exceedance`` (Anhui/Hefei section compensation)
    per parameter, the exceedance multiple ``e_i = (C_i − S_i)/S_i`` over the target-class
    limit ``S_i`` costs ``ceil(e_i / step) × amount_per_step`` (capped per parameter),
    paid upstream → downstream; each class the section is better than its target earns
    ``reward_per_class`` downstream → upstream; the net is transferred.

Caps: ``per_period`` bounds each period's transfer; ``total_upstream`` and
``total_downstream`` bound what each side pays over the whole agreement (applied to the
running totals, so a later period pays only what is left).

Every period of the agreement must have data for every section and parameter
(:class:`~gep.errors.InputError` naming the section, parameter and period otherwise).

References
----------
财政部, 环境保护部 (2011) 《新安江流域水环境补偿试点实施方案》; Xin'an River terms as reported by
China Daily (2017-08-14, "Price of clean water 'a good deal'") and Anhui/Huangshan
monitoring staff (four parameters, 25 % weights, stability coefficient); Anhui 《大别山区
水环境生态补偿办法》 (index < 1: Hefei pays Lu'an 4000万 CNY); Anhui–Jiangsu 《关于建立长江流域
横向生态保护补偿机制的合作协议》 (2018, Chuhe Chenqian section, class II or better: Jiangsu
pays Anhui 4000万 CNY); 《合肥市地表水断面生态补偿办法》 (revised: 50万 CNY per 0.5 × exceedance,
at most 300万 CNY per parameter; 50万 CNY per class better than the target). Sources
and confidence of each term: ``docs/monitoring.md``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gep.errors import InputError, ScenarioError
from gep.ledger.errors import InvalidRequest
from gep.ledger.model import check_account_id
from gep.monitoring.compliance import class_limit, class_number, classify, pollution_index
from gep.monitoring.series import DL_RULES, PERIODS, canonical_parameter, period_labels, substitute, window
from gep.units import parse_quantity

__all__ = ["FORMULAS", "ROLES", "Tier", "Agreement", "parse_agreement", "period_values", "baselines", "evaluate", "apply_caps", "TOKEN"]

FORMULAS = ("index", "class", "exceedance")
ROLES = ("upstream", "downstream")
#: Agreement ids: a plain token (it names the ledger request ids of the booked payments).
TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")

SCHEMA: dict[str, set[str]] = {
    "agreement": {"id", "name", "description", "formula", "sections", "water_body", "source", "note"},
    "period": {"start", "end", "length", "dl_rule", "min_samples"},
    "upstream": {"name", "account"},
    "downstream": {"name", "account"},
    "index": {"k0", "baseline_period"},
    "exceedance": {"target_class", "step", "amount_per_step", "cap_per_parameter", "reward_per_class", "rounding"},
    "parameters": None,  # a table per parameter
    "payment": None,     # an array of tiers
    "caps": {"per_period", "total_upstream", "total_downstream"},
}
PARAMETER_KEYS = {"weight", "baseline", "note"}
TIER_KEYS = {"upto", "payer", "amount", "slope", "pivot", "note"}


@dataclass(frozen=True)
class Tier:
    """A payment tier: applies when ``score ≤ upto`` (the last tier: any score).

    ``amount + slope·|score − pivot|`` [CNY] is paid by ``payer`` (``upstream``,
    ``downstream`` or ``none``) to the other party.
    """

    upto: float
    payer: str
    amount: float
    slope: float = 0.0
    pivot: float = 0.0


@dataclass(frozen=True)
class Agreement:
    """A validated agreement (see the module notes and ``docs/monitoring.md``)."""

    path: str
    id: str
    name: str
    formula: str
    sections: tuple[str, ...]
    water_body: str
    start: pd.Timestamp
    end: pd.Timestamp
    length: str
    dl_rule: str
    min_samples: int
    parties: dict[str, dict[str, str]]
    parameters: tuple[str, ...]
    weights: dict[str, float]
    baseline: dict[str, float]
    baseline_window: tuple[pd.Timestamp, pd.Timestamp] | None
    k0: float
    tiers: tuple[Tier, ...]
    exceedance: dict[str, Any]
    caps: dict[str, float]
    raw: dict = field(default_factory=dict)

    def periods(self) -> list[str]:
        """Every period label of the agreement, in order."""
        return list(pd.period_range(self.start, self.end, freq=PERIODS[self.length]).astype(str))


# --------------------------------------------------------------------------- parsing


def _err(path: str, key: str, message: str, hint: str) -> ScenarioError:
    return ScenarioError(f"{path}: {key}: {message}", hint=hint)


def _money(value: Any, path: str, key: str) -> float:
    """CNY from a number or a text with a money unit (``"1 yi_CNY"``, ``"50 wan_CNY"``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _err(path, key, f"must be an amount of money, got {value!r}", "write e.g. 100000000, \"1 yi_CNY\" or \"4000 wan_CNY\"")
    q = parse_quantity(str(value), "CNY", f"{path}: {key}")
    amount = float(q.to("CNY").magnitude)
    if amount < 0:
        raise _err(path, key, f"is negative ({value!r})", "amounts are >= 0; the payer says who pays")
    return amount


def _number(value: Any, path: str, key: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or (positive and value <= 0):
        raise _err(path, key, f"must be a {'positive ' if positive else ''}number, got {value!r}", "write a plain number")
    return float(value)


def _date(value: Any, path: str, key: str) -> pd.Timestamp:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return pd.Timestamp(value)
    try:
        return pd.Timestamp(str(value))
    except (ValueError, TypeError) as exc:
        raise _err(path, key, f"{value!r} is not a date", "write a TOML date such as 2012-01-01") from exc


def _window(value: Any, path: str, key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise _err(path, key, "must be { start = YYYY-MM-DD, end = YYYY-MM-DD }", "e.g. baseline_period = { start = 2008-01-01, end = 2010-12-31 }")
    a, b = _date(value["start"], path, f"{key}.start"), _date(value["end"], path, f"{key}.end")
    if b < a:
        raise _err(path, key, "ends before it starts", "swap start and end")
    return a, b


def parse_agreement(raw: dict, path: str) -> Agreement:
    """Validate an agreement read from TOML (keys: ``docs/monitoring.md``).

    Raises
    ------
    ScenarioError
        Unknown section or key, a missing or malformed value, an unknown formula,
        payer or parameter, weights that are not positive, tiers out of order, or a
        parameter of an ``index`` agreement without a baseline (neither ``baseline``
        nor ``[index] baseline_period``). Exit code 2, naming the file and key.
    """
    for section, value in raw.items():
        if section not in SCHEMA:
            raise _err(path, f"[{section}]", "unknown section", f"sections are {', '.join(SCHEMA)}")
        allowed = SCHEMA[section]
        if allowed is not None:
            if not isinstance(value, dict):
                raise _err(path, f"[{section}]", "must be a table", "see docs/monitoring.md")
            extra = sorted(set(value) - allowed)
            if extra:
                raise _err(path, f"[{section}] {extra[0]}", "unknown key", f"allowed: {', '.join(sorted(allowed))}")
    ag = raw.get("agreement", {})
    for key in ("id", "formula", "sections"):
        if key not in ag:
            raise _err(path, f"[agreement] {key}", "missing", "see docs/monitoring.md")
    aid = str(ag["id"])
    if not TOKEN.match(aid):
        raise _err(path, "[agreement] id", f"{aid!r} is not a plain id", "use letters, digits and . _ + - (it names the ledger requests of the payments)")
    formula = str(ag["formula"])
    if formula not in FORMULAS:
        raise _err(path, "[agreement] formula", f"unknown formula {formula!r}", f"use one of {', '.join(FORMULAS)}")
    sections = ag["sections"] if isinstance(ag["sections"], list) else [ag["sections"]]
    if not sections or not all(isinstance(s, (str, int)) and str(s).strip() for s in sections):
        raise _err(path, "[agreement] sections", "must list the assessment section id(s)", "e.g. sections = [\"JIEKOU\"]")
    body = str(ag.get("water_body", "river")).lower()
    body = {"reservoir": "lake"}.get(body, body)
    if body not in ("river", "lake"):
        raise _err(path, "[agreement] water_body", f"{body!r} is not river or lake", "GB 3838-2002 limits differ for rivers and lakes/reservoirs")
    per = raw.get("period", {})
    for key in ("start", "end"):
        if key not in per:
            raise _err(path, f"[period] {key}", "missing", "give the first and last day of the agreement")
    start, end = _window({"start": per["start"], "end": per["end"]}, path, "[period]")
    length = str(per.get("length", "year"))
    if length not in PERIODS:
        raise _err(path, "[period] length", f"unknown period length {length!r}", f"use one of {', '.join(PERIODS)}")
    dl_rule = str(per.get("dl_rule", "half"))
    if dl_rule not in DL_RULES:
        raise _err(path, "[period] dl_rule", f"unknown rule {dl_rule!r}", f"use one of {', '.join(DL_RULES)}")
    min_samples = per.get("min_samples", 1)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise _err(path, "[period] min_samples", f"must be an integer >= 1, got {min_samples!r}", "samples per parameter and period needed to pay on it")
    parties = {}
    for role in ROLES:
        p = raw.get(role)
        if not isinstance(p, dict) or "account" not in p:
            raise _err(path, f"[{role}] account", "missing", "each party needs a ledger account id, e.g. account = \"anhui\"")
        acc = str(p["account"])
        try:
            check_account_id(acc)
        except InvalidRequest as exc:
            raise _err(path, f"[{role}] account", exc.message, exc.hint) from None
        parties[role] = {"name": str(p.get("name", acc)), "account": acc}
    if parties["upstream"]["account"] == parties["downstream"]["account"]:
        raise _err(path, "[downstream] account", "is the upstream account", "the parties need different accounts")
    params_raw = raw.get("parameters", {})
    if not isinstance(params_raw, dict) or not params_raw:
        raise _err(path, "[parameters]", "missing", "list the assessed parameters, e.g. [parameters.TP] weight = 0.25")
    names, weights, base = [], {}, {}
    for key, spec in params_raw.items():
        name = canonical_parameter(key)
        if name is None:
            raise _err(path, f"[parameters.{key}]", "unknown parameter", "use CODMn, COD, BOD5, NH3-N, TP, TN or DO")
        spec = spec if isinstance(spec, dict) else {}
        extra = sorted(set(spec) - PARAMETER_KEYS)
        if extra:
            raise _err(path, f"[parameters.{key}] {extra[0]}", "unknown key", f"allowed: {', '.join(sorted(PARAMETER_KEYS))}")
        names.append(name)
        if "weight" in spec:
            weights[name] = _number(spec["weight"], path, f"[parameters.{key}] weight", positive=True)
        if "baseline" in spec:
            b = float(parse_quantity(str(spec["baseline"]), "mg/L", f"{path}: [parameters.{key}] baseline").to("mg/L").magnitude)
            if b <= 0:
                raise _err(path, f"[parameters.{key}] baseline", "must be > 0", "the baseline concentration C0 divides the period mean")
            base[name] = b
    if len(set(names)) != len(names):
        raise _err(path, "[parameters]", "a parameter is listed twice", "one table per parameter")
    if weights and set(weights) != set(names):
        missing = sorted(set(names) - set(weights))
        raise _err(path, f"[parameters.{missing[0]}] weight", "missing", "give every parameter a weight, or none (equal weights 1/n)")
    if not weights:
        weights = {n: 1.0 / len(names) for n in names}
    idx = raw.get("index", {})
    k0, bwin = 1.0, None
    if formula == "index":
        k0 = _number(idx.get("k0", 1.0), path, "[index] k0", positive=True)
        if "baseline_period" in idx:
            bwin = _window(idx["baseline_period"], path, "[index] baseline_period")
        lacking = [n for n in names if n not in base]
        if lacking and bwin is None:
            raise _err(path, f"[parameters.{lacking[0]}] baseline", f"agreement {aid}: parameter {lacking[0]} has no baseline",
                       "give baseline = \"<C0> mg/L\" or [index] baseline_period = { start = …, end = … } (C0 = the mean over that window)")
    tiers = _tiers(raw.get("payment"), formula, path)
    exc = _exceedance(raw.get("exceedance"), formula, path)
    caps = {k: _money(v, path, f"[caps] {k}") for k, v in (raw.get("caps") or {}).items()}
    return Agreement(path=path, id=aid, name=str(ag.get("name", aid)), formula=formula, sections=tuple(str(s).strip() for s in sections),
                     water_body=body, start=start, end=end, length=length, dl_rule=dl_rule, min_samples=min_samples, parties=parties,
                     parameters=tuple(names), weights=weights, baseline=base, baseline_window=bwin, k0=k0, tiers=tiers,
                     exceedance=exc, caps=caps, raw=raw)


def _tiers(raw: Any, formula: str, path: str) -> tuple[Tier, ...]:
    if formula == "exceedance":
        if raw:
            raise _err(path, "[[payment]]", "is not used by the exceedance formula", "give [exceedance] amounts instead")
        return ()
    if not isinstance(raw, list) or not raw:
        raise _err(path, "[[payment]]", "missing", "list the payment tiers, e.g. [[payment]] upto = 1.0, payer = \"downstream\", amount = \"1 yi_CNY\"")
    tiers = []
    for i, t in enumerate(raw):
        key = f"[[payment]] #{i + 1}"
        if not isinstance(t, dict):
            raise _err(path, key, "must be a table", "see docs/monitoring.md")
        extra = sorted(set(t) - TIER_KEYS)
        if extra:
            raise _err(path, f"{key} {extra[0]}", "unknown key", f"allowed: {', '.join(sorted(TIER_KEYS))}")
        last = i == len(raw) - 1
        if "upto" not in t and not last:
            raise _err(path, f"{key} upto", "missing", "every tier but the last needs its upper score 'upto'")
        if "upto" not in t:
            upto = np.inf
        elif formula == "class" and isinstance(t["upto"], str):
            try:
                upto = float(class_number(t["upto"]))
            except (InputError, KeyError) as exc:
                raise _err(path, f"{key} upto", f"{t['upto']!r} is not a water class", "use I, II, III, IV, V or a class number 1-6") from exc
        else:
            upto = _number(t["upto"], path, f"{key} upto")
        payer = str(t.get("payer", ""))
        if payer not in (*ROLES, "none"):
            raise _err(path, f"{key} payer", f"{payer!r} is not upstream, downstream or none", "who pays in this tier")
        amount = _money(t.get("amount", 0), path, f"{key} amount")
        slope = _money(t["slope"], path, f"{key} slope") if "slope" in t else 0.0
        if slope and "pivot" not in t:
            raise _err(path, f"{key} pivot", "missing", "a slope needs the score it is measured from, e.g. pivot = 1.0")
        pivot = _number(t.get("pivot", 0.0), path, f"{key} pivot")
        tiers.append(Tier(upto, payer, amount, slope, pivot))
    edges = [t.upto for t in tiers]
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise _err(path, "[[payment]] upto", f"tiers must be in increasing order of upto, got {edges}", "sort the tiers by their upper score")
    return tuple(tiers)


def _exceedance(raw: Any, formula: str, path: str) -> dict:
    if formula != "exceedance":
        if raw:
            raise _err(path, "[exceedance]", f"is only used by the exceedance formula, not {formula}", "remove it or set formula = \"exceedance\"")
        return {}
    raw = raw or {}
    for key in ("step", "amount_per_step"):
        if key not in raw:
            raise _err(path, f"[exceedance] {key}", "missing", "e.g. step = 0.5, amount_per_step = \"50 wan_CNY\"")
    rounding = str(raw.get("rounding", "ceil"))
    if rounding not in ("ceil", "floor", "none"):
        raise _err(path, "[exceedance] rounding", f"{rounding!r} is not ceil, floor or none", "how partial steps count")
    return {
        "target": class_number(raw.get("target_class", "III")),
        "step": _number(raw["step"], path, "[exceedance] step", positive=True),
        "amount_per_step": _money(raw["amount_per_step"], path, "[exceedance] amount_per_step"),
        "cap_per_parameter": _money(raw["cap_per_parameter"], path, "[exceedance] cap_per_parameter") if "cap_per_parameter" in raw else np.inf,
        "reward_per_class": _money(raw.get("reward_per_class", 0), path, "[exceedance] reward_per_class"),
        "rounding": rounding,
    }


# --------------------------------------------------------------------------- values


def _section_means(series: pd.DataFrame, ag: Agreement, start: pd.Timestamp, end: pd.Timestamp, length: str) -> pd.DataFrame:
    data = window(series[series["section"].isin(ag.sections) & series["parameter"].isin(ag.parameters)], start, end)
    data = data[data["status"].isin(["valid", "below_dl"])]
    data = data.assign(value_used=substitute(data, ag.dl_rule), period=period_labels(data["time"], length))
    return data.groupby(["section", "period", "parameter"], sort=True).agg(mean=("value_used", "mean"), n=("value_used", "size")).reset_index()


def period_values(series: pd.DataFrame, ag: Agreement) -> pd.DataFrame:
    """Period mean of each parameter over the agreement's sections (mean of the section means).

    Returns
    -------
    pandas.DataFrame
        ``period, parameter, conc [mg/L], n_samples, sections``.

    Raises
    ------
    InputError
        A section and parameter with fewer than ``min_samples`` values in a period
        (no data in the period), naming them.
    """
    means = _section_means(series, ag, ag.start, ag.end, ag.length)
    full = pd.MultiIndex.from_product([ag.sections, ag.periods(), ag.parameters], names=["section", "period", "parameter"]).to_frame(index=False)
    full = full.merge(means, how="left", on=["section", "period", "parameter"])
    short = full["n"].fillna(0) < ag.min_samples
    if short.any():
        r = full[short].iloc[0]
        have = int(0 if pd.isna(r["n"]) else r["n"])
        raise InputError(f"{series.attrs.get('path', 'monitoring series')}: section {r['section']}, {r['parameter']}: "
                         f"{'no data' if have == 0 else f'{have} sample(s), fewer than min_samples = {ag.min_samples},'} in period {r['period']} "
                         f"of agreement {ag.id} ({int(short.sum())} section/parameter/period(s) short)",
                         hint="the agreement pays on every period: supply the monitoring data, or correct [period] or [agreement] sections")
    out = full.groupby(["period", "parameter"], sort=True).agg(conc=("mean", "mean"), n_samples=("n", "sum")).reset_index()
    out["n_samples"] = out["n_samples"].astype(int)
    out["sections"] = ";".join(ag.sections)
    return out


def baselines(series: pd.DataFrame, ag: Agreement) -> pd.DataFrame:
    """Baseline ``C0`` [mg/L] of each parameter: given in the agreement, or the mean over the baseline window.

    Raises
    ------
    InputError
        A parameter without a given baseline and without data in the baseline window.
    """
    rows = [{"parameter": p, "baseline": ag.baseline[p], "baseline_source": "agreement"} for p in ag.parameters if p in ag.baseline]
    lacking = [p for p in ag.parameters if p not in ag.baseline]
    if lacking:
        a, b = ag.baseline_window
        means = _section_means(series, ag, a, b, "year")
        means = means[means["parameter"].isin(lacking)]
        present = means.groupby(["parameter", "section"])["mean"].mean().reset_index()
        have = set(zip(present["parameter"], present["section"]))
        gap = [(p, s) for p in lacking for s in ag.sections if (p, s) not in have]
        if gap:
            p, s = gap[0]
            raise InputError(f"agreement {ag.id} ({ag.path}): no baseline for {p}: section {s} has no data from {a.date()} to {b.date()}",
                             hint=f"give [parameters.{p}] baseline = \"<C0> mg/L\" or supply monitoring for the baseline period")
        # mean of the yearly means of each section, then of the sections
        win = present.groupby("parameter")["mean"].mean()
        rows += [{"parameter": p, "baseline": float(win[p]), "baseline_source": f"mean {a.date()}–{b.date()}"} for p in lacking]
    out = pd.DataFrame(rows)
    return out.set_index("parameter").loc[list(ag.parameters)].reset_index()


# --------------------------------------------------------------------------- payments


def apply_caps(signed: np.ndarray, caps: dict[str, float]) -> np.ndarray:
    """Apply the caps to signed per-period transfers (+ = downstream pays upstream) [CNY].

    ``per_period`` clips each period; ``total_downstream`` / ``total_upstream`` clip the
    running total each side has paid, so a period pays only what is left under the cap.
    """
    s = np.asarray(signed, dtype=float)
    per = caps.get("per_period", np.inf)
    s = np.sign(s) * np.minimum(np.abs(s), per)
    down = np.maximum(s, 0.0)
    up = np.maximum(-s, 0.0)
    for paid, key in ((down, "total_downstream"), (up, "total_upstream")):
        cap = caps.get(key, np.inf)
        total = np.cumsum(paid)
        # in full while the running total stays under the cap, then what is left, then nothing
        paid[:] = np.where(total <= cap, paid, np.maximum(cap - (total - paid), 0.0))
    return down - up


def _scores(values: pd.DataFrame, base: pd.DataFrame | None, ag: Agreement, limits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-parameter terms and per-period scores for the agreement's formula."""
    v = values.copy()
    v["weight"] = v["parameter"].map(ag.weights)
    body = np.full(len(v), ag.water_body, dtype=object)
    v["class"] = classify(v["conc"].to_numpy(), v["parameter"].to_numpy(), body, limits)
    periods = pd.DataFrame({"period": ag.periods()})
    if ag.formula == "index":
        v = v.merge(base[["parameter", "baseline"]], on="parameter", how="left")
        v["term"] = v["weight"] * v["conc"] / v["baseline"]
        score = pollution_index(v.rename(columns={"baseline": "reference"}), ["period"], ag.k0).rename("score").reset_index()
        return v, periods.merge(score, on="period")
    worst = v.groupby("period", sort=True)["class"].max().rename("class").reset_index()
    if ag.formula == "class":
        return v, periods.merge(worst.assign(score=worst["class"].astype(float)), on="period")
    ex = ag.exceedance
    s, lower = class_limit(v["parameter"].to_numpy(), body, np.full(len(v), ex["target"]), limits)
    c = v["conc"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.maximum(np.where(lower, (s - c) / s, (c - s) / s), 0.0)
    steps = {"ceil": np.ceil, "floor": np.floor, "none": lambda x: x}[ex["rounding"]](e / ex["step"])
    v["target_limit"] = s
    v["exceedance_multiple"] = e
    v["penalty_cny"] = np.minimum(np.nan_to_num(steps) * ex["amount_per_step"], ex["cap_per_parameter"])
    per = v.groupby("period", sort=True)["penalty_cny"].sum().rename("penalty_cny").reset_index().merge(worst, on="period")
    per["classes_better"] = np.maximum(ex["target"] - per["class"], 0)
    per["reward_cny"] = per["classes_better"] * ex["reward_per_class"]
    per["score"] = per["reward_cny"] - per["penalty_cny"]
    return v, periods.merge(per, on="period")


def evaluate(series: pd.DataFrame, ag: Agreement, limits: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Payments of an agreement per period.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`gep.monitoring.series.normalise` output.
    ag : Agreement
        :func:`parse_agreement`.
    limits : pandas.DataFrame
        :func:`gep.monitoring.compliance.limit_table`.

    Returns
    -------
    dict
        ``terms`` (per period and parameter: conc, baseline, weight, term, class …),
        ``baselines`` (index formula) and ``payments`` (per period: score, tier, payer,
        payee, ``amount_cny`` after caps, ``uncapped_cny``, ``net_to_upstream_cny``,
        ``amount_fen`` (integer, half up), ``year``).
    """
    values = period_values(series, ag)
    base = baselines(series, ag) if ag.formula == "index" else None
    terms, per = _scores(values, base, ag, limits)
    score = per["score"].to_numpy(dtype=float)
    if ag.formula == "exceedance":
        tier = np.zeros(len(per), dtype=int)
        uncapped = score.copy()
    else:
        edges = np.array([t.upto for t in ag.tiers])
        tier = np.searchsorted(edges, score, side="left")
        payer = np.array([t.payer for t in ag.tiers], dtype=object)[tier]
        amount = np.array([t.amount for t in ag.tiers])[tier] + np.array([t.slope for t in ag.tiers])[tier] * np.abs(score - np.array([t.pivot for t in ag.tiers])[tier])
        uncapped = np.where(payer == "downstream", amount, np.where(payer == "upstream", -amount, 0.0))
    net = apply_caps(uncapped, ag.caps)
    up, down = ag.parties["upstream"], ag.parties["downstream"]
    payer_role = np.where(net > 0, "downstream", np.where(net < 0, "upstream", "none"))
    pay = per.assign(
        agreement=ag.id, formula=ag.formula, tier=np.where(ag.formula == "exceedance", 0, tier + 1),
        payer=payer_role,
        payer_name=np.where(net > 0, down["name"], np.where(net < 0, up["name"], "")),
        payer_account=np.where(net > 0, down["account"], np.where(net < 0, up["account"], "")),
        payee_name=np.where(net > 0, up["name"], np.where(net < 0, down["name"], "")),
        payee_account=np.where(net > 0, up["account"], np.where(net < 0, down["account"], "")),
        uncapped_cny=np.abs(uncapped), amount_cny=np.abs(net), net_to_upstream_cny=net,
        capped=~np.isclose(np.abs(net), np.abs(uncapped)),
        year=pd.PeriodIndex(per["period"], freq=PERIODS[ag.length]).end_time.year,
    )
    pay["amount_fen"] = np.floor(pay["amount_cny"].to_numpy() * 100 + 0.5).astype(np.int64)
    cols = ["agreement", "period", "year", "formula", "score", "tier", "payer", "payer_name", "payer_account", "payee_name", "payee_account",
            "uncapped_cny", "amount_cny", "amount_fen", "net_to_upstream_cny", "capped"]
    extra = [c for c in ("class", "penalty_cny", "reward_cny", "classes_better") if c in pay.columns]
    return {"terms": terms, "baselines": base if base is not None else pd.DataFrame(), "payments": pay[cols + extra]}
