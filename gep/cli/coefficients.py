"""``gep coefficients``: show, verify and (maintainers) rehash coefficient sets."""

from __future__ import annotations

import json
from typing import Optional

import typer

from gep.cli.shell import App, emit, err, escape, out, Table

app = App(help="Coefficient sets: show and verify.")


@app.command("show")
def coefficients_show(
    set_id: str = typer.Argument(..., help="Set id (e.g. cn-2022) or folder."),
    parameter: Optional[str] = typer.Option(None, "--parameter", "-p", help="Only parameters starting with this."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON."),
) -> None:
    """Show a coefficient set: every value with unit, source, year and confidence."""
    from gep.jobs.inputs import coefficient_set

    cs = coefficient_set(set_id)
    rows = cs.table()
    if parameter:
        rows = rows[rows["parameter"].str.startswith(parameter)]
    if as_json:
        emit({"id": cs.id, "version": cs.version, "description": cs.description, "profile": cs.profile, "rows": json.loads(rows.drop(columns=["file"]).to_json(orient="records", force_ascii=False))})
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


@app.command("verify")
def coefficients_verify(
    set_id: Optional[str] = typer.Argument(None, help="One set id, id@version or folder; default all shipped sets and their frozen releases."),
    as_json: bool = typer.Option(False, "--json", help="Print {ok, sets: {set: [problems]}} on stdout."),
) -> None:
    """Check every coefficient file against the SHA-256 in its set's header (manifest.toml), validate the rows, and
    check citations and ranges (rules in gep/data/coefficients/README.md): exit 1 naming file, line and what is missing."""
    from gep.jobs.inputs import coefficient_problems

    problems = {name: [str(p) for p in probs] for name, probs in coefficient_problems(set_id).items()}
    if as_json:
        emit({"ok": not any(problems.values()), "sets": problems})
    else:
        for name, probs in problems.items():
            if probs:
                for p in probs:
                    err.print(f"[red]FAIL[/] {name}: {escape(p)}", highlight=False)
            else:
                out.print(f"[green]ok[/] {name}")
    if any(problems.values()):
        raise typer.Exit(1)


@app.command("rehash")
def coefficients_rehash(set_id: str = typer.Argument(..., help="Set id or folder whose manifest.toml [files] hashes to rewrite.")) -> None:
    """Maintainers: rewrite the file hashes in a set's manifest.toml after releasing a new version."""
    from gep.io.coefficient_files import find_set, write_hashes

    out.print(write_hashes(find_set(set_id)))
