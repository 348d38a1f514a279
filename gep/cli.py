"""The ``gep`` command line: thin wrappers over the library, no domain logic.

Exit codes: 0 ok, 1 check failed, 2 usage or input error, 3 inputs changed
or missing, 4 environment differs (strict replay).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gep.errors import GepError
from gep.execution import DEFAULT_CHUNKS

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="gep: gross ecosystem product (GEP) accounting engine.")
services_app = typer.Typer(no_args_is_help=True, help="The catalogue of ecosystem services.")
coef_app = typer.Typer(no_args_is_help=True, help="Coefficient sets: show and verify.")
app.add_typer(services_app, name="services")
app.add_typer(coef_app, name="coefficients")

_WIDTH = None if sys.stdout.isatty() else 160
err = Console(stderr=True, width=None if sys.stderr.isatty() else 400)
out = Console(width=_WIDTH)


def fail(exc: GepError) -> None:
    """Print one line on stderr and exit with the error's code (no traceback)."""
    err.print(f"[bold red]error:[/] {escape(exc.line())}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _mount_optional() -> None:
    """Mount the sub-apps of the other domains when present."""
    try:
        from gep.finance.cli import app as bond_app

        app.add_typer(bond_app, name="bond", help="Ecological bonds: price and analytics.")
    except ImportError:
        pass
    try:
        from gep.capacity.cli import app as capacity_app

        app.add_typer(capacity_app, name="capacity", help="Water ecological capacity and credits.")
    except ImportError:
        pass
    try:
        from gep.ledger.cli import app as ledger_app

        app.add_typer(ledger_app, name="ledger", help="Rights ledger: capacity and carbon credits.")
    except ImportError:
        pass
    try:
        from gep.cli_audit import register

        register(app)
    except ImportError:
        pass
    try:
        from gep.server.cli import register as register_serve

        register_serve(app)
    except ImportError:
        pass


@app.command("run")
def run_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see docs/scenarios.md)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<run-id>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout instead of the table."),
    chunks: Optional[int] = typer.Option(None, "--chunks", min=16, help=f"Run chunked with dask, CHUNKS × CHUNKS cells per chunk (bounded memory; {DEFAULT_CHUNKS} is a good size; default in memory, or \\[execution] chunks)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=f"Address of a running dask.distributed scheduler (tcp://host:8786); implies chunked ({DEFAULT_CHUNKS} unless --chunks)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help=f"Start a local dask cluster with this many worker processes; implies chunked ({DEFAULT_CHUNKS} unless --chunks)."),
    area: Optional[Path] = typer.Option(None, "--area", help="GeoJSON polygon (WGS 84 lon/lat): the account of that parcel, cells weighted by the fraction inside it."),
) -> None:
    """Compute the GEP account of a scenario and write tables, maps and a manifest.

    A scenario with [series.<year>] tables is accounted for every year, at current and
    comparable prices, with growth rates (and a [purchase] payment when given).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gep import execution
    from gep import run as runner
    from gep.scenario import load as load_scenario

    try:
        sc = load_scenario(scenario)
        if area is not None and not area.is_file():
            from gep.errors import InputError

            raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon, e.g. --area scenarios/demo/parcels/village.geojson")
        coef = runner.load_coefficients(sc)
        enabled, _, _ = runner.resolve_services(sc, coef)
        chunked = bool(chunks or sc.chunks or scheduler or workers)
        steps = (3 + len(sc.inputs) + len(sc.tables) + len(enabled) + 2 + chunked + bool(sc.changes) + bool(area or sc.area)) * (len(sc.series) if sc.series else 1)
        with Progress(TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal and as_json) as bar:
            task = bar.add_task("starting", total=steps)

            def step(message: str) -> None:
                bar.update(task, description=message, advance=1)

            chunk_task = bar.add_task("chunks", total=None, visible=chunked)

            def chunk(done: int, total: int) -> None:
                bar.update(chunk_task, completed=done, total=total)

            if (scheduler or workers) and not (chunks or sc.chunks):
                chunks = DEFAULT_CHUNKS
            command = f"gep run {scenario.name}" + (f" --area {area.name}" if area else "")
            with execution.scheduler(scheduler, workers), execution.chunk_progress(chunk if (chunks or sc.chunks) else None):
                if sc.series is not None:
                    from gep import series

                    result = series.compute_series(sc, chunks, step, area=area)
                    step("writing outputs")
                    series.write_series(result, out, command)
                else:
                    result = runner.compute(sc, chunks=chunks, progress=step, area=area)
                    step("writing outputs")
                    runner.write(result, out, command)
            step("done")
    except GepError as exc:
        fail(exc)
        return
    summary = result.summary()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    if summary.get("series"):
        _print_series(summary)
    else:
        _print_summary(summary)


def _print_summary(s: dict) -> None:
    t = Table(title=f"GEP {s['scenario']} {s['year']} (prices of {s['price_year']}, coefficients {s['coefficient_set']})")
    t.add_column("service", no_wrap=True)
    t.add_column("method", overflow="fold")
    t.add_column("quantity", justify="right", no_wrap=True)
    t.add_column("unit", overflow="fold")
    t.add_column("10⁸ CNY", justify="right", no_wrap=True)
    t.add_column("share", justify="right", no_wrap=True)
    total = s["gep_total_cny"] or 1.0
    for cat, cat_value in s["categories"].items():
        t.add_row(f"[bold]{cat}[/]", "", "", "", f"[bold]{cat_value / 1e8:,.3f}[/]", f"[bold]{cat_value / total:.1%}[/]")
        rows = sorted(((sid, v) for sid, v in s["services"].items() if v["category"] == cat), key=lambda kv: -kv[1]["value_cny"])
        for sid, v in rows:
            q = "—" if v["quantity"] is None else f"{v['quantity']:,.4g}"
            t.add_row(f"  {sid}", v["method"], q, v["unit"], f"{v['value_cny'] / 1e8:,.3f}", f"{v['value_cny'] / total:.1%}")
    t.add_row("[bold]GEP[/]", "", "", "", f"[bold]{s['gep_total_cny'] / 1e8:,.3f}[/]", "100%")
    out.print(t)
    if s.get("gep_total_cny_comparable") is not None:
        out.print(f"at comparable {s['base_year']} prices: {s['gep_total_cny_comparable'] / 1e8:,.3f} × 10⁸ CNY")
    if s.get("gep_gdp_ratio") is not None:
        out.print(f"GEP/GDP = {s['gep_gdp_ratio']:.3f}")
    if s.get("carbon_stock_tc") is not None:
        out.print(f"carbon stock (not part of GEP): {s['carbon_stock_tc']:,.0f} t C")
    for c in s.get("changes", []):
        extra = f", share {c['share_before']:.2%} → {c['share_after']:.2%}" if "share_after" in c else ""
        if c["op"] == "input":
            c = dict(c, note=f"{c['input']} {c['how']}" + (f" ({c['note']})" if c.get("note") else ""))
        out.print(escape(f"change {c.get('label', '')}: {c['op']} {c.get('note', '')} — {c.get('cells', 0):,} cells" + (f", {c['area_ha']:,.2f} ha" if "area_ha" in c else "") + extra), highlight=False)
    for r in s.get("resampled", []):
        out.print(escape(f"resampled {r['name']} ({r['method']}) from {r['from']}"), highlight=False)
    if s.get("parcel"):
        p = s["parcel"]
        out.print(escape(f"parcel {p['path']}: polygon {p['polygon_area_ha']:,.2f} ha, {p['area_in_region_ha']:,.2f} ha inside the region ({p['cells']:,} cells weighted by the fraction inside)"), highlight=False)
        for f in p.get("features", []):
            out.print(escape(f"  {f['feature']}: {f['area_in_region_ha']:,.2f} ha, GEP {f['gep_cny'] / 1e4:,.1f} × 10⁴ CNY"), highlight=False)
    out.print(f"outputs: {s['run_dir']}")


def _print_series(s: dict) -> None:
    t = Table(title=f"GEP series {s['scenario']} (comparable prices of {s['base_year']}, coefficients {s['coefficient_set']})")
    for col in ("year", "GEP current [10⁸ CNY]", "GEP comparable [10⁸ CNY]", "growth current", "growth comparable (real)"):
        t.add_column(col, justify="right")
    pct = lambda v: "—" if v is None else f"{v:+.2%}"  # noqa: E731
    for r in s["totals"]:
        t.add_row(str(r["year"]), f"{r['value_cny'] / 1e8:,.3f}", f"{r['value_cny_comparable'] / 1e8:,.3f}", pct(r["growth_current"]), pct(r["growth_comparable"]))
    out.print(t)
    ag = s["average_growth"]
    out.print(f"average yearly growth {s['years'][0]}–{s['years'][-1]}: current {pct(ag['current'])}, comparable {pct(ag['comparable'])}")
    for p in s.get("purchase", []):
        out.print(escape(f"purchase: {p['zone_name']}: GEP {p['gep_from_cny'] / 1e4:,.1f} → {p['gep_to_cny'] / 1e4:,.1f} × 10⁴ CNY ({p['basis']}, prices of {p['price_year']}); "
                  f"pays {p['share']:.1%} of the increase = {p['payment_cny'] / 1e4:,.2f} × 10⁴ CNY"), highlight=False)
    out.print(f"outputs: {s['run_dir']} (one run folder per year inside)")


@app.command("compare")
def compare_cmd(
    base: Path = typer.Argument(..., help="BASE: a scenario .toml or a run folder written by `gep run`."),
    alt: Path = typer.Argument(..., help="ALT: a scenario .toml or a run folder."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/compare-<base>-vs-<alt>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (delta_gep_cny, by_service, by_zone, ...) on stdout."),
    area: Optional[Path] = typer.Option(None, "--area", help="Compare the accounts of this GeoJSON parcel only."),
    chunks: Optional[int] = typer.Option(None, "--chunks", min=16, help="Run chunked with dask (see gep run)."),
) -> None:
    """ΔGEP of ALT against BASE by zone × service × category: tables, map, charts and an Excel workbook."""
    import re

    from gep import compare

    try:
        if area is not None and not area.is_file():
            from gep.errors import InputError

            raise InputError(f"parcel file not found: {area}", hint="give a GeoJSON polygon")
        folder = out_dir or Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"compare-{base.stem}-vs-{alt.stem}")
        with err.status("computing BASE", spinner="dots") if err.is_terminal else _nullcontext():
            b = compare.load_side(base, "BASE", folder, area, chunks)
        with err.status("computing ALT", spinner="dots") if err.is_terminal else _nullcontext():
            a = b if (alt.resolve() == base.resolve() and base.is_file()) else compare.load_side(alt, "ALT", folder, area, chunks)
        if a is b:
            import dataclasses

            a = dataclasses.replace(b, label="ALT")
        doc, _ = compare.write_compare(b, a, folder)
    except GepError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
        return
    t = Table(title=f"ΔGEP {doc['alt']['scenario']} − {doc['base']['scenario']}")
    for col in ("category", "service", "Δ quantity", "unit", "Δ value [10⁴ CNY]", "Δ %"):
        t.add_column(col, justify="right" if col.startswith("Δ") else "left")
    for sid, v in sorted(doc["by_service"].items(), key=lambda kv: (kv[1]["category"], kv[1]["delta_value_cny"] or 0)):
        dq = "—" if v["delta_quantity"] is None else f"{v['delta_quantity']:+,.4g}"
        pct = "—" if v["delta_pct"] is None else f"{v['delta_pct']:+.2%}"
        t.add_row(v["category"], sid, dq, v["unit"], f"{(v['delta_value_cny'] or 0) / 1e4:+,.2f}", pct)
    pct = "" if doc["delta_gep_pct"] is None else f"{doc['delta_gep_pct']:+.3%}"
    t.add_row("[bold]GEP[/]", "", "", "", f"[bold]{doc['delta_gep_cny'] / 1e4:+,.2f}[/]", pct)
    out.print(t)
    out.print(f"GEP {doc['base']['gep_total_cny'] / 1e8:,.4f} → {doc['alt']['gep_total_cny'] / 1e8:,.4f} × 10⁸ CNY")
    bad = [k for k, v in doc["checks"].items() if v == "FAIL"]
    if bad:
        err.print(f"[red]checks failed:[/] {', '.join(bad)}")
    out.print(f"outputs: {doc['out_dir']} ({', '.join(doc['outputs'])})")


def _nullcontext():
    import contextlib

    return contextlib.nullcontext()


@services_app.command("list")
def services_list(as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON.")) -> None:
    """List the services of the catalogue with category, methods, inputs, unit and price keys."""
    from gep.catalogue import CATALOGUE

    if as_json:
        print(json.dumps([s.as_dict() for s in CATALOGUE], ensure_ascii=False, indent=1))
        return
    t = Table(title="gep services")
    for col in ("id", "名称", "category", "methods (first = default)", "inputs", "output unit", "price keys"):
        t.add_column(col)
    for s in CATALOGUE:
        t.add_row(s.id, s.name_zh, s.category, ", ".join(s.methods), ", ".join(list(s.inputs) + [f"table:{x}" for x in s.tables]), s.output_unit, ", ".join(s.price_keys))
    out.print(t)


@coef_app.command("show")
def coefficients_show(
    set_id: str = typer.Argument(..., help="Set id (e.g. cn-2022) or folder."),
    parameter: Optional[str] = typer.Option(None, "--parameter", "-p", help="Only parameters starting with this."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON."),
) -> None:
    """Show a coefficient set: every value with unit, source, year and confidence."""
    from gep import coefficients

    try:
        cs = coefficients.load(set_id)
    except GepError as exc:
        fail(exc)
        return
    rows = cs.table()
    if parameter:
        rows = rows[rows["parameter"].str.startswith(parameter)]
    if as_json:
        print(json.dumps({"id": cs.id, "version": cs.version, "description": cs.description, "profile": cs.profile, "rows": json.loads(rows.drop(columns=["file"]).to_json(orient="records", force_ascii=False))}, ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{cs.id} {cs.version}: {cs.description}")
    for col in ("parameter", "key", "value", "range", "unit", "price year", "confidence", "source"):
        t.add_column(col, overflow="fold")
    for r in rows.itertuples():
        py = "" if r.price_year != r.price_year or r.price_year in ("", None) else str(int(float(r.price_year)))
        span = "" if r.low != r.low or r.high != r.high else f"{r.low:g}–{r.high:g}"
        t.add_row(r.parameter, r.key, f"{r.value:g}", span, r.unit, py, r.confidence, str(r.source))
    out.print(t)
    counts = rows["confidence"].value_counts().to_dict()
    out.print("confidence: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    out.print(f"services on: {', '.join(cs.profile.get('services', {}).get('enabled', []))}")


@coef_app.command("verify")
def coefficients_verify(set_id: Optional[str] = typer.Argument(None, help="One set id, id@version or folder; default all shipped sets and their frozen releases."), as_json: bool = typer.Option(False, "--json")) -> None:
    """Check every coefficient file against the SHA-256 in its set's manifest, validate the rows, and
    check citations and ranges (rules in coefficients/README.md): exit 1 naming file, line and what is missing."""
    from gep import coefficients
    from gep.io.coefficient_files import RELEASES, find_set

    try:
        if set_id:
            folder = find_set(set_id)
            problems = {folder.name: coefficients.verify_set(folder, rules=RELEASES not in folder.parts)}
        else:
            problems = coefficients.verify_all()
    except GepError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps({"ok": not any(problems.values()), "sets": problems}, indent=1))
    else:
        for name, probs in problems.items():
            if probs:
                for p in probs:
                    err.print(f"[red]FAIL[/] {name}: {escape(p)}", highlight=False)
            else:
                out.print(f"[green]ok[/] {name}")
    if any(problems.values()):
        raise typer.Exit(1)


@coef_app.command("rehash")
def coefficients_rehash(set_id: str = typer.Argument(..., help="Set id or folder whose manifest \\[files] hashes to rewrite.")) -> None:
    """Maintainers: rewrite a set's manifest hashes after releasing a new version."""
    from gep.io.coefficient_files import find_set, write_hashes

    try:
        out.print(write_hashes(find_set(set_id)))
    except GepError as exc:
        fail(exc)


_mount_optional()


def _route_capacity_scenario(argv: list[str]) -> list[str]:
    """``gep capacity SCENARIO.toml`` is ``gep capacity basin SCENARIO.toml`` (the issue's spelling)."""
    if len(argv) > 2 and argv[1] == "capacity" and argv[2].endswith(".toml"):
        return argv[:2] + ["basin"] + argv[2:]
    return argv


def main() -> None:
    """Console-script entry point."""
    sys.argv = _route_capacity_scenario(sys.argv)
    try:
        app()
    except GepError as exc:  # a GepError escaping a sub-app
        err.print(f"[bold red]error:[/] {escape(exc.line())}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
