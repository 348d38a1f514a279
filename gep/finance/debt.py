"""A debt file: a bond, or a GEP-backed loan expressed as a bond, with its structure.

A debt file is a bond file (keys validated by
:func:`gep.finance.schedule.bond_from_dict`) or a loan file with a ``[loan]``
table (:func:`debt_from_dict`). Either may hold structure tables
(:data:`STRUCTURE_KEYS`): a debt-service reserve account and a cash sweep
(:mod:`gep.finance.waterfall`) and green-bond use-of-proceeds lines
(:mod:`gep.finance.green`). The formats are documented in ``docs/bonds.md``
with examples in ``scenarios/bonds/``; the files are read by the caller
(:mod:`gep.jobs.inputs`, :mod:`gep.jobs.bond_coverage`, :mod:`gep.jobs.bond_impact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gep.errors import InputError
from gep.finance.green import Catalogue, UseOfProceeds, use_of_proceeds_from_dict
from gep.finance.schedule import Bond, bond_from_dict
from gep.finance.waterfall import Waterfall, waterfall_from_dict

#: Tables of a bond or loan file that describe the debt's structure, not the instrument:
#: the waterfall (``[reserve]``, ``[sweep]``) and the green-bond use of proceeds.
STRUCTURE_KEYS = ("reserve", "sweep", "use_of_proceeds")

#: Keys of the ``[loan]`` table of a loan file (docs/bonds.md, "GEP-backed loans").
#: Statistics of a GEP distribution a loan can be sized on (``gep_statistic``, with a ``gep uncertainty`` manifest).
GEP_STATISTICS = ("p5", "p50", "p95", "mean")
LOAN_KEYS = ("principal", "lending_ratio", "gep_manifest", "gep_value", "gep_statistic", "rate", "frequency", "start_date",
             "term_years", "repayment", "grace_years", "day_count")


def split(data: dict) -> tuple[dict, dict]:
    """A bond or loan file's keys: ``(instrument keys, structure tables)`` (:data:`STRUCTURE_KEYS`)."""
    return ({k: v for k, v in data.items() if k not in STRUCTURE_KEYS},
            {k: v for k, v in data.items() if k in STRUCTURE_KEYS})


def _structure(structure: dict, face: float, source: str, catalogue: Catalogue | None) -> tuple[Waterfall, list[UseOfProceeds]]:
    return waterfall_from_dict(structure, source), use_of_proceeds_from_dict(structure, face, source, catalogue)


def bond_of_file(data: dict, source: str, catalogue: Catalogue | None = None) -> Bond:
    """The bond of a bond file, its structure tables checked too (``gep bond price`` and ``schedule``).

    Parameters
    ----------
    data : dict
        The parsed TOML of a bond file.
    source : str
        The file, for error messages.
    catalogue : gep.finance.green.Catalogue, optional
        The green-bond catalogue; needed when the file has ``[[use_of_proceeds]]`` lines.

    Raises
    ------
    gep.errors.InputError
        As :func:`gep.finance.schedule.bond_from_dict`, or a bad ``[reserve]``,
        ``[sweep]`` or ``[[use_of_proceeds]]`` entry (the message names the file and key).
    """
    data, structure = split(data)
    bond = bond_from_dict(data, source=source)
    _structure(structure, bond.face, source, catalogue)
    return bond


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
    waterfall : gep.finance.waterfall.Waterfall
        ``[reserve]`` and ``[sweep]`` (empty when the file has neither).
    use_of_proceeds : list of gep.finance.green.UseOfProceeds
        Green-bond allocations, checked against the 2021 catalogue.
    """

    bond: Bond
    loan: object = None
    references: list = field(default_factory=list)
    waterfall: Waterfall = field(default_factory=Waterfall)
    use_of_proceeds: list[UseOfProceeds] = field(default_factory=list)

    @property
    def libraries(self) -> tuple[str, ...]:
        """Libraries beyond gep's usual ones that the debt's analytics use (recorded with the run's
        environment): QuantLib when the payment dates follow a business-day calendar."""
        from gep.finance.calendar import LIBRARY

        return (LIBRARY,) if self.bond.calendar else ()


def debt_from_dict(data: dict, path: str | Path, refs_of: Any, catalogue: Catalogue | None = None) -> Debt:
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
    catalogue : gep.finance.green.Catalogue, optional
        The green-bond catalogue; needed when the file has ``[[use_of_proceeds]]`` lines.

    Returns
    -------
    Debt

    Raises
    ------
    gep.errors.InputError
        As :func:`bond_of_file`, or an invalid ``[loan]`` key.
    """
    import difflib

    from gep.finance import daycount as dc
    from gep.finance.loan import REPAYMENTS, Loan, loan_bond
    from gep.finance.schedule import FREQUENCIES, is_number, parse_date

    path = Path(path)
    source = path.name
    data, structure = split(data)
    if "loan" not in data:
        bond = bond_from_dict(data, source=str(path))
        wf, uses = _structure(structure, bond.face, str(path), catalogue)
        return Debt(bond, waterfall=wf, use_of_proceeds=uses)
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
    bond = loan_bond(loan, source=source)
    wf, uses = _structure(structure, bond.face, str(path), catalogue)
    return Debt(bond, loan, refs, wf, uses)
