"""`gep ledger market`, `statement` and `certificate` through typer's runner, on SQLite and PostgreSQL.

The ledger is prepared by the library with a clock in 2020 (a listing whose window closed, an
energy quota that expired in mid-2020); the commands then run on the real clock. Every bad
input exits 2 with one line on stderr and leaves the signed head unchanged.
"""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles
from gep.ledger import keys
from gep.cli.app import app
from gep.ledger.ledger import Ledger
from gep.ledger.market import Market

runner = CliRunner()
EM = "emission/4/COD/2020"  # valid 2020-01-01 .. 2099-12-31
OLD = "energy/old/2020"  # valid 2020-01-01 .. 2020-06-30: expired


def run(*args, env=None):
    return runner.invoke(app, ["ledger", *(str(a) for a in args)], env=env)


def ok(*args) -> dict:
    res = run(*args, "--json")
    assert res.exit_code == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


@pytest.fixture
def env(target, tmp_path, keyset, monkeypatch, ledger_tools):
    clk = ledger_tools.Clock("2020-01-10T00:00:00+00:00")
    gov = keys.generate()
    ks = {"registry": keyset.registry, "alice": keyset.alice, "bob": keyset.bob, "dave": keyset.dave, "gov": gov}
    paths = {}
    for name, pair in ks.items():
        paths[name] = tmp_path / f"{name}.key"
        keys.write_keypair(pair, paths[name])
    with Ledger.init(target, keyset.registry, operators=[keyset.operator.public], clock=clk, files=RunFiles()) as led:
        for acc, key, zone in (("alice", "alice", "4"), ("bob", "bob", "1"), ("dave", "dave", "langxi"), ("treasury", "gov", None)):
            led.open_account(keyset.registry, acc, ks[key].public, zone=zone)
        m = Market(led)
        m.define(keyset.registry, EM, "100 t", "2020-01-01", "2099-12-31", "test plan")
        m.define(keyset.registry, OLD, "100 tce", "2020-01-01", "2020-06-30", "old quota")
        m.allocate(keyset.registry, EM, "20 t", "alice")
        m.allocate(keyset.registry, OLD, "50 tce", "alice")
        m.deposit(keyset.registry, "bob", "10000 CNY")
        closed = m.create_listing(keyset.alice, "alice", EM, "1 t", "2000", closes=clk.at(days=10)).seq
        stale = m.create_listing(keyset.alice, "alice", OLD, "10 tce", "600", closes="2099-01-01T00:00:00Z").seq
    monkeypatch.setenv("GEP_LEDGER", target)
    monkeypatch.setenv("GEP_LEDGER_HEAD_KEY", str(paths["registry"]))
    return {"dir": tmp_path, "keys": paths, "closed": closed, "stale": stale, "target": target, "ratios": ledger_tools.ratios}


def head() -> dict:
    return ok("head")


def refused_cli(*args) -> str:
    before = head()
    res = run(*args)
    assert res.exit_code == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr + res.stdout, res.stderr
    assert head() == before  # nothing written
    return lines[0]


def test_market_from_the_command_line(env):
    k, d = env["keys"], env["dir"]
    assert ok("market", "ratios", "publish", env["ratios"], "--key", k["registry"])["status"] == "created"
    assert ok("market", "ratios", "show")["version"] == "market-2026-1.0.0"
    assert ok("market", "deposit", "dave", "3 wan_CNY", "--reference", "bank-1", "--key", k["registry"])["status"] == "created"
    lst = ok("market", "list", EM, "5 t", "--account", "alice", "--price", "2400", "--closes", "2099-01-01T00:00:00+08:00",
             "--min-lot", "100 kg", "--key", k["alice"])["seq"]
    bid = ok("market", "bid", str(lst), "1.2 t", "--account", "dave", "--instrument", EM, "--price", "2400", "--key", k["dave"])
    trade = bid["record"]["effects"]["trades"][0]
    assert (trade["received"], trade["ratio"], trade["payment"]) == (1000, "1.2", 288_000)
    signed = run("market", "bid", str(lst), "1 t", "--account", "bob", "--instrument", EM, "--price", "2400", "--key", k["bob"], "--sign-only")
    assert signed.exit_code == 0 and json.loads(signed.stdout)["request"]["type"] == "bid"
    (d / "bid.json").write_text("[" + signed.stdout + "]")
    assert ok("batch", d / "bid.json")["results"][0]["status"] == "created"
    assert [t["buyer"] for t in ok("market", "trades", EM)] == ["dave", "bob"]
    idx = ok("market", "index", EM, "--period", "year", "--csv", d / "index.csv")
    assert idx[0]["trades"] == 2 and idx[0]["vwap"] == "2400.0000" and (d / "index.csv").read_text().startswith("period,")
    assert ok("market", "book", str(lst))["remaining"] == 2800
    assert ok("prices", EM)[0]["source"] == "market"
    # compliance
    ob = ok("market", "oblige", "alice", "--kind", "emission", "--pollutant", "COD", "--period", "2020", "--amount", "2 t",
            "--due", "2099-01-01T00:00:00Z", "--key", k["registry"])["seq"]
    ok("market", "surrender", EM, "2 t", "--from", "alice", "--obligation", str(ob), "--key", k["alice"])
    assert ok("market", "compliance")[0]["status"] == "met"
    # statements, in every format
    for fmt in ("csv", "xlsx", "html"):
        out = ok("statement", "dave", "--from", "2020-01-01", "--to", "2099-12-31", "--out", d / f"dave.{fmt}")
        assert out["format"] == fmt and (d / f"dave.{fmt}").stat().st_size > 0
    rows = [r for r in csv.DictReader(line for line in (d / "dave.csv").read_text(encoding="utf-8-sig").splitlines() if not line.startswith("#"))]
    assert [r["type"] for r in rows] == ["opening", "opening", "deposit", "bid", "bid", "closing", "closing"]
    assert rows[-2]["instrument"] == "cash/CNY" and rows[-2]["display"] == "27120.00 CNY" and rows[-1]["display"] == "1 t/yr"
    assert "27120.00 CNY" in (d / "dave.html").read_text(encoding="utf-8")
    # a certificate of the trade, verified offline (no database)
    cert = d / "trade.cert.json"
    assert ok("certificate", "issue", str(bid["seq"]), "--out", cert)["kind"] == "trade"
    reg_pub = keys.public_path(k["registry"])
    res = runner.invoke(app, ["ledger", "certificate", "verify", str(cert), "--registry", str(reg_pub), "--json"], env={"GEP_LEDGER": "/nonexistent/none.db"})
    assert res.exit_code == 0 and json.loads(res.stdout)["registry_pinned"], res.stderr
    doc = json.loads(cert.read_text())
    doc["statement"]["trades"][0]["payment"] = 1
    (d / "forged.json").write_text(json.dumps(doc))
    res = run("certificate", "verify", d / "forged.json")
    assert res.exit_code == 1 and "statement differs" in res.stderr
    # against a later published head: only with the registry's consistency proof between the two trees
    size = doc["head"]["tree_size"]
    ok("transfer", "cash/CNY", "1 CNY", "--from", "dave", "--to", "bob", "--key", k["dave"])
    (d / "published.json").write_text(json.dumps(ok("head")))
    res = run("certificate", "verify", cert, "--head", d / "published.json")
    assert res.exit_code == 1 and "without a consistency proof" in res.stderr and f"proof --since {size} --to {size + 1}" in res.stderr
    (d / "proof.json").write_text(json.dumps(ok("proof", "--since", str(size), "--to", str(size + 1))))
    assert ok("certificate", "verify", cert, "--head", d / "published.json", "--consistency", d / "proof.json")["published_checked"] == [f"head {d / 'published.json'}"]
    (d / "proof.json").write_text(json.dumps(ok("proof", "--since", str(size - 1), "--to", str(size + 1))))
    res = run("certificate", "verify", cert, "--head", d / "published.json", "--consistency", d / "proof.json")
    assert res.exit_code == 1 and "without a consistency proof" in res.stderr  # a proof between other trees shows nothing
    history = run("history")
    assert history.exit_code == 0 and "settle" not in history.stdout and "listing" in history.stdout and "surrender" in history.stdout
    assert any(r["display"] == "100.00 CNY" or r["instrument"] == "cash/CNY" for r in ok("balance", "dave")["balances"])
    assert ok("verify")["ok"]


@pytest.mark.parametrize("case", ["below the increment", "expired instrument", "foreign instrument", "insufficient cash", "after the window",
                                  "ratio loop", "forbidden direction", "bad time", "bad amount", "bad period"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(env, case):
    k, d = env["keys"], env["dir"]
    ok("market", "ratios", "publish", env["ratios"], "--key", k["registry"])
    bid = ("market", "bid", "--account", "bob", "--key", k["bob"])
    if case == "below the increment":
        auc = ok("market", "list", EM, "1 t", "--account", "alice", "--price", "2000", "--mechanism", "ascending", "--increment", "50",
                 "--closes", "2099-01-01T00:00:00Z", "--settle-by", "2099-02-01T00:00:00Z", "--key", k["alice"])["seq"]
        ok(*bid, str(auc), "1 t", "--instrument", EM, "--price", "2000")
        line = refused_cli("market", "bid", str(auc), "1 t", "--account", "dave", "--key", k["dave"], "--instrument", EM, "--price", "2040")
        assert "below the best bid 2000 plus the minimum increment 50" in line
    elif case == "expired instrument":
        assert "expired" in refused_cli(*bid, str(env["stale"]), "1 tce", "--instrument", OLD, "--price", "600")
    elif case == "foreign instrument":
        lst = ok("market", "list", EM, "1 t", "--account", "alice", "--price", "2000", "--closes", "2099-01-01T00:00:00Z", "--key", k["alice"])["seq"]
        assert "offers emission/4/COD/2020, not 'carbon/p1/2022'" in refused_cli(*bid, str(lst), "1 t", "--instrument", "carbon/p1/2022", "--price", "2000")
    elif case == "insufficient cash":
        lst = ok("market", "list", EM, "10 t", "--account", "alice", "--price", "2000", "--closes", "2099-01-01T00:00:00Z", "--key", k["alice"])["seq"]
        assert "holds 10000.00 CNY of cash/CNY, less than 20000.00 CNY" in refused_cli(*bid, str(lst), "10 t", "--instrument", EM, "--price", "2000")
    elif case == "after the window":
        assert "after the window" in refused_cli(*bid, str(env["closed"]), "1 t", "--instrument", EM, "--price", "2000")
    elif case == "ratio loop":
        rows = list(csv.DictReader(line for line in (env["ratios"] / "ratios.csv").read_text(encoding="utf-8").splitlines() if not line.startswith("#")))
        for r in rows:
            if (r["from_zone"], r["to_zone"]) == ("2", "1"):
                r["ratio"] = "1"
        path = d / "loop.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        line = refused_cli("market", "ratios", "publish", path, "--version", "loopy", "--key", k["registry"])
        assert "has a loop" in line and ("1 → 2 → 1" in line or "2 → 1 → 2" in line)
        res = run("market", "ratios", "check", path, "--version", "loopy")
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
        assert ok("market", "ratios", "show")["version"] == "market-2026-1.0.0"
    elif case == "forbidden direction":  # downstream (zone 1) to upstream (zone 4)
        lst = ok("market", "list", EM, "1 t", "--account", "alice", "--price", "2000", "--closes", "2099-01-01T00:00:00Z", "--key", k["alice"])["seq"]
        ok(*bid, str(lst), "1 t", "--instrument", EM, "--price", "2000")
        back = ok("market", "list", EM, "0.5 t", "--account", "bob", "--price", "2000", "--closes", "2099-01-01T00:00:00Z", "--key", k["bob"])["seq"]
        ok("market", "deposit", "alice", "5000 CNY", "--key", k["registry"])
        line = refused_cli("market", "bid", str(back), "0.5 t", "--account", "alice", "--key", k["alice"], "--instrument", EM, "--price", "2000")
        assert "from zone 1 to zone 4 is forbidden" in line
    elif case == "bad time":
        assert "not an ISO 8601 time" in refused_cli("market", "list", EM, "1 t", "--account", "alice", "--price", "2000", "--closes", "tomorrow",
                                                    "--key", k["alice"])
        define = ("market", "define", "emission/9/COD/2030", "--total", "1 t", "--source", "plan", "--key", k["registry"])
        for dates in (("2026-01-01", "9999-12-31"), ("0001-01-01", "2030-12-31")):  # the calendar's ends overflowed a datetime
            assert "is out of range" in refused_cli(*define, "--valid-from", dates[0], "--valid-until", dates[1])
        assert "--from 0001-01-01 is out of range" in refused_cli("statement", "dave", "--from", "0001-01-01", "--to", "2030-12-31", "--out", d / "s.html")
        assert "not an ISO 8601 time" in refused_cli("market", "list", EM, "1 t", "--account", "alice", "--price", "2000",
                                                    "--closes", "0001-01-01T00:00:00+08:00", "--key", k["alice"])
    elif case == "bad amount":
        assert "has an exponent of 7 digits" in refused_cli("market", "deposit", "bob", "1e9999999 CNY", "--key", k["registry"])
        ok("market", "deposit", "bob", "46116860184000000 CNY", "--key", k["registry"])  # with the 10,000 CNY before: just below 2**62 fen
        assert "beyond the 2**62 base units" in refused_cli("market", "deposit", "dave", "300000 CNY", "--key", k["registry"])  # balances past 64 bits
    elif case == "bad period":
        assert "period 'century' is not one of" in refused_cli("market", "index", OLD, "--period", "century")  # no trades


def test_rights_cash_and_a_sealed_auction_from_the_command_line(env):
    import stat
    import time
    from datetime import datetime, timedelta, timezone

    k, d = env["keys"], env["dir"]

    def at(seconds: float) -> str:
        return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()

    ok("market", "ratios", "publish", env["ratios"], "--key", k["registry"])
    ok("market", "define", "energy/liyang/2026", "--total", "5000 tce", "--valid-from", "2026-01-01", "--valid-until", "2099-12-31",
       "--source", "quota plan", "--fee", "10", "--fee-years", "1", "--fee-payee", "treasury", "--key", k["registry"])
    ok("market", "deposit", "alice", "20000 CNY", "--key", k["registry"])
    alloc = ok("market", "allocate", "energy/liyang/2026", "1000 tce", "--to", "alice", "--key", k["registry"])
    assert alloc["record"]["effects"]["fee"]["fen"] == 1_000_000  # 1000 tce × 10 CNY × 1 year
    assert [i["allocated_display"] for i in ok("market", "instruments") if i["instrument"] == "energy/liyang/2026"] == ["1000 tce"]
    ok("market", "withdraw", "alice", "5000 CNY", "--reference", "out-1", "--key", k["registry"])
    closes, reveal_until = time.time() + 3, time.time() + 8  # generous windows: the machine may be loaded
    auc = ok("market", "list", "energy/liyang/2026", "100 tce", "--account", "alice", "--price", "500", "--mechanism", "sealed",
             "--bond", "10 CNY", "--closes", at(closes - time.time()), "--reveal-until", at(reveal_until - time.time()), "--settle-by", at(3600),
             "--key", k["alice"])["seq"]
    opening = d / "bob.opening.json"
    ok("market", "commit", str(auc), "10 tce", "--account", "bob", "--instrument", "energy/liyang/2026", "--price", "520",
       "--escrow", "6000 CNY", "--opening", opening, "--key", k["bob"])
    assert stat.S_IMODE(opening.stat().st_mode) == 0o600 and isinstance(json.loads(opening.read_text())["commit"], int)
    assert "exists" in refused_cli("market", "commit", str(auc), "1 tce", "--account", "bob", "--instrument", "energy/liyang/2026",
                                   "--price", "520", "--escrow", "600 CNY", "--opening", opening, "--key", k["bob"])  # never overwritten
    book = ok("market", "book", str(auc))
    assert book["bids"][0]["status"] == "sealed" and "price" not in book["bids"][0]
    time.sleep(max(0.0, closes + 0.1 - time.time()))
    ok("market", "reveal", "--opening", opening, "--key", k["bob"])
    assert "cannot settle before" in refused_cli("market", "settle", str(auc), "--key", k["registry"])
    time.sleep(max(0.0, reveal_until + 0.1 - time.time()))
    settled = ok("market", "settle", str(auc), "--key", k["alice"])["record"]["effects"]
    assert settled["trades"][0]["payment"] == 520_000 and settled["settled"]["unsold"] == 90_000
    assert [x["status"] for x in ok("market", "listings", "--account", "alice") if x["id"] == auc] == ["settled"]
    lst = ok("market", "list", "energy/liyang/2026", "5 tce", "--account", "alice", "--price", "500", "--closes", at(3600), "--key", k["alice"])["seq"]
    assert ok("market", "delist", str(lst), "--key", k["alice"])["status"] == "created"
    assert ok("verify")["ok"]
