"""What ``gep bond coverage`` repays: a bond, or a GEP-backed loan expressed as a bond.

A debt file is a bond file (keys validated by
:func:`gep.finance.schedule.bond_from_dict`) or a loan file with a ``[loan]``
table (:func:`debt_from_dict`). The formats are documented in ``docs/bonds.md``
with examples in ``scenarios/bonds/``; the files are read by the caller
(:mod:`gep.jobs.bond_coverage`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import InputError
from gep.finance.schedule import Bond, bond_from_dict

#: Keys of the ``[loan]`` table of a loan file (docs/bonds.md, "GEP-backed loans").
#: Statistics of a GEP distribution a loan can be sized on (``gep_statistic``, with a ``gep uncertainty`` manifest).
GEP_STATISTICS = ("p5", "p50", "p95", "mean")
LOAN_KEYS = ("principal", "lending_ratio", "gep_manifest", "gep_value", "gep_statistic", "rate", "frequency", "start_date",
             "term_years", "repayment", "grace_years", "day_count")


@dataclass
class Debt:
    """What ``gep bond coverage`` repays: a bond, or a loan expressed as a bond.

    Attributes
    ----------
    bond : gep.finance.schedule.Bond
    loan : gep.finance.loan.Loan or None
        The loan terms when the file has a ``[loan]`` table.
    references : list of dict
        Run manifests the loan was sized on (path relative to the file, SHA-256,
        checked output hashes).
    """

    bond: Bond
    loan: object = None
    references: list = field(default_factory=list)


def debt_from_dict(data: dict, path: str | Path, refs_of: Any) -> Debt:
    """A bond file, or a loan file (a ``[loan]`` table), validated for coverage.

    A loan file holds ``name``, ``description`` and a ``[loan]`` table: either
    ``principal`` [CNY] or ``lending_ratio`` with ``gep_manifest`` (a ``gep run``
    manifest; its ``account.csv`` is checked against the recorded SHA-256), plus
    ``rate``, ``frequency``, ``start_date``, ``term_years``, ``repayment``,
    ``grace_years`` and ``day_count``.

    Parameters
    ----------
    data : dict
        The parsed TOML.
    path : str or pathlib.Path
        The file (a loan's ``gep_manifest`` is relative to its folder).
    refs_of : gep.finance.revenue_file.References
        Reads the GEP of the run a loan is sized on.

    Returns
    -------
    Debt

    Raises
    ------
    gep.errors.InputError
        As :func:`gep.finance.schedule.bond_from_dict`, or an invalid ``[loan]`` key.
    """
    import difflib

    from gep.finance import daycount as dc
    from gep.finance.loan import REPAYMENTS, Loan, loan_bond
    from gep.finance.schedule import FREQUENCIES, is_number, parse_date

    path = Path(path)
    if "loan" not in data:
        return Debt(bond_from_dict(data, source=str(path)))
    source = path.name
    for key in data:
        if key not in ("name", "description", "loan"):
            raise InputError(f'key "{key}" cannot be combined with a [loan] table',
                             hint="a loan file holds name, description and [loan] only (or write a bond file)",
                             where=f"{source}, key {key}")
    t = data["loan"]
    if not isinstance(t, dict):
        raise InputError("loan must be a table", hint="write [loan]", where=f"{source}, key loan")
    for key in t:
        if key not in LOAN_KEYS:
            close = difflib.get_close_matches(key, LOAN_KEYS, n=1, cutoff=0.5)
            raise InputError(f'unknown key "{key}"', hint=(f'did you mean "{close[0]}"? ' if close else "")
                             + "valid keys: " + ", ".join(LOAN_KEYS), where=f"{source}, key loan.{key}")

    def where(key: str) -> str:
        return f"{source}, key loan.{key}"

    def num(key: str, lo: float, hi: float, hint: str, default=None, lo_open=False) -> float:
        if key not in t:
            if default is None:
                raise InputError(f'missing required key "loan.{key}"', hint=hint, where=where(key))
            return default
        v = t[key]
        if not is_number(v) or not (lo < v if lo_open else lo <= v) or not v <= hi:
            raise InputError(f"loan.{key} must be a number in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {v!r}",
                             hint=hint, where=where(key))
        return float(v)

    refs: list = []
    gep = ratio = None
    if ("principal" in t) == ("lending_ratio" in t):
        raise InputError("give exactly one of loan.principal or loan.lending_ratio",
                         hint="principal = 1.2e9 (CNY), or lending_ratio = 0.05 with gep_manifest",
                         where=where("lending_ratio"))
    if "principal" in t:
        principal = num("principal", 0.0, 1e15, "principal in CNY, e.g. 1.2e9", lo_open=True)
        if "gep_manifest" in t or "gep_value" in t:
            raise InputError("gep_manifest applies to lending_ratio only", hint="remove it, or size the loan "
                             "with lending_ratio", where=where("gep_manifest"))
    else:
        ratio = num("lending_ratio", 0.0, 1.0, "a fraction of annual GEP: published GEP-backed credit "
                    "lines ranged from 0.001 to 0.48", lo_open=True)
        if "gep_manifest" not in t:
            raise InputError("lending_ratio needs gep_manifest (the gep run whose GEP backs the loan)",
                             hint='add gep_manifest = "runs/<id>/manifest.json"', where=where("gep_manifest"))
        from gep.finance.revenue_file import _resolve

        mpath = _resolve(t["gep_manifest"], path.parent, source, "loan.gep_manifest", "run manifest")
        if refs_of.manifest_kind(mpath, where("gep_manifest")) == "gep uncertainty":  # sized on a percentile of GEP
            stat = t.get("gep_statistic", "p50")
            if stat not in GEP_STATISTICS:
                raise InputError(f"gep_statistic must be one of {', '.join(GEP_STATISTICS)}, got {stat!r}",
                                 hint='"p5" sizes the loan on GEP that 95 % of the samples reach', where=where("gep_statistic"))
            samples, year, ref = refs_of.gep_samples(mpath, where("gep_manifest"), path.parent)
            gep = float(np.mean(samples)) if stat == "mean" else float(np.percentile(samples, float(stat[1:])))
            ref = {**ref, "gep_statistic": stat, "gep_cny_per_yr": gep}
        else:
            if "gep_statistic" in t:
                raise InputError("gep_statistic applies to the manifest of a gep uncertainty run", hint="remove it",
                                 where=where("gep_statistic"))
            gep, year, ref = refs_of.gep_from_run(mpath, where("gep_manifest"), path.parent, t.get("gep_value", "current"))
        refs.append({"role": "loan GEP", **ref})
        principal = ratio * gep
    freq = t.get("frequency", 1)
    if isinstance(freq, bool) or freq not in FREQUENCIES:
        raise InputError(f"loan.frequency must be 1, 2 or 4, got {freq!r}", hint="instalments per year",
                         where=where("frequency"))
    if "start_date" not in t:
        raise InputError('missing required key "loan.start_date"', hint="drawdown date, e.g. 2025-01-15",
                         where=where("start_date"))
    repayment = t.get("repayment", "annuity")
    if repayment not in REPAYMENTS:
        close = difflib.get_close_matches(str(repayment), REPAYMENTS, n=1)
        raise InputError(f'unknown repayment "{repayment}"', hint=(f'did you mean "{close[0]}"? ' if close else "")
                         + "use " + ", ".join(REPAYMENTS), where=where("repayment"))
    loan = Loan(
        principal=principal,
        rate=num("rate", 0.0, 0.999, "annual interest rate as a decimal, e.g. 0.042"),
        frequency=int(freq),
        start_date=parse_date(t["start_date"], source, "loan.start_date"),
        term_years=num("term_years", 0.0, 100.0, "tenor in years, e.g. 10", lo_open=True),
        repayment=repayment,
        grace_years=num("grace_years", 0.0, 100.0, "interest-only years, e.g. 1", default=0.0),
        day_count=dc.normalize_day_count(t.get("day_count", dc.ACT_365F), where=where("day_count")),
        name=data.get("name", "") if isinstance(data.get("name", ""), str) else "",
        lending_ratio=ratio, gep=gep)
    return Debt(loan_bond(loan, source=source), loan, refs)
