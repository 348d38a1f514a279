"""``gep run`` and ``gep compare``: the modeller's commands (parsing, progress and printing only)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from gep.cli.shell import App, Number, Table, emit, err, escape, out
from gep.execution import DEFAULT_CHUNKS

app = App()


@app.command("run")
def run_cmd(
    scenario: Optional[Path] = typer.Argument(None, help="Scenario TOML file (see docs/scenarios.md); or --demo.", show_default=False),
    demo: bool = typer.Option(False, "--demo", help="Run the embedded demo county (a synthetic Liyang-like county shipped with gep)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<run-id>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout instead of the table."),
    chunks: Optional[int] = typer.Option(None, "--chunks", click_type=Number(integer=True, minimum=16), help=f"Run chunked with dask, CHUNKS × CHUNKS cells per chunk (bounded memory; {DEFAULT_CHUNKS} is a good size). Default: [execution] chunks, else in memory when the rasters fit in half the available memory and chunked otherwise (the choice is shown)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help=f"Address of a running dask.distributed scheduler (tcp://host:8786); implies chunked ({DEFAULT_CHUNKS} unless --chunks)."),
    workers: Optional[int] = typer.Option(None, "--workers", click_type=Number(integer=True, minimum=1), help=f"Start a local dask cluster with this many worker processes; implies chunked ({DEFAULT_CHUNKS} unless --chunks)."),
    area: Optional[Path] = typer.Option(None, "--area", help="GeoJSON polygon (WGS 84 lon/lat): the account of that parcel, cells weighted by the fraction inside it."),
) -> None:
    """Compute the GEP account of a scenario and write tables, maps and a manifest.

    A scenario with [series.<year>] tables is accounted for every year, at current and
    comparable prices, with growth rates (and a [purchase] payment when given).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gep import execution
    from gep.errors import InputError
    from gep.jobs import run as run_job
    from gep.jobs import series as series_job
    from gep.jobs.starter import demo_scenario

    if demo == (scenario is not None):
        raise InputError("give a scenario file or --demo (one of the two)", hint="e.g. gep run --demo, or gep run my-county/scenario.toml (gep init my-county writes one)", key="scenario")
    scenario = demo_scenario() if demo else scenario
    job = run_job.load(scenario, area=area, chunks=chunks, scheduler=scheduler, workers=workers)
    bar_off = not err.is_terminal and as_json
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err.console, transient=True, disable=bar_off) as bar:
        task = bar.add_task("starting", total=run_job.steps(job))

        def step(message: str) -> None:
            bar.update(task, description=message, advance=1)

        chunk_task = bar.add_task("chunks", total=None, visible=job.chunked)

        def chunk(done: int, total: int) -> None:
            bar.update(chunk_task, completed=done, total=total)

        command = f"gep run {scenario.name}" + (f" --area {area.name}" if area else "")
        with execution.scheduler(scheduler, workers), execution.chunk_progress(chunk if job.chunks else None):
            if job.scenario.series is not None:
                written = series_job.run(job, out_dir, command, step)
            else:
                written = run_job.run(job, out_dir, command, step)
        step("done")
    summary = written.result.summary(written.folder)
    if as_json:
        emit(summary)
    elif summary.get("series"):
        _print_series(summary)
    else:
        _print_summary(summary)


def _table(title: str, *columns: tuple[str, str]) -> "Table":
    """A borderless table (fits 80 columns): ``columns`` as (header, justify)."""
    from rich import box

    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for name, justify in columns:
        t.add_column(name, justify=justify, no_wrap=justify == "right")
    return t


def _print_summary(s: dict) -> None:
    from gep.accounting.catalogue import BY_ID
    from gep.units import format_money, format_number, money_scale, pretty_unit

    scale = money_scale([s["gep_total_cny"]])
    div, unit = scale
    t = _table(f"GEP {s['scenario']} {s['year']} (prices of {s['price_year']}; {s['coefficient_set']})",
               ("service", "left"), ("名称", "left"), ("quantity", "right"), ("unit", "left"), (unit, "right"), ("share", "right"))
    total = s["gep_total_cny"] or 1.0
    for cat, cat_value in s["categories"].items():
        t.add_row(f"[bold]{cat}[/]", "", "", "", f"[bold]{cat_value / div:,.2f}[/]", f"[bold]{cat_value / total:.1%}[/]")
        rows = sorted(((sid, v) for sid, v in s["services"].items() if v["category"] == cat), key=lambda kv: -kv[1]["value_cny"])
        for sid, v in rows:
            q = format_number(v["quantity"])
            t.add_row(f" {sid}", BY_ID[sid].name_zh, q, pretty_unit(v["unit"]), f"{v['value_cny'] / div:,.2f}", f"{v['value_cny'] / total:.1%}")
    t.add_row("[bold]GEP[/]", "合计", "", "", f"[bold]{s['gep_total_cny'] / div:,.2f}[/]", "100%")
    out.print(t)
    say_wrapped("methods: " + ", ".join(f"{sid} {v['method']}" for sid, v in s["services"].items()))
    if s.get("gep_total_cny_comparable") is not None:
        say_wrapped(f"at comparable {s['base_year']} prices: {format_money(s['gep_total_cny_comparable'], scale=scale)}")
    if s.get("gep_gdp_ratio") is not None:
        say_wrapped(f"GEP/GDP = {s['gep_gdp_ratio']:.3f}")
    if s.get("confidence_share"):
        say_wrapped("GEP resting on coefficients that are " + ", ".join(f"{c} {share:.1%}" for c, share in s["confidence_share"].items()))
    if s.get("carbon_stock_tc") is not None:
        say_wrapped(f"carbon stock (not part of GEP): {s['carbon_stock_tc']:,.0f} t C (carbon_stock.csv)")
    for c in s.get("changes", []):
        extra = f", share {c['share_before']:.2%} → {c['share_after']:.2%}" if "share_after" in c else ""
        if c["op"] == "input":
            c = dict(c, note=f"{c['input']} {c['how']}" + (f" ({c['note']})" if c.get("note") else ""))
        say_wrapped(f"change {c.get('label', '')}: {c['op']} {c.get('note', '')} — {c.get('cells', 0):,} cells" + (f", {c['area_ha']:,.2f} ha" if "area_ha" in c else "") + extra)
    for r in s.get("resampled", []):
        say_wrapped(f"resampled {r['name']} ({r['method']}) from {r['from']}")
    if s.get("parcel"):
        p = s["parcel"]
        say_wrapped(f"parcel {p['path']}: polygon {p['polygon_area_ha']:,.2f} ha, {p['area_in_region_ha']:,.2f} ha inside the region ({p['cells']:,} cells weighted by the fraction inside)")
        for f in p.get("features", []):
            say_wrapped(f"  {f['feature']}: {f['area_in_region_ha']:,.2f} ha, GEP {format_money(f['gep_cny'])} (parcels.csv)")
    if s.get("execution"):
        e = s["execution"]
        say_wrapped(f"computed {e['mode']} in blocks of {e['rows_per_block']:,} rows ({e['reason']})")
    for w in s.get("warnings", []):
        say_wrapped(f"warning: {w}", err=True)
    say_wrapped(f"outputs: {s['run_dir']} (report.html)")


def say_wrapped(text: str, err: bool = False) -> None:
    """One plain line, wrapped at the terminal's width (stderr with ``err``)."""
    from gep.cli.shell import err as err_console

    (err_console if err else out).print(escape(text), highlight=False, soft_wrap=False)


def _print_series(s: dict) -> None:
    from gep.units import money_scale

    div, unit = money_scale([r["value_cny"] for r in s["totals"]])
    t = _table(f"GEP series {s['scenario']} (comparable prices of {s['base_year']}; {s['coefficient_set']})",
               ("year", "right"), (f"current [{unit}]", "right"), (f"comparable [{unit}]", "right"), ("growth", "right"), ("real growth", "right"))

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:+.2%}"

    for r in s["totals"]:
        t.add_row(str(r["year"]), f"{r['value_cny'] / div:,.2f}", f"{r['value_cny_comparable'] / div:,.2f}", pct(r["growth_current"]), pct(r["growth_comparable"]))
    out.print(t)
    ag = s["average_growth"]
    say_wrapped(f"average yearly growth {s['years'][0]}–{s['years'][-1]}: current {pct(ag['current'])}, comparable {pct(ag['comparable'])}")
    from gep.units import format_money

    for p in s.get("purchase", []):
        say_wrapped(f"purchase: {p['zone_name']}: GEP {format_money(p['gep_from_cny'])} → {format_money(p['gep_to_cny'])} ({p['basis']}, prices of {p['price_year']}); "
                    f"pays {p['share']:.1%} of the increase = {format_money(p['payment_cny'])}")
    say_wrapped(f"outputs: {s['run_dir']} (one run folder per year inside)")


@app.command("compare")
def compare_cmd(
    base: Path = typer.Argument(..., help="BASE: a scenario .toml or a run folder written by `gep run`."),
    alt: Path = typer.Argument(..., help="ALT: a scenario .toml or a run folder."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/compare-<base>-vs-<alt>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (delta_gep_cny, by_service, by_zone, ...) on stdout."),
    area: Optional[Path] = typer.Option(None, "--area", help="Compare the accounts of this GeoJSON parcel only."),
    chunks: Optional[int] = typer.Option(None, "--chunks", click_type=Number(integer=True, minimum=16), help="Run chunked with dask (see gep run)."),
) -> None:
    """ΔGEP of ALT against BASE by zone × service × category: tables, map, charts and an Excel workbook."""
    from gep.jobs import compare as compare_job

    def status(what: str):
        return err.status(f"computing {what}", spinner="dots") if err.is_terminal else contextlib.nullcontext()

    doc = compare_job.run(base, alt, out_dir, area=area, chunks=chunks, status=status).result.doc
    if as_json:
        emit(doc)
        return
    from gep.units import format_money, money_scale, pretty_unit

    div, unit = money_scale([v["delta_value_cny"] or 0 for v in doc["by_service"].values()] + [doc["delta_gep_cny"]])
    t = _table(f"ΔGEP {doc['alt']['scenario']} − {doc['base']['scenario']}",
               ("category", "left"), ("service", "left"), ("Δ quantity", "right"), ("unit", "left"), (f"Δ {unit}", "right"), ("Δ %", "right"))
    for sid, v in sorted(doc["by_service"].items(), key=lambda kv: (kv[1]["category"], kv[1]["delta_value_cny"] or 0)):
        dq = "—" if v["delta_quantity"] is None else f"{v['delta_quantity']:+,.4g}"
        pct = "—" if v["delta_pct"] is None else f"{v['delta_pct']:+.2%}"
        t.add_row(v["category"], sid, dq, pretty_unit(v["unit"]), f"{(v['delta_value_cny'] or 0) / div:+,.2f}", pct)
    pct = "" if doc["delta_gep_pct"] is None else f"{doc['delta_gep_pct']:+.3%}"
    t.add_row("[bold]GEP[/]", "", "", "", f"[bold]{doc['delta_gep_cny'] / div:+,.2f}[/]", pct)
    out.print(t)
    scale = money_scale([doc["base"]["gep_total_cny"], doc["alt"]["gep_total_cny"]])
    say_wrapped(f"GEP {format_money(doc['base']['gep_total_cny'], 4, scale)} → {format_money(doc['alt']['gep_total_cny'], 4, scale)}")
    stock = doc.get("carbon_stock")
    if stock:
        say_wrapped(f"carbon stock (not part of GEP): {stock['base_tc']:,.0f} → {stock['alt_tc']:,.0f} t C ({stock['delta_tc']:+,.0f} t C; carbon_stock_delta.csv)")
    bad = [k for k, v in doc["checks"].items() if v == "FAIL"]
    if bad:
        err.print(f"[red]checks failed:[/] {', '.join(bad)}")
    say_wrapped(f"outputs: {doc['out_dir']} ({', '.join(doc['outputs'])})")
