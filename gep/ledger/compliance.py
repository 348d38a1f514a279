"""Compliance: an emitter's obligation for a period, and the rights it surrenders against it.

``oblige`` (registry)
    Records what ``account`` must cover for ``period`` (a year): its verified energy
    consumption (``kind`` energy, kgce) or discharge of a ``pollutant`` (``kind`` emission or
    capacity, kg/yr), or carbon (kg CO2e), with ``source`` (the verified monitoring or
    energy-audit report) and the time it is ``due`` (the compliance deadline, e.g. 履约期
    end). Zhejiang's energy-use rights measures (浙发改能源〔2019〕358号) tie the right to
    the energy a unit consumes in a period; the 2023 emission-rights measures tie the right to
    the discharge its permit allows.
``surrender`` (owner of ``from``)
    Moves rights into ``sys:retirement`` against the obligation (final), before it is due.
    A right fits the obligation when it is of the same kind (and pollutant), valid during the
    period (energy, emission: the validity period overlaps the year; capacity: vintage = the
    year; carbon: vintage no later than the year) and not expired; no more than what is still
    required may be surrendered (a surplus is retired with ``gep ledger retire``).

:func:`status` reports each obligation as ``met`` (surrendered ≥ required), ``short`` (due
and not met: the shortfall is reported) or ``open`` (not yet due).
"""

from __future__ import annotations

import json
from typing import Any

from gep.ledger import clock
from gep.ledger.errors import InvalidRequest
from gep.ledger.model import ALLOCATED_KINDS, RETIREMENT, Instrument
from gep.ledger.rules import APPLY as REQUESTS
from gep.ledger.rules import Context, Moves, State, live_instrument, need_account, need_owner, need_registry

__all__ = ["KINDS", "fits", "status", "APPLY"]

#: Kinds an obligation may be for.
KINDS = ("energy", "emission", "capacity", "carbon")


def fits(ins: Instrument, binding: str, obligation: dict) -> str | None:
    """Why ``ins`` cannot be surrendered against ``obligation`` (None when it can)."""
    if ins.kind != obligation["kind"]:
        return f"{ins.id} is a {ins.kind} right, the obligation is for {obligation['kind']}"
    if "pollutant" in obligation and ins.get("pollutant") != obligation["pollutant"]:
        return f"{ins.id} is for {ins.get('pollutant')}, the obligation for {obligation['pollutant']}"
    year = obligation["period"]
    if ins.kind in ALLOCATED_KINDS:
        terms = json.loads(binding)
        if terms["valid_from"] > f"{year}-12-31" or terms["valid_until"] < f"{year}-01-01":
            return f"{ins.id} is valid {terms['valid_from']} .. {terms['valid_until']}, not during {year}"
    elif ins.kind == "capacity" and ins.vintage != year:
        return f"{ins.id} is of vintage {ins.vintage}, the obligation of {year}"
    elif ins.kind == "carbon" and ins.vintage > year:
        return f"{ins.id} is of vintage {ins.vintage}, later than {year}"
    return None


def status(obligation: dict, time: str) -> str:
    """``met``, ``short`` (due and not met) or ``open``, at record time ``time``."""
    if obligation["surrendered"] >= obligation["amount"]:
        return "met"
    return "short" if time >= obligation["due"] else "open"


def _apply_oblige(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    acc = need_account(state, request["account"], "obliged")
    if not acc.is_user:
        raise InvalidRequest(f"obligations fall on user accounts, not {acc.id}")
    kind = request["kind"]
    if kind not in KINDS:
        raise InvalidRequest(f"obligation kind {kind!r} is not one of {', '.join(KINDS)}")
    period = request["period"]
    if not isinstance(period, int) or isinstance(period, bool) or not 1900 <= period <= 2999:
        raise InvalidRequest(f"period {period!r} is not a year")
    doc: dict[str, Any] = {"account": acc.id, "kind": kind, "period": period, "amount": request["amount"], "surrendered": 0}
    if kind in ("emission", "capacity"):
        if "pollutant" not in request:
            raise InvalidRequest(f"a {kind} obligation names its pollutant")
        from gep.ledger.instruments import POLLUTANTS

        if request["pollutant"] not in POLLUTANTS:
            raise InvalidRequest(f"pollutant {request['pollutant']!r} is not one of {', '.join(POLLUTANTS)} (canonical spelling)")
        doc["pollutant"] = request["pollutant"]
    elif "pollutant" in request:
        raise InvalidRequest(f"a {kind} obligation has no pollutant")
    doc["due"] = clock.utc(request["due"], "due")
    if doc["due"] <= ctx.time:
        raise InvalidRequest(f"the obligation would be due at {doc['due']}, which has passed", hint="give a later due time", key="due")
    if "source" in request:
        if not isinstance(request["source"], str) or len(request["source"]) > 500:
            raise InvalidRequest("source must be text of at most 500 characters (the verified report)")
        doc["source"] = request["source"]
    state.market_put("obligation", str(ctx.seq), doc, ctx.seq)
    return {"obligation": {"id": ctx.seq, "account": acc.id, "kind": kind, "period": period, "amount": doc["amount"], "due": doc["due"]}}


def _apply_surrender(state: State, request: dict, ctx: Context) -> dict:
    ins = live_instrument(state, request["instrument"], ctx)
    src = need_account(state, request["from"], "surrendering")
    if not src.is_user:
        raise InvalidRequest(f"rights are surrendered from user accounts, not {src.id}")
    need_owner(state, src, request)
    ref = request["obligation"]
    doc = state.market_get("obligation", str(ref)) if isinstance(ref, int) and not isinstance(ref, bool) else None
    if doc is None:
        raise InvalidRequest(f"there is no obligation {ref!r}", hint="see `gep ledger market compliance`")
    if doc["account"] != src.id:
        raise InvalidRequest(f"obligation {ref} falls on {doc['account']}, not {src.id}")
    if ctx.time >= doc["due"]:
        raise InvalidRequest(f"obligation {ref} was due at {doc['due']}; it is {ctx.time}", hint="a shortfall is reported; the registry decides the sanction")
    why = fits(ins, state.instrument(ins.id)["binding"], doc)
    if why:
        raise InvalidRequest(f"cannot surrender against obligation {ref}: {why}")
    left = doc["amount"] - doc["surrendered"]
    amount = request["amount"]
    if amount > left:
        raise InvalidRequest(f"obligation {ref} needs {ins.display(left)} more, less than {ins.display(amount)}",
                             hint="surrender what is required; retire a surplus with `gep ledger retire`")
    moves = Moves(state, ctx)
    moves.move(ins, src.id, RETIREMENT, amount)
    doc = {**doc, "surrendered": doc["surrendered"] + amount}
    state.market_put("obligation", str(ref), doc, ctx.seq)
    return moves.effects(surrender={"obligation": ref, "required": doc["amount"], "surrendered": doc["surrendered"], "met": doc["surrendered"] >= doc["amount"]})


APPLY = {"oblige": _apply_oblige, "surrender": _apply_surrender}
REQUESTS.update(APPLY)  # registered with gep.ledger.rules.apply
