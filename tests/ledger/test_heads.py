"""Signed tree heads, witnesses, and an attacker who can write the database but holds no key.

The attacker of these tests has gep's own code and full write access to the database
(append-only triggers dropped): they rebuild the log from the genuine signed requests
with one change (a middle retirement dropped, two transfers swapped, a record
backdated, the tail cut off), let the rules recompute every effect, leaf hash, root,
Merkle node and table, and copy the result over the ledger. Only the registry key is
out of reach, so they cannot sign tree heads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from gep.audit.evidence import RunFiles
from gep.ledger import heads as heads_mod
from gep.ledger import keys
from gep.ledger import ledger as ledger_mod
from gep.ledger.verify import export, verify_export, verify_ledger
from gep.ledger.canonical import parse
from gep.ledger.errors import AuditFailed, InvalidRequest
from gep.ledger.store import APPEND_ONLY, SCHEMA_VERSION, open_store
from tests.ledger.helpers import drop_append_only, raw_execute

#: Every verify here runs with the records' checks in one process and in two (same results, same first failure).
pytestmark = pytest.mark.usefixtures("verify_processes")

CAP = "capacity/1/COD/2024"
CARBON = "carbon/p1/2022"
TABLES = ("log", "merkle", "accounts", "instruments", "caps", "postings", "evidence_use", "prices", "balances", "blocks")


def target_of(led) -> str:
    return led.store.url if led.store.dialect == "postgresql" else str(led.store.path)


@pytest.fixture
def busy(ledger, keyset, runs):
    """14 transactions, one commit each (so a signed head at every size): the retirement r1 is number 10."""
    ledger.issue(keyset.registry, CAP, "2 t", "alice", runs["capacity"], id="iss-cap")
    ledger.issue(keyset.registry, CARBON, "5 t", "bob", runs["carbon"], zone="1", id="iss-c")
    ledger.transfer(keyset.alice, CAP, "300 kg", "alice", "bob", price="1186.71", id="t1")
    ledger.transfer(keyset.bob, CAP, "100 kg", "bob", "carol", id="t2")
    ledger.transfer(keyset.bob, CARBON, "2 t", "bob", "carol", price="71.6", id="t3")
    ledger.retire(keyset.carol, CARBON, "1 t", "carol", id="r1")
    ledger.transfer(keyset.alice, CAP, "10 kg", "alice", "carol", id="t4")
    ledger.transfer(keyset.bob, CARBON, "1 t", "bob", "alice", id="t5")
    ledger.transfer(keyset.carol, CAP, "5 kg", "carol", "bob", id="t6")
    ledger.cancel(keyset.registry, CARBON, "0.5 t", "sys:buffer", id="x1")
    return ledger


def rewrite(led, scratch: str, edit, heads: str = "keep") -> None:
    """Rebuild ``led``'s log from its records as changed by ``edit`` and copy it over the database.

    ``heads``: ``keep`` the registry-signed heads, drop those from the first changed size on
    (``drop-after``), or drop them ``all``.
    """
    records = [parse(r[2]) for r in led.rows()]
    changed = edit(records)
    attacker = keys.generate()
    store = open_store(scratch, create=True)

    def run(tx):
        store.create(tx)
        tx.many("INSERT INTO meta (key, value) VALUES (?, ?)", [("schema_version", SCHEMA_VERSION), ("coefficients", "ledger-2026")])
        for rec in changed:
            ev = rec["effects"].get("evidence")
            ev = {k: v for k, v in ev.items() if k not in ("key", "used_before")} if ev else None
            ledger_mod._append(tx, [ledger_mod.Signed(rec["request"], rec["signature"], ev)], True, attacker,
                               clock=lambda t=rec["time"]: t)  # the attacker chooses the times

    store.write(run, create=True)
    rows = store.read(lambda tx: {t: tx.q(f"SELECT * FROM {t}") for t in TABLES})
    store.close()
    first = next((i + 1 for i, (a, b) in enumerate(zip(records, changed)) if a["request"] != b["request"] or a["time"] != b["time"]),
                 min(len(records), len(changed)) + 1)
    target = target_of(led)
    for t in set(TABLES + ("heads",)) & set(APPEND_ONLY):
        raw_execute(target, drop_append_only(target, t))

    def copy(tx):
        for t in TABLES:
            tx.x(f"DELETE FROM {t}")
            if rows[t]:
                tx.many(f"INSERT INTO {t} VALUES ({', '.join('?' * len(rows[t][0]))})", rows[t])
        if heads == "drop-after":
            tx.x("DELETE FROM heads WHERE tree_size >= ?", (first,))
        elif heads == "all":
            tx.x("DELETE FROM heads")

    led.store.write(copy)


def drop_retirement(records):
    return [r for r in records if r["request"]["id"] != "r1"]


def swap_transfers(records):
    i = next(k for k, r in enumerate(records) if r["request"]["id"] == "t4")
    out = list(records)
    out[i], out[i + 1] = out[i + 1], out[i]  # t4 (capacity) and t5 (carbon) are independent
    return out


def backdate(records):
    return [dict(r, time="2020-01-01T00:00:00.000000Z") if r["request"]["id"] == "t3" else r for r in records]


ATTACKS = {"drop a middle retirement": (drop_retirement, 10), "reorder two transfers": (swap_transfers, 11), "backdate a record": (backdate, 9)}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_keyless_rewrite_is_caught_by_the_stored_heads(busy, new_target, attack):
    edit, position = ATTACKS[attack]
    assert verify_ledger(busy)["heads_checked"] == 14
    rewrite(busy, new_target("scratch"), edit, heads="keep")
    with pytest.raises(AuditFailed) as info:
        verify_ledger(busy)
    line = info.value.line()
    assert f"first differing position {position}" in line and "does not match the log" in line and info.value.seq == position, line


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_keyless_rewrite_with_its_heads_removed_is_uncovered(busy, new_target, attack):
    edit, position = ATTACKS[attack]
    rewrite(busy, new_target("scratch"), edit, heads="drop-after")
    with pytest.raises(AuditFailed, match="covered by no registry-signed tree head") as info:
        verify_ledger(busy)
    assert info.value.seq == position
    rewrite(busy, new_target("scratch"), edit, heads="all")
    with pytest.raises(AuditFailed, match="holds no signed tree head"):
        verify_ledger(busy)


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_published_head_names_the_first_differing_position(busy, new_target, attack):
    edit, position = ATTACKS[attack]
    published = busy.head()
    rewrite(busy, new_target("scratch"), edit, heads="drop-after")
    with pytest.raises(AuditFailed) as info:
        verify_ledger(busy, [("head published.json", published)])
    line = info.value.line()
    assert "head published.json (tree size 14) does not match the log" in line and f"first differing position {position}" in line, line


def test_truncation_passes_alone_but_fails_against_a_published_head(busy, new_target):
    published = busy.head()
    rewrite(busy, new_target("scratch"), lambda recs: recs[:8], heads="drop-after")
    assert verify_ledger(busy)["size"] == 8  # what no log can see by itself: its tail cut with its heads
    with pytest.raises(AuditFailed) as info:
        verify_ledger(busy, [("head h14.json", published)])
    line = info.value.line()
    assert "the log holds 8 transactions, the head covers 14: transactions 9..14 are missing" in line and "first differing position 9" in line


def test_restored_backup_fails_against_a_later_head(ledger, keyset, runs, tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("a file backup: SQLite (the PostgreSQL equivalent is the truncation test)")
    ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"])
    backup = tmp_path / "backup.db"
    src = sqlite3.connect(str(ledger.store.path))
    with sqlite3.connect(str(backup)) as dst:
        src.backup(dst)
    src.close()
    for i in range(3):
        ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id=f"after-{i}")
    published = ledger.head()
    path = ledger.store.path
    ledger.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, path)
    with ledger_mod.Ledger.open(str(path)) as old:
        assert verify_ledger(old)["size"] == 5
        with pytest.raises(AuditFailed, match="transactions 6..8 are missing"):
            verify_ledger(old, [("head h8", published)])


def test_head_fields_and_signature_check_with_independent_code(busy, keyset):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    h = busy.head()
    assert set(h) == {"ledger", "tree_size", "root_hash", "timestamp", "key_id", "signature"} and h["tree_size"] == 14
    assert h["key_id"] == hashlib.sha256(bytes.fromhex(keyset.registry.public)).hexdigest()
    body = {k: h[k] for k in ("ledger", "tree_size", "root_hash", "timestamp", "key_id")}
    msg = b"gep-ledger/v1 tree head\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(keyset.registry.public)).verify(bytes.fromhex(h["signature"]), msg)
    assert h["root_hash"] == export(busy)["root"] == busy.history(limit=1)[0]["root"]
    assert [x["tree_size"] for x in busy.heads()] == list(range(1, 15))  # one per commit


def test_forged_edited_or_foreign_heads_are_refused(busy, keyset, ledger_factory):
    h = busy.head()
    for bad, words in ((dict(h, root_hash="00" * 32), "signature does not verify"),
                       (dict(h, tree_size=13), "signature does not verify"),
                       (heads_mod.sign_head(busy.id, 14, h["root_hash"], h["timestamp"], keyset.mallory), "signature does not verify"),
                       (dict(h, ledger="other"), "not of this ledger"),
                       ({"tree_size": 3}, "is not a tree head")):
        with pytest.raises(AuditFailed, match=words):
            verify_ledger(busy, [("head x", bad)])
    # the right root at the right size, but the timestamp of another moment
    forged = heads_mod.sign_head(busy.id, 14, h["root_hash"], "2020-01-01T00:00:00Z", keyset.registry)
    with pytest.raises(AuditFailed, match="timestamp"):
        verify_ledger(busy, [("head x", forged)])
    other = ledger_factory()
    with pytest.raises(AuditFailed, match="not of this ledger"):
        verify_ledger(other, [("head of busy", h)])


@pytest.mark.parametrize("edit, words", [
    ("UPDATE heads SET signature = '{sig}' WHERE tree_size = 7", "stored head of tree size 7: the signature does not verify"),
    ("UPDATE heads SET key_id = '{kid}' WHERE tree_size = 7", "stored head of tree size 7: the signature does not verify"),
    ("UPDATE heads SET key_id = 'x' WHERE tree_size = 7", "stored head of tree size 7: key_id is not 64 lowercase hex digits"),
    ("UPDATE meta SET value = '{mallory}' WHERE key = 'registry'", "table meta differs from the log"),
])
def test_stored_heads_checked_with_the_records_give_the_same_verdict(busy, keyset, edit, words):
    """The stored heads' signatures are checked by the records' checks (in the second process when there is one),
    with the registry key the database names: an edited head is named as before, and a key the database names
    falsely proves nothing (the heads are checked again with the genesis key; the meta table then fails)."""
    other = heads_mod.sign_head(busy.id, 7, "00" * 32, "2020-01-01T00:00:00Z", keyset.mallory)
    t = target_of(busy)
    for table in ("heads", "meta"):
        raw_execute(t, drop_append_only(t, table))
    raw_execute(t, edit.format(sig=other["signature"], kid=heads_mod.key_id(keyset.mallory.public), mallory=keyset.mallory.public))
    busy.registry = busy.store.read(lambda tx: tx.one("SELECT value FROM meta WHERE key = 'registry'"))[0]  # as a fresh open reads it
    for processes in (1, 2):
        with pytest.raises(AuditFailed, match=words):
            verify_ledger(busy, processes=processes)


@pytest.fixture
def ledger_factory(new_target, keyset):
    made = []

    def make():
        led = ledger_mod.Ledger.init(new_target("other"), keyset.registry, operators=[keyset.operator.public], files=RunFiles())
        made.append(led)
        return led

    yield make
    for led in made:
        led.close()


def test_witness_cosignature_required_and_checked(busy, keyset):
    h = busy.head()
    with pytest.raises(AuditFailed, match="no valid cosignature of witness"):
        verify_ledger(busy, [("head h", h)], [keyset.witness.public])
    co = heads_mod.cosign(h, keyset.witness)
    assert verify_ledger(busy, [("head h", co)], [keyset.witness.public])["heads_checked"] == 15
    fake = dict(co, cosignatures=[{"key_id": heads_mod.key_id(keyset.witness.public), "signature": "00" * 64}])
    with pytest.raises(AuditFailed, match="cosignature"):
        verify_ledger(busy, [("head h", fake)], [keyset.witness.public])
    # a cosignature covers the head fields: moved to another head it fails
    other = dict(busy.heads()[5], cosignatures=co["cosignatures"])
    with pytest.raises(AuditFailed, match="cosignature"):
        verify_ledger(busy, [("head h6", other)], [keyset.witness.public])


def test_export_carries_its_signed_head(busy, keyset):
    doc = json.loads(json.dumps(export(busy)))
    assert verify_export(doc)["heads_checked"] == 1
    doc["head"] = dict(doc["head"], signature="00" * 64)
    with pytest.raises(AuditFailed, match="signature does not verify"):
        verify_export(doc)


def test_writing_needs_the_registry_head_key(target, keyset, runs):
    from gep.ledger.errors import NotAuthorised

    ledger_mod.Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles()).close()
    with ledger_mod.Ledger.open(target) as led:
        head = led.head()
        with pytest.raises(NotAuthorised, match="registry key, to sign the new tree head"):
            led.open_account(keyset.registry, "alice", keyset.alice.public)
        # a refusal by the rules is still explained first
        with pytest.raises(NotAuthorised, match="only the registry key may open"):
            led.open_account(keyset.mallory, "alice", keyset.alice.public)
        assert led.head() == head
    with pytest.raises(NotAuthorised, match="not this ledger's registry key"):
        ledger_mod.Ledger.open(target, keyset.mallory)


def test_incremental_verify_from_a_checkpoint(busy, keyset, runs, tmp_path):
    full = verify_ledger(busy, keep=True)
    assert "checkpoint" not in verify_ledger(busy)
    cp = json.loads(json.dumps(full["checkpoint"]))
    assert cp["head"]["tree_size"] == 14
    for i in range(3):
        busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id=f"later-{i}")
    inc = verify_ledger(busy, since=cp, keep=True)
    assert inc["incremental_from"] == 14 and inc["size"] == 17 and inc["signatures_checked"] == 3 and inc["root"] == verify_ledger(busy)["root"]
    # the checkpoint chains: the next incremental verify starts from 17
    assert verify_ledger(busy, since=inc["checkpoint"])["incremental_from"] == 17
    # a change before the checkpoint is caught by hash, without replaying
    target = target_of(busy)
    raw_execute(target, drop_append_only(target, "postings"))
    raw_execute(target, "UPDATE postings SET amount = amount + 1 WHERE seq = 16 AND account = 'bob'")
    with pytest.raises(AuditFailed, match="postings") as info:
        verify_ledger(busy, since=cp)
    assert info.value.seq == 16


def test_incremental_verify_catches_a_rewritten_prefix_and_a_foreign_checkpoint(busy, new_target, keyset):
    cp = verify_ledger(busy, keep=True)["checkpoint"]
    with pytest.raises(AuditFailed, match="not signed by the registry"):
        verify_ledger(busy, since=dict(cp, head=dict(cp["head"], tree_size=13)))
    rewrite(busy, new_target("scratch"), drop_retirement, heads="keep")
    with pytest.raises(AuditFailed, match="no longer hash to the checkpoint's verified head|missing"):
        verify_ledger(busy, since=cp)
    with pytest.raises(AuditFailed, match="the checkpoint's last time 'later' is not a UTC time"):  # the replay trusts it as a time
        verify_ledger(busy, since=dict(cp, last_time="later"))


def test_checkpoint_from_the_command_line(busy, tmp_path):
    from typer.testing import CliRunner

    from gep.cli.ledger import app

    cp = tmp_path / "audit.checkpoint.json"
    db = target_of(busy)
    first = CliRunner().invoke(app, ["verify", "--db", db, "--checkpoint", str(cp), "--json"])
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["incremental_from"] is None and cp.exists()
    again = CliRunner().invoke(app, ["verify", "--db", db, "--checkpoint", str(cp)])
    assert again.exit_code == 0 and "incremental: transactions 1..14 match" in again.stdout


def test_incremental_verify_catches_a_record_edited_before_the_checkpoint(busy, keyset):
    """A record before the checkpoint's head, edited in place or with its stored leaf hash recomputed, fails the incremental verify."""
    from gep.ledger import merkle

    cp = verify_ledger(busy, keep=True)["checkpoint"]
    busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="after-cp")
    assert verify_ledger(busy, since=cp)["incremental_from"] == 14
    seq, _, data, _, _ = busy.rows()[6]
    new = data.replace(b'"amount":300', b'"amount":301')
    lit = f"'\\x{new.hex()}'::bytea" if busy.store.dialect == "postgresql" else f"X'{new.hex()}'"
    target = target_of(busy)
    raw_execute(target, drop_append_only(target, "log"))
    raw_execute(target, f"UPDATE log SET record = {lit} WHERE seq = {seq}")
    with pytest.raises(AuditFailed, match="bytes or position differ from its stored leaf hash") as info:
        verify_ledger(busy, since=cp)
    assert info.value.seq == seq
    raw_execute(target, f"UPDATE log SET leaf_hash = '{merkle.leaf_hash(new).hex()}' WHERE seq = {seq}")
    with pytest.raises(AuditFailed, match="no longer hash to the checkpoint's verified head"):
        verify_ledger(busy, since=cp)


@pytest.mark.parametrize("heads", ["keep", "drop-after", "all"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_registry_never_signs_over_a_keyless_rewrite(busy, new_target, keyset, attack, heads):
    # the next ordinary commit would otherwise sign a head over the rewritten log, and verify would pass from then on
    edit, _ = ATTACKS[attack]
    rewrite(busy, new_target("scratch"), edit, heads=heads)
    size = len(busy.rows())
    with pytest.raises(AuditFailed, match="the database was changed outside the ledger; nothing was recorded"):
        busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="after-rewrite")
    assert len(busy.rows()) == size
    with pytest.raises(AuditFailed):
        verify_ledger(busy)


def test_the_writer_keeps_the_signed_clock_not_an_edited_time_column(busy, keyset):
    # the log's time column moved years ahead: the next record is still dated by the clock (and verify names the column)
    t = target_of(busy)
    raw_execute(t, drop_append_only(t, "log"))
    last = busy.rows()[-1][0]
    raw_execute(t, f"UPDATE log SET time = '2031-06-01T00:00:00.000000Z' WHERE seq = {last}")
    res = busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="after-edit")
    assert res.record["time"] < "2031"
    with pytest.raises(AuditFailed, match="log's time column") as info:
        verify_ledger(busy)
    assert info.value.seq == last


def test_an_edited_newest_head_stops_the_writer(busy, keyset):
    t = target_of(busy)
    raw_execute(t, drop_append_only(t, "heads"))
    raw_execute(t, "UPDATE heads SET timestamp = '2031-06-01T00:00:00.000000Z' WHERE tree_size = (SELECT max(tree_size) FROM heads)")
    with pytest.raises(AuditFailed, match="not signed by the registry key"):
        busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="after-head-edit")


@pytest.mark.parametrize("table, sql", [
    ("prices", "UPDATE prices SET price = '99999' WHERE seq = (SELECT min(seq) FROM prices)"),
    ("postings", "UPDATE postings SET amount = amount + 1 WHERE seq = (SELECT min(seq) FROM postings WHERE amount > 0) AND amount > 0"),
    ("caps", "UPDATE caps SET cap = cap + 1"),
    ("evidence_use", "UPDATE evidence_use SET amount = amount + 1"),
    ("merkle", "UPDATE merkle SET hash = '" + "0" * 64 + "' WHERE level = 3 AND idx = 0"),
])
def test_incremental_verify_catches_history_rows_edited_before_the_checkpoint(busy, keyset, table, sql):
    """Rows of transactions before the checkpoint have no replayed state to be compared with: the checkpoint keeps their digests."""
    cp = json.loads(json.dumps(verify_ledger(busy, keep=True)["checkpoint"]))
    assert cp["format"] == "gep-ledger-checkpoint/2" and set(cp["history"]) == {"postings", "caps", "evidence_use", "prices", "trades", "merkle"}
    busy.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="after-checkpoint")
    assert verify_ledger(busy, since=cp)["ok"]
    t = target_of(busy)
    raw_execute(t, drop_append_only(t, table))
    raw_execute(t, sql)
    with pytest.raises(AuditFailed, match=f"table {table} differs from the log: its rows of transactions 1..14 are not those the checkpoint verified"):
        verify_ledger(busy, since=cp)


def test_a_checkpoint_of_an_earlier_gep_asks_for_a_full_verify(busy):
    cp = dict(verify_ledger(busy, keep=True)["checkpoint"], format="gep-ledger-checkpoint/1")
    del cp["history"]
    with pytest.raises(AuditFailed, match="written by an earlier gep") as info:
        verify_ledger(busy, since=cp)
    assert "full verify" in info.value.line()


def test_a_head_signature_has_one_spelling_and_the_registry_is_not_its_own_witness(busy, keyset):
    head = busy.head()
    with pytest.raises(AuditFailed, match="signature is not 128 lowercase hex digits"):
        verify_ledger(busy, [("upper.json", dict(head, signature=head["signature"].upper()))])
    with pytest.raises(InvalidRequest, match="witness key is the registry key"):
        heads_mod.cosign(head, keyset.registry)
    assert heads_mod.cosignature_ok(heads_mod.cosign(head, keyset.alice), keyset.alice.public)
