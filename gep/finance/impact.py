"""Impact of a green bond: GEP change and credits attributable to it, per 10⁴ CNY of proceeds.

For each use-of-proceeds line ``ℓ`` (:mod:`gep.finance.green`) with allocation
``A_ℓ`` [CNY], attribution share ``s_ℓ = A_ℓ / I_ℓ`` (``I_ℓ`` the project's total
investment) and zones ``Z_ℓ``:

GEP change, for every later run ``r`` against the baseline run ``0``::

    ΔGEP_ℓ,r  = Σ_{z ∈ Z_ℓ} GEP_r(z) − Σ_{z ∈ Z_ℓ} GEP_0(z)          [CNY/yr]
    attributable_ℓ,r = s_ℓ · ΔGEP_ℓ,r
    per 10⁴ CNY      = attributable_ℓ,r / (A_ℓ / 10⁴)                [CNY/yr per 10⁴ CNY]

and the bond total ``Σ_ℓ attributable_ℓ,r / (Σ_ℓ A_ℓ / 10⁴)``.

Credits, per instrument: the amounts issued to (net of any buffer withheld)
and retired from the line's ledger accounts on or after the issue date,
times ``s_ℓ``, per 10⁴ CNY the same way [credit unit per 10⁴ CNY].

This is pro-rata attribution by financing share (ICMA 2022, *Handbook:
Harmonised Framework for Impact Reporting*, core principles: where a project
is co-financed, report the bond's pro-rata share of its impact).  The GEP
change is the whole change of the zones between the runs (a before/after
difference, not a counterfactual): what else changed in those zones is
attributed too; the report says so.

References
----------
International Capital Market Association (2022), *Handbook – Harmonised
Framework for Impact Reporting*, June 2022, core principles and
recommendations (pro-rata reporting of co-financed projects).
Ouyang, Z. et al. (2020), Using gross ecosystem product (GEP) to value nature
in decision making, *PNAS* 117(25): 14593–14601 (GEP as an annual flow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from gep.finance.green import UseOfProceeds

#: Proceeds unit of the intensities [CNY].
PER = 1e4


@dataclass(frozen=True)
class RunGEP:
    """GEP by zone of one ``gep run`` [CNY/yr]: ``label`` (run folder), ``year``, ``by_zone`` (zone → value)."""

    label: str
    year: int | None
    by_zone: Mapping[str, float]


def _zone_sum(run: RunGEP, zones: Sequence[str]) -> float:
    if not zones:
        return float(sum(run.by_zone.values()))
    return float(sum(run.by_zone.get(z, 0.0) for z in zones))


def gep_rows(lines: Sequence[UseOfProceeds], runs: Sequence[RunGEP]) -> pd.DataFrame:
    """Attributable GEP change of each line and of the bond, for every run after the first.

    Returns
    -------
    pandas.DataFrame
        Columns ``run, year, project, category, zones, gep_base_cny, gep_cny,
        gep_change_cny, attribution_share, attributable_cny, proceeds_cny,
        per_10k_cny`` (money CNY/yr; ``per_10k_cny`` CNY/yr per 10⁴ CNY of
        proceeds); one row per line and run, then the bond total (project
        ``ALL``) per run.
    """
    base = runs[0]
    rows = []
    for run in runs[1:]:
        for u in lines:
            b, v = _zone_sum(base, u.zones), _zone_sum(run, u.zones)
            rows.append({"run": run.label, "year": run.year, "project": u.project, "category": u.category,
                         "zones": " ".join(u.zones) or "all", "gep_base_cny": b, "gep_cny": v,
                         "gep_change_cny": v - b, "attribution_share": u.share,
                         "attributable_cny": u.share * (v - b), "proceeds_cny": u.amount})
        part = [r for r in rows if r["run"] == run.label]
        total = sum(r["attributable_cny"] for r in part)
        proceeds = sum(u.amount for u in lines)
        rows.append({"run": run.label, "year": run.year, "project": "ALL", "category": "", "zones": "",
                     "gep_base_cny": np.nan, "gep_cny": np.nan, "gep_change_cny": np.nan,
                     "attribution_share": np.nan, "attributable_cny": total, "proceeds_cny": proceeds})
    df = pd.DataFrame(rows)
    if not df.empty:
        df["per_10k_cny"] = df["attributable_cny"] / (df["proceeds_cny"] / PER)
    return df


@dataclass(frozen=True)
class CreditMove:
    """Credits issued to or retired from a ledger account: ``account``, ``instrument``, ``kind``
    (``issued`` or ``retired``), ``amount`` in display units, ``unit``, ledger ``seq``."""

    account: str
    instrument: str
    kind: str
    amount: float
    unit: str
    seq: int


def credit_rows(lines: Sequence[UseOfProceeds], moves: Sequence[CreditMove]) -> pd.DataFrame:
    """Credits issued and retired attributable to the bond, per line and instrument.

    Returns
    -------
    pandas.DataFrame
        Columns ``project, category, instrument, unit, kind, amount,
        attribution_share, attributable, proceeds_cny, per_10k_cny``
        (``per_10k_cny`` in credit units per 10⁴ CNY of proceeds).
    """
    rows = []
    for u in lines:
        mine = [m for m in moves if m.account in u.ledger_accounts]
        keys = sorted({(m.instrument, m.unit, m.kind) for m in mine})
        for instrument, unit, kind in keys:
            amount = float(sum(m.amount for m in mine if (m.instrument, m.unit, m.kind) == (instrument, unit, kind)))
            rows.append({"project": u.project, "category": u.category, "instrument": instrument, "unit": unit,
                         "kind": kind, "amount": amount, "attribution_share": u.share,
                         "attributable": u.share * amount, "proceeds_cny": u.amount,
                         "per_10k_cny": u.share * amount / (u.amount / PER)})
    return pd.DataFrame(rows, columns=["project", "category", "instrument", "unit", "kind", "amount",
                                       "attribution_share", "attributable", "proceeds_cny", "per_10k_cny"])


def overlapping_zones(lines: Sequence[UseOfProceeds]) -> list[tuple[str, str, list[str]]]:
    """Pairs of lines whose zones overlap (their GEP changes would be counted twice)."""
    out = []
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            za, zb = set(a.zones), set(b.zones)
            common = sorted(za & zb) if za and zb else sorted(za or zb) if (za or zb) else ["all"]
            if common:
                out.append((a.project, b.project, common))
    return out
