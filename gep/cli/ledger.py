"""``gep ledger``: the rights ledger on the command line.

The database is ``--db`` (a SQLite path or a ``postgresql://`` URL), else
``$GEP_LEDGER``, else ``ledger.db``. Every command takes ``--json`` (one JSON
document on stdout). A refused request or bad input prints one line on stderr
and exits 2; a failed ``verify`` exits 1; evidence whose files differ from
their manifest exits 3 (:mod:`gep.cli.shell`). The market, statements and
certificates are in :mod:`gep.cli.market`, mounted beside these commands by
:mod:`gep.cli.app`; the helpers here (options, opening the ledger, reporting a
result) are theirs too.

Every commit ends with a tree head signed by the registry key, so writing needs
it: ``--head-key`` or ``$GEP_LEDGER_HEAD_KEY`` (commands signed by the registry
use their ``--key``). A participant without it signs with ``--sign-only`` and
hands the request to the registry (``gep ledger batch``).

Amounts are integers of the base unit (kg/yr, kg CO2e) or numbers with a unit
(``"1.5 t"``, ``"250 kg"``, ``"2 tCO2e"``); prices are CNY per display unit
(t/yr, t CO2e) or carry a unit (``"0.0716 CNY/kg"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer

from gep.cli.shell import App, Table, emit, out, say
from gep.ledger.describe import describe

app = App(
    name="ledger",
    help="Rights ledger: issue, trade and retire water-capacity and carbon credits (signed, double-entry, verifiable).",
)
account_app = App(help="Accounts: open, list.")
app.add_typer(account_app, name="account")

DEFAULT_DB = "ledger.db"
DbOpt = typer.Option(None, "--db", envvar="GEP_LEDGER", help="Ledger database: SQLite file or postgresql:// URL (default: $GEP_LEDGER, else ledger.db).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")
IdOpt = typer.Option(None, "--id", help="Client request id (idempotency key, scoped to the signer): a retry with the same id and body answers 'exists'.")
MemoOpt = typer.Option(None, "--memo", help="Free text recorded (and signed) with the transaction.")
HeadKeyOpt = typer.Option(None, "--head-key", envvar="GEP_LEDGER_HEAD_KEY",
                          help="Registry private key that signs the tree head of the commit (default: $GEP_LEDGER_HEAD_KEY; registry-signed commands use --key).")
SignOnlyOpt = typer.Option(False, "--sign-only", help="Print the signed request as JSON instead of recording it (for the registry to submit with `gep ledger batch`).")


def _db(db: Optional[str]) -> str:
    """The database given, else the default (``$GEP_LEDGER`` is read by typer)."""
    return db or DEFAULT_DB


def open_ledger(db: Optional[str], head_key: Any = None):
    """The ledger at ``db``, reading cited runs from disk; ``head_key``: a KeyPair or key file path, to write."""
    from gep.audit.evidence import RunFiles
    from gep.ledger.ledger import Ledger

    if isinstance(head_key, (str, Path)):
        head_key = load_key(Path(head_key))
    return Ledger.open(_db(db), head_key, files=RunFiles())


def load_key(path: Path):
    """The key pair in a private key file."""
    from gep.ledger.keys import load_private

    return load_private(path)


def registry_write(db: Optional[str], key: Path, head_key: Optional[Path]):
    """(ledger, registry key pair) for a command signed by the registry: the key also signs the head."""
    pair = load_key(key)
    led = open_ledger(db, head_key)
    if led.head_key is None and pair.public == led.registry:
        led.head_key = pair
    return led, pair


def parse_count(text: Optional[str], what: str, minimum: int = 0) -> Optional[int]:
    """An integer given as text (at most 19 digits, :func:`gep.numbers.parse_int`), at least ``minimum``; None stays None."""
    from gep.ledger.errors import InvalidRequest
    from gep.numbers import parse_int

    if text is None:
        return None
    value = parse_int(text, what, error=InvalidRequest)
    if value < minimum:
        raise InvalidRequest(f"{what} {value} is less than {minimum}")
    return value


def load_deal(path: Path):
    """The deal in a deal file (``-``: standard input), checked and normalised (:func:`gep.ledger.deal.read`)."""
    from gep.io.ledger_files import read_json
    from gep.ledger.deal import read

    return read(read_json(path, "deal file"), f"deal file {path}")


def emit_signed(signed: Any) -> None:
    """Print a signed request as one line of JSON (for `gep ledger batch`)."""
    say(json.dumps(signed.as_dict(), ensure_ascii=False, sort_keys=True))


def report(result: Any, as_json: bool) -> None:
    """Print what became of a request: recorded (with the signed head), already recorded, or refused."""
    if as_json:
        emit(result.as_dict())
        return
    if result.status == "created":
        say(f"recorded transaction {result.seq} (id {result.id}): {describe(result.record)}")
        if result.head is not None and result.head["tree_size"] == result.seq:
            say(f"signed tree head: size {result.head['tree_size']}, root {result.head['root_hash']}")
    elif result.status == "exists":
        say(f"exists: transaction {result.seq} (id {result.id}) was already recorded with this body: {describe(result.record)}")
    else:
        say(f"refused (id {result.id}): {result.error.line()}")


# --------------------------------------------------------------------------- setup


@app.command("init")
def init_cmd(
    db: Optional[str] = DbOpt,
    key: Path = typer.Option(Path("registry.key"), "--key", help="Registry private key: used if it exists, else created (mode 0600) with its .pub."),
    coefficients: str = typer.Option("ledger-2026", "--coefficients", help="Ledger coefficient set: its id, version, hash and buffer shares are fixed in the genesis record."),
    operator: List[str] = typer.Option([], "--operator", help="Engine operator public key (hex or .pub file) whose signature of a run manifest attests issuance evidence; repeatable."),
    as_json: bool = JsonOpt,
) -> None:
    """Create the ledger database (schema, system accounts, genesis record fixing the parameters) and the registry key."""
    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger

    created = False
    if key.exists():
        pair = keys.load_private(key)
    else:
        pair = keys.generate()
        keys.write_keypair(pair, key)
        created = True
    with Ledger.init(_db(db), pair, coefficients, operators=operator, files=RunFiles()) as led:
        head = led.head()
        genesis = led.history(limit=1)[0]["record"]
        out = {"ledger": led.id, "database": led.store.describe(), "registry": pair.public, "registry_key": str(key),
               "registry_key_created": created, "coefficients": led.coefficients, "params": genesis["request"]["params"],
               "operators": list(led.operators), "head": head}
    if as_json:
        emit(out)
        return
    say(f"ledger {out['ledger']} created in {out['database']}")
    say(f"registry key {'written to' if created else 'read from'} {key} (public {pair.public}); keep the private key secret")
    say(describe(genesis))
    say(f"signed tree head: size {head['tree_size']}, root {head['root_hash']}")


@app.command("keygen")
def keygen_cmd(
    name: str = typer.Argument(..., help="Key name (letters, digits, . _ @ -, starting with a letter or digit; not a path): writes NAME.key (private, mode 0600) and NAME.pub."),
    directory: Path = typer.Option(Path("."), "--dir", help="Folder for the key files."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an Ed25519 key pair for an account owner (the private key is never printed)."""
    import re

    from gep.errors import InputError
    from gep.ledger import keys

    stem = name.removesuffix(".key")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", stem):
        raise InputError(f"key name {name!r} is not a plain file name", hint="use 1-64 letters, digits and . _ @ - (starting with a letter or digit); put the folder in --dir")
    path = directory / f"{stem}.key"
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
    zone: Optional[str] = typer.Option(None, "--zone", help="The catchment or county the account belongs to (trading ratios apply between zones)."),
    role: Optional[str] = typer.Option(None, "--role", help="reserve: a government reserve account (its trades are marked reserve purchases and sales)."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Open a user account owned by a public key (registry key only)."""
    led, reg = registry_write(db, key, head_key)
    with led:
        report(led.open_account(reg, account, owner, id=id, memo=memo, zone=zone, role=role), as_json)


app.command("open", help="Open a user account (same as `gep ledger account open`).")(account_open_cmd)


@account_app.command("list")
def account_list_cmd(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """List accounts: id, kind, owner key and the transaction that opened it."""
    with open_ledger(db) as led:
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
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Issue credits capped by an engine run (registry key only); carbon withholds the genesis buffer share.

    The first issuance of an instrument fixes its cap to the run it cites; the run must be
    reproducible from its inputs (`gep replay`) or signed by an engine operator (`gep ledger attest`).
    """
    led, reg = registry_write(db, key, head_key)
    with led:
        report(led.issue(reg, instrument, amount, to, evidence, zone=zone, ecosystem=ecosystem, id=id, memo=memo), as_json)


@app.command("recalculate")
def recalculate_cmd(
    instrument: str = typer.Argument(..., help="An issued instrument."),
    evidence: Path = typer.Option(..., "--evidence", help="manifest.json of the later run that recomputes the cap."),
    key: Path = typer.Option(..., "--key", help="Registry private key file."),
    zone: Optional[str] = typer.Option(None, "--zone", help="Carbon: the project area (the same selection as the instrument's)."),
    ecosystem: Optional[str] = typer.Option(None, "--ecosystem", help="Carbon: the ecosystem type (the same selection as the instrument's)."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Rebind an instrument's cap to a later run (registry key only; names both runs; shown in history)."""
    led, reg = registry_write(db, key, head_key)
    with led:
        report(led.recalculate(reg, instrument, evidence, zone=zone, ecosystem=ecosystem, id=id, memo=memo), as_json)


@app.command("attest")
def attest_cmd(
    manifest: Path = typer.Argument(..., help="manifest.json of a `gep run` or `gep capacity` run (or its folder)."),
    key: Path = typer.Option(..., "--key", help="The engine operator's private key (named at `gep ledger init --operator`)."),
    as_json: bool = JsonOpt,
) -> None:
    """Sign a run manifest as its engine operator (writes manifest.json.sig beside it)."""
    from gep.audit.evidence import attest, signature_path

    doc = attest(manifest, load_key(key))
    if as_json:
        emit({**doc, "file": str(signature_path(manifest))})
        return
    say(f"signed manifest {doc['manifest_sha256']} with operator key {doc['key']}: {signature_path(manifest)}")


@app.command("transfer")
def transfer_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount ('1.5 t', '250 kg', or an integer of the base unit)."),
    src: str = typer.Option(..., "--from", help="Source account (owned by --key)."),
    dst: str = typer.Option(..., "--to", help="Destination account."),
    key: Path = typer.Option(..., "--key", help="Private key of the source account's owner."),
    price: Optional[str] = typer.Option(None, "--price", help="Price in CNY per display unit (t/yr or t CO2e), or with a unit ('0.07 CNY/kg'); kept as price history."),
    deal: Optional[Path] = typer.Option(None, "--deal", help="Deal file (JSON: batch, expires, legs): this transfer is one of its delivery-versus-payment legs, "
                                                             "recorded only together with the others and only if they are the deal's legs (check the deal first with `gep ledger deal FILE`)."),
    dvp: Optional[str] = typer.Option(None, "--dvp", help="Ledgers made before December 2026 only (newer ones need --deal): delivery-versus-payment batch id of this leg, "
                                                          "which binds batch id, number of legs and expiry but not the other legs' terms."),
    legs: str = typer.Option("2", "--legs", help="With --dvp: number of legs in the batch (2-16)."),
    expires: Optional[str] = typer.Option(None, "--expires", help="With --dvp: ISO 8601 time (e.g. 2026-12-01T00:00:00Z) after which the leg is void."),
    sign_only: bool = SignOnlyOpt,
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Transfer credits between user accounts (owner's key); the lowest serials move first."""
    from gep.ledger.deal import dvp as dvp_field
    from gep.ledger.errors import InvalidRequest

    leg = None
    if dvp is not None or expires is not None:
        if deal is not None:
            raise InvalidRequest("--deal gives the batch, its legs and expiry: leave out --dvp and --expires")
        if dvp is None or expires is None:
            raise InvalidRequest("a DvP leg needs both --dvp BATCH and --expires TIME")
        leg = dvp_field(dvp, parse_count(legs, "--legs", 2), expires)
    agreed = load_deal(deal) if deal is not None else None
    with open_ledger(db, None if sign_only else head_key) as led:
        signed = led.transfer_request(load_key(key), instrument, amount, src, dst, price=price, id=id, memo=memo, dvp=leg, deal=agreed)
        if sign_only:
            emit_signed(signed)
            return
        report(led.submit(signed), as_json)


@app.command("deal")
def deal_cmd(
    file: Path = typer.Argument(..., help="Deal file (JSON: batch, expires, legs [{instrument, amount, from, to, price}]); '-' reads standard input."),
    as_json: bool = JsonOpt,
) -> None:
    """Check a delivery-versus-payment deal file and print the hash of its terms, which every leg signs.

    Both parties run it on the deal they agreed and compare the hashes before signing their legs
    (`gep ledger transfer ... --deal FILE --sign-only`): the ledger records the legs only if they are
    exactly the deal's legs. Needs no ledger.
    """
    from gep.ledger.deal import describe_leg

    agreed = load_deal(file)
    if as_json:
        emit(agreed.as_dict())
        return
    say(f"deal {agreed.batch}: {len(agreed.legs)} legs, void after {agreed.expires}")
    for i, leg in enumerate(agreed.legs, start=1):
        say(f"  leg {i}: {describe_leg(leg)}")
    say(f"terms {agreed.terms}")


@app.command("retire")
def retire_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount to retire."),
    src: str = typer.Option(..., "--from", help="Account retiring (owned by --key)."),
    key: Path = typer.Option(..., "--key", help="Private key of the account's owner."),
    beneficiary: Optional[str] = typer.Option(None, "--beneficiary", help="On whose behalf the credits are retired."),
    sign_only: bool = SignOnlyOpt,
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Retire credits (final: they move to sys:retirement and never leave)."""
    with open_ledger(db, None if sign_only else head_key) as led:
        signed = led.retire_request(load_key(key), instrument, amount, src, id=id, beneficiary=beneficiary, memo=memo)
        if sign_only:
            emit_signed(signed)
            return
        report(led.submit(signed), as_json)


@app.command("cancel")
def cancel_cmd(
    instrument: str = typer.Argument(..., help="Instrument id."),
    amount: str = typer.Argument(..., help="Amount to cancel."),
    src: str = typer.Option(..., "--from", help="User account or sys:buffer (e.g. a reversal covered by the buffer pool)."),
    key: Path = typer.Option(..., "--key", help="Registry private key file."),
    db: Optional[str] = DbOpt, id: Optional[str] = IdOpt, memo: Optional[str] = MemoOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Cancel credits (registry key only; final: they move to sys:cancellation)."""
    led, reg = registry_write(db, key, head_key)
    with led:
        report(led.cancel(reg, instrument, amount, src, id=id, memo=memo), as_json)


@app.command("batch")
def batch_cmd(
    file: Path = typer.Argument(..., help="JSON list of operations (see docs/ledger.md); '-' reads stdin."),
    linked: bool = typer.Option(True, "--linked/--independent", help="Linked: all succeed or nothing is recorded. Independent: each on its own, one commit."),
    signed_only: bool = typer.Option(False, "--signed-only", help="Take only requests signed elsewhere (no op entries signed here with a key file): "
                                                                   "for batch files handed over by participants."),
    db: Optional[str] = DbOpt, head_key: Optional[Path] = HeadKeyOpt, as_json: bool = JsonOpt,
) -> None:
    """Submit several operations in one database transaction (linked by default; DvP legs must be linked)."""
    from gep.io.ledger_files import read_json
    from gep.ledger.batch import build

    ops = read_json(file, "batch file")
    base = Path(".") if str(file) == "-" else file.parent
    with open_ledger(db, head_key) as led:
        items = build(led, ops, base, signed_only, load_deal=load_deal)
        results = led.submit_many(items, linked=linked)
    if as_json:
        emit({"linked": linked, "results": [r.as_dict() for r in results]})
    else:
        for r in results:
            report(r, False)
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
    with open_ledger(db) as led:
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
    out.print(t)
    if blk is not None:
        b = Table(title="serial blocks")
        for c in ("instrument", "first serial", "last serial", "size", "holder", "last moved by"):
            b.add_column(c)
        for r in blk:
            b.add_row(r["instrument"], str(r["start"]), str(r["end"]), f"{r['size']:,}", r["holder"], str(r["seq"]))
        out.print(b)


@app.command("history")
def history_cmd(
    account: Optional[str] = typer.Option(None, "--account", help="Only transactions touching this account."),
    instrument: Optional[str] = typer.Option(None, "--instrument", help="Only transactions of this instrument."),
    limit: Optional[str] = typer.Option(None, "--limit", help="Only the last N."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """The log: every transaction with its request, signature, effects and leaf hash."""
    n = parse_count(limit, "--limit", 1)
    with open_ledger(db) as led:
        rows = led.history(account, instrument, n)
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
    with open_ledger(db) as led:
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


def read_heads(files: List[Path]) -> list[tuple[str, dict]]:
    """Tree heads kept outside the database, each with the name it is reported by.

    A file that is not a head at all is bad input (exit 2); whether a head matches the log is verify's to say (exit 1).
    """
    from gep.errors import InputError
    from gep.io.ledger_files import read_json
    from gep.ledger.errors import AuditFailed
    from gep.ledger.heads import check_shape

    out = []
    for f in files:
        head = read_json(f, "tree head")
        try:
            check_shape(head, f"head {f}")
        except AuditFailed as exc:
            raise InputError(exc.message, hint=exc.hint) from None
        out.append((f"head {f}", head))
    return out


def public_keys(values: List[str], what: str) -> list[str]:
    """Public keys given as hex or .pub files."""
    from gep.ledger.keys import parse_public

    return [parse_public(v, what) for v in values]


@app.command("verify")
def verify_cmd(
    export_file: Optional[Path] = typer.Option(None, "--export", help="Verify an export document instead of the database."),
    head: List[Path] = typer.Option([], "--head", help="A tree head kept outside the database (from `gep ledger head --json`): "
                                                      "its signature and the log's consistency with it are checked; repeatable."),
    witness: List[str] = typer.Option([], "--witness", help="Witness public key (hex or .pub): every --head must carry its cosignature; repeatable."),
    registry: Optional[str] = typer.Option(None, "--registry", help="Expected registry public key (hex or .pub): refuse a ledger whose genesis names another."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Incremental: if FILE exists, trust the log up to its verified head (checked by hash) "
                                                                       "and replay only what follows; then write the new checkpoint to FILE."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Recompute the Merkle root, every signature, signed head, balance and invariant from the log; exit 1 naming the first failure."""
    from gep.io.ledger_files import read_json, write_json
    from gep.ledger.verify import verify_export, verify_ledger
    from gep.ledger.errors import AuditFailed, InvalidRequest

    if checkpoint is not None and export_file is not None:
        raise InvalidRequest("an incremental verify checks a database, not an export", key="checkpoint")
    since = read_json(checkpoint, "verify checkpoint") if checkpoint is not None and checkpoint.exists() else None
    given = read_heads(head)
    witnesses = public_keys(witness, "witness key")
    expected = public_keys([registry], "registry key")[0] if registry else None
    try:
        if export_file is not None:
            summary = verify_export(read_json(export_file, "ledger export"), given, witnesses)
        else:
            with open_ledger(db) as led:
                summary = verify_ledger(led, given, witnesses, since, keep=checkpoint is not None)
        if expected is not None and summary["registry"] != expected:
            raise AuditFailed(f"the genesis record names registry key {summary['registry'][:16]}…, not the expected {expected[:16]}…",
                              seq=1, hint="this is not the ledger you expect (it may have been replaced whole)")
    except AuditFailed as exc:
        if as_json:
            emit({"ok": False, "error": exc.line(), "seq": exc.seq, "id": exc.client_id})
        raise
    state = summary.pop("checkpoint", None)
    if checkpoint is not None:
        write_json(checkpoint, state)
    if as_json:
        emit(summary)
        return
    if summary.get("incremental_from"):
        say(f"incremental: transactions 1..{summary['incremental_from']} match the checkpoint's verified head; the rest replayed")
    say(f"ok: {summary['size']} transactions, {summary['accounts']} accounts, {summary['instruments']} instruments, "
        f"{summary['heads_checked']} signed heads ({len(given)} given)")
    say(f"root {summary['root']}")
    say("checked: " + ", ".join(summary["checks"]))


@app.command("head")
def head_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the head as JSON to this file (to publish it)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """The latest registry-signed tree head: tree_size, root_hash, timestamp, key_id, signature."""
    from gep.io.ledger_files import write_json

    with open_ledger(db) as led:
        h = led.head()
    if out is not None:
        write_json(out, h)
    if as_json:
        emit(h)
        return
    for k in ("ledger", "tree_size", "root_hash", "timestamp", "key_id", "signature"):
        say(f"{k}: {h[k]}")


@app.command("cosign")
def cosign_cmd(
    head_file: Path = typer.Argument(..., help="The tree head to cosign (JSON from `gep ledger head`)."),
    key: Path = typer.Option(..., "--key", help="The witness's private key."),
    previous: List[Path] = typer.Option([], "--previous", help="A head this witness cosigned before: the log must be consistent with it too; repeatable."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the cosigned head here (default: stdout)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Witness a head: verify the ledger against it (and the heads cosigned before), then add a cosignature."""
    from gep.io.ledger_files import write_json
    from gep.ledger.verify import verify_ledger
    from gep.ledger.heads import cosign

    given = read_heads([head_file]) + read_heads(previous)
    pair = load_key(key)
    with open_ledger(db) as led:
        verify_ledger(led, given)
    signed = cosign(given[0][1], pair)
    if out is None:
        emit(signed)
        return
    write_json(out, signed)
    if as_json:
        emit({"file": str(out), "tree_size": signed["tree_size"], "witness": pair.public})
    else:
        say(f"cosigned head of tree size {signed['tree_size']} with witness key {pair.public}: {out}")


@app.command("export")
def export_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Write the export here (default: stdout)."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Export the log: each record's canonical text, its RFC 6962 leaf hash, and the root."""
    from gep.io.ledger_files import write_json
    from gep.ledger.verify import export

    with open_ledger(db) as led:
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
    since_text: Optional[str] = typer.Option(None, "--since", help="Consistency proof from an earlier tree size to the current one."),
    to_text: Optional[str] = typer.Option(None, "--to", help="With --since: to this tree size (a published head's) instead of the current one."),
    db: Optional[str] = DbOpt, as_json: bool = JsonOpt,
) -> None:
    """Merkle audit paths: inclusion of a transaction, or consistency with an earlier tree head (RFC 6962)."""
    from gep.ledger.errors import InvalidRequest

    since = parse_count(since_text, "--since", 0)
    to = parse_count(to_text, "--to", 0)
    if (ref is None) == (since is None):
        raise InvalidRequest("give a transaction (REF) or --since SIZE", hint="e.g. `gep ledger proof 12` or `gep ledger proof --since 100`")
    if to is not None and since is None:
        raise InvalidRequest("--to goes with --since", hint="e.g. `gep ledger proof --since 100 --to 120`")
    with open_ledger(db) as led:  # from the stored perfect-subtree hashes: O(log² n) rows, not the whole log
        out = led.inclusion(led.find(ref)["seq"]) if ref is not None else led.consistency(since, to)
    if as_json:
        emit(out)
        return
    for k, v in out.items():
        if k != "path":
            say(f"{k}: {v}")
    say("path:")
    for p in out["path"]:
        say(f"  {p}")

