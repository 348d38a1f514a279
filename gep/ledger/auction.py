"""The market's rules: listings (挂牌), bids, auctions (竞价), negotiated deals (协议转让), settlement.

Every market operation is a signed request in the ledger's log, decided by
:func:`gep.ledger.rules.apply` like any other (so ``verify`` re-decides every
listing, bid and settlement), and every trade settles **delivery versus
payment** inside one transaction: the right moves to the buyer and its payment
to the seller in the same record, or neither does. What a listing offers and
what a bid may pay are held in escrow by the market (``sys:market``) from the
moment they are recorded, so a settlement can never fail for want of rights or
cash, and nothing listed can be sold twice.

Requests
--------
``list`` (owner of ``account``)
    ``side`` ``sell`` (the quantity moves into escrow) or ``buy`` (its price × quantity
    in cash moves into escrow: a purchase order, e.g. a government reserve purchase
    收储). ``mechanism``:

    * ``fixed`` — 挂牌 at a posted price: each bid at that price is filled at once, in
      part if ``min_lot`` allows (price and time priority: first recorded, first filled);
    * ``negotiated`` — 协议转让: like ``fixed``, but only ``counterparty`` may take it
      (default: the whole quantity);
    * ``ascending`` — open ascending auction of the whole quantity as one lot: the first
      bid at least the reserve ``price``, every later one at least the best bid plus
      ``increment``; the outbid bidder's escrow returns at once; the best bid at
      ``closes`` wins;
    * ``sealed`` — sealed-bid auction by commit and reveal: until ``closes`` bidders
      ``commit`` to ``SHA-256(listing, account, quantity, price, salt)`` with a cash escrow
      of their choice (at least ``bond``); from ``closes`` until ``reveal_until`` they
      ``reveal``; at settlement the revealed bids are filled by price, then time of
      commitment, each at its own price (pay as bid), in part down to ``min_lot``; a
      commitment never revealed forfeits its ``bond`` to the seller.

    Times (ISO 8601 with a zone) are compared with the ledger's clock
    (:mod:`gep.ledger.clock`): ``opens`` (default: when recorded) ≤ bids < ``closes``;
    auctions settle from ``closes`` (sealed: ``reveal_until``) until ``settle_by``.
``bid`` (owner of ``account``)
    On a ``fixed``, ``negotiated`` or ``ascending`` listing: ``quantity`` at ``price``, naming
    the listing's ``instrument`` (a bid for another instrument is refused). On a buy listing
    a bid is an offer to sell: the bidder's rights are delivered at once.
``commit`` / ``reveal`` (owner of the committing account)
    Sealed bids, as above.
``settle`` (the registry, or the lister)
    After the close: fills the auction, refunds the losing bids, forfeits unrevealed
    bonds, and returns what is unsold (of a ``fixed`` listing: the rest of its quantity).
``delist`` (the lister; the registry)
    Cancels an open listing and returns every escrow (no bond is forfeited). The lister
    may cancel a ``fixed``/``negotiated`` listing at any time (fills made stand) and an
    auction before its first bid; afterwards only the registry may (irregularities),
    and after ``settle_by`` it must (an auction not settled in time).

Delivery across zones follows the trading ratio in force at the trade
(:mod:`gep.ledger.ratios`): the seller delivers the quantity, the buyer receives
``floor(quantity / ratio)``, the rest is cancelled; a forbidden pair is refused at
the bid (or skipped at settlement, when a new table forbids it meanwhile). Rights
that expired meanwhile are not delivered (expired rights cannot move).

Payment is ``round_half_up(price × quantity)`` to the fen (:func:`gep.ledger.cash.payment`);
the fills of a fixed-price or negotiated listing, sell or buy, pay the differences of the
cumulative amount, so they add up to the payment of the quantity filled (a buy listing's
escrow) exactly, however the quantity is split. Prices are CNY per display unit (t/yr, t CO2e, tce) of
the quantity *delivered*.

Who sees what, and when: the log is readable by every auditor, so everything recorded
is public from its record on — a listing and its terms; an ascending auction's bids
(price, bidder); a sealed bid's commitment and escrow only (the escrow bounds the bid
from above: escrow generously), its quantity and price from its reveal; every trade.
Commit–reveal rather than encryption to the operator: the operator, and whoever reads
the database, learns nothing of a sealed bid before the bidder reveals it, and anyone
re-checks every reveal against its commitment with SHA-256 alone (no key to trust or to
leak); the cost, a bidder's option not to reveal, is priced by the forfeited bond.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, localcontext
from typing import Any

from gep.ledger import cash, clock, ratios
from gep.ledger.canonical import canonical
from gep.ledger.errors import InvalidRequest, NotAuthorised
from gep.ledger.model import CANCELLATION, CASH, MARKET, TRADABLE, Account, Instrument
from gep.ledger.rules import APPLY as REQUESTS
from gep.ledger.rules import (
    Context, Moves, State, check_price, live_instrument, need_account, need_instrument, need_owner, positive_int, ruled,
)
from gep.numbers import EXACT

__all__ = ["MECHANISMS", "SIDES", "commitment", "minimum_bid", "escrow_problems", "APPLY"]

MECHANISMS = ("fixed", "negotiated", "ascending", "sealed")
SIDES = ("sell", "buy")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: Bid statuses whose cash is in escrow.
HELD = ("leading", "sealed", "revealed")


def commitment(listing: int, account: str, quantity: int, price: str, salt: str) -> str:
    """The commitment of a sealed bid: SHA-256 (hex) of the canonical ``{account, listing, price, quantity, salt}``.

    ``salt`` is 64 hex digits of fresh randomness (256 bits), so that nobody can find the
    bid by trying prices; ``listing`` and ``account`` bind it to one bidder in one auction.
    """
    return hashlib.sha256(canonical({"listing": listing, "account": account, "quantity": quantity, "price": price, "salt": salt})).hexdigest()


def minimum_bid(doc: dict, best: dict | None) -> Decimal:
    """The lowest price an ascending auction accepts now: the reserve, or the best bid plus the increment [CNY per unit]."""
    if best is None:
        return Decimal(doc["price"])
    with localcontext(EXACT):
        return Decimal(best["price"]) + Decimal(doc["increment"])


# --------------------------------------------------------------------------- helpers


def _user(state: State, account_id: Any, role: str, request: dict | None = None) -> Account:
    acc = need_account(state, account_id, role)
    if not acc.is_user:
        raise InvalidRequest(f"{role} account must be a user account, not {acc.id}")
    if request is not None:
        need_owner(state, acc, request)
    return acc


def _listing(state: State, ref: Any) -> tuple[str, dict]:
    if not isinstance(ref, int) or isinstance(ref, bool) or ref < 1:
        raise InvalidRequest(f"listing {ref!r} must be the sequence number of a list transaction")
    doc = state.market_get("listing", str(ref))
    if doc is None:
        raise InvalidRequest(f"there is no listing {ref}", hint="see `gep ledger market listings`")
    return str(ref), doc


def _open(doc: dict, key: str) -> None:
    if doc["status"] != "open":
        raise InvalidRequest(f"listing {key} is {doc['status']}", hint="see `gep ledger market listings`")


def _window(doc: dict, key: str, ctx: Context, start: str, end: str, what: str) -> None:
    if ctx.time < doc[start]:
        raise InvalidRequest(f"listing {key} accepts {what} from {doc[start]}, not at {ctx.time}", hint="wait until it opens")
    if ctx.time >= doc[end]:
        raise InvalidRequest(f"listing {key} accepted {what} until {doc[end]}; it is {ctx.time} (after the window)",
                             hint="the window is decided by the ledger's clock")


def _time(request: dict, name: str) -> str | None:
    return clock.utc(request[name], name) if name in request else None


def _reserve(seller: Account, buyer: Account) -> str:
    """How a trade involves a government reserve account: ``sale``, ``purchase``, ``both`` or ``""``."""
    s, b = seller.role == "reserve", buyer.role == "reserve"
    return "both" if s and b else "sale" if s else "purchase" if b else ""


def _unfit(ins: Instrument, quantity: int, ratio: dict, pay: int) -> str | None:
    """Why a trade of ``quantity`` cannot be made (nothing received at the ratio, nothing paid), or None."""
    if ratios.received(quantity, ratio["ratio"]) == 0:
        return f"{ins.display(quantity)} delivered at ratio {ratio['ratio']} gives the buyer nothing"
    if pay <= 0:
        return f"{ins.display(quantity)} costs less than one fen"
    return None


def _trade(state: State, moves: Moves, ctx: Context, n: int, key: str, doc: dict, ins: Instrument, seller: Account, buyer: Account,
           quantity: int, price: str, pay: int, ratio: dict, rights_from: str, cash_from: str) -> dict:
    """Deliver ``quantity`` (less the ratio's share, cancelled) to ``buyer`` and pay ``pay`` fen to ``seller``: one DvP trade."""
    got = ratios.received(quantity, ratio["ratio"])
    moves.move(ins, rights_from, buyer.id, got)
    moves.move(ins, rights_from, CANCELLATION, quantity - got)
    moves.move(cash.cash_instrument(state, ctx.seq), cash_from, seller.id, pay)
    trade = {"listing": int(key), "instrument": ins.id, "mechanism": doc["mechanism"], "seller": seller.id, "buyer": buyer.id,
             "quantity": quantity, "received": got, "price": price, "payment": pay, "ratio": ratio["ratio"],
             "reserve": _reserve(seller, buyer), "time": ctx.time}
    state.add_trade(ctx.seq, n, trade)
    return {**trade, "ratio_table": ratio["table"], "ratio_table_seq": ratio["table_seq"], "from_zone": ratio["from_zone"], "to_zone": ratio["to_zone"]}


def _fill_payment(state: State, doc: dict, price: Decimal, quantity: int, ins: Instrument) -> int:
    """What a fill of ``quantity`` of a fixed-price listing pays [fen]: the cumulative payment after it less before it.

    ``payment(filled + quantity) − payment(filled)``, so the fills of a listing add up to the
    payment of the quantity filled, to the fen, however it is split (rounding ``fills`` =
    ``cumulative`` of the genesis record). Ledgers whose genesis predates that rule
    (:data:`gep.ledger.rules.EARLIER_ROUNDING`) rounded each fill of a sell listing on its
    own, and are still decided (and replayed) so.
    """
    if doc["side"] == "sell" and state.params["rounding"].get("fills") != "cumulative":
        return cash.payment(price, quantity, ins.per_display)
    return cash.payment(price, doc["filled"] + quantity, ins.per_display) - cash.payment(price, doc["filled"], ins.per_display)


def _parties(state: State, doc: dict, other: Account) -> tuple[Account, Account]:
    lister = state.account(doc["account"])
    return (lister, other) if doc["side"] == "sell" else (other, lister)


# --------------------------------------------------------------------------- list


def _apply_list(state: State, request: dict, ctx: Context) -> dict:
    acc = _user(state, request["account"], "listing", request)
    side, mech = request["side"], request["mechanism"]
    if side not in SIDES:
        raise InvalidRequest(f"side {side!r} is not one of {', '.join(SIDES)}")
    if mech not in MECHANISMS:
        raise InvalidRequest(f"mechanism {mech!r} is not one of {', '.join(MECHANISMS)}")
    if side == "buy" and mech not in ("fixed", "negotiated"):
        raise InvalidRequest("a buy listing (purchase order) is fixed-price or negotiated", hint="auctions sell")
    ins = live_instrument(state, request["instrument"], ctx)
    if ins.kind not in TRADABLE:
        raise InvalidRequest(f"{ins.id} is not traded: cash pays for the rights", hint=f"list one of the kinds {', '.join(TRADABLE)}")
    quantity = positive_int(request["quantity"], "quantity")
    check_price(request["price"], "reserve price" if mech in ("ascending", "sealed") else "price")
    opens = _time(request, "opens") or ctx.time
    closes = _time(request, "closes")
    if closes <= max(opens, ctx.time):
        raise InvalidRequest(f"the listing closes at {closes}, before it opens ({max(opens, ctx.time)})", hint="give a later close", key="closes")
    doc: dict = {"account": acc.id, "side": side, "instrument": ins.id, "mechanism": mech, "quantity": quantity, "remaining": quantity,
                 "filled": 0, "price": request["price"], "opens": opens, "closes": closes, "status": "open", "reserve": acc.role == "reserve"}
    allowed = {"fixed": {"min_lot"}, "negotiated": {"min_lot", "counterparty"}, "ascending": {"increment", "settle_by"},
               "sealed": {"increment", "min_lot", "reveal_until", "settle_by", "bond"}}[mech]
    extra = {"increment", "min_lot", "reveal_until", "settle_by", "counterparty", "bond"} & set(request)
    if extra - allowed:
        raise InvalidRequest(f"a {mech} listing takes no {', '.join(sorted(extra - allowed))}")
    if mech == "ascending" and "increment" not in request:
        raise InvalidRequest("an ascending auction needs its minimum increment", hint="e.g. 10 (CNY per unit)", key="increment")
    if "increment" in request:
        check_price(request["increment"], "minimum increment")
        doc["increment"] = request["increment"]
    doc["min_lot"] = positive_int(request["min_lot"], "minimum lot") if "min_lot" in request else (quantity if mech in ("negotiated", "ascending") else 1)
    if doc["min_lot"] > quantity:
        raise InvalidRequest(f"minimum lot {ins.display(doc['min_lot'])} exceeds the quantity {ins.display(quantity)}")
    if mech == "negotiated":
        if "counterparty" not in request:
            raise InvalidRequest("a negotiated deal names its counterparty", hint="name the only account that may take it", key="counterparty")
        cp = _user(state, request["counterparty"], "counterparty")
        if cp.id == acc.id:
            raise InvalidRequest("a negotiated deal needs another party")
        doc["counterparty"] = cp.id
    if mech in ("ascending", "sealed"):
        last = closes
        if mech == "sealed":
            if "reveal_until" not in request:
                raise InvalidRequest("a sealed-bid auction needs the end of its reveal period", hint="a time after the close", key="reveal_until")
            last = doc["reveal_until"] = _time(request, "reveal_until")
            if last <= closes:
                raise InvalidRequest(f"the reveal period ends at {last}, not after the close {closes}")
            doc["bond"] = request["bond"] if "bond" in request else 0
            if doc["bond"] != 0:
                positive_int(doc["bond"], "bond")
            doc["commits"] = []
        if "settle_by" not in request:
            raise InvalidRequest("an auction needs its settlement deadline", hint="a time after the close (sealed: after the reveal period)", key="settle_by")
        doc["settle_by"] = _time(request, "settle_by")
        if doc["settle_by"] <= last:
            raise InvalidRequest(f"the settlement deadline {doc['settle_by']} is not after {last}")
        doc["best"] = None
    moves = Moves(state, ctx)
    if side == "sell":
        moves.move(ins, acc.id, MARKET, quantity)
    else:
        doc["escrow"] = cash.payment(Decimal(request["price"]), quantity, ins.per_display)
        moves.move(cash.cash_instrument(state, ctx.seq), acc.id, MARKET, doc["escrow"])
    key = str(ctx.seq)
    state.market_put("listing", key, doc, ctx.seq)
    return moves.effects(listing={"id": ctx.seq, "side": side, "mechanism": mech, "escrow": doc.get("escrow", quantity)})


# --------------------------------------------------------------------------- bid


def _apply_bid(state: State, request: dict, ctx: Context) -> dict:
    key, doc = _listing(state, request["listing"])
    bidder = _user(state, request["account"], "bidding", request)
    ins = _common(state, key, doc, bidder, request, ctx)
    quantity = positive_int(request["quantity"], "quantity")
    price = check_price(request["price"], "bid price")
    mech = doc["mechanism"]
    if mech == "sealed":
        raise InvalidRequest(f"listing {key} is a sealed-bid auction: bids are committed, then revealed", hint="`gep ledger market commit`")
    seller, buyer = _parties(state, doc, bidder)
    ratio = ratios.ratio_for(state, ins.kind, seller, buyer)
    moves = Moves(state, ctx)
    doc = dict(doc)
    if mech == "ascending":
        if quantity != doc["quantity"]:
            raise InvalidRequest(f"an ascending auction sells {ins.display(doc['quantity'])} as one lot, not {ins.display(quantity)}")
        best = state.market_get("bid", str(doc["best"])) if doc["best"] else None
        low = minimum_bid(doc, best)
        if price < low:
            what = f"the reserve price {doc['price']}" if best is None else f"the best bid {best['price']} plus the minimum increment {doc['increment']}"
            raise InvalidRequest(f"bid {request['price']} CNY/({ins.display_unit}) on listing {key} is below {what} = {low}",
                                 hint=f"bid at least {low}")
        escrow = cash.payment(price, quantity, ins.per_display)
        if best is not None:  # refunded first: a leader raising its own bid may use its refund
            moves.move(cash.CASH_INSTRUMENT, MARKET, best["account"], best["escrow"])
            state.market_put("bid", str(doc["best"]), {**best, "status": "outbid"}, ctx.seq)
        moves.move(cash.CASH_INSTRUMENT, bidder.id, MARKET, escrow)
        state.market_put("bid", str(ctx.seq), {"listing": int(key), "account": bidder.id, "quantity": quantity, "price": request["price"],
                                               "escrow": escrow, "status": "leading"}, ctx.seq)
        doc["best"] = ctx.seq
        state.market_put("listing", key, doc, ctx.seq)
        return moves.effects(bid={"listing": int(key), "price": request["price"], "escrow": escrow, "outbid": best["account"] if best else None})
    if request["price"] != doc["price"]:
        raise InvalidRequest(f"listing {key} trades at {doc['price']} CNY/({ins.display_unit}), not {request['price']}", hint=f"bid at {doc['price']}")
    remaining = doc["remaining"]
    if quantity > remaining:
        raise InvalidRequest(f"listing {key} has {ins.display(remaining)} left, less than {ins.display(quantity)}")
    if quantity < min(doc["min_lot"], remaining):
        raise InvalidRequest(f"listing {key} fills at least {ins.display(min(doc['min_lot'], remaining))} (its minimum lot), not {ins.display(quantity)}")
    pay = _fill_payment(state, doc, price, quantity, ins)
    why = _unfit(ins, quantity, ratio, pay)
    if why:
        raise InvalidRequest(f"bid on listing {key}: {why}", hint="trade a larger quantity")
    if doc["side"] == "sell":
        trade = _trade(state, moves, ctx, 0, key, doc, ins, seller, buyer, quantity, doc["price"], pay, ratio, MARKET, bidder.id)
    else:
        trade = _trade(state, moves, ctx, 0, key, doc, ins, seller, buyer, quantity, doc["price"], pay, ratio, bidder.id, MARKET)
        doc["escrow"] -= pay
    doc["remaining"] -= quantity
    doc["filled"] += quantity
    if doc["remaining"] == 0:
        doc["status"] = "filled"
        if doc["side"] == "buy" and doc["escrow"]:  # pragma: no cover - the cumulative payments add up to the escrow
            moves.move(cash.CASH_INSTRUMENT, MARKET, doc["account"], doc["escrow"])
            doc["escrow"] = 0
    state.market_put("listing", key, doc, ctx.seq)
    return moves.effects(trades=[trade])


def _common(state: State, key: str, doc: dict, bidder: Account, request: dict, ctx: Context) -> Instrument:
    """Checks shared by bid and commit: open listing, its instrument, another party, inside the window, not expired."""
    _open(doc, key)
    if request["instrument"] != doc["instrument"]:
        raise InvalidRequest(f"listing {key} offers {doc['instrument']}, not {request['instrument']!r}", hint="bid for the instrument the listing names")
    if bidder.id == doc["account"]:
        raise InvalidRequest(f"account {bidder.id} cannot bid on its own listing {key}")
    lister = state.account(doc["account"])
    if ruled(state, "trades") and doc["mechanism"] != "negotiated" and lister is not None and lister.owner == bidder.owner:
        raise NotAuthorised(f"account {bidder.id} and the lister's account {lister.id} have one owner: an owner does not bid in its own listing",
                            hint="move rights between your own accounts with `gep ledger transfer`, or across zones with a negotiated listing naming your other account")
    if doc["mechanism"] == "negotiated" and bidder.id != doc["counterparty"]:
        raise NotAuthorised(f"listing {key} is a negotiated deal with {doc['counterparty']}, not {bidder.id}")
    ins = live_instrument(state, doc["instrument"], ctx)
    _window(doc, key, ctx, "opens", "closes", "bids")
    return ins


# --------------------------------------------------------------------------- sealed bids


def _apply_commit(state: State, request: dict, ctx: Context) -> dict:
    key, doc = _listing(state, request["listing"])
    bidder = _user(state, request["account"], "bidding", request)
    ins = _common(state, key, doc, bidder, request, ctx)
    if doc["mechanism"] != "sealed":
        raise InvalidRequest(f"listing {key} is not a sealed-bid auction", hint="bid openly with `gep ledger market bid`")
    if not isinstance(request["commitment"], str) or not _HEX64.match(request["commitment"]):
        raise InvalidRequest("commitment must be 64 lowercase hex digits (SHA-256)")
    escrow = positive_int(request["escrow"], "escrow")
    if escrow < doc["bond"]:
        raise InvalidRequest(f"escrow {escrow} fen is below the listing's bond {doc['bond']} fen")
    seller, buyer = _parties(state, doc, bidder)
    ratios.ratio_for(state, ins.kind, seller, buyer)  # a forbidden pair is refused now, not after the reveal
    moves = Moves(state, ctx)
    moves.move(cash.CASH_INSTRUMENT, bidder.id, MARKET, escrow)
    state.market_put("bid", str(ctx.seq), {"listing": int(key), "account": bidder.id, "commitment": request["commitment"], "escrow": escrow,
                                           "status": "sealed"}, ctx.seq)
    state.market_put("listing", key, {**doc, "commits": doc["commits"] + [ctx.seq]}, ctx.seq)
    return moves.effects(commit={"listing": int(key), "escrow": escrow})


def _apply_reveal(state: State, request: dict, ctx: Context) -> dict:
    key, doc = _listing(state, request["listing"])
    ref = request["commit"]
    bid = state.market_get("bid", str(ref)) if isinstance(ref, int) and not isinstance(ref, bool) else None
    if bid is None or bid["listing"] != int(key) or "commitment" not in bid:
        raise InvalidRequest(f"there is no commitment {ref!r} on listing {key}")
    acc = _user(state, bid["account"], "bidding", request)
    _open(doc, key)
    _window(doc, key, ctx, "closes", "reveal_until", "reveals")
    if bid["status"] != "sealed":
        raise InvalidRequest(f"commitment {ref} is already {bid['status']}")
    ins = need_instrument(state, doc["instrument"])
    quantity = positive_int(request["quantity"], "quantity")
    price = check_price(request["price"], "bid price")
    salt = request["salt"]
    if not isinstance(salt, str) or not _HEX64.match(salt):
        raise InvalidRequest("salt must be 64 lowercase hex digits")
    if commitment(int(key), acc.id, quantity, request["price"], salt) != bid["commitment"]:
        raise InvalidRequest(f"the revealed bid does not match commitment {ref}", hint="reveal exactly the quantity, price and salt committed to")
    if price < Decimal(doc["price"]):
        raise InvalidRequest(f"bid {request['price']} is below the reserve price {doc['price']}")
    with localcontext(EXACT):  # a tick of 1E-30 over a reserve of 2000: 4E+32 ticks, exactly
        off_tick = "increment" in doc and (price - Decimal(doc["price"])) % Decimal(doc["increment"])
    if off_tick:
        raise InvalidRequest(f"bid {request['price']} is not the reserve {doc['price']} plus a whole number of increments {doc['increment']}")
    if quantity > doc["quantity"] or quantity < doc["min_lot"]:
        raise InvalidRequest(f"bid quantity {ins.display(quantity)} lies outside {ins.display(doc['min_lot'])} .. {ins.display(doc['quantity'])}")
    pay = cash.payment(price, quantity, ins.per_display)
    if pay <= 0:
        raise InvalidRequest("the bid costs less than one fen")
    if pay > bid["escrow"]:
        raise InvalidRequest(f"the bid costs {pay} fen, more than its escrow of {bid['escrow']} fen", hint="commit with an escrow covering the bid")
    state.market_put("bid", str(ref), {**bid, "status": "revealed", "quantity": quantity, "price": request["price"], "revealed": ctx.seq}, ctx.seq)
    return {"moves": [], "postings": [], "reveal": {"listing": int(key), "commit": ref, "quantity": quantity, "price": request["price"]}}


# --------------------------------------------------------------------------- settle and delist


def _lister_or_registry(state: State, doc: dict, request: dict) -> bool:
    """True when the registry signs; else the lister must (NotAuthorised otherwise)."""
    if request["signer"] == state.registry:
        return True
    lister = state.account(doc["account"])
    if request["signer"] != lister.owner:
        raise NotAuthorised(f"only the registry or the owner of {lister.id} may {request['type']} its listing")
    return False


def _return_unsold(state: State, moves: Moves, doc: dict, ins: Instrument) -> None:
    if doc["side"] == "sell":
        moves.move(ins, MARKET, doc["account"], doc["remaining"])
    else:
        moves.move(cash.CASH_INSTRUMENT, MARKET, doc["account"], doc["escrow"])
        doc["escrow"] = 0


def _apply_settle(state: State, request: dict, ctx: Context) -> dict:
    key, doc = _listing(state, request["listing"])
    _lister_or_registry(state, doc, request)
    _open(doc, key)
    mech = doc["mechanism"]
    last = doc.get("reveal_until", doc["closes"])
    if ctx.time < last:
        raise InvalidRequest(f"listing {key} cannot settle before {last} (it is {ctx.time})")
    if mech in ("ascending", "sealed") and ctx.time >= doc["settle_by"]:
        raise InvalidRequest(f"listing {key} had to settle before {doc['settle_by']}", hint="the registry cancels it (`gep ledger market delist`), refunding every bid")
    ins = need_instrument(state, doc["instrument"])
    expired = state.instrument(ins.id)["expires"]
    expired = expired is not None and ctx.time >= expired
    moves = Moves(state, ctx)
    doc = dict(doc)
    trades: list[dict] = []
    outcome: list[dict] = []
    if mech == "ascending" and doc["best"]:
        bids = [(doc["best"], state.market_get("bid", str(doc["best"])))]
    elif mech == "sealed":
        bids = [(c, state.market_get("bid", str(c))) for c in doc["commits"]]
        bids.sort(key=lambda b: (b[1]["status"] != "revealed", -Decimal(b[1].get("price", "0")), b[0]))
    else:
        bids = []
    seller_acc = state.account(doc["account"])
    for ref, bid in bids:
        reason = None
        if bid["status"] == "sealed":  # never revealed: forfeits its bond
            forfeit = min(doc["bond"], bid["escrow"])
            moves.move(cash.CASH_INSTRUMENT, MARKET, doc["account"], forfeit)
            moves.move(cash.CASH_INSTRUMENT, MARKET, bid["account"], bid["escrow"] - forfeit)
            state.market_put("bid", str(ref), {**bid, "status": "forfeited"}, ctx.seq)
            outcome.append({"bid": ref, "status": "forfeited", "forfeit": forfeit})
            continue
        fill = min(bid["quantity"], doc["remaining"])
        if expired:
            reason = "expired"
        elif fill == 0 or fill < doc["min_lot"]:
            reason = "unfilled"
        else:
            try:
                ratio = ratios.ratio_for(state, ins.kind, seller_acc, state.account(bid["account"]))
            except InvalidRequest:
                reason = "ratio"
            else:
                pay = cash.payment(Decimal(bid["price"]), fill, ins.per_display)
                reason = "unfilled" if _unfit(ins, fill, ratio, pay) else None
        if reason is not None:
            moves.move(cash.CASH_INSTRUMENT, MARKET, bid["account"], bid["escrow"])
            state.market_put("bid", str(ref), {**bid, "status": "lost"}, ctx.seq)
            outcome.append({"bid": ref, "status": "lost", "reason": reason})
            continue
        trades.append(_trade(state, moves, ctx, len(trades), key, doc, ins, seller_acc, state.account(bid["account"]), fill, bid["price"], pay,
                             ratio, MARKET, MARKET))
        moves.move(cash.CASH_INSTRUMENT, MARKET, bid["account"], bid["escrow"] - pay)
        doc["remaining"] -= fill
        doc["filled"] += fill
        state.market_put("bid", str(ref), {**bid, "status": "won", "filled": fill}, ctx.seq)
        outcome.append({"bid": ref, "status": "won", "quantity": fill, "payment": pay})
    _return_unsold(state, moves, doc, ins)
    doc["status"] = "settled" if mech in ("ascending", "sealed") else "closed"
    state.market_put("listing", key, doc, ctx.seq)
    return moves.effects(settled={"listing": int(key), "bids": outcome, "unsold": doc["remaining"]}, trades=trades)


def _apply_delist(state: State, request: dict, ctx: Context) -> dict:
    key, doc = _listing(state, request["listing"])
    registry = _lister_or_registry(state, doc, request)
    _open(doc, key)
    bids = ([doc["best"]] if doc.get("best") else []) + doc.get("commits", [])
    if bids and not registry:
        raise NotAuthorised(f"listing {key} has bids: only the registry may cancel it now", hint="an auction may be withdrawn by its seller before the first bid")
    ins = need_instrument(state, doc["instrument"])
    moves = Moves(state, ctx)
    doc = dict(doc)
    for ref in bids:
        bid = state.market_get("bid", str(ref))
        moves.move(cash.CASH_INSTRUMENT, MARKET, bid["account"], bid["escrow"])
        state.market_put("bid", str(ref), {**bid, "status": "refunded"}, ctx.seq)
    _return_unsold(state, moves, doc, ins)
    doc["status"] = "cancelled"
    state.market_put("listing", key, doc, ctx.seq)
    return moves.effects(cancelled={"listing": int(key), "refunded": bids, "returned": doc["remaining"] if doc["side"] == "sell" else 0})


# --------------------------------------------------------------------------- invariant


def escrow_problems(state: Any) -> list[str]:
    """The market escrow against the open market objects of a :class:`~gep.ledger.rules.MemoryState`.

    ``sys:market`` must hold, per instrument, exactly the remaining quantity of the open
    sell listings and, in cash, the escrow of the open buy listings and of every bid
    still held (leading, sealed or revealed).
    """
    want: dict[str, int] = {}
    for (kind, _key), (doc, _seq) in state.market.items():
        if kind == "listing" and doc["status"] == "open":
            ins, n = (doc["instrument"], doc["remaining"]) if doc["side"] == "sell" else (CASH, doc["escrow"])
            want[ins] = want.get(ins, 0) + n
        elif kind == "bid" and doc["status"] in HELD:
            want[CASH] = want.get(CASH, 0) + doc["escrow"]
    have = {i: n for (a, i), n in state.balances.items() if a == MARKET and n}
    want = {i: n for i, n in want.items() if n}
    if have == want:
        return []
    bad = sorted(set(have) | set(want), key=str)
    return [f"the market escrow holds {have.get(i, 0)} of {i}, its open listings and bids {want.get(i, 0)}" for i in bad if have.get(i, 0) != want.get(i, 0)]


APPLY = {"list": _apply_list, "bid": _apply_bid, "commit": _apply_commit, "reveal": _apply_reveal, "settle": _apply_settle, "delist": _apply_delist}
REQUESTS.update(APPLY)  # registered with gep.ledger.rules.apply
