"""Monitoring series: parameters, units, flags, detection limits, periods and gaps.

A series is a tidy table, one row per section, time and parameter. :func:`normalise`
turns the stored table (:func:`gep.io.monitoring.read_series`) into canonical form:

* ``parameter``: canonical name (:data:`PARAMETERS`; Chinese names and common
  spellings such as 高锰酸盐指数, ``NH4-N``, ``CODcr`` accepted);
* ``value`` and ``detection_limit``: converted with pint to the parameter's unit
  (concentrations mg/L, flow m³/s, temperature °C);
* ``status``: ``valid``, ``below_dl`` (flag ``L``, ``<`` or ``ND``, or a value
  written ``<0.01``), ``missing`` (flag ``M`` or an empty value) or ``rejected``
  (flag ``X``: failed quality control, never used).

Detection limits
----------------
HJ/T 91-2002 reports a result below the method detection limit (DL) as the DL with
the flag ``L``. For statistics the value used is ``factor × DL`` (:data:`DL_RULES`):

* ``half`` (default): DL/2, the rule of 《地表水环境质量监测数据统计技术规定（试行）》
  (环办监测函〔2020〕82号, point 7) and SL 219-2013 §12.2.5 (annual means);
* ``zero``: 0, SL 219-2013 §12.2.5 for pollutant load totals (a lower bound);
* ``dl``: the DL itself (an upper bound, for a conservative check).

References
----------
HJ/T 91-2002 《地表水和污水监测技术规范》 (reporting below the DL with flag L);
环办监测函〔2020〕82号 《地表水环境质量监测数据统计技术规定（试行）》;
SL 219-2013 《水环境监测规范》 §12.2.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gep.capacity.loads import canonical_pollutant
from gep.errors import InputError, UnitError, nearest
from gep.units import affine

__all__ = [
    "Parameter", "PARAMETERS", "STATUS", "DL_RULES", "PERIODS", "canonical_parameter", "normalise",
    "substitute", "window", "period_labels", "gaps",
]


@dataclass(frozen=True)
class Parameter:
    """A monitored parameter: canonical name, unit values are converted to, kind, other names."""

    name: str
    unit: str
    kind: str
    aliases: tuple[str, ...] = ()


#: Parameters gep reads (GB 3838-2002 Table 1 items with limits in the standards table, plus
#: flow and water temperature, which the calibration and the charts use).
PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("CODMn", "mg/L", "concentration", ("高锰酸盐指数", "permanganate index", "IMn")),
    Parameter("COD", "mg/L", "concentration", ("化学需氧量",)),
    Parameter("BOD5", "mg/L", "concentration", ("五日生化需氧量",)),
    Parameter("NH3-N", "mg/L", "concentration", ("氨氮",)),
    Parameter("TP", "mg/L", "concentration", ("总磷", "total phosphorus")),
    Parameter("TN", "mg/L", "concentration", ("总氮", "total nitrogen")),
    Parameter("DO", "mg/L", "concentration", ("溶解氧", "dissolved oxygen")),
    Parameter("flow", "m**3/s", "flow", ("流量", "discharge", "Q")),
    Parameter("temperature", "degC", "temperature", ("水温", "water temperature")),
)}
_KEY = lambda text: "".join(ch for ch in str(text).upper() if ch.isalnum())  # noqa: E731
_ALIASES = {_KEY(a): p.name for p in PARAMETERS.values() for a in (p.name, *p.aliases)}

#: Flag → status. Empty = a valid measurement.
STATUS = {"": "valid", "L": "below_dl", "<": "below_dl", "<DL": "below_dl", "ND": "below_dl", "M": "missing", "X": "rejected"}
#: Detection-limit substitution rules: factor applied to the DL [-].
DL_RULES = {"half": 0.5, "zero": 0.0, "dl": 1.0}
#: Period lengths and their pandas frequency.
PERIODS = {"year": "Y", "quarter": "Q", "month": "M"}
#: Output columns of :func:`normalise`.
COLUMNS = ["section", "time", "parameter", "value", "unit", "status", "detection_limit", "row"]


def canonical_parameter(name: object) -> str | None:
    """Canonical parameter name (``'氨氮'`` → ``'NH3-N'``), or None when unknown."""
    text = str(name).strip()
    for candidate in (text, canonical_pollutant(text)):
        hit = _ALIASES.get(_KEY(candidate))
        if hit:
            return hit
    return None


def _where(raw: pd.DataFrame, mask: np.ndarray, what: str) -> str:
    """``<file>, data row N`` of the first row in ``mask`` (N counts the rows after the header; and how many more)."""
    idx = np.flatnonzero(mask)
    row = int(raw["row"].iloc[idx[0]]) if "row" in raw.columns else int(idx[0]) + 1
    more = f" ({len(idx)} rows)" if len(idx) > 1 else ""
    return f"{raw.attrs.get('path', what)}, data row {row}{more}"


def normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """Canonical series: parameter names, times, statuses, values and DLs in canonical units.

    Parameters
    ----------
    raw : pandas.DataFrame
        ``section, time, parameter, value, unit`` and optionally ``flag``,
        ``detection_limit`` (same unit as the row); ``attrs['path']`` for messages.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: ``value`` [parameter unit] (the DL for a ``below_dl``
        row, NaN for ``missing``/``rejected``), ``detection_limit`` [parameter unit].

    Raises
    ------
    InputError
        Unknown parameter, flag or time; a value that is not a number; a below-DL
        row without a DL; a negative concentration; the same section, time and
        parameter twice. The message names the file and row.
    UnitError
        A unit that is unknown or of the wrong dimension for the parameter.
    """
    n = len(raw)
    section = raw["section"].astype(str).str.strip()
    empty = (section == "") | raw["section"].isna().to_numpy()
    if empty.any():
        raise InputError(f"{_where(raw, empty.to_numpy(), 'series')}: no section id", hint="every row needs the section it was sampled at")
    names = raw["parameter"].astype(str)
    lookup = {u: canonical_parameter(u) for u in names.unique()}
    param = names.map(lookup)
    unknown = param.isna().to_numpy()
    if unknown.any():
        bad = names[unknown].iloc[0]
        guess = nearest(bad, list(PARAMETERS) + [a for p in PARAMETERS.values() for a in p.aliases])
        raise InputError(f"{_where(raw, unknown, 'series')}: unknown parameter {bad!r}",
                         hint=(f"did you mean {guess!r}? " if guess else "") + f"known parameters: {', '.join(PARAMETERS)}")
    time = pd.to_datetime(raw["time"], errors="coerce")
    if getattr(time.dt, "tz", None) is not None:
        time = time.dt.tz_convert(None)
    bad_time = time.isna().to_numpy()
    if bad_time.any():
        raise InputError(f"{_where(raw, bad_time, 'series')}: time {raw['time'].iloc[np.flatnonzero(bad_time)[0]]!r} is not a date",
                         hint="write ISO dates such as 2023-01-05 or 2023-01-05T10:00")
    flags = raw["flag"] if "flag" in raw.columns else pd.Series([""] * n, index=raw.index)
    flags = flags.fillna("").astype(str).str.strip().str.upper()
    text = raw["value"].astype("string").fillna("").str.strip()
    lt = text.str.startswith("<").to_numpy(dtype=bool)
    flags = flags.where(~lt | (flags != ""), "<")
    status = flags.map(STATUS)
    bad_flag = status.isna().to_numpy()
    if bad_flag.any():
        raise InputError(f"{_where(raw, bad_flag, 'series')}: unknown flag {flags[bad_flag].iloc[0]!r}",
                         hint="flags: empty (valid), L / < / ND (below the detection limit), M (missing), X (rejected by QC)")
    number = pd.to_numeric(text.str.lstrip("<").str.strip().replace("", np.nan), errors="coerce").to_numpy(dtype=float)
    status = status.to_numpy(dtype=object)
    status = np.where((status == "valid") & (text.to_numpy(dtype=str) == ""), "missing", status)
    not_number = np.isin(status, ("valid",)) & ~np.isfinite(number)
    if not_number.any():
        raise InputError(f"{_where(raw, not_number, 'series')}: value {text[not_number].iloc[0]!r} is not a number",
                         hint="write a number, '<DL' or flag L for a result below the detection limit, flag M for a missing sample")
    dl = pd.to_numeric(raw["detection_limit"], errors="coerce").to_numpy(dtype=float) if "detection_limit" in raw.columns else np.full(n, np.nan)
    below = status == "below_dl"
    dl = np.where(below & ~np.isfinite(dl), number, dl)
    no_dl = below & ~np.isfinite(dl)
    if no_dl.any():
        raise InputError(f"{_where(raw, no_dl, 'series')}: a result below the detection limit has no detection limit",
                         hint="give the DL as the value with flag L (HJ/T 91), as '<0.01', or in a detection_limit column")
    used = np.isin(status, ("valid", "below_dl"))
    units = raw["unit"].astype("string").fillna("").str.strip().to_numpy(dtype=str)
    no_unit = used & (units == "")
    if no_unit.any():
        raise InputError(f"{_where(raw, no_unit, 'series')}: value without a unit", hint="give the unit of every value, e.g. mg/L, ug/L, m**3/s")
    scale = np.ones(n)
    offset = np.zeros(n)
    frame = pd.DataFrame({"parameter": param.to_numpy(), "unit": units, "used": used})
    for (p, unit), idx in frame[frame["used"]].groupby(["parameter", "unit"]).groups.items():  # distinct (parameter, unit) pairs, not rows
        pos = frame.index.get_indexer(idx)
        target = PARAMETERS[p].unit
        try:
            s, o = affine(unit, target, f"{p}")
        except UnitError as exc:
            mask = np.zeros(n, dtype=bool)
            mask[pos] = True
            raise UnitError(f"{_where(raw, mask, 'series')}: {exc.message}", hint=f"give {p} in a unit convertible to {target}") from exc
        scale[pos], offset[pos] = s, o
    value = np.where(used, number * scale + offset, np.nan)
    dl = np.where(below, dl * scale + offset, np.nan)
    kinds = param.map({p.name: p.kind for p in PARAMETERS.values()}).to_numpy()
    negative = used & (kinds == "concentration") & (value < 0)
    if negative.any():
        raise InputError(f"{_where(raw, negative, 'series')}: negative concentration", hint="concentrations are >= 0; flag a result below the DL with L")
    out = pd.DataFrame({
        "section": section.to_numpy(), "time": time.to_numpy(), "parameter": param.to_numpy(),
        "value": value, "unit": param.map({p.name: p.unit for p in PARAMETERS.values()}).to_numpy(), "status": status,
        "detection_limit": dl, "row": raw["row"].to_numpy() if "row" in raw.columns else np.arange(1, n + 1),
    })
    dup = out["status"].isin(["valid", "below_dl"]) & out.duplicated(["section", "time", "parameter"], keep=False)
    if dup.any():
        r = out[dup].iloc[0]
        raise InputError(f"{_where(raw, dup.to_numpy(), 'series')}: {r['section']} {r['parameter']} at {r['time']} is given twice",
                         hint="one value per section, time and parameter (average parallel samples first, or flag one X)")
    out.attrs["path"] = raw.attrs.get("path", "")
    return out


def substitute(series: pd.DataFrame, rule: str = "half") -> np.ndarray:
    """Values used in statistics: valid values, ``factor × DL`` below the DL, NaN otherwise.

    Parameters
    ----------
    series : pandas.DataFrame
        Output of :func:`normalise`.
    rule : {"half", "zero", "dl"}
        :data:`DL_RULES` (see the module notes).

    Returns
    -------
    numpy.ndarray
        [parameter unit]
    """
    if rule not in DL_RULES:
        raise InputError(f"unknown detection-limit rule {rule!r}", hint=f"use one of {', '.join(DL_RULES)}", key="dl_rule")
    status = series["status"].to_numpy()
    return np.where(status == "valid", series["value"].to_numpy(dtype=float),
                    np.where(status == "below_dl", DL_RULES[rule] * series["detection_limit"].to_numpy(dtype=float), np.nan))


def window(series: pd.DataFrame, start: object = None, end: object = None) -> pd.DataFrame:
    """Rows with ``start <= time < end + 1 day`` (dates inclusive; None = open)."""
    mask = np.ones(len(series), dtype=bool)
    if start is not None:
        mask &= (series["time"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        mask &= (series["time"] < pd.Timestamp(end) + pd.Timedelta(days=1)).to_numpy()
    return series[mask]


def period_labels(times: pd.Series, length: str) -> pd.Series:
    """Period of each time as text: ``'2023'``, ``'2023Q1'`` or ``'2023-01'``."""
    if length not in PERIODS:
        raise InputError(f"unknown period length {length!r}", hint=f"use one of {', '.join(PERIODS)}", key="period")
    return pd.Series(pd.DatetimeIndex(times).to_period(PERIODS[length]).astype(str), index=times.index)


def gaps(series: pd.DataFrame, start: object, end: object, every: str = "month") -> pd.DataFrame:
    """Completeness per section and parameter: expected and observed sampling periods.

    A period counts as observed when it holds at least one valid or below-DL value.

    Parameters
    ----------
    series : pandas.DataFrame
        Output of :func:`normalise` (any window).
    start, end : date-like
        Window (inclusive dates). None = the first/last time in ``series``.
    every : {"month", "quarter", "year"}
        Expected sampling frequency (at least one sample each period).

    Returns
    -------
    pandas.DataFrame
        ``section, parameter, expected, observed, completeness, missing`` (``missing``:
        the periods without a value, ``;``-separated).
    """
    if series.empty:
        return pd.DataFrame(columns=["section", "parameter", "expected", "observed", "completeness", "missing"])
    start = pd.Timestamp(start) if start is not None else series["time"].min()
    end = pd.Timestamp(end) if end is not None else series["time"].max()
    freq = PERIODS[every] if every in PERIODS else None
    if freq is None:
        raise InputError(f"unknown sampling frequency {every!r}", hint=f"use one of {', '.join(PERIODS)}", key="every")
    expected = pd.period_range(start, end, freq=freq).astype(str)
    used = window(series, start, end)
    used = used[used["status"].isin(["valid", "below_dl"])]
    pairs = series[["section", "parameter"]].drop_duplicates()
    grid = pairs.merge(pd.DataFrame({"period": expected}), how="cross")
    seen = used.assign(period=period_labels(used["time"], every))[["section", "parameter", "period"]].drop_duplicates().assign(seen=True)
    grid = grid.merge(seen, how="left", on=["section", "parameter", "period"])
    grid["seen"] = grid["seen"].fillna(False).astype(bool)
    out = grid.groupby(["section", "parameter"], sort=True).agg(expected=("period", "size"), observed=("seen", "sum")).reset_index()
    missing = grid[~grid["seen"]].groupby(["section", "parameter"], sort=True)["period"].agg(";".join).rename("missing")
    out = out.merge(missing.reset_index(), how="left", on=["section", "parameter"])
    out["missing"] = out["missing"].fillna("")
    out["completeness"] = out["observed"] / out["expected"]
    return out[["section", "parameter", "expected", "observed", "completeness", "missing"]]
