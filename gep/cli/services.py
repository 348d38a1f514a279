"""``gep services``: the catalogue of ecosystem services."""

from __future__ import annotations

import typer

from gep.cli.shell import App, emit, out, Table

app = App(help="The catalogue of ecosystem services.")


@app.command("list")
def services_list(as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON.")) -> None:
    """List the services of the catalogue with category, methods, inputs, unit and price keys."""
    from gep.accounting.catalogue import CATALOGUE

    if as_json:
        emit([s.as_dict() for s in CATALOGUE])
        return
    t = Table(title="gep services")
    for col in ("id", "名称", "category", "methods (first = default)", "inputs [unit]", "output unit", "price keys"):
        t.add_column(col)
    for s in CATALOGUE:
        methods = ", ".join(m.name + (f" (needs {', '.join(m.needs)})" if m.needs else "") for m in s.methods)
        inputs = [f"{i.name} [{i.unit}]" + ("" if i.required else "?") for i in s.inputs] + [f"table:{x.name}" + ("" if x.required else "?") for x in s.tables]
        t.add_row(s.id, s.name_zh, s.category, methods, ", ".join(inputs), s.output_unit, ", ".join(s.price_keys))
    out.print("? optional (a look-up table, a default or another input stands in)")
    out.print(t)
