"""The market through the API: listings, bids (fixed, ascending, sealed), settlement, trades, the index, statements.

Every market operation is a signed ledger request posted to ``/api/v1/ledger/requests``
(built here with the client, i.e. with :class:`gep.ledger.market.Market`'s own request
code); the market's reads answer what anyone may see, a sealed bid only as a commitment
until it is revealed. The ledger's clock is moved by hand through the auction windows.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from gep.ledger.certificate import verify
from gep.server.client import Client, ServerError
from tests.server.conftest import INS


def _post(cl: Client, signed) -> dict:
    return cl.submit(signed.as_dict())


def test_fixed_price_listing_filled_at_once_then_trades_index_and_certificate(server):
    s = server()
    cl, k = Client(http=s.client), s.keys
    m = cl.market()
    lst = _post(cl, m.listing_request(k.alice, "alice", INS, "2 t", "1200", closes=s.clock.at(days=7)))
    assert lst["status"] == "created"
    board = s.client.get("/api/v1/market/listings", params={"status": "open"}).json()
    assert [b["id"] for b in board] == [lst["seq"]] and board[0]["display"]["remaining"] == "2 t/yr"
    bid = _post(cl, m.bid_request(k.bob, lst["seq"], "bob", INS, "500 kg", "1200"))
    trade = bid["record"]["effects"]["trades"][0]
    assert trade["seller"] == "alice" and trade["buyer"] == "bob" and trade["payment"] == 60_000  # 0.5 t × 1200 CNY = 600.00 CNY in fen
    trades = s.client.get("/api/v1/market/trades", params={"instrument": INS}).json()
    assert len(trades) == 1 and trades[0]["display"]["payment"] == "600.00 CNY" and trades[0]["seq"] == bid["seq"]
    idx = s.client.get("/api/v1/market/index", params={"instrument": INS, "period": "day"}).json()
    assert len(idx) == 1 and Decimal(idx[0]["vwap"]) == Decimal("1200") and idx[0]["open"] == idx[0]["close"] == "1200"
    book = s.client.get(f"/api/v1/market/listings/{lst['seq']}").json()
    assert book["phase"] == "bidding" and book["display"]["remaining"] == "1.5 t/yr"
    cert = s.client.get(f"/api/v1/ledger/transactions/{bid['seq']}/certificate").json()
    res = verify(cert, registry=k.registry.public)
    assert res["statement"]["kind"] == "trade" and res["statement"]["trades"][0]["payment"] == 60_000
    assert s.client.get("/api/v1/market/index", params={"instrument": INS, "period": "hour"}).status_code == 400
    assert s.client.get("/api/v1/market/listings/999").status_code == 404


def test_ascending_auction_settles_after_the_close_to_the_best_bid(server):
    s = server()
    cl, k = Client(http=s.client), s.keys
    m = cl.market()
    lst = _post(cl, m.listing_request(k.alice, "alice", INS, "1 t", "1000", closes=s.clock.at(hours=1), mechanism="ascending",
                                      increment="50", settle_by=s.clock.at(days=1)))["seq"]
    _post(cl, m.bid_request(k.bob, lst, "bob", INS, "1 t", "1000"))
    book = s.client.get(f"/api/v1/market/listings/{lst}").json()
    assert book["minimum_bid"] == "1050"
    with pytest.raises(ServerError) as e:  # below the minimum next bid: refused, nothing recorded
        _post(cl, m.bid_request(k.carol, lst, "carol", INS, "1 t", "1020"))
    assert e.value.status in (400, 422)
    _post(cl, m.bid_request(k.carol, lst, "carol", INS, "1 t", "1100"))
    with pytest.raises(ServerError):  # no settlement before the close
        _post(cl, m.settle_request(k.alice, lst))
    s.clock.advance(hours=2)
    assert s.client.get(f"/api/v1/market/listings/{lst}").json()["phase"] == "awaiting settlement"
    settled = _post(cl, m.settle_request(k.alice, lst))
    (trade,) = settled["record"]["effects"]["trades"]
    assert trade["buyer"] == "carol" and trade["price"] == "1100" and trade["payment"] == 110_000
    assert s.client.get(f"/api/v1/market/listings/{lst}").json()["status"] == "settled"


def test_sealed_bids_stay_commitments_until_revealed(server):
    s = server()
    cl, k = Client(http=s.client), s.keys
    m = cl.market()
    lst = _post(cl, m.listing_request(k.alice, "alice", INS, "1 t", "900", closes=s.clock.at(hours=1), mechanism="sealed",
                                      reveal_until=s.clock.at(hours=2), settle_by=s.clock.at(days=1)))["seq"]
    signed, opening = m.commit_request(k.bob, lst, "bob", INS, "1 t", "1250", escrow="2000 CNY")
    commit = _post(cl, signed)["seq"]
    book = s.client.get(f"/api/v1/market/listings/{lst}").json()
    assert book["bids"][0]["status"] == "sealed" and "price" not in book["bids"][0] and "1250" not in str(book)
    s.clock.advance(minutes=90)
    _post(cl, m.reveal_request(k.bob, opening, commit))
    s.clock.advance(hours=1)
    (trade,) = _post(cl, m.settle_request(k.alice, lst))["record"]["effects"]["trades"]
    assert trade["buyer"] == "bob" and trade["price"] in ("1250", "900")  # the mechanism's clearing rule (docs/market.md)


def test_statements_are_the_owners(server):
    s = server(ledger_access="owners")
    from gep.server.auth import sign_read

    day = s.clock()[:10]
    path = "/api/v1/market/statements/bob"
    query = f"from={day}&to={day}"
    assert s.client.get(f"{path}?{query}").status_code == 401
    assert s.client.get(f"{path}?{query}", headers={"Authorization": sign_read(s.keys.carol, "GET", path, query)}).status_code == 403
    ok = s.client.get(f"{path}?{query}", headers={"Authorization": sign_read(s.keys.bob, "GET", path, query)})
    assert ok.status_code == 200 and ok.json()["account"] == "bob" and ok.json()["tree_size"] == s.size
    assert {r["instrument"] for r in ok.json()["summary"]} == {INS, "cash/CNY"}
    q2 = query + "&format=csv"
    csv = s.client.get(f"{path}?{q2}", headers={"Authorization": sign_read(s.keys.bob, "GET", path, q2)})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv") and INS in csv.text
    assert s.client.get("/api/v1/market/listings").status_code == 200  # market data stays public


def test_obligations_and_surrender_through_the_api(server):
    """The registry sets an obligation; bob surrenders credits against it; the API shows it met."""
    s = server()
    cl, k = Client(http=s.client), s.keys
    m = cl.market()
    ob = _post(cl, m.oblige_request(k.registry, "bob", "capacity", 2024, "500 kg", s.clock.at(days=30), pollutant="COD"))["seq"]
    rows = s.client.get("/api/v1/market/obligations", params={"account": "bob"}).json()
    assert [(r["id"], r["status"], r["shortfall"]) for r in rows] == [(ob, "open", 500)]
    _post(cl, m.surrender_request(k.bob, INS, "500 kg", "bob", ob))
    (row,) = s.client.get("/api/v1/market/obligations", params={"account": "bob"}).json()
    assert row["status"] == "met" and row["shortfall"] == 0
    assert s.client.get("/api/v1/market/obligations", params={"account": "nobody"}).status_code == 404
