"""RFC 6962 Merkle tree hashing of the ledger log, with inclusion and consistency proofs.

Hashes (SHA-256)::

    leaf hash  = SHA-256(0x00 || record bytes)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])),  k the largest power of two < n

The log keeps, for every complete ("perfect") subtree, its hash at
``(level, index)``: the subtree of ``2**level`` leaves starting at leaf
``index * 2**level``. The current root of ``n`` leaves is the right fold of the
perfect subtrees given by the binary digits of ``n`` (the *frontier*), so an
append costs O(log n) hashes and the stored nodes are the whole tree.

References
----------
* RFC 6962, Certificate Transparency, section 2.1 (Merkle Hash Trees, audit paths,
  consistency proofs).
* RFC 9162, Certificate Transparency Version 2.0, sections 2.1.3.2 and 2.1.4.2
  (verification algorithms used here).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

__all__ = [
    "EMPTY_ROOT", "leaf_hash", "node_hash", "root", "Frontier", "inclusion_proof", "audit_paths", "levels", "root_from_path", "verify_inclusion",
    "consistency_proof", "verify_consistency", "inclusion_nodes", "consistency_nodes", "fold_inclusion",
]

#: Root of the empty tree, SHA-256 of the empty string [32 bytes].
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Leaf hash ``SHA-256(0x00 || data)`` [32 bytes] (RFC 6962 section 2.1)."""
    h = _LEAF_PREFIX.copy()
    h.update(data)
    return h.digest()


_LEAF_PREFIX = hashlib.sha256(b"\x00")


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node hash ``SHA-256(0x01 || left || right)`` [32 bytes] (RFC 6962 section 2.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes]) -> bytes:
    """Recursive MTH over leaf hashes (reference definition, used by the proofs)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


@dataclass
class Frontier:
    """Incremental RFC 6962 tree: the perfect subtrees covering the leaves so far.

    Attributes
    ----------
    size : int
        Number of leaves appended [-].
    stack : list of (level, hash)
        Perfect subtrees, left to right (strictly decreasing levels).
    """

    size: int = 0
    stack: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    def from_nodes(cls, size: int, nodes: dict[tuple[int, int], bytes]) -> "Frontier":
        """Rebuild the frontier of a tree of ``size`` leaves from stored perfect-subtree nodes.

        ``nodes`` maps ``(level, index)`` to hash and must hold :meth:`needed` for ``size``.
        """
        stack = [(level, nodes[(level, index)]) for level, index in cls.needed(size)]
        return cls(size, stack)

    @staticmethod
    def needed(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` of the perfect subtrees making up a tree of ``size`` leaves."""
        out = []
        offset = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, offset >> level))
                offset += 1 << level
        return out

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash; return the new perfect-subtree nodes ``(level, index, hash)``."""
        index = self.size
        new = [(0, index, leaf)]
        self.stack.append((0, leaf))
        level, i = 0, index
        while i & 1:
            (_, right) = self.stack.pop()
            (_, left) = self.stack.pop()
            h = node_hash(left, right)
            level += 1
            i >>= 1
            self.stack.append((level, h))
            new.append((level, i, h))
        self.size += 1
        return new

    def extend(self, leaves: Sequence[bytes], roots: bool = False) -> list[bytes]:
        """Append leaf hashes; return the root after each when ``roots`` (else an empty list).

        The same tree as :meth:`append` one leaf at a time, without listing the new nodes
        (:func:`levels` gives them all at once): the cost of checking every record's stored
        root is the ``popcount(size) − 1`` hashes of each root.
        """
        sha = hashlib.sha256
        stack = [b"\x01" + h for _, h in self.stack]  # each kept with the node prefix it is hashed with (one join less per hash)
        size = self.size
        out: list[bytes] = []
        keep = out.append
        for leaf in leaves:
            i, h = size, leaf
            while i & 1:
                h = sha(stack.pop() + h).digest()
                i >>= 1
            stack.append(b"\x01" + h)
            size += 1
            if roots:
                for left in stack[-2::-1]:
                    h = sha(left + h).digest()
                keep(h)
        self.size = size
        self.stack = [(level, h[1:]) for (level, _), h in zip(self.needed(size), stack)]
        return out

    def root(self) -> bytes:
        """Merkle tree hash of all leaves appended so far [32 bytes]."""
        stack = self.stack
        if not stack:
            return EMPTY_ROOT
        sha = hashlib.sha256
        h = stack[-1][1]
        for k in range(len(stack) - 2, -1, -1):
            h = sha(b"\x01" + stack[k][1] + h).digest()
        return h


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of a list of leaf hashes [32 bytes] (level by level, ``n − 1`` hashes)."""
    return levels(leaves)[-1][0] if len(leaves) else EMPTY_ROOT


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of ``leaves`` (RFC 6962 section 2.1.1).

    Parameters
    ----------
    leaves : sequence of bytes
        All leaf hashes of the tree.
    index : int
        0-based position of the leaf.

    Returns
    -------
    list of bytes
        Sibling hashes from the leaf up to the root.
    """
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} outside a tree of {n} leaves")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(leaves[:k], index) + [_mth(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [_mth(leaves[:k])]


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """The root an audit path leads to from ``leaf`` at ``index`` of ``size`` leaves (RFC 9162 section 2.1.3.2).

    Returns
    -------
    bytes or None
        The root [32 bytes], or None when the path has the wrong length for ``index`` and ``size``.
    """
    if index >= size or index < 0:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> bool:
    """Check an audit path (RFC 9162 section 2.1.3.2).

    Returns
    -------
    bool
        True when ``leaf`` is at ``index`` of the tree of ``size`` leaves with root ``root_hash``.
    """
    return root_from_path(leaf, index, size, path) == root_hash


def audit_paths(tree: list[list[bytes]]) -> list[list[str]]:
    """The audit path (hex) of every leaf of a tree given by its :func:`levels` (RFC 6962 section 2.1.1).

    ``paths[i]`` is :func:`inclusion_proof` ``(leaves, i)`` in hex. Built from the root down: a
    node's path is its sibling (where it has one) followed by its parent's path, so each level
    costs one short list per node.
    """
    paths: list[list[str]] = [[]]
    for level in reversed(tree[:-1]):
        hexes = [h.hex() for h in level]
        m = len(hexes)
        paths = [[hexes[j ^ 1]] + paths[j >> 1] if j ^ 1 < m else paths[j >> 1] for j in range(m)]
    return paths


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over ``leaves``, from the leaves up to the root (a list of one hash).

    Nodes are paired left to right; a lone last node is carried up unhashed, which gives
    the RFC 6962 tree (its left subtrees are perfect). The audit path of leaf ``i``
    (:func:`inclusion_proof`) is the sibling ``levels[l][(i >> l) ^ 1]`` of each level
    ``l`` where one exists; ``n − 1`` hashes in all.
    """
    if not leaves:
        raise ValueError("no leaves")
    out = [list(leaves)]
    sha = hashlib.sha256
    while len(out[-1]) > 1:
        below = out[-1]
        up = [sha(b"\x01" + left + right).digest() for left, right in zip(below[0::2], below[1::2])]
        if len(below) & 1:
            up.append(below[-1])
        out.append(up)
    return out


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """Proof that the tree of the first ``first`` leaves is a prefix of the tree of ``leaves``.

    RFC 6962 section 2.1.2 (``PROOF(m, D[n])``); empty for ``first`` 0 or ``len(leaves)``.
    """
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"first size {first} outside 0..{n}")
    if first in (0, n):
        return []
    return _subproof(first, list(leaves), True)


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], complete) + [_mth(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [_mth(leaves[:k])]


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> bool:
    """Check a consistency proof between two tree heads (RFC 9162 section 2.1.4.2)."""
    if first > second or first < 0:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    path = list(path)
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --------------------------------------------------------------------------- proofs from stored nodes


def _cover(start: int, length: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` whose right fold is MTH(D[start:start+length]).

    ``start`` is a multiple of the largest power of two not above ``length`` (true of
    every subtree the RFC 6962 recursion visits), so the binary digits of ``length``
    give aligned perfect subtrees, left to right.
    """
    out = []
    offset = start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


def inclusion_nodes(index: int, size: int) -> list[list[tuple[int, int]]]:
    """Which stored perfect subtrees make up each element of the audit path of leaf ``index``.

    The log stores the hash of every perfect subtree (:class:`Frontier`), so the
    audit path of any leaf in any tree size up to the current one needs O(log² n)
    stored hashes instead of all n leaves (RFC 6962 section 2.1.1, ``PATH(m, D[n])``).

    Returns
    -------
    list of list of (level, index)
        For each path element, bottom-up, the perfect subtrees whose right fold is it.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of {size} leaves")
    path: list[list[tuple[int, int]]] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            path.append(_cover(start + k, n - k))
            n = k
        else:
            path.append(_cover(start, k))
            start, n, m = start + k, n - k, m - k
    return path[::-1]


def consistency_nodes(first: int, second: int) -> list[list[tuple[int, int]]]:
    """Which stored perfect subtrees make up each element of the consistency proof from ``first`` to ``second`` leaves.

    RFC 6962 section 2.1.2 (``PROOF(m, D[n])``, the same recursion as :func:`consistency_proof`),
    read from stored hashes; empty for ``first`` 0 or ``second``. Fold with :func:`fold_inclusion`.
    """
    if not 0 <= first <= second:
        raise ValueError(f"first size {first} outside 0..{second}")
    out: list[list[tuple[int, int]]] = []

    def sub(m: int, start: int, n: int, complete: bool) -> None:
        if m == n:
            if not complete:
                out.append(_cover(start, n))
            return
        k = _split(n)
        if m <= k:
            sub(m, start, k, complete)
            out.append(_cover(start + k, n - k))
        else:
            sub(m - k, start + k, n - k, False)
            out.append(_cover(start, k))

    if first not in (0, second):
        sub(first, 0, second, True)
    return out


def fold_inclusion(groups: list[list[tuple[int, int]]], nodes: dict[tuple[int, int], bytes]) -> list[bytes]:
    """The proof from :func:`inclusion_nodes` or :func:`consistency_nodes` and the stored hashes of those nodes."""
    out = []
    for group in groups:
        h = nodes[group[-1]]
        for key in reversed(group[:-1]):
            h = node_hash(nodes[key], h)
        out.append(h)
    return out
