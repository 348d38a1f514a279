"""``gep replay`` and ``gep verify``: the auditor's commands (thin: parsing and printing).

Exit codes
----------
``gep replay``: 0 reproduced, 1 not reproduced (values differ or an output file
was edited), 2 usage or input error, 3 inputs, coefficients or the manifest
chain changed or missing, 4 environment differs (``--strict``).
``gep verify``: 0 every case passes, 1 at least one fails, 2 usage error.

See ``docs/auditors.md``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from gep.cli.shell import App, emit, escape, out, show_error, Table

app = App()


def _num(x: float | None, digits: int = 6) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}g}"


def _print_replay(rep, out) -> None:
    from gep.audit.replay import describe_keys

    out.print(f"replay {escape(rep.manifest)} ({rep.kind})", highlight=False)
    if rep.chain:
        out.print(f"  chain: {len(rep.chain)} previous manifest(s) checked", highlight=False)
    else:
        out.print("  chain: no previous manifest", highlight=False)
    if rep.changed:
        for c in rep.changed:
            out.print(f"  [red]{c['problem'].upper() if c['problem'] in ('changed', 'missing') else 'CHANGED'}[/] {c['kind']} {escape(c['name'])}: {escape(c['file'])}"
                      + ("" if c["problem"] in ("changed", "missing") else f" ({escape(c['problem'])})"), highlight=False)
        return
    out.print(f"  inputs, coefficients and scenario: {rep.checked_files} files, SHA-256 as recorded", highlight=False)
    if rep.environment:
        for e in rep.environment:
            out.print(f"  [yellow]environment differs[/] {escape(e['key'])}: recorded {escape(str(e['recorded']))}, now {escape(str(e['current']))}", highlight=False)
    else:
        out.print("  environment: as recorded", highlight=False)
    if rep.exit_code == 4:
        return
    for o in rep.outputs:
        out.print(f"  [red]OUTPUT {o['problem'].split(' ')[0].upper()}[/] {escape(o['name'])}: {escape(o['problem'])}", highlight=False)
    tol = rep.tolerance
    out.print(f"  outputs byte-identical to the re-run: {', '.join(rep.identical) or 'none'}", highlight=False)
    out.print(f"  values compared in the other outputs: {rep.compared}; tolerance {tol.get('absolute')} + {tol.get('relative')}·|value|", highlight=False)
    if rep.differences:
        t = Table(title=f"largest differences ({rep.n_differences} outside tolerance)")
        for col in ("output", "variable", "keys", "recorded", "re-run", "|difference|"):
            t.add_column(col, overflow="fold")
        for d in rep.differences[:20]:
            keys = describe_keys(d.get("keys") or {}) or "—"
            if d.get("problem"):
                keys = f"{keys} ({d['problem']})"
            t.add_row(d["output"], d["variable"], keys, _num(d.get("recorded"), 12) if not isinstance(d.get("recorded"), str) else d["recorded"],
                      _num(d.get("replayed"), 12) if not isinstance(d.get("replayed"), str) else d["replayed"], _num(d.get("abs_diff")))
        out.print(t)
    for n in rep.notes:
        out.print(f"  note: {escape(n)}", highlight=False)


@app.command("replay")
def replay_cmd(
    manifest: Path = typer.Argument(..., help="Manifest of gep run, gep capacity basin, gep bond coverage or gep compare, e.g. runs/<run-id>/manifest.json (or the folder)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 4 when the environment (versions, commit, source hash, platform) differs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Keep the re-run's outputs in this folder (default: a temporary folder)."),
) -> None:
    """Re-run a recorded run and prove it reproduces: chain, hashes, environment, values.

    Exit codes: 0 reproduced; 1 not reproduced (values differ, or an output
    file was edited); 2 usage or input error; 3 an input, coefficient or
    previous-manifest file changed or is missing; 4 environment differs (--strict).
    """
    from gep.audit.replay import replay

    rep = replay(manifest, strict=strict, out_dir=out_dir)
    if as_json:
        emit(rep.to_dict())
    else:
        _print_replay(rep, out)
    if rep.exit_code:
        show_error({
            1: f"not reproduced: {rep.n_differences} value(s) outside tolerance, {len(rep.outputs)} output file(s) changed or missing",
            3: "inputs changed: " + "; ".join(f"{c['kind']} {c['file']} {c['problem']}" for c in rep.changed),
            4: "environment differs: " + ", ".join(e["key"] for e in rep.environment),
        }.get(rep.exit_code, rep.status))
    elif not as_json:
        out.print("[green]REPRODUCED[/]", highlight=False)
    raise typer.Exit(rep.exit_code)



@app.command("verify")
def verify_cmd(
    directory: Optional[Path] = typer.Argument(None, help="Folder of reference cases (default benchmarks/cases)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
    case: Optional[list[str]] = typer.Option(None, "--case", "-k", help="Only cases whose name contains this (repeatable)."),
) -> None:
    """Run the reference calculations and compare with their expected results.

    Prints a pass/fail table with the largest deviation per case; exit 1 if any case fails.
    Identity cases (they read back published numbers, ``identity = true`` in case.toml) are
    marked and counted apart from the engine tests.
    """
    from gep.audit import cases

    folder = directory if directory is not None else cases.default_cases_dir()
    results = cases.run_cases(folder, only=case)
    failed = [r for r in results if not r.passed]
    if as_json:
        engine = [r for r in results if not r.identity]
        emit({"directory": str(folder), "passed": not failed, "n_cases": len(results), "n_failed": len(failed),
              "n_engine_cases": len(engine), "n_engine_failed": sum(not r.passed for r in engine),
              "n_identity_cases": len(results) - len(engine), "cases": [r.to_dict() for r in results]})
    else:
        console = out
        t = Table(title=f"gep verify {folder}")
        for col in ("case", "kind", "checks", "result", "largest deviation", "where"):
            t.add_column(col, overflow="fold")
        for r in results:
            worst = r.worst()
            dev = "—" if worst is None else f"{worst.deviation:.3g} ({worst.rel_deviation:.2g} rel)" if worst.rel_deviation is not None else f"{worst.deviation:.3g}"
            where = escape(r.error) if r.error else ("—" if worst is None else escape(worst.name))
            t.add_row(r.name, f"{r.kind} (identity)" if r.identity else r.kind, f"{sum(c.passed for c in r.checks)}/{len(r.checks)}", "[green]pass[/]" if r.passed else "[red]FAIL[/]", dev, where)
        console.print(t)
        for r in failed:
            for c in r.checks:
                if not c.passed:
                    console.print(f"[red]FAIL[/] {r.name}: {escape(c.name)}: expected {c.expected:.10g}, got {_num(c.actual)} (tolerance {c.allowed:.3g})", highlight=False)
        engine = [r for r in results if not r.identity]
        identities = [r for r in results if r.identity]
        console.print(f"{sum(r.passed for r in engine)}/{len(engine)} engine cases pass", highlight=False)
        if identities:
            console.print(f"{sum(r.passed for r in identities)}/{len(identities)} identity cases pass "
                          f"(they read back published numbers and are not tests of the engine)", highlight=False)
    if failed:
        show_error(f"{len(failed)} case(s) fail: {', '.join(r.name for r in failed)}")
        raise typer.Exit(1)
