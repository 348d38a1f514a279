"""The ledger facade: build and sign requests, submit them, read balances and the log.

Example
-------
>>> reg = keys.generate()                                         # doctest: +SKIP
>>> led = Ledger.init("ledger.db", reg)                           # doctest: +SKIP
>>> alice = keys.generate()                                       # doctest: +SKIP
>>> led.open_account(reg, "alice", alice.public)                  # doctest: +SKIP
>>> led.issue(reg, "capacity/3/COD/2024", "1.5 t", "alice", "runs/basin/manifest.json")  # doctest: +SKIP
>>> led.transfer(alice, "capacity/3/COD/2024", "500 kg", "alice", "bob", price="1186.71")  # doctest: +SKIP

Every write is a signed request (:mod:`gep.ledger.canonical`) decided by
:func:`gep.ledger.rules.apply` inside one database transaction, appended to the
log as a record ``{seq, time, request, signature, effects}`` whose canonical
bytes are an RFC 6962 leaf; the commit ends with the registry-signed tree head
of the new log (:mod:`gep.ledger.heads`), so writing needs the registry key as
*head key*. A request id is an idempotency key of its signer: the same signer,
id and body answer ``exists`` with the original record; the same signer and id
with another body is refused (:class:`~gep.ledger.errors.IdConflict`); other
signers never learn whether an id was used.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable

from gep.ledger import evidence as evidence_mod
from gep.ledger.evidence import RunFiles
from gep.ledger import heads, keys, merkle
from gep.ledger.clock import TIME, now
from gep.ledger.canonical import BATCH_DOMAIN, SIGNING_DOMAIN, parse, record_bytes, signing_message
from gep.ledger.deal import Deal, dvp, transfer_terms
from gep.ledger.errors import AuditFailed, BadSignature, IdConflict, InvalidRequest, LedgerError, NotAuthorised, StorageError
from gep.ledger.keys import KeyPair
from gep.ledger.model import SYSTEM_ACCOUNTS, Instrument, check_client_id, parse_amount
from gep.ledger.records import stored_bytes
from gep.ledger.rules import VERSION, Context, apply, authentic, check_request, end_commit, paused_gc, prove_batches
from gep.ledger.store import SCHEMA_VERSION, SqlState, Store, Tx, open_store

__all__ = ["Ledger", "Signed", "Result", "DEFAULT_COEFFICIENTS", "new_id", "now", "dvp"]  # now: gep.ledger.clock.now; dvp: gep.ledger.deal.dvp

#: Coefficient set of a new ledger (buffer share).
DEFAULT_COEFFICIENTS = "ledger-2026"


def new_id() -> str:
    """A fresh request id: a UUID version 7 (RFC 9562, section 5.7) in 32 hex digits.

    Its first 48 bits are the Unix time in milliseconds and the other 74 (besides version
    and variant) are random, so ids made one after the other sort together. The log's
    unique index of (signer, id) then grows at its end: a batch of 1,000 transfers with
    random (version 4) ids dirtied about 1,900 database pages, one with these about 780
    (10⁵-transaction ledger, SQLite; benchmarks/RESULTS.md). Pass your own id to make
    retries idempotent.
    """
    rand = int.from_bytes(os.urandom(10))  # 80 random bits (one system call), 74 of them used
    bits = (time.time_ns() // 1_000_000 & (1 << 48) - 1) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62 | rand & (1 << 62) - 1
    return f"{bits:032x}"


def _need(files: RunFiles | None) -> RunFiles:
    """The reader of run files, which issuance, recalculation and a new ledger need."""
    if files is None:
        raise LedgerError("the ledger was opened without a reader of run files, which issuing, recalculating and creating a ledger need",
                          hint="open or create it with files=gep.audit.evidence.RunFiles()", key="files")
    return files


@dataclass
class Signed:
    """A signed request, plus (for an issuance or recalculation) the local evidence it cites.

    ``signature`` is 128 hex digits or a batch signature (:func:`gep.ledger.rules.authentic`).
    ``evidence`` is not signed: it is what the ledger found when it resolved the cited
    manifest (cap, files, attestation), and is recorded in the transaction's effects.
    """

    request: dict
    signature: str | dict
    evidence: dict | None = None

    def as_dict(self) -> dict:
        return {"request": self.request, "signature": self.signature}


@dataclass
class Result:
    """Outcome of one request: ``created``, ``exists`` or ``refused`` (batches only)."""

    status: str
    seq: int | None
    id: str
    record: dict | None = None
    leaf_hash: str | None = None
    root: str | None = None
    error: LedgerError | None = None
    head: dict | None = None

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"status": self.status, "seq": self.seq, "id": self.id}
        if self.record is not None:
            out["record"] = self.record
            out["leaf_hash"] = self.leaf_hash
            out["root"] = self.root
        if self.head is not None:
            out["head"] = self.head
        if self.error is not None:
            out["error"] = self.error.line()
            out["error_type"] = type(self.error).__name__
        return out


class Ledger:
    """A rights ledger on a :class:`~gep.ledger.store.Store`.

    Parameters
    ----------
    store : Store
        An open SQLite or PostgreSQL store holding an initialised ledger.
    head_key : KeyPair, optional
        The registry key, to sign the tree head of every commit. Reading needs no
        key; writing does (participants without it sign requests and hand them to
        the registry, e.g. ``gep ledger transfer --sign-only``).
    clock : callable, optional
        The writer's clock: returns UTC times in the record format
        (:data:`gep.ledger.clock.TIME`); default :func:`gep.ledger.clock.now`. A record
        is never older than the one before it, whatever the clock says.
    files : RunFiles, optional
        Reads the runs an issuance or recalculation cites
        (:class:`gep.ledger.evidence.RunFiles`; on disk: :class:`gep.audit.evidence.RunFiles`).
        Needed only to issue or recalculate.
    """

    def __init__(self, store: Store, head_key: KeyPair | None = None, clock: Callable[[], str] | None = None, files: RunFiles | None = None):
        self.store = store
        self.clock = clock or now
        self.files = files
        try:
            meta = store.read(lambda tx: (store.check_initialised(tx), dict(tx.q("SELECT key, value FROM meta")))[1])
        except BaseException:
            store.close()
            raise
        version = meta.get("schema_version")
        if version != SCHEMA_VERSION:
            store.close()
            raise StorageError(f"{store.describe()} holds a format-{version} ledger written by an earlier gep; this gep reads format {SCHEMA_VERSION} only",
                               hint="verify and export it with the gep that wrote it, then start a new ledger (docs/ledger.md, 'Ledgers of earlier versions')")
        self.id: str = meta["ledger_id"]
        self.registry: str = meta["registry"]
        self.coefficients: str = meta.get("coefficients", DEFAULT_COEFFICIENTS)
        if head_key is not None and head_key.public != self.registry:
            store.close()
            raise NotAuthorised(f"the head key {head_key.public[:16]}… is not this ledger's registry key {self.registry[:16]}…",
                                hint="tree heads are signed with the registry key named in the genesis record")
        self.head_key = head_key
        self._genesis: dict | None = None

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, target: str | Path, head_key: KeyPair | None = None, clock: Callable[[], str] | None = None,
             files: RunFiles | None = None) -> "Ledger":
        """Open the ledger at a SQLite path or PostgreSQL URL (``head_key``: the registry key, to write; ``clock``, ``files``: see the class)."""
        return cls(open_store(target), head_key, clock, files)

    @property
    def genesis(self) -> dict:
        """The request of the genesis record (registry, parameters, engine operators), read once."""
        if self._genesis is None:
            row = self.store.read(lambda tx: tx.one("SELECT record FROM log WHERE seq = 1"))
            self._genesis = parse(bytes(row[0]))["request"]
        return self._genesis

    @property
    def operators(self) -> tuple:
        """Engine operator keys of the genesis record."""
        return tuple(self.genesis.get("operators", []))

    @classmethod
    def init(cls, target: str | Path, registry: KeyPair, coefficients: str = DEFAULT_COEFFICIENTS, ledger_id: str | None = None,
             operators: Iterable[str] = (), clock: Callable[[], str] | None = None, files: RunFiles | None = None) -> "Ledger":
        """Create a ledger: schema, system accounts and the genesis record signed by ``registry``.

        Parameters
        ----------
        target : str or Path
            SQLite file to create, or PostgreSQL URL of an empty database/schema.
        registry : KeyPair
            The registry key (opens accounts, issues, cancels, signs tree heads).
        coefficients : str
            Ledger coefficient set, default ``ledger-2026``: its id, version, hash and
            buffer shares are fixed in the genesis record (never read again).
        operators : iterable of str
            Public keys (hex or ``.pub`` files) of engine operators whose signature of
            a run manifest attests issuance evidence (``gep ledger attest``).
        files : RunFiles
            Reads the coefficient set (and later the runs an issuance cites; see the class).
        """
        params = evidence_mod.genesis_params(_need(files), coefficients)
        lid = ledger_id or uuid.uuid4().hex
        ops = [keys.parse_public(o, "engine operator key") for o in operators]
        request = {
            "v": VERSION, "ledger": lid, "id": "genesis", "type": "init", "signer": registry.public,
            "registry": registry.public, "accounts": sorted(SYSTEM_ACCOUNTS), "params": params,
        }
        if ops:
            request["operators"] = ops
        signed = Signed(request, registry.sign(signing_message(request)))
        store = open_store(target, create=True)

        def run(tx: Tx) -> None:
            store.create(tx)
            tx.many("INSERT INTO meta (key, value) VALUES (?, ?)", [("schema_version", SCHEMA_VERSION), ("coefficients", params["coefficients"]["id"])])
            _append(tx, [signed], linked=True, head_key=registry, clock=clock or now)

        try:
            store.write(run, create=True)
        except BaseException:
            store.close()
            raise
        return cls(store, registry, clock, files)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ requests
    def _request(self, key: KeyPair, type_: str, fields: dict, id: str | None) -> dict:
        request = {"v": VERSION, "ledger": self.id, "id": check_client_id(id) if id is not None else new_id(), "type": type_, "signer": key.public}
        request.update({k: v for k, v in fields.items() if v is not None})
        return check_request(request)

    def sign(self, key: KeyPair, type_: str, fields: dict, id: str | None = None) -> Signed:
        """Build a request of this ledger and sign it with ``key``."""
        request = self._request(key, type_, fields, id)
        return Signed(request, key.sign(signing_message(request)))

    def sign_many(self, key: KeyPair, specs: Iterable[tuple[str, dict, str | None]]) -> list[Signed]:
        """Build several requests and sign them with one Ed25519 signature (a batch signature).

        ``key`` signs the RFC 6962 root of the requests' signing messages once; each
        request carries its audit path (:func:`gep.ledger.rules.authentic`). The ledger
        and ``verify`` check that signature once per batch, so a client submitting
        thousands of transfers pays for one signature instead of one per transfer.

        Parameters
        ----------
        specs : iterable of (type, fields, id)
            As for :meth:`sign`.
        """
        with paused_gc():  # thousands of small objects and no cycles, as in a submission
            requests = [self._request(key, t, f, i) for t, f, i in specs]
            if not requests:
                return []
            tree = merkle.levels([merkle.leaf_hash(signing_message(r)) for r in requests])
            sig = key.sign(BATCH_DOMAIN + tree[-1][0])
            n = len(requests)
            return [Signed(r, {"index": i, "size": n, "path": p, "signature": sig}) for i, (r, p) in enumerate(zip(requests, merkle.audit_paths(tree)))]

    def prepare(self, signed: Signed, evidence_path: str | Path | None = None, zone: str | None = None, ecosystem: str | None = None) -> Signed:
        """Resolve the evidence of an issuance or recalculation (reads files; outside any transaction)."""
        if signed.request.get("type") not in ("issue", "recalculate"):
            return signed
        ins = Instrument.parse(signed.request["instrument"])
        if evidence_path is None:
            raise InvalidRequest(f"request {signed.request['id']!r} needs the run manifest it cites", hint="cite the manifest.json of the run as evidence", key="evidence")
        sel = signed.request.get("evidence", {}).get("selector", {})
        signed.evidence = evidence_mod.resolve(_need(self.files), evidence_path, ins, zone if zone is not None else sel.get("zone"),
                                               ecosystem if ecosystem is not None else sel.get("ecosystem"), self.operators)
        return signed

    def submit(self, signed: Signed) -> Result:
        """Record one signed request (``created``) or recognise a retry (``exists``); raise on refusal."""
        return self.submit_many([signed], linked=True)[0]

    def submit_many(self, items: list[Signed], linked: bool = True) -> list[Result]:
        """Record several requests in one database transaction.

        Parameters
        ----------
        items : list of Signed
            Requests, in order.
        linked : bool
            True: all succeed or none is recorded (the first refusal is raised,
            naming the operation). False: each is decided on its own (refusals
            are returned with status ``refused``); one commit for all.
        """
        if not items:
            return []
        with paused_gc():
            return self.store.write(lambda tx: _append(tx, items, linked, self.head_key, self.clock))

    # convenience writers
    def open_account(self, registry: KeyPair, account: str, owner: str, id: str | None = None, memo: str | None = None,
                     zone: str | None = None, role: str | None = None) -> Result:
        """Open a user account owned by public key ``owner`` (hex or .pub file); registry only.

        ``zone``: the catchment or county the account belongs to (trading ratios apply between
        zones); ``role``: ``"reserve"`` for a government reserve account.
        """
        return self.submit(self.sign(registry, "open", {"account": account, "owner": keys.parse_public(owner, "owner key"), "zone": zone,
                                                        "role": role, "memo": memo}, id))

    def issue_request(self, registry: KeyPair, instrument: str, amount: str | int, to: str, evidence: str | Path,
                      zone: str | None = None, ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        """A signed, resolved issuance (see :meth:`issue`)."""
        ins = Instrument.parse(instrument)
        base = parse_amount(amount, ins)
        ev = evidence_mod.resolve(_need(self.files), evidence, ins, zone, ecosystem, self.operators)
        signed = self.sign(registry, "issue", {"instrument": ins.id, "amount": base, "to": to,
                                               "evidence": {"manifest_sha256": ev["manifest_sha256"], "selector": ev["selector"]}, "memo": memo}, id)
        signed.evidence = ev
        return signed

    def issue(self, registry: KeyPair, instrument: str, amount: str | int, to: str, evidence: str | Path,
              zone: str | None = None, ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Result:
        """Issue ``amount`` of ``instrument`` to ``to``, capped by the run whose manifest is ``evidence``.

        ``amount`` is the gross issuance drawn from the evidence; for carbon the
        buffer share is withheld from it into ``sys:buffer``.
        """
        return self.submit(self.issue_request(registry, instrument, amount, to, evidence, zone, ecosystem, id, memo))

    def recalculate_request(self, registry: KeyPair, instrument: str, evidence: str | Path, zone: str | None = None,
                            ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        """A signed, resolved recalculation (see :meth:`recalculate`)."""
        ins = Instrument.parse(instrument)
        ev = evidence_mod.resolve(_need(self.files), evidence, ins, zone, ecosystem, self.operators)
        current = self.store.read(lambda tx: tx.one("SELECT manifest_sha256 FROM caps WHERE instrument = ? ORDER BY seq DESC LIMIT 1", (ins.id,)))
        if current is None:
            from gep.ledger.errors import UnknownInstrument

            raise UnknownInstrument(f"instrument {ins.id} has never been issued", hint="its first issuance fixes its cap; recalculate after that")
        signed = self.sign(registry, "recalculate", {"instrument": ins.id, "from": current[0],
                                                     "evidence": {"manifest_sha256": ev["manifest_sha256"], "selector": ev["selector"]}, "memo": memo}, id)
        signed.evidence = ev
        return signed

    def recalculate(self, registry: KeyPair, instrument: str, evidence: str | Path, zone: str | None = None,
                    ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Result:
        """Rebind ``instrument``'s cap to a later run (registry only; names the run it replaces).

        The new cap is recorded with what was already issued; when that exceeds the new
        cap, the excess is shown and no more can be issued.
        """
        return self.submit(self.recalculate_request(registry, instrument, evidence, zone, ecosystem, id, memo))

    @staticmethod
    def transfer_fields(instrument: str, amount: str | int, src: str, dst: str, price: str | Decimal | None = None,
                        memo: str | None = None, dvp: dict | None = None) -> dict:
        """The fields of a transfer request (amount and price parsed: :func:`gep.ledger.deal.transfer_terms`; see :func:`dvp`)."""
        return {**transfer_terms(instrument, amount, src, dst, price), "memo": memo, "dvp": dvp}

    def transfer_request(self, owner: KeyPair, instrument: str, amount: str | int, src: str, dst: str,
                         price: str | Decimal | None = None, id: str | None = None, memo: str | None = None, dvp: dict | None = None,
                         deal: Deal | None = None) -> Signed:
        """A signed transfer (see :meth:`transfer`); a delivery-versus-payment leg with ``deal`` (or, on ledgers made
        before December 2026, ``dvp``).

        ``deal``: the transfer must be one of the deal's legs, and carries its ``dvp`` with the hash
        of every leg's terms (:meth:`gep.ledger.deal.Deal.leg`). A ``dvp`` without ``terms`` is refused
        here on a ledger whose legs bind their deal's terms, as the ledger would refuse it.
        """
        fields = self.transfer_fields(instrument, amount, src, dst, price, memo, dvp)
        if deal is not None:
            if dvp is not None:
                raise InvalidRequest("a transfer is a leg of a deal or carries its own dvp field, not both")
            fields["dvp"] = deal.leg(fields)
        elif dvp is not None and "terms" not in dvp and "dvp" in self.genesis["params"].get("rules", {}):
            raise InvalidRequest(f"this ledger's delivery-versus-payment legs bind the terms of every leg: a leg of batch {dvp.get('batch')!r} needs its deal",
                                 hint="write the deal file both parties agree on and sign the leg with `--deal deal.json` (docs/ledger.md)")
        return self.sign(owner, "transfer", fields, id)

    def transfer(self, owner: KeyPair, instrument: str, amount: str | int, src: str, dst: str,
                 price: str | Decimal | None = None, id: str | None = None, memo: str | None = None) -> Result:
        """Transfer from ``src`` (owned by ``owner``) to ``dst``; optional price in CNY per display unit."""
        return self.submit(self.transfer_request(owner, instrument, amount, src, dst, price, id, memo))

    def retire_request(self, owner: KeyPair, instrument: str, amount: str | int, src: str, id: str | None = None,
                       beneficiary: str | None = None, memo: str | None = None) -> Signed:
        ins = Instrument.parse(instrument)
        return self.sign(owner, "retire", {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": src,
                                           "beneficiary": beneficiary, "memo": memo}, id)

    def retire(self, owner: KeyPair, instrument: str, amount: str | int, src: str, id: str | None = None,
               beneficiary: str | None = None, memo: str | None = None) -> Result:
        """Retire (finally) from ``src`` into ``sys:retirement``."""
        return self.submit(self.retire_request(owner, instrument, amount, src, id, beneficiary, memo))

    def cancel(self, registry: KeyPair, instrument: str, amount: str | int, src: str, id: str | None = None, memo: str | None = None) -> Result:
        """Cancel from a user account or the buffer pool into ``sys:cancellation``; registry only."""
        ins = Instrument.parse(instrument)
        return self.submit(self.sign(registry, "cancel", {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": src, "memo": memo}, id))

    # ------------------------------------------------------------ reads
    def balances(self, account: str | None = None, instrument: str | None = None, include_zero: bool = False) -> list[dict]:
        """Balances ``{account, instrument, amount, display}`` (base units and display text)."""
        where, params = ["1 = 1"], []
        if account:
            where.append("account = ?")
            params.append(account)
        if instrument:
            where.append("instrument = ?")
            params.append(instrument)
        if not include_zero:
            where.append("amount <> 0")

        def run(tx: Tx) -> list[tuple]:
            if account and tx.one("SELECT 1 FROM accounts WHERE id = ?", (account,)) is None:
                from gep.ledger.errors import UnknownAccount

                raise UnknownAccount(f"account {account!r} does not exist", hint="list accounts with `gep ledger balance`")
            return tx.q(f"SELECT account, instrument, amount FROM balances WHERE {' AND '.join(where)} ORDER BY account, instrument", tuple(params))

        rows = self.store.read(run)
        return [{"account": a, "instrument": i, "amount": int(n), "display": Instrument.parse(i).display(int(n))} for a, i, n in rows]

    def accounts(self) -> list[dict]:
        """Accounts ``{id, kind, owner, opened_seq, zone, role}``."""
        rows = self.store.read(lambda tx: tx.q("SELECT id, kind, owner, seq, zone, role FROM accounts ORDER BY id"))
        return [{"id": a, "kind": k, "owner": o, "opened_seq": int(s), "zone": z, "role": r} for a, k, o, s, z, r in rows]

    def blocks(self, account: str | None = None, instrument: str | None = None) -> list[dict]:
        """Serial blocks ``{instrument, start, end, holder, size}``."""
        where, params = ["1 = 1"], []
        if account:
            where.append("holder = ?")
            params.append(account)
        if instrument:
            where.append("instrument = ?")
            params.append(instrument)
        rows = self.store.read(lambda tx: tx.q(
            f"SELECT instrument, start_serial, end_serial, holder, seq FROM blocks WHERE {' AND '.join(where)} ORDER BY instrument, start_serial", tuple(params)))
        return [{"instrument": i, "start": int(s), "end": int(e), "size": int(e) - int(s) + 1, "holder": h, "seq": int(q)} for i, s, e, h, q in rows]

    def history(self, account: str | None = None, instrument: str | None = None, limit: int | None = None) -> list[dict]:
        """Log records (oldest first; the last ``limit``), optionally touching an account or instrument."""
        return self.page(account=account, instrument=instrument, limit=limit)[::-1]

    def page(self, account: str | None = None, instrument: str | None = None, limit: int | None = None, before: int | None = None) -> list[dict]:
        """Log records newest first: the ``limit`` latest with a sequence number below ``before``.

        Pass the smallest ``seq`` of one page as ``before`` to get the next (keyset pagination).
        """
        where, params = ["1 = 1"], []
        if account:
            where.append("(seq IN (SELECT seq FROM postings WHERE account = ?) OR seq IN (SELECT seq FROM accounts WHERE id = ?))")
            params += [account, account]
        if instrument:
            where.append("(seq IN (SELECT seq FROM postings WHERE instrument = ?) OR seq IN (SELECT seq FROM caps WHERE instrument = ?))")
            params += [instrument, instrument]
        if before is not None:
            where.append("seq < ?")
            params.append(int(before))
        sql = f"SELECT seq, record, leaf_hash, root FROM log WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self.store.read(lambda tx: tx.q(sql, tuple(params)))
        return [{"seq": int(seq), "record": parse(stored_bytes(rec, seq)), "leaf_hash": leaf, "root": root} for seq, rec, leaf, root in rows]

    def prices(self, instrument: str, source: str = "all") -> list[dict]:
        """Price history of an instrument, oldest first.

        Rows ``{seq, time, amount, display, price_cny_per_unit, unit, notional_cny, source}``:
        priced transfers (``source`` ``"transfer"``: the price the parties stated; notional =
        price × amount) and market trades (``"market"``: settled by the market; notional = the
        payment in CNY; trades between accounts of one owner left out). ``source``: ``"all"`` (default), ``"transfers"``
        or ``"market"``.
        """
        if source not in ("all", "transfers", "market"):
            raise InvalidRequest(f"price source {source!r} is not all, transfers or market")
        ins = Instrument.parse(instrument)

        def run(tx: Tx) -> tuple[list, list]:
            transfers = tx.q("SELECT seq, amount, price, time FROM prices WHERE instrument = ? ORDER BY seq", (ins.id,)) if source != "market" else []
            trades = tx.q("SELECT t.seq, t.n, t.quantity, t.price, t.time, t.payment FROM trades t JOIN accounts s ON s.id = t.seller "
                          "JOIN accounts b ON b.id = t.buyer WHERE t.instrument = ? AND s.owner <> b.owner ORDER BY t.seq, t.n",
                          (ins.id,)) if source != "transfers" else []  # not trades between accounts of one owner
            return transfers, trades

        transfers, trades = self.store.read(run)
        out = []
        for seq, amount, price, t in transfers:
            notional = Decimal(price) * Decimal(int(amount)) / Decimal(ins.per_display)
            out.append(((int(seq), 0), {"seq": int(seq), "time": t, "amount": int(amount), "display": ins.display(int(amount)), "price_cny_per_unit": price,
                                        "unit": ins.display_unit, "notional_cny": format(notional.normalize(), "f"), "source": "transfer"}))
        for seq, n, amount, price, t, pay in trades:
            out.append(((int(seq), int(n)), {"seq": int(seq), "time": t, "amount": int(amount), "display": ins.display(int(amount)), "price_cny_per_unit": price,
                                             "unit": ins.display_unit, "notional_cny": f"{Decimal(int(pay)) / 100:.2f}", "source": "market"}))
        return [row for _, row in sorted(out, key=lambda x: x[0])]

    def head(self) -> dict:
        """The latest registry-signed tree head (:mod:`gep.ledger.heads`)."""
        row = self.store.read(lambda tx: tx.one("SELECT tree_size, root_hash, timestamp, key_id, signature FROM heads ORDER BY tree_size DESC LIMIT 1"))
        if row is None:  # pragma: no cover - init writes the first head
            raise StorageError(f"{self.store.describe()} holds no signed tree head", hint="run `gep ledger verify`")
        return _head_row(self.id, row)

    def heads(self) -> list[dict]:
        """Every stored tree head, oldest first."""
        rows = self.store.read(lambda tx: tx.q("SELECT tree_size, root_hash, timestamp, key_id, signature FROM heads ORDER BY tree_size"))
        return [_head_row(self.id, r) for r in rows]

    def rows(self) -> list[tuple[int, str, bytes, str, str]]:
        """All log rows ``(seq, client_id, record bytes, leaf_hash, root)`` in order."""
        return self.store.read(lambda tx: [(int(s), c, stored_bytes(r, s), lh, rt) for s, c, r, lh, rt in
                                           tx.q("SELECT seq, client_id, record, leaf_hash, root FROM log ORDER BY seq")])

    def find(self, ref: str, signer: str | None = None) -> dict:
        """The log row of a sequence number or request id (an id used by several signers must be given as a number,
        or with its ``signer``: then only that signer's request id is looked up)."""
        def run(tx: Tx) -> list[tuple]:
            if signer is not None:
                return tx.q("SELECT seq, record, leaf_hash, root FROM log WHERE client_id = ? AND signer = ?", (ref, signer))
            rows = tx.q("SELECT seq, record, leaf_hash, root FROM log WHERE client_id = ? ORDER BY seq", (ref,))
            if not rows and str(ref).isdigit() and len(str(ref)) < 19:
                rows = tx.q("SELECT seq, record, leaf_hash, root FROM log WHERE seq = ?", (int(ref),))
            return rows

        rows = self.store.read(run)
        if not rows:
            raise InvalidRequest(f"no transaction with id or sequence number {ref!r}", hint="see `gep ledger history`")
        if len(rows) > 1:
            raise InvalidRequest(f"request id {ref!r} names transactions {', '.join(str(r[0]) for r in rows)} (ids belong to their signers)",
                                 hint="give the sequence number")
        row = rows[0]
        return {"seq": int(row[0]), "record": parse(stored_bytes(row[1], row[0])), "leaf_hash": row[2], "root": row[3]}

    def at(self, seq: int) -> dict:
        """The log row of sequence number ``seq`` (never a request whose id happens to be that number)."""
        rows = self.page(limit=1, before=int(seq) + 1)
        if not rows or rows[0]["seq"] != int(seq):
            raise InvalidRequest(f"no transaction {seq}", hint="sequence numbers run from 1 to the tree size (`gep ledger head`)")
        return rows[0]

    def inclusion(self, seq: int, size: int | None = None) -> dict:
        """RFC 6962 inclusion proof of transaction ``seq`` in the tree of ``size`` records (default: all).

        Read from the stored perfect-subtree hashes: O(log² n) rows, whatever the log's length.

        Returns
        -------
        dict
            ``{seq, leaf_index, leaf_hash, tree_size, root, path}`` (hashes in hex); check it with
            :func:`gep.ledger.merkle.verify_inclusion`.
        """
        def run(tx: Tx) -> dict:
            current, n = _sizes(tx, size)
            if not 1 <= int(seq) <= n <= current:
                raise InvalidRequest(f"no transaction {seq} in a tree of {n} records (the log holds {current})",
                                     hint="give a sequence number from 1 to the tree size")
            leaf, = tx.one("SELECT leaf_hash FROM log WHERE seq = ?", (int(seq),))
            path = _stored_proof(tx, merkle.inclusion_nodes(int(seq) - 1, n))
            return {"seq": int(seq), "leaf_index": int(seq) - 1, "leaf_hash": leaf, "tree_size": n, "root": _root_at(tx, n), "path": path}

        return self.store.read(run)

    def consistency(self, first: int, second: int | None = None) -> dict:
        """RFC 6962 consistency proof that the tree of ``first`` records is a prefix of the tree of ``second`` (default: all).

        Read from the stored perfect-subtree hashes, like :meth:`inclusion`.

        Returns
        -------
        dict
            ``{first_size, first_root, tree_size, root, path}``; check it with
            :func:`gep.ledger.merkle.verify_consistency` against a head you kept.
        """
        def run(tx: Tx) -> dict:
            current, n = _sizes(tx, second)
            if not 0 <= int(first) <= n <= current:
                raise InvalidRequest(f"no consistency proof from {first} to {n} records (the log holds {current})",
                                     hint="give 0 ≤ first ≤ second ≤ the tree size")
            return {"first_size": int(first), "first_root": _root_at(tx, int(first)), "tree_size": n, "root": _root_at(tx, n),
                    "path": _stored_proof(tx, merkle.consistency_nodes(int(first), n))}

        return self.store.read(run)


# --------------------------------------------------------------------------- proofs from stored nodes


def _sizes(tx: Tx, size: int | None) -> tuple[int, int]:
    """The log's size and the tree size asked for (default: the log's)."""
    current = int(tx.one("SELECT COALESCE(MAX(seq), 0) FROM log")[0])
    return current, current if size is None else int(size)


def _root_at(tx: Tx, size: int) -> str:
    """Root (hex) of the tree of the first ``size`` records (the root stored with record ``size``)."""
    if size == 0:
        return merkle.EMPTY_ROOT.hex()
    return tx.one("SELECT root FROM log WHERE seq = ?", (size,))[0]


def _stored_proof(tx: Tx, groups: list[list[tuple[int, int]]]) -> list[str]:
    """Hex proof elements folded from the stored perfect subtrees the groups name."""
    nodes = {}
    for level, index in {key for group in groups for key in group}:
        nodes[(level, index)] = bytes.fromhex(tx.one("SELECT hash FROM merkle WHERE level = ? AND idx = ?", (level, index))[0])
    return [p.hex() for p in merkle.fold_inclusion(groups, nodes)]


def _head_row(ledger_id: str, row: tuple) -> dict:
    size, root, timestamp, kid, sig = row
    return {"ledger": ledger_id, "tree_size": int(size), "root_hash": root, "timestamp": timestamp, "key_id": kid, "signature": sig}


# --------------------------------------------------------------------------- append


def _frontier(tx: Tx, size: int) -> merkle.Frontier:
    need = merkle.Frontier.needed(size)
    nodes: dict[tuple[int, int], bytes] = {}
    for level, index in need:
        row = tx.one("SELECT hash FROM merkle WHERE level = ? AND idx = ?", (level, index))
        if row is None:
            raise LedgerError(f"the stored Merkle tree lacks node ({level}, {index})", hint="run `gep ledger verify`")
        nodes[(level, index)] = bytes.fromhex(row[0])
    return merkle.Frontier.from_nodes(size, nodes)


def _append(tx: Tx, items: Iterable[Signed], linked: bool, head_key: KeyPair | None, clock: Callable[[], str] = now) -> list[Result]:
    """Decide and append ``items``; end the commit with the registry-signed head of the new log.

    Without ``head_key`` nothing can be recorded: the requests are still decided (so a
    refusal says why), then the transaction is refused and rolled back. The records' time
    is the clock's, but never earlier than the last record's (the ledger's clock does not
    go backwards).
    """
    items = list(items)
    row = tx.one("SELECT seq FROM log ORDER BY seq DESC LIMIT 1")
    size = int(row[0]) if row else 0
    t = clock()
    if not isinstance(t, str) or not TIME.match(t):
        raise StorageError(f"the ledger's clock gave {t!r}, not a UTC time YYYY-MM-DDTHH:MM:SS.ffffffZ")
    frontier = _frontier(tx, size)
    state = SqlState(tx)
    if size:
        t = max(t, _signed_end(tx, state.ledger_id, size, frontier, head_key))
    known = _known_ids(tx, items)
    messages = [_message(item.request) for item in items]
    proven = prove_batches(state, [(item.request, item.signature, m) for item, m in zip(items, messages)])
    results: list[Result] = []
    last: Result | None = None
    for k, item in enumerate(items):
        if not linked and isinstance(item.request, dict) and "dvp" in item.request:  # a leg alone, by construction
            results.append(Result("refused", None, str(item.request.get("id")),
                                  error=InvalidRequest("a delivery-versus-payment leg cannot be submitted in an independent batch", hint="submit DvP legs linked")))
            continue
        saved = None if linked else (frontier.size, list(frontier.stack), state.mark(), dict(known))  # writes held blocks: before the savepoint
        sp = None if linked else tx.savepoint()
        try:
            res = _append_one(state, item, frontier, known, t, messages[k], proven[k])
            if sp:
                tx.release(sp)
            results.append(res)
            if res.status == "created":
                last = res
        except LedgerError as exc:
            rid = item.request.get("id") if isinstance(item.request, dict) else None
            if linked:
                if len(items) > 1:
                    exc.where = f"linked operation {k + 1} of {len(items)} (id {rid!r}); nothing was recorded" + (f"; {exc.where}" if exc.where else "")
                raise
            tx.rollback_to(sp)
            frontier.size, frontier.stack, mark, known = saved
            state.reset(mark)
            results.append(Result("refused", None, str(rid), error=exc))
    try:
        end_commit(state)
    except LedgerError as exc:
        exc.where = "nothing was recorded" + (f"; {exc.where}" if exc.where else "")
        raise
    if last is not None and head_key is None:
        raise NotAuthorised("recording a transaction needs the registry key, to sign the new tree head; nothing was recorded",
                            hint="give the registry key as head key (or set $GEP_LEDGER_HEAD_KEY); without it, only sign the request "
                                 "and hand it to the registry, who submits it with `gep ledger batch`", key="head_key")
    state.flush()
    if last is not None:
        head = heads.sign_head(state.ledger_id, frontier.size, last.root, last.record["time"], head_key)
        _remember(_head_key(head, head_key.public))  # the next commit checks it: no second Ed25519 verification
        tx.x("INSERT INTO heads (tree_size, root_hash, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?)",
             (head["tree_size"], head["root_hash"], head["timestamp"], head["key_id"], head["signature"]))
        for res in results:
            res.head = head if res.status == "created" else None
    return results


def _signed_end(tx: Tx, ledger_id: str, size: int, frontier: merkle.Frontier, head_key: KeyPair | None) -> str:
    """The time of the log's last record as the newest registry-signed head gives it, once that head is shown to
    cover exactly the log the next record extends: ``size`` records whose stored tree (``frontier``) has its root.

    A log rewritten, cut or extended without the registry key (its heads left as they were) is refused here
    rather than extended and signed over, and the ledger's clock is the signed one, never an edited column.
    Without ``head_key`` (nothing will be recorded) the signature is not checked.

    Raises
    ------
    AuditFailed
        The newest head is missing, not the registry's, or does not cover the log (exit 1: run ``verify``).
    """
    row = tx.one("SELECT tree_size, root_hash, timestamp, key_id, signature FROM heads ORDER BY tree_size DESC LIMIT 1")
    try:
        head = _head_row(ledger_id, row) if row is not None else None
    except (TypeError, ValueError):  # a tree size that is not a number (edited)
        head = {"tree_size": row[0]}
    problem = ("the database holds no signed tree head" if head is None
               else f"the newest signed tree head covers {head['tree_size']} transactions, the log holds {size}" if head["tree_size"] != size
               else "the log's tree root differs from the newest signed tree head's" if head["root_hash"] != frontier.root().hex()
               else "the newest tree head is not signed by the registry key" if head_key is not None and not _signed_by(head, head_key.public)
               else "the newest tree head's time is not a UTC time" if not (isinstance(head["timestamp"], str) and TIME.match(head["timestamp"]))
               else None)
    if problem is not None:
        raise AuditFailed(f"{problem}: the database was changed outside the ledger; nothing was recorded",
                          hint="run `gep ledger verify` (with the published heads) and restore the database from a copy that passes it")
    return head["timestamp"]


#: Heads this process signed or found signed, with the key: a writer checks the head it signed at the previous commit.
_SIGNED: set[tuple] = set()


def _head_key(head: dict, public: str) -> tuple:
    return (*(head[k] for k in ("ledger", "tree_size", "root_hash", "timestamp", "key_id", "signature")), public)


def _signed_by(head: dict, public: str) -> bool:
    """Whether ``head`` carries ``public``'s signature (remembered in :data:`_SIGNED`)."""
    key = _head_key(head, public)
    if key in _SIGNED:
        return True
    try:
        ok = heads.signature_ok(head, public)
    except (TypeError, ValueError):  # a field of another type (edited): not a signature
        return False
    if ok:
        _remember(key)
    return ok


def _remember(key: tuple) -> None:
    if len(_SIGNED) >= 64:
        _SIGNED.clear()
    _SIGNED.add(key)


def _known_ids(tx: Tx, items: list[Signed]) -> dict[tuple[str, str], tuple]:
    """Log rows already holding the (signer, id) of ``items``: ``{(signer, id): (seq, request_sha256, record, leaf_hash, root)}``.

    Looked up per signer through the unique (signer, client_id) index, 500 ids per query.
    """
    by_signer: dict[str, set[str]] = {}
    for r in (i.request for i in items):
        if isinstance(r, dict) and isinstance(r.get("signer"), str) and isinstance(r.get("id"), str):
            by_signer.setdefault(r["signer"], set()).add(r["id"])
    out: dict[tuple[str, str], tuple] = {}
    for signer, wanted in sorted(by_signer.items()):
        ids = sorted(wanted)
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            rows = tx.q(f"SELECT client_id, seq, request_sha256, record, leaf_hash, root FROM log WHERE signer = ? AND client_id IN ({', '.join('?' * len(chunk))})",
                        (signer, *chunk))
            out.update({(signer, r[0]): tuple(r[1:]) for r in rows})
    return out


def _message(request: Any) -> bytes | None:
    """The signing message of a well-formed request, else None (its refusal comes in order, from :func:`_append_one`)."""
    try:
        return signing_message(check_request(request))
    except LedgerError:
        return None


def _append_one(state: SqlState, item: Signed, frontier: merkle.Frontier, known: dict, t: str, message: bytes | None = None,
                proven: bool = False) -> Result:
    """Decide and append one request; ``message``: its signing message when :func:`_message` checked it already;
    ``proven``: its batch signature was proven (:func:`gep.ledger.rules.prove_batches`)."""
    request = check_request(item.request) if message is None else item.request
    rid = request["id"]
    message = message if message is not None else signing_message(request)
    rbytes = message[len(SIGNING_DOMAIN):]
    rhash = hashlib.sha256(rbytes).hexdigest()
    row = known.get((request["signer"], rid))
    if row is not None:
        if not (proven or authentic(state, request, item.signature, message)):
            raise BadSignature(f"the signature of request {rid!r} does not verify")
        if row[1] != rhash:
            raise IdConflict(f"request id {rid!r} was already used (transaction {row[0]}) for a different request",
                             hint="use a new id for a new request; resend the identical request to retry")
        return Result("exists", int(row[0]), rid, parse(stored_bytes(row[2], row[0])), row[3], row[4])
    seq = frontier.size + 1
    effects = apply(state, request, item.signature, Context(seq, t, item.evidence), message, proven)
    record = {"seq": seq, "time": t, "request": request, "signature": item.signature, "effects": effects}
    data = record_bytes(seq, t, rbytes, item.signature, effects)
    leaf = merkle.leaf_hash(data)
    nodes = frontier.append(leaf)
    root = frontier.root().hex()
    leaf_hex = leaf.hex()
    state.pending["log"].append((seq, request["signer"], rid, request["type"], rhash, data, leaf_hex, root, t))
    state.pending["merkle"] += [(lv, ix, h.hex()) for lv, ix, h in nodes]
    known[(request["signer"], rid)] = (seq, rhash, data, leaf_hex, root)
    return Result("created", seq, rid, record, leaf_hex, root)
