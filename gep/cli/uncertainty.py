"""``gep uncertainty SCENARIO``: GEP with ranges and its drivers (thin: parsing, progress and printing)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gep.cli.shell import App, emit, err, escape, out, Table

app = App()


@app.command("uncertainty")
def uncertainty_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file; its [uncertainty] table declares input errors, ranges and correlations (docs/uncertainty.md)."),
    samples: int = typer.Option(1024, "--samples", help="Samples for the percentiles (≥ 2; rounded up to even: the A and B matrices of the Saltelli design)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the scrambled Sobol' design (recorded; the same seed gives the same outputs)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<scenario>-<year>-uncertainty-<hash>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (gep_total_cny {p5, p50, p95, mean, se}, sensitivity, ...) on stdout."),
    chunks: Optional[int] = typer.Option(None, "--chunks", min=16, help="Build the landscape chunked with dask, CHUNKS × CHUNKS cells per chunk."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes for engine runs (default: the CPUs available; results do not depend on it; with --chunks dask's threads share each run instead)."),
    verify: int = typer.Option(2, "--verify", min=0, help="Samples recomputed by the whole engine and compared with the fast path (0: none)."),
    exact: bool = typer.Option(False, "--exact", help="Compute every service by the engine for every sample (no model): slow, for checking."),
) -> None:
    """Percentiles (p5, p50, p95, mean, standard error) of GEP, categories, services and zones over every
    coefficient's range, and the coefficients that drive them (Sobol' first-order and total indices)."""
    import contextlib

    from gep.jobs import uncertainty as job_mod

    job = job_mod.load(scenario, samples=samples, seed=seed, chunks=chunks, workers=workers, verify=verify, exact=exact)
    status = err.status("starting", spinner="dots") if err.is_terminal else contextlib.nullcontext()
    with status as s:
        def step(message: str) -> None:
            if s is not None:
                s.update(message)

        command = f"gep uncertainty {scenario.name} --samples {samples} --seed {seed}" + (" --exact" if exact else "")
        written = job_mod.run(job, out_dir, command, step)
    doc = written.result.summary(written.folder)
    if as_json:
        emit(doc)
        return
    g = doc["gep_total_cny"]
    t = Table(title=f"GEP {doc['scenario']} {doc['year']} with ranges ({doc['samples']} samples, seed {doc['seed']}, coefficients {doc['coefficient_set']})")
    for col in ("", "p5", "p50", "p95", "mean ± se", "deterministic"):
        t.add_column(col, justify="left" if not col else "right")

    def row(name: str, r: dict) -> None:
        t.add_row(name, *(f"{r[k] / 1e8:,.3f}" for k in ("p5", "p50", "p95")), f"{r['mean'] / 1e8:,.3f} ± {r['se'] / 1e8:,.3f}",
                  f"{r['deterministic'] / 1e8:,.3f}")

    row("[bold]GEP[/] [10⁸ CNY]", dict(g, deterministic=doc["gep_deterministic_cny"]))
    for name, r in doc["categories"].items():
        row(f"  {name}", r)
    for name, r in doc["services"].items():
        row(f"    {name}", r)
    out.print(t)
    s = Table(title="what drives GEP (Sobol' indices)")
    for col in ("rank", "coefficient or input", "S1", "ST"):
        s.add_column(col, justify="right" if col in ("rank", "S1", "ST") else "left")
    for r in doc["sensitivity"][:12]:
        s.add_row(str(r["rank"]), escape(r["name"]), f"{r['S1']:.3f}", f"{r['ST']:.3f}")
    out.print(s)
    slow = [u["unit"] for u in doc["units"] if u["method"].startswith("per sample")]
    out.print(f"{doc['variables']} variables sampled, {doc['fixed']} held fixed; per-sample engine runs: {', '.join(slow) or 'none'}")
    if doc["checks"]:
        out.print(f"verified against the engine at {len(doc['checks']['verified_samples'])} samples: largest relative difference of GEP {doc['checks']['max_relative_difference_gep']:.1e}")
    out.print(f"outputs: {doc['run_dir']}")
