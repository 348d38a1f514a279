"""``gep ledger``: the rights ledger on the command line.

The database is ``--db`` (a SQLite path or a ``postgresql://`` URL), else
``$GEP_LEDGER``, else ``ledger.db``. Every command takes ``--json`` (one JSON
document on stdout). A refused request or bad input prints one line on stderr
and exits 2; a failed ``verify`` exits 1; evidence whose files differ from
their manifest exits 3 (:mod:`gep.cli.shell`).

Amounts are integers of the base unit (kg/yr, kg CO2e) or numbers with a unit
(``"1.5 t"``, ``"250 kg"``, ``"2 tCO2e"``); prices are CNY per display unit
(t/yr, t CO2e) or carry a unit (``"0.0716 CNY/kg"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from gep.cli.shell import App, emit, out, say, Table

app = App(
    name="ledger",
    help="Rights ledger: issue, trade and retire water-capacity and carbon credits (signed, double-entry, verifiable).",
)
account_app = App(help="Accounts: open, list.")
app.add_typer(account_app, name="account")

DEFAULT_DB = "ledger.db"
DbOpt = typer.Option(None, "--db", envvar="GEP_LEDGER", help="Ledger database: SQLite file or postgresql:// URL (default: $GEP_LEDGER, else ledger.db).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")
IdOpt = typer.Option(None, "--id", help="Client request id (idempotency key): a retry with the same id and body answers 'exists'.")
MemoOpt = typer.Option(None, "--memo", help="Free text recorded (and signed) with the transaction.")


def _db(db: Optional[str]) -> str:
    return db or DEFAULT_DB


def _open(db: Optional[str]):
    from gep.ledger.ledger import Ledger

    return Ledger.open(_db(db))


def _key(path: Path):
    from gep.ledger.keys import load_private

    return load_private(path)


def describe(record: dict) -> str:
    """A one-line human description of a log record."""
    from gep.ledger.model import Instrument

    r = record["request"]
    t = r["type"]
    if t == "init":
        return f"genesis: registry {r['registry'][:16]}…, coefficients {r['coefficients']['id']} {r['coefficients']['version']}"
    if t == "open":
        return f"open account {r['account']} (owner {r['owner'][:16]}…)"
    ins = Instrument.parse(r["instrument"])
    amount = ins.display(r["amount"])
    if t == "issue":
        buf = record["effects"].get("buffer", {}).get("amount", 0)
        extra = f", {ins.display(buf)} withheld into sys:buffer" if buf else ""
        return f"issue {amount} of {ins.id} to {r['to']}{extra}"
    if t == "transfer":
        price = f" at {r['price']} CNY/({ins.display_unit})" if "price" in r else ""
        return f"transfer {amount} of {ins.id} {r['from']} → {r['to']}{price}"
    if t == "retire":
        return f"retire {amount} of {ins.id} from {r['from']}" + (f" for {r['beneficiary']}" if "beneficiary" in r else "")
    if t == "cancel":
        return f"cancel {amount} of {ins.id} from {r['from']}"
    return t


def _report(result: Any, as_json: bool) -> None:
    if as_json:
        emit(result.as_dict())
        return
    if result.status == "created":
        say(f"recorded transaction {result.seq} (id {result.id}): {describe(result.record)}")
        say(f"tree head: size {result.seq}, root {result.root}")
    elif result.status == "exists":
        say(f"exists: transaction {result.seq} (id {result.id}) was already recorded with this body: {describe(result.record)}")
    else:
        say(f"refused (id {result.id}): {result.error.line()}")


# --------------------------------------------------------------------------- setup


@app.command("init")
def init_cmd(
    db: Optional[str] = DbOpt,
    key: Path = typer.Option(Path("registry.key"), "--key", help="Registry private key: used if it exists, else created (mode 0600) with its .pub."),
    coefficients: str = typer.Option("ledger-2026", "--coefficients", help="Ledger coefficient set (buffer share)."),
    as_json: bool = JsonOpt,
) -> None:
    """Create the ledger database (schema, system accounts, genesis record) and the registry key."""
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger

    created = False
    if key.exists():
        pair = keys.load_private(key)
    else:
        pair = keys.generate()
        keys.write_keypair(pair, key)
        created = True
    with Ledger.init(_db(db), pair, coefficients) as led:
        head = led.head()
        out = {"ledger": led.id, "database": led.store.describe(), "registry": pair.public, "registry_key": str(key),
               "registry_key_created": created, "coefficients": led.coefficients, "size": head["size"], "root": head["root"]}
    if as_json:
        emit(out)
        return
    say(f"ledger {out['ledger']} created in {out['database']}")
    say(f"registry key {'written to' if created else 'read from'} {key} (public {pair.public}); keep the private key secret")
    say(f"tree head: size {head['size']}, root {head['root']}")


@app.command("keygen")
def keygen_cmd(
    name: str = typer.Argument(..., help="Key name: writes NAME.key (private, mode 0600) and NAME.pub."),
    directory: Path = typer.Option(Path("."), "--dir", help="Folder for the key files."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an Ed25519 key pair for an account owner (the private key is never printed)."""
    from gep.ledger import keys

    path = directory / (name if name.endswith(".key") else f"{name}.key")
    pair = keys.generate()
    priv, pub = keys.write_keypair(pair, path)
    if as_json:
        emit({"private_key": str(priv), "public_key_file": str(pub), "public": pair.public})
        return
    say(f"private key: {priv} (mode 0600; keep it secret)")
    say(f"public key:  {pub}")
    say(pair.public)


@account_app.command("open")
def account_open_cmd(
    account: str = typer.Argument(..., help="New account id (letters, digits, . _ @ -)."),
    owner: str = typer.Option(..., "--owner", help="Owner public key: 64 hex digits or a .pub file."),
    key: Path = typer.Option(..., "--key", help="Registry private key file."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, as_json: bool = JsonOpt,
) -> None:
    """Open a user account owned by a public key (registry key only)."""
    with _open(db) as led:
        _report(led.open_account(_key(key), account, owner, id=id, memo=memo), as_json)


app.command("open", help="Open a user account (same as `gep ledger account open`).")(account_open_cmd)


@account_app.command("list")
def account_list_cmd(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """List accounts: id, kind, owner key and the transaction that opened it."""
    with _open(db) as led:
        rows = led.accounts()
    if as_json:
        emit(rows)
        return
    
    t = Table(title="accounts")
    for c in ("id", "kind", "owner", "opened"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["id"], r["kind"], r["owner"], str(r["opened_seq"]))
    out.print(t)


# --------------------------------------------------------------------------- writes


@app.command("issue")
def issue_cmd(
    instrument: str = typer.Argument(..., help="capacity/<catchment>/<pollutant>/<vintage> or carbon/<project>/<vintage>."),
    amount: str = typer.Argument(..., help="Gross amount drawn from the evidence ('1.5 t', '250 kg', or an integer of kg)."),
    to: str = typer.Option(..., "--to", help="Recipient account."),
    evidence: Path = typer.Option(..., "--evidence", help="manifest.json of the `gep capacity` / `gep run` that computed the quantity."),
    key: Path = typer.Option(..., "--key", help="Registry private key file."),
    zone: Optional[str] = typer.Option(None, "--zone", help="Carbon: the project area, a zone id or name of the run's account.csv."),
    ecosystem: Optional[str] = typer.Option(None, "--ecosystem", help="Carbon: only this ecosystem type (e.g. forest)."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, as_json: bool = JsonOpt,
) -> None:
    """Issue credits capped by an engine run (registry key only); carbon withholds the buffer share."""
    with _open(db) as led:
        _report(led.issue(_key(key), instrument, amount, to, evidence, zone=zone, ecosystem=ecosystem, id=id, memo=memo), as_json)


@app.command("transfer")
def transfer_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount ('1.5 t', '250 kg', or an integer of the base unit)."),
    src: str = typer.Option(..., "--from", help="Source account (owned by --key)."),
    dst: str = typer.Option(..., "--to", help="Destination account."),
    key: Path = typer.Option(..., "--key", help="Private key of the source account's owner."),
    price: Optional[str] = typer.Option(None, "--price", help="Price in CNY per display unit (t/yr or t CO2e), or with a unit ('0.07 CNY/kg'); kept as price history."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, as_json: bool = JsonOpt,
) -> None:
    """Transfer credits between user accounts (owner's key); the lowest serials move first."""
    with _open(db) as led:
        _report(led.transfer(_key(key), instrument, amount, src, dst, price=price, id=id, memo=memo), as_json)


@app.command("retire")
def retire_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount to retire."),
    src: str = typer.Option(..., "--from", help="Account retiring (owned by --key)."),
    key: Path = typer.Option(..., "--key", help="Private key of the account's owner."),
    beneficiary: Optional[str] = typer.Option(None, "--beneficiary", help="On whose behalf the credits are retired."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, as_json: bool = JsonOpt,
) -> None:
    """Retire credits (final: they move to sys:retirement and never leave)."""
    with _open(db) as led:
        _report(led.retire(_key(key), instrument, amount, src, id=id, beneficiary=beneficiary, memo=memo), as_json)


@app.command("cancel")
def cancel_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount to cancel."),
    src: str = typer.Option(..., "--from", help="User account or sys:buffer (e.g. a reversal covered by the buffer pool)."),
    key: Path = typer.Option(..., "--key", help="Registry private key file."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, as_json: bool = JsonOpt,
) -> None:
    """Cancel credits (registry key only; final: they move to sys:cancellation)."""
    with _open(db) as led:
        _report(led.cancel(_key(key), instrument, amount, src, id=id, memo=memo), as_json)


@app.command("batch")
def batch_cmd(
    file: Path = typer.Argument(..., help="JSON list of operations (see docs/ledger.md); '-' reads stdin."),
    linked: bool = typer.Option(True, "--linked/--independent", help="Linked: all succeed or nothing is recorded. Independent: each on its own, one commit."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Submit several operations in one database transaction (linked by default)."""
    from gep.io.ledger_files import read_json
    from gep.ledger.batch import build

    ops = read_json(file, "batch file")
    base = Path(".") if str(file) == "-" else file.parent
    with _open(db) as led:
        items = build(led, ops, base)
        results = led.submit_many(items, linked=linked)
    if as_json:
        emit({"linked": linked, "results": [r.as_dict() for r in results]})
    else:
        for r in results:
            _report(r, False)
    if any(r.status == "refused" for r in results):
        raise typer.Exit(2)


# --------------------------------------------------------------------------- reads


@app.command("balance")
def balance_cmd(
    account: Optional[str] = typer.Argument(None, help="Account (default: all)."),
    instrument: Optional[str] = typer.Option(None, "--instrument", help="Only this instrument."),
    blocks: bool = typer.Option(False, "--blocks", help="Also list the serial blocks held."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Balances per account and instrument (and serial blocks with --blocks)."""
    with _open(db) as led:
        rows = led.balances(account, instrument)
        blk = led.blocks(account, instrument) if blocks else None
    if as_json:
        emit({"balances": rows, **({"blocks": blk} if blocks else {})})
        return
    
    t = Table(title="balances")
    for c in ("account", "instrument", "amount", "base units"):
        t.add_column(c, justify="right" if c in ("amount", "base units") else "left")
    for r in rows:
        t.add_row(r["account"], r["instrument"], r["display"], f"{r['amount']:,}")
    con = out
    con.print(t)
    if blk is not None:
        b = Table(title="serial blocks")
        for c in ("instrument", "first serial", "last serial", "size", "holder", "last moved by"):
            b.add_column(c)
        for r in blk:
            b.add_row(r["instrument"], str(r["start"]), str(r["end"]), f"{r['size']:,}", r["holder"], str(r["seq"]))
        con.print(b)


@app.command("history")
def history_cmd(
    account: Optional[str] = typer.Option(None, "--account", help="Only transactions touching this account."),
    instrument: Optional[str] = typer.Option(None, "--instrument", help="Only transactions of this instrument."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the last N."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """The log: every transaction with its request, signature, effects and leaf hash."""
    with _open(db) as led:
        rows = led.history(account, instrument, limit)
    if as_json:
        emit(rows)
        return
    
    t = Table(title="ledger history")
    for c in ("seq", "time", "id", "signer", "what"):
        t.add_column(c, overflow="fold")
    for r in rows:
        rec = r["record"]
        t.add_row(str(r["seq"]), rec["time"], rec["request"]["id"], rec["request"]["signer"][:12] + "…", describe(rec))
    out.print(t)


@app.command("prices")
def prices_cmd(instrument: str = typer.Argument(..., help="Instrument id."), db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Price history of an instrument (transfers with --price): CNY per display unit and notional."""
    with _open(db) as led:
        rows = led.prices(instrument)
    if as_json:
        emit(rows)
        return
    
    t = Table(title=f"prices of {instrument}")
    for c in ("seq", "time", "amount", "price [CNY/unit]", "unit", "notional [CNY]"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["seq"]), r["time"], r["display"], r["price_cny_per_unit"], r["unit"], r["notional_cny"])
    out.print(t)


@app.command("verify")
def verify_cmd(
    export_file: Optional[Path] = typer.Option(None, "--export", help="Verify an export document instead of the database."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Recompute the Merkle root, every signature, balance and invariant from the log; exit 1 naming the first failure."""
    from gep.ledger.verify import verify_export, verify_ledger
    from gep.ledger.errors import AuditFailed

    try:
        if export_file is not None:
            from gep.io.ledger_files import read_json

            summary = verify_export(read_json(export_file, "ledger export"))
        else:
            with _open(db) as led:
                summary = verify_ledger(led)
    except AuditFailed as exc:
        if as_json:
            emit({"ok": False, "error": exc.line(), "seq": exc.seq, "id": exc.client_id})
        raise
    if as_json:
        emit(summary)
        return
    say(f"ok: {summary['size']} transactions, {summary['accounts']} accounts, {summary['instruments']} instruments")
    say(f"root {summary['root']}")
    say("checked: " + ", ".join(summary["checks"]))


@app.command("export")
def export_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Write the export here (default: stdout)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Export the log: each record's canonical text, its RFC 6962 leaf hash, and the root."""
    from gep.io.ledger_files import write_json
    from gep.ledger.verify import export

    with _open(db) as led:
        doc = export(led)
    if out is None:
        emit(doc)
        return
    write_json(out, doc)
    if as_json:
        emit({"file": str(out), "size": doc["size"], "root": doc["root"]})
    else:
        say(f"wrote {doc['size']} records to {out}; root {doc['root']}")


@app.command("proof")
def proof_cmd(
    ref: Optional[str] = typer.Argument(None, help="Transaction id or sequence number: inclusion proof in the current tree."),
    since: Optional[int] = typer.Option(None, "--since", min=0, help="Consistency proof from an earlier tree size to the current one."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Merkle audit paths: inclusion of a transaction, or consistency with an earlier tree head (RFC 6962)."""
    from gep.ledger import merkle
    from gep.ledger.errors import InvalidRequest

    if (ref is None) == (since is None):
        raise InvalidRequest("give a transaction (REF) or --since SIZE", hint="e.g. `gep ledger proof 12` or `gep ledger proof --since 100`")
    with _open(db) as led:
        rows = led.rows()
        leaves = [bytes.fromhex(r[3]) for r in rows]
        root = merkle.root(leaves).hex()
        if ref is not None:
            row = led.find(ref)
            path = merkle.inclusion_proof(leaves, row["seq"] - 1)
            out = {"seq": row["seq"], "leaf_index": row["seq"] - 1, "leaf_hash": row["leaf_hash"], "tree_size": len(leaves), "root": root,
                   "path": [p.hex() for p in path]}
        else:
            if since > len(leaves):
                raise InvalidRequest(f"--since {since} is larger than the tree ({len(leaves)})")
            out = {"first_size": since, "first_root": merkle.root(leaves[:since]).hex(), "tree_size": len(leaves), "root": root,
                   "path": [p.hex() for p in merkle.consistency_proof(leaves, since)]}
    if as_json:
        emit(out)
        return
    for k, v in out.items():
        if k != "path":
            say(f"{k}: {v}")
    say("path:")
    for p in out["path"]:
        say(f"  {p}")
