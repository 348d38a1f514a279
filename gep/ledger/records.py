"""The checks of log records that need no ledger state: bytes, hashes, request shape, batch signatures, tree roots.

``verify`` (:mod:`gep.ledger.verify`) re-decides every record with the rules, in
log order, on the state rebuilt so far. What a record says about itself does not
depend on that state, so it is checked here, a chunk of records at a time, ahead
of the rules:

1. its leaf hash ``SHA-256(0x00 || bytes)`` equals the stored leaf hash;
2. its bytes are canonical JSON with exactly the record fields
   (:func:`gep.ledger.canonical.parse_record`);
3. its request has the shape of its type (:func:`gep.ledger.rules.check_request`),
   which gives the signing message;
4. batch signatures are proven once per batch (:func:`gep.ledger.rules.prove_batches`);
5. the tree root after it equals the stored root; the new perfect-subtree nodes are kept.

After the last record: the roots at the sizes asked for (those of the signed heads),
the frontier, and the stored Merkle nodes compared with the recomputed ones.

The checks run in this process (:func:`check_here`), or, for a long log on a machine
with two cores, in a second process forked for them (:func:`check_in_child`) while
this one applies the rules. Either way every check is made, the results are the same
and reach the replay in log order, so ``verify`` reports the same first failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterator, Sequence

from gep.ledger import merkle
from gep.ledger.canonical import SIGNING_DOMAIN, parse_record
from gep.ledger.errors import LedgerError, StorageError
from gep.ledger.rules import check_request, prove_batches

__all__ = ["Chunk", "Tree", "Checks", "check_here", "check_in_child", "CHUNK", "TWO_PROCESSES_FROM"]

#: Records checked at a time (a batch cut by a chunk's end is taken whole into it).
CHUNK = 4096
#: Logs of at least this many records are checked in a second process when two cores are there.
TWO_PROCESSES_FROM = 20_000

#: Kinds of a record's own failure, in the order ``verify`` checks them.
LEAF, CANONICAL = "leaf", "canonical"


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
        1 for a record whose batch signature was proven (:func:`gep.ledger.rules.prove_batches`).
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

    ``roots``: root (hex) at each size asked for that was reached; ``merkle_problem``:
    ``(message, seq)`` of the first stored node that differs from the recomputed tree, or None.
    """

    size: int
    stack: list[tuple[int, bytes]]
    roots: dict[int, str] = field(default_factory=dict)
    verified: set = field(default_factory=set)
    merkle_problem: tuple[str, int] | None = None


class _Verified:
    """The batch signatures proven so far (what :func:`gep.ledger.rules.prove_batches` keeps)."""

    def __init__(self, verified: set) -> None:
        self.verified = verified


class Checks:
    """The record checks of a run of log rows ``(seq, client id, bytes, stored leaf, stored root)``.

    Parameters
    ----------
    rows : sequence of tuple
        The rows, in log order.
    frontier : Frontier
        The tree before the first row (empty, or a checkpoint's); not changed.
    verified : set
        Batch signatures proven so far (``(signer, root, signature)``); the checks add to it.
    sizes : iterable of int
        Tree sizes whose roots are wanted (the signed heads').
    merkle : list of (level, index, hash hex), optional
        Stored Merkle nodes to compare with the nodes the rows add.
    keep_records : bool
        Hand the decoded records on with each chunk (in this process).
    """

    def __init__(self, rows: Sequence[tuple], frontier: merkle.Frontier, verified: set, sizes=(), merkle_rows: list | None = None,
                 keep_records: bool = True) -> None:
        self.rows = rows
        self.frontier = merkle.Frontier(frontier.size, list(frontier.stack))
        self.state = _Verified(verified)  # shared in this process; a second process has its own copy
        self.sizes = set(sizes)
        self.merkle_rows = merkle_rows
        self.keep_records = keep_records
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.roots: dict[int, str] = {}
        self.leaves = bytearray()

    def chunks(self) -> Iterator[Chunk]:
        """Check the rows chunk by chunk; stop after a chunk with a problem."""
        rows = iter(self.rows)
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
        frontier, nodes, roots, sizes = self.frontier, self.nodes, self.roots, self.sizes
        leaves = bytearray()
        problem = root_problem = None
        for i, ((_seq, _cid, _data, stored_leaf, stored_root), (leaf, _record, _message, bad)) in enumerate(zip(chunk, parsed)):
            if stored_leaf is not None and stored_leaf != leaf.hex():
                problem = (i, LEAF, "the record's bytes do not hash to its stored leaf hash (record or hash edited)")
                break
            if bad is not None:
                problem = (i, CANONICAL, f"the record is not canonical JSON: {bad.message}")
                break
            for level, index, h in frontier.append(leaf):
                nodes[(level, index)] = h
            leaves += leaf
            root = frontier.root()
            if frontier.size in sizes:
                roots[frontier.size] = root.hex()
            if stored_root is not None and stored_root != root.hex():
                root_problem = i
                break
        size = len(chunk) if problem is None and root_problem is None else (problem or (root_problem,))[0] + 1
        self.leaves += leaves
        return Chunk(size, bytes(leaves), bytes(proven[:size]), problem, root_problem,
                     [p[1] for p in parsed[:size]] if self.keep_records else None)

    def tree(self) -> Tree:
        """The tree after the rows checked (call after :meth:`chunks` ran out)."""
        return Tree(self.frontier.size, list(self.frontier.stack), dict(self.roots), set(self.state.verified), self._merkle_problem())

    def _merkle_problem(self) -> tuple[str, int] | None:
        if self.merkle_rows is None:
            return None
        stored = {(int(lv), int(ix)): h for lv, ix, h in self.merkle_rows}
        want = {k: v.hex() for k, v in self.nodes.items()}
        if stored == want:
            return None
        k = sorted(x for x in set(stored) | set(want) if stored.get(x) != want.get(x))[0]
        return f"node (level {k[0]}, index {k[1]}) differs from the recomputed tree", k[1] * (1 << k[0]) + 1


def _batch_rest(record: dict | None) -> int:
    """How many more records the batch of ``record``'s signature has after it (0 when none or not a batch signature)."""
    sig = record.get("signature") if type(record) is dict else None
    if type(sig) is not dict or type(sig.get("index")) is not int or type(sig.get("size")) is not int:
        return 0
    return max(0, min(sig["size"] - 1 - sig["index"], CHUNK))


def _parse(row: tuple) -> tuple[bytes, dict | None, bytes | None, LedgerError | None]:
    """(leaf hash, record, signing message of a well-formed request, problem) of a row.

    A problem is kept, not raised, so that failures are reported in log order.
    """
    data = row[2]
    leaf = merkle.leaf_hash(data)
    try:
        record, request_bytes = parse_record(data)
    except LedgerError as exc:
        return leaf, None, None, exc
    try:
        check_request(record["request"])
    except LedgerError:
        return leaf, record, None, None  # the rules refuse it, in order
    return leaf, record, SIGNING_DOMAIN + request_bytes, None


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
    done: dict[str, Tree] = {}

    def chunks() -> Iterator[Chunk]:
        try:
            while True:
                try:
                    kind, value = receive.recv()
                except EOFError:
                    raise StorageError("verify's second process ended without its results", hint="run verify again") from None
                if kind == "chunk":
                    yield value
                elif kind == "tree":
                    done["tree"] = value
                    return
                else:
                    raise StorageError(f"verify's second process failed: {value}", hint="run verify again")
        finally:
            if "tree" not in done:
                proc.kill()
            proc.join()
            receive.close()

    def tree() -> Tree:
        if "tree" not in done:
            for _ in chunks():  # the replay stopped early: the child is stopped by the generator's close
                pass
        return done["tree"]

    return chunks(), tree


def _child(checks: Checks, send: Any) -> None:
    try:
        for chunk in checks.chunks():
            send.send(("chunk", chunk))
        send.send(("tree", checks.tree()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()
