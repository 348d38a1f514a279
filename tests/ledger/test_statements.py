"""Account statements: balances by hand, Beijing dates, written as CSV, xlsx and HTML."""

from __future__ import annotations

from datetime import date

import pytest

from gep.errors import InputError
from gep.io.statements import render_csv, render_html, write_statement
from gep.ledger.errors import InvalidRequest, UnknownAccount
from gep.ledger.statements import statement
from tests.ledger.market_setup import EMISSION


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


def test_a_settlement_line_shows_only_the_trades_it_settles(mk):
    """A sealed auction of 3 t: bob wins 1 t at 2400, carol 1 t at 2300, 1 t returns unsold (red-team session 8: every
    line of the settlement showed bob's trade, the unsold lot as if bought at 2400, bob's refund as his payment)."""
    m, c, k, led = mk.m, mk.clk, mk.k, mk.led
    lst = m.create_listing(k.alice, "alice", EMISSION, "3 t", "2000", closes=c.at(hours=1), mechanism="sealed", increment="10", min_lot="500 kg",
                           bond="200 CNY", reveal_until=c.at(hours=2), settle_by=c.at(hours=3), id="l1").seq
    rb, ob = m.commit(k.bob, lst, "bob", EMISSION, "1 t", "2400", "5000 CNY", id="cb")
    rc, oc = m.commit(k.carol, lst, "carol", EMISSION, "1 t", "2300", "5000 CNY", id="cc")
    c.advance(hours=1, minutes=1)
    m.reveal(k.bob, ob, rb.seq, id="rb")
    m.reveal(k.carol, oc, rc.seq, id="rc")
    c.advance(hours=1)
    seq = m.settle(k.alice, lst, id="s").seq

    def lines(account):
        return {x["instrument"]: (x["amount"], x["price_cny_per_unit"], x["payment_cny"])
                for x in statement(led, account, date(2026, 1, 1), date(2026, 12, 31)).lines if x["seq"] == seq}

    assert lines("alice") == {"cash/CNY": (470_000, "", "4700.00"),  # paid for both lots (two prices: none shown)
                              EMISSION: (1000, "", "")}  # the unsold lot back from escrow: no trade
    assert lines("bob") == {"cash/CNY": (260_000, "", ""),  # the rest of his escrow: not his payment
                            EMISSION: (1000, "2400", "2400.00")}
    assert lines("carol")[EMISSION] == (1000, "2300", "2300.00")
