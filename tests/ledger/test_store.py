"""The store: a frozen writer gives a clear error, timeouts, PostgreSQL session settings, append-only tables, reopening, cached reads."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles
from gep.ledger.errors import StorageError
from gep.ledger.ledger import Ledger
from gep.ledger.store import Timeouts, open_store
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import raw_execute, worker_env, worker_ledger


CAP = "capacity/1/COD/2024"
CAP2 = "capacity/2/COD/2024"
WORKER = Path(__file__).with_name("_worker.py")


# ----------------------------------------------------------------- frozen writer
def test_frozen_writer_gives_a_clear_error_then_is_cleared(target, keyset, runs, tmp_path, backend):
    led, (alice_key, reg_key) = worker_ledger(target, keyset, runs, tmp_path, 1000)
    env = dict(worker_env(), GEP_LEDGER_IDLE_TIMEOUT="2")  # the server ends the frozen session after 2 s idle in its transaction
    proc = subprocess.Popen([sys.executable, str(WORKER), "freeze", target, alice_key, reg_key], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "locked"
        led.close()
        with Ledger(open_store(target, timeouts=Timeouts(lock=0.5)), keyset.registry) as blocked:
            with pytest.raises(StorageError) as info:
                blocked.transfer(keyset.alice, CAP2, 1, "alice", "bob")
            line = info.value.line()
            assert "lock" in line and "\n" not in line and ("locked by another writer" in line or "held the ledger's write lock" in line), line
        # the CLI says the same in one line (exit 2)
        from gep.cli.ledger import app

        res = CliRunner().invoke(app, ["transfer", CAP2, "1", "--from", "alice", "--to", "bob", "--key", alice_key, "--db", target, "--head-key", reg_key],
                                 env={"GEP_LEDGER_LOCK_TIMEOUT": "0.5"})
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and "lock" in res.stderr, res.stderr
        if backend == "sqlite":
            proc.send_signal(signal.SIGKILL)  # SQLite has no server to end it: the lock goes with the process
            proc.wait(timeout=30)
        # PostgreSQL: idle_in_transaction_session_timeout ends the frozen session; the next writer waits for that
        with Ledger(open_store(target, timeouts=Timeouts(lock=20)), keyset.registry) as after:
            assert after.transfer(keyset.alice, CAP2, 1, "alice", "bob", id="after").status == "created"
            summary = verify_ledger(after)
            assert summary["size"] == 5 and all(r[1] != "frozen" for r in after.rows())
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_timeouts_from_environment(monkeypatch):
    monkeypatch.setenv("GEP_LEDGER_LOCK_TIMEOUT", "2.5")
    monkeypatch.setenv("GEP_LEDGER_IDLE_TIMEOUT", "7")
    t = Timeouts.from_env()
    assert (t.lock, t.statement, t.idle, t.ms("lock")) == (2.5, 60.0, 7.0, 2500)
    for bad in ("0", "-1", "1e9999999", "ten"):
        monkeypatch.setenv("GEP_LEDGER_LOCK_TIMEOUT", bad)
        with pytest.raises(StorageError, match="GEP_LEDGER_LOCK_TIMEOUT"):
            Timeouts.from_env()


def test_postgres_session_settings(target, backend, keyset):
    if backend != "postgres":
        pytest.skip("PostgreSQL settings")
    settings = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")
    with Ledger.init(target, keyset.registry, files=RunFiles()) as led:
        written = led.store.write(lambda tx: [tx.one(f"SHOW {s}")[0] for s in settings])
        read = led.store.read(lambda tx: [tx.one(f"SHOW {s}")[0] for s in settings])
    assert written == ["10s", "1min", "30s"] and read == ["10s", "0", "30s"]  # reads block no writer: no statement timeout


def test_append_only_tables_refuse_update_and_delete(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    target = ledger.store.url if ledger.store.dialect == "postgresql" else str(ledger.store.path)
    for sql in ("UPDATE log SET type = 'x' WHERE seq = 2", "DELETE FROM log WHERE seq = 5", "UPDATE postings SET amount = 0",
                "DELETE FROM accounts WHERE id = 'bob'", "UPDATE merkle SET hash = 'x'", "DELETE FROM meta", "UPDATE evidence_use SET cap = 10**9"):
        with pytest.raises(Exception, match="append-only"):
            raw_execute(target, sql.replace("10**9", "1000000000"))
    verify_ledger(ledger)


def test_reopen_and_init_twice(target, keyset):
    Ledger.init(target, keyset.registry, files=RunFiles()).close()
    with pytest.raises(StorageError, match="already holds ledger"):
        Ledger.init(target, keyset.registry, files=RunFiles())
    with Ledger.open(target) as led:
        assert led.registry == keyset.registry.public
        assert [a["id"] for a in led.accounts()] == ["sys:buffer", "sys:cancellation", "sys:issuance", "sys:market", "sys:retirement"]


def test_holder_with_many_blocks_moves_across_what_is_held_in_memory(ledger, keyset, runs):
    """bob holds 150 separate blocks (more than the 64 read at a time); transfers span them, alone and in batches."""
    ledger.issue(keyset.registry, CAP, "400 kg", "alice", runs["capacity"])
    legs = []
    for i in range(150):  # alice's lowest serial goes alternately to bob and carol: bob's blocks are 1, 3, 5, ...
        legs.append(ledger.transfer_request(keyset.alice, CAP, 1, "alice", "bob" if i % 2 == 0 else "carol"))
    ledger.submit_many(legs[:70])
    ledger.submit_many(legs[70:])
    assert len([b for b in ledger.blocks("bob", CAP)]) == 75
    ledger.transfer(keyset.bob, CAP, 70, "bob", "carol")  # across the 64 held blocks
    batch = [ledger.transfer_request(keyset.bob, CAP, 2, "bob", "alice") for _ in range(2)] + \
            [ledger.transfer_request(keyset.carol, CAP, 100, "carol", "bob")]
    ledger.submit_many(batch)
    res = ledger.submit_many([ledger.transfer_request(keyset.bob, CAP, 1000, "bob", "alice"),  # refused: too much
                              ledger.transfer_request(keyset.bob, CAP, 90, "bob", "alice")], linked=False)
    assert [r.status for r in res] == ["refused", "created"]
    held = {(b["holder"]): 0 for b in ledger.blocks(instrument=CAP)}
    for b in ledger.blocks(instrument=CAP):
        held[b["holder"]] += b["size"]
    assert held == {r["account"]: r["amount"] for r in ledger.balances(instrument=CAP) if r["account"] != "sys:issuance"}
    verify_ledger(ledger)
