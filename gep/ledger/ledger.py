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
bytes are an RFC 6962 leaf. A request id is an idempotency key: the same id
with the same body answers ``exists`` with the original record; the same id
with another body is refused (:class:`~gep.ledger.errors.IdConflict`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from gep.ledger import evidence as evidence_mod
from gep.ledger import keys, merkle
from gep.ledger.canonical import canonical, parse, signing_message
from gep.ledger.errors import BadSignature, IdConflict, InvalidRequest, LedgerError
from gep.ledger.keys import KeyPair
from gep.ledger.model import SYSTEM_ACCOUNTS, Instrument, check_client_id, parse_amount, parse_price
from gep.ledger.rules import VERSION, Context, apply, check_request
from gep.ledger.store import SqlState, Store, Tx, open_store

__all__ = ["Ledger", "Signed", "Result", "DEFAULT_COEFFICIENTS", "new_id", "now"]

#: Coefficient set of a new ledger (buffer share).
DEFAULT_COEFFICIENTS = "ledger-2026"


def new_id() -> str:
    """A fresh random request id (pass your own id to make retries idempotent)."""
    return uuid.uuid4().hex


def now() -> str:
    """UTC time of recording, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Signed:
    """A signed request, plus (for an issuance) the local evidence it cites.

    ``evidence`` and ``buffer`` are not signed: they are what the ledger found when
    it resolved the cited manifest and read its coefficient set, and are recorded
    in the transaction's effects.
    """

    request: dict
    signature: str
    evidence: dict | None = None
    buffer: dict | None = None

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
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"status": self.status, "seq": self.seq, "id": self.id}
        if self.record is not None:
            out["record"] = self.record
            out["leaf_hash"] = self.leaf_hash
            out["root"] = self.root
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
    """

    def __init__(self, store: Store):
        self.store = store
        meta = store.read(lambda tx: (store.check_initialised(tx), dict(tx.q("SELECT key, value FROM meta")))[1])
        self.id: str = meta["ledger_id"]
        self.registry: str = meta["registry"]
        self.coefficients: str = meta.get("coefficients", DEFAULT_COEFFICIENTS)

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, target: str | Path) -> "Ledger":
        """Open the ledger at a SQLite path or PostgreSQL URL."""
        return cls(open_store(target))

    @classmethod
    def init(cls, target: str | Path, registry: KeyPair, coefficients: str = DEFAULT_COEFFICIENTS, ledger_id: str | None = None) -> "Ledger":
        """Create a ledger: schema, system accounts and the genesis record signed by ``registry``.

        Parameters
        ----------
        target : str or Path
            SQLite file to create, or PostgreSQL URL of an empty database/schema.
        registry : KeyPair
            The registry key (opens accounts, issues, cancels).
        coefficients : str
            Ledger coefficient set (buffer share), default ``ledger-2026``.
        """
        from gep.io.ledger_files import ledger_coefficients

        cs = ledger_coefficients(coefficients)
        lid = ledger_id or uuid.uuid4().hex
        request = {
            "v": VERSION, "ledger": lid, "id": "genesis", "type": "init", "signer": registry.public,
            "registry": registry.public, "accounts": sorted(SYSTEM_ACCOUNTS),
            "coefficients": {"id": cs["id"], "version": cs["version"], "manifest_sha256": cs["manifest_sha256"]},
        }
        signed = Signed(request, registry.sign(signing_message(request)))
        store = open_store(target, create=True)

        def run(tx: Tx) -> None:
            store.create(tx)
            tx.many("INSERT INTO meta (key, value) VALUES (?, ?)", [("schema_version", "1"), ("coefficients", cs["id"])])
            _append(tx, [signed], linked=True)

        try:
            store.write(run, create=True)
        except BaseException:
            store.close()
            raise
        return cls(store)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ requests
    def sign(self, key: KeyPair, type_: str, fields: dict, id: str | None = None) -> Signed:
        """Build a request of this ledger and sign it with ``key``."""
        request = {"v": VERSION, "ledger": self.id, "id": check_client_id(id) if id is not None else new_id(), "type": type_, "signer": key.public}
        request.update({k: v for k, v in fields.items() if v is not None})
        check_request(request)
        return Signed(request, key.sign(signing_message(request)))

    def prepare(self, signed: Signed, evidence_path: str | Path | None = None, zone: str | None = None, ecosystem: str | None = None) -> Signed:
        """Resolve the evidence and buffer share of an issuance (reads files; outside any transaction)."""
        if signed.request.get("type") != "issue":
            return signed
        ins = Instrument.parse(signed.request["instrument"])
        if evidence_path is None:
            raise InvalidRequest(f"issuance {signed.request['id']!r} needs the run manifest it cites", hint="give --evidence MANIFEST")
        sel = signed.request.get("evidence", {}).get("selector", {})
        ev = evidence_mod.resolve(evidence_path, ins, zone if zone is not None else sel.get("zone"), ecosystem if ecosystem is not None else sel.get("ecosystem"))
        signed.evidence = ev
        signed.buffer = evidence_mod.buffer_share(ins, self.coefficients)
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
        return self.store.write(lambda tx: _append(tx, items, linked))

    # convenience writers
    def open_account(self, registry: KeyPair, account: str, owner: str, id: str | None = None, memo: str | None = None) -> Result:
        """Open a user account owned by public key ``owner`` (hex or .pub file); registry only."""
        return self.submit(self.sign(registry, "open", {"account": account, "owner": keys.parse_public(owner, "owner key"), "memo": memo}, id))

    def issue_request(self, registry: KeyPair, instrument: str, amount: str | int, to: str, evidence: str | Path,
                      zone: str | None = None, ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        """A signed, resolved issuance (see :meth:`issue`)."""
        ins = Instrument.parse(instrument)
        base = parse_amount(amount, ins)
        ev = evidence_mod.resolve(evidence, ins, zone, ecosystem)
        signed = self.sign(registry, "issue", {"instrument": ins.id, "amount": base, "to": to,
                                               "evidence": {"manifest_sha256": ev["manifest_sha256"], "selector": ev["selector"]}, "memo": memo}, id)
        signed.evidence = ev
        signed.buffer = evidence_mod.buffer_share(ins, self.coefficients)
        return signed

    def issue(self, registry: KeyPair, instrument: str, amount: str | int, to: str, evidence: str | Path,
              zone: str | None = None, ecosystem: str | None = None, id: str | None = None, memo: str | None = None) -> Result:
        """Issue ``amount`` of ``instrument`` to ``to``, capped by the run whose manifest is ``evidence``.

        ``amount`` is the gross issuance drawn from the evidence; for carbon the
        buffer share is withheld from it into ``sys:buffer``.
        """
        return self.submit(self.issue_request(registry, instrument, amount, to, evidence, zone, ecosystem, id, memo))

    def transfer_request(self, owner: KeyPair, instrument: str, amount: str | int, src: str, dst: str,
                         price: str | Decimal | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        ins = Instrument.parse(instrument)
        fields: dict[str, Any] = {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": src, "to": dst, "memo": memo}
        if price is not None:
            fields["price"] = str(parse_price(price, ins))
        return self.sign(owner, "transfer", fields, id)

    def transfer(self, owner: KeyPair, instrument: str, amount: str | int, src: str, dst: str,
                 price: str | Decimal | None = None, id: str | None = None, memo: str | None = None) -> Result:
        """Transfer from ``src`` (owned by ``owner``) to ``dst``; optional price in CNY per display unit."""
        return self.submit(self.transfer_request(owner, instrument, amount, src, dst, price, id, memo))

    def retire(self, owner: KeyPair, instrument: str, amount: str | int, src: str, id: str | None = None,
               beneficiary: str | None = None, memo: str | None = None) -> Result:
        """Retire (finally) from ``src`` into ``sys:retirement``."""
        ins = Instrument.parse(instrument)
        return self.submit(self.sign(owner, "retire", {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": src,
                                                       "beneficiary": beneficiary, "memo": memo}, id))

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
        rows = self.store.read(lambda tx: tx.q("SELECT id, kind, owner, seq FROM accounts ORDER BY id"))
        return [{"id": a, "kind": k, "owner": o, "opened_seq": int(s)} for a, k, o, s in rows]

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
            where.append("seq IN (SELECT seq FROM postings WHERE instrument = ?)")
            params.append(instrument)
        if before is not None:
            where.append("seq < ?")
            params.append(int(before))
        sql = f"SELECT seq, record, leaf_hash, root FROM log WHERE {' AND '.join(where)} ORDER BY seq DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self.store.read(lambda tx: tx.q(sql, tuple(params)))
        return [{"seq": int(seq), "record": parse(bytes(rec)), "leaf_hash": leaf, "root": root} for seq, rec, leaf, root in rows]

    def prices(self, instrument: str) -> list[dict]:
        """Price history of an instrument: ``{seq, time, amount, price_cny_per_unit, unit, notional_cny}``."""
        ins = Instrument.parse(instrument)
        rows = self.store.read(lambda tx: tx.q("SELECT seq, amount, price, time FROM prices WHERE instrument = ? ORDER BY seq", (ins.id,)))
        out = []
        for seq, amount, price, t in rows:
            notional = Decimal(price) * Decimal(int(amount)) / Decimal(ins.per_display)
            out.append({"seq": int(seq), "time": t, "amount": int(amount), "display": ins.display(int(amount)), "price_cny_per_unit": price,
                        "unit": ins.display_unit, "notional_cny": format(notional.normalize(), "f")})
        return out

    def head(self) -> dict:
        """Current tree head: ``{size, root}``."""
        row = self.store.read(lambda tx: tx.one("SELECT seq, root FROM log ORDER BY seq DESC LIMIT 1"))
        return {"size": int(row[0]), "root": row[1]} if row else {"size": 0, "root": merkle.EMPTY_ROOT.hex()}

    def rows(self) -> list[tuple[int, str, bytes, str, str]]:
        """All log rows ``(seq, client_id, record bytes, leaf_hash, root)`` in order."""
        return self.store.read(lambda tx: [(int(s), c, bytes(r), lh, rt) for s, c, r, lh, rt in
                                           tx.q("SELECT seq, client_id, record, leaf_hash, root FROM log ORDER BY seq")])

    def find(self, ref: str) -> dict:
        """The log row of a sequence number or request id."""
        def run(tx: Tx) -> tuple | None:
            row = tx.one("SELECT seq, record, leaf_hash, root FROM log WHERE client_id = ?", (ref,))
            if row is None and str(ref).isdigit():
                row = tx.one("SELECT seq, record, leaf_hash, root FROM log WHERE seq = ?", (int(ref),))
            return row

        row = self.store.read(run)
        if row is None:
            raise InvalidRequest(f"no transaction with id or sequence number {ref!r}", hint="see `gep ledger history`")
        return {"seq": int(row[0]), "record": parse(bytes(row[1])), "leaf_hash": row[2], "root": row[3]}

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


def _append(tx: Tx, items: Iterable[Signed], linked: bool) -> list[Result]:
    items = list(items)
    row = tx.one("SELECT COALESCE(MAX(seq), 0) FROM log")
    size = int(row[0])
    frontier = _frontier(tx, size)
    results: list[Result] = []
    for k, item in enumerate(items):
        sp = None if linked else tx.savepoint()
        saved = (frontier.size, list(frontier.stack))
        try:
            res = _append_one(tx, item, frontier)
            if sp:
                tx.release(sp)
            results.append(res)
        except LedgerError as exc:
            if linked:
                if len(items) > 1:
                    exc.where = f"linked operation {k + 1} of {len(items)} (id {item.request.get('id')!r}); nothing was recorded" + (f"; {exc.where}" if exc.where else "")
                raise
            tx.rollback_to(sp)
            frontier.size, frontier.stack = saved
            results.append(Result("refused", None, str(item.request.get("id")), error=exc))
    return results


def _append_one(tx: Tx, item: Signed, frontier: merkle.Frontier) -> Result:
    request = check_request(item.request)
    rid = request["id"]
    rhash = hashlib.sha256(canonical(request)).hexdigest()
    row = tx.one("SELECT seq, request_sha256, record, leaf_hash, root FROM log WHERE client_id = ?", (rid,))
    if row is not None:
        if row[1] != rhash:
            raise IdConflict(f"request id {rid!r} was already used (transaction {row[0]}) for a different request",
                             hint="use a new id for a new request; resend the identical request to retry")
        if not keys.verify(request["signer"], signing_message(request), item.signature):
            raise BadSignature(f"the signature of request {rid!r} does not verify")
        return Result("exists", int(row[0]), rid, parse(bytes(row[2])), row[3], row[4])
    seq = frontier.size + 1
    t = now()
    state = SqlState(tx)
    effects = apply(state, request, item.signature, Context(seq, t, item.evidence, item.buffer))
    record = {"seq": seq, "time": t, "request": request, "signature": item.signature, "effects": effects}
    data = canonical(record)
    leaf = merkle.leaf_hash(data)
    nodes = frontier.append(leaf)
    root = frontier.root().hex()
    tx.x("INSERT INTO log (seq, client_id, type, request_sha256, record, leaf_hash, root, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         (seq, rid, request["type"], rhash, data, leaf.hex(), root, t))
    tx.many("INSERT INTO merkle (level, idx, hash) VALUES (?, ?, ?)", [(lv, ix, h.hex()) for lv, ix, h in nodes])
    return Result("created", seq, rid, record, leaf.hex(), root)
