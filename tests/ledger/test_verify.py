"""Audit: verify recomputes everything from the log and names the first tampered transaction; exports check independently."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from gep.ledger.canonical import parse_record
from gep.ledger.verify import export, verify_export, verify_ledger
from gep.ledger.errors import AuditFailed
from tests.ledger.helpers import SPLITS, drop_append_only, raw_execute, split_as

#: Every verify here runs with the records' checks in one process and in two (same results, same first failure).
pytestmark = pytest.mark.usefixtures("verify_processes")

CAP = "capacity/1/COD/2024"


@pytest.fixture
def busy(ledger, keyset, runs):
    """A ledger with issuance, transfers with prices, a retirement and a buffer cancellation (12 transactions)."""
    ledger.issue(keyset.registry, CAP, "2 t", "alice", runs["capacity"], id="iss-cap")
    ledger.issue(keyset.registry, "carbon/p1/2022", "5 t", "bob", runs["carbon"], zone="1", id="iss-c")
    ledger.transfer(keyset.alice, CAP, "300 kg", "alice", "bob", price="1186.71", id="t1")
    ledger.transfer(keyset.bob, CAP, "100 kg", "bob", "carol", id="t2")
    ledger.transfer(keyset.bob, "carbon/p1/2022", "2 t", "bob", "carol", price="71.6", id="t3")
    ledger.retire(keyset.carol, "carbon/p1/2022", "1 t", "carol", id="r1")
    ledger.cancel(keyset.registry, "carbon/p1/2022", "0.5 t", "sys:buffer", id="x1")
    return ledger


def target_of(led) -> str:
    return led.store.url if led.store.dialect == "postgresql" else str(led.store.path)


def independent_root(doc: dict) -> str:
    """RFC 6962 root computed from the export with hashlib only (no gep code)."""
    leaves = []
    for leaf in doc["leaves"]:
        h = hashlib.sha256(b"\x00" + leaf["record"].encode("utf-8")).digest()
        assert h.hex() == leaf["leaf_hash"]
        leaves.append(h)

    def mth(xs):
        if len(xs) == 1:
            return xs[0]
        k = 1
        while k * 2 < len(xs):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(xs[:k]) + mth(xs[k:])).digest()

    return mth(leaves).hex()


def independent_signatures(doc: dict) -> None:
    """Every request signature checks with a plain Ed25519 verifier over the documented message."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    for leaf in doc["leaves"]:
        rec = json.loads(leaf["record"])
        req = rec["request"]
        msg = b"gep-ledger/v1 request\n" + json.dumps(req, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(req["signer"])).verify(bytes.fromhex(rec["signature"]), msg)


def test_verify_and_export_agree_with_independent_code(busy):
    summary = verify_ledger(busy)
    assert summary["ok"] and summary["size"] == 11
    doc = export(busy)
    assert doc["size"] == 11 and doc["root"] == summary["root"] == busy.head()["root_hash"]
    assert independent_root(doc) == doc["root"]
    independent_signatures(doc)
    assert verify_export(json.loads(json.dumps(doc)))["root"] == doc["root"]


def test_tampered_export_names_the_leaf(busy):
    doc = export(busy)
    bad = copy.deepcopy(doc)
    rec = json.loads(bad["leaves"][5]["record"])
    rec["request"]["amount"] = 1
    bad["leaves"][5]["record"] = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with pytest.raises(AuditFailed) as info:
        verify_export(bad)
    assert info.value.seq == 6 and "leaf hash" in info.value.line()
    # recomputing the leaf hash does not help: the signature no longer verifies
    bad["leaves"][5]["leaf_hash"] = hashlib.sha256(b"\x00" + bad["leaves"][5]["record"].encode()).hexdigest()
    with pytest.raises(AuditFailed) as info:
        verify_export(bad)
    assert info.value.seq == 6 and "signature" in info.value.line()
    # a dropped leaf and a wrong root are caught
    gap = copy.deepcopy(doc)
    del gap["leaves"][3]
    with pytest.raises(AuditFailed, match="jumps"):
        verify_export(gap)
    wrong = dict(doc, root="00" * 32)
    with pytest.raises(AuditFailed, match="root"):
        verify_export(wrong)


def _tamper(led, table: str, sql: str) -> AuditFailed:
    t = target_of(led)
    raw_execute(t, drop_append_only(t, table) if table else "")
    raw_execute(t, sql)
    with pytest.raises(AuditFailed) as info:
        verify_ledger(led)
    return info.value


def test_edited_log_record_is_named(busy):
    # a record's bytes rewritten in place (what an insider with SQL access could do)
    rows = busy.rows()
    seq, _, data, _, _ = rows[6]
    new = data.replace(b'"amount":300', b'"amount":301')
    assert new != data
    target_of(busy)
    lit = f"'\\x{new.hex()}'::bytea" if busy.store.dialect == "postgresql" else f"X'{new.hex()}'"
    err = _tamper(busy, "log", f"UPDATE log SET record = {lit} WHERE seq = {seq}")
    assert err.seq == seq and err.client_id == "t1" and "leaf hash" in err.line()
    assert f"transaction {seq} (id t1)" in err.line()


def test_edited_record_with_recomputed_hashes_fails_on_signature(busy):
    from gep.ledger import merkle

    rows = busy.rows()
    seq, _, data, _, _ = rows[6]
    new = data.replace(b'"amount":300', b'"amount":301')
    leaf = merkle.leaf_hash(new).hex()
    request_sha256 = hashlib.sha256(parse_record(new)[1]).hexdigest()  # the column the writer keeps, edited to match
    lit = f"'\\x{new.hex()}'::bytea" if busy.store.dialect == "postgresql" else f"X'{new.hex()}'"
    err = _tamper(busy, "log", f"UPDATE log SET record = {lit}, leaf_hash = '{leaf}', request_sha256 = '{request_sha256}' WHERE seq = {seq}")
    assert err.seq == seq and ("signature" in err.line() or "tree root" in err.line())


@pytest.mark.parametrize("column, value", [("signer", "'" + "ab" * 32 + "'"), ("type", "'retire'"), ("time", "'2031-06-01T00:00:00.000000Z'"),
                                           ("request_sha256", "'" + "0" * 64 + "'")])
def test_an_edited_log_column_is_named(busy, column, value):
    # the writer reads these columns without parsing the record (retries, statements): they must say what the record says
    rows = busy.rows()
    seq = rows[6][0]
    err = _tamper(busy, "log", f"UPDATE log SET {column} = {value} WHERE seq = {seq}")
    assert err.seq == seq and f"log's {column} column" in err.line() and "database edited" in err.line()


def test_edited_projection_tables_are_named(busy):
    err = _tamper(busy, "", "UPDATE balances SET amount = amount + 5 WHERE account = 'carol' AND instrument = 'capacity/1/COD/2024'")
    assert "balances" in err.line() and err.seq == 8  # the last transaction that moved carol's balance


def test_edited_postings_named(busy):
    err = _tamper(busy, "postings", "UPDATE postings SET amount = 0 WHERE seq = 8 AND account = 'carol'")
    assert "postings" in err.line() and err.seq == 8


def test_deleted_log_row_is_a_gap(busy):
    err = _tamper(busy, "log", "DELETE FROM log WHERE seq = 4")
    assert "jumps" in err.line() and err.seq == 5


def test_moved_serial_block_is_named(busy):
    err = _tamper(busy, "", "UPDATE blocks SET holder = 'carol' WHERE holder = 'alice'")
    assert "block" in err.line()


@pytest.mark.parametrize("sql, table, seq", [
    ("UPDATE log SET record = CAST(record AS TEXT) WHERE seq = 7", "stored as str, not as bytes", 7),
    ("UPDATE log SET record = CAST(record AS TEXT)", "stored as str, not as bytes", 1),  # the first row too: read as it is
    ("UPDATE accounts SET id = CAST(id AS BLOB) WHERE id = 'alice'", "table accounts", None),
    ("UPDATE balances SET instrument = CAST(instrument AS BLOB)", "table balances", None),
    ("UPDATE blocks SET holder = CAST(holder AS BLOB) WHERE holder = 'alice'", "table blocks", None),
    ("UPDATE postings SET amount = 'abc' WHERE seq = 7", r"table postings .*'abc' where an integer belongs", None),  # int('abc')
])
def test_a_value_of_another_storage_class_is_named(busy, sql, table, seq, monkeypatch):
    """SQLite keeps the storage class a value was written with (the same text as a BLOB, a record as TEXT):
    verify names the row (exit 1), the commands reading records refuse in one line, never a TypeError."""
    from gep.ledger import records
    from gep.ledger.errors import StorageError

    if busy.store.dialect != "sqlite":
        pytest.skip("PostgreSQL's columns hold one type")
    keep = verify_ledger(busy, processes=1, keep=True)["checkpoint"]
    t = target_of(busy)
    for name in ("log", "accounts", "balances", "blocks", "postings"):
        raw_execute(t, drop_append_only(t, name))
    raw_execute(t, sql)
    for how, share in SPLITS:  # the record's check in the first process, the second, or both
        split_as(monkeypatch, how, share)
        with pytest.raises(AuditFailed, match=table) as info:
            verify_ledger(busy, processes=2)
        assert seq is None or info.value.seq == seq, (how, share)
    if seq is not None:
        with pytest.raises(AuditFailed, match="leaf hash"):  # checked against the checkpoint's verified records
            verify_ledger(busy, since=keep)
        for read in (busy.rows, lambda: busy.find("t1"), lambda: busy.history(limit=20)):
            with pytest.raises(StorageError, match=r"transaction \d+ is stored as str"):
                read()


def test_the_documented_independent_check_runs_on_an_export(busy, keyset, tmp_path, monkeypatch):
    """docs/ledger.md's own-code check (hashlib + cryptography only), on an export with batch signatures."""
    from pathlib import Path

    specs = [("transfer", busy.transfer_fields(CAP, 1, "alice", "bob"), f"bs-{i}") for i in range(5)]
    busy.submit_many(busy.sign_many(keyset.alice, specs))
    (tmp_path / "ledger-export.json").write_text(json.dumps(export(busy)))
    text = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text()
    code = text[text.index("### Checking an export with your own code"):]
    code = code[code.index("```python") + len("```python"):]
    monkeypatch.chdir(tmp_path)
    exec(code[:code.index("```")], {})


def _lit(led, data: bytes) -> str:
    return f"'\\x{data.hex()}'::bytea" if led.store.dialect == "postgresql" else f"X'{data.hex()}'"


def _record_edits(led) -> dict[str, tuple[str, str]]:
    """Ways to tamper with the log and its tree, as (table whose triggers go, SQL)."""
    from gep.ledger import merkle

    rows = led.rows()
    seq, _, data, _, _ = rows[6]
    spaced = data.replace(b'"amount":300', b'"amount": 300')  # not canonical, with its leaf hash recomputed
    signed = data.replace(b'"amount":300', b'"amount":301')  # canonical, leaf recomputed: the signature fails
    return {
        "record bytes": ("log", f"UPDATE log SET record = {_lit(led, signed)} WHERE seq = {seq}"),
        "not canonical": ("log", f"UPDATE log SET record = {_lit(led, spaced)}, leaf_hash = '{merkle.leaf_hash(spaced).hex()}' WHERE seq = {seq}"),
        "signature": ("log", f"UPDATE log SET record = {_lit(led, signed)}, leaf_hash = '{merkle.leaf_hash(signed).hex()}', "
                             f"request_sha256 = '{hashlib.sha256(parse_record(signed)[1]).hexdigest()}' WHERE seq = {seq}"),
        "stored root": ("log", f"UPDATE log SET root = '{'0' * 64}' WHERE seq = 9"),
        "first record": ("log", f"UPDATE log SET leaf_hash = '{'0' * 64}' WHERE seq = 1"),
        "last record": ("log", f"UPDATE log SET root = '{'0' * 64}' WHERE seq = {len(rows)}"),
        "merkle node": ("merkle", f"UPDATE merkle SET hash = '{'0' * 64}' WHERE level = 1 AND idx = 2"),
    }


@pytest.mark.parametrize("edit", ["record bytes", "not canonical", "signature", "stored root", "first record", "last record", "merkle node"])
def test_records_checks_split_across_processes_give_the_same_first_failure(busy, edit, monkeypatch):
    """However the log is divided between the two processes (none, some or all of it checked by the first), verify names the same failure."""
    from gep.ledger import records

    table, sql = _record_edits(busy)[edit]
    t = target_of(busy)
    raw_execute(t, drop_append_only(t, table))
    raw_execute(t, sql)
    with pytest.raises(AuditFailed) as one:
        verify_ledger(busy, processes=1)
    for how, share in SPLITS:
        split_as(monkeypatch, how, share)
        with pytest.raises(AuditFailed) as two:
            verify_ledger(busy, processes=2)
        assert (two.value.line(), two.value.seq) == (one.value.line(), one.value.seq), (how, share)
    expected = {"record bytes": "leaf hash", "not canonical": "not canonical", "signature": "signature", "stored root": "tree root",
                "first record": "leaf hash", "last record": "tree root", "merkle node": "merkle"}[edit]
    assert expected in one.value.line()


@pytest.mark.parametrize("edit, node", [
    ("UPDATE merkle SET hash = '{z}' WHERE level = 0 AND idx = 0", (0, 0)),
    ("UPDATE merkle SET hash = hash || 'a' WHERE level = {top} AND idx = 0", ("top", 0)),  # the last node, one digit too long
    ("UPDATE merkle SET hash = substr(hash, 1, 63) WHERE level = 1 AND idx = 1", (1, 1)),  # the joined text shifted from there
    ("UPDATE merkle SET idx = 99 WHERE level = 1 AND idx = 3", (1, 3)),  # moved: read row by row
    ("DELETE FROM merkle WHERE level = 0 AND idx = 4", (0, 4)),
    ("INSERT INTO merkle (level, idx, hash) VALUES (0, 999, '{z}')", (0, 999)),
])
def test_an_edited_merkle_node_is_named_whether_the_nodes_are_read_joined_or_row_by_row(busy, edit, node):
    """The stored nodes are compared with the recomputed tree joined (one string per level) when their indices are
    those of the tree, else row by row: either way the first node that differs is named."""
    t = target_of(busy)
    top = max(r[0] for r in busy.store.read(lambda tx: tx.q("SELECT level FROM merkle")))
    raw_execute(t, drop_append_only(t, "merkle"))
    raw_execute(t, edit.format(z="0" * 64, top=top))
    level = top if node[0] == "top" else node[0]
    for processes in (1, 2):
        with pytest.raises(AuditFailed, match=rf"table merkle differs from the log: node \(level {level}, index {node[1]}\) differs"):
            verify_ledger(busy, processes=processes)


def test_split_verify_of_an_untouched_ledger_gives_the_same_summary(busy, monkeypatch):
    from gep.ledger import records

    want = verify_ledger(busy, processes=1, keep=True)
    for how, share in SPLITS:
        split_as(monkeypatch, how, share)
        assert verify_ledger(busy, processes=2, keep=True) == want, (how, share)
    doc = export(busy)
    monkeypatch.setattr(records, "PARENT_SHARE", 0.5)
    assert verify_export(doc)["root"] == want["root"]


def test_the_split_moves_to_the_end_of_a_batch_and_survives_any_bytes():
    from gep.ledger import records

    def row(seq, index, size):
        return (seq, None, json.dumps({"signature": {"index": index, "size": size, "path": [], "signature": "00"}}).encode(), None, None)

    rows = [row(k + 1, k % 4, 4) for k in range(12)]  # batches of 4: records 1-4, 5-8, 9-12
    assert records.split_point(rows, 6) == 8  # 6 records in: the batch of records 5-8 stays whole
    assert records.split_point(rows, 0) == 0 and records.split_point(rows, 12) == 12 and records.split_point(rows, 99) == 12
    junk = [(k + 1, None, b"[" * 100_000, None, None) for k in range(12)]  # not JSON, nested past any parser's depth
    assert records.split_point(junk, 6) == 6 and records.split_point([(1, None, "text", None, None)], 1) == 1


@pytest.mark.parametrize("edit, expected", [
    (lambda path: path.replace(b'","', b'", "', 1), "not canonical"),  # a space in the stored path: decoded and refused
    (lambda path: path.upper(), "signature"),  # canonical JSON, but not the batch's path (and not lowercase hex)
    (lambda path: path[:2] + (b"0" if path[2:3] != b"0" else b"1") + path[3:], "signature"),  # one digit of the path changed
])
def test_an_edited_batch_path_is_named(busy, keyset, edit, expected):
    """A batch member's audit path edited (its leaf hash and root recomputed, as an attacker with the database would):
    not canonical, or not its batch's path, the record is named, in one process and in two."""
    specs = [("transfer", busy.transfer_fields(CAP, 1, "alice", "bob"), f"bp-{i}") for i in range(5)]
    busy.submit_many(busy.sign_many(keyset.alice, specs))
    rows = busy.rows()
    k = len(rows) - 3  # the third member of the batch
    data = rows[k][2]
    start = data.index(b'"path":') + len(b'"path":')
    end = data.index(b"]", start) + 1
    edited = data[:start] + edit(data[start:end]) + data[end:]
    assert edited != data
    _rewrite_record_and_expect(busy, rows, k, edited, expected)


@pytest.mark.parametrize("time, expected", [
    (b"2020-01-01T00:00:00.000000Z", "the ledger's clock went backwards"),
    (b"2026-13-01 noon", "is not a UTC time"),
])
def test_an_edited_record_time_is_named(busy, time, expected):
    """A record's time moved back, or made no time at all (leaf hash and root recomputed): the replay names it."""
    import re

    rows = busy.rows()
    k = 6
    data = rows[k][2]
    edited = re.sub(rb'"time":"[^"]*"', b'"time":"' + time + b'"', data)
    _rewrite_record_and_expect(busy, rows, k, edited, expected)


def _rewrite_record_and_expect(led, rows, k, edited: bytes, expected: str) -> None:
    """Store ``edited`` as record ``k`` (0-based) of ``led`` with its leaf hash and root recomputed, as an attacker with the
    database would; verify, in one process and in two, must name that record with ``expected`` in its message."""
    from gep.ledger import merkle

    seq = rows[k][0]
    leaves = [merkle.leaf_hash(r[2]) for r in rows[:k]] + [merkle.leaf_hash(edited)]
    root = merkle.Frontier().extend(leaves, roots=True)[-1]
    t = target_of(led)
    raw_execute(t, drop_append_only(t, "log"))
    time = json.loads(edited)["time"]  # the column the writer keeps, edited to match
    raw_execute(t, f"UPDATE log SET record = {_lit(led, edited)}, leaf_hash = '{leaves[-1].hex()}', root = '{root.hex()}', time = '{time}' WHERE seq = {seq}")
    for processes in (1, 2):
        with pytest.raises(AuditFailed) as err:
            verify_ledger(led, processes=processes)
        assert err.value.seq == seq and expected in err.value.line(), err.value.line()


def test_legs_that_are_not_their_deals_fail_verify(ledger, keyset, runs, monkeypatch):
    """A log whose DvP legs are not the terms they carry fails verify at the batch's last leg.

    The log is written by a writer without that rule (every request signed by its owner, every
    head by the registry), as an insider holding the keys could write it: only the replay of the
    rules finds it.
    """
    from gep.ledger import rules
    from gep.ledger.deal import read

    cap2 = "capacity/2/COD/2024"
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, cap2, "100 kg", "bob", runs["capacity"])
    deal = read({"batch": "deal-7", "expires": "2999-01-01T00:00:00Z", "legs": [
        {"instrument": CAP, "amount": "30 kg", "from": "alice", "to": "bob"}, {"instrument": cap2, "amount": "20 kg", "from": "bob", "to": "alice"}]})
    alice_leg = ledger.transfer_request(keyset.alice, CAP, "30 kg", "alice", "bob", id="a", deal=deal)
    bobs = ledger.sign(keyset.bob, "transfer", {"instrument": cap2, "amount": 1, "from": "bob", "to": "alice", "dvp": deal.dvp()}, "b")
    with monkeypatch.context() as writer_without_the_rule:
        writer_without_the_rule.setattr(rules, "terms_hash", lambda legs: deal.terms)
        res = ledger.submit_many([alice_leg, bobs])
    assert [r.status for r in res] == ["created", "created"]
    with pytest.raises(AuditFailed) as info:
        verify_ledger(ledger)
    assert info.value.seq == res[1].seq and "batch 'deal-7': the legs submitted are not the terms the legs were signed for" in info.value.line()
    with pytest.raises(AuditFailed, match="not the terms the legs were signed for"):
        verify_export(json.loads(json.dumps(export(ledger))))


def test_a_spawned_second_process_reads_the_same_log_and_lets_writers_go_once_it_began(busy, keyset, monkeypatch):
    """On SQLite the second process reads the log itself; writers wait only until it began its read, and verify
    gives what one process gives. A writer holding the lock, or a second process that cannot start, leaves
    verify to a forked process; one that fails after it started is named in one line."""
    import sys
    import threading

    from gep.ledger import records
    from gep.ledger.errors import StorageError
    from gep.ledger.ledger import Ledger

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers (PostgreSQL's verify forks)")
    want = verify_ledger(busy, processes=1)
    made = []
    monkeypatch.setattr(records, "SPAWN", True)
    spawned = records.Spawned
    monkeypatch.setattr(records, "Spawned", type("Counted", (spawned,), {"__init__": lambda self, *a: (made.append(a), spawned.__init__(self, *a))[1]}))
    wrote = []
    writer = Ledger.open(busy.store.path, head_key=keyset.registry, clock=busy.clock)  # another connection to the file

    def release_then_write(release):  # the lock is released by the thread that saw the second process begin
        def wrapped():
            release()
            wrote.append(writer.transfer(keyset.bob, CAP, "1 kg", "bob", "carol", id="during-verify").seq)
        return wrapped

    held = busy.store.hold_writers

    def hold():
        release = held()
        return release_then_write(release) if release is not None and not wrote else release

    monkeypatch.setattr(busy.store, "hold_writers", hold)
    assert verify_ledger(busy, processes=2) == want  # the transfer committed while it ran is not in what it verified
    assert len(made) == 1 and wrote == [want["size"] + 1]
    assert verify_ledger(busy, processes=2)["size"] == want["size"] + 1

    monkeypatch.setattr(busy.store, "hold_writers", held)
    other = sqlite3_connect(busy.store.path)
    other.execute("BEGIN IMMEDIATE")  # a writer in the middle of a commit: verify does not wait for it
    try:
        assert verify_ledger(busy, processes=2)["size"] == want["size"] + 1 and len(made) == 2
    finally:
        other.execute("ROLLBACK")
        other.close()

    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # cannot start: verify forks instead
    assert verify_ledger(busy, processes=2)["size"] == want["size"] + 1
    monkeypatch.undo()
    monkeypatch.setattr(records, "SPAWN", True)
    monkeypatch.setattr(records, "_SPAWN", "raise SystemExit(3)")  # started, then gone before reading: verify forks instead
    assert verify_ledger(busy, processes=2)["size"] == want["size"] + 1
    gone = ("import pickle, sys; a = pickle.load(sys.stdin.buffer); sys.path[:] = a[0]; from gep.ledger.records import _Pipe; "
            "_Pipe(int(sys.argv[1])).send(('begun', None)); sys.stderr.write('boom: the disk went away\\n'); raise SystemExit(3)")
    monkeypatch.setattr(records, "_SPAWN", gone)  # began, then gone: named in one line, with what it said
    with pytest.raises(StorageError, match=r"verify's second process ended without its results \(boom: the disk went away\)"):
        verify_ledger(busy, processes=2)
    assert not any(t.name == "verify-begun" for t in threading.enumerate())
    writer.transfer(keyset.bob, CAP, "1 kg", "bob", "carol", id="after-verify")  # and the lock was released
    writer.close()


def sqlite3_connect(path):
    import sqlite3

    return sqlite3.connect(str(path), timeout=0.1, isolation_level=None)


def test_a_spawned_second_process_imports_nothing_from_the_working_directory(busy, monkeypatch, tmp_path):
    """verify run from a folder holding modules named like the standard library's (a ledger folder received from
    anyone) imports none of them: the second process gets this one's import path, without the working directory."""
    from gep.ledger import records

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers")
    marker = tmp_path / "imported"
    for name in ("pickle", "sqlite3", "msgspec", "gep"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(9)\n")
    made = []
    spawned = records.Spawned
    monkeypatch.setattr(records, "Spawned", type("Counted", (spawned,), {"began": lambda self: made.append(spawned.began(self)) or made[-1]}))
    monkeypatch.setattr(records, "SPAWN", True)
    monkeypatch.chdir(tmp_path)
    assert verify_ledger(busy, processes=2)["ok"]
    assert made and all(made) and not marker.exists()  # it began (asked once or more), and imported nothing from here


def test_verify_with_a_spawned_process_while_a_writer_commits_all_along(busy, keyset, monkeypatch):
    """A writer committing transfers without pause while verify runs: each verify sees one snapshot in both processes
    (it passes, and names a log no shorter than the last), and the writer is never refused for long."""
    import threading

    from gep.ledger import records
    from gep.ledger.ledger import Ledger

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers")
    monkeypatch.setattr(records, "SPAWN", True)
    monkeypatch.setattr(records, "SPAWNED_SHARE", 0.3)
    writer = Ledger.open(busy.store.path, head_key=keyset.registry, clock=busy.clock)
    stop, wrote, errors = threading.Event(), [], []

    def write():
        k = 0
        while not stop.is_set():
            key, src, dst = (keyset.alice, "alice", "bob") if k % 2 == 0 else (keyset.bob, "bob", "alice")  # balances never run out
            try:
                wrote.append(writer.transfer(key, CAP, "1 kg", src, dst, id=f"w-{k}").seq)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return
            k += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        sizes = []
        for _ in range(4):
            summary = verify_ledger(busy, processes=2)
            assert summary["ok"]
            sizes.append(summary["size"])
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert not errors and sizes == sorted(sizes) and len(wrote) > 4
    assert verify_ledger(busy, processes=1)["size"] == max(wrote)


def test_verify_with_a_spawned_process_leaves_no_file_open(busy, monkeypatch):
    """A service verifying again and again keeps no pipe or file of the second processes open."""
    import os

    from gep.ledger import records

    if busy.store.dialect != "sqlite" or not os.path.isdir("/proc/self/fd"):
        pytest.skip("a spawned process reads SQLite ledgers; open files counted in /proc")
    monkeypatch.setattr(records, "SPAWN", True)
    verify_ledger(busy, processes=2)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        verify_ledger(busy, processes=2)
    assert len(os.listdir("/proc/self/fd")) <= before  # (files of earlier tests may be collected meanwhile)


def test_the_rules_apply_only_to_bytes_the_spawned_process_checked(busy, monkeypatch):
    """Were the file written around SQLite's locks between the two processes' reads (simulated: this process reads
    another record's bytes at one place), verify says the log changed while it read it, and applies nothing unchecked."""
    from gep.ledger import records
    from gep.ledger import verify as V
    from gep.ledger.errors import StorageError

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers")
    monkeypatch.setattr(records, "SPAWN", True)
    monkeypatch.setattr(records, "SPAWNED_SHARE", 0.0)
    monkeypatch.setattr(records, "CHUNK", 4)  # the first process reads the records' bytes itself from the fifth on
    monkeypatch.setattr(V, "_RULES_ROWS", "SELECT seq, client_id, CASE WHEN seq = 9 THEN (SELECT record FROM log WHERE seq = 10) ELSE record END, "
                                          "NULL, root FROM log ORDER BY seq")
    with pytest.raises(StorageError, match="a record's bytes differ between its two reads"):
        verify_ledger(busy, processes=2)


@pytest.mark.parametrize("seq", [-5, 2**62, "'12'"])
def test_an_edited_last_sequence_number_gives_the_same_failure_with_a_spawned_process(busy, monkeypatch, seq):
    """The second process's share is sized from the highest sequence number: edited (negative, huge, text), it is
    only a size; verify names the same failure as in one process."""
    from gep.ledger import records

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers")
    t = target_of(busy)
    raw_execute(t, drop_append_only(t, "log"))
    n = len(busy.rows())
    raw_execute(t, f"UPDATE log SET seq = {seq} WHERE seq = {n}")
    with pytest.raises(AuditFailed) as one:
        verify_ledger(busy, processes=1)
    monkeypatch.setattr(records, "SPAWN", True)
    for share in (0.0, 0.5):
        monkeypatch.setattr(records, "SPAWNED_SHARE", share)
        with pytest.raises(AuditFailed) as two:
            verify_ledger(busy, processes=2)
        assert (two.value.line(), two.value.seq) == (one.value.line(), one.value.seq)


def test_a_spawned_process_that_cannot_read_or_begin_in_time_leaves_the_records_to_a_forked_one(busy, monkeypatch):
    """The second process cannot read the log, or does not begin within BEGIN_WITHIN: verify checks the records with a
    forked process instead and gives what one process gives; one that cannot read the Merkle nodes is named in one line."""
    import time

    from gep.ledger import records
    from gep.ledger.errors import StorageError

    if busy.store.dialect != "sqlite":
        pytest.skip("a spawned process reads SQLite ledgers")
    want = verify_ledger(busy, processes=1)
    monkeypatch.setattr(records, "SPAWN", True)
    prefix = "import pickle, sys; a = pickle.load(sys.stdin.buffer); sys.path[:] = a[0]; from gep.ledger import records; "
    monkeypatch.setattr(records, "_SPAWN", prefix + "records._SPAWNED_ROWS = 'SELECT nothing FROM nowhere'; records._spawned(int(sys.argv[1]), *a[1:])")
    assert verify_ledger(busy, processes=2) == want
    monkeypatch.setattr(records, "BEGIN_WITHIN", 0.5)
    monkeypatch.setattr(records, "_SPAWN", prefix + "import time; time.sleep(30); records._spawned(int(sys.argv[1]), *a[1:])")
    t = time.monotonic()
    assert verify_ledger(busy, processes=2) == want
    assert time.monotonic() - t < 10  # the sleeping process was stopped, not waited for
    monkeypatch.setattr(records, "_SPAWN", prefix + "records._JOINED_NODES['sqlite'] = 'SELECT nothing FROM nowhere'; records._spawned(int(sys.argv[1]), *a[1:])")
    with pytest.raises(StorageError, match=r"verify's second process failed: cannot read the Merkle nodes: OperationalError"):
        verify_ledger(busy, processes=2)
