"""A ledger as a shared service: frozen writers, DvP legs, signer-scoped ids, bounded numbers, batch signatures."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles
from gep.ledger import keys
from gep.ledger.verify import verify_ledger
from gep.ledger.canonical import signing_message
from gep.ledger.errors import BadSignature, IdConflict, InvalidAmount, InvalidRequest, StorageError
from gep.ledger.ledger import Ledger, Signed, dvp
from gep.ledger.store import Timeouts, open_store

WORKER = Path(__file__).with_name("_worker.py")
CAP = "capacity/1/COD/2024"
CAP2 = "capacity/2/COD/2024"
LATER = "2999-01-01T00:00:00Z"


def unchanged(led, fn, exc, match=None):
    head = led.head()
    with pytest.raises(exc, match=match) as info:
        fn()
    assert led.head() == head
    return info.value


# ----------------------------------------------------------------- frozen writer
def test_frozen_writer_gives_a_clear_error_then_is_cleared(target, keyset, runs, tmp_path, backend):
    from tests.ledger.test_processes import _env, _setup

    led, (alice_key, reg_key) = _setup(target, keyset, runs, tmp_path, 1000)
    env = dict(_env(), GEP_LEDGER_IDLE_TIMEOUT="2")  # the server ends the frozen session after 2 s idle in its transaction
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


# ----------------------------------------------------------------- delivery versus payment
@pytest.fixture
def two(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    return ledger


def test_dvp_legs_recorded_together(two, keyset):
    leg = dvp("deal-1", 2, LATER)
    a = two.transfer_request(keyset.alice, CAP, "60 kg", "alice", "bob", id="a", dvp=leg)
    b = two.transfer_request(keyset.bob, CAP2, "70 kg", "bob", "alice", id="b", dvp=leg)
    # one party's pre-signed leg alone is refused, and records nothing
    err = unchanged(two, lambda: two.submit(a), InvalidRequest, "a leg alone is refused")
    assert "deal-1" in err.line()
    res = two.submit_many([a, b])
    assert [r.status for r in res] == ["created", "created"] and res[1].head["tree_size"] == res[1].seq
    assert two.submit_many([a, b])[0].status == "exists"  # an idempotent retry of the pair
    # an old leg cannot be paired with a new one: the new one alone is refused
    c = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", id="c", dvp=leg)
    unchanged(two, lambda: two.submit_many([a, c]), InvalidRequest, "a leg alone")
    verify_ledger(two)


def test_dvp_refusals(two, keyset):
    leg2, leg3 = dvp("d2", 2, LATER), dvp("d3", 3, LATER)
    a = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=leg2)
    b_other = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=dvp("other", 2, LATER))
    unchanged(two, lambda: two.submit_many([a, b_other]), InvalidRequest, "is incomplete")
    plain = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice")
    unchanged(two, lambda: two.submit_many([a, plain]), InvalidRequest, "is incomplete")
    x = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=leg3)
    y = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=leg3)
    unchanged(two, lambda: two.submit_many([x, y]), InvalidRequest, "2 of 3 legs")
    old = dvp("late", 2, "2020-01-01T00:00:00Z")
    p = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=old)
    q = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=old)
    unchanged(two, lambda: two.submit_many([p, q]), InvalidRequest, "expired")
    res = two.submit_many([a, two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=leg2)], linked=False)
    assert [r.status for r in res] == ["refused", "refused"] and "independent" in res[0].error.line()
    bad_time = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=dvp("d", 2, "tomorrow"))
    unchanged(two, lambda: two.submit_many([bad_time]), InvalidRequest, "not an ISO 8601 time")


@pytest.fixture
def on_disk(tmp_path, target, keyset, runs) -> str:
    """A ledger where alice holds 100 kg of CAP and bob 100 kg of CAP2, and key files alice/bob/registry.key in tmp_path."""
    with Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles()) as led:
        for n in ("alice", "bob"):
            led.open_account(keyset.registry, n, getattr(keyset, n).public)
        led.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
        led.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    for n in ("alice", "bob", "registry"):
        keys.write_keypair(getattr(keyset, n), tmp_path / f"{n}.key")
    return target


def test_dvp_from_the_command_line(tmp_path, on_disk):
    from gep.cli.ledger import app

    runner, target = CliRunner(), on_disk
    legs = []
    for who, ins, dst in (("alice", CAP, "bob"), ("bob", CAP2, "alice")):
        res = runner.invoke(app, ["transfer", ins, "10 kg", "--from", who, "--to", dst, "--key", str(tmp_path / f"{who}.key"), "--db", target,
                                  "--dvp", "swap-1", "--expires", LATER, "--sign-only", "--id", f"{who}-leg"])
        assert res.exit_code == 0, res.stderr
        legs.append(json.loads(res.stdout))
    (tmp_path / "one.json").write_text(json.dumps(legs[:1]))
    (tmp_path / "both.json").write_text(json.dumps(legs))
    res = runner.invoke(app, ["batch", str(tmp_path / "one.json"), "--db", target, "--head-key", str(tmp_path / "registry.key")])
    assert res.exit_code == 2 and "a leg alone" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["batch", str(tmp_path / "both.json"), "--db", target, "--head-key", str(tmp_path / "registry.key"), "--json"])
    assert res.exit_code == 0, res.stderr
    assert [r["status"] for r in json.loads(res.stdout)["results"]] == ["created", "created"]
    res = runner.invoke(app, ["transfer", CAP, "1 kg", "--from", "alice", "--to", "bob", "--key", str(tmp_path / "alice.key"), "--db", target])
    assert res.exit_code == 2 and "registry key, to sign the new tree head" in res.stderr


# ----------------------------------------------------------------- request ids
def test_request_ids_are_scoped_to_their_signer(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    a = ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="deal-1")
    # bob uses the same id for his own request: recorded, no conflict, nothing revealed
    b = ledger.transfer(keyset.bob, CAP2, "1 kg", "bob", "alice", id="deal-1")
    assert a.status == b.status == "created" and b.seq == a.seq + 1
    # mallory cannot probe alice's ids: a request in alice's name needs alice's signature first
    probe = dict(a.record["request"], amount=2)
    for req in (probe, a.record["request"]):
        unchanged(ledger, lambda req=req: ledger.submit(Signed(req, keyset.mallory.sign(signing_message(req)))), BadSignature)
    # alice herself gets 'exists' for a retry and IdConflict for another body
    assert ledger.submit(Signed(a.record["request"], a.record["signature"])).status == "exists"
    unchanged(ledger, lambda: ledger.submit(Signed(probe, keyset.alice.sign(signing_message(probe)))), IdConflict)
    with pytest.raises(InvalidRequest, match="names transactions"):
        ledger.find("deal-1")
    assert ledger.find(str(b.seq))["record"]["request"]["signer"] == keyset.bob.public
    verify_ledger(ledger)


# ----------------------------------------------------------------- bounded numbers
@pytest.mark.parametrize("amount", ["1e9999999 t", "1e99999999", "9" * 5000, "1e1000000", "1e41 kg", "0." + "0" * 300 + "1 t",
                                    "1 kg*1e9999999", "1 1e400*kg", "1 kg/nan", "1 g*" + "9" * 5000])
def test_hostile_amounts_refused_in_one_line(ledger, keyset, runs, amount, tmp_path):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, amount, "alice", "bob"), InvalidAmount)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", price=amount.replace(" t", "")), InvalidAmount)


def test_hostile_numbers_on_the_command_line(tmp_path, on_disk):
    from gep.cli.ledger import app

    runner, target = CliRunner(), on_disk
    base = ["--from", "alice", "--to", "bob", "--key", str(tmp_path / "alice.key"), "--db", target, "--head-key", str(tmp_path / "registry.key")]
    batch = tmp_path / "batch.json"
    batch.write_text('[{"op": "transfer", "key": "alice.key", "instrument": "%s", "amount": %s, "from": "alice", "to": "bob"}]' % (CAP, "9" * 5000))
    cases = [["transfer", CAP, "1e9999999 t", *base], ["transfer", CAP, "1 kg", "--price", "1e99999999", *base],
             ["transfer", CAP, "9" * 5000, *base], ["transfer", CAP, "1e1000000", *base],
             ["batch", str(batch), "--db", target, "--head-key", str(tmp_path / "registry.key")],
             ["history", "--limit", "9" * 5000, "--db", target], ["proof", "--since", "1e9999999", "--db", target]]
    for args in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args[:3], res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr + res.stdout, res.stderr


# ----------------------------------------------------------------- batch signatures
def test_batch_signature_one_signature_for_many_requests(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    specs = [("transfer", ledger.transfer_fields(CAP, 1, "alice", "bob"), f"b-{i}") for i in range(7)]
    items = ledger.sign_many(keyset.alice, specs)
    assert len({json.dumps(i.signature["signature"]) for i in items}) == 1 and items[3].signature["size"] == 7
    bad = Signed(items[2].request, dict(items[2].signature, index=3))
    unchanged(ledger, lambda: ledger.submit(bad), BadSignature)
    forged = Signed(dict(items[2].request, amount=50), items[2].signature)
    unchanged(ledger, lambda: ledger.submit(forged), BadSignature)
    mallory = ledger.sign_many(keyset.mallory, [("transfer", ledger.transfer_fields(CAP, 1, "alice", "bob"), "m")])[0]
    stolen = Signed(dict(mallory.request, signer=keyset.alice.public), mallory.signature)
    unchanged(ledger, lambda: ledger.submit(stolen), BadSignature)
    # a whole batch is proven at once; a member with a wrong path is still refused
    wrong = list(items)
    wrong[5] = Signed(items[5].request, dict(items[5].signature, path=list(reversed(items[5].signature["path"]))))
    unchanged(ledger, lambda: ledger.submit_many(wrong), BadSignature)
    res = ledger.submit_many(items[:4]) + ledger.submit_many(items[4:])  # any subset, in any commit
    assert [r.status for r in res] == ["created"] * 7
    assert ledger.submit(items[0]).status == "exists"
    assert verify_ledger(ledger)["ok"]
