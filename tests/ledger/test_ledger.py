"""The ledger facade on SQLite and PostgreSQL: issue, transfer, retire, cancel, buffer, caps, authority, idempotency, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gep.ledger.canonical import signing_message
from gep.ledger.errors import (
    AccountExists, BadSignature, EvidenceError, IdConflict, InsufficientBalance, InvalidAmount, InvalidRequest, NotAuthorised,
    OverIssuance, UnitMismatch, UnknownAccount, UnknownInstrument,
)
from gep.ledger.ledger import Ledger, Signed
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import unchanged


CAP = "capacity/1/COD/2024"
CARBON = "carbon/p1/2022"


def bal(led, account, instrument):
    rows = led.balances(account, instrument)
    return rows[0]["amount"] if rows else 0


def test_issue_capacity_then_transfer_splits_blocks(ledger, keyset, runs):
    r = ledger.issue(keyset.registry, CAP, "1.2 t", "alice", runs["capacity"], id="iss-1")
    assert r.status == "created" and r.record["effects"]["serials"] == [["alice", 1, 1200]]
    assert r.record["effects"]["evidence"]["cap"] == 5000
    t = ledger.transfer(keyset.alice, CAP, "250 kg", "alice", "bob", price="1186.71", id="t-1")
    assert t.record["effects"]["serials"] == [[1, 250]]
    ledger.transfer(keyset.bob, CAP, "100", "bob", "carol", id="t-2")
    assert (bal(ledger, "alice", CAP), bal(ledger, "bob", CAP), bal(ledger, "carol", CAP)) == (950, 150, 100)
    assert bal(ledger, "sys:issuance", CAP) == -1200
    blocks = [(b["start"], b["end"], b["holder"]) for b in ledger.blocks(instrument=CAP)]
    assert blocks == [(1, 100, "carol"), (101, 250, "bob"), (251, 1200, "alice")]
    prices = ledger.prices(CAP)
    assert prices[0]["price_cny_per_unit"] == "1186.71" and prices[0]["notional_cny"] == "296.6775" and prices[0]["unit"] == "t/yr"
    assert verify_ledger(ledger)["size"] == 7


def test_carbon_issuance_withholds_gold_standard_buffer(ledger, keyset, runs):
    # zone 1: forest 10.5 + grassland 1.845 tCO2/yr = 12345 kg CO2e
    r = ledger.issue(keyset.registry, CARBON, "10 t", "alice", runs["carbon"], zone="1", id="c-1")
    eff = r.record["effects"]
    assert eff["buffer"]["share"] == "0.2" and eff["buffer"]["amount"] == 2000 and eff["buffer"]["set"] == "ledger-2026"
    assert eff["evidence"]["cap"] == 12345
    assert (bal(ledger, "alice", CARBON), bal(ledger, "sys:buffer", CARBON)) == (8000, 2000)
    assert eff["serials"] == [["alice", 1, 8000], ["sys:buffer", 8001, 10000]]
    unchanged(ledger, lambda: ledger.issue(keyset.registry, CARBON, "2.346 t", "alice", runs["carbon"], zone="1"), OverIssuance)
    ledger.issue(keyset.registry, CARBON, "2.345 t", "bob", runs["carbon"], zone="1")  # exactly to the cap
    # a reversal: the registry cancels from the buffer pool; nobody else can move buffer credits
    ledger.cancel(keyset.registry, CARBON, "1 t", "sys:buffer")
    unchanged(ledger, lambda: ledger.transfer(keyset.registry, CARBON, 1, "sys:buffer", "bob"), NotAuthorised)
    assert bal(ledger, "sys:cancellation", CARBON) == 1000
    verify_ledger(ledger)


def test_carbon_selection_by_ecosystem_and_binding(ledger, keyset, runs):
    r = ledger.issue(keyset.registry, "carbon/p2/2022", "1 t", "alice", runs["carbon"], zone="Zone1", ecosystem="forest")
    assert r.record["effects"]["evidence"]["cap"] == 10500
    # the instrument stays bound to its project area
    unchanged(ledger, lambda: ledger.issue(keyset.registry, "carbon/p2/2022", "1 t", "alice", runs["carbon"], zone="2"), InvalidRequest)
    with pytest.raises(EvidenceError, match="no zone"):
        ledger.issue(keyset.registry, "carbon/p3/2022", "1 t", "alice", runs["carbon"], zone="9")
    with pytest.raises(EvidenceError, match="vintage 2023"):
        ledger.issue(keyset.registry, "carbon/p3/2023", "1 t", "alice", runs["carbon"])


def test_over_issuance_against_same_evidence_and_instrument(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "4 t", "alice", runs["capacity"])
    err = unchanged(ledger, lambda: ledger.issue(keyset.registry, CAP, "1001 kg", "bob", runs["capacity"]), OverIssuance)
    assert "1 t/yr left" in err.line()
    ledger.issue(keyset.registry, CAP, "1 t", "bob", runs["capacity"])
    unchanged(ledger, lambda: ledger.issue(keyset.registry, CAP, 1, "bob", runs["capacity"]), OverIssuance)
    # an overloaded catchment (deficit) issues nothing
    unchanged(ledger, lambda: ledger.issue(keyset.registry, "capacity/3/COD/2024", 1, "bob", runs["capacity"]), OverIssuance)
    # a row that is not in the run
    with pytest.raises(EvidenceError, match="no row"):
        ledger.issue(keyset.registry, "capacity/9/COD/2024", 1, "bob", runs["capacity"])
    # a non-canonical pollutant spelling would open a second instrument for the same right
    with pytest.raises(InvalidRequest, match="NH3-N|canonical"):
        ledger.issue(keyset.registry, "capacity/1/nh3n/2024", 1, "bob", runs["capacity"])
    # capacity credits need a capacity run, carbon credits a gep run
    with pytest.raises(EvidenceError, match="credits.csv"):
        ledger.issue(keyset.registry, CAP, 1, "bob", runs["carbon"])


def test_idempotency_exists_and_conflict(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"], id="iss")
    first = ledger.transfer(keyset.alice, CAP, "10 kg", "alice", "bob", id="deal-1")
    again = ledger.transfer(keyset.alice, CAP, "10 kg", "alice", "bob", id="deal-1")
    assert again.status == "exists" and again.seq == first.seq and again.record == first.record
    assert bal(ledger, "bob", CAP) == 10
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "11 kg", "alice", "bob", id="deal-1"), IdConflict)
    # an issuance retried with the same id and evidence answers exists, not a second issuance
    assert ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"], id="iss").status == "exists"
    assert bal(ledger, "sys:issuance", CAP) == -1000


def test_bad_signatures_are_refused(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"])
    good = ledger.transfer_request(keyset.alice, CAP, 5, "alice", "bob", id="x1")
    # body changed after signing
    forged = Signed(dict(good.request, amount=500), good.signature)
    unchanged(ledger, lambda: ledger.submit(forged), BadSignature)
    # garbage and truncated signatures
    unchanged(ledger, lambda: ledger.submit(Signed(good.request, "00" * 64)), BadSignature)
    unchanged(ledger, lambda: ledger.submit(Signed(good.request, good.signature[:-2])), BadSignature)
    # signer field swapped to the owner's key but signed by mallory
    req = dict(good.request, id="x2")
    unchanged(ledger, lambda: ledger.submit(Signed(req, keyset.mallory.sign(signing_message(req)))), BadSignature)
    # a retry of a recorded id with a bad signature is refused too
    ledger.submit(good)
    unchanged(ledger, lambda: ledger.submit(Signed(good.request, "11" * 64)), BadSignature)


def test_authority(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"])
    unchanged(ledger, lambda: ledger.transfer(keyset.bob, CAP, 1, "alice", "bob"), NotAuthorised)
    unchanged(ledger, lambda: ledger.transfer(keyset.registry, CAP, 1, "alice", "bob"), NotAuthorised)
    unchanged(ledger, lambda: ledger.retire(keyset.mallory, CAP, 1, "alice"), NotAuthorised)
    unchanged(ledger, lambda: ledger.issue(keyset.alice, CAP, 1, "alice", runs["capacity"]), NotAuthorised)
    unchanged(ledger, lambda: ledger.open_account(keyset.mallory, "mallory", keyset.mallory.public), NotAuthorised)
    unchanged(ledger, lambda: ledger.cancel(keyset.alice, CAP, 1, "alice"), NotAuthorised)
    unchanged(ledger, lambda: ledger.open_account(keyset.registry, "sys:retirement", keyset.mallory.public), InvalidRequest)
    unchanged(ledger, lambda: ledger.open_account(keyset.registry, "alice", keyset.mallory.public), AccountExists)


def test_balances_never_negative_and_user_errors(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "101 kg", "alice", "bob"), InsufficientBalance)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "dave"), UnknownAccount)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, "capacity/1/TP/2024", 1, "alice", "bob"), UnknownInstrument)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "0 kg", "alice", "bob"), InvalidAmount)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "-5", "alice", "bob"), InvalidAmount)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "1 ha", "alice", "bob"), UnitMismatch)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, 1, "alice", "alice"), InvalidRequest)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, 1, "alice", "sys:retirement"), InvalidRequest)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, 1, "alice", "bob", price="-1"), InvalidAmount)
    # amounts that slip past the parser are refused by the rules
    req = ledger.sign(keyset.alice, "transfer", {"instrument": CAP, "amount": 1, "from": "alice", "to": "bob"})
    bad = dict(req.request, amount=0)
    unchanged(ledger, lambda: ledger.submit(Signed(bad, keyset.alice.sign(signing_message(bad)))), InvalidAmount)
    with pytest.raises(UnknownAccount):
        ledger.balances("nobody")


def test_retirement_is_final(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.retire(keyset.alice, CAP, "40 kg", "alice", beneficiary="Liyang water works")
    assert bal(ledger, "sys:retirement", CAP) == 40
    unchanged(ledger, lambda: ledger.transfer(keyset.registry, CAP, 1, "sys:retirement", "alice"), NotAuthorised)
    unchanged(ledger, lambda: ledger.cancel(keyset.registry, CAP, 1, "sys:retirement"), NotAuthorised)
    unchanged(ledger, lambda: ledger.retire(keyset.registry, CAP, 1, "sys:retirement"), NotAuthorised)


def test_linked_operations_all_or_nothing(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, "capacity/2/COD/2024", "100 kg", "bob", runs["capacity"])
    # delivery versus payment: alice gives 60 kg of catchment 1, bob gives 70 kg of catchment 2 (he has 100)
    leg1 = ledger.transfer_request(keyset.alice, CAP, "60 kg", "alice", "bob", id="dvp-1")
    leg2 = ledger.transfer_request(keyset.bob, "capacity/2/COD/2024", "170 kg", "bob", "alice", id="dvp-2")
    err = unchanged(ledger, lambda: ledger.submit_many([leg1, leg2], linked=True), InsufficientBalance)
    assert "linked operation 2 of 2" in err.line() and "nothing was recorded" in err.line()
    assert ledger.history(limit=1)[0]["record"]["request"]["type"] == "issue"
    leg2 = ledger.transfer_request(keyset.bob, "capacity/2/COD/2024", "70 kg", "bob", "alice", id="dvp-2b")
    res = ledger.submit_many([leg1, leg2], linked=True)
    assert [r.status for r in res] == ["created", "created"] and res[1].seq == res[0].seq + 1
    # independent batch: one refusal does not stop the others
    a = ledger.transfer_request(keyset.alice, CAP, "1 kg", "alice", "carol", id="ind-1")
    b = ledger.transfer_request(keyset.alice, CAP, "999 kg", "alice", "carol", id="ind-2")
    c = ledger.transfer_request(keyset.alice, CAP, "2 kg", "alice", "carol", id="ind-3")
    res = ledger.submit_many([a, b, c], linked=False)
    assert [r.status for r in res] == ["created", "refused", "created"]
    assert isinstance(res[1].error, InsufficientBalance) and res[2].seq == res[0].seq + 1
    assert bal(ledger, "carol", CAP) == 3
    verify_ledger(ledger)


def test_history_filters_and_json_records(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob")
    hist = ledger.history(account="bob")
    assert [h["record"]["request"]["type"] for h in hist] == ["open", "transfer"]
    assert len(ledger.history(instrument=CAP)) == 2 and len(ledger.history(limit=1)) == 1
    json.dumps(hist)  # plain JSON


# --------------------------------------------------------------------------- bytes written, against an earlier gep

#: Root of the log and SHA-256 of every table's rows after :func:`_golden_scenario`, as gep a4fc08f wrote them
#: (before canonical bytes were written by msgspec and request ids made time-ordered). A change of either is a
#: change of the ledger format: give it a new format version, not a new constant.
#: The scenario runs with the genesis rounding of that time (:data:`gep.ledger.rules.EARLIER_ROUNDING`, no ``fills``).
GOLDEN_ROOT = "aa17ba554e3d4d9c3e3b6f5292e37575f4bd56042d6a13c3e24ee30befb5f415"
GOLDEN_TABLES = "f6cb5295f89afbb1abdd35b607533f490f433474dd16604b4a8c27f11eea6b6d"
#: The same scenario in a ledger whose genesis states ``rounding.fills = "cumulative"`` (the only difference:
#: the genesis record's parameters; every later record has the same bytes, its sell fill being whole fen either way).
GOLDEN_CUMULATIVE_FILLS = ("eb53e49f862fc2efce685f61f03721270719014ab23b265b1d17509184006105",
                           "538045ef809b153d654873e5b29b03369cdbc243231c2fec1ab795ae6805532f")
#: The same scenario in a new ledger, whose genesis also states ``rules`` (:data:`gep.ledger.rules.RULES`: DvP legs bind
#: their deal's terms, trades between owners, evidence keyed by output file): the genesis record differs, and so do the
#: issuances' evidence keys (recorded in their effects and in the caps and evidence-use tables).
GOLDEN_RULES = ("3ee622f3496f82ca26619512fe736f0fdd210855984ae75150ca83a012c16eab",
                "cd0defd1ea3c220f58d0a43f7a27a00c22eb7dba8afa3ee9b1a7d1fc5b1dc93e")


def _fixed_key(n: int):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gep.ledger.keys import KeyPair, public_hex

    key = Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)
    return KeyPair(key, public_hex(key))


def _golden_scenario(folder) -> tuple[str, str]:
    """A ledger of fixed keys, ids and clock: escapes and non-ASCII in memos, issuance with buffer, single, batch-signed,
    independent (a refusal, retries) transfers, retirement, cancellation, cash and a market fill. Returns (root, tables' SHA-256)."""
    import hashlib
    import os
    import sqlite3

    from gep.audit.evidence import RunFiles
    from gep.ledger.market import Market
    from tests.ledger.helpers import Clock, make_runs, operator

    os.chdir(folder)
    make_runs(folder)
    reg, alice, bob = _fixed_key(1), _fixed_key(2), _fixed_key(3)
    clk = Clock()
    led = Ledger.init("ledger.db", reg, ledger_id="golden", operators=[operator().public], clock=clk, files=RunFiles())
    led.open_account(reg, "alice", alice.public, id="open-alice", memo="水\n\"\\\x01\u2028\x7f 😀")
    led.open_account(reg, "bob", bob.public, id="open-bob")
    clk.advance(seconds=1)
    led.issue(reg, "capacity/2/COD/2024", "5 t", "alice", "capacity-run/manifest.json", id="issue-cap")
    led.issue(reg, "carbon/1/2022", "5 t", "alice", "carbon-run/manifest.json", zone="1", ecosystem="forest", id="issue-carbon")
    clk.advance(seconds=1)
    led.transfer(alice, "capacity/2/COD/2024", "500 kg", "alice", "bob", price="1186.71", id="t1", memo="π")
    fields = led.transfer_fields("capacity/2/COD/2024", 7, "alice", "bob")
    led.submit_many(led.sign_many(alice, [("transfer", fields, f"b{i}") for i in range(37)]), linked=True)
    items = led.sign_many(alice, [("transfer", led.transfer_fields("carbon/1/2022", 10**9, "alice", "bob"), "too-much"),
                                  ("transfer", led.transfer_fields("carbon/1/2022", "1 t", "alice", "bob", price="50"), "ok-carbon")])
    items.append(led.transfer_request(bob, "capacity/2/COD/2024", "3 kg", "bob", "alice", id="back"))
    led.submit_many(items, linked=False)
    led.submit_many(items[1:], linked=False)  # retries: exists
    clk.advance(seconds=1)
    led.retire(bob, "carbon/1/2022", "100 kg", "bob", id="ret", beneficiary="某公司 Ltd.")
    led.cancel(reg, "carbon/1/2022", "1 kg", "sys:buffer", id="can")
    m = Market(led)
    m.deposit(reg, "bob", "100 CNY", reference="bank-1", id="dep")
    listing = m.create_listing(alice, "alice", "capacity/2/COD/2024", "10 kg", "1000", closes=clk.at(days=1), id="list").seq
    m.bid(bob, listing, "bob", "capacity/2/COD/2024", "4 kg", "1000", id="bid")
    led.close()
    db = sqlite3.connect("ledger.db")
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    root = db.execute("SELECT root FROM log ORDER BY seq DESC LIMIT 1").fetchone()[0]
    db.close()
    return root, hashlib.sha256(repr(rows).encode()).hexdigest()


def test_records_and_tables_are_byte_identical_to_those_of_earlier_gep(tmp_path, monkeypatch):
    from gep.ledger import rules
    from tests.ledger.helpers import earlier_genesis

    monkeypatch.chdir(tmp_path)
    for name in ("new", "fills", "earlier"):
        (tmp_path / name).mkdir()
    assert _golden_scenario(tmp_path / "new") == GOLDEN_RULES
    earlier_genesis(monkeypatch)
    assert _golden_scenario(tmp_path / "fills") == GOLDEN_CUMULATIVE_FILLS
    monkeypatch.setattr(rules, "ROUNDING", rules.EARLIER_ROUNDING[0])
    assert _golden_scenario(tmp_path / "earlier") == (GOLDEN_ROOT, GOLDEN_TABLES)


#: A ledger gep 8ed1872 wrote before deal terms (its genesis states no ``rules``), in SQLite: the fixed keys 1, 2, 3
#: (:func:`_fixed_key`: registry, alice, bob), ledger id ``dvp-legs-2026-11``, accounts alice and bob, 100 kg of
#: capacity/1/COD/2024 issued to alice and of capacity/2/COD/2024 to bob, then the DvP pair of batch ``deal-old``
#: (``dvp`` = batch, legs, expiry 2999-01-01T00:00:00Z): 30 kg at 1186.71 alice → bob and 20 kg bob → alice.
EARLIER_DVP_LEDGER = Path(__file__).with_name("data") / "ledger-dvp-legs-2026-11.db"
EARLIER_DVP_ROOT = "ce8f3b55add0d7ba71d348ed6190e39fbbe55ad113c8e830c33ed35a682d0aee"


def test_a_ledger_written_before_deal_terms_verifies_and_keeps_its_legs(tmp_path):
    import shutil

    from gep.ledger.ledger import dvp

    db = tmp_path / "earlier.db"
    shutil.copy(EARLIER_DVP_LEDGER, db)
    reg, alice, bob = _fixed_key(1), _fixed_key(2), _fixed_key(3)
    with Ledger.open(db, reg) as led:
        assert "dvp" not in led.genesis["params"] and "terms" not in led.history(limit=1)[0]["record"]["request"]["dvp"]
        summary = verify_ledger(led)
        assert summary["ok"] and summary["size"] == 7 and summary["root"] == EARLIER_DVP_ROOT
        leg = dvp("deal-old-2", 2, "2999-01-01T00:00:00Z")
        pair = [led.transfer_request(alice, CAP, "1 kg", "alice", "bob", dvp=leg), led.transfer_request(bob, "capacity/2/COD/2024", "2 kg", "bob", "alice", dvp=leg)]
        unchanged(led, lambda: led.submit(pair[0]), InvalidRequest, "a leg alone")
        assert [r.status for r in led.submit_many(pair)] == ["created", "created"]
        assert verify_ledger(led)["ok"]


def test_new_ids_are_uuid7_ordered_by_time():
    """Ids made by gep are UUID version 7 (RFC 9562): unique, and sorted by their millisecond timestamps (the log's index grows at its end)."""
    import time
    import uuid

    from gep.ledger.ledger import new_id

    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(len(i) == 32 and u.hex == i and u.version == 7 and u.variant == uuid.RFC_4122 for i, u in zip(ids, parsed))
    stamps = [u.int >> 80 for u in parsed]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    assert len(set(ids)) == len(ids) and len({i[13:] for i in ids}) == len(ids)  # the random part differs within a millisecond
