"""``gep compensation AGREEMENT --monitoring SERIES``: payments of a horizontal agreement (load -> compute -> write).

:func:`load` reads the agreement (:func:`gep.monitoring.compensation.parse_agreement`), the
series and the standards; :func:`compute` evaluates the payments per period
(:func:`gep.monitoring.compensation.evaluate`); :func:`write` writes ``payments.csv``
(per period: score, tier, payer, payee, amounts in CNY and fen), ``terms.csv`` (per
period and parameter), ``baselines.csv`` (index formula), ``compensation.xlsx``,
``payments.png`` and the manifest.

With a ledger (:func:`run` ``booking``), the payments are booked as cash transfers
between the parties' accounts (:func:`gep.monitoring.booking.book`) after the
computation and before anything is written: a refused booking writes nothing, and the
manifest records the requests booked and the signed tree head (``booking``). Replay
recomputes the payments; it never books.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from gep.audit import manifest as mf
from gep.io import workbook
from gep.io.files import read_toml
from gep.jobs import monitoring as common
from gep.jobs.job import Written

KIND = mf.CompensationRecord.KIND


@dataclass(frozen=True)
class CompensationInputs:
    agreement_path: Path
    series_path: Path
    agreement: Any  # gep.monitoring.compensation.Agreement
    series: pd.DataFrame
    limits: pd.DataFrame
    standards: str
    sets: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CompensationResult:
    inputs: CompensationInputs
    payments: pd.DataFrame
    terms: pd.DataFrame
    baselines: pd.DataFrame
    booking: dict | None = None

    def document(self, folder: Path) -> dict:
        """The ``--json`` document."""
        ag, pay = self.inputs.agreement, self.payments
        return {"command": "compensation", "agreement": ag.id, "name": ag.name, "formula": ag.formula, "run_dir": folder.as_posix(),
                "payments": common.records(pay), "baselines": common.records(self.baselines),
                "total_to_upstream_cny": float(pay["net_to_upstream_cny"].clip(lower=0).sum()),
                "total_to_downstream_cny": float((-pay["net_to_upstream_cny"]).clip(lower=0).sum()),
                "booking": self.booking}


def load(agreement: Path, series: Path, standards: str = common.STANDARDS) -> CompensationInputs:
    """Read and check the agreement, the series and the standards' limits."""
    from gep.monitoring.compensation import parse_agreement

    ag = parse_agreement(read_toml(agreement, what="agreement"), str(agreement))
    return CompensationInputs(Path(agreement), Path(series), ag, common.read_series(series), common.limits(standards), standards,
                              {"standards": common.coefficients(standards)})


def compute(inputs: CompensationInputs, progress: Callable[[str], None] | None = None) -> CompensationResult:
    """The payments per period (no file read or written)."""
    from gep.monitoring.compensation import evaluate

    res = evaluate(inputs.series, inputs.agreement, inputs.limits)
    return CompensationResult(inputs, res["payments"], res["terms"], res["baselines"])


def book(result: CompensationResult, market: Any, owners: dict) -> CompensationResult:
    """Book the payments in the market's ledger as cash transfers (:func:`gep.monitoring.booking.book`)."""
    from gep.monitoring.booking import book as book_payments

    return replace(result, booking=book_payments(market, result.payments, owners))


def write(result: CompensationResult, out_dir: Path | None, command: str) -> Written[CompensationResult]:
    """Tables, workbook, chart and the manifest (with the booking, when the payments were booked)."""
    from gep.io.monitoring_report import payments_chart

    i, ag = result.inputs, result.inputs.agreement
    pay, terms, base = result.payments, result.terms, result.baselines
    files = {"agreement": i.agreement_path, "series": i.series_path}
    params = {"standards": i.standards}
    target = common.folder(out_dir, ag.id, "compensation", files, params)
    up, down = ag.parties["upstream"], ag.parties["downstream"]
    readme = pd.DataFrame([
        ("agreement", f"{ag.id}: {ag.name}"), ("formula", ag.formula), ("sections", ", ".join(ag.sections)),
        ("period", f"{ag.start.date()} to {ag.end.date()}, per {ag.length}"),
        ("upstream", f"{up['name']} (account {up['account']})"), ("downstream", f"{down['name']} (account {down['account']})"),
        ("parameters", ", ".join(f"{p} (w = {ag.weights[p]:g})" for p in ag.parameters)),
        ("score", {"index": f"P = k0 · Σ w_i C_i/C0_i, k0 = {ag.k0:g}", "class": "GB 3838-2002 class of the period (worst parameter)",
                   "exceedance": "reward − penalty [CNY] (exceedance steps × amount, classes better × reward)"}[ag.formula]),
        ("sign", "net_to_upstream_cny > 0: downstream pays upstream; < 0: upstream pays downstream"),
        ("detection limit", f"rule '{ag.dl_rule}'"), ("total to upstream", f"{pay['net_to_upstream_cny'].clip(lower=0).sum():,.2f} CNY"),
        ("total to downstream", f"{(-pay['net_to_upstream_cny']).clip(lower=0).sum():,.2f} CNY"),
    ], columns=["item", "value"])
    money = {c: workbook.CNY2 for c in ("uncapped_cny", "amount_cny", "net_to_upstream_cny", "penalty_cny", "reward_cny")}
    writers = {
        "payments.csv": common.csv_writer(pay), "terms.csv": common.csv_writer(terms),
        "compensation.xlsx": lambda p: workbook.write_workbook(p, [
            workbook.Sheet("README", readme, widths={"item": 20, "value": 110}),
            workbook.Sheet("payments", pay, formats={**money, "score": "0.0000"}),
            workbook.Sheet("terms", terms, formats={"conc": "0.0000", "term": "0.0000", "baseline": "0.0000", "penalty_cny": workbook.CNY2}),
        ] + ([workbook.Sheet("baselines", base, formats={"baseline": "0.0000"})] if len(base) else [])),
        "payments.png": lambda p: payments_chart(pay, p, f"{ag.id}: {up['name']} ⇄ {down['name']}"),
    }
    if len(base):
        writers["baselines.csv"] = common.csv_writer(base)
    results = {"payments": common.records(pay[["period", "score", "payer", "amount_cny", "net_to_upstream_cny"]]),
               "net_to_upstream_cny": float(pay["net_to_upstream_cny"].sum())}
    manifest = common.write(mf.CompensationRecord, target, command, files, params, writers, results, i.sets, booking=result.booking)
    return Written(result, target, manifest)


def run(agreement: Path, series: Path, standards: str = common.STANDARDS, out_dir: Path | None = None, command: str = KIND,
        progress: Callable[[str], None] | None = None, booking: tuple[Any, dict] | None = None) -> Written[CompensationResult]:
    """Load, compute, optionally book (``booking``: the market and the paying accounts' key pairs), and write.

    ``out_dir`` is checked before anything is computed or booked.
    """
    common.check_out(out_dir, KIND)
    result = compute(load(agreement, series, standards), progress)
    if booking is not None:
        result = book(result, *booking)
    return write(result, out_dir, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> mf.Manifest:
    """Recompute a recorded run's payments (its agreement and series) into ``out_dir``; never books.

    A booked run's payments are also checked against the ledger records it booked, through
    their certificates (:func:`gep.monitoring.booking.check`): a certificate that fails, or
    certifies another payer, payee or amount than the recomputed payment, fails the replay.
    """
    from gep.errors import GepError
    from gep.monitoring.booking import check

    rec = manifest.record
    written = run(rec.path("agreement", run_dir), rec.path("series", run_dir), rec.parameters.get("standards", common.STANDARDS), out_dir,
                  manifest.command or KIND)
    if rec.booking is not None:
        problems = check(rec.booking, written.result.payments)
        if problems:
            raise GepError(f"{len(problems)} booked ledger payment(s) do not match: " + "; ".join(problems))
    return written.manifest
