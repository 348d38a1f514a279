"""``gep bond``: price ecological bonds; coverage of their debt service; green-bond impact.

Thin layer: parse options, call :mod:`gep.finance` (and the jobs
:mod:`gep.jobs.bond_coverage` and :mod:`gep.jobs.bond_impact`), print. Errors end in the shell's one line
(:mod:`gep.cli.shell`).

Rates on the command line (``--yield``, ``--spread``, ``--hazard``) are
decimals (``0.03``) or percent strings (``3%``); ``--spread`` also takes basis
points (``85bp``).  A plain number of 1 or more is refused as ambiguous.
``--recovery`` is a fraction (``0.4``) or a percent (``40%``).  Prices are per
100 of outstanding face, clean unless ``--dirty``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from gep.cli.shell import INTEGER, NUMBER, App, Table, emit, escape, out, say
from gep.errors import InputError

app = App(
    name="bond",
    help="Bond analytics: price, yield, duration, convexity, DV01, Z-spread (China "
    "interbank conventions; prices per 100 face, money in CNY); coverage and green-bond impact.",
)


@app.callback()
def _bond() -> None:
    """Bond analytics for ecological bonds and GEP-backed loans."""


def parse_rate(text: str, option: str, *, allow_bp: bool = False, max_plain: float = 1.0,
               inclusive: bool = False) -> float:
    """Parse a rate given as a decimal (``"0.03"``), percent (``"3%"``) or bp (``"85bp"``).

    Parameters
    ----------
    text : str
        Command-line value.
    option : str
        Option name for the error message.
    allow_bp : bool
        Accept a ``bp`` suffix (spreads).
    max_plain : float
        Largest magnitude accepted without a suffix (guards against ``3``
        meaning 3 %).
    inclusive : bool
        Whether ``max_plain`` itself is accepted (recovery 1 = 100 %).

    Returns
    -------
    float
        The rate as a decimal [1/year] (or fraction, for recovery).
    """
    from gep.numbers import parse_decimal

    raw = text.strip().lower().replace(" ", "")
    scale, body = 1.0, raw
    if raw.endswith("%"):
        scale, body = 0.01, raw[:-1]
    elif allow_bp and raw.endswith("bp"):
        scale, body = 1e-4, raw[:-2]
    try:
        value = float(parse_decimal(body, "rate"))
    except InputError as exc:
        forms = '"0.03" or "3%"' + (' or "85bp"' if allow_bp else "")
        raise InputError(f"cannot read {_shown(text)} as a rate ({exc.message})", hint=f"write it as {forms}",
                         where=option) from None
    if scale == 1.0 and (abs(value) > max_plain or (abs(value) == max_plain and not inclusive)):
        raise InputError(
            f"{_shown(text)} is ambiguous as a decimal rate",
            hint=f'decimals are fractions (0.03 = 3 %); did you mean "{text}%"?', where=option)
    return value * scale


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f'cannot read "{text}" as a date', hint="write it as YYYY-MM-DD",
                         where=option) from None


def _shown(text: str) -> str:
    """``text`` quoted for a message, shortened when long."""
    return f'"{text}"' if len(text) <= 60 else f'"{text[:40]}…" ({len(text)} characters)'


def _parse_price(text: str) -> float:
    from gep.numbers import parse_decimal

    try:
        value = float(parse_decimal(text.strip(), "price"))
    except InputError as exc:
        raise InputError(f"cannot read {_shown(text)} as a price ({exc.message})",
                         hint="give the price per 100 face, e.g. 99.85", where="--price") from None
    if value <= 0:
        raise InputError(f"price must be positive, got {_shown(text)}",
                         hint="give the price per 100 face, e.g. 99.85", where="--price")
    return value


def _usage(message: str, hint: str) -> InputError:
    return InputError(message, hint=hint, where="gep bond price")


def _price(bond_file: Path, settle_s: str, yield_s: Optional[str], price_s: Optional[str],
           dirty: bool, curve_file: Optional[Path], spread_s: Optional[str],
           hazard_s: Optional[str], recovery_s: Optional[str]) -> dict:
    """Validate the option combination, compute, and return the result dictionary."""
    from gep.finance import curve as crv
    from gep.finance import pricing
    from gep.jobs.inputs import bond as load_bond
    from gep.jobs.inputs import curve as load_curve
    from gep.finance.schedule import remaining_flows

    modes = "give exactly one of --yield Y, --price P or --curve CURVE.toml"
    if yield_s is not None and (price_s is not None or curve_file is not None):
        raise _usage("--yield cannot be combined with --price or --curve", modes)
    if yield_s is None and price_s is None and curve_file is None:
        raise _usage("nothing to price from", modes)
    if dirty and price_s is None:
        raise _usage("--dirty applies to --price only", "drop --dirty or add --price P")
    if spread_s is not None and (curve_file is None or price_s is not None):
        raise _usage("--spread needs --curve and no --price",
                     "use --curve C --spread S to price, or --curve C --price P for the Z-spread")
    credit = hazard_s is not None or recovery_s is not None
    if credit and (curve_file is None or hazard_s is None or recovery_s is None):
        raise _usage("--hazard and --recovery go together, with --curve",
                     "use --curve C --hazard H --recovery R")
    if credit and (spread_s is not None or price_s is not None):
        raise _usage("--hazard/--recovery cannot be combined with --spread or --price",
                     "price either with a hazard rate or with a spread")

    settle = _parse_date(settle_s, "--settle")
    bond = load_bond(bond_file)
    fl = remaining_flows(bond, settle)
    extra: dict = {}
    if yield_s is not None:
        mode = "yield"
        res = pricing.risk_from_flows(fl, parse_rate(yield_s, "--yield"))
    elif price_s is not None:
        mode = "price"
        dirty_value = pricing.dirty_value_of_quote(fl, _parse_price(price_s), clean=not dirty)
        res = pricing.risk_from_flows(fl, pricing.solve_yield(fl, dirty_value))
        if curve_file is not None:
            mode = "price+curve"
            extra["z_spread"] = crv.solve_z_spread(fl, load_curve(curve_file), dirty_value)
    else:
        curve = load_curve(curve_file)
        if credit:
            mode = "curve+hazard"
            hazard = parse_rate(hazard_s, "--hazard")
            recovery = parse_rate(recovery_s, "--recovery", inclusive=True)
            dirty_value = crv.risky_value(fl, curve, hazard, recovery)
            extra.update(hazard=hazard, recovery=recovery)
        else:
            mode = "curve"
            spread = 0.0 if spread_s is None else parse_rate(spread_s, "--spread", allow_bp=True)
            dirty_value = crv.curve_value(fl, curve, spread)
            extra["z_spread"] = spread
        res = pricing.risk_from_flows(fl, pricing.solve_yield(fl, dirty_value))

    out = {
        "bond": bond.name or str(bond_file),
        "settle": settle.isoformat(),
        "input": mode,
        "currency": "CNY",
        "price_basis": "per 100 of outstanding face",
        "outstanding_face": res.outstanding,
        "clean_price": res.clean_price,
        "dirty_price": res.dirty_price,
        "accrued_interest": res.accrued_interest,
        "yield": res.yield_to_maturity,
        "macaulay_duration": res.macaulay_duration,
        "modified_duration": res.modified_duration,
        "convexity": res.convexity,
        "dv01": res.dv01,
        **res.values(),
        "final_period_simple_yield": fl.final_period,
        **extra,
    }
    return out


_ROWS = [
    ("clean_price", "clean price", "CNY per 100 face", "{:.6f}"),
    ("dirty_price", "dirty price", "CNY per 100 face", "{:.6f}"),
    ("accrued_interest", "accrued interest", "CNY per 100 face", "{:.6f}"),
    ("yield", "yield to maturity", "%", "pct"),
    ("z_spread", "Z-spread", "bp (continuous)", "bp"),
    ("hazard", "hazard rate", "% per year", "pct"),
    ("recovery", "recovery", "% of principal", "pct"),
    ("macaulay_duration", "Macaulay duration", "years", "{:.6f}"),
    ("modified_duration", "modified duration", "years", "{:.6f}"),
    ("convexity", "convexity", "years²", "{:.6f}"),
    ("dv01", "DV01", "CNY per 100 face per bp", "{:.6f}"),
]
_VALUE_ROWS = [
    ("outstanding_face", "outstanding face", "CNY"),
    ("clean_value", "clean value", "CNY"),
    ("dirty_value", "dirty value", "CNY"),
    ("accrued_value", "accrued interest", "CNY"),
    ("dv01_value", "DV01", "CNY per bp"),
]


def _fmt(value: float, how: str) -> str:
    if how == "pct":
        return f"{value * 100:.6f}"
    if how == "bp":
        return f"{value * 1e4:.4f}"
    return how.format(value)


def _table(out: dict) -> Table:
    table = Table(title=f"{out['bond']}, settlement {out['settle']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, label, unit, how in _ROWS:
        if key in out:
            table.add_row(label, _fmt(out[key], how), unit)
    if out["outstanding_face"] != 100.0:
        for key, label, unit in _VALUE_ROWS:
            table.add_row(label, f"{out[key]:,.2f}", unit)
    if out["final_period_simple_yield"]:
        table.caption = "final coupon period: simple yield FV/(1 + y·D/TY)"
    return table


@app.command("price")
def price(
    bond_file: Path = typer.Argument(..., help="Bond description file (TOML), see docs/bonds.md."),
    settle: str = typer.Option(..., "--settle", help="Settlement date, YYYY-MM-DD."),
    yield_: Optional[str] = typer.Option(
        None, "--yield", help='Yield to maturity: decimal "0.03" or percent "3%".'),
    price_: Optional[str] = typer.Option(
        None, "--price", help="Price per 100 face (clean unless --dirty); with --curve also "
        "gives the Z-spread."),
    dirty: bool = typer.Option(False, "--dirty", help="--price is a dirty (full) price."),
    curve: Optional[Path] = typer.Option(
        None, "--curve", help="Curve file (TOML): price on the curve, or Z-spread with --price."),
    spread: Optional[str] = typer.Option(
        None, "--spread", help='Z-spread over --curve: "0.012", "1.2%" or "120bp" (default 0).'),
    hazard: Optional[str] = typer.Option(
        None, "--hazard", help='Constant hazard rate per year, "0.02" or "2%" (needs --curve, '
        "--recovery)."),
    recovery: Optional[str] = typer.Option(
        None, "--recovery", help='Recovery of principal at default, "0.4" or "40%".'),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object on stdout."),
) -> None:
    """Price a bond: clean/dirty price, accrued, yield, durations, convexity, DV01."""
    result = _price(bond_file, settle, yield_, price_, dirty, curve, spread, hazard, recovery)
    if as_json:
        emit(result)
    else:
        out.print(_table(result))


@app.command("schedule")
def schedule_cmd(
    bond_file: Path = typer.Argument(..., help="Bond description file (TOML)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list on stdout."),
) -> None:
    """List the coupon periods, coupons and principal repayments [CNY]."""
    from gep.jobs.inputs import bond as load_bond
    from gep.finance.schedule import schedule as make_schedule

    bond = load_bond(bond_file)
    s = make_schedule(bond)
    rows = [
        {"start": a.isoformat(), "accrual_end": e.isoformat(), "payment_date": d.isoformat(),
         "periods": float(f), "outstanding": float(o), "coupon": float(c), "principal": float(p)}
        for a, e, d, f, o, c, p in zip(s.start, s.end, s.payment, s.fraction, s.outstanding, s.coupon,
                                       s.principal)
    ]
    if as_json:
        emit(rows)
        return
    table = Table(title=f"{bond.name or bond_file}: cash flows [CNY]")
    for col in ("start", "accrual end", "payment date", "periods", "outstanding", "coupon", "principal"):
        table.add_column(col, justify="right")
    if bond.calendar:
        table.caption = (f"payment dates: calendar {bond.calendar}, {bond.business_day_convention.replace('_', ' ')}; "
                         f"accrual on {bond.accrual} dates")
    money = "{:,.2f}" if bond.face >= 10_000 else "{:,.6f}"
    for r in rows:
        table.add_row(r["start"], r["accrual_end"], r["payment_date"], f"{r['periods']:.6f}",
                      money.format(r["outstanding"]), money.format(r["coupon"]),
                      money.format(r["principal"]))
    out.print(table)


# --------------------------------------------------------------------------- coverage


def _coverage_tables(doc: dict) -> list:
    """Per-period coverage, as two tables that fit 80 columns: debt service and revenue [million CNY]; DSCR and P(DSCR < 1)."""
    from rich import box

    s = doc["summary"]

    def m(x):
        return "" if x is None else f"{x / 1e6:,.3f}"

    def r(x):
        return "–" if x is None else f"{x:.3f}"

    def table(title, columns):
        t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
        for col in columns:
            t.add_column(col, justify="right", no_wrap=True)
        return t

    name = doc["debt"]["name"] or doc["debt"]["type"]
    money = table(f"{name}: debt service and revenue [million CNY], {s['paths']:,} paths, seed {doc['simulation']['seed']}",
                  ("payment date", "debt service", "revenue p5", "p50", "p95", "mean"))
    ratio = table(f"{name}: debt-service coverage ratio (DSCR)", ("payment date", "DSCR p5", "p50", "p95", "P(DSCR<1)", "± s.e."))
    for row in doc["periods"]:
        p = row["p_dscr_below_1"]
        money.add_row(row["payment_date"], m(row["debt_service_cny"]), m(row["revenue_p5_cny"]), m(row["revenue_p50_cny"]),
                      m(row["revenue_p95_cny"]), m(row["revenue_mean_cny"]))
        ratio.add_row(row["payment_date"], r(row["dscr_p5"]), r(row["dscr_p50"]), r(row["dscr_p95"]), "–" if p is None else f"{p:.4f}",
                      "" if p is None else f"{row['p_dscr_below_1_se']:.4f}")
    return [money, ratio]


def _coverage_lines(doc: dict) -> list[str]:
    """The summary measures under the tables, one sentence each."""
    s = doc["summary"]
    md, ll, pb = s["min_dscr"], s["llcr"], s["p_dscr_below_1"]

    def r(x):
        return "–" if x is None else f"{x:.3f}"

    lines = [
        f"min DSCR over the life: p5 {r(md['p5'])}, median {r(md['p50'])}, p95 {r(md['p95'])}; "
        f"of the mean revenue {r(md['of_mean_revenue'])} (period {md['of_mean_revenue_period']})",
        f"LLCR at {s['discount_rate'] * 100:.4g} %: p5 {r(ll['p5'])}, median {r(ll['p50'])}, p95 {r(ll['p95'])}, mean {r(ll['mean'])}",
        f"P(DSCR < 1 in any period) = {pb['any_period']:.4f} ± {pb['standard_error']:.4f} (MC s.e.)"
        + (f"; none in {s['paths']:,} paths, 95 % upper bound {pb['upper_95_if_none']:.2g}" if pb["upper_95_if_none"] is not None else ""),
    ]
    if "waterfall" in s:
        w = s["waterfall"]
        lines.append(f"waterfall: reserve opening {w['reserve_opening_cny'] / 1e6:,.3f} million; P(debt-service "
                     f"shortfall after reserve draws) = {w['p_shortfall_any_period']:.4f} ± {w['standard_error']:.4f}; "
                     f"mean swept {w['swept_total_mean_cny'] / 1e6:,.3f} million")
    if "sizing" in s:
        z = s["sizing"]
        event = "shortfall after reserve draws" if "waterfall" in s else f"min DSCR < {z['target_dscr']:g}"
        lines.append(f"largest principal with P({event}) ≤ {z['threshold']:g}: "
                     f"{z['max_principal_cny'] / 1e6:,.3f} million CNY"
                     + (f" ({z['max_lending_ratio'] * 100:.4g} % of GEP)" if "max_lending_ratio" in z else "")
                     + (f", net of the reserve {z['net_proceeds_cny'] / 1e6:,.3f} million" if "net_proceeds_cny" in z else ""))
    return lines


@app.command("coverage")
def coverage_cmd(
    bond_file: Path = typer.Argument(..., help="Bond file, or loan file with a [loan] table (docs/bonds.md)."),
    revenue: Path = typer.Option(..., "--revenue", help="Revenue file (TOML): credit sales, government "
                                 "purchase, fees, costs."),
    paths: int = typer.Option(10_000, "--paths", click_type=INTEGER, help="Monte Carlo paths."),
    seed: int = typer.Option(0, "--seed", click_type=INTEGER, help="Seed of numpy.random.PCG64 (recorded in the manifest)."),
    discount_rate: Optional[str] = typer.Option(
        None, "--discount-rate", help='LLCR discount rate, "0.035" or "3.5%" (default: [coverage] '
        "discount_rate, else the coupon rate)."),
    max_breach: Optional[str] = typer.Option(
        None, "--max-breach", help='Size the largest principal with P(min DSCR < target) at most this, '
        'e.g. "5%".'),
    target_dscr: float = typer.Option(1.0, "--target-dscr", click_type=NUMBER, help="DSCR covenant of --max-breach sizing."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default "
                                           "runs/<debt-name>-coverage-<hash>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print coverage.json (plus run_dir) on stdout."),
) -> None:
    """Revenue coverage of debt service: DSCR, LLCR, P(DSCR < 1) by seeded Monte Carlo."""
    from gep.jobs import bond_coverage

    rate = None if discount_rate is None else parse_rate(discount_rate, "--discount-rate")
    alpha = None if max_breach is None else parse_rate(max_breach, "--max-breach")
    command = f"gep bond coverage {bond_file.name} --revenue {revenue.name} --paths {paths} --seed {seed}"
    command += "".join(f" {k} {v}" for k, v in (("--discount-rate", discount_rate), ("--max-breach", max_breach))
                       if v is not None)
    if max_breach is not None:
        command += f" --target-dscr {target_dscr:g}"
    written = bond_coverage.run(bond_file, revenue, out_dir, command, paths=paths, seed=seed, discount_rate=rate,
                                max_breach=alpha, target_dscr=target_dscr)
    doc = written.result.doc
    if as_json:
        emit({**doc, "run_dir": written.folder.as_posix()})
        return
    for table in _coverage_tables(doc):
        out.print(table)
    for line in _coverage_lines(doc):
        out.print(escape(line), highlight=False)
    say(f"run folder: {written.folder.as_posix()}")


# --------------------------------------------------------------------------- impact


def _impact_table(written) -> Table:
    """Attributable GEP change per project and run; warnings and credits in the caption."""
    result = written.result
    doc = result.doc
    table = Table(title=f"{doc['bond']['name']}: impact attributable to the bond ({doc['parameters']['value']} prices)")
    for col in ("run", "project", "category", "share", "GEP change [CNY/yr]", "attributable [CNY/yr]",
                "per 10⁴ CNY [CNY/yr]"):
        table.add_column(col, justify="right")
    for r in result.gep.itertuples(index=False):
        change = "" if r.project == "ALL" else f"{r.gep_change_cny:,.0f}"
        share = "" if r.project == "ALL" else f"{r.attribution_share:.4f}"
        table.add_row(str(r.run), r.project, r.category, share, change, f"{r.attributable_cny:,.0f}", f"{r.per_10k_cny:,.2f}")
    lines = [f"{c['check']}: {c['note'] or c['value']}" for c in doc["checks"] if c["status"] == "warning"]
    for r in result.credits.itertuples(index=False):
        lines.append(f"{r.project}: {r.instrument} {r.kind} {r.amount:,.4g} {r.unit}, attributable "
                     f"{r.attributable:,.4g}, {r.per_10k_cny:.4g} {r.unit} per 10⁴ CNY")
    table.caption = "\n".join(lines)
    return table


@app.command("impact")
def impact_cmd(
    bond_file: Path = typer.Argument(..., help="Green bond (or loan) file with \\[\\[use_of_proceeds]] lines."),
    run: list[Path] = typer.Option(..., "--run", help="A gep run manifest (or run folder); give it again for each "
                                   "run: the first is the baseline, each later one is compared with it."),
    ledger: Optional[str] = typer.Option(None, "--ledger", help="Rights ledger (SQLite file or postgresql:// URL): "
                                         "credits issued to and retired from the allocations' ledger_accounts."),
    value: str = typer.Option("comparable", "--value", help='GEP at "comparable" (base-year, default) or "current" '
                              "prices."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<bond-name>-impact-<hash>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print impact.json (plus run_dir) on stdout."),
) -> None:
    """GEP change and credits attributable to a green bond, per 10⁴ CNY of proceeds (CSV, xlsx, chart, manifest)."""
    from gep.jobs import bond_impact

    command = f"gep bond impact {bond_file.name} " + " ".join(f"--run {p.as_posix()}" for p in run)
    command += (f" --ledger {Path(ledger).name if not ledger.startswith('postgresql') else 'URL'}" if ledger else "")
    command += f" --value {value}"
    written = bond_impact.run(bond_file, list(run), out_dir, command, ledger=ledger, value=value)
    if as_json:
        emit({**written.result.doc, "run_dir": written.folder.as_posix()})
        return
    out.print(_impact_table(written))
    say(f"run folder: {written.folder.as_posix()}")
