"""``gep ledger market``, ``gep ledger statement`` and ``gep ledger certificate``: the market on the command line.

Three parts, mounted on ``gep ledger`` by :mod:`gep.cli.app`: the ``market`` group
(:data:`app`), the ``certificate`` group (:data:`certificate_app`) and the ``statement``
command (:func:`statement_cmd`). The conventions and helpers are those of ``gep ledger``
(:mod:`gep.cli.ledger`): ``--db`` / ``$GEP_LEDGER``, ``--json``, ``--id``, ``--memo``;
writing needs the registry key as head key (``--head-key`` / ``$GEP_LEDGER_HEAD_KEY``;
registry-signed commands use their ``--key``); participants without it sign with
``--sign-only`` and hand the request to the registry (``gep ledger batch``). A refused
request or bad input prints one line on stderr and exits 2, and nothing is written;
a certificate that fails verification exits 1.

Quantities are text with a unit (``"2 t"``, ``"1.5 tce"``) or integers of the base unit;
prices are CNY per display unit (t/yr, t CO2e, tce); cash is ``"5000 CNY"`` or fen;
times are ISO 8601 with a zone (``2026-12-01T17:00:00+08:00``); dates are Beijing dates.
See docs/market.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, List, Optional

import typer

from gep.cli.ledger import (DbOpt, HeadKeyOpt, IdOpt, JsonOpt, MemoOpt, SignOnlyOpt, emit_signed, load_key, open_ledger, parse_count,
                            public_keys, read_heads, registry_write, report)
from gep.cli.shell import App, Table, emit, out, say

__all__ = ["app", "statement_cmd", "certificate_app"]

app = App(name="market", help="The market: cash, energy-use and emission rights, listings, auctions, trades, trading ratios, compliance.")
ratios_app = App(help="Trading ratios between zones: check, publish, show.")
app.add_typer(ratios_app, name="ratios")
certificate_app = App(help="Certificates of transfer, retirement, surrender or trade: issue, verify offline.")

KeyOpt = typer.Option(..., "--key", help="Private key that signs the request (the account's owner; the registry for registry operations).")
RegistryKeyOpt = typer.Option(..., "--key", help="Registry private key file.")


def _market(db: Optional[str], head_key: Any = None):
    from gep.ledger.market import Market

    return Market(open_ledger(db, head_key))


def _submit_or_print(m: Any, signed: Any, sign_only: bool, as_json: bool) -> Any:
    if sign_only:
        emit_signed(signed)
        return None
    result = m.ledger.submit(signed)
    report(result, as_json)
    return result


def _date(text: str, what: str) -> date:
    from gep.ledger import clock

    clock.day_start(text, what)  # one-line refusal of a bad date
    return date.fromisoformat(text)


def _table(title: str, rows: list[dict], columns: list[str]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    out.print(t)


# --------------------------------------------------------------------------- rights and cash


@app.command("define")
def define_cmd(
    instrument: str = typer.Argument(..., help="energy/<region>/<year> or emission/<catchment>/<pollutant>/<vintage>."),
    total: str = typer.Option(..., "--total", help="What may be allocated in all ('50000 tce', '120 t')."),
    valid_from: str = typer.Option(..., "--valid-from", help="First day of validity (Beijing date YYYY-MM-DD)."),
    valid_until: str = typer.Option(..., "--valid-until", help="Last day of validity (Beijing date; expired rights cannot move)."),
    source: str = typer.Option(..., "--source", help="The allocation document (plan, decision number)."),
    fee: Optional[str] = typer.Option(None, "--fee", help="Paid-use fee (有偿使用费) in CNY per display unit per year, paid at allocation."),
    fee_years: Optional[str] = typer.Option(None, "--fee-years", help="With --fee: years paid for (1-50)."),
    fee_payee: Optional[str] = typer.Option(None, "--fee-payee", help="With --fee: the account receiving the fee (e.g. the finance bureau's)."),
    key: Path = RegistryKeyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Define an energy-use or emission right with its terms (registry key only; fixed once)."""
    from gep.ledger.market import Market

    years = parse_count(fee_years, "--fee-years", 1) if fee_years is not None else None
    led, reg = registry_write(db, key, head_key)
    with led:
        report(Market(led).define(reg, instrument, total, valid_from, valid_until, source, fee, years, fee_payee, id=id, memo=memo), as_json)


@app.command("allocate")
def allocate_cmd(
    instrument: str = typer.Argument(..., help="A defined energy-use or emission right."),
    amount: str = typer.Argument(..., help="Amount ('1200 tce', '1.5 t')."),
    to: str = typer.Option(..., "--to", help="Recipient account (pays the paid-use fee from its cash, if the terms set one)."),
    key: Path = RegistryKeyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Allocate a defined right to an account (registry key only), within its total."""
    from gep.ledger.market import Market

    led, reg = registry_write(db, key, head_key)
    with led:
        report(Market(led).allocate(reg, instrument, amount, to, id=id, memo=memo), as_json)


def _cash_cmd(kind: str) -> Any:
    def cmd(
        account: str = typer.Argument(..., help="User account."),
        amount: str = typer.Argument(..., help="Money: '5000 CNY', '3 wan_CNY', or an integer of fen."),
        reference: Optional[str] = typer.Option(None, "--reference", help="The bank transfer's reference."),
        key: Path = RegistryKeyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
        head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
    ) -> None:
        from gep.ledger.market import Market

        led, reg = registry_write(db, key, head_key)
        with led:
            report(getattr(Market(led), kind)(reg, account, amount, reference, id=id, memo=memo), as_json)

    return cmd


app.command("deposit", help="Record money the market operator received for an account (registry key only): cash/CNY.")(_cash_cmd("deposit"))
app.command("withdraw", help="Record money the market operator paid out of an account (registry key only).")(_cash_cmd("withdraw"))


@app.command("instruments")
def instruments_cmd(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Energy-use and emission rights defined: terms, allocated, expiry."""
    with _market(db) as m:
        rows = m.instruments()
    if as_json:
        emit(rows)
        return
    _table("defined rights", [{**r, "total": r["terms"]["total"], "valid": f"{r['terms']['valid_from']} .. {r['terms']['valid_until']}",
                               "fee": r["terms"].get("fee", {}).get("cny_per_unit_year", "")} for r in rows],
           ["instrument", "valid", "total", "allocated_display", "fee", "expires"])


# --------------------------------------------------------------------------- ratios


@ratios_app.command("check")
def ratios_check_cmd(
    file: Path = typer.Argument(..., help="ratios.csv (or its coefficient-set folder)."),
    version: Optional[str] = typer.Option(None, "--version", help="Table version, when the file is not part of a coefficient set."),
    as_json: bool = JsonOpt,
) -> None:
    """Check a ratio table without a ledger: columns, ratios, and that no loop multiplies to 1 or less."""
    from gep.io.ledger_files import read_ratio_file
    from gep.ledger.ratios import check_table, table as ratio_table

    table = ratio_table(read_ratio_file(file), version)
    pairs = check_table(table)
    zones = sorted({z for p in pairs for z in p})
    if as_json:
        emit({"ok": True, "version": table["version"], "pairs": len(pairs), "zones": zones})
        return
    say(f"ok: ratio table {table['version']}: {len(pairs)} pairs between {len(zones)} zones, no loop")


@ratios_app.command("publish")
def ratios_publish_cmd(
    file: Path = typer.Argument(..., help="ratios.csv (or its coefficient-set folder, e.g. gep/data/coefficients/market-2026)."),
    version: Optional[str] = typer.Option(None, "--version", help="Table version, when the file is not part of a coefficient set."),
    key: Path = RegistryKeyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Publish a trading-ratio table in the ledger (registry key only); it applies to every later trade."""
    from gep.io.ledger_files import read_ratio_file
    from gep.ledger.market import Market
    from gep.ledger.ratios import check_table, table as ratio_table

    table = ratio_table(read_ratio_file(file), version)
    check_table(table)  # a loop is refused before anything is signed
    led, reg = registry_write(db, key, head_key)
    with led:
        report(Market(led).publish_ratios(reg, table, id=id, memo=memo), as_json)


@ratios_app.command("show")
def ratios_show_cmd(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """The ratio table in force."""
    with _market(db) as m:
        doc = m.ratios()
    if as_json:
        emit(doc)
        return
    if doc is None:
        say("no ratio table published: zone-bound rights move only within a zone")
        return
    say(f"ratio table {doc['version']} (transaction {doc['seq']}): {doc['source']}")
    _table("trading ratios (seller zone → buyer zone)", [{"from": k.split(">")[0], "to": k.split(">")[1], "ratio": v} for k, v in sorted(doc["pairs"].items())],
           ["from", "to", "ratio"])


# --------------------------------------------------------------------------- listings and bids


@app.command("list")
def list_cmd(
    instrument: str = typer.Argument(..., help="The right offered (or wanted, --side buy)."),
    quantity: str = typer.Argument(..., help="Quantity ('2 t', '500 tce')."),
    account: str = typer.Option(..., "--account", help="The listing account (owned by --key)."),
    price: str = typer.Option(..., "--price", help="Posted price (fixed, negotiated) or reserve price (auctions), CNY per display unit."),
    closes: str = typer.Option(..., "--closes", help="End of bidding (ISO 8601 with a zone)."),
    mechanism: str = typer.Option("fixed", "--mechanism", help="fixed (挂牌), negotiated (协议转让), ascending or sealed (竞价)."),
    side: str = typer.Option("sell", "--side", help="sell, or buy (a purchase order, e.g. a reserve purchase 收储; fixed or negotiated)."),
    opens: Optional[str] = typer.Option(None, "--opens", help="Start of bidding (default: when recorded)."),
    increment: Optional[str] = typer.Option(None, "--increment", help="Minimum increment (ascending: required) or price tick (sealed), CNY per unit."),
    min_lot: Optional[str] = typer.Option(None, "--min-lot", help="Smallest partial fill (default: 1 base unit; negotiated and ascending: the whole quantity)."),
    reveal_until: Optional[str] = typer.Option(None, "--reveal-until", help="Sealed: end of the reveal period (after --closes)."),
    settle_by: Optional[str] = typer.Option(None, "--settle-by", help="Auctions: settlement deadline."),
    counterparty: Optional[str] = typer.Option(None, "--counterparty", help="Negotiated: the only account that may take it."),
    bond: Optional[str] = typer.Option(None, "--bond", help="Sealed: bid bond forfeited by a commitment never revealed ('500 CNY')."),
    key: Path = KeyOpt, sign_only: bool = SignOnlyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """List rights for sale (or a purchase order): the quantity (or its price in cash) moves into the market's escrow."""
    with _market(db, None if sign_only else head_key) as m:
        signed = m.listing_request(load_key(key), account, instrument, quantity, price, closes=closes, mechanism=mechanism, side=side, opens=opens,
                                   increment=increment, min_lot=min_lot, reveal_until=reveal_until, settle_by=settle_by,
                                   counterparty=counterparty, bond=bond, id=id, memo=memo)
        _submit_or_print(m, signed, sign_only, as_json)


@app.command("bid")
def bid_cmd(
    listing: str = typer.Argument(..., help="Listing id (the sequence number of its list transaction)."),
    quantity: str = typer.Argument(..., help="Quantity bid for (an ascending auction: the whole lot)."),
    account: str = typer.Option(..., "--account", help="The bidding account (owned by --key)."),
    instrument: str = typer.Option(..., "--instrument", help="The listing's instrument (a bid names what it buys)."),
    price: str = typer.Option(..., "--price", help="CNY per display unit (fixed, negotiated: the listing's price)."),
    key: Path = KeyOpt, sign_only: bool = SignOnlyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Bid on a fixed, negotiated or ascending listing (fixed and negotiated fill at once, delivery versus payment)."""

    n = parse_count(listing, "listing", 1)
    with _market(db, None if sign_only else head_key) as m:
        _submit_or_print(m, m.bid_request(load_key(key), n, account, instrument, quantity, price, id=id, memo=memo), sign_only, as_json)


@app.command("commit")
def commit_cmd(
    listing: str = typer.Argument(..., help="Listing id of a sealed-bid auction."),
    quantity: str = typer.Argument(..., help="Quantity bid for."),
    account: str = typer.Option(..., "--account", help="The bidding account (owned by --key)."),
    instrument: str = typer.Option(..., "--instrument", help="The listing's instrument."),
    price: str = typer.Option(..., "--price", help="Bid price, CNY per display unit (kept secret until the reveal)."),
    escrow: str = typer.Option(..., "--escrow", help="Cash held until settlement ('30000 CNY'): at least the bid's cost and the bond; more hides the bid better."),
    opening: Path = typer.Option(..., "--opening", help="File to write the opening (quantity, price, salt) to, mode 0600: keep it for the reveal."),
    key: Path = KeyOpt, sign_only: bool = SignOnlyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Commit to a sealed bid: only SHA-256(listing, account, quantity, price, salt) and the escrow are recorded."""
    import json
    import os

    from gep.ledger.errors import InvalidRequest

    if opening.exists():
        raise InvalidRequest(f"{opening} exists: an opening is never overwritten", hint="choose another --opening file")
    n = parse_count(listing, "listing", 1)
    with _market(db, None if sign_only else head_key) as m:
        signed, op = m.commit_request(load_key(key), n, account, instrument, quantity, price, escrow, id=id, memo=memo)
        fd = os.open(opening, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({**op.as_dict(), "request_id": signed.request["id"], "commitment": op.commitment}, fh, indent=1, sort_keys=True)
        result = _submit_or_print(m, signed, sign_only, as_json)
    if result is not None:
        with opening.open("r+", encoding="utf-8") as fh:
            doc = json.load(fh)
            doc["commit"] = result.seq
            fh.seek(0)
            json.dump(doc, fh, indent=1, sort_keys=True)
            fh.truncate()


@app.command("reveal")
def reveal_cmd(
    opening: Path = typer.Option(..., "--opening", help="The opening file written by `commit`."),
    commit: Optional[str] = typer.Option(None, "--commit", help="The commitment's transaction number (default: from the opening file)."),
    key: Path = KeyOpt, sign_only: bool = SignOnlyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Reveal a sealed bid (after the close, before --reveal-until)."""
    from gep.io.ledger_files import read_json
    from gep.ledger.errors import InvalidRequest
    from gep.ledger.market import Opening

    doc = read_json(opening, "opening")
    ref = parse_count(commit, "--commit", 1) if commit is not None else doc.get("commit")
    if not isinstance(ref, int):
        raise InvalidRequest(f"{opening} does not name its commitment's transaction", hint="give --commit SEQ (see `gep ledger market book LISTING`)")
    try:
        op = Opening(**{k: doc[k] for k in ("listing", "account", "quantity", "price", "salt")})
    except (KeyError, TypeError) as exc:
        raise InvalidRequest(f"{opening} is not an opening written by `gep ledger market commit`") from exc
    with _market(db, None if sign_only else head_key) as m:
        _submit_or_print(m, m.reveal_request(load_key(key), op, ref, id=id, memo=memo), sign_only, as_json)


def _listing_cmd(verb: str) -> Any:
    def cmd(
        listing: str = typer.Argument(..., help="Listing id."),
        key: Path = typer.Option(..., "--key", help="Registry key, or the lister's key."),
        db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
    ) -> None:
        from gep.ledger.market import Market

        n = parse_count(listing, "listing", 1)
        led, pair = registry_write(db, key, head_key)  # the registry's key also signs the head
        with led:
            report(getattr(Market(led), verb)(pair, n, id=id, memo=memo), as_json)

    return cmd


app.command("settle", help="Settle a listing after its close (registry or lister): trades (delivery versus payment), refunds, unsold returned.")(
    _listing_cmd("settle"))
app.command("delist", help="Cancel an open listing, returning every escrow (lister before the first bid; registry always).")(_listing_cmd("delist"))


@app.command("listings")
def listings_cmd(
    status: Optional[str] = typer.Option(None, "--status", help="open, filled, closed, settled or cancelled."),
    instrument: Optional[str] = typer.Option(None, "--instrument", help="Only this instrument."),
    account: Optional[str] = typer.Option(None, "--account", help="Only this lister."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Listings and their state."""
    with _market(db) as m:
        rows = m.listings(status, instrument, account)
    if as_json:
        emit(rows)
        return
    _table("listings", [{**r, "quantity": r["display"]["quantity"], "remaining": r["display"]["remaining"]} for r in rows],
           ["id", "account", "side", "instrument", "mechanism", "quantity", "remaining", "price", "closes", "status"])


@app.command("book")
def book_cmd(listing: str = typer.Argument(..., help="Listing id."), db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """What anyone may see of a listing now: terms, phase, bids (sealed: commitments only, until revealed)."""

    with _market(db) as m:
        view = m.book(parse_count(listing, "listing", 1))
    if as_json:
        emit(view)
        return
    for k in ("id", "account", "side", "instrument", "mechanism", "price", "increment", "minimum_bid", "opens", "closes", "reveal_until", "settle_by",
              "status", "phase"):
        if view.get(k) is not None:
            say(f"{k}: {view[k]}")
    say(f"quantity: {view['display']['quantity']} (remaining {view['display']['remaining']})")
    _table("bids", view["bids"], ["id", "account", "status", "quantity", "price", "escrow", "escrow_fen", "commitment"])


@app.command("trades")
def trades_cmd(
    instrument: Optional[str] = typer.Argument(None, help="Only this instrument."),
    account: Optional[str] = typer.Option(None, "--account", help="Only trades of this account."),
    listing: Optional[str] = typer.Option(None, "--listing", help="Only trades of this listing."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Settled trades: seller, buyer, quantity delivered and received (trading ratio), price, payment."""

    with _market(db) as m:
        rows = m.trades(instrument, account, parse_count(listing, "--listing", 1) if listing else None)
    if as_json:
        emit(rows)
        return
    _table("trades", [{**r, "quantity": r["display"]["quantity"], "received": r["display"]["received"], "payment": r["display"]["payment"]} for r in rows],
           ["seq", "time", "listing", "instrument", "mechanism", "seller", "buyer", "quantity", "received", "ratio", "price", "payment", "reserve"])


@app.command("index")
def index_cmd(
    instrument: str = typer.Argument(..., help="Instrument."),
    period: str = typer.Option("day", "--period", help="day, week, month, quarter or year (Beijing calendar)."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the index as CSV to this file."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Price index of an instrument per period: trades, volume, VWAP, open/high/low/close (settled trades)."""
    with _market(db) as m:
        rows = m.index(instrument, period)
    if csv_out is not None:
        import csv
        import io

        from gep.io.ledger_files import write_bytes

        buf = io.StringIO()
        cols = ["period", "start", "end", "trades", "volume", "display", "value_cny", "vwap", "unit", "open", "high", "low", "close"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        write_bytes(csv_out, buf.getvalue().encode("utf-8"))
    if as_json:
        emit(rows)
        return
    _table(f"{instrument} per {period}", rows, ["period", "trades", "display", "value_cny", "vwap", "open", "high", "low", "close"])


# --------------------------------------------------------------------------- compliance


@app.command("oblige")
def oblige_cmd(
    account: str = typer.Argument(..., help="The obliged account (an emitter or energy user)."),
    kind: str = typer.Option(..., "--kind", help="energy, emission, capacity or carbon."),
    period: str = typer.Option(..., "--period", help="The year covered."),
    amount: str = typer.Option(..., "--amount", help="What must be surrendered ('3200 tce', '12.5 t')."),
    due: str = typer.Option(..., "--due", help="Compliance deadline (ISO 8601 with a zone)."),
    pollutant: Optional[str] = typer.Option(None, "--pollutant", help="emission, capacity: COD, NH3-N, TP, TN, SO2, NOx, VOCs."),
    source: Optional[str] = typer.Option(None, "--source", help="The verified report the amount comes from."),
    key: Path = RegistryKeyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Record an emitter's obligation for a period (registry key only)."""
    from gep.ledger.market import Market

    year = parse_count(period, "--period", 1900)
    led, reg = registry_write(db, key, head_key)
    with led:
        report(Market(led).oblige(reg, account, kind, year, amount, due, pollutant, source, id=id, memo=memo), as_json)


@app.command("surrender")
def surrender_cmd(
    instrument: str = typer.Argument(..., help="The right surrendered."),
    amount: str = typer.Argument(..., help="Amount."),
    account: str = typer.Option(..., "--from", help="The obliged account (owned by --key)."),
    obligation: str = typer.Option(..., "--obligation", help="The obligation's transaction number."),
    key: Path = KeyOpt, sign_only: bool = SignOnlyOpt, db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt,
    head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Surrender rights against an obligation (final: into sys:retirement), before it is due."""

    n = parse_count(obligation, "--obligation", 1)
    with _market(db, None if sign_only else head_key) as m:
        _submit_or_print(m, m.surrender_request(load_key(key), instrument, amount, account, n, id=id, memo=memo), sign_only, as_json)


@app.command("compliance")
def compliance_cmd(
    account: Optional[str] = typer.Option(None, "--account", help="Only this account."),
    period: Optional[str] = typer.Option(None, "--period", help="Only this year."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Obligations: required, surrendered, shortfall and status (met, short once due, open) by the ledger's clock now."""

    year = parse_count(period, "--period", 1900) if period else None
    with _market(db) as m:
        rows = [r for r in m.obligations(account) if year is None or r["period"] == year]
    if as_json:
        emit(rows)
        return
    _table("compliance", rows, ["id", "account", "kind", "pollutant", "period", "amount", "surrendered", "shortfall", "due", "status"])
    short = [r for r in rows if r["status"] == "short"]
    if short:
        say(f"{len(short)} obligation(s) short: " + ", ".join(f"{r['account']} ({r['shortfall']} base units)" for r in short))


# --------------------------------------------------------------------------- statements and certificates


def statement_cmd(
    account: str = typer.Argument(..., help="Account."),
    start: str = typer.Option(..., "--from", help="First day (Beijing date YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last day (inclusive)."),
    out: Path = typer.Option(..., "--out", help="File to write: .csv, .xlsx or .html."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv, xlsx or html (default: from --out's suffix)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """A statement of an account for a period: opening and closing balances and every movement, at a signed tree head."""
    from gep.io.statements import write_statement
    from gep.ledger.statements import statement

    with open_ledger(db) as led:
        st = statement(led, account, _date(start, "--from"), _date(end, "--to"))
    kind = write_statement(st.document(), out, fmt)
    if as_json:
        emit({"file": str(out), "format": kind, **st.meta(), "summary": st.summary, "lines": len(st.lines)})
        return
    say(f"wrote the {kind} statement of {account} ({start} .. {end}, {len(st.lines)} movements) to {out}; "
               f"tree head {st.head['tree_size']}, root {st.head['root_hash']}")


@certificate_app.command("issue")
def certificate_issue_cmd(
    ref: str = typer.Argument(..., help="Transaction: sequence number or request id (a transfer, retirement, surrender, trade, issuance, allocation, cancellation)."),
    out: Path = typer.Option(..., "--out", help="Certificate file (JSON)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Write a certificate: the record, its inclusion proof and the registry-signed tree head."""
    from gep.io.ledger_files import write_json
    from gep.ledger.certificate import issue

    with open_ledger(db) as led:
        doc = issue(led, ref)
    write_json(out, doc)
    if as_json:
        emit({"file": str(out), **doc["statement"], "tree_size": doc["head"]["tree_size"]})
        return
    say(f"certificate of transaction {doc['statement']['seq']} ({doc['statement']['kind']}): {doc['statement']['description']}")
    say(f"written to {out}; tree size {doc['head']['tree_size']}, root {doc['head']['root_hash']}")


@certificate_app.command("verify")
def certificate_verify_cmd(
    file: Path = typer.Argument(..., help="A certificate written by `gep ledger certificate issue`."),
    registry: Optional[str] = typer.Option(None, "--registry", help="The registry's public key (hex or .pub) to pin."),
    head: List[Path] = typer.Option([], "--head", help="A tree head published by the registry (pins its key and the ledger too); repeatable."),
    ledger: Optional[str] = typer.Option(None, "--ledger", help="The ledger id to pin (a registry key may sign several ledgers)."),
    consistency: List[Path] = typer.Option([], "--consistency", help="A consistency proof (`gep ledger proof --since M --to N --json`) between the "
                                           "certificate's tree size and a published head of another size; repeatable."),
    as_json: bool = JsonOpt,
) -> None:
    """Verify a certificate offline (no database): record, inclusion proof, signed head, request signature."""
    from gep.io.ledger_files import read_json
    from gep.ledger.certificate import verify
    from gep.ledger.errors import AuditFailed

    pinned = public_keys([registry], "registry key")[0] if registry else None
    try:
        summary = verify(read_json(file, "certificate"), pinned, read_heads(head), ledger,
                         [(str(p), read_json(p, "consistency proof")) for p in consistency])
    except AuditFailed as exc:
        if as_json:
            emit({"ok": False, "error": exc.line()})
        raise
    if as_json:
        emit(summary)
        return
    s = summary["statement"]
    say(f"ok: transaction {s['seq']} ({s['kind']}) at {s['time']}: {s['description']}")
    say(f"included in the log of ledger {summary['ledger']} at tree size {summary['tree_size']} (root {summary['root_hash']}), "
               f"head signed by registry key {summary['registry']}")
    if not summary["ledger_pinned"]:
        typer.echo(f"note: the ledger was not pinned: compare ledger {summary['ledger']} with the registry's (give --ledger ID or --head PUBLISHED_HEAD)",
                   err=True)  # a note on stderr, not a result
    if not summary["registry_pinned"]:
        typer.echo(f"note: the registry key was not pinned: compare key id {summary['key_id']} with the registry's published key "
                   "(or give --registry KEY / --head PUBLISHED_HEAD)", err=True)  # a note on stderr, not a result
