"""The checks of log records that need no ledger state: bytes, hashes, request shape, batch signatures, tree roots.

``verify`` (:mod:`gep.ledger.verify`) re-decides every record with the rules, in
log order, on the state rebuilt so far. What a record says about itself does not
depend on that state, so it is checked here, a chunk of records at a time, ahead
of the rules:

1. its leaf hash ``SHA-256(0x00 || bytes)`` equals the stored leaf hash (a chunk's stored
   hashes are compared joined, in one comparison, and one by one only where they differ);
2. its bytes are canonical JSON with exactly the record fields
   (:func:`gep.ledger.canonical.parse_record`), and the log row's own columns (signer, type,
   request hash, time) say what the record says;
3. its request has the shape of its type (:func:`gep.ledger.rules.check_request`),
   which gives the signing message;
4. batch signatures are proven once per batch (:func:`gep.ledger.rules.prove_batches`), single
   signatures one by one (:func:`gep.ledger.rules.authentic`);
5. the tree root after it equals the stored root (:class:`Roots`).

After the last record: the roots at the sizes asked for (those of the signed heads),
the frontier, and the perfect subtrees the records added, built level by level over the
leaf hashes (:func:`gep.ledger.merkle.levels`), for comparison with the stored Merkle
nodes (:func:`merkle_problem`).

The checks run in this process (:func:`check_here`), or, for a long log on a machine
with two cores, split by ranges of the log (:func:`check_split`): a second process checks
the later part (it hashes the earlier records to reach the tree where its part begins)
while this one checks the earlier part and applies the rules. For a SQLite ledger that
can be locked the second process is started afresh and reads the log itself, in the same
snapshot (:class:`Spawned`); otherwise (an export, PostgreSQL, a read-only file) it is
forked once this one has read the log (:func:`check_in_child`). Either way every check is
made, the results are the same and reach the replay in log order, so ``verify`` reports
the same first failure. With two processes the first one checks the stored roots of the
second one's part (step 5) as its chunks arrive: the roots need only the leaf hashes the
chunks carry, and the first process would otherwise wait for the chunks.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence

from gep.ledger import merkle
from gep.ledger.canonical import SIGNING_DOMAIN, parse_record
from gep.ledger.errors import LedgerError, StorageError
from gep.ledger.rules import authentic, check_request, prove_batches

__all__ = ["Chunk", "Tree", "Roots", "Checks", "check_here", "check_in_child", "check_split", "split_point", "Spawned", "can_spawn",
           "LOG_ROWS", "SPAWNED_SHARE", "joined_equal", "merkle_problem", "JoinedNodes", "node_spans", "read_nodes", "CHUNK", "record_leaf", "stored_bytes",
           "TWO_PROCESSES_FROM", "PARENT_SHARE", "LEDGER_SHARE"]

#: Records checked at a time (a batch cut by a chunk's end is taken whole into it).
CHUNK = 4096
#: Logs of at least this many records are checked in a second process when two cores are there.
TWO_PROCESSES_FROM = 20_000
#: With two processes, the share of the log whose records' checks the first one makes, besides applying the rules
#: to every record: for an export's verify, where that is all it does. From the parts measured on 10^5 transfers
#: (rules ≈ 1.0 s, records' checks ≈ 1.7 s of CPU), about 0.2 gives both processes equal work.
PARENT_SHARE = 0.2
#: The same for a ledger database's verify, whose first process also reads and compares every table: measured
#: on 10^5 transfers, it is then the busier of the two even with no checks of its own (benchmarks/RESULTS.md).
LEDGER_SHARE = 0.0

#: Kinds of a record's own failure, in the order ``verify`` checks them.
LEAF, CANONICAL, COLUMNS = "leaf", "canonical", "columns"


@dataclass
class Chunk:
    """The checks of consecutive records.

    Attributes
    ----------
    size : int
        Records in the chunk.
    leaves : bytes
        Their leaf hashes, 32 bytes each.
    proven : bytes
        1 for a well-formed request whose signature was proven: a batch signature by
        :func:`gep.ledger.rules.prove_batches`, a single one by :func:`gep.ledger.rules.authentic`.
    problem : (int, str, str) or None
        Position in the chunk, kind (:data:`LEAF` or :data:`CANONICAL`) and message of the
        first record whose bytes fail; no chunk follows one with a problem.
    root_problem : int or None
        Position of the first record whose stored root differs from the recomputed one
        (checked after the rules in ``verify``); no chunk follows.
    records : list or None
        The decoded records, when checked in this process (a second process sends none).
    """

    size: int
    leaves: bytes
    proven: bytes
    problem: tuple[int, str, str] | None = None
    root_problem: int | None = None
    records: list | None = None


@dataclass
class Tree:
    """The tree after the last record checked.

    ``roots``: root (hex) at each size asked for that was reached; ``nodes``: the perfect
    subtrees ending after the first row checked, as ``(spans, hashes)`` — ``(level, first
    index, end index)`` per level and their hashes joined in that order — for
    :func:`merkle_problem` (None unless asked for); ``merkle``: what :func:`merkle_problem` found,
    and ``heads_signed`` what :func:`gep.ledger.heads.signed` found, when a :class:`Spawned` process did.
    """

    size: int
    stack: list[tuple[int, bytes]]
    roots: dict[int, str] = field(default_factory=dict)
    verified: set = field(default_factory=set)
    nodes: tuple[list[tuple[int, int, int]], bytes] | None = None
    merkle: tuple[str, int] | None = None
    heads_signed: tuple[str, list] | None = None


class Roots:
    """The tree root after each record, compared with the stored root (step 5 of the checks).

    Parameters
    ----------
    frontier : Frontier
        The tree before the first record (not changed: a copy is extended).
    sizes : iterable of int
        Tree sizes whose roots are kept in :attr:`roots` (the signed heads').
    """

    def __init__(self, frontier: merkle.Frontier, sizes=()) -> None:
        self.frontier = merkle.Frontier(frontier.size, list(frontier.stack))
        self.sizes = set(sizes)
        self.roots: dict[int, str] = {}

    def check(self, rows: Sequence[tuple], leaves: Sequence[bytes]) -> int | None:
        """Extend the tree by the leaf hashes of ``rows``; the position of the first row whose stored root differs, or None."""
        first = self.frontier.size
        roots = self.frontier.extend(leaves, roots=True)
        stored = [row[4] for row in rows]
        problem = None
        if not joined_equal(stored, b"".join(roots)):
            problem = next((i for i, (s, r) in enumerate(zip(stored, roots)) if s is not None and s != r.hex()), None)
        for size in self.sizes:
            if first < size <= first + len(roots):
                self.roots[size] = roots[size - first - 1].hex()
        return problem

    def chunks(self, rows: Sequence[tuple], at: int, chunks: Iterator["Chunk"]) -> Iterator["Chunk"]:
        """``chunks`` of ``rows`` from ``at`` on, checked without their roots (a second process's), with their roots checked here."""
        for chunk in chunks:
            kept = len(chunk.leaves) // 32
            problem = self.check(rows[at:at + kept], [chunk.leaves[k:k + 32] for k in range(0, 32 * kept, 32)])
            if problem is not None:  # verify stops at it (after its rules), as in Checks._check
                chunk = Chunk(problem + 1, chunk.leaves[:32 * (problem + 1)], chunk.proven[:problem + 1], None, problem)
            yield chunk
            if chunk.problem is not None or chunk.root_problem is not None:
                return
            at += chunk.size


class _Verified:
    """The batch signatures proven so far (what :func:`gep.ledger.rules.prove_batches` keeps)."""

    def __init__(self, verified: set) -> None:
        self.verified = verified


class Checks:
    """The record checks of a run of log rows ``(seq, client id, bytes, stored leaf, stored root)``.

    Parameters
    ----------
    rows : sequence or iterable of tuple
        The rows, in log order (an iterable when read as they are checked: :class:`Spawned`).
    frontier : Frontier
        The tree before the first row (empty, or a checkpoint's); not changed.
    verified : set
        Batch signatures proven so far (``(signer, root, signature)``); the checks add to it.
    sizes : iterable of int
        Tree sizes whose roots are wanted (the signed heads').
    nodes : bool
        Recompute the perfect subtrees the rows add (those ending after the first row), to
        compare with the stored Merkle nodes (:attr:`Tree.nodes`); then ``before`` must hold
        every leaf hash before the first row.
    keep_records : bool
        Hand the decoded records on with each chunk (in this process).
    before : bytes
        Leaf hashes (32 bytes each) of the records before the first row.
    lo, hi : int
        Check only ``rows[lo:hi]`` (``hi`` None: to the end). With ``lo`` > 0 the rows
        before it are hashed (their leaves only), for the tree's nodes: this is how a second
        process takes the later part of a log (:func:`check_split`). Rows given as an
        iterable are read on from there (its first ``lo`` rows are consumed).

    Attributes
    ----------
    tree_roots : Roots or None
        The stored roots' check (step 5); None in a second process, whose first process
        checks its roots (:meth:`Roots.chunks`).
    """

    def __init__(self, rows: Iterable[tuple], frontier: merkle.Frontier, verified: set, sizes=(), nodes: bool = False,
                 keep_records: bool = True, before: bytes = b"", lo: int = 0, hi: int | None = None) -> None:
        self.rows = rows
        self.tree_roots: Roots | None = Roots(frontier, sizes)
        self.start = frontier.size  # the nodes ending after this size are recomputed
        self.state = _Verified(verified)  # shared in this process; a second process has its own copy
        self.sizes = set(sizes)
        self.nodes = nodes
        self.keep_records = keep_records
        self.leaves = bytearray(before)
        self.lo, self.hi = lo, hi

    def chunks(self) -> Iterator[Chunk]:
        """Check the rows chunk by chunk; stop after a chunk with a problem."""
        if self.lo:  # the leaves of the rows before lo (a second process; the first checks them), for the tree's nodes
            leaf = merkle.leaf_hash
            try:
                self.leaves += b"".join(leaf(row[2]) for row in islice(self.rows, self.lo))
            except TypeError:  # a record not stored as bytes: the first process names it
                self.leaves += b"".join(record_leaf(row[2]) for row in islice(self.rows, self.lo))
        rows = islice(self.rows, self.lo, self.hi) if isinstance(self.rows, Sequence) else iter(self.rows)  # an iterable: read on
        while True:
            chunk = list(islice(rows, CHUNK))
            if not chunk:
                return
            parsed = [_parse(row) for row in chunk]
            for _ in range(4):  # a batch cut by the chunk's end is proven whole: take its remaining members too
                more = list(islice(rows, _batch_rest(parsed[-1][1])))
                if not more:
                    break
                chunk += more
                parsed += [_parse(row) for row in more]
            out = self._check(chunk, parsed)
            yield out
            if out.problem is not None or out.root_problem is not None:
                return

    def _check(self, chunk: list[tuple], parsed: list[tuple]) -> Chunk:
        proven = prove_batches(self.state, [(p[1]["request"], p[1]["signature"], p[2]) if p[2] is not None else (None, None, None) for p in parsed])
        for k, p in enumerate(parsed):  # a single signature: checked here too, so that the rules do not wait for it
            if p[2] is not None and not proven[k] and type(p[1]["signature"]) is str:
                proven[k] = authentic(self.state, p[1]["request"], p[1]["signature"], p[2])
        n = len(chunk)
        leaves = [p[0] for p in parsed]
        joined = b"".join(leaves)
        problem = root_problem = None
        bad = next((i for i, p in enumerate(parsed) if p[3] is not None), n)  # first record not canonical
        stored = [row[3] for row in chunk]
        if not joined_equal(stored, joined):  # find the first edited leaf (or rows without stored leaves)
            bad = min(bad, next((i for i, (s, leaf) in enumerate(zip(stored, leaves)) if s is not None and s != leaf.hex()), n))
        if bad < n:
            p = parsed[bad]
            if p[3] is not None and p[3][0] == LEAF:  # not stored as bytes (see _parse)
                problem = (bad, *p[3])
            elif stored[bad] is not None and stored[bad] != p[0].hex():
                problem = (bad, LEAF, "the record's bytes do not hash to its stored leaf hash (record or hash edited)")
            else:
                problem = (bad, *p[3])
        if self.tree_roots is not None:  # the root after each record, up to the first that fails
            root_problem = self.tree_roots.check(chunk[:bad], leaves[:bad])
        if root_problem is not None:  # verify stops at it (after its rules): no chunk follows, and the tree is not asked for
            problem = None
            size = kept = root_problem + 1
        else:
            kept = bad
            size = n if problem is None else bad + 1
        self.leaves += joined[:32 * kept]
        return Chunk(size, joined[:32 * kept], bytes(proven[:size]), problem, root_problem,
                     [p[1] for p in parsed[:size]] if self.keep_records else None)

    def tree(self) -> Tree:
        """The tree after the rows checked (call after :meth:`chunks` ran out)."""
        t = self.tree_roots
        return Tree(t.frontier.size if t else len(self.leaves) // 32, list(t.frontier.stack) if t else [], dict(t.roots) if t else {},
                    set(self.state.verified), self._nodes() if self.nodes else None)

    def _nodes(self) -> tuple[list[tuple[int, int, int]], bytes]:
        """The perfect subtrees ending after ``start``, built level by level over the leaves they cover.

        The highest such subtree begins at ``offset``, a multiple of its size (and so of every
        lower one's): the tree over the leaves from there holds them all, each at its index less
        ``offset`` shifted by its level. After a checkpoint that is a few leaves, not the whole log.
        """
        leaves = self.leaves
        n = len(leaves) // 32
        spans = node_spans(self.start, n)
        if not spans:
            return [], b""
        top = spans[-1][0]
        offset = self.start >> top << top
        tree = merkle.levels([bytes(leaves[k:k + 32]) for k in range(32 * offset, 32 * n, 32)])
        return spans, b"".join(b"".join(tree[level][lo - (offset >> level):hi - (offset >> level)]) for level, lo, hi in spans)


@dataclass
class JoinedNodes:
    """Stored Merkle nodes read joined by the database: ``(level, first index, end index)`` of each level's
    run of nodes, in order (each run checked index by index when read, :func:`node_spans`), and their hashes
    (hex, each checked 64 characters long when read) joined in that order."""

    spans: list[tuple[int, int, int]]
    hashes: str


#: The stored Merkle nodes ending after a size, per level: the indices and the hashes, each joined in index order.
_JOINED_NODES = {
    # SQLite before 3.44 cannot order inside an aggregate: the scan of the (level, idx) key gives that order, and
    # the indices read are compared with the wanted ones (in another order, the nodes are read row by row)
    "sqlite": "SELECT level, group_concat(idx, ','), group_concat(hash, ''), min(length(hash)), max(length(hash)) FROM merkle "
              "WHERE (idx + 1) * (1 << level) > ? GROUP BY level ORDER BY level",
    "postgresql": "SELECT level, string_agg(idx::text, ',' ORDER BY idx), string_agg(hash, '' ORDER BY idx), min(length(hash)), max(length(hash)) "
                  "FROM merkle WHERE (idx + 1) * (1 << level) > ? GROUP BY level ORDER BY level",
}


def read_nodes(q: Any, dialect: str, start: int, n: int) -> "list | JoinedNodes":
    """The stored Merkle nodes ending after leaf ``start`` of a log of ``n`` records, to compare with the recomputed tree.

    ``q(sql, params)`` runs a query in the read transaction (``?`` placeholders). Read joined by
    the database (one row per level) when their indices are exactly those of the tree's perfect
    subtrees (:func:`node_spans`), which is checked here, index by index, and every hash is 64
    characters long (so the n-th hash of the joined text is the n-th node's); otherwise (a node
    missing, added or moved, a hash cut or lengthened, or a back end without the query) row by row.
    """
    sql = _JOINED_NODES.get(dialect)
    if sql is not None:
        spans = node_spans(start, n)
        levels = q(sql, (start,))
        # as many indices as the spans hold, level by level, before the wanted indices are written out (n may be anything)
        if [(int(level), idx.count(",") + 1 if type(idx) is str else None) for level, idx, *_ in levels] == [(level, hi - lo) for level, lo, hi in spans] \
                and [(idx, lo, hi) for _, idx, _, lo, hi in levels] == [(",".join(map(str, range(lo, hi))), 64, 64) for _, lo, hi in spans] \
                and all(type(h) is str for _, _, h, _, _ in levels):
            return JoinedNodes(spans, "".join(h for _, _, h, _, _ in levels))
    return q("SELECT level, idx, hash FROM merkle WHERE (idx + 1) * (1 << level) > ? ORDER BY level, idx", (start,))


def node_spans(start: int, n: int) -> list[tuple[int, int, int]]:
    """``(level, first index, end index)`` of the perfect subtrees of a tree of ``n`` leaves that end after leaf ``start``, by level."""
    return [(level, start >> level, n >> level) for level in range(n.bit_length()) if n >> level > start >> level]


def merkle_problem(nodes: tuple[list[tuple[int, int, int]], bytes], rows: "list | JoinedNodes") -> tuple[str, int] | None:
    """``(message, seq)`` of the first stored Merkle node that differs from the recomputed ones (:attr:`Tree.nodes`), or None.

    ``rows``: the stored nodes ``(level, index, hash hex)``, in (level, index) order for the
    fast comparison (column by column); in any other order they are compared one by one.
    Or the stored nodes read joined (:class:`JoinedNodes`), compared in one string comparison.
    """
    spans, hashes = nodes
    if isinstance(rows, JoinedNodes):
        if [s for s in spans if s[2] > s[1]] == rows.spans:
            text = hashes.hex()
            if text == rows.hashes:
                return None
            j = next(j for j in range(0, len(text), 64) if text[j:j + 64] != rows.hashes[j:j + 64]) // 64  # every stored hash is 64 long
            level, i = [(level, i) for level, lo, hi in rows.spans for i in range(lo, hi)][j]
            return f"node (level {level}, index {i}) differs from the recomputed tree", i * (1 << level) + 1
        rows = [(level, i, rows.hashes[64 * j:64 * j + 64])
                for j, (level, i) in enumerate((level, i) for level, lo, hi in rows.spans for i in range(lo, hi))]
    if rows and len(rows) == sum(hi - lo for _, lo, hi in spans):
        levels_, idx, stored = zip(*rows)
        if (list(levels_) == [level for level, lo, hi in spans for _ in range(lo, hi)] and list(idx) == [i for _, lo, hi in spans for i in range(lo, hi)]
                and joined_equal(stored, hashes)):
            return None
    keys = [(level, i) for level, lo, hi in spans for i in range(lo, hi)]
    need = {k: hashes[32 * j:32 * j + 32].hex() for j, k in enumerate(keys)}
    have = {(int(lv), int(ix)): h for lv, ix, h in rows}
    if have == need:
        return None
    k = sorted(x for x in set(have) | set(need) if have.get(x) != need.get(x))[0]
    return f"node (level {k[0]}, index {k[1]}) differs from the recomputed tree", k[1] * (1 << k[0]) + 1


def joined_equal(stored: list, hashes: bytes) -> bool:
    """True when the stored hex hashes, joined, are ``hashes`` (one comparison for a chunk; False for a missing or non-text one)."""
    try:
        return "".join(stored) == hashes.hex()
    except TypeError:
        return False


def _batch_rest(record: dict | None) -> int:
    """How many more records the batch of ``record``'s signature has after it (0 when none or not a batch signature)."""
    sig = record.get("signature") if type(record) is dict else None
    if type(sig) is not dict or type(sig.get("index")) is not int or type(sig.get("size")) is not int:
        return 0
    return max(0, min(sig["size"] - 1 - sig["index"], CHUNK))


def record_leaf(data: Any) -> bytes:
    """The RFC 6962 leaf hash of a stored record; for a value not stored as bytes (the database
    was edited), 32 zero bytes, which match no stored leaf hash, so that the record's check names it."""
    return merkle.leaf_hash(data) if type(data) is bytes else bytes(32)


def stored_bytes(value: Any, seq: Any) -> bytes:
    """The bytes of transaction ``seq``'s stored record (SQLite gives bytes, PostgreSQL drivers bytes or a memoryview).

    Raises
    ------
    StorageError
        The record is stored as text or a number: the database was edited outside the ledger.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise StorageError(f"the record of transaction {seq} is stored as {type(value).__name__}, not as bytes: the database was edited outside the ledger",
                       hint="run `gep ledger verify`; restore the database from a backup or an export")


def _parse(row: tuple) -> tuple[bytes, dict | None, bytes | None, tuple[str, str] | None]:
    """(leaf hash, record, signing message of a well-formed request, problem) of a row.

    A problem (kind, message) is kept, not raised, so that failures are reported in log order. A row
    of a ledger database also carries the columns the writer reads without parsing the record
    (``signer``, ``type``, ``request_sha256``, ``time``): they must say what the record says
    (:func:`_columns_problem`).
    """
    data = row[2]
    if type(data) is not bytes:  # e.g. CAST(record AS TEXT): SQLite keeps the storage class a value was written with
        return record_leaf(data), None, None, (LEAF, f"the record is stored as {type(data).__name__}, not as bytes (the database was edited)")
    leaf = merkle.leaf_hash(data)
    try:
        record, request_bytes = parse_record(data)
    except LedgerError as exc:
        return leaf, None, None, (CANONICAL, f"the record is not canonical JSON: {exc.message}")
    if len(row) > 5:
        column = _columns_problem(row, record, request_bytes)
        if column is not None:
            return leaf, record, None, (COLUMNS, column)
    try:
        check_request(record["request"])
    except LedgerError:
        return leaf, record, None, None  # the rules refuse it, in order
    return leaf, record, SIGNING_DOMAIN + request_bytes, None


def _columns_problem(row: tuple, record: dict, request_bytes: bytes) -> str | None:
    """Which of a log row's columns ``(…, signer, type, request_sha256, time)`` differs from its record, or None.

    The writer finds a retried request by its signer and id and compares the request's hash, and
    statements date movements by the time column: an edited column would change what they do
    while the record, its leaf hash and the signed heads stay as they were.
    """
    request = record["request"] if type(record["request"]) is dict else {}
    signer, kind, request_sha256, time = row[5:9]
    if signer != request.get("signer"):
        return f"the log's signer column {signer!r} is not the record's request signer (database edited)"
    if kind != request.get("type"):
        return f"the log's type column {kind!r} is not the record's request type (database edited)"
    if time != record["time"]:
        return f"the log's time column {time!r} is not the record's time {record['time']!r} (database edited)"
    if request_sha256 != hashlib.sha256(request_bytes).hexdigest():
        return f"the log's request_sha256 column {request_sha256!r} is not the SHA-256 of the record's request (database edited)"
    return None


def check_here(checks: Checks) -> tuple[Iterator[Chunk], Any]:
    """Run ``checks`` in this process: (the chunks, as the replay asks for them; a function giving the :class:`Tree`)."""
    return checks.chunks(), checks.tree


def two_processes(n: int) -> bool:
    """True when ``n`` records are worth a second process and one can be forked onto a second core.

    Not from a daemonic process (a multiprocessing worker), which may not have children.
    """
    import multiprocessing

    return (n >= TWO_PROCESSES_FROM and (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def check_split(checks: Checks, share: float | None = None, spawned: "Spawned | None" = None) -> tuple[Iterator[Chunk], Any]:
    """Split ``checks`` by ranges of the log: the first ``share`` of the rows here, the rest in a second process.

    The second process, forked (or ``spawned`` already, then reading the log itself: the
    split is where it was told), starts at once on the later rows (it hashes the earlier ones
    to reach the tree where its part begins); this one checks the earlier rows as the replay
    asks for them, then hands on the second process's chunks, whose stored roots it checks. A
    batch is not cut: the split is moved to the end of the batch it falls in. The chunks reach
    the replay in log order, with the same checks and the same first failure as :func:`check_here`.
    """
    rows = checks.rows
    m = split_point(rows, int(len(rows) * (PARENT_SHARE if share is None else share)) if spawned is None else spawned.at)
    here = Checks(rows, checks.tree_roots.frontier, checks.state.verified, checks.sizes, False, True, bytes(checks.leaves), 0, m)
    roots = here.tree_roots  # after the rows checked here, the later rows' roots are checked here too
    if spawned is None:
        checks.lo, checks.tree_roots = m, None
        later, later_tree = check_in_child(checks)
    else:
        later, later_tree = spawned.results()

    def chunks() -> Iterator[Chunk]:
        try:
            for chunk in here.chunks():
                yield chunk
                if chunk.problem is not None or chunk.root_problem is not None:
                    return
            got = m
            for chunk in roots.chunks(rows, m, later):
                if got + chunk.size > len(rows):  # a spawned process read more: not reached while the lock keeps writers out (Spawned)
                    raise StorageError("the log changed while verify read it (its second process read more records)", hint="run verify again")
                # the rules apply to the bytes read here: those the spawned process checked (the same, unless the file was
                # written around SQLite's locks between the two reads)
                if spawned is not None and b"".join(record_leaf(row[2]) for row in rows[got:got + len(chunk.leaves) // 32]) != chunk.leaves:
                    raise StorageError("the log changed while verify read it (a record's bytes differ between its two reads)", hint="run verify again")
                got += chunk.size
                yield chunk
        finally:
            later.close()

    def tree() -> Tree:
        t = later_tree()
        if spawned is not None and t.size != checks.tree_roots.frontier.size + len(rows):  # it hashed every record it read
            raise StorageError(f"the log changed while verify read it (its second process read {t.size} records, this one {len(rows)})",
                               hint="run verify again")
        t.size, t.stack = roots.frontier.size, list(roots.frontier.stack)
        t.roots.update(roots.roots)
        t.verified |= here.state.verified
        return t

    return chunks(), tree


def split_point(rows: Sequence[tuple], at: int) -> int:
    """Where :func:`check_split` divides ``rows``: after the first ``at`` of them, moved to the end of the batch there."""
    m = min(len(rows), at)
    return 0 if m <= 0 else min(len(rows), m + _rest_after(rows[m - 1]))


def _rest_after(row: tuple) -> int:
    """How many more records the batch of ``row``'s record has after it (0 for a record that does not parse: its own checks report it)."""
    try:
        return _batch_rest(json.loads(row[2]))
    except (ValueError, TypeError, RecursionError):  # not JSON (or nested past the parser's depth), or not text
        return 0


def check_in_child(checks: Checks) -> tuple[Iterator[Chunk], Any]:
    """Run ``checks`` in a forked process, which sends each chunk as soon as it is checked.

    The child inherits the rows (nothing is copied to start it) and sends small results:
    flags, leaf hashes and problems per chunk, then the :class:`Tree`.

    Raises
    ------
    StorageError
        The child failed or ended without its results.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    checks.keep_records = False
    proc = ctx.Process(target=_child, args=(checks, send), daemon=True)
    proc.start()
    send.close()
    return _results(receive, proc.kill, proc.join)


def _results(receive: Any, kill: Any, join: Any, first: Any = None, said: Any = None) -> tuple[Iterator[Chunk], Any]:
    """(the chunks, a function giving the :class:`Tree`) received from a second process on ``receive``.

    ``first``: a function called before the first message is read (it may raise); ``kill`` stops the
    process when its results are not all read, ``join`` waits for its end; ``said``: what the process
    wrote when it failed (for the message).
    """
    done: dict[str, Tree] = {}

    def chunks() -> Iterator[Chunk]:
        try:
            if first is not None:
                first()
            while True:
                try:
                    kind, value = receive.recv()
                except EOFError:
                    why = said() if said is not None else ""
                    raise StorageError("verify's second process ended without its results" + (f" ({why})" if why else ""),
                                       hint="run verify again") from None
                if kind == "chunk":
                    yield value
                elif kind == "tree":
                    done["tree"] = value
                    return
                else:
                    raise StorageError(f"verify's second process failed: {value}", hint="run verify again")
        finally:
            if "tree" not in done:
                kill()
            join()
            receive.close()

    def tree() -> Tree:
        if "tree" not in done:
            for _ in chunks():  # the replay stopped early: the child is stopped by the generator's close
                pass
        return done["tree"]

    return chunks(), tree


#: The log's columns as the records' checks read them.
LOG_ROWS = "SELECT seq, client_id, record, leaf_hash, root, signer, type, request_sha256, time FROM log ORDER BY seq"
#: With a second process that reads the log itself (:class:`Spawned`), the share of the log whose records' checks the
#: first process makes, besides reading and comparing the tables, checking every stored root and applying the rules:
#: measured on 10^5 transfers (benchmarks/RESULTS.md), where it leaves the two processes about equal work.
SPAWNED_SHARE = 0.05
#: The log's columns as a :class:`Spawned` process reads them: what the records' own checks use (not the sequence
#: number, request id and root, which the first process checks).
_SPAWNED_ROWS = "SELECT NULL, NULL, record, leaf_hash, NULL, signer, type, request_sha256, time FROM log ORDER BY seq"
#: Whether a SQLite ledger's verify may use a :class:`Spawned` process (else a forked one, :func:`check_split`).
SPAWN = True
#: The command of a :class:`Spawned` process: its arguments come pickled on its standard input.
_SPAWN = ("import pickle, sys; a = pickle.load(sys.stdin.buffer); sys.path[:] = a[0]; "
          "from gep.ledger.records import _spawned; _spawned(int(sys.argv[1]), *a[1:])")
#: How a :class:`Spawned` process is started: ``-P``, the working directory is not put on the import path (a module
#: there must not be imported); ``-S``, no site initialisation (the process gets this one's import path, this one's gep first).
_PYTHON_FLAGS = ("-P", "-S")
#: Seconds a :class:`Spawned` process may take to begin its read transaction (writers wait until then) [s].
BEGIN_WITHIN = 30


class _Pipe:
    """One end of the pipe between verify's processes: ``send`` and ``recv`` objects, ``poll``, ``close``.

    Each message is its pickle's length (4 bytes, big-endian) then the pickle: what
    :mod:`multiprocessing.connection` does, without importing it (a :class:`Spawned` process starts sooner).
    """

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def send(self, obj: Any) -> None:
        import pickle
        import struct

        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(struct.pack("!I", len(data)) + data)
        while view:
            view = view[os.write(self.fd, view):]

    def _read(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            part = os.read(self.fd, min(left, 1 << 20))
            if not part:
                raise EOFError
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def recv(self) -> Any:
        import pickle
        import struct

        return pickle.loads(self._read(struct.unpack("!I", self._read(4))[0]))

    def poll(self, timeout: float) -> bool:
        import select

        return bool(select.select([self.fd], [], [], timeout)[0])

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Spawned:
    """A second process for the records' own checks, started afresh, that reads the log of a SQLite ledger itself.

    A forked process (:func:`check_in_child`) inherits the log this one read: it can start only
    once the whole log is read, and copying the pages of the objects both processes touch costs
    each of them (0.45 s of CPU for 10^5 records in the second one). This one starts at once, reads
    the log in chunks as it checks them and shares no memory with the first process. It checks
    the records after the first ``at`` (moved to the end of the batch there, :func:`split_point`),
    whose leaves it hashes for the tree; the first process checks those and every stored root
    (:func:`check_split`), and that the records it applies the rules to hash to the leaves sent
    (the same bytes); this one reads and compares the stored Merkle nodes and checks the
    signatures of the stored heads (``heads``: the registry key the database names, and the heads).

    Both must see the same log. The caller holds the database's write lock from before its own
    read transaction began (``release``, :meth:`gep.ledger.store.SqliteStore.hold_writers`):
    no writer commits until the second process has begun its read transaction too, when
    ``release`` is called (by a thread of this process, as soon as the second process says so).

    Parameters
    ----------
    db : str
        The SQLite file.
    at : int
        The records up to here (and to the end of their batch) are checked by the first process.
    size : int
        The log's length, as far as the first process knows (its highest sequence number): the
        stored Merkle nodes are read joined when they are those of a tree of this size
        (:func:`read_nodes`), else row by row; compared with the tree of the records read either way.
    release : callable
        Ends the write lock; called once, whatever happens.
    heads : (str, list of dict)
        The registry key the database names and the stored heads (:attr:`Tree.heads_signed`).

    Raises
    ------
    StorageError
        The process could not be started.
    """

    def __init__(self, db: str, at: int, size: int, release: Any, heads: tuple[str, list[dict]]) -> None:
        import pickle
        import subprocess
        import sys
        import tempfile
        import threading
        from pathlib import Path

        self.at = at
        self._begun: list = []
        self._stderr = tempfile.TemporaryFile()  # what the process says if it fails (normally nothing)
        r, w = os.pipe()
        try:
            self.proc = subprocess.Popen([sys.executable, *_PYTHON_FLAGS, "-c", _SPAWN, str(w)], stdin=subprocess.PIPE, stderr=self._stderr, pass_fds=(w,))
            here = str(Path(__file__).resolve().parents[2])  # this gep (an editable install is found by a hook that -S leaves out)
            self.proc.stdin.write(pickle.dumps(([here] + [q for q in sys.path if q != here], db, at, size, heads)))
            self.proc.stdin.close()
        except (OSError, ValueError) as exc:
            os.close(r)
            self._stderr.close()
            release()
            raise StorageError(f"cannot start verify's second process: {exc}", hint="run verify with one process") from exc
        finally:
            os.close(w)
        self.receive = _Pipe(r)

        def wait() -> None:  # the first message: the second process began reading (or failed, or did not begin in time)
            try:
                if self.receive.poll(BEGIN_WITHIN):
                    self._begun.append(self.receive.recv())
                else:
                    self._begun.append(("error", f"it did not begin reading the log within {BEGIN_WITHIN} s"))
            except (EOFError, OSError):
                self._begun.append(("error", "it ended before reading the log"))
            finally:
                release()

        self.thread = threading.Thread(target=wait, name="verify-begun", daemon=True)
        self.thread.start()

    def began(self) -> bool:
        """Wait until the process began its read transaction (True) or failed to (False: it is stopped)."""
        self.thread.join()
        if self._begun[0][0] == "begun":
            return True
        self.kill()
        return False

    def kill(self) -> None:
        """Stop the process (when its results are not wanted) and wait for its end."""
        if self.proc.poll() is None:
            self.proc.kill()
        self._ended()

    def _ended(self) -> None:
        """Wait for the process's end; close what this one kept open for it."""
        self.proc.wait()
        self._stderr.close()
        self.receive.close()

    def _first(self) -> None:
        if not self.began():
            raise StorageError(f"verify's second process failed: {self._begun[0][1]}", hint="run verify again")

    def _failed(self) -> str:
        """The last line the process wrote to its standard error, if any (after it ended)."""
        self.proc.wait()
        self._stderr.seek(0)
        lines = self._stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def results(self) -> tuple[Iterator[Chunk], Any]:
        """(the chunks, a function giving the :class:`Tree`) of the second process."""
        return _results(self.receive, self.kill, self._ended, self._first, self._failed)


def _spawned(fd: int, db: str, at: int, size: int, heads: tuple[str, list[dict]]) -> None:
    """The :class:`Spawned` process: begin a read transaction, say so, then check the log as it is read."""
    import sqlite3
    from itertools import chain

    from gep.ledger.heads import signed

    send = _Pipe(fd)
    try:
        conn = sqlite3.connect(db, timeout=60, isolation_level=None)
        conn.execute("BEGIN")
        cur = conn.execute(_SPAWNED_ROWS)  # the snapshot is taken here, while the first process holds the write lock
    except Exception as exc:  # noqa: BLE001 - reported to the first process, which raises
        send.send(("error", f"cannot read the log: {type(exc).__name__}: {exc}"))
        send.close()
        return
    send.send(("begun", None))
    try:  # first what the first process needs only at the end, while it reads the tables and checks its own part
        signatures = signed(*heads)
        nodes = read_nodes(lambda sql, p: conn.execute(sql, p).fetchall(), "sqlite", 0, size)  # row by row unless size is the log's
    except Exception as exc:  # noqa: BLE001 - reported to the first process, which raises
        send.send(("error", f"cannot read the Merkle nodes: {type(exc).__name__}: {exc}"))
        send.close()
        return

    def fetched() -> Iterator[tuple]:
        while rows := cur.fetchmany(CHUNK):
            yield from rows

    rows = fetched()
    first = list(islice(rows, at))  # the first process's part, to the end of the batch there (as split_point)
    if first:
        first += islice(rows, _rest_after(first[-1]))
    checks = Checks(chain(first, rows), merkle.Frontier(), set(), (), nodes=True, keep_records=False, lo=len(first))
    checks.tree_roots = None  # the first process checks every stored root

    def finish(tree: Tree, last: Chunk | None) -> None:  # the stored Merkle nodes compared (unless a record failed first)
        if last is None or last.problem is None:
            tree.merkle = merkle_problem(tree.nodes, nodes)
        tree.nodes, tree.heads_signed = None, signatures

    _child(checks, send, finish)


def can_spawn(n: int) -> bool:
    """True when ``n`` records are worth a second process and there is a second core (a :class:`Spawned` one)."""
    import sys

    return SPAWN and n >= TWO_PROCESSES_FROM and (os.cpu_count() or 1) >= 2 and bool(sys.executable)


def _child(checks: Checks, send: Any, finish: Any = None) -> None:
    """The second process: check, and send each result as soon as it is made.

    The results are sent from a thread of their own: a pipe holds about one chunk, and the
    first process reads none while it reads the tables; sending from the checking loop
    would stop the checks until then. ``finish``: called on the tree before it is sent.
    """
    import queue
    import threading

    gc.disable()  # it keeps nothing and makes no cycles: collections would only walk the inherited heap
    out: queue.SimpleQueue = queue.SimpleQueue()

    def sender() -> None:
        try:
            while (item := out.get()) is not None:
                send.send(item)
        except OSError:  # the first process stopped reading (it found a failure and closed the pipe)
            pass

    thread = threading.Thread(target=sender, name="verify-send", daemon=True)
    thread.start()
    try:
        last = None
        for last in checks.chunks():
            out.put(("chunk", last))
        tree = checks.tree()
        if finish is not None:
            finish(tree, last)
        out.put(("tree", tree))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        out.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        out.put(None)
        thread.join()
        send.close()
