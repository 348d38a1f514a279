"""Audit: verify a ledger (or an export of it) from its log alone, and export the log.

``verify`` replays every record in order and stops at the first that fails:

1. sequence numbers run 1, 2, 3 ... without gaps;
2. the record bytes are canonical JSON (:mod:`gep.ledger.canonical`) and their
   RFC 6962 leaf hash ``SHA-256(0x00 || bytes)`` equals the stored one;
3. the tree root after the record equals the stored tree head;
4. the request's Ed25519 signature verifies (RFC 8032) and the signer had the
   authority (registry / account owner);
5. re-deciding the request with :func:`gep.ledger.rules.apply` on the state
   rebuilt so far accepts it and gives exactly the recorded effects (postings,
   serial blocks, buffer, evidence cap, price).

Then every invariant of :func:`gep.ledger.rules.check_invariants` is checked on
the rebuilt state, and (for a database) every table — accounts, instruments,
postings, balances, blocks, evidence use, prices, Merkle nodes — is compared
with it, naming the first row that differs.

The export is a JSON document with each record's canonical text, its leaf hash
and the root, so anyone can recompute the root with their own code.

References
----------
RFC 6962 section 2.1 (Merkle hash trees); RFC 8032 section 5.1 (Ed25519).
"""

from __future__ import annotations

from typing import Any, Iterable

from gep.ledger import merkle
from gep.ledger.canonical import parse
from gep.ledger.errors import AuditFailed, LedgerError
from gep.ledger.rules import Context, MemoryState, apply, check_invariants

__all__ = ["replay", "verify_ledger", "verify_export", "export", "EXPORT_FORMAT"]

EXPORT_FORMAT = "gep-ledger-export/1"
RECORD_KEYS = {"seq", "time", "request", "signature", "effects"}


class Replay:
    """State rebuilt from the log, the recomputed tree and what the log said about itself."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.frontier = merkle.Frontier()
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.leaves: list[bytes] = []
        self.ids: dict[str, int] = {}
        self.records: dict[int, tuple[str, str]] = {}  # seq -> (client id, type)


def _context(seq: int, record: dict) -> Context:
    effects = record.get("effects") if isinstance(record.get("effects"), dict) else {}
    ev = effects.get("evidence")
    buf = effects.get("buffer")
    evidence = {k: v for k, v in ev.items() if k not in ("key", "used_before")} if isinstance(ev, dict) else None
    buffer = {k: v for k, v in buf.items() if k != "amount"} if isinstance(buf, dict) else None
    return Context(seq, record.get("time", ""), evidence, buffer)


def _diff(a: Any, b: Any, path: str = "effects") -> str:
    """Where two JSON values first differ (for the audit message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                return _diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _diff(x, y, f"{path}[{i}]")
    return f"{path}: recorded {b!r}, replay gives {a!r}"


def replay(rows: Iterable[tuple[int, str | None, bytes, str | None, str | None]]) -> Replay:
    """Replay log rows ``(seq, client_id, record bytes, stored leaf hash, stored root)``.

    ``client_id``, leaf hash and root may be None when the source does not store them.

    Raises
    ------
    AuditFailed
        Naming the first failing transaction and why.
    """
    rp = Replay()
    expect = 1
    for seq, client_id, data, stored_leaf, stored_root in rows:
        if seq != expect:
            raise AuditFailed(f"the log jumps from sequence {expect - 1} to {seq} (a transaction is missing or renumbered)", seq=seq, client_id=client_id)
        expect += 1
        data = bytes(data)
        leaf = merkle.leaf_hash(data)
        if stored_leaf is not None and stored_leaf != leaf.hex():
            raise AuditFailed("the record's bytes do not hash to its stored leaf hash (record or hash edited)", seq=seq, client_id=client_id)
        try:
            record = parse(data)
        except LedgerError as exc:
            raise AuditFailed(f"the record is not canonical JSON: {exc.message}", seq=seq, client_id=client_id) from exc
        if not isinstance(record, dict) or set(record) != RECORD_KEYS:
            raise AuditFailed(f"the record must have exactly the fields {sorted(RECORD_KEYS)}", seq=seq, client_id=client_id)
        if record["seq"] != seq:
            raise AuditFailed(f"the record says sequence {record['seq']!r} but is stored at {seq}", seq=seq, client_id=client_id)
        request = record["request"]
        rid = request.get("id") if isinstance(request, dict) else None
        if client_id is not None and rid != client_id:
            raise AuditFailed(f"the record's request id {rid!r} differs from the stored client id", seq=seq, client_id=client_id)
        if rid in rp.ids:
            raise AuditFailed(f"request id {rid!r} was already used by transaction {rp.ids[rid]}", seq=seq, client_id=rid)
        try:
            effects = apply(rp.state, request, record["signature"], _context(seq, record))
        except LedgerError as exc:
            raise AuditFailed(f"replaying it is refused: {exc.line()}", seq=seq, client_id=rid) from exc
        if effects != record["effects"]:
            raise AuditFailed(f"recorded effects differ from the replay ({_diff(effects, record['effects'])})", seq=seq, client_id=rid)
        for level, index, h in rp.frontier.append(leaf):
            rp.nodes[(level, index)] = h
        root = rp.frontier.root().hex()
        if stored_root is not None and stored_root != root:
            raise AuditFailed("the stored tree root after this transaction differs from the recomputed RFC 6962 root", seq=seq, client_id=rid)
        rp.ids[rid] = seq
        rp.leaves.append(leaf)
        rp.records[seq] = (rid, request["type"])
    problems = check_invariants(rp.state)
    if problems:
        raise AuditFailed(f"invariant broken: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return rp


def _summary(rp: Replay) -> dict:
    st = rp.state
    return {
        "ok": True,
        "ledger": st.ledger_id,
        "registry": st.registry,
        "size": rp.frontier.size,
        "root": rp.frontier.root().hex(),
        "accounts": len(st.accounts),
        "instruments": len(st.instruments),
        "signatures_checked": rp.frontier.size,
        "checks": ["sequence", "canonical bytes", "leaf hashes", "tree heads", "signatures", "authority", "replayed effects",
                   "double entry", "no negative balance", "credit-only accounts", "serial partition", "evidence caps"],
    }


def verify_ledger(ledger: Any) -> dict:
    """Verify a :class:`gep.ledger.ledger.Ledger`: replay its log, then compare every table.

    Returns
    -------
    dict
        Summary (``ok``, ``size``, ``root``, counts, checks made).

    Raises
    ------
    AuditFailed
        The first failing transaction, or the first table row that differs from the log.
    """
    store = ledger.store

    def read(tx):
        rows = [(int(s), c, bytes(r), lh, rt) for s, c, r, lh, rt in tx.q("SELECT seq, client_id, record, leaf_hash, root FROM log ORDER BY seq")]
        tables = {
            "meta": dict(tx.q("SELECT key, value FROM meta")),
            "accounts": tx.q("SELECT id, kind, owner, seq FROM accounts"),
            "instruments": tx.q("SELECT id, kind, base_unit, display_unit, binding, seq FROM instruments"),
            "postings": tx.q("SELECT seq, instrument, account, amount FROM postings"),
            "balances": tx.q("SELECT account, instrument, amount FROM balances"),
            "blocks": tx.q("SELECT instrument, start_serial, end_serial, holder, seq FROM blocks"),
            "evidence_use": tx.q("SELECT seq, key, instrument, amount, cap FROM evidence_use"),
            "prices": tx.q("SELECT seq, instrument, amount, price, time FROM prices"),
            "merkle": tx.q("SELECT level, idx, hash FROM merkle"),
        }
        return rows, tables

    rows, tables = store.read(read)
    if not rows:
        raise AuditFailed("the log is empty (no genesis record)")
    rp = replay(rows)
    _compare_tables(rp, tables)
    return _summary(rp)


def _first(seqs: Iterable[int | None]) -> int | None:
    vals = [s for s in seqs if s is not None]
    return min(vals) if vals else None


def _compare_tables(rp: Replay, t: dict) -> None:
    st = rp.state

    def fail(table: str, what: str, seq: int | None = None) -> AuditFailed:
        cid = rp.records.get(seq, (None,))[0] if seq is not None else None
        return AuditFailed(f"table {table} differs from the log: {what}", seq=seq, client_id=cid,
                           hint="the database was edited outside the ledger; restore it from a backup or an export")

    meta = t["meta"]
    if meta.get("ledger_id") != st.ledger_id or meta.get("registry") != st.registry:
        raise fail("meta", "ledger id or registry key differs from the genesis record", 1)
    # postings, grouped by transaction
    db: dict[int, list] = {}
    for seq, ins, acc, amount in t["postings"]:
        db.setdefault(int(seq), []).append((ins, acc, int(amount)))
    mem: dict[int, list] = {}
    for seq, ins, acc, amount in st.postings:
        mem.setdefault(seq, []).append((ins, acc, amount))
    bad = [s for s in set(db) | set(mem) if sorted(db.get(s, [])) != sorted(mem.get(s, []))]
    if bad:
        s = min(bad)
        raise fail("postings", f"postings of transaction {s} are {sorted(db.get(s, []))}, the log says {sorted(mem.get(s, []))}", s)
    accs = {a: (k, o, int(s)) for a, k, o, s in t["accounts"]}
    want = {a.id: (a.kind, a.owner, st.account_seq[a.id]) for a in st.accounts.values()}
    if accs != want:
        keys_ = sorted(k for k in set(accs) | set(want) if accs.get(k) != want.get(k))
        raise fail("accounts", f"account {keys_[0]!r} is {accs.get(keys_[0])}, the log says {want.get(keys_[0])}",
                   _first([(want.get(keys_[0]) or (None, None, None))[2], (accs.get(keys_[0]) or (None, None, None))[2]]))
    inst = {i: (k, b, d, bind, int(s)) for i, k, b, d, bind, s in t["instruments"]}
    if inst != st.instrument_rows:
        k = sorted(x for x in set(inst) | set(st.instrument_rows) if inst.get(x) != st.instrument_rows.get(x))[0]
        raise fail("instruments", f"instrument {k} is {inst.get(k)}, the log says {st.instrument_rows.get(k)}")
    bal = {(a, i): int(n) for a, i, n in t["balances"] if int(n) != 0}
    want_bal = {k: v for k, v in st.balances.items() if v != 0}
    if bal != want_bal:
        k = sorted(x for x in set(bal) | set(want_bal) if bal.get(x) != want_bal.get(x))[0]
        last = max((p[0] for p in st.postings if (p[2], p[1]) == k), default=None)
        raise fail("balances", f"balance of {k[0]} in {k[1]} is {bal.get(k, 0)}, the log gives {want_bal.get(k, 0)}", last)
    blocks = {(i, int(s)): (int(e), h, int(q)) for i, s, e, h, q in t["blocks"]}
    want_blocks = {(i, s): (row[0], row[1], row[2]) for i, table in st.blocks.items() for s, row in table.items()}
    if blocks != want_blocks:
        k = sorted(x for x in set(blocks) | set(want_blocks) if blocks.get(x) != want_blocks.get(x))[0]
        seq = (want_blocks.get(k) or blocks.get(k))[2]
        raise fail("blocks", f"serial block {k[0]} #{k[1]} is {blocks.get(k)}, the log gives {want_blocks.get(k)} (end, holder, seq)", seq)
    ev = {int(s): (k, i, int(a), int(c)) for s, k, i, a, c in t["evidence_use"]}
    if ev != st.evidence_rows:
        s = min(x for x in set(ev) | set(st.evidence_rows) if ev.get(x) != st.evidence_rows.get(x))
        raise fail("evidence_use", f"row of transaction {s} is {ev.get(s)}, the log gives {st.evidence_rows.get(s)}", s)
    prices = sorted((int(s), i, int(a), p, tm) for s, i, a, p, tm in t["prices"])
    if prices != sorted(st.prices):
        diff = [x for x in set(prices) ^ set(st.prices)]
        s = min(x[0] for x in diff)
        raise fail("prices", f"price row of transaction {s} differs from the log", s)
    nodes = {(int(lv), int(ix)): h for lv, ix, h in t["merkle"]}
    want_nodes = {k: v.hex() for k, v in rp.nodes.items()}
    if nodes != want_nodes:
        k = sorted(x for x in set(nodes) | set(want_nodes) if nodes.get(x) != want_nodes.get(x))[0]
        raise fail("merkle", f"node (level {k[0]}, index {k[1]}) differs from the recomputed tree", k[1] * (1 << k[0]) + 1)


def export(ledger: Any) -> dict:
    """The export document: every record's canonical text with its leaf hash, and the root.

    Leaf hash = SHA-256(0x00 || UTF-8 bytes of ``record``); the root is the RFC 6962
    Merkle tree hash of the leaf hashes in ``seq`` order.
    """
    rows = ledger.rows()
    leaves = []
    out = []
    for seq, _cid, data, leaf, _root in rows:
        leaves.append(bytes.fromhex(leaf))
        out.append({"seq": seq, "leaf_hash": leaf, "record": data.decode("utf-8")})
    return {
        "format": EXPORT_FORMAT,
        "ledger": ledger.id,
        "registry": ledger.registry,
        "size": len(rows),
        "root": merkle.root(leaves).hex(),
        "hashing": "RFC 6962: leaf = SHA-256(0x00 || UTF-8 record), node = SHA-256(0x01 || left || right); "
                   "signatures: Ed25519 (RFC 8032) over 'gep-ledger/v1 request\\n' + canonical request (RFC 8785 JSON)",
        "leaves": out,
    }


def verify_export(doc: Any) -> dict:
    """Verify an export document on its own: leaf hashes, root, signatures, replay, invariants.

    Raises
    ------
    AuditFailed
        Naming the first failing leaf (or a wrong root / format).
    """
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT or not isinstance(doc.get("leaves"), list):
        raise AuditFailed(f"not a ledger export (format {EXPORT_FORMAT})", hint="give the file written by `gep ledger export`")
    rows = []
    for i, leaf in enumerate(doc["leaves"]):
        if not isinstance(leaf, dict) or not isinstance(leaf.get("record"), str) or not isinstance(leaf.get("seq"), int):
            raise AuditFailed(f"leaf {i} of the export is malformed", seq=i + 1)
        rows.append((leaf["seq"], None, leaf["record"].encode("utf-8"), leaf.get("leaf_hash"), None))
    rp = replay(rows)
    root = rp.frontier.root().hex()
    if doc.get("size") != rp.frontier.size:
        raise AuditFailed(f"the export says size {doc.get('size')} but holds {rp.frontier.size} leaves")
    if doc.get("root") != root:
        raise AuditFailed(f"the export's root {doc.get('root')} differs from the recomputed root {root}")
    if doc.get("ledger") != rp.state.ledger_id or doc.get("registry") != rp.state.registry:
        raise AuditFailed("the export's ledger id or registry key differs from its genesis record", seq=1)
    return _summary(rp)
