"""The market's rules on SQLite and PostgreSQL: cash, allocated rights, expiry, zones and ratios, every mechanism, compliance.

Every refusal leaves the ledger unchanged (same signed head); every scenario ends with a full
``verify`` (replay of every market record, escrow invariant, table comparison).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gep.ledger import rules
from gep.ledger.errors import InsufficientBalance, InvalidAmount, InvalidRequest, LedgerError, NotAuthorised, OverIssuance, UnitMismatch
from gep.ledger.market import Market
from gep.ledger.model import normalise_decimal
from gep.ledger.verify import verify_ledger
from tests.ledger.market_setup import EMISSION, ENERGY, balance, build


CASH = "cash/CNY"


def refused(env, exc, fn, *args, match=None, **kw):
    """``fn`` is refused with ``exc`` and the ledger keeps its head."""
    head = env.led.head()
    with pytest.raises(exc, match=match):
        fn(*args, **kw)
    assert env.led.head() == head


def listing(env, key, account, quantity, price, **kw):
    kw.setdefault("closes", env.clk.at(days=2))
    return env.m.create_listing(key, account, kw.pop("instrument", EMISSION), quantity, price, **kw).seq


def fen(price: str, quantity: int) -> int:
    """What ``quantity`` kg (kgce) costs at ``price`` CNY per t (tce), to the fen, half up."""
    return int((Decimal(price) * quantity / 1000 * 100).to_integral_value(rounding=ROUND_HALF_UP))


def fill_in_parts(env, price: str, lots: list[int]) -> list[dict]:
    """alice lists ``sum(lots)`` kgce of ENERGY at ``price``; bob buys it in ``lots`` (one signed batch); the trades."""
    lst = listing(env, env.k.alice, "alice", sum(lots), price, instrument=ENERGY)
    specs = [("bid", {"listing": lst, "account": "bob", "instrument": ENERGY, "quantity": q, "price": price}, None) for q in lots]
    env.led.submit_many(env.led.sign_many(env.k.bob, specs))
    return [t for t in env.m.trades(account="alice") if t["listing"] == lst]


# --------------------------------------------------------------------------- cash and allocation


def test_setup_fee_and_cash(mk):
    led = mk.led
    assert balance(led, "alice", EMISSION) == 20_000 and balance(led, "alice", ENERGY) == 1_000_000
    assert balance(led, "treasury", CASH) == 200_000 * 100  # 20 t × 2000 CNY/(t·yr) × 5 yr
    assert balance(led, "alice", CASH) == 100_000 * 100
    assert balance(led, "sys:issuance", CASH) == -sum(r["amount"] for r in led.balances(instrument=CASH) if r["account"] != "sys:issuance")
    alloc = led.find("alloc-em")["record"]["effects"]
    assert alloc["fee"] == {"fen": 20_000_000, "payee": "treasury", "cny_per_unit_year": "2000", "years": 5}
    assert [i["instrument"] for i in mk.m.instruments()] == [EMISSION, ENERGY]


def test_cash_moves_between_counties_and_back_to_the_bank(mk):
    m, led = mk.m, mk.led
    r = m.pay(mk.k.bob, "bob", "dave", "1234.56 CNY", memo="eco-compensation 2026 Q1")  # across zones: cash is not bound to a place
    assert r.record["effects"]["serials"] == [] and balance(led, "dave", CASH) == 50_123_456
    m.withdraw(mk.reg, "dave", "123456 fen", reference="bank-out-1")
    assert balance(led, "dave", CASH) == 50_000_000
    refused(mk, InsufficientBalance, m.withdraw, mk.reg, "dave", "500001 CNY")
    refused(mk, InvalidAmount, m.pay, mk.k.bob, "bob", "dave", "0.001 CNY")  # not a whole fen
    refused(mk, UnitMismatch, m.pay, mk.k.bob, "bob", "dave", "3 t")
    refused(mk, NotAuthorised, m.pay, mk.k.bob, "carol", "dave", "1 CNY")  # bob does not own carol
    refused(mk, InvalidRequest, led.transfer, mk.k.bob, CASH, "1 CNY", "bob", "dave", price="5")
    refused(mk, InvalidRequest, led.retire, mk.k.bob, CASH, "1 CNY", "bob")
    refused(mk, NotAuthorised, m.deposit, mk.k.bob, "bob", "1 CNY")  # only the operator records deposits
    assert verify_ledger(led)["ok"]


def test_allocation_within_total_and_paid_use_fee(mk):
    m = mk.m
    refused(mk, OverIssuance, m.allocate, mk.reg, EMISSION, "80.001 t", "bob")
    refused(mk, InsufficientBalance, m.allocate, mk.reg, EMISSION, "60 t", "bob")  # fee 600000 CNY > bob's 500000: nothing allocated
    m.allocate(mk.reg, EMISSION, "1.5 t", "bob")
    assert balance(mk.led, "bob", CASH) == (500_000 - 15_000) * 100
    refused(mk, InvalidRequest, m.define, mk.reg, EMISSION, "1 t", "2026-01-01", "2030-12-31", "again")  # terms are fixed once
    refused(mk, InvalidRequest, m.define, mk.reg, "emission/4/cod/2026", "1 t", "2026-01-01", "2030-12-31", "x")  # canonical spelling
    refused(mk, InvalidRequest, m.define, mk.reg, "emission/4/TP/2026", "1 t", "2027-01-01", "2030-12-31", "x")  # year outside validity
    refused(mk, InvalidRequest, m.define, mk.reg, "emission/4/TP/2031", "1 t", "2031-01-01", "2030-12-31", "x")  # empty period
    refused(mk, InvalidRequest, m.define, mk.reg, "capacity/4/TP/2026", "1 t", "2026-01-01", "2030-12-31", "x")  # issued, not defined
    issue = mk.led.sign(mk.reg, "issue", {"instrument": EMISSION, "amount": 1, "to": "bob", "evidence": {"manifest_sha256": "0" * 64, "selector": {}}})
    refused(mk, InvalidRequest, mk.led.submit, issue, match="not issued against an engine run")  # allocated, not issued
    assert verify_ledger(mk.led)["ok"]


def test_expired_rights_cannot_move(mk):
    m, led, clk = mk.m, mk.led, mk.clk
    lst = listing(mk, mk.k.alice, "alice", "100 tce", "600", instrument=ENERGY, closes=clk.at(days=600))
    ob = m.oblige(mk.reg, "alice", "energy", 2026, "10 tce", clk.at(days=700)).seq
    clk.advance(days=500)  # past 2027-06-30 (Beijing)
    refused(mk, InvalidRequest, led.transfer, mk.k.alice, ENERGY, "1 tce", "alice", "bob", match="expired")
    refused(mk, InvalidRequest, led.retire, mk.k.alice, ENERGY, "1 tce", "alice", match="expired")
    refused(mk, InvalidRequest, m.create_listing, mk.k.alice, "alice", ENERGY, "1 tce", "600", closes=clk.at(days=1), match="expired")
    refused(mk, InvalidRequest, m.bid, mk.k.dave, lst, "dave", ENERGY, "10 tce", "600", match="expired")
    refused(mk, InvalidRequest, m.surrender, mk.k.alice, ENERGY, "10 tce", "alice", ob, match="expired")
    refused(mk, InvalidRequest, m.allocate, mk.reg, ENERGY, "1 tce", "bob", match="expired")
    m.delist(mk.k.alice, lst)  # the listed quantity returns (a return is not a trade)
    led.cancel(mk.reg, ENERGY, "1000 tce", "alice", memo="expired quota cleared")  # the registry may still cancel
    assert balance(led, "alice", ENERGY) == 0
    assert m.obligations("alice")[0]["status"] == "open"
    clk.advance(days=300)
    assert m.obligations("alice", at=mk.led.clock())[0]["status"] == "short"
    assert verify_ledger(led)["ok"]


# --------------------------------------------------------------------------- zones and ratios


def test_zone_bound_rights_move_between_zones_only_through_the_market(mk):
    led, m = mk.led, mk.m
    refused(mk, InvalidRequest, led.transfer, mk.k.alice, EMISSION, "1 t", "alice", "bob", match="bound to its place")
    m.allocate(mk.reg, EMISSION, "1 t", "carol")
    led.transfer(mk.k.carol, EMISSION, "0.5 t", "carol", "bob")  # same zone: a plain transfer
    # upstream 4 → downstream 1: 1:1
    lst = listing(mk, mk.k.alice, "alice", "3 t", "2400")
    t = m.bid(mk.k.bob, lst, "bob", EMISSION, "1 t", "2400").record["effects"]["trades"][0]
    assert (t["quantity"], t["received"], t["ratio"], t["from_zone"], t["to_zone"], t["payment"]) == (1000, 1000, "1", "4", "1", 240_000)
    assert t["ratio_table"] == "market-2026-1.0.0"
    # 4 → Langxi county: 1:1.2, the rest cancelled
    t = m.bid(mk.k.dave, lst, "dave", EMISSION, "1.201 t", "2400").record["effects"]["trades"][0]
    assert (t["quantity"], t["received"], t["ratio"]) == (1201, 1000, "1.2")
    assert balance(led, "sys:cancellation", EMISSION) == 201
    # downstream 1 → upstream 4: forbidden, refused at the bid
    back = listing(mk, mk.k.bob, "bob", "0.5 t", "2400")
    refused(mk, InvalidRequest, m.bid, mk.k.alice, back, "alice", EMISSION, "0.5 t", "2400", match="forbidden")
    assert verify_ledger(led)["ok"]


def test_ratio_table_with_a_loop_is_refused_and_a_new_version_applies(mk):
    from gep.io.ledger_files import read_ratio_file
    from gep.ledger.ratios import table as ratio_table
    from tests.ledger.market_setup import RATIOS

    table = ratio_table(read_ratio_file(RATIOS))
    loop = dict(table, version="loop", rows=[r for r in table["rows"] if (r["from"], r["to"]) != ("1", "4")] + [
        {"from": "1", "to": "4", "ratio": "1", "basis": "a mistake"}])
    refused(mk, InvalidRequest, mk.m.publish_ratios, mk.reg, loop, match=r"loop (4 → 1 → 4|1 → 4 → 1)")
    refused(mk, InvalidRequest, mk.m.publish_ratios, mk.reg, table, match="already in force")
    cheap = dict(table, version="v2", rows=[{"from": "4", "to": "langxi", "ratio": "1.5", "basis": "new agreement"}])
    lst = listing(mk, mk.k.alice, "alice", "3 t", "2400")
    mk.m.publish_ratios(mk.reg, cheap)
    t = mk.m.bid(mk.k.dave, lst, "dave", EMISSION, "1.5 t", "2400").record["effects"]["trades"][0]
    assert (t["received"], t["ratio"], t["ratio_table"]) == (1000, "1.5", "v2")
    refused(mk, InvalidRequest, mk.m.bid, mk.k.bob, lst, "bob", EMISSION, "1 t", "2400", match="not listed")  # 4 → 1 not in v2
    assert verify_ledger(mk.led)["ok"]


# --------------------------------------------------------------------------- fixed, negotiated, buy listings


def test_fixed_listing_fills_in_part_and_returns_the_rest(mk):
    m, led, clk = mk.m, mk.led, mk.clk
    lst = listing(mk, mk.k.alice, "alice", "3 t", "2400", min_lot="500 kg", opens=clk.at(hours=1), closes=clk.at(days=1))
    assert balance(led, "alice", EMISSION) == 17_000 and balance(led, "sys:market", EMISSION) == 3_000
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", EMISSION, "1 t", "2400", match="from")  # before it opens
    clk.advance(hours=2)
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", EMISSION, "1 t", "2300", match="trades at 2400")
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", EMISSION, "400 kg", "2400", match="minimum lot")
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", "emission/4/COD/2027", "1 t", "2400", match="offers")  # foreign instrument
    refused(mk, InvalidRequest, m.bid, mk.k.alice, lst, "alice", EMISSION, "1 t", "2400", match="own listing")
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", EMISSION, "3.5 t", "2400", match="left")
    refused(mk, NotAuthorised, m.bid, mk.k.carol, lst, "bob", EMISSION, "1 t", "2400")
    m.withdraw(mk.reg, "carol", "498000 CNY")
    refused(mk, InsufficientBalance, m.bid, mk.k.carol, lst, "carol", EMISSION, "1 t", "2400", match="cash")
    m.bid(mk.k.bob, lst, "bob", EMISSION, "1 t", "2400")
    m.bid(mk.k.carol, lst, "carol", EMISSION, "0.5 t", "2400")
    assert balance(led, "alice", CASH) == (100_000 + 3_600) * 100
    refused(mk, InvalidRequest, m.settle, mk.reg, lst, match="before")
    clk.advance(days=1)
    refused(mk, InvalidRequest, m.bid, mk.k.bob, lst, "bob", EMISSION, "1 t", "2400", match="after the window")
    m.settle(mk.k.alice, lst)  # the lister may close it too
    assert balance(led, "alice", EMISSION) == 18_500 and balance(led, "sys:market", EMISSION) == 0
    assert [x["status"] for x in m.listings()] == ["closed"]
    refused(mk, InvalidRequest, m.settle, mk.reg, lst, match="closed")
    assert verify_ledger(led)["ok"]


def test_negotiated_deal_and_reserve_purchase(mk):
    m, led = mk.m, mk.led
    deal = listing(mk, mk.k.alice, "alice", "2 t", "2200", mechanism="negotiated", counterparty="dave")
    refused(mk, NotAuthorised, m.bid, mk.k.bob, deal, "bob", EMISSION, "2 t", "2200", match="negotiated deal with dave")
    refused(mk, InvalidRequest, m.bid, mk.k.dave, deal, "dave", EMISSION, "1 t", "2200", match="minimum lot")
    t = m.bid(mk.k.dave, deal, "dave", EMISSION, "2 t", "2200").record["effects"]["trades"][0]
    assert (t["mechanism"], t["received"], t["payment"]) == ("negotiated", 1666, 440_000)
    assert m.listings(status="filled")[0]["id"] == deal
    # the government reserve buys (收储) at a posted price: sellers fill it
    buy = m.create_listing(mk.k.gov, "reserve", EMISSION, "3 t", "1999.99", side="buy", closes=mk.clk.at(days=3)).seq
    escrow = 599_997  # round_half_up(1999.99 × 3) fen
    assert balance(led, "sys:market", CASH) == escrow
    fills = [m.bid(mk.k.alice, buy, "alice", EMISSION, q, "1999.99").record["effects"]["trades"][0] for q in ("1 kg", "1 kg", "1 kg")]
    assert [f["payment"] for f in fills] == [200, 200, 200] and all(f["reserve"] == "purchase" for f in fills)  # 199.999 / 399.998 / 599.997 fen
    m.bid(mk.k.alice, buy, "alice", EMISSION, "2.997 t", "1999.99")
    assert sum(t["payment"] for t in m.trades(account="reserve")) == escrow and balance(led, "sys:market", CASH) == 0
    assert m.listings(status="filled")[-1]["id"] == buy
    refused(mk, InvalidRequest, m.create_listing, mk.k.gov, "reserve", EMISSION, "1 t", "2000", side="buy", mechanism="ascending",
            increment="1", closes=mk.clk.at(days=1), settle_by=mk.clk.at(days=2), match="buy listing")
    # ... and sells from its reserve (出让): a reserve sale
    sale = m.create_listing(mk.k.gov, "reserve", EMISSION, "1 t", "2100", closes=mk.clk.at(days=3)).seq
    t = m.bid(mk.k.carol, sale, "carol", EMISSION, "1 t", "2100").record["effects"]["trades"][0]
    assert (t["seller"], t["reserve"], t["received"]) == ("reserve", "sale", 1000)
    assert verify_ledger(led)["ok"]


def test_many_small_fills_of_a_sell_listing_pay_its_price_times_quantity(mk):
    """1 tce at 14.40 CNY/tce bought in 1000 fills of 1 kgce pays 14.40 CNY, not 1000 × round(1.44 fen) = 10.00 CNY."""
    alice, bob = balance(mk.led, "alice", CASH), balance(mk.led, "bob", CASH)
    trades = fill_in_parts(mk, "14.4", [1] * 1000)
    assert len(trades) == 1000 and {t["payment"] for t in trades} == {1, 2}  # each within a fen of 1.44 fen
    assert sum(t["payment"] for t in trades) == 1440
    assert balance(mk.led, "alice", CASH) - alice == 1440 and bob - balance(mk.led, "bob", CASH) == 1440
    assert verify_ledger(mk.led)["ok"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cents=st.integers(1000, 99_999), lots=st.lists(st.integers(1, 2000), min_size=1, max_size=12))
def test_fills_of_any_sizes_add_up_to_the_payment_of_the_whole(mk, cents, lots):
    price = str(normalise_decimal(Decimal(cents) / 100))  # 10.00 .. 999.99 CNY/tce: every kgce costs at least a fen
    before = balance(mk.led, "alice", CASH)
    trades = fill_in_parts(mk, price, lots)
    assert [t["quantity"] for t in trades] == lots
    assert sum(t["payment"] for t in trades) == balance(mk.led, "alice", CASH) - before == fen(price, sum(lots))
    assert all(abs(t["payment"] - Decimal(price) * t["quantity"] / 10) < 1 for t in trades)  # each fill within a fen of its price


def test_a_ledger_made_before_cumulative_fills_is_still_decided_and_verified_as_it_was(new_target, keyset, monkeypatch):
    """A genesis stating the earlier rounding (no ``fills``): its sell fills were each rounded, and replay agrees."""
    monkeypatch.setattr(rules, "ROUNDING", rules.EARLIER_ROUNDING[0])
    env = build(new_target(), keyset)
    monkeypatch.undo()
    assert env.led.history(limit=None)[0]["record"]["request"]["params"]["rounding"] == rules.EARLIER_ROUNDING[0]
    trades = fill_in_parts(env, "14.4", [1] * 10)
    assert [t["payment"] for t in trades] == [1] * 10
    assert verify_ledger(env.led)["ok"]
    env.led.close()


# --------------------------------------------------------------------------- auctions


def test_ascending_auction(mk):
    m, led, clk = mk.m, mk.led, mk.clk
    auc = listing(mk, mk.k.alice, "alice", "2 t", "2000", mechanism="ascending", increment="50", closes=clk.at(days=1), settle_by=clk.at(days=3))
    refused(mk, InvalidRequest, m.bid, mk.k.bob, auc, "bob", EMISSION, "2 t", "1999", match="below the reserve")
    refused(mk, InvalidRequest, m.bid, mk.k.bob, auc, "bob", EMISSION, "1 t", "2000", match="one lot")
    m.bid(mk.k.bob, auc, "bob", EMISSION, "2 t", "2000")
    assert balance(led, "bob", CASH) == (500_000 - 4_000) * 100
    refused(mk, InvalidRequest, m.bid, mk.k.carol, auc, "carol", EMISSION, "2 t", "2049.99", match="below the best bid 2000 plus the minimum increment 50")
    m.bid(mk.k.carol, auc, "carol", EMISSION, "2 t", "2050")
    assert balance(led, "bob", CASH) == 500_000 * 100  # outbid: refunded at once
    assert m.book(auc)["minimum_bid"] == "2100"
    refused(mk, NotAuthorised, m.delist, mk.k.alice, auc, match="only the registry")
    refused(mk, InvalidRequest, m.settle, mk.reg, auc, match="before")
    clk.advance(days=1)
    res = m.settle(mk.reg, auc).record["effects"]
    assert res["settled"]["bids"] == [{"bid": res["settled"]["bids"][0]["bid"], "status": "won", "quantity": 2000, "payment": 410_000}]
    assert balance(led, "carol", EMISSION) == 2000 and balance(led, "alice", CASH) == (100_000 + 4_100) * 100
    # an auction not settled in time: the registry cancels it, refunding the bid
    late = listing(mk, mk.k.alice, "alice", "1 t", "2000", mechanism="ascending", increment="10", closes=clk.at(days=1), settle_by=clk.at(days=2))
    m.bid(mk.k.bob, late, "bob", EMISSION, "1 t", "2000")
    clk.advance(days=3)
    refused(mk, InvalidRequest, m.settle, mk.reg, late, match="had to settle")
    m.delist(mk.reg, late)
    assert balance(led, "bob", CASH) == 500_000 * 100 and balance(led, "sys:market", CASH) == 0
    assert verify_ledger(led)["ok"]


def test_sealed_bid_auction(mk):
    m, led, clk = mk.m, mk.led, mk.clk
    auc = listing(mk, mk.k.alice, "alice", "2 t", "1000", mechanism="sealed", increment="10", min_lot="500 kg", bond="100 CNY",
                  closes=clk.at(days=1), reveal_until=clk.at(days=2), settle_by=clk.at(days=5))
    refused(mk, InvalidRequest, m.commit, mk.k.bob, auc, "bob", EMISSION, "1 t", "1200", "50 CNY", match="bond")
    rb, ob = m.commit(mk.k.bob, auc, "bob", EMISSION, "1.5 t", "1200", "5000 CNY")
    rc, oc = m.commit(mk.k.carol, auc, "carol", EMISSION, "1 t", "1300", "1000 CNY")  # escrow too small for its bid
    rd, od = m.commit(mk.k.dave, auc, "dave", EMISSION, "1 t", "1250", "5000 CNY")
    rr, orr = m.commit(mk.k.gov, auc, "reserve", EMISSION, "1 t", "1500", "3000 CNY")  # never revealed
    book = m.book(auc, at=clk())
    assert all(b["status"] == "sealed" and "price" not in b and "quantity" not in b for b in book["bids"]) and book["phase"] == "bidding"
    refused(mk, InvalidRequest, m.reveal, mk.k.bob, ob, rb.seq, match="from")  # before the close
    refused(mk, InvalidRequest, m.bid, mk.k.bob, auc, "bob", EMISSION, "1 t", "1200", match="sealed-bid")
    clk.advance(days=1, hours=1)
    refused(mk, InvalidRequest, m.commit, mk.k.bob, auc, "bob", EMISSION, "1 t", "1200", "5000 CNY", match="after the window")
    refused(mk, InvalidRequest, m.reveal, mk.k.bob, {**ob.as_dict(), "price": "1210"}, rb.seq, match="does not match")
    refused(mk, NotAuthorised, m.reveal, mk.k.carol, ob, rb.seq)
    refused(mk, InvalidRequest, m.reveal, mk.k.carol, oc, rc.seq, match="more than its escrow")
    m.reveal(mk.k.bob, ob, rb.seq)
    m.reveal(mk.k.dave, od, rd.seq)
    refused(mk, InvalidRequest, m.reveal, mk.k.bob, ob, rb.seq, match="already revealed")
    refused(mk, InvalidRequest, m.settle, mk.reg, auc, match="before")
    clk.advance(days=1)
    out = m.settle(mk.reg, auc).record["effects"]
    status = {b["bid"]: b for b in out["settled"]["bids"]}
    assert status[rd.seq] == {"bid": rd.seq, "status": "won", "quantity": 1000, "payment": 125_000}  # dave first: the highest revealed price
    assert status[rb.seq] == {"bid": rb.seq, "status": "won", "quantity": 1000, "payment": 120_000}  # bob: the rest, in part
    assert status[rc.seq]["status"] == "forfeited" and status[rr.seq] == {"bid": rr.seq, "status": "forfeited", "forfeit": 10_000}
    assert [t["received"] for t in out["trades"]] == [833, 1000]  # dave in Langxi at 1:1.2, bob downstream at 1:1
    assert balance(led, "alice", CASH) == (100_000 + 1_250 + 1_200 + 200) * 100  # payments and two forfeited bonds
    assert balance(led, "sys:market", CASH) == 0 and balance(led, "sys:market", EMISSION) == 0
    assert verify_ledger(led)["ok"]


def _sealed_bids(mk, reserve: str, tick: str, bob: str, carol: str, escrow: str) -> tuple:
    """A sealed-bid auction of alice's 1 t (closes in a day, reveals the next), sealed bids of 1 t by bob and carol at their
    prices; the clock moved into the reveal period. Returns the listing and the (commit, opening) of each bid."""
    clk = mk.clk
    auc = listing(mk, mk.k.alice, "alice", "1 t", reserve, mechanism="sealed", increment=tick, closes=clk.at(days=1), reveal_until=clk.at(days=2),
                  settle_by=clk.at(days=3))
    bids = [mk.m.commit(key, auc, name, EMISSION, "1 t", price, escrow) for key, name, price in ((mk.k.bob, "bob", bob), (mk.k.carol, "carol", carol))]
    clk.advance(days=1)
    return auc, *bids


def test_sealed_reveal_checks_price_tick_and_window(mk):
    m, clk = mk.m, mk.clk
    auc, (r, o), (r2, o2) = _sealed_bids(mk, "1000", "10", "1005", "1020", "2000 CNY")
    refused(mk, InvalidRequest, m.reveal, mk.k.bob, o, r.seq, match="increments")
    clk.advance(days=1)
    refused(mk, InvalidRequest, m.reveal, mk.k.carol, o2, r2.seq, match="after the window")
    m.settle(mk.reg, auc)
    assert balance(mk.led, "alice", EMISSION) == 20_000 and m.trades() == []  # nobody revealed in time: unsold, escrows back (no bond)
    assert balance(mk.led, "bob", CASH) == 500_000 * 100
    assert verify_ledger(mk.led)["ok"]


def test_a_tiny_tick_is_checked_exactly(mk):
    """A tick of 1E-30 over a reserve of 2000: a bid of 2400 is 4E+32 whole ticks up. In Python's default 28 digits the
    remainder raised decimal.InvalidOperation, so no bid could be revealed and every bond went to the lister (red team, session 8)."""
    m, clk = mk.m, mk.clk
    _, (r, o), (r2, o2) = _sealed_bids(mk, "2000", "1E-30", "2400", "2400.0000000000000000000000000000001", "5000 CNY")
    assert m.reveal(mk.k.bob, o, r.seq).status == "created"
    refused(mk, InvalidRequest, m.reveal, mk.k.carol, o2, r2.seq, match="increments")  # a tenth of a tick off
    asc = listing(mk, mk.k.alice, "alice", "1 t", "2000", mechanism="ascending", increment="1E-30", closes=clk.at(days=1), settle_by=clk.at(days=2))
    m.bid(mk.k.bob, asc, "bob", EMISSION, "1 t", "2000")
    refused(mk, InvalidRequest, m.bid, mk.k.carol, asc, "carol", EMISSION, "1 t", "2000")  # 2000 + 1E-30 is not 2000
    m.bid(mk.k.carol, asc, "carol", EMISSION, "1 t", "2000.000000000000000000000000000001")
    assert verify_ledger(mk.led)["ok"]


def test_a_payment_is_rounded_once_to_the_fen():
    from decimal import Decimal

    from gep.ledger.cash import payment

    # just under and just over half a fen: rounded to Python's 28 digits first, both were exactly half a fen, rounded up
    assert payment(Decimal("0.004999999999999999999999999999999"), 1, 1) == 0
    assert payment(Decimal("0.005000000000000000000000000000001"), 1, 1) == 1


def test_lister_may_withdraw_an_auction_before_its_first_bid(mk):
    auc = listing(mk, mk.k.alice, "alice", "1 t", "1000", mechanism="ascending", increment="1", closes=mk.clk.at(days=1), settle_by=mk.clk.at(days=2))
    refused(mk, NotAuthorised, mk.m.delist, mk.k.bob, auc)
    mk.m.delist(mk.k.alice, auc)
    assert balance(mk.led, "alice", EMISSION) == 20_000 and mk.m.listings()[0]["status"] == "cancelled"
    refused(mk, InvalidRequest, mk.m.bid, mk.k.bob, auc, "bob", EMISSION, "1 t", "1000", match="cancelled")


@pytest.mark.parametrize("bad, match", [
    ({"mechanism": "dutch"}, "mechanism"), ({"side": "lend"}, "side"), ({"mechanism": "ascending"}, "increment"),
    ({"mechanism": "ascending", "increment": "5"}, "settlement deadline"), ({"mechanism": "sealed", "settle_by": "2026-03-09T00:00:00Z"}, "reveal"),
    ({"mechanism": "negotiated"}, "counterparty"), ({"min_lot": "4 t"}, "exceeds"), ({"closes": "2026-03-01T00:00:00Z"}, "before it opens"),
    ({"bond": "1 CNY"}, "takes no bond"), ({"counterparty": "bob"}, "takes no counterparty"),
])
def test_malformed_listings_are_refused(mk, bad, match):
    kw = {"closes": mk.clk.at(days=2), **bad}
    refused(mk, LedgerError, mk.m.create_listing, mk.k.alice, "alice", EMISSION, "3 t", "2400", match=match, **kw)


def test_cash_is_not_listed_and_insufficient_rights_are_not(mk):
    refused(mk, InvalidRequest, mk.m.create_listing, mk.k.alice, "alice", CASH, "3 CNY", "1", closes=mk.clk.at(days=2))
    refused(mk, InsufficientBalance, mk.m.create_listing, mk.k.alice, "alice", EMISSION, "21 t", "2400", closes=mk.clk.at(days=2))


# --------------------------------------------------------------------------- compliance


def test_obligation_met_short_and_surrender_rules(mk):
    m, clk = mk.m, mk.clk
    ob = m.oblige(mk.reg, "alice", "emission", 2026, "5 t", clk.at(days=30), pollutant="COD", source="verified discharge 2026").seq
    en = m.oblige(mk.reg, "alice", "energy", 2026, "2000 tce", clk.at(days=30), source="energy audit").seq
    refused(mk, InvalidRequest, m.oblige, mk.reg, "alice", "emission", 2026, "5 t", clk.at(days=30), match="pollutant")
    refused(mk, InvalidRequest, m.oblige, mk.reg, "alice", "energy", 2026, "5 tce", clk.at(days=-1), match="passed")
    refused(mk, InvalidRequest, m.surrender, mk.k.alice, ENERGY, "10 tce", "alice", ob, match="energy right")
    refused(mk, InvalidRequest, m.surrender, mk.k.alice, EMISSION, "6 t", "alice", ob, match="more")
    refused(mk, InvalidRequest, m.surrender, mk.k.bob, EMISSION, "1 t", "bob", ob, match="falls on alice")
    m.surrender(mk.k.alice, EMISSION, "5 t", "alice", ob)
    m.surrender(mk.k.alice, ENERGY, "1000 tce", "alice", en)
    status = {o["id"]: o for o in m.obligations(at=clk())}
    assert status[ob]["status"] == "met" and status[en]["status"] == "open" and status[en]["shortfall"] == 1_000_000
    assert balance(mk.led, "sys:retirement", EMISSION) == 5000
    clk.advance(days=31)
    refused(mk, InvalidRequest, m.surrender, mk.k.alice, EMISSION, "1 t", "alice", ob, match="due")
    status = {o["id"]: o for o in m.obligations(at=clk())}
    assert status[en]["status"] == "short" and status[ob]["status"] == "met"
    assert verify_ledger(mk.led)["ok"]


# --------------------------------------------------------------------------- audit


def test_market_records_replay_retry_and_checkpoint(mk, tmp_path):
    m, led = mk.m, mk.led
    lst = listing(mk, mk.k.alice, "alice", "3 t", "2400")
    signed = m.bid_request(mk.k.bob, lst, "bob", EMISSION, "1 t", "2400", id="bid-1")
    first = led.submit(signed)
    again = led.submit(signed)
    assert again.status == "exists" and again.seq == first.seq and balance(led, "bob", EMISSION) == 1000
    summary = verify_ledger(led, keep=True)
    assert "market escrow" in summary["checks"]
    m.bid(mk.k.carol, lst, "carol", EMISSION, "1 t", "2400")
    inc = verify_ledger(led, since=summary["checkpoint"])
    assert inc["ok"] and inc["incremental_from"] == summary["size"]
    from gep.ledger.verify import export, verify_export

    assert verify_export(export(led))["root"] == inc["root"]


def test_tampered_market_tables_are_caught(mk):
    from gep.ledger.errors import AuditFailed
    from tests.ledger.helpers import raw_execute

    lst = listing(mk, mk.k.alice, "alice", "3 t", "2400")
    mk.m.bid(mk.k.bob, lst, "bob", EMISSION, "1 t", "2400")
    target = mk.led.store.url if mk.led.store.dialect == "postgresql" else str(mk.led.store.path)
    raw_execute(target, "UPDATE market SET doc = replace(doc, '\"remaining\":2000', '\"remaining\":2500') WHERE kind = 'listing'")
    with pytest.raises(AuditFailed, match="table market differs"):
        verify_ledger(mk.led)


def test_market_without_a_ratio_table_trades_only_within_zones(new_target, keyset):
    env = build(new_target(), keyset, ratios=False)
    with env.led:
        lst = env.m.create_listing(env.k.alice, "alice", EMISSION, "1 t", "2000", closes=env.clk.at(days=1)).seq
        refused(env, InvalidRequest, env.m.bid, env.k.bob, lst, "bob", EMISSION, "1 t", "2000", match="no trading ratio table")
        assert isinstance(env.m, Market)


def test_a_leader_raises_its_own_bid_with_its_refund(mk):
    m = mk.m
    m.withdraw(mk.reg, "bob", "495500 CNY")  # bob keeps 4500 CNY
    auc = listing(mk, mk.k.alice, "alice", "2 t", "2000", mechanism="ascending", increment="100", closes=mk.clk.at(days=1), settle_by=mk.clk.at(days=2))
    m.bid(mk.k.bob, auc, "bob", EMISSION, "2 t", "2000")  # 4000 CNY in escrow, 500 left
    m.bid(mk.k.bob, auc, "bob", EMISSION, "2 t", "2200")  # needs 4400: the 4000 refunded first
    assert balance(mk.led, "bob", CASH) == 10_000 and balance(mk.led, "sys:market", CASH) == 440_000
    assert [b["status"] for b in m.book(auc)["bids"]] == ["outbid", "leading"]
