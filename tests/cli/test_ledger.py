"""`gep ledger ...` through typer's runner: JSON output, every command, error paths (one stderr line, exit code)."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles
from gep.cli.ledger import app
from gep.ledger import keys, merkle
from gep.ledger.ledger import Ledger


runner = CliRunner()
CAP = "capacity/1/COD/2024"
CAP2 = "capacity/2/COD/2024"
LATER = "2999-01-01T00:00:00Z"


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def ok(*args, env=None) -> dict:
    res = run(*args, "--json", env=env)
    assert res.exit_code == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


def refused(code: int, *args, env=None) -> str:
    res = run(*args, env=env)
    assert res.exit_code == code, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


@pytest.fixture
def cli(target, tmp_path, runs, keyset, monkeypatch):
    """An initialised ledger with keys for alice and bob and their accounts, driven by the CLI.

    ``$GEP_LEDGER_HEAD_KEY`` names the registry key (the registry runs the commands).
    """
    reg = tmp_path / "registry.key"
    init = ok("init", "--db", target, "--key", reg, "--operator", keyset.operator.public)
    assert init["registry_key_created"] and stat.S_IMODE(reg.stat().st_mode) == 0o600
    assert init["params"]["buffer_share"] == {"capacity": "0", "carbon": "0.2"} and init["operators"] == [keyset.operator.public]
    monkeypatch.setenv("GEP_LEDGER_HEAD_KEY", str(reg))
    for name in ("alice", "bob"):
        k = ok("keygen", name, "--dir", tmp_path)
        assert "PRIVATE" not in json.dumps(k) and (tmp_path / f"{name}.pub").read_text().strip() == k["public"]
    ok("account", "open", "alice", "--owner", tmp_path / "alice.pub", "--key", reg, "--db", target)
    ok("open", "bob", "--owner", (tmp_path / "bob.pub").read_text().strip(), "--key", reg, "--db", target)
    return {"db": target, "reg": reg, "alice": tmp_path / "alice.key", "bob": tmp_path / "bob.key", "dir": tmp_path, "runs": runs}


def test_full_flow_json(cli):
    db, reg, runs = cli["db"], cli["reg"], cli["runs"]
    r = ok("issue", CAP, "1.5 t", "--to", "alice", "--evidence", runs["capacity"], "--key", reg, "--db", db, "--id", "iss-1")
    assert r["status"] == "created" and r["record"]["effects"]["serials"] == [["alice", 1, 1500]]
    c = ok("issue", "carbon/p1/2022", "10 t", "--to", "bob", "--evidence", runs["carbon"], "--zone", "1", "--key", reg, "--db", db)
    assert c["record"]["effects"]["buffer"]["amount"] == 2000
    t = ok("transfer", CAP, "250 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--price", "1186.71", "--db", db, "--id", "deal")
    assert ok("transfer", CAP, "250 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--price", "1186.71", "--db", db, "--id", "deal")["status"] == "exists"
    ok("retire", "carbon/p1/2022", "1 t", "--from", "bob", "--key", cli["bob"], "--beneficiary", "Lishui county", "--db", db)
    ok("cancel", "carbon/p1/2022", "0.5 t", "--from", "sys:buffer", "--key", reg, "--db", db)
    bal = ok("balance", "--blocks", "--db", db)
    got = {(b["account"], b["instrument"]): b["amount"] for b in bal["balances"]}
    assert got[("alice", CAP)] == 1250 and got[("bob", CAP)] == 250 and got[("sys:buffer", "carbon/p1/2022")] == 1500
    assert got[("sys:retirement", "carbon/p1/2022")] == 1000 and got[("bob", "carbon/p1/2022")] == 7000
    assert [b["holder"] for b in bal["blocks"] if b["instrument"] == CAP] == ["bob", "alice"]
    assert ok("balance", "bob", "--instrument", CAP, "--db", db)["balances"][0]["display"] == "0.25 t/yr"
    hist = ok("history", "--account", "bob", "--db", db)
    assert [h["record"]["request"]["type"] for h in hist] == ["open", "issue", "transfer", "retire"]
    prices = ok("prices", CAP, "--db", db)
    assert prices == [dict(prices[0], price_cny_per_unit="1186.71", notional_cny="296.6775", amount=250)]
    v = ok("verify", "--db", db)
    assert v["ok"] and v["size"] == 8
    out = cli["dir"] / "export.json"
    e = ok("export", "--out", out, "--db", db)
    assert e["root"] == v["root"] and json.loads(out.read_text())["root"] == v["root"]
    assert ok("verify", "--export", out)["root"] == v["root"]
    p = ok("proof", "deal", "--db", db)
    assert merkle.verify_inclusion(bytes.fromhex(p["leaf_hash"]), p["leaf_index"], p["tree_size"], [bytes.fromhex(x) for x in p["path"]], bytes.fromhex(v["root"]))
    assert p["seq"] == t["seq"]
    q = ok("proof", "--since", "4", "--db", db)
    assert merkle.verify_consistency(4, q["tree_size"], bytes.fromhex(q["first_root"]), bytes.fromhex(q["root"]), [bytes.fromhex(x) for x in q["path"]])
    assert len(ok("account", "list", "--db", db)) == 7  # 2 users + 5 system accounts


def test_human_output_and_env_database(cli):
    env = {"GEP_LEDGER": cli["db"]}
    res = run("issue", CAP, "1 t", "--to", "alice", "--evidence", cli["runs"]["capacity"], "--key", cli["reg"], env=env)
    assert res.exit_code == 0 and "recorded transaction 4" in res.stdout and "1 t/yr of capacity/1/COD/2024 to alice" in res.stdout
    for args in (["balance", "--blocks"], ["history"], ["prices", CAP], ["verify"], ["account", "list"], ["proof", "4"]):
        res = run(*args, env=env)
        assert res.exit_code == 0, res.stderr
    assert "ok: 4 transactions" in run("verify", env=env).stdout


def test_user_errors_are_one_line_exit_2(cli, tmp_path):
    db, reg, runs = cli["db"], cli["reg"], cli["runs"]
    ok("issue", CAP, "1 t", "--to", "alice", "--evidence", runs["capacity"], "--key", reg, "--db", db)
    ok("transfer", CAP, "1 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--db", db, "--id", "x")
    base = ("--db", db)
    assert "holds 0.999 t/yr" in refused(2, "transfer", CAP, "2 t", "--from", "alice", "--to", "bob", "--key", cli["alice"], *base)
    assert "does not exist" in refused(2, "transfer", CAP, "1 kg", "--from", "alice", "--to", "zoe", "--key", cli["alice"], *base)
    assert "not the owner" in refused(2, "transfer", CAP, "1 kg", "--from", "alice", "--to", "bob", "--key", cli["bob"], *base)
    assert "only the registry" in refused(2, "issue", CAP, "1 kg", "--to", "bob", "--evidence", runs["capacity"], "--key", cli["alice"], *base)
    assert "exceeds the computed cap" in refused(2, "issue", CAP, "4.001 t", "--to", "bob", "--evidence", runs["capacity"], "--key", reg, *base)
    assert "does not fit" in refused(2, "transfer", CAP, "3 ha", "--from", "alice", "--to", "bob", "--key", cli["alice"], *base)
    assert "not positive" in refused(2, "transfer", CAP, "0", "--from", "alice", "--to", "bob", "--key", cli["alice"], *base)
    assert "whole number" in refused(2, "transfer", CAP, "0.5 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], *base)
    assert "already used" in refused(2, "transfer", CAP, "2 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--id", "x", *base)
    assert "not an instrument" in refused(2, "transfer", "gold/1", "1", "--from", "alice", "--to", "bob", "--key", cli["alice"], *base)
    assert "not found" in refused(2, "transfer", CAP, "1", "--from", "alice", "--to", "bob", "--key", tmp_path / "nokey.key", *base)
    loose = tmp_path / "loose.key"
    shutil.copy(cli["alice"], loose)
    os.chmod(loose, 0o644)
    assert "chmod 600" in refused(2, "transfer", CAP, "1", "--from", "alice", "--to", "bob", "--key", loose, *base)
    assert "not found" in refused(2, "balance", "--db", tmp_path / "none.db")
    assert "already holds ledger" in refused(2, "init", "--db", db, "--key", reg)
    assert "already exists" in refused(2, "keygen", "alice", "--dir", cli["dir"])
    for name in ("../../outside", "", ".key", "a/b", "a b$(x)", ".hidden", "_x"):  # a path, or empty: keys landed outside --dir or hidden
        assert "is not a plain file name" in refused(2, "keygen", name, "--dir", cli["dir"] / "keys")
    assert not (cli["dir"] / "keys").exists()
    # evidence edited after the run: exit 3
    run_dir = tmp_path / "edited"
    shutil.copytree(runs["capacity"].parent, run_dir)
    (run_dir / "credits.csv").write_text((run_dir / "credits.csv").read_text() + "9,COD,2024,x,1,1,1000,0,False\n")
    assert "differs from its SHA-256" in refused(3, "issue", "capacity/9/COD/2024", "1", "--to", "bob", "--evidence", run_dir / "manifest.json", "--key", reg, *base)
    assert ok("verify", *base)["size"] == 5  # nothing above changed the ledger


def test_verify_names_tampered_transaction_exit_1(cli, ledger_tools):
    db = cli["db"]
    ok("issue", CAP, "1 t", "--to", "alice", "--evidence", cli["runs"]["capacity"], "--key", cli["reg"], "--db", db)
    ok("transfer", CAP, "10 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--db", db, "--id", "t-5")
    ledger_tools.raw_execute(db, ledger_tools.drop_append_only(db, "postings"))
    ledger_tools.raw_execute(db, "UPDATE postings SET amount = amount * 2 WHERE seq = 5")
    line = refused(1, "verify", "--db", db)
    assert "transaction 5 (id t-5)" in line and "postings" in line
    res = run("verify", "--db", db, "--json")
    assert res.exit_code == 1 and json.loads(res.stdout) == {"ok": False, "seq": 5, "id": "t-5", "error": json.loads(res.stdout)["error"]}


def test_batch_linked_and_independent(cli):
    db, d = cli["db"], cli["dir"]
    ok("issue", CAP, "100 kg", "--to", "alice", "--evidence", cli["runs"]["capacity"], "--key", cli["reg"], "--db", db)
    ops = [{"op": "transfer", "key": "alice.key", "instrument": CAP, "amount": "30 kg", "from": "alice", "to": "bob", "id": "L1"},
           {"op": "transfer", "key": "bob.key", "instrument": CAP, "amount": "31 kg", "from": "bob", "to": "alice", "id": "L2"}]
    (d / "batch.json").write_text(json.dumps(ops))
    line = refused(2, "batch", d / "batch.json", "--db", db)
    assert "linked operation 2 of 2" in line and "nothing was recorded" in line
    ops[1]["amount"] = "20 kg"
    (d / "batch.json").write_text(json.dumps(ops))
    res = ok("batch", d / "batch.json", "--db", db)
    assert [r["status"] for r in res["results"]] == ["created", "created"]
    ops = [dict(ops[0], id="I1", amount="1 kg"), dict(ops[0], id="I2", amount="1 t"), dict(ops[0], id="I3", amount="2 kg")]
    (d / "batch2.json").write_text(json.dumps(ops))
    res = run("batch", d / "batch2.json", "--independent", "--db", db, "--json")
    assert res.exit_code == 2 and [r["status"] for r in json.loads(res.stdout)["results"]] == ["created", "refused", "created"]
    assert ok("balance", "bob", "--db", db)["balances"][0]["amount"] == 13


def test_batch_key_must_lie_beside_the_batch_file(cli):
    """A participant's batch file could name the registry's key (absolute, ``..`` or a link leading out): refused, nothing recorded."""
    db, d = cli["db"], cli["dir"]
    inbox = d / "inbox"
    inbox.mkdir()
    (inbox / "link.key").symlink_to(cli["reg"])
    pub = (d / "bob.pub").read_text().strip()
    for key in (str(cli["reg"]), "../registry.key", "link.key", "sub/../../registry.key"):
        (inbox / "b.json").write_text(json.dumps([{"op": "open", "key": key, "account": "mallory2", "owner": pub}]))
        line = refused(2, "batch", inbox / "b.json", "--db", db)
        assert f"batch entry 1: key {key!r} is outside the batch file's folder" in line
    assert len(ok("account", "list", "--db", db)) == 7  # nothing opened: 2 users + 5 system accounts
    shutil.copy(cli["reg"], inbox / "registry.key")  # the operator's own batch, beside its key: still works
    (inbox / "b.json").write_text(json.dumps([{"op": "open", "key": "registry.key", "account": "carol", "owner": pub}]))
    assert ok("batch", inbox / "b.json", "--db", db)["results"][0]["status"] == "created"
    # a handed-over file dropped beside the registry key: --signed-only takes only requests signed elsewhere
    (inbox / "b.json").write_text(json.dumps([{"op": "open", "key": "registry.key", "account": "mallory3", "owner": pub}]))
    line = refused(2, "batch", inbox / "b.json", "--signed-only", "--db", db)
    assert "batch entry 1 is an op entry ('open')" in line and "signed requests only (--signed-only)" in line
    ok("issue", CAP, "1 t", "--to", "alice", "--evidence", cli["runs"]["capacity"], "--key", cli["reg"], "--db", db)
    signed = ok("transfer", CAP, "1", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--sign-only", "--db", db)
    (inbox / "s.json").write_text(json.dumps([signed]))
    assert ok("batch", inbox / "s.json", "--signed-only", "--db", db)["results"][0]["status"] == "created"


def test_hostile_json_files_refused_in_one_line(cli):
    """Nesting 100,000 deep (RecursionError), a lone surrogate (UnicodeEncodeError) and a number as a path (TypeError): exit 2, one line."""
    db, d = cli["db"], cli["dir"]
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    op = {"op": "transfer", "instrument": CAP, "amount": "1", "from": "alice", "to": "bob"}
    (d / "keynum.json").write_text(json.dumps([dict(op, key=5)]))
    (d / "evnum.json").write_text(json.dumps([{"op": "issue", "key": "registry.key", "instrument": CAP, "amount": "1", "to": "alice", "evidence": 7}]))
    (d / "memo.json").write_text(json.dumps([dict(op, key="alice.key", memo="\ud800")]))
    cases = {("batch", d / "deep.json"): "nested too deeply", ("verify", "--head", d / "deep.json"): "nested too deeply",
             ("verify", "--export", d / "deep.json"): "nested too deeply", ("verify", "--checkpoint", d / "deep.json"): "nested too deeply",
             ("certificate", "verify", d / "deep.json"): "nested too deeply", ("attest", d / "deep.json", "--key", cli["alice"]): "nested too deeply",
             ("issue", CAP, "1", "--to", "alice", "--evidence", d / "deep.json", "--key", cli["reg"]): "nested too deeply",
             ("cosign", d / "deep.json", "--key", cli["alice"]): "nested too deeply",
             ("batch", d / "keynum.json"): "batch entry 1: key 5 is not a path", ("batch", d / "evnum.json"): "batch entry 1: evidence 7 is not a path",
             ("batch", d / "memo.json"): "[0].memo holds a lone surrogate"}
    for args, expected in cases.items():
        db_opt = () if args[0] in ("certificate", "attest") else ("--db", db)
        assert expected in refused(2, *args, *db_opt), args


def test_publish_witness_and_audit_heads(cli, keyset, ledger_tools):
    db, d = cli["db"], cli["dir"]
    ok("issue", CAP, "1 t", "--to", "alice", "--evidence", cli["runs"]["capacity"], "--key", cli["reg"], "--db", db)
    first = ok("head", "--db", db, "--out", d / "h1.json")
    assert first == json.loads((d / "h1.json").read_text()) and first["tree_size"] == 4
    human = run("head", "--db", db)
    assert human.exit_code == 0 and f"root_hash: {first['root_hash']}" in human.stdout
    ok("keygen", "witness", "--dir", d)
    c1 = ok("cosign", d / "h1.json", "--key", d / "witness.key", "--db", db, "--out", d / "h1.cosigned.json")
    assert c1["tree_size"] == 4
    ok("transfer", CAP, "1 kg", "--from", "alice", "--to", "bob", "--key", cli["alice"], "--db", db)
    ok("head", "--db", db, "--out", d / "h2.json")
    ok("cosign", d / "h2.json", "--key", d / "witness.key", "--previous", d / "h1.cosigned.json", "--db", db, "--out", d / "h2.cosigned.json")
    v = ok("verify", "--db", db, "--head", d / "h1.cosigned.json", "--head", d / "h2.cosigned.json", "--witness", d / "witness.pub",
           "--registry", cli["reg"].with_suffix(".pub"))
    assert v["ok"] and v["heads_checked"] == 7
    # a head without the witness's cosignature, another registry, a malformed head file
    assert "no valid cosignature" in refused(1, "verify", "--db", db, "--head", d / "h2.json", "--witness", d / "witness.pub")
    assert "not the expected" in refused(1, "verify", "--db", db, "--registry", d / "alice.pub")
    (d / "bad.json").write_text("{\"tree_size\": 1e99999999}")
    assert "error:" in refused(2, "verify", "--db", db, "--head", d / "bad.json")
    (d / "bad.json").write_text("[1, 2]")
    assert "not a tree head" in refused(2, "verify", "--db", db, "--head", d / "bad.json")  # bad input, like the JSON above
    # a truncated log fails against the published head, and so does the witness
    ledger_tools.raw_execute(db, ledger_tools.drop_append_only(db, "log") + ledger_tools.drop_append_only(db, "heads"))
    ledger_tools.raw_execute(db, "DELETE FROM log WHERE seq = 5; DELETE FROM heads WHERE tree_size = 5")
    line = refused(1, "verify", "--db", db, "--head", d / "h2.cosigned.json")
    assert "head " in line and "h2.cosigned.json" in line and "first differing position 5" in line
    assert "does not match the log" in refused(1, "cosign", d / "h2.json", "--key", d / "witness.key", "--db", db)


# ----------------------------------------------------------------- a ledger written by the library
def make_on_disk(tmp_path, target, keyset, runs) -> str:
    """A ledger where alice holds 100 kg of CAP and bob 100 kg of CAP2, and key files alice/bob/registry.key in tmp_path."""
    with Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles()) as led:
        for n in ("alice", "bob"):
            led.open_account(keyset.registry, n, getattr(keyset, n).public)
        led.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
        led.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    for n in ("alice", "bob", "registry"):
        keys.write_keypair(getattr(keyset, n), tmp_path / f"{n}.key")
    return target


@pytest.fixture
def on_disk(tmp_path, target, keyset, runs) -> str:
    """:func:`make_on_disk` in ``tmp_path``."""
    return make_on_disk(tmp_path, target, keyset, runs)


def write_deal(path, *legs, batch="swap-1", expires=LATER):
    """A deal file of legs ``(instrument, amount, from, to)``."""
    path.write_text(json.dumps({"batch": batch, "expires": expires,
                                "legs": [dict(zip(("instrument", "amount", "from", "to"), leg)) for leg in legs]}))
    return path


def test_dvp_from_the_command_line(tmp_path, on_disk):
    runner, target = CliRunner(), on_disk
    deal = write_deal(tmp_path / "deal.json", (CAP, "10 kg", "alice", "bob"), (CAP2, "0.01 t", "bob", "alice"))
    terms = ok("deal", deal)["terms"]
    shown = run("deal", deal)
    assert shown.exit_code == 0 and shown.stdout.splitlines()[-1] == f"terms {terms}"
    assert "leg 2: 0.01 t/yr of capacity/2/COD/2024 bob → alice" in shown.stdout
    piped = runner.invoke(app, ["deal", "-", "--json"], input=deal.read_text())
    assert piped.exit_code == 0 and json.loads(piped.stdout)["terms"] == terms
    legs = []
    for who, ins, dst in (("alice", CAP, "bob"), ("bob", CAP2, "alice")):
        res = runner.invoke(app, ["transfer", ins, "10 kg", "--from", who, "--to", dst, "--key", str(tmp_path / f"{who}.key"), "--db", target,
                                  "--deal", str(deal), "--sign-only", "--id", f"{who}-leg"])
        assert res.exit_code == 0, res.stderr
        legs.append(json.loads(res.stdout))
        assert legs[-1]["request"]["dvp"] == {"batch": "swap-1", "legs": 2, "expires": LATER, "terms": terms}
    (tmp_path / "one.json").write_text(json.dumps(legs[:1]))
    (tmp_path / "both.json").write_text(json.dumps(legs[::-1]))
    res = runner.invoke(app, ["batch", str(tmp_path / "one.json"), "--db", target, "--head-key", str(tmp_path / "registry.key")])
    assert res.exit_code == 2 and "a leg alone" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["batch", str(tmp_path / "both.json"), "--db", target, "--head-key", str(tmp_path / "registry.key"), "--json"])
    assert res.exit_code == 0, res.stderr
    assert [r["status"] for r in json.loads(res.stdout)["results"]] == ["created", "created"]
    res = runner.invoke(app, ["transfer", CAP, "1 kg", "--from", "alice", "--to", "bob", "--key", str(tmp_path / "alice.key"), "--db", target])
    assert res.exit_code == 2 and "registry key, to sign the new tree head" in res.stderr


def test_a_leg_not_of_the_deal_is_refused_on_the_command_line(tmp_path, on_disk, keyset):
    target, head = on_disk, ["--head-key", tmp_path / "registry.key"]
    deal = write_deal(tmp_path / "deal.json", (CAP, "30 kg", "alice", "bob"), (CAP2, "20 kg", "bob", "alice"))
    base = ["--from", "bob", "--to", "alice", "--key", tmp_path / "bob.key", "--db", target, "--deal", deal, "--sign-only"]
    line = refused(2, "transfer", CAP2, "1 kg", *base)
    assert "this transfer is not a leg of deal 'swap-1': its amount is 0.001 t/yr (1 base units), leg 2 of the deal says 0.02 t/yr (20 base units)" in line
    assert "its price is '5', leg 2 of the deal says none" in refused(2, "transfer", CAP2, "20 kg", *base, "--price", "5")
    assert "is not a leg of deal 'swap-1'" in refused(2, "transfer", CAP, "20 kg", *base[:-1], "--to", "carol")
    # the attack, made without the client's check: bob signs his own leg with the deal's dvp field; the registry's batch is refused
    alice_leg = ok("transfer", CAP, "30 kg", "--from", "alice", "--to", "bob", "--key", tmp_path / "alice.key", "--db", target, "--deal", deal, "--sign-only")
    with Ledger.open(target) as led:
        bobs = led.sign(keyset.bob, "transfer", {"instrument": CAP2, "amount": 1, "from": "bob", "to": "alice", "dvp": alice_leg["request"]["dvp"]})
    (tmp_path / "legs.json").write_text(json.dumps([alice_leg, bobs.as_dict()]))
    line = refused(2, "batch", tmp_path / "legs.json", "--db", target, *head)
    assert "delivery-versus-payment batch 'swap-1': the legs submitted are not the terms the legs were signed for" in line and "nothing was recorded" in line
    assert ok("balance", "bob", "--db", target)["balances"] == [{**ok("balance", "bob", "--db", target)["balances"][0], "amount": 100}]
    # --dvp, the form of earlier ledgers, is refused on this one; --deal with --dvp is a contradiction
    line = refused(2, "transfer", CAP2, "20 kg", *base[:-3], "--dvp", "swap-1", "--expires", LATER, "--sign-only")
    assert "needs its deal" in line and "--deal deal.json" in line
    assert "leave out --dvp and --expires" in refused(2, "transfer", CAP2, "20 kg", *base, "--dvp", "swap-1", "--expires", LATER)


def test_bad_deal_files_are_one_line_exit_2(tmp_path, on_disk):
    legs = [{"instrument": CAP, "amount": "30 kg", "from": "alice", "to": "bob"}, {"instrument": CAP2, "amount": "20 kg", "from": "bob", "to": "alice"}]
    cases = {
        "missing": ({"batch": "d", "legs": legs}, "lacks field(s) expires"),
        "one-leg": ({"batch": "d", "expires": LATER, "legs": legs[:1]}, "legs must be a list of 2 to 16 transfers, not 1"),
        "too-many": ({"batch": "d", "expires": LATER, "legs": [{**legs[0], "amount": f"{i} kg"} for i in range(1, 18)]}, "not 17"),
        "bad-amount": ({"batch": "d", "expires": LATER, "legs": [legs[0], {**legs[1], "amount": "20 ha"}]}, "leg 2: amount: unit 'ha'"),
        "duplicate": ({"batch": "d", "expires": LATER, "legs": [legs[0], {**legs[0], "amount": 30}]}, "leg 2 is the same transfer as leg 1"),
        "not-object": ([legs], "a deal must be a JSON object"),
    }
    for name, (doc, message) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        for args in (["deal", tmp_path / f"{name}.json"],
                     ["transfer", CAP, "30 kg", "--from", "alice", "--to", "bob", "--key", tmp_path / "alice.key", "--db", on_disk,
                      "--deal", tmp_path / f"{name}.json", "--sign-only"]):
            line = refused(2, *args)
            assert f"deal file {tmp_path / name}.json" in line and message in line, (name, line)
    (tmp_path / "broken.json").write_text('{"batch": ')
    assert "is not JSON" in refused(2, "deal", tmp_path / "broken.json")
    assert "cannot read deal file" in refused(2, "deal", tmp_path / "absent.json")


def test_batch_file_names_its_deal(tmp_path, on_disk):
    target, head = on_disk, ["--head-key", tmp_path / "registry.key"]
    write_deal(tmp_path / "deal.json", (CAP, "30 kg", "alice", "bob"), (CAP2, "20 kg", "bob", "alice"))
    ops = [{"op": "transfer", "key": "alice.key", "instrument": CAP, "amount": "30 kg", "from": "alice", "to": "bob", "deal": "deal.json"},
           {"op": "transfer", "key": "bob.key", "instrument": CAP2, "amount": "20 kg", "from": "bob", "to": "alice", "deal": "deal.json"}]
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([ops[0], {**ops[1], "amount": "2 kg"}]))
    assert "batch entry 2" not in refused(2, "batch", batch, "--db", target, *head)  # the client refuses bob's leg before signing
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for key in ("alice.key", "bob.key"):
        shutil.copy(tmp_path / key, inbox / key)
    (inbox / "b.json").write_text(json.dumps([{**op, "deal": "../deal.json"} for op in ops]))
    assert "batch entry 1: deal '../deal.json' is outside the batch file's folder" in refused(2, "batch", inbox / "b.json", "--db", target, *head)
    batch.write_text(json.dumps(ops))
    res = ok("batch", batch, "--db", target, *head)
    assert [r["status"] for r in res["results"]] == ["created", "created"]
    assert res["results"][0]["record"]["request"]["dvp"]["terms"] == ok("deal", tmp_path / "deal.json")["terms"]


def test_earlier_ledgers_take_dvp_legs_on_the_command_line(tmp_path, new_target, keyset, runs, genesis_before_deal_terms):
    target = make_on_disk(tmp_path, new_target(), keyset, runs)
    legs = [ok("transfer", ins, "10 kg", "--from", who, "--to", dst, "--key", tmp_path / f"{who}.key", "--db", target,
               "--dvp", "swap-1", "--expires", LATER, "--sign-only") for who, ins, dst in (("alice", CAP, "bob"), ("bob", CAP2, "alice"))]
    assert legs[0]["request"]["dvp"] == {"batch": "swap-1", "legs": 2, "expires": LATER}
    (tmp_path / "legs.json").write_text(json.dumps(legs))
    assert [r["status"] for r in ok("batch", tmp_path / "legs.json", "--db", target, "--head-key", tmp_path / "registry.key")["results"]] == ["created"] * 2
    assert ok("verify", "--db", target)["ok"]


def test_the_deal_example_of_the_docs_runs_as_written(tmp_path, on_disk, keyset, runs):
    """docs/ledger.md's deal file and commands, as written, but for the instruments the test ledger holds and an expiry that never passes."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    with Ledger.open(on_disk, keyset.registry, files=RunFiles()) as led:
        led.issue(keyset.registry, CAP2, "2 t", "bob", runs["capacity"])
    text = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8")
    section = text[text.index("**The deal.**"):text.index("**Ledgers made before December 2026**")]
    deal, script = re.search(r"```json\n(.*?)```", section, re.S).group(1), re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    expires = json.loads(deal)["expires"]
    ours = {"capacity/3/COD/2024": CAP, "carbon/p1/2022": CAP2, expires: LATER}
    for theirs, mine in ours.items():
        deal, script = deal.replace(theirs, mine), script.replace(theirs, mine)
    (tmp_path / "deal-7.json").write_text(deal)
    env = {**os.environ, "GEP_LEDGER": on_disk, "GEP_LEDGER_HEAD_KEY": str(tmp_path / "registry.key")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^terms [0-9a-f]{64}$", done.stdout, re.M)
    with Ledger.open(on_disk) as led:
        assert [h["record"]["request"]["dvp"]["batch"] for h in led.history(limit=2)] == ["deal-7", "deal-7"]


def test_hostile_numbers_on_the_command_line(tmp_path, on_disk):
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
