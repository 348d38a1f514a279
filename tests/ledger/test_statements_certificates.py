"""Account statements (balances by hand, Beijing dates, three formats) and certificates verified offline (and their forgeries)."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from gep.errors import InputError
from gep.io.statements import render_csv, render_html, write_statement
from gep.ledger import certificate
from gep.ledger.errors import AuditFailed, InvalidRequest, UnknownAccount
from gep.ledger.keys import generate
from gep.ledger.statements import statement
from tests.ledger.market_setup import EMISSION, build


@pytest.fixture
def mk(new_target, keyset):
    env = build(new_target(), keyset)
    yield env
    env.led.close()


def test_statement_balances_and_periods(mk, tmp_path):
    m, clk, led = mk.m, mk.clk, mk.led
    clk.advance(days=1, hours=15)  # 2026-03-03T16:00Z = 2026-03-04 00:00 in Beijing
    lst = m.create_listing(mk.k.alice, "alice", EMISSION, "2 t", "2500", closes=clk.at(days=5)).seq
    m.bid(mk.k.bob, lst, "bob", EMISSION, "1 t", "2500")  # Beijing 2026-03-04
    clk.advance(days=1)
    led.transfer(mk.k.bob, EMISSION, "0.25 t", "bob", "carol")  # Beijing 2026-03-05
    clk.advance(days=1)
    led.retire(mk.k.bob, EMISSION, "1 kg", "bob", beneficiary="<b>Licheng</b> & co")  # Beijing 2026-03-06
    st = statement(led, "bob", date(2026, 3, 4), date(2026, 3, 4))
    by = {s["instrument"]: s for s in st.summary}
    assert by["cash/CNY"]["opening"] == 50_000_000 and by["cash/CNY"]["debits"] == 250_000 and by["cash/CNY"]["closing"] == 49_750_000
    assert by[EMISSION] == {"instrument": EMISSION, "unit": "kg/yr", "opening": 0, "credits": 1000, "debits": 0, "closing": 1000,
                            "opening_display": "0 t/yr", "closing_display": "1 t/yr", "lines": 1}
    line = next(x for x in st.lines if x["instrument"] == EMISSION)
    assert (line["date"], line["type"], line["counterparty"], line["price_cny_per_unit"], line["payment_cny"]) == ("2026-03-04", "bid", "sys:market", "2500", "2500.00")
    later = statement(led, "bob", date(2026, 3, 5), date(2026, 12, 31))
    assert [(x["type"], x["amount"], x["balance"], x["counterparty"]) for x in later.lines] == [("transfer", -250, 750, "carol"),
                                                                                                ("retire", -1, 749, "sys:retirement")]
    assert {s["instrument"]: s["opening"] for s in later.summary}[EMISSION] == 1000
    assert st.head["tree_size"] == led.head()["tree_size"]
    text = render_csv(later.document()).decode("utf-8-sig")
    assert text.startswith("# account: bob\n") and "transfer" in text
    page = render_html(later.document()).decode()
    assert "&lt;b&gt;Licheng&lt;/b&gt; &amp; co" in page and "<b>Licheng" not in page
    out = tmp_path / "bob.xlsx"
    assert write_statement(later.document(), out) == "xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames == ["statement", "summary", "lines"] and wb["lines"].max_row == 3
    with pytest.raises(InputError, match="format"):
        write_statement(later.document(), tmp_path / "bob.pdf")
    with pytest.raises(UnknownAccount):
        statement(led, "nobody", date(2026, 1, 1), date(2026, 1, 2))
    with pytest.raises(InvalidRequest, match="before it starts"):
        statement(led, "bob", date(2026, 3, 5), date(2026, 3, 4))


def test_certificates_verify_offline_and_forgeries_fail(mk):
    m, led = mk.m, mk.led
    lst = m.create_listing(mk.k.alice, "alice", EMISSION, "2 t", "2500", closes=mk.clk.at(days=5)).seq
    trade = m.bid(mk.k.dave, lst, "dave", EMISSION, "1.2 t", "2500")
    retire = led.retire(mk.k.dave, EMISSION, "0.5 t", "dave", beneficiary="Langxi water works")
    ob = m.oblige(mk.reg, "alice", "emission", 2026, "1 t", mk.clk.at(days=30), pollutant="COD").seq
    surrender = m.surrender(mk.k.alice, EMISSION, "1 t", "alice", ob)
    batch = led.sign_many(mk.k.alice, [("transfer", led.transfer_fields("cash/CNY", "1 CNY", "alice", "treasury"), None) for _ in range(3)])
    paid = led.submit_many(batch)[1]
    certs = {name: certificate.issue(led, str(r.seq)) for name, r in (("trade", trade), ("retire", retire), ("surrender", surrender), ("batch", paid))}
    assert certs["trade"]["statement"]["trades"][0]["received"] == 1000
    r = certs["retire"]["statement"]
    assert (r["kind"], r["from"], r["to"], r["beneficiary"], r["display"]) == ("retirement", "dave", "sys:retirement", "Langxi water works", "0.5 t/yr")
    assert r["serials"] and sum(e - s + 1 for s, e in r["serials"]) == 500
    assert certs["surrender"]["statement"]["obligation"] == ob
    led.transfer(mk.k.bob, "cash/CNY", "1 CNY", "bob", "carol")  # the log grows: certificates drawn earlier stay valid
    for doc in certs.values():
        out = certificate.verify(json.loads(json.dumps(doc)), registry=mk.reg.public)
        assert out["ok"] and out["registry_pinned"]
    assert not certificate.verify(certs["trade"])["registry_pinned"]
    assert certificate.verify(certs["trade"], published=[("published", led.head())])["registry_pinned"]

    def forged(edit, match):
        doc = copy.deepcopy(certs["trade"])
        edit(doc)
        with pytest.raises(AuditFailed, match=match):
            certificate.verify(doc)

    forged(lambda d: d.update(record=d["record"].replace('"payment":300000', '"payment":1')), "leaf hash|canonical")
    forged(lambda d: d.update(leaf_hash="00" * 32), "leaf hash")
    forged(lambda d: d["proof"]["path"].__setitem__(0, "00" * 32), "inclusion proof does not lead")
    forged(lambda d: d["head"].update(root_hash="11" * 32), "inclusion proof does not lead|signature")
    forged(lambda d: d["statement"]["trades"][0].update(buyer="mallory"), "statement differs")
    forged(lambda d: d.update(format="x"), "not a ledger certificate")

    other = generate()  # a whole certificate re-signed with another key: caught by pinning
    doc = copy.deepcopy(certs["trade"])
    from gep.ledger.heads import sign_head

    doc["head"] = sign_head(doc["head"]["ledger"], doc["head"]["tree_size"], doc["head"]["root_hash"], doc["head"]["timestamp"], other)
    doc["registry"] = other.public
    assert certificate.verify(doc)["ok"]  # consistent with *some* key ...
    with pytest.raises(AuditFailed, match="not the pinned key"):
        certificate.verify(doc, registry=mk.reg.public)  # ... but not the registry's
    with pytest.raises(AuditFailed, match="not signed by the certificate's registry key"):
        certificate.verify(doc, published=[("published head", led.head())])
    with pytest.raises(InvalidRequest, match="certificates are of"):
        certificate.issue(led, "open-bob")
