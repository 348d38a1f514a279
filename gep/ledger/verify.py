"""Audit: verify a ledger (or an export of it) from its log alone, and export the log.

``verify`` replays every record in order and stops at the first that fails:

1. sequence numbers run 1, 2, 3 ... without gaps;
2. the record bytes are canonical JSON (:mod:`gep.ledger.canonical`) and their
   RFC 6962 leaf hash ``SHA-256(0x00 || bytes)`` equals the stored one;
3. the tree root after the record equals the stored one;
4. the request's Ed25519 signature verifies (RFC 8032) and the signer had the
   authority (registry / account owner); a request id is used once per signer;
5. re-deciding the request with :func:`gep.ledger.rules.apply` on the state
   rebuilt so far accepts it and gives exactly the recorded effects (postings,
   serial blocks, buffer, evidence cap and attestation, price), with the
   parameters of the genesis record.

Then the **signed tree heads**: every head stored in the database and every
head given (``--head FILE``) must carry the registry's signature (the key of the
genesis record) and match the log's root at its size; the newest stored head
must cover the whole log (every commit signs one, so a log rewritten or
extended without the registry key is caught); given heads may be required to
carry witness cosignatures. A head the log does not match names the first
differing position (bracketed by the signed heads that do match).

Then every invariant of :func:`gep.ledger.rules.check_invariants` is checked on
the rebuilt state, and (for a database) every table — accounts, instruments,
caps, postings, balances, blocks, evidence use, prices, Merkle nodes — is
compared with it, naming the first row that differs.

What verify cannot see without a head kept outside the database: a log cut back
to an earlier commit together with its heads (truncation, or an old backup
restored). Publish heads (``gep ledger head``) and verify against them.

What a record allows checking on its own (its bytes, leaf hash and stored root, its
request's shape, its signature — a batch's once per batch) need no ledger state: they run in a
pass of their own (:mod:`gep.ledger.records`), in this process or, for a long log on two cores,
split by ranges of the log with a second process (for a SQLite ledger one started afresh that
reads the log itself, in the same snapshot; else one forked as soon as the log is read, while
this one reads the tables), ahead of the rules; failures are still reported in log order. The
stored heads' signatures are checked by the registry key the database names
(:func:`gep.ledger.heads.signed`: once the tables are read, or by that second process), and
count only when the genesis record names the same key. The stored Merkle nodes are read joined
by the database, level by level, and compared with the tree the records' pass rebuilt.

The export is a JSON document with each record's canonical text, its leaf hash
and the root, so anyone can recompute the root with their own code.

References
----------
RFC 6962 section 2.1 (Merkle hash trees); RFC 8032 section 5.1 (Ed25519).
"""

from __future__ import annotations

import functools
import hashlib
from itertools import repeat
from typing import Any, Iterable, Iterator

from gep.ledger import heads as heads_mod
from gep.ledger import merkle, records
from gep.ledger.canonical import canonical, parse
from gep.ledger.clock import TIME
from gep.ledger.errors import AuditFailed, LedgerError, StorageError
from gep.ledger.rules import TRADE_FIELDS, Context, MemoryState, apply, check_invariants, end_commit, instrument_info, paused_gc

__all__ = ["replay", "verify_ledger", "verify_export", "export", "check_heads", "checkpoint", "EXPORT_FORMAT", "CHECKPOINT_FORMAT"]

EXPORT_FORMAT = "gep-ledger-export/2"
CHECKPOINT_FORMAT = "gep-ledger-checkpoint/2"


class Replay:
    """State rebuilt from the log, the recomputed tree and what the log said about itself.

    ``start`` is the size the replay started from (0, or a checkpoint's verified size):
    ``records`` and the history lists of ``state`` then hold only what follows it.
    """

    def __init__(self) -> None:
        self.state = MemoryState()
        self.frontier = merkle.Frontier()
        self.start = 0
        self.leaves = bytearray()  # every leaf hash, 32 bytes each
        self.roots: dict[int, str] = {0: merkle.EMPTY_ROOT.hex()}  # size -> root (hex): the heads' sizes, computed while replaying
        self.times: dict[int, str] = {}  # seq -> record time
        self.data: list[bytes] = []  # record bytes of the first `start` records (checkpoint replays)
        self.ids: dict[tuple[str, str], int] = {}  # (signer, client id) -> seq
        self.records: dict[int, str] = {}  # seq -> client id (for the messages)
        self.heads_checked = 0
        self.last_time = ""  # time of the last record replayed (the ledger's clock never goes back)
        self.merkle_problem: tuple[str, int] | None = None  # the stored Merkle nodes against the recomputed tree
        self.heads_signed: tuple[str, list] | None = None  # (key, whether each stored head is signed by it): :func:`gep.ledger.heads.signed`

    def root_at(self, size: int) -> str:
        """Root (hex) of the first ``size`` records."""
        if size not in self.roots:
            leaves = self.leaves
            self.roots[size] = merkle.root([bytes(leaves[32 * k:32 * k + 32]) for k in range(size)]).hex()
        return self.roots[size]

    def time_at(self, seq: int) -> str:
        """Time of record ``seq``."""
        if seq not in self.times:
            self.times[seq] = parse(self.data[seq - 1])["time"]
        return self.times[seq]


def _context(seq: int, time: str, effects: Any) -> Context:
    """The context a record was decided in: its sequence number, time and (issuance, recalculation) the evidence it recorded."""
    if type(effects) is not dict or "evidence" not in effects:
        return Context(seq, time)
    ev = effects["evidence"]
    evidence = {k: v for k, v in ev.items() if k not in ("key", "used_before")} if isinstance(ev, dict) else None
    return Context(seq, time, evidence)


@functools.lru_cache(maxsize=1)
def _checked_reader() -> Any:
    """``read(bytes, proven) -> (seq, time, request, signature, effects)`` of a record whose own checks passed elsewhere.

    Decoded with msgspec into a typed record whose signature is left as raw JSON (a
    batch signature's audit path is most of a record's bytes) and decoded only when the
    rules need it: when the signature was not proven by the checks.
    """
    import msgspec

    record = msgspec.defstruct("Record", [("effects", Any), ("request", Any), ("seq", Any), ("signature", msgspec.Raw), ("time", Any)])
    typed, plain = msgspec.json.Decoder(record).decode, msgspec.json.Decoder().decode

    def read(data: bytes, proven: bool) -> tuple:
        try:
            r = typed(data)
        except msgspec.DecodeError:  # not a record (its own checks would have said so): read it as it is
            d = plain(data)
            return d["seq"], d["time"], d["request"], d["signature"], d["effects"]
        return r.seq, r.time, r.request, r.signature if proven else plain(r.signature), r.effects

    return read



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


def replay(rows: Iterable[tuple[int, str | None, bytes, str | None, str | None]], rp: Replay | None = None, sizes: Iterable[int] = (),
           merkle_rows: list | None = None, processes: int | None = None, started: tuple | None = None, meanwhile: Any = None) -> Replay:
    """Replay log rows ``(seq, client_id, record bytes, stored leaf hash, stored root)``, from a database followed by
    its columns ``signer, type, request_sha256, time`` (compared with the record by :mod:`gep.ledger.records`).

    ``client_id``, leaf hash and root may be None when the source does not store them.
    The records' own checks (:mod:`gep.ledger.records`) run ahead of the rules, in this
    process or in a second one.

    Parameters
    ----------
    rp : Replay, optional
        Continue a replay (from a checkpoint) instead of starting from an empty ledger.
    sizes : iterable of int
        Tree sizes whose roots will be asked for (the signed heads').
    merkle_rows : list, optional
        Stored Merkle nodes ``(level, index, hash)`` to compare with the recomputed tree
        (:attr:`Replay.merkle_problem`).
    processes : int, optional
        1: everything in this process; 2: the records' own checks in a second process;
        default: 2 for a long log on a machine with two cores (:func:`gep.ledger.records.two_processes`;
        for a SQLite ledger's verify a process that reads the log itself, :func:`gep.ledger.records.can_spawn`).
        The result and the first failure reported are the same either way.
    started : tuple, optional
        The records' checks of these rows already started (:func:`start_checks`).
    meanwhile : callable, optional
        ``meanwhile(rp)``, called once the rules and the invariants are through and before the
        tree (and with it :attr:`Replay.merkle_problem` and the roots) is taken from the records'
        checks, which a second process sends last.

    Raises
    ------
    AuditFailed
        Naming the first failing transaction and why.
    """
    rp = rp if rp is not None else Replay()
    rows = rows if isinstance(rows, list) else list(rows)  # consumed: each row is let go once replayed (see _replay)
    chunks, tree = started if started is not None else start_checks(rows, rp, sizes, merkle_rows is not None, processes)
    try:
        expect = _replay(rp, rows, chunks)
        try:
            end_commit(rp.state)
        except LedgerError as exc:
            raise AuditFailed(f"the log ends inside a batch: {exc.message}", seq=expect - 1) from exc
        problems = check_invariants(rp.state)
        if problems:
            raise AuditFailed(f"invariant broken: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        if meanwhile is not None:
            meanwhile(rp)
        t = tree()  # a second process sends it after its last chunk: the state's own checks were made meanwhile
    finally:
        chunks.close()
    rp.frontier = merkle.Frontier(t.size, t.stack)
    rp.roots.update(t.roots)
    rp.state.verified |= t.verified
    rp.merkle_problem = records.merkle_problem(t.nodes, merkle_rows) if merkle_rows is not None else t.merkle
    if t.heads_signed is not None:  # checked by a spawned second process
        rp.heads_signed = t.heads_signed
    return rp


def start_checks(rows: list[tuple], rp: Replay, sizes: Iterable[int] = (), nodes: bool = False, processes: int | None = None,
                 share: float | None = None, spawned: records.Spawned | None = None) -> tuple:
    """Start the records' own checks of ``rows`` after ``rp`` (see :func:`replay`): (chunks, a function giving the tree).

    With two processes the second one starts now, so the caller may read more (the
    tables) while it works; this one checks ``share`` of the rows (:func:`gep.ledger.records.check_split`).
    A ``spawned`` second process is already reading the log itself and decides the split.
    """
    if spawned is not None:
        return records.check_split(records.Checks(rows, rp.frontier, rp.state.verified, sizes, nodes, before=bytes(rp.leaves)), spawned=spawned)
    checks = records.Checks(rows, rp.frontier, rp.state.verified, sizes, nodes, before=bytes(rp.leaves))
    two = records.two_processes(len(rows)) if processes is None else processes >= 2
    return records.check_split(checks, share) if two else records.check_here(checks)


def _replay(rp: Replay, rows: list[tuple], chunks: Iterator[records.Chunk]) -> int:
    """Apply the rules to every record, in order, with the records' own checks from ``chunks``; return the next sequence number."""
    state, ids, times, kinds = rp.state, rp.ids, rp.times, rp.records
    expect = rp.frontier.size + 1
    last_time = rp.last_time
    read = None
    at = 0
    for chunk in chunks:
        decoded = chunk.records
        if decoded is None and read is None:
            read = _checked_reader()  # the second process checked the bytes: here they are only read
        problem, root_problem, proven = chunk.problem, chunk.root_problem, chunk.proven
        for i in range(chunk.size):
            row = rows[at + i]
            seq, client_id, data = row[0], row[1], row[2]
            if seq != expect:
                raise AuditFailed(f"the log jumps from sequence {expect - 1} to {seq} (a transaction is missing or renumbered)", seq=seq, client_id=client_id)
            expect += 1
            if problem is not None and problem[0] == i:
                raise AuditFailed(problem[2], seq=seq, client_id=client_id)
            if decoded is not None:
                record = decoded[i]
                rseq, t, request, signature, recorded = record["seq"], record["time"], record["request"], record["signature"], record["effects"]
            else:
                rseq, t, request, signature, recorded = read(data, proven[i] == 1)
            if rseq != seq:
                raise AuditFailed(f"the record says sequence {rseq!r} but is stored at {seq}", seq=seq, client_id=client_id)
            if t != last_time and (not isinstance(t, str) or not TIME.match(t) or t < last_time):  # a commit's records share one time
                raise AuditFailed(f"the record's time {t!r} is not a UTC time at or after the previous record's ({last_time}): the ledger's clock went backwards",
                                  seq=seq, client_id=client_id)
            last_time = t
            rid, signer = (request.get("id"), request.get("signer")) if type(request) is dict else (None, None)
            if client_id is not None and rid != client_id:
                raise AuditFailed(f"the record's request id {rid!r} differs from the stored client id", seq=seq, client_id=client_id)
            if (signer, rid) in ids:
                raise AuditFailed(f"request id {rid!r} of this signer was already used by transaction {ids[(signer, rid)]}", seq=seq, client_id=rid)
            try:
                effects = apply(state, request, signature, _context(seq, t, recorded), None, proven[i] == 1)
            except LedgerError as exc:
                raise AuditFailed(f"replaying it is refused: {exc.line()}", seq=seq, client_id=rid) from exc
            if effects != recorded:
                raise AuditFailed(f"recorded effects differ from the replay ({_diff(effects, recorded)})", seq=seq, client_id=rid)
            if root_problem == i:
                raise AuditFailed("the stored tree root after this transaction differs from the recomputed RFC 6962 root", seq=seq, client_id=rid)
            ids[(signer, rid)] = seq
            times[seq] = t
            kinds[seq] = rid
        rp.leaves += chunk.leaves
        rows[at:at + chunk.size] = repeat(None, chunk.size)  # replayed: freed now, the memory reused as the state grows
        at += chunk.size
        if at >= len(rows):  # the last: a second process's tree is taken later (replay's meanwhile)
            break
    if at < len(rows):  # the checks stopped early, with a problem raised above: never reached
        raise AuditFailed("the records' own checks stopped before the end of the log", seq=rows[at][0])
    rp.last_time = last_time
    return expect


def check_heads(rp: Replay, stored: list[dict], given: list[tuple[str, dict]], witnesses: Iterable[str] = ()) -> int:
    """Check signed tree heads against the replayed log (see the module docstring).

    Parameters
    ----------
    rp : Replay
        The replayed log (its roots at every size).
    stored : list of dict
        Heads stored in the database (empty for an export without heads).
    given : list of (name, dict)
        Heads kept outside the database (files), with a name for messages.
    witnesses : iterable of str
        Witness public keys whose cosignature every given head must carry.

    Returns
    -------
    int
        Number of heads checked.

    Raises
    ------
    AuditFailed
        A head with a bad signature, one the log does not match (naming the first
        differing position), a stored head missing for the end of the log, or a
        missing witness cosignature.
    """
    registry, ledger_id = rp.state.registry, rp.state.ledger_id
    n = rp.frontier.size
    # signatures of the stored heads by the registry key, when verify tested them with that key (heads.signed)
    known = rp.heads_signed[1] if rp.heads_signed is not None and rp.heads_signed[0] == registry and len(rp.heads_signed[1]) == len(stored) else None
    named = ([(f"stored head of tree size {h['tree_size']}", h, True, known[k] if known else None) for k, h in enumerate(stored)]
             + [(name, h, False, None) for name, h in given])
    signed = []
    for name, h, is_stored, ok in named:
        heads_mod.check_shape(h, name)
        if h["ledger"] != ledger_id:
            raise AuditFailed(f"{name} is a head of ledger {h['ledger']}, not of this ledger ({ledger_id})")
        if not (ok if ok is not None else heads_mod.signature_ok(h, registry)):
            raise AuditFailed(f"{name}: the signature does not verify with the registry key recorded at genesis ({registry[:16]}…)",
                              hint="a head is signed by the registry's key; this one was forged, edited or made for another ledger")
        signed.append((name, h, is_stored))
    witnesses = list(witnesses)
    for name, h, is_stored in signed:
        if not is_stored:
            for w in witnesses:
                if not heads_mod.cosignature_ok(h, w):
                    raise AuditFailed(f"{name} carries no valid cosignature of witness {w[:16]}…", hint="have the witness cosign it (`gep ledger cosign`)")
    good = sorted(h["tree_size"] for _, h, _ in signed if h["tree_size"] <= n and rp.root_at(h["tree_size"]) == h["root_hash"])
    for name, h, is_stored in sorted(signed, key=lambda x: x[1]["tree_size"]):
        size = h["tree_size"]
        if size <= n and rp.root_at(size) == h["root_hash"]:
            if h["timestamp"] != rp.time_at(size):
                raise AuditFailed(f"{name}: its timestamp {h['timestamp']} is not the time of transaction {size} ({rp.time_at(size)})", seq=size)
            continue
        lo = max((g for g in good if g < size), default=0)
        hi = min(size, n + 1)
        where = f"position {lo + 1}" if hi == lo + 1 else f"position {lo + 1} (the first {lo} transactions match a signed head; the difference lies in {lo + 1}..{hi})"
        if size > n and lo == n:
            what = f"the log holds {n} transactions, the head covers {size}: transactions {n + 1}..{size} are missing (truncated, or an old backup restored)"
        elif size > n:
            what = f"the log holds {n} transactions, the head covers {size}, and the log differs from it before its end"
        else:
            what = f"the log's first {size} transactions hash to {rp.root_at(size)[:16]}…, the head says {h['root_hash'][:16]}… (history rewritten, reordered or rolled back)"
        raise AuditFailed(f"{name} (tree size {size}) does not match the log: {what}; first differing {where}", seq=lo + 1,
                          client_id=rp.records.get(lo + 1),
                          hint="the database was changed after the head was signed: restore it from a copy that matches the published heads")
    if stored:
        top = max(h["tree_size"] for h in stored)
        if top != n:
            raise AuditFailed(f"transactions {top + 1}..{n} are covered by no registry-signed tree head (the newest stored head is of size {top})",
                              seq=top + 1, client_id=rp.records.get(top + 1),
                              hint="every commit signs a head: these were written without the registry key, or history from here on was rewritten")
    rp.heads_checked = len(signed)
    return len(signed)


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
        "signatures_checked": rp.frontier.size - rp.start,
        "heads_checked": rp.heads_checked,
        "parameters": st.params,
        "checks": ["sequence", "canonical bytes", "leaf hashes", "tree roots", "signed tree heads", "signatures", "authority",
                   "genesis parameters", "replayed effects", "evidence attestation", "double entry", "no negative balance",
                   "credit-only accounts", "serial partition", "evidence caps", "DvP batches", "ledger clock", "market escrow",
                   "market objects", "trades"],
    }


def verify_ledger(ledger: Any, heads: Iterable[tuple[str, dict]] = (), witnesses: Iterable[str] = (), since: dict | None = None,
                  keep: bool = False, processes: int | None = None) -> dict:
    """Verify a :class:`gep.ledger.ledger.Ledger`: replay its log, check the signed heads, compare every table.

    Parameters
    ----------
    heads : iterable of (name, head)
        Heads kept outside the database (``--head FILE``).
    witnesses : iterable of str
        Witness public keys whose cosignature each given head must carry.
    since : dict, optional
        A checkpoint written by an earlier verify (:func:`checkpoint`): the log's first
        records must hash to its registry-signed head (checked on the record bytes, with
        no replay), and only the records after it are replayed; history tables are
        compared row by row from there on and, before it, with the checkpoint's digests of
        their rows; current balances and blocks in full.
    keep : bool
        Also return the checkpoint of the verified log as ``summary["checkpoint"]``.
    processes : int, optional
        See :func:`replay` (default: a second process for a long log on two cores).

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
    start = 0
    if since is not None:
        rp0 = _restore(since, ledger)
        start = rp0.frontier.size

    heads = list(heads)
    given_sizes = {h.get("tree_size") for _, h in heads if isinstance(h, dict) and type(h.get("tree_size")) is int}
    fresh = Replay()
    started: list = []  # the records' checks, started as soon as the log is read (a full verify), while the tables are read
    spawned: list = []  # a second process reading the log itself (records.Spawned)

    def stop() -> None:
        while started:
            started.pop()[0].close()  # a forked second process is stopped
        while spawned:
            spawned.pop().kill()

    def read(tx):
        stop()  # a retried read starts again
        p = (start,)
        # a second process may read the log itself if no writer commits before it began: see records.Spawned
        release = store.hold_writers() if since is None and processes != 1 and hasattr(store, "hold_writers") else None
        try:
            head_rows = tx.q("SELECT tree_size, root_hash, timestamp, key_id, signature FROM heads WHERE tree_size >= ? ORDER BY tree_size", p)
            try:
                stored = [{"ledger": ledger.id, "tree_size": int(n), "root_hash": r, "timestamp": t, "key_id": k, "signature": sg} for n, r, t, k, sg in head_rows]
            except (TypeError, ValueError):
                bad = next(n for n, *_ in head_rows if not _is_int(n))
                raise AuditFailed(f"table heads differs from the log: a head's tree_size {bad!r} is not a number",
                                  hint="the database was edited outside the ledger; restore it from a backup or an export") from None
            sizes = {h["tree_size"] for h in stored} | given_sizes
            if release is not None:
                n = _log_size(tx)
                if (processes == 2 and records.SPAWN) or (processes is None and records.can_spawn(n)):
                    try:
                        spawned.append(records.Spawned(str(store.path), int(n * records.SPAWNED_SHARE), n, release, (ledger.registry, stored)))
                    except StorageError:  # it released the lock; the records are checked as below
                        pass
                    release = None
        finally:
            if release is not None:
                release()
        tables: dict = {"heads": stored}

        def read_tables() -> None:
            tables.update({
                "meta": dict(tx.q("SELECT key, value FROM meta")),
                "accounts": tx.q("SELECT id, kind, owner, seq, zone, role FROM accounts"),
                "instruments": tx.q("SELECT id, kind, base_unit, display_unit, binding, seq FROM instruments"),
                "caps": tx.q("SELECT seq, instrument, key, manifest_sha256, cap FROM caps WHERE seq > ?", p),
                "postings": tx.q("SELECT seq, instrument, account, amount FROM postings WHERE seq > ? ORDER BY seq, instrument, account", p),
                "balances": tx.q("SELECT account, instrument, amount FROM balances"),
                "blocks": tx.q("SELECT instrument, start_serial, end_serial, holder, seq FROM blocks ORDER BY instrument, start_serial"),
                "evidence_use": tx.q("SELECT seq, key, instrument, amount, cap FROM evidence_use WHERE seq > ?", p),
                "prices": tx.q("SELECT seq, instrument, amount, price, time FROM prices WHERE seq > ?", p),
                "trades": tx.q("SELECT seq, n, " + ", ".join(TRADE_FIELDS) + " FROM trades WHERE seq > ?", p),
                "market": tx.q("SELECT kind, key, doc, seq FROM market"),
            })

        if spawned:
            read_tables()  # while the second process starts
            if not spawned[0].began():  # it could not begin its read: a forked process checks the records, as below
                spawned.clear()
        if spawned:  # the columns of the records checked here; of the others, what the rules and the roots' check need
            at = spawned[0].at + records.CHUNK  # the split moves at most this far (to the end of a batch)
            rows = tx.q(records.LOG_ROWS + " LIMIT ?", (at,)) + tx.q(_RULES_ROWS + " LIMIT -1 OFFSET ?", (at,))
        else:
            rows = tx.q(records.LOG_ROWS)
        if rows and not (type(rows[0][0]) is int and type(rows[0][2]) is bytes):  # SQLite gives these types; other drivers may not
            rows = [(int(s), c, bytes(r) if isinstance(r, (bytearray, memoryview)) else r, *rest) for s, c, r, *rest in rows]  # text: named by its check
        if since is None and rows:  # the records' checks start while the tables are read
            started.append(start_checks(rows, fresh, sizes, True, processes, records.LEDGER_SHARE, spawned[0] if spawned else None))
        if "meta" not in tables:  # not read yet (no spawned process)
            read_tables()
        tables["merkle"] = None if spawned else records.read_nodes(tx.q, tx.store.dialect, start, len(rows))  # else read and compared by it
        tables["history_before"] = history_digests(tx, start) if since is not None else None
        tables["history_after"] = history_digests(tx, len(rows)) if keep else None
        return rows, tables

    compared: list[AuditFailed] = []

    def compare(rp: Replay) -> None:  # every table but the Merkle nodes, while a second process finishes the tree
        try:
            _compare_tables(rp, tables)
        except AuditFailed as exc:
            compared.append(exc)

    with paused_gc():
        try:
            rows, tables = store.read(read)
            if not rows:
                raise AuditFailed("the log is empty (no genesis record)")
            stored = tables["heads"]
            if since is None and not spawned:  # while the second process checks the records, whose first chunks it then finds ready
                fresh.heads_signed = heads_mod.signed(ledger.registry, stored)
            sizes = {h["tree_size"] for h in stored} | given_sizes
            rp = (replay(rows, fresh, sizes, tables["merkle"], started=started[0], meanwhile=compare) if since is None
                  else _continue(rp0, since, rows, sizes, tables["merkle"], compare))
        finally:
            stop()
        if since is not None:  # after the log's first records were shown to be the checkpoint's
            _check_history(since["history"], tables["history_before"], start)
        if not stored:
            raise AuditFailed("the database holds no signed tree head" + (f" of the checkpoint's size {start} or more" if since is not None else ""),
                              seq=start + 1 if since is not None and len(rows) > start else None,
                              hint="every commit signs one: heads were removed from the heads table")
        check_heads(rp, stored, heads, witnesses)
        if compared:  # a table that differs, found while the tree was awaited: reported after the heads, as ever
            raise compared[0]
        if rp.merkle_problem is not None:  # the stored Merkle nodes against the recomputed tree (gep.ledger.records)
            raise _table_differs(rp, "merkle", *rp.merkle_problem)
        summary = _summary(rp)
        summary["incremental_from"] = start if since is not None else None
        if keep:
            summary["checkpoint"] = checkpoint(rp, max(stored, key=lambda h: h["tree_size"]), tables["history_after"])
        # freed while the collector is still paused: it would otherwise first walk these millions of objects (~0.15 s at 10^5)
        del rows, tables, rp, fresh
    return summary


#: History tables whose rows of the transactions up to a checkpoint are kept in it as one digest each
#: (:func:`history_digests`): an incremental verify has no replayed state before the checkpoint to compare them with.
_HISTORY = (
    ("postings", "seq, instrument, account, amount", "seq <= ?", "seq, instrument, account"),
    ("caps", "seq, instrument, key, manifest_sha256, cap", "seq <= ?", "seq"),
    ("evidence_use", "seq, key, instrument, amount, cap", "seq <= ?", "seq"),
    ("prices", "seq, instrument, amount, price, time", "seq <= ?", "seq"),
    ("trades", "seq, n, " + ", ".join(TRADE_FIELDS), "seq <= ?", "seq, n"),
    ("merkle", "level, idx, hash", "(idx + 1) * (1 << level) <= ?", "level, idx"),  # the nodes of perfect subtrees ending by then
)


def history_digests(tx: Any, size: int) -> dict[str, str]:
    """SHA-256 of each history table's rows of the first ``size`` transactions (JSON arrays, in the order of the
    table's primary key: the order its index keeps, no sort)."""
    import msgspec

    return {table: hashlib.sha256(msgspec.json.encode(tx.q(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {key}", (size,)))).hexdigest()
            for table, columns, where, key in _HISTORY}


def checkpoint(rp: Replay, head: dict, history: dict[str, str]) -> dict:
    """What an auditor keeps to verify later transactions only: the verified head and the state after it.

    A JSON document (``format`` :data:`CHECKPOINT_FORMAT`) holding the registry-signed head
    of the verified size, the tree frontier, and the ledger state the rules need to decide
    further requests (accounts, instruments, caps, balances, serial blocks, evidence use,
    the request ids used), and the digests of the history tables' rows up to the head
    (``history``: :func:`history_digests`, read once verified). Whoever edits it only fools
    themselves: keep it where the database's writers cannot.
    """
    st = rp.state
    return {
        "format": CHECKPOINT_FORMAT,
        "head": head,
        "history": history,
        "frontier": [[level, h.hex()] for level, h in rp.frontier.stack],
        "genesis": {"ledger": st.ledger_id, "registry": st.registry, "params": st.params, "operators": list(st.operators)},
        "accounts": [[a.id, a.kind, a.owner, st.account_seq[a.id], a.zone, a.role] for a in st.accounts.values()],
        "instruments": [[i, *row] for i, row in st.instrument_rows.items()],
        "caps": [[i, c["key"], c["manifest_sha256"], c["cap"], c["seq"]] for i, c in st.caps.items()],
        "key_instrument": st.key_instrument,
        "balances": [[a, i, n] for (a, i), n in st.balances.items()],
        "evidence": st.evidence,
        "blocks": [[i, start, *row] for i, table in st.blocks.items() for start, row in table.items()],
        "ids": sorted([signer, rid, seq] for (signer, rid), seq in rp.ids.items()),
        "market": [[kind, key, doc, seq] for (kind, key), (doc, seq) in sorted(st.market.items())],
        "last_time": rp.last_time,
    }


def _check_history(kept: dict, found: dict, size: int) -> None:
    """The history tables' rows of the first ``size`` transactions are those a checkpoint verified (:func:`history_digests`)."""
    for table, *_ in _HISTORY:
        if kept.get(table) != found[table]:
            raise AuditFailed(f"table {table} differs from the log: its rows of transactions 1..{size} are not those the checkpoint verified "
                              "(edited after they were verified)",
                              hint="the database was edited outside the ledger; run a full verify to name the row, and restore the database from a backup or an export")


def _restore(doc: Any, ledger: Any) -> Replay:
    """A :class:`Replay` positioned after a checkpoint (its head signature and ledger checked)."""
    from gep.ledger.model import Account

    if isinstance(doc, dict) and doc.get("format") == "gep-ledger-checkpoint/1":
        raise AuditFailed("the checkpoint was written by an earlier gep (format gep-ledger-checkpoint/1, without the history tables' digests)",
                          hint="run a full verify to write a new checkpoint")
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT or not isinstance(doc.get("history"), dict):
        raise AuditFailed(f"not a verify checkpoint (format {CHECKPOINT_FORMAT})", hint="give the file written by `gep ledger verify --checkpoint`")
    g = doc["genesis"]
    if g["ledger"] != ledger.id or g["registry"] != ledger.registry:
        raise AuditFailed("the checkpoint is of another ledger (or names another registry key)")
    head = heads_mod.check_shape(doc["head"], "checkpoint head")
    if not heads_mod.signature_ok(head, g["registry"]):
        raise AuditFailed("the checkpoint's head is not signed by the registry key", hint="run a full verify to write a new checkpoint")
    rp = Replay()
    st = rp.state
    st.set_genesis(g["ledger"], g["registry"], g["params"], g["operators"])
    for acc, kind, owner, seq, zone, role in doc["accounts"]:
        st.add_account(Account(acc, kind, owner, zone, role), seq)
    for i, kind, base, display, binding, seq in doc["instruments"]:
        st.instruments[i] = instrument_info(kind, binding)
        st.instrument_rows[i] = (kind, base, display, binding, seq)
        st.blocks.setdefault(i, {})
    for i, key, manifest, cap, seq in doc["caps"]:
        st.caps[i] = {"key": key, "manifest_sha256": manifest, "cap": cap, "seq": seq}
    st.key_instrument = dict(doc["key_instrument"])
    st.balances = {(a, i): n for a, i, n in doc["balances"]}
    st.evidence = dict(doc["evidence"])
    st.load_blocks(doc["blocks"])
    rp.ids = {(signer, rid): seq for signer, rid, seq in doc["ids"]}
    st.market = {(kind, key): (mdoc, seq) for kind, key, mdoc, seq in doc["market"]}
    rp.last_time = doc["last_time"]
    if not isinstance(rp.last_time, str) or not TIME.match(rp.last_time):  # the replay checks only the times that differ from it
        raise AuditFailed(f"the checkpoint's last time {rp.last_time!r} is not a UTC time", hint="run a full verify to write a new checkpoint")
    rp.frontier = merkle.Frontier(head["tree_size"], [(level, bytes.fromhex(h)) for level, h in doc["frontier"]])
    if rp.frontier.root().hex() != head["root_hash"] or merkle.Frontier.needed(head["tree_size"]).__len__() != len(doc["frontier"]):
        raise AuditFailed("the checkpoint's tree does not match its head", hint="run a full verify to write a new checkpoint")
    rp.start = head["tree_size"]
    rp.roots = {head["tree_size"]: head["root_hash"]}
    return rp


def _continue(rp: Replay, doc: dict, rows: list[tuple], sizes: Iterable[int] = (), merkle_rows: list | None = None, meanwhile: Any = None) -> Replay:
    """Check that the log starts with the checkpoint's records, then replay the rest."""
    n = rp.start
    if len(rows) < n:
        raise AuditFailed(f"the log holds {len(rows)} transactions, the checkpoint verified {n}: transactions {len(rows) + 1}..{n} are missing",
                          seq=len(rows) + 1)
    before = rows[:n]
    leaves = [records.record_leaf(row[2]) for row in before]  # a record not stored as bytes matches no stored leaf, below
    joined = b"".join(leaves)
    if [row[0] for row in before] != list(range(1, n + 1)) or not records.joined_equal([row[3] for row in before], joined):
        for k, ((seq, cid, _data, stored_leaf, *_), leaf) in enumerate(zip(before, leaves)):
            if seq != k + 1 or (stored_leaf is not None and stored_leaf != leaf.hex()):
                raise AuditFailed("the record's bytes or position differ from its stored leaf hash", seq=seq, client_id=cid)
    rp.leaves = bytearray(joined)
    rp.data = [r[2] for r in rows[:n]]
    root = merkle.root(leaves).hex()
    if root != doc["head"]["root_hash"]:
        raise AuditFailed(f"the log's first {n} transactions no longer hash to the checkpoint's verified head (history changed after it was verified)",
                          hint="run a full verify against the published heads to locate the change")
    return replay(rows[n:], rp, sizes, merkle_rows, meanwhile=meanwhile)


#: The log's columns the rules and the roots' check need, of the records a spawned second process checks.
_RULES_ROWS = "SELECT seq, client_id, record, NULL, root FROM log ORDER BY seq"


def _log_size(tx: Any) -> int:
    """The log's highest sequence number (its length, unless edited; only the division of verify's work depends on it)."""
    n = tx.one("SELECT max(seq) FROM log")[0]
    return n if type(n) is int and n > 0 else 0


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _first(seqs: Iterable[int | None]) -> int | None:
    vals = [s for s in seqs if s is not None]
    return min(vals) if vals else None


def _same_rows(stored: list, want: list) -> bool:
    """True when the stored rows are the wanted tuples, in any order (a row of other types is not the same).

    Compared as they are, then with the wanted rows sorted (the rows are read in key order), then both sorted.
    """
    try:
        if len(stored) != len(want):
            return False
        if stored == want:
            return True
        want = sorted(want)
        return stored == want or sorted(map(tuple, stored)) == want
    except TypeError:
        return False


#: The columns of each table (as ``verify_ledger`` reads them) that hold integers.
_INTEGERS = {"accounts": (3,), "instruments": (5,), "caps": (0, 4), "postings": (0, 3), "balances": (2,), "blocks": (1, 2, 4),
             "evidence_use": (0, 3, 4), "prices": (0, 2), "market": (3,),
             "trades": (0, 1, *(k + 2 for k, f in enumerate(TRADE_FIELDS) if f in ("listing", "quantity", "received", "payment")))}


def _compare_tables(rp: Replay, t: dict) -> None:
    """Compare the tables with the replayed state (:func:`_compare`); a value not of its column's type is named."""
    try:
        _compare(rp, t)
    except (TypeError, ValueError) as exc:  # e.g. an amount stored as text: int('x')
        for table, columns in _INTEGERS.items():
            for row in t[table]:
                for c in columns:
                    if not _is_int(row[c]):
                        raise AuditFailed(f"table {table} differs from the log: row {tuple(row)!r} holds {row[c]!r} where an integer belongs",
                                          hint="the database was edited outside the ledger; restore it from a backup or an export") from None
        raise AuditFailed(f"a table holds a value of the wrong type ({exc})", hint="the database was edited outside the ledger") from exc


def _table_differs(rp: Replay, table: str, what: str, seq: int | None = None) -> AuditFailed:
    """The failure of a table that differs from the log (naming the transaction, when known)."""
    cid = rp.records.get(seq) if seq is not None else None
    return AuditFailed(f"table {table} differs from the log: {what}", seq=seq, client_id=cid,
                       hint="the database was edited outside the ledger; restore it from a backup or an export")


def _compare(rp: Replay, t: dict) -> None:
    st = rp.state

    def fail(table: str, what: str, seq: int | None = None) -> AuditFailed:
        return _table_differs(rp, table, what, seq)

    meta = t["meta"]
    if meta.get("ledger_id") != st.ledger_id or meta.get("registry") != st.registry:
        raise fail("meta", "ledger id or registry key differs from the genesis record", 1)
    # postings, grouped by transaction (where the sorted rows differ)
    db: dict[int, list] = {}
    mem: dict[int, list] = {}
    if not _same_rows(t["postings"], st.postings):
        for seq, ins, acc, amount in t["postings"]:
            db.setdefault(int(seq), []).append((ins, acc, int(amount)))
        for seq, ins, acc, amount in st.postings:
            mem.setdefault(seq, []).append((ins, acc, amount))
    bad = [s for s in set(db) | set(mem) if sorted(db.get(s, []), key=repr) != sorted(mem.get(s, []), key=repr)]
    if bad:
        s = min(bad)
        raise fail("postings", f"postings of transaction {s} are {sorted(db.get(s, []), key=repr)}, the log says {sorted(mem.get(s, []), key=repr)}", s)
    accs = {a: (k, o, int(s), z, r) for a, k, o, s, z, r in t["accounts"]}
    want = {a.id: (a.kind, a.owner, st.account_seq[a.id], a.zone, a.role) for a in st.accounts.values()}
    if accs != want:
        keys_ = sorted((k for k in set(accs) | set(want) if accs.get(k) != want.get(k)), key=repr)
        raise fail("accounts", f"account {keys_[0]!r} is {accs.get(keys_[0])}, the log says {want.get(keys_[0])}",
                   _first([(want.get(keys_[0]) or (None,) * 3)[2], (accs.get(keys_[0]) or (None,) * 3)[2]]))
    caps = {int(s): (i, k, m, int(c)) for s, i, k, m, c in t["caps"]}
    if caps != st.cap_rows:
        s = min(x for x in set(caps) | set(st.cap_rows) if caps.get(x) != st.cap_rows.get(x))
        raise fail("caps", f"cap row of transaction {s} is {caps.get(s)}, the log gives {st.cap_rows.get(s)}", s)
    inst = {i: (k, b, d, bind, int(s)) for i, k, b, d, bind, s in t["instruments"]}
    if inst != st.instrument_rows:
        k = sorted((x for x in set(inst) | set(st.instrument_rows) if inst.get(x) != st.instrument_rows.get(x)), key=repr)[0]
        raise fail("instruments", f"instrument {k} is {inst.get(k)}, the log says {st.instrument_rows.get(k)}")
    bal = {(a, i): int(n) for a, i, n in t["balances"] if int(n) != 0}
    want_bal = {k: v for k, v in st.balances.items() if v != 0}
    if bal != want_bal:
        k = sorted((x for x in set(bal) | set(want_bal) if bal.get(x) != want_bal.get(x)), key=repr)[0]
        last = max((p[0] for p in st.postings if (p[2], p[1]) == k), default=None)
        raise fail("balances", f"balance of {k[0]} in {k[1]} is {bal.get(k, 0)}, the log gives {want_bal.get(k, 0)}", last)
    want_rows = [(i, s, row[0], row[1], row[2]) for i, table in st.blocks.items() for s, row in table.items()]
    if not _same_rows(t["blocks"], want_rows):
        blocks = {(i, int(s)): (int(e), h, int(q)) for i, s, e, h, q in t["blocks"]}
        want_blocks = {(i, s): (e, h, q) for i, s, e, h, q in want_rows}
        if blocks != want_blocks:
            k = sorted((x for x in set(blocks) | set(want_blocks) if blocks.get(x) != want_blocks.get(x)), key=repr)[0]
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
    ints = set(_INTEGERS["trades"])
    trades = sorted(tuple(int(x) if k in ints else x for k, x in enumerate(r)) for r in t["trades"])
    if trades != sorted(st.trades):
        s = min(x[0] for x in set(trades) ^ set(st.trades))
        raise fail("trades", f"trade row of transaction {s} differs from the log", s)
    market = {(k, key): (doc, int(s)) for k, key, doc, s in t["market"]}
    want_market = {k: (canonical(doc).decode(), s) for k, (doc, s) in st.market.items()}
    if market != want_market:
        k = sorted((x for x in set(market) | set(want_market) if market.get(x) != want_market.get(x)), key=repr)[0]
        seq = (want_market.get(k) or market.get(k))[1]
        raise fail("market", f"{k[0]} {k[1]} is {market.get(k, ('absent',))[0]}, the log gives {want_market.get(k, ('absent',))[0]}", seq)


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
        "head": ledger.head(),
        "hashing": "RFC 6962: leaf = SHA-256(0x00 || UTF-8 record), node = SHA-256(0x01 || left || right); "
                   "signatures: Ed25519 (RFC 8032) over 'gep-ledger/v1 request\\n' + canonical request (RFC 8785 JSON)",
        "leaves": out,
    }


def verify_export(doc: Any, heads: Iterable[tuple[str, dict]] = (), witnesses: Iterable[str] = ()) -> dict:
    """Verify an export document on its own: leaf hashes, root, signed head, signatures, replay, invariants.

    The export's own head (the newest when it was written) must be signed by the
    registry and cover every leaf; ``heads`` and ``witnesses`` as for :func:`verify_ledger`.

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
    heads = list(heads)
    sizes = {h.get("tree_size") for h in [doc.get("head")] + [h for _, h in heads] if isinstance(h, dict) and type(h.get("tree_size")) is int}
    with paused_gc():
        rp = replay(rows, sizes=sizes)
    root = rp.frontier.root().hex()
    if doc.get("size") != rp.frontier.size:
        raise AuditFailed(f"the export says size {doc.get('size')} but holds {rp.frontier.size} leaves")
    if doc.get("root") != root:
        raise AuditFailed(f"the export's root {doc.get('root')} differs from the recomputed root {root}")
    if doc.get("ledger") != rp.state.ledger_id or doc.get("registry") != rp.state.registry:
        raise AuditFailed("the export's ledger id or registry key differs from its genesis record", seq=1)
    check_heads(rp, [doc.get("head")], heads, witnesses)
    return _summary(rp)
