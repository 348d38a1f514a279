"""Revenue files (``gep bond coverage --revenue``): their keys validated into revenue streams.

A revenue file (TOML, keys in ``docs/bonds.md``) lists the streams that repay
a bond or loan.  Their volumes and GEP come from run manifests (``gep run``:
``account.csv``; ``gep capacity basin``: ``credits.csv``) or from the rights
ledger; credit prices from given drift and volatility or calibrated to a price
history (the ledger's transfer prices, or a CSV/JSON export of them).

:func:`revenue_from_dict` validates the parsed file and builds the streams; what
a stream names (run outputs, ledger balances and prices, price histories) it asks
of a :class:`References` object, which reads and checks those files
(:mod:`gep.jobs.references`: the SHA-256 of a run output must equal the one its
manifest recorded) and returns plain numbers with :class:`Reference` records for
the coverage manifest.  Relative paths are relative to the file that names them;
references keep them relative (no absolute path reaches a manifest).

The arithmetic is in :mod:`gep.finance.revenue`.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Protocol

from gep.errors import InputError
from gep.finance.revenue import (
    STREAM_KINDS,
    Calibration,
    CreditSales,
    FixedFee,
    GovernmentPurchase,
    PriceModel,
    calibrate_gbm,
)
from gep.finance.schedule import is_number, parse_date
from gep.numbers import finite_float

__all__ = [
    "Reference",
    "References",
    "RevenueSpec",
    "revenue_from_dict",
    "price_rows",
    "BEIJING",
    "portable_path",
]

#: China Standard Time (UTC+8): trade dates of the price history are Beijing dates.
BEIJING = timezone(timedelta(hours=8), "UTC+08:00")

TOP_KEYS = ("name", "description", "coverage", "stream")
COVERAGE_KEYS = ("discount_rate",)
COMMON_KEYS = ("name", "kind", "description", "start_date", "end_date", "growth")
KIND_KEYS = {
    "credit_sales": ("share", "volume", "price"),
    "government_purchase": ("manifest", "share", "basis", "base_manifest", "value", "volatility"),
    "fixed_fee": ("amount", "volatility"),
    "cost": ("amount", "volatility"),
}
VOLUME_KEYS = ("manifest", "pollutant", "catchments", "vintage", "zones", "ecosystems",
               "ledger", "account", "instrument", "over_years", "amount", "unit")
PRICE_KEYS = ("initial", "drift", "volatility", "history", "ledger", "instrument", "trades", "window_start", "window_end")
#: Which ledger prices a price process calibrates on (``trades`` key): see :meth:`gep.ledger.ledger.Ledger.prices`.
PRICE_SOURCES = ("all", "market", "transfers")


@dataclass(frozen=True)
class Reference:
    """A file (or ledger) a coverage run read, with its hashes.

    Attributes
    ----------
    role : str
        What it was used for, e.g. ``stream "carbon credits" volume``.
    record : dict
        JSON-ready: ``path`` (relative), ``sha256``, and for a run manifest its
        ``kind`` and ``outputs`` (name → SHA-256, each checked against the file);
        for a ledger its tree head and the SHA-256 of the records used.
    """

    role: str
    record: Mapping[str, Any]

    def as_dict(self) -> dict:
        return {"role": self.role, **dict(self.record)}


class References(Protocol):
    """What a revenue or loan file may name, read and checked by the caller (:mod:`gep.jobs.references`).

    Each method returns plain numbers and the JSON-ready reference record kept in
    the coverage manifest; ``where`` (file and key) names the reference in errors,
    ``folder`` is the folder references are made relative to.
    """

    def manifest_kind(self, path: Path, where: str) -> str:
        """The kind of the run manifest at ``path`` (``gep run``, ``gep capacity basin``)."""

    def gep_from_run(self, path: Path, where: str, folder: Path, value: str = "current") -> tuple[float, int | None, dict]:
        """Annual GEP of a ``gep run`` [CNY/yr], its accounting year and the reference record."""

    def gep_samples(self, path: Path, where: str, folder: Path) -> tuple[Any, int | None, dict]:
        """GEP of every sample of a ``gep uncertainty`` run [CNY/yr] (an array), its year and the reference record."""

    def carbon_from_run(self, path: Path, where: str, folder: Path, zones: list | None, ecosystems: list | None) -> tuple[float, dict]:
        """Carbon sequestration of a ``gep run`` [t CO2/yr] and the reference record."""

    def capacity_from_basin(self, path: Path, where: str, folder: Path, pollutant: str, catchments: list | None,
                            vintage: int | None) -> tuple[float, str, dict]:
        """Issuable capacity credits of a basin run [t/yr], the canonical pollutant and the reference record."""

    def ledger_balance(self, ledger: Any, folder: Path, source: str, key: str, account: str, instrument: str) -> tuple[int, dict]:
        """Balance [base units] of ``account`` in ``instrument`` and the reference record (tree head, records hash)."""

    def ledger_prices(self, ledger: Any, folder: Path, source: str, key: str, instrument: str, trades: str = "all") -> tuple[list[dict], dict]:
        """The price records of ``instrument`` (``trades``: one of :data:`PRICE_SOURCES`) and the reference record."""

    def price_history(self, path: Path, where: str) -> tuple[list[dict], str]:
        """The rows of a price-history file (CSV or JSON) and its SHA-256."""


@dataclass
class RevenueSpec:
    """A validated revenue file.

    Attributes
    ----------
    path : Path
    raw : dict
        The parsed TOML.
    name : str
    streams : list
        :class:`~gep.finance.revenue.CreditSales`, ``GovernmentPurchase``, ``FixedFee``.
    discount_rate : float, optional
        ``[coverage] discount_rate`` [1/yr].
    references : list of Reference
    """

    path: Path
    raw: dict
    name: str
    streams: list
    discount_rate: float | None = None
    references: list[Reference] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def _where(source: str, key: str) -> str:
    return f"{source}, key {key}"


def _check_keys(table: Any, allowed: tuple[str, ...], source: str, prefix: str) -> dict:
    if not isinstance(table, dict):
        raise InputError(f"{prefix or 'file'} must be a table", hint="see docs/bonds.md, \"Revenue file\"",
                         where=_where(source, prefix or "(top level)"))
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            hint = (f'did you mean "{close[0]}"? ' if close else "") + "valid keys: " + ", ".join(allowed)
            raise InputError(f'unknown key "{key}"', hint=hint, where=_where(source, f"{prefix}{key}"))
    return table


def _number(table: Mapping, key: str, source: str, prefix: str, *, default: Any = None, lo: float | None = None,
            hi: float | None = None, lo_open: bool = False, hint: str = "") -> float | None:
    if key not in table:
        return default
    v = table[key]
    where = _where(source, prefix + key)
    if not is_number(v):
        raise InputError(f"{key} must be a number, got {v!r}", hint=hint or "write a plain number", where=where)
    try:
        v = finite_float(v, key)
    except InputError as exc:
        raise InputError(exc.message, hint=hint or "write a plain number", where=where) from None
    if lo is not None and (v < lo or (lo_open and v == lo)):
        op = ">" if lo_open else "≥"
        raise InputError(f"{key} must be {op} {lo:g}, got {v:g}", hint=hint or "check the value", where=where)
    if hi is not None and v > hi:
        raise InputError(f"{key} must be ≤ {hi:g}, got {v:g}", hint=hint or "check the value", where=where)
    return v


def _text(table: Mapping, key: str, source: str, prefix: str, default: str | None = None) -> str | None:
    if key not in table:
        return default
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise InputError(f"{key} must be a non-empty string, got {v!r}", hint=f'write {key} = "..."',
                         where=_where(source, prefix + key))
    return v


def _list(table: Mapping, key: str, source: str, prefix: str) -> list | None:
    """An optional list of ids (ints or strings), e.g. ``catchments = [1, 4]``."""
    if key not in table:
        return None
    v = table[key]
    if not isinstance(v, list) or not v or not all(isinstance(x, (int, str)) and not isinstance(x, bool) for x in v):
        raise InputError(f"{key} must be a non-empty list of ids, got {v!r}", hint=f"write e.g. {key} = [1, 2]",
                         where=_where(source, prefix + key))
    return v


def _date(table: Mapping, key: str, source: str, prefix: str) -> date | None:
    return None if key not in table else parse_date(table[key], source, prefix + key)


def portable_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, '/'-separated, for a manifest.

    When the relative path would climb up to the file-system root (and so spell
    out an absolute location), only the file name is kept: manifests hold no
    absolute paths, and the recorded SHA-256 identifies the file.
    """
    start = Path(folder).resolve()
    rel = Path(os.path.relpath(Path(path).resolve(), start))
    ups = next((i for i, part in enumerate(rel.parts) if part != ".."), len(rel.parts))
    if ups >= len(start.parts) - 1:
        return Path(path).name
    return rel.as_posix()


_rel = portable_path


def _resolve(value: Any, folder: Path, source: str, key: str, what: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{key} must be a file path, got {value!r}", hint="write a path relative to the revenue file",
                         where=_where(source, key))
    p = Path(value)
    p = p if p.is_absolute() else folder / p
    if not p.exists():
        raise InputError(f"{what} not found: {value}", hint="paths are relative to the file that names them",
                         where=_where(source, key))
    return p


# --------------------------------------------------------------------------- ledger and price histories


def _beijing_day(text: Any, where: str) -> date:
    """Trade date in Beijing time of an ISO 8601 date or time (naive times are Beijing time)."""
    if isinstance(text, datetime):
        t = text
    elif isinstance(text, date):
        return text
    else:
        s = str(text).strip()
        try:
            if len(s) == 10:
                return date.fromisoformat(s)
            t = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"cannot read {text!r} as a date or time", hint="write ISO 8601, e.g. 2025-03-14 or "
                             "2025-03-14T09:30:00Z", where=where) from None
    return (t.astimezone(BEIJING) if t.tzinfo else t).date()


def price_rows(rows: list[dict], where: str, records: str = "price record") -> tuple[list[date], list[float], list[float] | None]:
    """Beijing dates, prices [CNY/unit] and amounts (None when any is missing) of price records; ``records`` names them in errors."""
    days, prices, amounts = [], [], []
    for i, r in enumerate(rows):
        when = r.get("time", r.get("date"))
        price = r.get("price_cny_per_unit", r.get("price"))
        if when is None or price is None:
            raise InputError(f"{records} {i + 1} lacks time/date or price_cny_per_unit",
                             hint="columns: time (or date), price_cny_per_unit, optional amount", where=where)
        days.append(_beijing_day(when, where))
        try:
            prices.append(finite_float(price, "price"))
        except InputError as exc:
            raise InputError(f"{records} {i + 1}: {exc.message}", hint="prices are CNY per unit", where=where) from None
        amounts.append(r.get("amount"))
    if any(a is None or (isinstance(a, float) and math.isnan(a)) for a in amounts):
        return days, prices, None
    try:
        return days, prices, [finite_float(a, "amount") for a in amounts]
    except InputError as exc:
        raise InputError(f"amount column: {exc.message}", hint="amounts are numbers (weights of the VWAP)", where=where) from None


# --------------------------------------------------------------------------- streams


def _volume(table: Any, spec: "_Ctx", prefix: str) -> tuple[float, str, str, dict]:
    """(volume [unit/yr], unit, credit kind 'carbon'/'capacity'/'', source record)."""
    source, folder = spec.source, spec.folder
    t = _check_keys(table, VOLUME_KEYS, source, prefix)
    given = [k for k in ("manifest", "ledger", "amount") if k in t]
    if len(given) != 1:
        raise InputError("give exactly one of manifest, ledger or amount" + (f" (got {', '.join(given)})" if given else ""),
                         hint="volume from a gep run / gep capacity basin manifest, from a ledger balance, or "
                              "a given amount per year", where=_where(source, prefix.rstrip(".")))
    where = _where(source, prefix + given[0])
    if "amount" in t:
        amount = _number(t, "amount", source, prefix, lo=0.0, hint="annual volume, e.g. amount = 2500 (t/yr)")
        unit = _text(t, "unit", source, prefix, "unit")
        return amount, unit, "", {"given": amount, "unit": unit}
    if "manifest" in t:
        path = _resolve(t["manifest"], folder, source, prefix + "manifest", "run manifest")
        kind = spec.refs_of.manifest_kind(path, where)
        if kind == "gep capacity basin":
            pol = _text(t, "pollutant", source, prefix)
            if pol is None:
                raise InputError("a capacity run needs the pollutant whose credits are sold",
                                 hint='add pollutant = "COD" (or NH3-N, TP, TN)', where=_where(source, prefix + "pollutant"))
            vintage = t.get("vintage")
            if vintage is not None and (isinstance(vintage, bool) or not isinstance(vintage, int)):
                raise InputError(f"vintage must be a year, got {vintage!r}", hint="e.g. vintage = 2024",
                                 where=_where(source, prefix + "vintage"))
            volume, pol, ref = spec.refs_of.capacity_from_basin(path, where, folder, pol, _list(t, "catchments", source, prefix), vintage)
            spec.refs.append(Reference(f"{spec.role} volume", ref))
            return volume, f"t/yr {pol}", "capacity:" + pol, {"manifest": ref["path"], "kind": kind, "volume": volume}
        if kind == "gep run":
            volume, ref = spec.refs_of.carbon_from_run(path, where, folder, _list(t, "zones", source, prefix),
                                                       _list(t, "ecosystems", source, prefix))
            spec.refs.append(Reference(f"{spec.role} volume", ref))
            return volume, "tCO2e", "carbon", {"manifest": ref["path"], "kind": kind, "volume": volume}
        raise InputError(f'{Path(path).name} is a "{kind}" manifest', hint="give the manifest of a gep run "
                         "(carbon credits) or of a gep capacity basin run (capacity credits)", where=where)
    # ledger balance
    for key in ("account", "instrument", "over_years"):
        if key not in t:
            raise InputError(f"a ledger volume needs {key}", hint="ledger = \"ledger.db\", account = \"...\", "
                             "instrument = \"carbon/<project>/<vintage>\", over_years = 5",
                             where=_where(source, prefix + key))
    years = _number(t, "over_years", source, prefix, lo=0.0, lo_open=True, hint="years over which the balance is sold")
    from gep.ledger.model import Instrument

    ins = Instrument.parse(t["instrument"])
    base, ref = spec.refs_of.ledger_balance(t["ledger"], folder, source, prefix + "ledger", t["account"], ins.id)
    shown = ref["ledger"]
    balance = base / ins.per_display
    if balance <= 0:
        raise InputError(f"account {t['account']!r} holds no {ins.id}", hint="check the account and instrument "
                         "(gep ledger balance)", where=where)
    spec.refs.append(Reference(f"{spec.role} volume", ref))
    kind = "carbon" if ins.kind == "carbon" else f"capacity:{ins.get('pollutant')}"
    unit = ins.display_unit if ins.kind == "carbon" else f"t/yr {ins.get('pollutant')}"
    return balance / years, unit, kind, {"ledger": shown, "balance": balance, "over_years": years}


def _price(table: Any, spec: "_Ctx", prefix: str, volume_kind: str) -> PriceModel:
    source, folder = spec.source, spec.folder
    t = _check_keys(table, PRICE_KEYS, source, prefix)
    calib: Calibration | None = None
    if "history" in t and "ledger" in t:
        raise InputError("give history or ledger, not both", hint="one price history per stream",
                         where=_where(source, prefix + "ledger"))
    window = (_date(t, "window_start", source, prefix), _date(t, "window_end", source, prefix))
    if "history" in t:
        path = _resolve(t["history"], folder, source, prefix + "history", "price history")
        where = _where(source, prefix + "history")
        rows, digest = spec.refs_of.price_history(path, where)
        days, prices, amounts = price_rows(rows, where, f"{path.name} record")
        rel = _rel(path, folder)
        calib = calibrate_gbm(days, prices, amounts, window_start=window[0], window_end=window[1], source=rel)
        spec.refs.append(Reference(f"{spec.role} price history", {"path": rel, "sha256": digest}))
    elif "ledger" in t:
        if "instrument" not in t:
            raise InputError("a ledger price history needs the instrument", hint='instrument = "carbon/<project>/<vintage>"',
                             where=_where(source, prefix + "instrument"))
        from gep.ledger.model import Instrument

        ins = Instrument.parse(t["instrument"])
        if ins.kind not in ("capacity", "carbon"):
            raise InputError(f"{ins.id} is not a capacity or carbon credit", hint="credit sales are priced by capacity or carbon instruments",
                             where=_where(source, prefix + "instrument"))
        trades = t.get("trades", "all")
        if trades not in PRICE_SOURCES:
            raise InputError(f"trades = {trades!r} is not one of {', '.join(PRICE_SOURCES)}",
                             hint='"market": settled market trades only; "transfers": prices stated on transfers; "all": both',
                             where=_where(source, prefix + "trades"))
        kind = "carbon" if ins.kind == "carbon" else f"capacity:{ins.get('pollutant')}"
        if volume_kind and kind.split(":")[0] != volume_kind.split(":")[0] or (
                volume_kind.startswith("capacity:") and kind != volume_kind):
            raise InputError(f"the price of {ins.id} ({kind}) cannot price a volume of {volume_kind} credits",
                             hint="use the instrument of the credits being sold", where=_where(source, prefix + "instrument"))
        rows, ref = spec.refs_of.ledger_prices(t["ledger"], folder, source, prefix + "ledger", ins.id, trades)
        where = _where(source, prefix + "ledger")
        days, prices, amounts = price_rows(rows, where, "ledger price record")
        calib = calibrate_gbm(days, prices, amounts, window_start=window[0], window_end=window[1],
                              source=f"ledger {ref['ledger']} {ins.id}")
        spec.refs.append(Reference(f"{spec.role} price history", ref))
    elif "trades" in t:
        raise InputError("trades selects ledger prices", hint='give ledger = "ledger.db" and instrument', where=_where(source, prefix + "trades"))
    elif window[0] or window[1]:
        raise InputError("window_start/window_end need a price history", hint="add history = \"prices.csv\" or a ledger",
                         where=_where(source, prefix + "window_start"))
    given = tuple(k for k in ("initial", "drift", "volatility") if k in t)
    if calib is None and len(given) < 3:
        missing = [k for k in ("initial", "drift", "volatility") if k not in t]
        raise InputError(f"price needs {', '.join(missing)} (or a price history to calibrate them)",
                         hint="e.g. initial = 71.6, drift = 0.03, volatility = 0.25; or history = \"prices.csv\"",
                         where=_where(source, prefix + missing[0]))
    initial = _number(t, "initial", source, prefix, lo=0.0, lo_open=True, hint="price at the start [CNY per unit]")
    drift = _number(t, "drift", source, prefix, lo=-1.0, hi=1.0, hint="annual drift as a decimal, e.g. 0.03")
    vol = _number(t, "volatility", source, prefix, lo=0.0, hi=5.0, hint="annual volatility as a decimal, e.g. 0.25")
    return PriceModel(
        initial=initial if initial is not None else calib.last_price,
        drift=drift if drift is not None else calib.drift,
        volatility=vol if vol is not None else calib.volatility,
        calibration=calib, given=given)


@dataclass
class _Ctx:
    source: str
    folder: Path
    role: str
    refs: list
    refs_of: References


def _stream(table: Any, i: int, source: str, folder: Path, refs: list, refs_of: References) -> Any:
    prefix = f"stream[{i}]."
    if not isinstance(table, dict):
        raise InputError(f"stream[{i}] must be a table", hint="write [[stream]] tables", where=_where(source, f"stream[{i}]"))
    kind = table.get("kind")
    if kind not in STREAM_KINDS:
        close = difflib.get_close_matches(str(kind), STREAM_KINDS, n=1)
        raise InputError(f"kind must be one of {', '.join(STREAM_KINDS)}, got {kind!r}",
                         hint=(f'did you mean "{close[0]}"? ' if close else "") + 'e.g. kind = "credit_sales"',
                         where=_where(source, prefix + "kind"))
    _check_keys(table, COMMON_KEYS + KIND_KEYS[kind], source, prefix)
    name = _text(table, "name", source, prefix)
    if name is None:
        raise InputError("missing required key \"name\"", hint='add name = "carbon credit sales"',
                         where=_where(source, prefix + "name"))
    role = f'stream "{name}"'
    ctx = _Ctx(source, folder, role, refs, refs_of)
    growth = _number(table, "growth", source, prefix, default=0.0, lo=-1.0, lo_open=True, hi=1.0,
                     hint="annual compound growth as a decimal, e.g. 0.03")
    active = dict(active_from=_date(table, "start_date", source, prefix),
                  active_to=_date(table, "end_date", source, prefix))
    if active["active_from"] and active["active_to"] and active["active_to"] < active["active_from"]:
        raise InputError("end_date is before start_date", hint="check the two dates", where=_where(source, prefix + "end_date"))
    vol_hint = "annual volatility as a decimal, e.g. 0.1 (0 = deterministic)"
    if kind == "credit_sales":
        for key in ("volume", "price"):
            if key not in table:
                raise InputError(f"missing [stream.{key}] table", hint="see docs/bonds.md, \"credit_sales\"",
                                 where=_where(source, prefix + key))
        share = _number(table, "share", source, prefix, default=1.0, lo=0.0, lo_open=True, hi=1.0,
                        hint="share of the volume sold, in (0, 1]")
        volume, unit, vkind, vsource = _volume(table["volume"], ctx, prefix + "volume.")
        price = _price(table["price"], ctx, prefix + "price.", vkind)
        return CreditSales(name, volume, unit, price, share, growth, source=vsource, **active)
    if kind == "government_purchase":
        if "manifest" not in table or "share" not in table:
            key = "manifest" if "manifest" not in table else "share"
            raise InputError(f'missing required key "{key}"', hint="manifest = \"runs/<id>/manifest.json\" (a gep run), "
                             "share = 0.01", where=_where(source, prefix + key))
        share = _number(table, "share", source, prefix, lo=0.0, lo_open=True, hi=1.0, hint="share of GEP paid, in (0, 1]")
        basis = _text(table, "basis", source, prefix, "level")
        if basis not in ("level", "increase"):
            raise InputError(f'basis must be "level" or "increase", got {basis!r}',
                             hint='"level": share of GEP; "increase": share of GEP above base_manifest\'s',
                             where=_where(source, prefix + "basis"))
        value = _text(table, "value", source, prefix, "current")
        where = _where(source, prefix + "manifest")
        path = _resolve(table["manifest"], folder, source, prefix + "manifest", "run manifest")
        samples = None
        if refs_of.manifest_kind(path, where) == "gep uncertainty":  # a GEP distribution: each path draws its GEP
            if value != "current":
                raise InputError('an uncertainty run gives GEP at current prices only', hint='remove value or write value = "current"',
                                 where=_where(source, prefix + "value"))
            samples, year, ref = refs_of.gep_samples(path, where, folder)
            gep = float(sum(samples) / len(samples))
        else:
            gep, year, ref = refs_of.gep_from_run(path, where, folder, value)
        refs.append(Reference(f"{role} GEP", ref))
        base = None
        src = {"manifest": ref["path"], "gep_cny_per_yr": gep, "year": year, "value": value}
        if samples is not None:
            src["distribution"] = {"kind": "gep uncertainty", "samples": len(samples), "gep_cny_per_yr": "mean of the samples; each path draws one"}
        if basis == "increase":
            if "base_manifest" not in table:
                raise InputError('basis = "increase" needs base_manifest (the reference GEP run)',
                                 hint='add base_manifest = "runs/<base-year run>/manifest.json"',
                                 where=_where(source, prefix + "base_manifest"))
            bpath = _resolve(table["base_manifest"], folder, source, prefix + "base_manifest", "run manifest")
            base, byear, bref = refs_of.gep_from_run(bpath, _where(source, prefix + "base_manifest"), folder, value)
            refs.append(Reference(f"{role} base GEP", bref))
            src.update(base_manifest=bref["path"], base_gep_cny_per_yr=base, base_year=byear)
        elif "base_manifest" in table:
            raise InputError("base_manifest applies to basis = \"increase\" only", hint="remove it or set basis",
                             where=_where(source, prefix + "base_manifest"))
        vol = _number(table, "volatility", source, prefix, default=0.0, lo=0.0, hi=5.0, hint=vol_hint)
        return GovernmentPurchase(name, gep, share, basis, base, growth, vol, source=src, gep_samples=samples, **active)
    if "amount" not in table:
        raise InputError('missing required key "amount"', hint="annual amount in CNY, e.g. amount = 3_000_000",
                         where=_where(source, prefix + "amount"))
    amount = _number(table, "amount", source, prefix, lo=0.0, hint="annual amount in CNY, ≥ 0")
    vol = _number(table, "volatility", source, prefix, default=0.0, lo=0.0, hi=5.0, hint=vol_hint)
    return FixedFee(name, amount, growth, vol, 1 if kind == "fixed_fee" else -1, source={"given": amount}, **active)


def revenue_from_dict(raw: dict, path: str | Path, refs_of: References) -> RevenueSpec:
    """Validate a parsed revenue file and build its streams, asking ``refs_of`` for what it references.

    Parameters
    ----------
    raw : dict
        The parsed TOML (keys: ``docs/bonds.md``, "Revenue file").
    path : str or Path
        The revenue file (relative paths are relative to its folder).
    refs_of : References
        Reads and checks the run outputs, ledger records and price histories the file names.

    Returns
    -------
    RevenueSpec

    Raises
    ------
    gep.errors.InputError
        A missing, unknown or invalid key, a missing referenced file, a run
        output whose SHA-256 differs from its manifest, or a price history too
        short to calibrate; the message names the file and key.
    """
    path = Path(path)
    source = path.name
    folder = path.parent
    _check_keys(raw, TOP_KEYS, source, "")
    name = _text(raw, "name", source, "", path.stem)
    cov = _check_keys(raw.get("coverage", {}), COVERAGE_KEYS, source, "coverage.")
    rate = _number(cov, "discount_rate", source, "coverage.", lo=-0.5, hi=1.0, hint="decimal, e.g. 0.035")
    streams_raw = raw.get("stream")
    if not isinstance(streams_raw, list) or not streams_raw:
        raise InputError("no revenue streams", hint="add one or more [[stream]] tables (docs/bonds.md)",
                         where=_where(source, "stream"))
    refs: list[Reference] = []
    streams = [_stream(s, i, source, folder, refs, refs_of) for i, s in enumerate(streams_raw)]
    names = [s.name for s in streams]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f'stream name "{dup[0]}" is used twice', hint="give every stream its own name",
                         where=_where(source, "stream"))
    return RevenueSpec(path, raw, name, streams, rate, refs)
