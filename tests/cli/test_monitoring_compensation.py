"""`gep compensation`: payments by hand, outputs, replay, bad input, and payments booked in the ledger as cash
(cash/CNY) transfers between the county accounts, signed as every write is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gep.audit.replay import replay


@pytest.fixture()
def data(tmp_path, monitoring_series) -> Path:
    return monitoring_series(tmp_path)


def test_compensation_payments_by_hand_and_replay(gep, data, monitoring_files):
    agreement = monitoring_files.index_agreement(data / "a.toml")
    doc = gep.json("compensation", agreement, "--monitoring", data / "series.csv", "--out", data / "comp")
    pay = {p["period"]: p for p in doc["payments"]}
    # 2021: P = 0.9 * (0.5 * 3.6/4 + 0.5 * 0.08/0.1) = 0.9 * 0.85 = 0.765 -> downstream pays 100;
    # 2022: TP mean (12 * 0.13 + 0.01/2)/13 = 1.565/13 = 0.1203846 (the below-DL sample at DL/2),
    # P = 0.9 * (0.5 * 4.8/4 + 0.5 * 1.203846) = 0.9 * 1.201923 = 1.0817308 -> upstream pays 200 + 1000 * 0.0817308 = 281.7308
    assert pay["2021"]["score"] == pytest.approx(0.765) and pay["2021"]["net_to_upstream_cny"] == pytest.approx(100.0)
    assert pay["2022"]["score"] == pytest.approx(1.0817308, rel=1e-6) and pay["2022"]["amount_cny"] == pytest.approx(281.7308, rel=1e-6)
    assert pay["2022"]["amount_fen"] == 28173  # 28173.08 fen, rounded half up to the fen
    assert doc["total_to_upstream_cny"] == pytest.approx(100.0) and doc["total_to_downstream_cny"] == pytest.approx(281.7308, rel=1e-6)
    assert doc["booking"] is None
    for name in ("payments.csv", "terms.csv", "baselines.csv", "compensation.xlsx", "payments.png", "manifest.json"):
        assert (data / "comp" / name).is_file(), name
    m = json.loads((data / "comp" / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "gep compensation" and set(m["inputs"]) == {"agreement", "series"} and "booking" not in m
    assert replay(data / "comp" / "manifest.json").exit_code == 0


def test_bad_agreements_and_series_exit_2_writing_nothing(gep, data, monitoring_files):
    ia = monitoring_files.index_agreement
    series = data / "series.csv"
    gep.one_line_error("compensation", ia(data / "b.toml", tp_baseline=""), "--monitoring", series, "--out", data / "o",
                       words=("parameter TP has no baseline",))
    gep.one_line_error("compensation", ia(data / "c.toml", period="start = 2021-01-01\nend = 2023-12-31"), "--monitoring", series, "--out", data / "o",
                       words=("section S1, CODMn: no data in period 2023",))
    gep.one_line_error("compensation", ia(data / "d.toml", baseline='baseline = "4 kg"'), "--monitoring", series, "--out", data / "o",
                       words=("[parameters.CODMn] baseline",))
    gep.one_line_error("compensation", ia(data / "a.toml"), "--monitoring", data / "nowhere.csv", "--out", data / "o",
                       words=("monitoring series file not found",))
    assert not (data / "o").exists()


@pytest.fixture()
def ledger(gep, data, keyset):
    """A ledger with the accounts 'up' (alice) and 'down' (bob), bob holding 1000 CNY; key files in ``data``."""
    from gep.ledger import keys

    for name in ("registry", "alice", "bob"):
        keys.write_keypair(getattr(keyset, name), data / f"{name}.key")
    db = data / "ledger.db"
    reg = ["--key", data / "registry.key", "--db", db]
    gep.json("ledger", "init", *reg)
    gep.json("ledger", "account", "open", "up", "--owner", data / "alice.pub", *reg)
    gep.json("ledger", "account", "open", "down", "--owner", data / "bob.pub", *reg)
    gep.json("ledger", "market", "deposit", "down", "1000 CNY", "--reference", "bank 1", *reg)
    return db


def _balances(db) -> dict:
    from gep.ledger.ledger import Ledger

    with Ledger.open(db) as led:
        return {(b["account"], b["instrument"]): b["amount"] for b in led.balances()}


def test_payments_booked_as_cash_transfers(gep, data, ledger, monitoring_files):
    agreement = monitoring_files.index_agreement(data / "a.toml")
    base = ["compensation", agreement, "--monitoring", data / "series.csv", "--book", "--db", ledger, "--head-key", data / "registry.key"]
    # 2022: the upstream county pays, but holds no cash: refused, nothing recorded, nothing written
    gep.one_line_error(*base, "--out", data / "comp", "--key", f"up={data / 'alice.key'}", "--key", f"down={data / 'bob.key'}",
                       words=("nothing was recorded",))
    assert not (data / "comp").exists() and ("down", "cash/CNY") in _balances(ledger) and _balances(ledger)[("down", "cash/CNY")] == 100000
    gep.json("ledger", "market", "deposit", "up", "500 CNY", "--reference", "bank 2", "--key", data / "registry.key", "--db", ledger)
    args = [*base, "--out", data / "comp", "--key", f"up={data / 'alice.key'}", "--key", f"down={data / 'bob.key'}"]
    doc = gep.json(*args)
    booked = doc["booking"]["requests"]
    assert [(r["id"], r["status"], r["from"], r["to"], r["amount_fen"]) for r in booked] == [
        ("comp:test-index:2021", "created", "down", "up", 10000), ("comp:test-index:2022", "created", "up", "down", 28173)]
    bal = _balances(ledger)
    assert bal[("up", "cash/CNY")] == 50000 + 10000 - 28173 and bal[("down", "cash/CNY")] == 100000 - 10000 + 28173
    assert not any(i.startswith("compensation/") for _, i in bal)  # no provisional instrument: the payments are cash
    m = json.loads((data / "comp" / "manifest.json").read_text(encoding="utf-8"))
    assert m["booking"]["tree_head"]["tree_size"] == booked[-1]["seq"] and m["booking"]["tree_head"]["signature"]
    assert gep.invoke("ledger", "verify", "--db", ledger).exit_code == 0
    # booking the same payments again answers 'exists' and moves nothing
    again = gep.json(*args)
    assert [r["status"] for r in again["booking"]["requests"]] == ["exists", "exists"] and _balances(ledger) == bal
    assert replay(data / "comp" / "manifest.json").exit_code == 0  # replay recomputes; it never books


def test_booking_errors(gep, data, ledger, monitoring_files):
    agreement = monitoring_files.index_agreement(data / "a.toml")
    base = ["compensation", agreement, "--monitoring", data / "series.csv", "--book", "--db", ledger, "--out", data / "comp"]
    keys = ["--key", f"up={data / 'alice.key'}", "--key", f"down={data / 'bob.key'}"]
    gep.one_line_error(*base, *keys, words=("--head-key", "registry key"))
    gep.one_line_error(*base, "--head-key", data / "registry.key", "--key", f"down={data / 'bob.key'}", words=("--key", "no private key for paying account 'up'"))
    gep.one_line_error(*base, "--head-key", data / "registry.key", "--key", "up", words=("--key", "is not ACCOUNT=KEYFILE"))
    gep.one_line_error(*base, "--head-key", data / "registry.key", "--key", f"up={data / 'bob.key'}", "--key", f"down={data / 'bob.key'}",
                       words=("is not the owner of account",))
    gep.one_line_error(*base, "--head-key", data / "alice.key", *keys, words=("is not this ledger's registry key",))
    assert not (data / "comp").exists()


def test_replay_checks_the_booked_payments_through_their_certificates(gep, data, ledger, monitoring_files):
    """Replay verifies each booked payment's certificate offline and compares it with the recomputed payment:
    a manifest whose booked records were swapped or edited does not reproduce (exit 1), naming the payment."""
    agreement = monitoring_files.index_agreement(data / "a.toml")
    gep.json("ledger", "market", "deposit", "up", "500 CNY", "--reference", "bank 2", "--key", data / "registry.key", "--db", ledger)
    doc = gep.json("compensation", agreement, "--monitoring", data / "series.csv", "--book", "--db", ledger, "--head-key", data / "registry.key",
                   "--out", data / "comp", "--key", f"up={data / 'alice.key'}", "--key", f"down={data / 'bob.key'}")
    certs = [r["certificate"] for r in doc["booking"]["requests"]]
    assert [c["statement"]["amount"] for c in certs] == [10000, 28173] and all(c["head"] == doc["booking"]["tree_head"] for c in certs)
    mpath = data / "comp" / "manifest.json"
    original = mpath.read_text(encoding="utf-8")
    assert replay(mpath).exit_code == 0

    m = json.loads(original)  # the certificates of the two periods swapped: each is valid, but certifies the other payment
    reqs = m["booking"]["requests"]
    reqs[0]["certificate"], reqs[1]["certificate"] = reqs[1]["certificate"], reqs[0]["certificate"]
    mpath.write_text(json.dumps(m), encoding="utf-8")
    rep = replay(mpath)
    assert rep.exit_code == 1 and any("comp:test-index:2021" in n and "up → down 28173 fen" in n for n in rep.notes), rep.notes

    m = json.loads(original)  # a certified amount edited: the certificate no longer verifies
    m["booking"]["requests"][1]["certificate"]["statement"]["amount"] = 1
    mpath.write_text(json.dumps(m), encoding="utf-8")
    rep = replay(mpath)
    assert rep.exit_code == 1 and any("certificate fails" in n and "statement" in n for n in rep.notes), rep.notes

    m = json.loads(original)  # a booked payment without its certificate cannot be checked offline: said, not passed
    del m["booking"]["requests"][0]["certificate"]
    mpath.write_text(json.dumps(m), encoding="utf-8")
    rep = replay(mpath)
    assert rep.exit_code == 1 and any("comp:test-index:2021: no certificate recorded" in n for n in rep.notes), rep.notes

    m = json.loads(original)  # a booked payment dropped from the record
    del m["booking"]["requests"][0]
    mpath.write_text(json.dumps(m), encoding="utf-8")
    rep = replay(mpath)
    assert rep.exit_code == 1 and any("comp:test-index:2021 is not among the booked payments" in n for n in rep.notes), rep.notes
