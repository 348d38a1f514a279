"""``gep services``: the catalogue of ecosystem services."""

from __future__ import annotations

import typer

from gep.cli.shell import App, emit, escape, out

app = App(help="The catalogue of ecosystem services.")


@app.command("list")
def services_list(as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON.")) -> None:
    """List the services of the catalogue with category, methods, inputs, unit and price keys."""
    from gep.accounting.catalogue import CATALOGUE

    if as_json:
        emit([s.as_dict() for s in CATALOGUE])
        return
    import textwrap

    from gep.units import pretty_unit

    width = max(40, out.width)
    for s in CATALOGUE:
        out.print(f"[bold]{s.id}[/] {s.name_zh} ({s.category}) → {pretty_unit(s.output_unit) if not s.output_unit.startswith('various') else s.output_unit}", highlight=False)
        methods = ", ".join(m.name + (" (default)" if i == 0 else "") + (f" (needs {', '.join(m.needs)})" if m.needs else "") for i, m in enumerate(s.methods))
        inputs = [f"{i.name} [{pretty_unit(i.unit)}]" + ("" if i.required else "?") + (f" ({', '.join(i.methods)})" if i.methods and len(s.methods) > 1 else "") for i in s.inputs]
        inputs += [f"table {x.name}" + ("" if x.required else "?") for x in s.tables]
        for label, text in (("methods", methods), ("inputs", ", ".join(inputs) or "—"), ("prices", ", ".join(s.price_keys))):
            out.print(escape(textwrap.fill(text, width=width, initial_indent=f"  {label:<8} ", subsequent_indent=" " * 11, break_on_hyphens=False)), highlight=False)
    out.print(escape(textwrap.fill("? optional (a look-up table, a default or another input stands in); (method): read by that method only", width=width)), highlight=False)
