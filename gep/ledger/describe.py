"""One-line descriptions of log records, for people (history, statements, certificates)."""

from __future__ import annotations

from decimal import Decimal

from gep.ledger.model import CASH, Instrument, normalise_decimal

__all__ = ["describe"]

_CASH = Instrument.parse(CASH)


def describe(record: dict) -> str:
    """A one-line human description of a log record."""
    r = record["request"]
    t = r["type"]
    market = _market(record)
    if market is not None:
        return market
    if t == "init":
        p = r["params"]
        shares = ", ".join(f"{k} {normalise_decimal(Decimal(v) * 100)} %" for k, v in sorted(p["buffer_share"].items()))
        binds = "".join(f", {name} {what}" for name, what in p.get("rules", {}).items())
        return f"genesis: registry {r['registry'][:16]}…, coefficients {p['coefficients']['id']} {p['coefficients']['version']}, buffer {shares}{binds}"
    if t == "open":
        extra = (f", zone {r['zone']}" if "zone" in r else "") + (f", {r['role']}" if "role" in r else "")
        return f"open account {r['account']} (owner {r['owner'][:16]}…{extra})"
    ins = Instrument.parse(r["instrument"])
    if t == "recalculate":
        rc = record["effects"]["recalculation"]
        excess = f", {ins.display(rc['excess'])} issued beyond it" if rc["excess"] else ""
        return (f"recalculate {ins.id}: cap {ins.display(rc['from']['cap'])} (run {rc['from']['manifest_sha256'][:12]}…) → "
                f"{ins.display(rc['to']['cap'])} (run {rc['to']['manifest_sha256'][:12]}…){excess}")
    amount = ins.display(r["amount"])
    if t == "issue":
        buf = record["effects"].get("buffer", {}).get("amount", 0)
        extra = f", {ins.display(buf)} withheld into sys:buffer" if buf else ""
        return f"issue {amount} of {ins.id} to {r['to']}{extra}"
    if t == "transfer":
        price = f" at {r['price']} CNY/({ins.display_unit})" if "price" in r else ""
        terms = f", terms {r['dvp']['terms'][:12]}…" if "terms" in r.get("dvp", {}) else ""
        leg = f" (DvP batch {r['dvp']['batch']}, {r['dvp']['legs']} legs{terms})" if "dvp" in r else ""
        return f"transfer {amount} of {ins.id} {r['from']} → {r['to']}{price}{leg}"
    if t == "retire":
        return f"retire {amount} of {ins.id} from {r['from']}" + (f" for {r['beneficiary']}" if "beneficiary" in r else "")
    if t == "cancel":
        return f"cancel {amount} of {ins.id} from {r['from']}"
    return t


def _market(record: dict) -> str | None:
    """A description of a market record (None for the ledger's other types)."""
    r, e = record["request"], record["effects"]
    t = r["type"]
    if t == "deposit":
        return f"deposit {_CASH.display(r['amount'])} to {r['account']}" + (f" (ref {r['reference']})" if "reference" in r else "")
    if t == "withdraw":
        return f"withdraw {_CASH.display(r['amount'])} from {r['account']}" + (f" (ref {r['reference']})" if "reference" in r else "")
    if t == "define":
        ins = Instrument.parse(r["instrument"])
        return f"define {ins.id}: total {ins.display(r['terms']['total'])}, valid {r['terms']['valid_from']} .. {r['terms']['valid_until']}"
    if t == "allocate":
        ins = Instrument.parse(r["instrument"])
        fee = f", paid-use fee {_CASH.display(e['fee']['fen'])} to {e['fee']['payee']}" if "fee" in e else ""
        return f"allocate {ins.display(r['amount'])} of {ins.id} to {r['to']}{fee}"
    if t == "ratios":
        return f"trading ratios {r['table']['version']}: {len(r['table']['rows'])} pairs"
    if t == "list":
        ins = Instrument.parse(r["instrument"])
        return f"listing {record['seq']}: {r['account']} {r['side']}s {ins.display(r['quantity'])} of {ins.id}, {r['mechanism']}, {r['price']} CNY/({ins.display_unit}), closes {r['closes']}"
    if t == "bid":
        ins = Instrument.parse(r["instrument"])
        done = "; ".join(_trade_text(x) for x in e.get("trades", []))
        return f"bid by {r['account']} on listing {r['listing']}: {ins.display(r['quantity'])} at {r['price']}" + (f" — {done}" if done else "")
    if t == "commit":
        return f"sealed bid by {r['account']} on listing {r['listing']} (escrow {_CASH.display(r['escrow'])})"
    if t == "reveal":
        return f"reveal of sealed bid {r['commit']} on listing {r['listing']}: quantity {r['quantity']} at {r['price']}"
    if t == "settle":
        done = "; ".join(_trade_text(x) for x in e.get("trades", [])) or "no trade"
        return f"settle listing {r['listing']}: {done}"
    if t == "delist":
        return f"cancel listing {r['listing']}"
    if t == "oblige":
        return f"obligation of {r['account']} for {r['period']}: {r['kind']}" + (f" {r['pollutant']}" if "pollutant" in r else "") + f", due {r['due']}"
    if t == "surrender":
        ins = Instrument.parse(r["instrument"])
        return f"surrender {ins.display(r['amount'])} of {ins.id} by {r['from']} against obligation {r['obligation']}"
    return None


def _trade_text(t: dict) -> str:
    ins = Instrument.parse(t["instrument"])
    ratio = f" (ratio 1:{t['ratio']}, {ins.display(t['received'])} received)" if t["ratio"] != "1" else ""
    return f"{t['seller']} → {t['buyer']} {ins.display(t['quantity'])} at {t['price']} for {_CASH.display(t['payment'])}{ratio}"

