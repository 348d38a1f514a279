"""``gep monitoring``, ``gep compensation`` and ``gep assess`` (thin: parsing and printing only).

Commands
--------
``gep monitoring compliance SERIES``   GB 3838-2002 class per section and period, gaps, tables, charts
                                       (:mod:`gep.jobs.monitoring_compliance`);
``gep monitoring calibrate FILE.toml`` fit decay rates and export-coefficient multipliers of a basin
                                       (:mod:`gep.jobs.monitoring_calibrate`);
``gep compensation AGREEMENT.toml --monitoring SERIES``  payments of a horizontal agreement, optionally
                                       booked in the ledger as cash transfers (:mod:`gep.jobs.compensation`);
``gep assess TARGETS.toml --runs RUN …`` township scores, ranking, report and GEP-growth payments
                                       (:mod:`gep.jobs.assess`).

:data:`app` is the ``monitoring`` group and :data:`top` holds the two top-level commands;
both are mounted by :mod:`gep.cli.app`. Every command writes a run folder with a manifest
(``gep replay`` re-runs it); ``--json`` prints one JSON document on stdout. Errors end in
the shell's one line (:mod:`gep.cli.shell`). Options and formulas: ``docs/monitoring.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from gep.cli.ledger import DbOpt, HeadKeyOpt, load_key, open_ledger
from gep.cli.shell import App, Table, emit, err, out, say
from gep.errors import InputError

app = App(name="monitoring", help="Water-quality monitoring: GB 3838-2002 compliance and basin-model calibration.")
top = App()

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout instead of the tables.")
OutOpt = typer.Option(None, "--out", help="Output folder (default runs/<name>-<command>-<hash>/).")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(v) for v in r])
    out.print(t)


def _fmt(v: object, spec: str = ".3f") -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else format(v, spec) if isinstance(v, (int, float)) else str(v)


@app.command("compliance")
def compliance_cmd(
    series: Path = typer.Argument(..., help="Monitoring series, CSV or Parquet: section, time, parameter, value, unit[, flag, detection_limit]."),
    sections: Optional[Path] = typer.Option(None, "--sections", help="Section table (CSV): section[, name, water_body, target_class, reach, zone]. Default: rivers, target class III."),
    period: str = typer.Option("year", "--period", help="Assessment period: year, quarter or month."),
    start: Optional[str] = typer.Option(None, "--from", help="First day of the window (YYYY-MM-DD, inclusive)."),
    end: Optional[str] = typer.Option(None, "--to", help="Last day of the window (YYYY-MM-DD, inclusive)."),
    dl_rule: str = typer.Option("half", "--dl-rule", help="Value used below the detection limit: half (DL/2, 环办监测函〔2020〕82号), zero or dl."),
    every: str = typer.Option("month", "--every", help="Expected sampling frequency for the gap report: month, quarter or year."),
    include: Optional[List[str]] = typer.Option(None, "--include", help="Evaluate TN for the section class too (repeatable; the national method leaves TN out)."),
    section: Optional[List[str]] = typer.Option(None, "--section", help="Only this section (repeatable); it must have data in the window."),
    parameter: Optional[List[str]] = typer.Option(None, "--parameter", help="Only this parameter (repeatable); it must have data in the window."),
    standards: str = typer.Option("gb3838-2002", "--standards", help="Standards coefficient set."),
    out_dir: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """GB 3838-2002 class, exceedance and pollution index per section and period; gaps; tables, charts and a manifest."""
    from gep.jobs import monitoring_compliance as job

    options = job.Options(period=period, start=start, end=end, dl_rule=dl_rule, every=every, include=tuple(include or ()),
                          sections=tuple(section or ()), parameters=tuple(parameter or ()), standards=standards)
    w = job.run(series, sections, options, out_dir, f"gep monitoring compliance {series.name}")
    if as_json:
        emit(w.result.document(w.folder))
        return
    _table(f"GB 3838-2002 compliance ({period}, below-DL rule {dl_rule})", ["section", "period", "class", "target", "met", "worst", "exceeding", "P index"],
           [[r.section, r.period, r.class_name, r.target_class, "yes" if r.meets_target else "NO", r.worst_parameters, r.exceeding, _fmt(r.pollution_index)]
            for r in w.result.summary.itertuples()])
    low = w.result.gaps[w.result.gaps["completeness"] < 1]
    if len(low):
        say(f"gaps: {len(low)} section/parameter series miss sampling {every}s (gaps.csv)")
    say(f"outputs: {w.folder.as_posix()}")


@app.command("calibrate")
def calibrate_cmd(
    calibration: Path = typer.Argument(..., help="Calibration TOML: \\[calibration] basin, monitoring, sections (with a reach column); \\[fit]; \\[bounds]."),
    out_dir: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Fit decay rates and export-coefficient multipliers of a basin to the monitoring, with standard errors and intervals.

    Use the result in a capacity scenario with \\[calibration] fit = "THIS.toml" (re-fitted each run)
    or run = "runs/<id>/manifest.json" (this recorded run); the capacity manifest records the values.
    """
    from gep.jobs import monitoring_calibrate as job

    w = job.run(calibration, out_dir, f"gep monitoring calibrate {calibration.name}", progress=None if as_json else lambda m: err.print(m, highlight=False))
    doc = w.result.document(w.folder)
    if as_json:
        emit(doc)
        return
    p, st = w.result.parameters, w.result.stats
    has_profile = p["profile_low"].notna().any()
    cols = ["parameter", "prior", "estimate", "unit", "SE", f"{st['level']:.0%} (Wald)"] + ([f"{st['level']:.0%} (profile)"] if has_profile else []) + ["n"]
    _table(f"calibration {doc['name']}: n = {st['n']}, p = {st['p']}, s = {st['s']:.3g} ({st['residuals']} residuals)", cols,
           [[r.parameter, _fmt(r.prior, ".4g"), _fmt(r.estimate, ".4g"), r.unit, _fmt(r.se, ".3g"), f"{r.ci_low:.4g} – {r.ci_high:.4g}"]
            + ([f"{r.profile_low:.4g} – {r.profile_high:.4g}"] if has_profile else []) + [r.n_obs] for r in p.itertuples()])
    if not st["identifiable"]:
        err.print("warning: the parameters are not all identifiable from these data (rank-deficient Jacobian): standard errors are not reported", highlight=False)
    if p["at_bound"].any():
        err.print(f"warning: at a bound: {', '.join(p.loc[p['at_bound'], 'parameter'])} (widen [bounds] or check the data)", highlight=False)
    say(f"outputs: {w.folder.as_posix()}")


def _owners(pairs: list[str]) -> dict:
    """``{account: key pair}`` from ``ACCOUNT=KEYFILE`` texts."""
    owners = {}
    for text in pairs:
        account, sep, path = text.partition("=")
        if not sep or not account.strip() or not path.strip():
            raise InputError(f"{text!r} is not ACCOUNT=KEYFILE", hint="e.g. --key anhui=keys/anhui.key", key="key")
        owners[account.strip()] = load_key(Path(path.strip()))
    return owners


@top.command("compensation")
def compensation_cmd(
    agreement: Path = typer.Argument(..., help="Agreement TOML: parties, sections, parameters, baseline, formula, payment tiers, caps, period."),
    monitoring: Path = typer.Option(..., "--monitoring", help="Monitoring series (CSV or Parquet) with the agreement's sections and parameters."),
    standards: str = typer.Option("gb3838-2002", "--standards", help="Standards coefficient set (class and exceedance formulas)."),
    out_dir: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
    book: bool = typer.Option(False, "--book", help="Book the payments in the ledger as cash (cash/CNY) transfers between the parties' accounts, in one linked transaction."),
    db: Optional[str] = DbOpt,
    head_key: Optional[Path] = HeadKeyOpt,
    key: Optional[List[str]] = typer.Option(None, "--key", help="ACCOUNT=KEYFILE: private key of a paying account's owner (--book; repeatable)."),
) -> None:
    """Payments of a horizontal eco-compensation agreement per period; tables, chart, manifest; optionally booked in the ledger.

    With --book every payment is a cash transfer signed by the paying county's key (--key) from
    its account to the other party's; the payer's account must hold the cash (gep ledger market
    deposit). All payments are recorded or none; the commit's tree head is signed with the
    registry key (--head-key or $GEP_LEDGER_HEAD_KEY). Re-booking a period answers 'exists'.
    """
    from gep.jobs import compensation as job

    booking = None
    if book:
        from gep.ledger.market import Market

        if head_key is None:
            raise InputError("booking needs the registry key that signs the tree head", hint="give --head-key or set $GEP_LEDGER_HEAD_KEY", key="head_key")
        owners = _owners(key or [])
        market = Market(open_ledger(db, head_key))
        booking = (market, owners)
    try:
        w = job.run(agreement, monitoring, standards, out_dir, f"gep compensation {agreement.name}", booking=booking)
    finally:
        if booking is not None:
            booking[0].close()
    doc = w.result.document(w.folder)
    if as_json:
        emit(doc)
        return
    pay = w.result.payments
    _table(f"compensation {doc['agreement']} ({doc['formula']})", ["period", "score", "tier", "payer", "payee", "amount CNY", "capped"],
           [[r.period, _fmt(r.score, ",.2f" if doc["formula"] == "exceedance" else ".4f"), r.tier or "—", r.payer_name or "—", r.payee_name or "—",
             f"{r.amount_cny:,.2f}", "yes" if r.capped else ""] for r in pay.itertuples()])
    say(f"total downstream → upstream {doc['total_to_upstream_cny']:,.2f} CNY; upstream → downstream {doc['total_to_downstream_cny']:,.2f} CNY")
    if doc["booking"] is not None:
        reqs = doc["booking"]["requests"]
        n = sum(r["status"] == "created" for r in reqs)
        say(f"ledger: {n} cash payment(s) recorded, {len(reqs) - n} already present; tree size {doc['booking']['tree_head']['tree_size']}")
    say(f"outputs: {w.folder.as_posix()}")


@top.command("assess")
def assess_cmd(
    targets: Path = typer.Argument(..., help="Targets TOML: \\[assessment] year/base_year, \\[indicators.*] weights, targets, floors, \\[\\[target]] per township, \\[purchase]."),
    runs: List[Path] = typer.Option(..., "--runs", help="gep run folder of the base year and of the assessed year, or a series folder (repeatable)."),
    out_dir: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Township GEP assessment: indicators, scores, ranking, grades, report; GEP-growth payments (\\[purchase])."""
    from gep.jobs import assess as job

    w = job.run(targets, list(runs), out_dir, f"gep assess {targets.name}")
    doc = w.result.document(w.folder)
    if as_json:
        emit(doc)
        return
    sc = w.result.scores
    names = [c[len("points_"):] for c in sc.columns if c.startswith("points_")]
    _table(f"township assessment {doc['name']} {doc['year']} (growth from {doc['base_year']}, {doc['basis']} prices)",
           ["rank", "township", "score", "grade", *names, "not assessed"],
           [[r["rank"], r["zone_name"], _fmt(r["score"], ".1f"), r["grade"], *[_fmt(r[f"points_{n}"], ".1f") for n in names], r["not_assessed"]]
            for _, r in sc.iterrows()])
    pay = w.result.purchase
    if pay is not None:
        say(f"GEP-growth payments: {pay['payment_cny'].sum():,.2f} CNY to {int((pay['payment_cny'] > 0).sum())} township(s) (purchase.csv)")
    say(f"outputs: {w.folder.as_posix()} (report.md)")
