"""``gep capacity``: water-ecological-capacity commands (thin: parsing and printing only).

Commands
--------
``reach``   capacity of one or more river reaches with a model from
            :data:`gep.capacity.models.MODELS` (``0d``, ``1d-downstream``, ``1d-head``,
            ``1d-mid``, ``1d-outfall``, ``zhejiang``);
``lake``    capacity of a lake or reservoir (``mixed``, ``dillon-kd``, ``dillon-lm``);
``models``  the model registry;
``basin``   the whole-basin run: capacity of every reach and lake in a table,
            loads from land cover and point sources, credits per catchment ×
            pollutant × vintage, written with a manifest (``docs/capacity.md``).

Quantities are given as strings with units (``"0.2/d"``, ``"10km"``, ``"10 m**3/s"``,
``"25 degC"``); a bare number takes the option's documented default unit. The target
concentration comes from the GB 3838-2002 table by pollutant, ``--class`` and water
body, unless ``--target`` is given.

``gep capacity SCENARIO.toml`` is ``gep capacity basin SCENARIO.toml``: the group
(:class:`CapacityGroup`) reads a first argument ending in ``.toml`` as the basin
command's scenario.

Errors end in the shell's one line (:mod:`gep.cli.shell`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from gep.cli.shell import NUMBER, App, Group, Table, emit, out, say
from gep.errors import InputError


class CapacityGroup(Group):
    """``gep capacity SCENARIO.toml ...`` runs ``gep capacity basin SCENARIO.toml ...``."""

    def resolve_command(self, ctx: typer.Context, args: list[str]):  # noqa: D102
        if args and args[0].endswith(".toml") and args[0] not in self.commands:
            return "basin", self.commands["basin"], args
        return super().resolve_command(ctx, args)


app = App(
    name="capacity",
    cls=CapacityGroup,
    help="Water ecological capacity (水生态容量): river reaches, lakes and reservoirs; whole-basin credits.",
)

#: Default (bare-number) and reporting unit of every quantity option.
UNITS = {
    "cs": "mg/L",
    "c0": "mg/L",
    "flow": "m**3/s",
    "effluent_flow": "m**3/s",
    "outflow": "m**3/s",
    "decay": "1/d",
    "velocity": "m/s",
    "length": "m",
    "temperature": "degC",
    "volume": "m**3",
    "area": "m**2",
    "depth": "m",
}
#: Option that sets each model argument (for messages).
FLAGS = {
    "cs": "--target/--class", "c0": "--upstream", "flow": "--flow", "effluent_flow": "--effluent-flow",
    "outflow": "--outflow", "decay": "--decay", "velocity": "--velocity", "length": "--length",
    "temperature": "--temperature", "theta": "--theta", "b": "--b", "volume": "--volume",
    "area": "--area", "depth": "--depth",
}

def parse_quantity(text: str, default_unit: str, flag: str) -> Any:
    """:func:`gep.units.parse_quantity` (imported on first use: ``gep --help`` does not load pint)."""
    from gep.units import parse_quantity as parse

    return parse(text, default_unit, flag)


def _report(q: Any, unit: str) -> dict:
    from gep.units import convert

    return {"value": float(convert(q.magnitude, f"{q.units}", unit)), "unit": unit}


def _target(pollutant: str, water_class: Optional[str], water_body: str, target: Optional[str]) -> tuple[Any, dict]:
    from gep.capacity.models import target_concentration

    if target is not None:
        q = parse_quantity(target, "mg/L", "--target")
        return q, {"source": "--target", **_report(q, "mg/L")}
    if water_class is None:
        raise InputError("no target concentration", hint="give --class (GB 3838-2002 lookup) or --target", key="water_class")
    from gep.io.capacity_tables import read_standards

    table = read_standards()
    q = target_concentration(table, pollutant, water_class, water_body)
    info = {"source": "GB 3838-2002", "set": {k: table.attrs["set"][k] for k in ("id", "version")}, **_report(q, "mg/L")}
    return q, info


def _model(kind: str, model: str, pollutant: str) -> Any:
    from gep.capacity.loads import canonical_pollutant
    from gep.capacity.models import MODELS

    entry = MODELS.get(model)
    if entry is None or entry.kind != kind:
        names = ", ".join(n for n, m in MODELS.items() if m.kind == kind)
        raise InputError(f"unknown {kind} model {model!r}", hint=f"use one of {names}", where="--model")
    allowed = entry.extra.get("pollutants")
    if allowed and canonical_pollutant(pollutant) not in allowed:
        raise InputError(f"model {model} applies to {', '.join(allowed)} only, not {pollutant}", hint="use the mixed model for other pollutants", where="--pollutant")
    return entry


def _run_model(kind: str, model: str, given: dict[str, Any]) -> tuple[Any, dict, list[str]]:
    import pint

    from gep.capacity.models import MODELS

    entry = MODELS[model]
    missing = [n for n in entry.inputs if given.get(n) is None]
    if missing:
        raise InputError(
            f"model {model} needs {', '.join(FLAGS[n] for n in missing)}",
            hint=f"{model} uses {', '.join(FLAGS[n] for n in entry.inputs)}", where="--model",
        )
    used = {n: given[n] for n in entry.inputs + entry.optional if given.get(n) is not None}
    ignored = sorted(FLAGS[n] for n, v in given.items() if v is not None and n not in used)
    result = entry.function(**used)
    inputs = {}
    for n, v in sorted(used.items()):
        if n == "cs":
            continue
        inputs[n] = _report(v, UNITS[n]) if isinstance(v, pint.Quantity) else {"value": float(v), "unit": "dimensionless"}
    return result, inputs, ignored


def _emit(payload: dict, as_json: bool) -> None:
    if as_json:
        emit(payload)
        return
    
    t = Table(title=f"{payload['command']} capacity: {payload['model']} ({payload['description']})")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_row("pollutant", payload["pollutant"], "")
    if payload.get("class"):
        t.add_row("class", f"{payload['class']} ({payload['water_body']})", "")
    tgt = payload["target"]
    t.add_row("target Cs", f"{tgt['value']:g}", f"{tgt['unit']} ({tgt['source']})")
    for name, v in payload["inputs"].items():
        t.add_row(name, f"{v['value']:g}", v["unit"])
    cap = payload["capacity_t_per_yr"]
    t.add_row("capacity W", f"{cap:,.3f}", "t/yr" + ("  DEFICIT (over-loaded)" if cap < 0 else ""))
    out.print(t)
    if payload["ignored"]:
        say(f"note: {', '.join(payload['ignored'])} not used by model {payload['model']}")


def _given(text: Optional[str], name: str) -> Any:
    """An option's quantity in the unit of :data:`UNITS` (None when not given)."""
    return parse_quantity(text, UNITS[name], FLAGS[name]) if text is not None else None


def _temperature(temperature: Optional[str], theta: Optional[float]) -> dict:
    return {
        "temperature": parse_quantity(temperature, UNITS["temperature"], "--temperature") if temperature is not None else None,
        "theta": theta,
    }


@app.command("reach")
def reach(
    model: str = typer.Option(..., "--model", help="0d, 1d-downstream, 1d-head, 1d-mid, 1d-outfall (= 0d) or zhejiang; a recorded choice."),
    pollutant: str = typer.Option(..., "--pollutant", help="COD, CODMn, BOD5, NH3-N, TP (TN has no river limit: give --target)."),
    water_class: Optional[str] = typer.Option(None, "--class", help="GB 3838-2002 class I-V of the water-function zone."),
    water_body: str = typer.Option("river", "--water-body", help="river or lake: which GB 3838 limit to look up."),
    target: Optional[str] = typer.Option(None, "--target", help="Target concentration Cs instead of the class lookup (mg/L)."),
    flow: str = typer.Option(..., "--flow", help="Design flow Q, e.g. the 90 % driest-month flow (m**3/s)."),
    effluent_flow: str = typer.Option("0", "--effluent-flow", help="Outfall discharge q (m**3/s)."),
    upstream: str = typer.Option(..., "--upstream", help="Upstream concentration C0 (mg/L)."),
    decay: Optional[str] = typer.Option(None, "--decay", help="Decay rate k at 20 degC, e.g. '0.2/d' (1/d)."),
    velocity: Optional[str] = typer.Option(None, "--velocity", help="Mean velocity u (m/s)."),
    length: Optional[str] = typer.Option(None, "--length", help="Reach length, e.g. '10km' (m)."),
    temperature: Optional[str] = typer.Option(None, "--temperature", help="Water temperature for k_T = k*theta^(T-20) (degC; K accepted)."),
    theta: Optional[float] = typer.Option(None, "--theta", click_type=NUMBER, help="Temperature coefficient theta (-)."),
    b: Optional[float] = typer.Option(None, "--b", click_type=NUMBER, help="Zhejiang non-uniformity coefficient b (-) (default 1)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
) -> None:
    """Capacity of a river reach in t/yr; negative is a deficit (over-loaded)."""
    _model("river", model, pollutant)
    cs, tinfo = _target(pollutant, water_class, water_body, target)
    given = {
        "cs": cs, "c0": _given(upstream, "c0"), "flow": _given(flow, "flow"), "effluent_flow": _given(effluent_flow, "effluent_flow"),
        "decay": _given(decay, "decay"), "velocity": _given(velocity, "velocity"), "length": _given(length, "length"), "b": b,
        **_temperature(temperature, theta),
    }
    _finish("reach", "river", model, pollutant, water_class, water_body, tinfo, given, as_json)


@app.command("lake")
def lake(
    model: str = typer.Option(..., "--model", help="mixed, dillon-kd (Kirchner-Dillon retention) or dillon-lm (Larsen-Mercier)."),
    pollutant: str = typer.Option(..., "--pollutant", help="TP or TN for Dillon; COD, CODMn, NH3-N, TP, TN for mixed."),
    water_class: Optional[str] = typer.Option(None, "--class", help="GB 3838-2002 class I-V."),
    target: Optional[str] = typer.Option(None, "--target", help="Target concentration instead of the class lookup (mg/L)."),
    volume: Optional[str] = typer.Option(None, "--volume", help="Lake volume V (m**3)."),
    area: Optional[str] = typer.Option(None, "--area", help="Surface area A, e.g. '5 km**2' (m**2)."),
    depth: Optional[str] = typer.Option(None, "--depth", help="Mean depth h (m); default V/A (Dillon)."),
    outflow: Optional[str] = typer.Option(None, "--outflow", help="Outflow Q, e.g. '2 m**3/s' or '6e7 m**3/yr' (m**3/s)."),
    upstream: Optional[str] = typer.Option(None, "--upstream", help="Inflow concentration C0 (mixed) (mg/L)."),
    decay: Optional[str] = typer.Option(None, "--decay", help="Decay rate k (mixed) (1/d)."),
    temperature: Optional[str] = typer.Option(None, "--temperature", help="Water temperature (degC; K accepted)."),
    theta: Optional[float] = typer.Option(None, "--theta", click_type=NUMBER, help="Temperature coefficient theta (-)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
) -> None:
    """Capacity of a lake or reservoir in t/yr; Dillon gives the total allowable load."""
    _model("lake", model, pollutant)
    cs, tinfo = _target(pollutant, water_class, "lake", target)
    given = {
        "cs": cs, "c0": _given(upstream, "c0"), "outflow": _given(outflow, "outflow"), "volume": _given(volume, "volume"),
        "area": _given(area, "area"), "depth": _given(depth, "depth"), "decay": _given(decay, "decay"),
        **_temperature(temperature, theta),
    }
    _finish("lake", "lake", model, pollutant, water_class, "lake", tinfo, given, as_json)


def _finish(command: str, kind: str, model: str, pollutant: str, water_class: Optional[str], water_body: str,
            tinfo: dict, given: dict, as_json: bool) -> None:
    from gep.capacity.loads import canonical_pollutant
    from gep.capacity.models import MODELS, normalise_class
    from gep.units import convert

    result, inputs, ignored = _run_model(kind, model, given)
    value = float(convert(result.magnitude, f"{result.units}", "t/yr"))
    entry = MODELS[model]
    payload = {
        "command": command,
        "model": model,
        "description": entry.description,
        "reference": entry.reference,
        "pollutant": canonical_pollutant(pollutant),
        "class": normalise_class(water_class) if water_class else None,
        "water_body": water_body,
        "target": tinfo,
        "inputs": inputs,
        "ignored": ignored,
        "capacity_t_per_yr": value,
        "deficit": value < 0,
    }
    _emit(payload, as_json)


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Machine-readable list.")) -> None:
    """List the capacity models, their inputs and references."""
    from gep.capacity.models import MODELS

    rows = [
        {"name": m.name, "kind": m.kind, "inputs": list(m.inputs), "optional": list(m.optional),
         "description": m.description, "reference": m.reference}
        for m in MODELS.values()
    ]
    if as_json:
        emit(rows)
        return
    
    t = Table(title="capacity models")
    for col in ("name", "kind", "inputs", "description", "reference"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["kind"], ", ".join(r["inputs"]), r["description"], r["reference"])
    out.print(t)


@app.command("basin")
def basin(
    scenario: Path = typer.Argument(..., help="Capacity scenario TOML (keys: docs/capacity.md)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/<name>-capacity-<hash>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print totals per pollutant, per-catchment rows and run_dir as JSON."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Credits with ranges: draws of the export coefficients and of the errors in [uncertainty] (≥ 2; docs/uncertainty.md)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draws (with --samples; recorded)."),
    issuable_percentile: Optional[float] = typer.Option(None, "--issuable-percentile", help="With --samples: issue the credits at this percentile of the remaining capacity (e.g. 5), so they are not over-issued; default the deterministic credits."),
) -> None:
    """Whole-basin capacity, loads and credits; writes capacity.csv, credits.csv/.parquet and manifest.json
    (with --samples also credits_uncertainty.csv: percentiles of the issuable credits)."""
    from gep.capacity.basin import totals
    from gep.jobs import capacity_basin

    if issuable_percentile is not None and samples is None:
        raise InputError("--issuable-percentile needs --samples", hint="give e.g. --samples 1000 --issuable-percentile 5", key="issuable_percentile")
    unc = None if samples is None else {"samples": samples, "seed": seed, "issuable_percentile": issuable_percentile}
    command = f"gep capacity basin {scenario.name}" + (f" --samples {samples} --seed {seed}" if samples is not None else "") + (
        f" --issuable-percentile {issuable_percentile:g}" if issuable_percentile is not None else "")
    written = capacity_basin.run(scenario, out_dir, command, uncertainty=unc)
    result, folder, bs = written.result, written.folder, written.result.scenario
    tot = totals(result.credits)
    if as_json:
        rows = result.credits.drop(columns=["inputs"]).to_dict(orient="records")
        payload = {
            "command": "basin", "scenario": bs.name, "vintage": bs.vintage, "safety_margin": bs.safety_margin,
            "totals": tot, "catchments": rows, "unassessed_loads": result.unassessed.to_dict(orient="records"),
            "landcover_conversions": result.conversions, "run_dir": folder.as_posix(),
        }
        if result.uncertainty is not None:
            u = result.uncertainty
            payload["uncertainty"] = {"samples": len(u.draws), "seed": u.seed, "issuable_percentile": u.percentile,
                                      "issuable_t_per_yr": u.totals(), "catchments": u.summary.to_dict(orient="records")}
        emit(payload)
        return
    
    t = Table(title=f"basin {bs.name}, vintage {bs.vintage}, safety margin {bs.safety_margin:.0%}")
    for col in ("pollutant", "capacity t/yr", "load t/yr", "issuable t/yr", "deficit t/yr"):
        t.add_column(col, justify="right")
    for pol, v in tot.items():
        t.add_row(pol, f"{v['capacity_t_per_yr']:,.2f}", f"{v['load_t_per_yr']:,.2f}", f"{v['issuable_t_per_yr']:,.2f}", f"{v['deficit_t_per_yr']:,.2f}")
    out.print(t)
    if result.uncertainty is not None:
        u = result.uncertainty
        issued = f"credits issued at p{u.percentile:g} of the remaining capacity" if u.percentile is not None else "credits issued: deterministic"
        r = Table(title=f"issuable credits with ranges ({len(u.draws)} samples, seed {u.seed}; {issued})")
        for col in ("pollutant", "p5 t/yr", "p50 t/yr", "p95 t/yr", "mean ± se"):
            r.add_column(col, justify="right")
        for pol, s in u.totals().items():
            r.add_row(pol, f"{s['p5']:,.2f}", f"{s['p50']:,.2f}", f"{s['p95']:,.2f}", f"{s['mean']:,.2f} ± {s['se']:,.2f}")
        out.print(r)
    say(f"run folder: {folder.as_posix()}")
