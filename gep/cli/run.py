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
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see docs/scenarios.md)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<run-id>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout instead of the table."),
    chunks: Optional[int] = typer.Option(None, "--chunks", click_type=Number(integer=True, minimum=16), help=f"Run chunked with dask, CHUNKS × CHUNKS cells per chunk (bounded memory; {DEFAULT_CHUNKS} is a good size; default in memory, or [execution] chunks)."),
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
    from gep.jobs import run as run_job
    from gep.jobs import series as series_job

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
    if s.get("confidence_share"):
        out.print("GEP resting on coefficients that are " + ", ".join(f"{c} {share:.1%}" for c, share in s["confidence_share"].items()))
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

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:+.2%}"

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
