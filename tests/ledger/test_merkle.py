"""RFC 6962 Merkle hashing against the Certificate Transparency reference vectors and by hand."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.ledger import merkle

# Leaf inputs and tree heads of the Certificate Transparency reference tests
# (certificate-transparency merkle_tree_test.cc; the RFC 6962 test data).
DATA = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
CONSISTENCY = [
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def test_empty_tree_is_sha256_of_nothing():
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.Frontier().root() == merkle.EMPTY_ROOT


def test_leaf_and_node_prefixes():
    assert merkle.leaf_hash(b"abc") == sha(b"\x00abc")
    assert merkle.node_hash(b"L" * 32, b"R" * 32) == sha(b"\x01" + b"L" * 32 + b"R" * 32)


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_certificate_transparency_vectors(n):
    assert merkle.root(LEAVES[:n]).hex() == ROOTS[n - 1]


def test_roots_built_by_hand():
    # the RFC 6962 shapes written out: split at the largest power of two below n
    l0, l1, l2, l3, l4, l5, l6 = (sha(b"\x00" + d) for d in DATA[:7])
    node = lambda a, b: sha(b"\x01" + a + b)  # noqa: E731
    assert merkle.root(LEAVES[:3]) == node(node(l0, l1), l2)
    assert merkle.root(LEAVES[:5]) == node(node(node(l0, l1), node(l2, l3)), l4)
    assert merkle.root(LEAVES[:6]) == node(node(node(l0, l1), node(l2, l3)), node(l4, l5))
    assert merkle.root(LEAVES[:7]) == node(node(node(l0, l1), node(l2, l3)), node(node(l4, l5), l6))


@pytest.mark.parametrize("index,size,path", INCLUSION)
def test_inclusion_vectors(index, size, path):
    proof = merkle.inclusion_proof(LEAVES[:size], index)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_inclusion(LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size - 1]))
    assert not merkle.verify_inclusion(LEAVES[index ^ 1], index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize("first,second,path", CONSISTENCY)
def test_consistency_vectors(first, second, path):
    proof = merkle.consistency_proof(LEAVES[:second], first)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_consistency(first, second, bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1]), proof)
    assert not merkle.verify_consistency(first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second - 1]), proof)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70), st.data())
def test_proofs_round_trip_and_mangling_fails(n, data):
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    root = merkle.root(leaves)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, i)
    assert merkle.verify_inclusion(leaves[i], i, n, proof, root)
    if proof:
        bad = list(proof)
        bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
        assert not merkle.verify_inclusion(leaves[i], i, n, bad, root)
        assert not merkle.verify_inclusion(leaves[i], i, n, proof[:-1], root)
    m = data.draw(st.integers(0, n))
    cproof = merkle.consistency_proof(leaves, m)
    assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), root, cproof)
    if cproof:
        assert not merkle.verify_consistency(m, n, merkle.root(leaves[:m]), root, cproof[:-1])


def test_frontier_matches_recursive_definition_and_rebuilds_from_nodes():
    f = merkle.Frontier()
    nodes = {}
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(37)]
    for i, leaf in enumerate(leaves):
        for level, index, h in f.append(leaf):
            nodes[(level, index)] = h
        assert f.root() == merkle._mth(leaves[: i + 1])
        g = merkle.Frontier.from_nodes(i + 1, nodes)
        assert g.root() == f.root()
    # every stored node is the hash of the perfect subtree it names
    for (level, index), h in nodes.items():
        assert h == merkle._mth(leaves[index << level:(index + 1) << level])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 90), st.data())
def test_proofs_from_stored_nodes_equal_the_reference_proofs(n, data):
    # the audit path and the consistency proof read from the stored perfect subtrees (what
    # `Ledger.inclusion` and `Ledger.consistency` do) are RFC 6962 PATH and PROOF for every size so far
    f = merkle.Frontier()
    nodes = {}
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    for leaf in leaves:
        for level, index, h in f.append(leaf):
            nodes[(level, index)] = h
    size = data.draw(st.integers(1, n))
    i = data.draw(st.integers(0, size - 1))
    path = merkle.fold_inclusion(merkle.inclusion_nodes(i, size), nodes)
    assert path == merkle.inclusion_proof(leaves[:size], i)
    assert merkle.verify_inclusion(leaves[i], i, size, path, merkle.root(leaves[:size]))
    with pytest.raises(ValueError):
        merkle.inclusion_nodes(size, size)
    first = data.draw(st.integers(0, size))
    proof = merkle.fold_inclusion(merkle.consistency_nodes(first, size), nodes)
    assert proof == merkle.consistency_proof(leaves[:size], first)
    assert merkle.verify_consistency(first, size, merkle.root(leaves[:first]), merkle.root(leaves[:size]), proof)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 33])
def test_levels_give_the_root_and_every_audit_path(n):
    """The audit path read off merkle.levels (as prove_batches does) is RFC 6962's, and the top is the root."""
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(n)]
    tree = merkle.levels(leaves)
    assert tree[-1] == [merkle.root(leaves)]
    for i in range(n):
        path = [level[(i >> k) ^ 1] for k, level in enumerate(tree[:-1]) if (i >> k) ^ 1 < len(level)]
        assert path == merkle.inclusion_proof(leaves, i)


@pytest.mark.parametrize("before", [0, 1, 5, 8, 13])
def test_extend_gives_the_root_after_every_leaf(before):
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(before + 40)]
    f = merkle.Frontier()
    f.extend(leaves[:before])
    roots = f.extend(leaves[before:], roots=True)
    assert roots == [merkle._mth(leaves[:n]) for n in range(before + 1, len(leaves) + 1)]
    assert f == merkle.Frontier.from_nodes(len(leaves), {(lv, ix): merkle._mth(leaves[ix << lv:(ix + 1) << lv]) for lv, ix in merkle.Frontier.needed(len(leaves))})
    assert merkle.root(leaves) == merkle._mth(leaves) and merkle.root([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 1000])
def test_audit_paths_read_off_the_levels_are_the_rfc_paths(n):
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]
    paths = merkle.audit_paths(merkle.levels(leaves))
    for i in sorted({0, n // 2, n - 1, min(5, n - 1)}):
        assert paths[i] == [h.hex() for h in merkle.inclusion_proof(leaves, i)]


def test_stored_nodes_compared_level_by_level():
    from gep.ledger import records

    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(11)]
    checks = records.Checks([], merkle.Frontier(), set(), nodes=True, before=b"".join(leaves))
    checks.start = 4  # the nodes ending after leaf 4, as an incremental verify from a checkpoint of size 4 compares
    nodes = checks.tree().nodes
    f = merkle.Frontier()
    stored = {}
    for i, leaf in enumerate(leaves):
        stored.update({(lv, ix): h.hex() for lv, ix, h in f.append(leaf) if (ix + 1) << lv > 4})
    rows = sorted((lv, ix, h) for (lv, ix), h in stored.items())
    assert records.merkle_problem(nodes, rows) is None
    assert records.merkle_problem(nodes, rows[::-1]) is None  # any order: compared one by one
    edited = [r if r[:2] != (1, 3) else (1, 3, "00" * 32) for r in rows]
    assert records.merkle_problem(nodes, edited) == ("node (level 1, index 3) differs from the recomputed tree", 7)
    assert records.merkle_problem(nodes, rows[:-1])[0].startswith("node (level")


def test_the_nodes_after_a_checkpoint_are_those_of_the_whole_tree():
    """The records' checks rebuild only the subtrees covering the perfect nodes that end after ``start``
    (a checkpoint's size): the same nodes, at the same (level, index), as the tree over every leaf gives."""
    from gep.ledger import records

    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(300)]
    for n in (1, 2, 3, 7, 8, 64, 100, 255, 256, 300):
        tree = merkle.levels(leaves[:n])
        for start in sorted({0, 1, n // 3, n // 2, n - 1, n, 64, 128} & set(range(n + 1))):
            checks = records.Checks([], merkle.Frontier(), set(), before=b"".join(leaves[:n]))
            checks.start = start
            spans, hashes = checks._nodes()
            want = [(level, start >> level, n >> level) for level in range(len(tree)) if n >> level > start >> level]
            assert spans == want == records.node_spans(start, n), (n, start)
            assert hashes == b"".join(b"".join(tree[level][lo:hi]) for level, lo, hi in want), (n, start)
