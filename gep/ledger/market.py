"""The market on a ledger, as a library: sign and submit market requests; read listings, trades and indices.

Example
-------
>>> led = Ledger.open("ledger.db", registry)                                   # doctest: +SKIP
>>> m = Market(led)                                                            # doctest: +SKIP
>>> m.deposit(registry, "bob", "5000 CNY", reference="bank 2026-118")           # doctest: +SKIP
>>> r = m.create_listing(alice, "alice", "emission/3/COD/2024", "2 t", "2400",
...                      closes="2026-12-31T17:00:00+08:00")                  # doctest: +SKIP
>>> m.bid(bob, r.seq, "bob", "emission/3/COD/2024", "500 kg", "2400")          # doctest: +SKIP
>>> m.trades("emission/3/COD/2024")                                            # doctest: +SKIP

Every write is a signed request decided by :func:`gep.ledger.rules.apply` (the rules
are in :mod:`gep.ledger.auction`, :mod:`gep.ledger.cash`, :mod:`gep.ledger.instruments`,
:mod:`gep.ledger.ratios` and :mod:`gep.ledger.compliance`; docs/market.md). Each verb
(``bid``) has a ``*_request`` twin that returns the signed request without submitting
it, for a participant who hands it to the registry (``Ledger.submit`` or
``gep ledger batch``). Quantities are text with a unit (``"2 t"``, ``"1.5 tce"``) or
integers of the base unit; prices are CNY per display unit (``"2400"``); cash
amounts are ``"5000 CNY"`` or integers of fen; times are ISO 8601 with a zone.

Reads give plain dictionaries (JSON-ready): :meth:`Market.listings`,
:meth:`Market.book`, :meth:`Market.trades`, :meth:`Market.index`,
:meth:`Market.obligations`, :meth:`Market.ratios`, :meth:`Market.instruments`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable

from gep.ledger import clock
from gep.ledger.auction import commitment, minimum_bid
from gep.ledger.compliance import status as obligation_status
from gep.ledger.errors import InvalidRequest
from gep.ledger.keys import KeyPair
from gep.ledger.ledger import Ledger, Result, Signed
from gep.ledger.model import CASH, Instrument, parse_amount, parse_price
from gep.ledger.rules import TRADE_FIELDS

__all__ = ["Market", "Opening", "PERIODS", "index_rows", "period_of"]

#: Periods of the market indices (Beijing calendar).
PERIODS = ("day", "week", "month", "quarter", "year")
_CASH = Instrument.parse(CASH)


def check_period(period: str) -> str:
    """``period`` if it is one of :data:`PERIODS`, else :class:`InvalidRequest`."""
    if period not in PERIODS:
        raise InvalidRequest(f"period {period!r} is not one of {', '.join(PERIODS)}")
    return period


def period_of(day: date, period: str) -> tuple[str, date, date]:
    """The period holding a Beijing date: (label, first day, last day), e.g. ``("2026-Q1", 2026-01-01, 2026-03-31)``."""
    if check_period(period) == "day":
        return day.isoformat(), day, day
    if period == "week":
        y, w, d = day.isocalendar()
        start = day - timedelta(days=d - 1)
        return f"{y}-W{w:02d}", start, start + timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
    elif period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        start = date(day.year, 1, 1)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = start.month - 1 + months
    end = date(start.year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    label = {"month": f"{start:%Y-%m}", "quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}", "year": str(start.year)}[period]
    return label, start, end


def index_rows(trades: Iterable[dict], instrument: Instrument, period: str) -> list[dict]:
    """Price indices per period from settled trades (exact decimals).

    For each period with trades: ``trades`` (count), ``volume`` [base units delivered] and
    its display text, ``value_cny`` (Σ payments, each rounded to the fen), ``vwap`` =
    Σ price × quantity / Σ quantity [CNY per display unit, to 4 decimals], and ``open``,
    ``high``, ``low``, ``close`` trade prices (by sequence). A trade's price is per unit
    delivered by the seller (before any trading ratio).
    """
    check_period(period)  # also when there are no trades
    groups: dict[str, dict] = {}
    for t in sorted(trades, key=lambda t: (t["seq"], t["n"])):
        label, start, end = period_of(clock.beijing_date(t["time"]), period)
        g = groups.setdefault(label, {"period": label, "start": start.isoformat(), "end": end.isoformat(), "trades": 0, "volume": 0,
                                      "fen": 0, "prices": []})
        g["trades"] += 1
        g["volume"] += t["quantity"]
        g["fen"] += t["payment"]
        g["notional"] = g.get("notional", 0) + Decimal(t["price"]) * t["quantity"]
        g["prices"].append(Decimal(t["price"]))
    out = []
    for label in sorted(groups):
        g = groups.pop(label)
        prices = g.pop("prices")
        value = Decimal(g.pop("fen")) / 100
        vwap = g.pop("notional") / Decimal(g["volume"])
        out.append({**g, "display": instrument.display(g["volume"]), "value_cny": f"{value:.2f}",
                    "vwap": str(vwap.quantize(Decimal("0.0001"))), "unit": instrument.display_unit,
                    "open": str(prices[0]), "high": str(max(prices)), "low": str(min(prices)), "close": str(prices[-1])})
    return out


@dataclass
class Opening:
    """What opens a sealed bid's commitment: keep it secret until the reveal period."""

    listing: int
    account: str
    quantity: int
    price: str
    salt: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def commitment(self) -> str:
        return commitment(self.listing, self.account, self.quantity, self.price, self.salt)


class Market:
    """The market of a :class:`~gep.ledger.ledger.Ledger` (see the module docstring)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def close(self) -> None:
        """Close the ledger."""
        self.ledger.close()

    def __enter__(self) -> "Market":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ helpers
    def _sign(self, key: KeyPair, type_: str, fields: dict, id: str | None) -> Signed:
        return self.ledger.sign(key, type_, fields, id)

    def _submit(self, signed: Signed) -> Result:
        return self.ledger.submit(signed)

    @staticmethod
    def _time(text: str | None, what: str) -> str | None:
        if text is not None:
            clock.utc(text, what)  # refuse a bad time before signing
        return text

    def _instrument(self, instrument: str) -> Instrument:
        return Instrument.parse(instrument)

    # ------------------------------------------------------------ allocated rights
    def define_request(self, registry: KeyPair, instrument: str, total: str | int, valid_from: str, valid_until: str, source: str,
                       fee: str | None = None, fee_years: int | None = None, fee_payee: str | None = None,
                       id: str | None = None, memo: str | None = None) -> Signed:
        """Define an energy-use or emission right with its terms (registry; see :mod:`gep.ledger.instruments`).

        ``total``: what may be allocated in all; ``valid_from``/``valid_until``: Beijing dates
        (inclusive); ``fee``: paid-use fee [CNY per display unit per year] for ``fee_years``
        years, paid by each recipient to ``fee_payee``.
        """
        ins = self._instrument(instrument)
        terms: dict[str, Any] = {"total": parse_amount(total, ins, "total"), "valid_from": valid_from, "valid_until": valid_until, "source": source}
        if fee is not None:
            terms["fee"] = {"cny_per_unit_year": str(parse_price(fee, ins)), "years": fee_years, "payee": fee_payee}
        return self._sign(registry, "define", {"instrument": ins.id, "terms": terms, "memo": memo}, id)

    def define(self, *args: Any, **kw: Any) -> Result:
        """:meth:`define_request`, submitted."""
        return self._submit(self.define_request(*args, **kw))

    def allocate_request(self, registry: KeyPair, instrument: str, amount: str | int, to: str, id: str | None = None, memo: str | None = None) -> Signed:
        """Allocate ``amount`` of a defined right to ``to`` (registry); the paid-use fee moves in the same transaction."""
        ins = self._instrument(instrument)
        return self._sign(registry, "allocate", {"instrument": ins.id, "amount": parse_amount(amount, ins), "to": to, "memo": memo}, id)

    def allocate(self, *args: Any, **kw: Any) -> Result:
        """:meth:`allocate_request`, submitted."""
        return self._submit(self.allocate_request(*args, **kw))

    # ------------------------------------------------------------ cash
    def deposit_request(self, registry: KeyPair, account: str, amount: str | int, reference: str | None = None,
                        id: str | None = None, memo: str | None = None) -> Signed:
        """Record money the operator received for ``account`` (``"5000 CNY"`` or fen); registry only."""
        return self._sign(registry, "deposit", {"account": account, "amount": parse_amount(amount, _CASH), "reference": reference, "memo": memo}, id)

    def deposit(self, *args: Any, **kw: Any) -> Result:
        """:meth:`deposit_request`, submitted."""
        return self._submit(self.deposit_request(*args, **kw))

    def withdraw_request(self, registry: KeyPair, account: str, amount: str | int, reference: str | None = None,
                         id: str | None = None, memo: str | None = None) -> Signed:
        """Record money the operator paid out of ``account``; registry only."""
        return self._sign(registry, "withdraw", {"account": account, "amount": parse_amount(amount, _CASH), "reference": reference, "memo": memo}, id)

    def withdraw(self, *args: Any, **kw: Any) -> Result:
        """:meth:`withdraw_request`, submitted."""
        return self._submit(self.withdraw_request(*args, **kw))

    def pay_request(self, owner: KeyPair, src: str, dst: str, amount: str | int, id: str | None = None, memo: str | None = None) -> Signed:
        """A transfer of cash between user accounts (e.g. an eco-compensation payment between counties), signed by ``src``'s owner."""
        return self.ledger.transfer_request(owner, CASH, amount, src, dst, id=id, memo=memo)

    def pay(self, *args: Any, **kw: Any) -> Result:
        """:meth:`pay_request`, submitted."""
        return self._submit(self.pay_request(*args, **kw))

    # ------------------------------------------------------------ ratios
    def publish_ratios_request(self, registry: KeyPair, table: dict, id: str | None = None, memo: str | None = None) -> Signed:
        """Publish a trading-ratio table ``{version, source, rows, [coefficients]}`` (registry; :mod:`gep.ledger.ratios`)."""
        return self._sign(registry, "ratios", {"table": table, "memo": memo}, id)

    def publish_ratios(self, *args: Any, **kw: Any) -> Result:
        """:meth:`publish_ratios_request`, submitted."""
        return self._submit(self.publish_ratios_request(*args, **kw))

    # ------------------------------------------------------------ listings and bids
    def listing_request(self, owner: KeyPair, account: str, instrument: str, quantity: str | int, price: str, *, closes: str,
                        mechanism: str = "fixed", side: str = "sell", opens: str | None = None, increment: str | None = None,
                        min_lot: str | int | None = None, reveal_until: str | None = None, settle_by: str | None = None,
                        counterparty: str | None = None, bond: str | int | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        """A listing (:mod:`gep.ledger.auction`): sell (or, ``side="buy"``, buy) ``quantity`` of ``instrument``.

        ``price`` is the posted price (fixed, negotiated) or the reserve (auctions) [CNY per
        display unit]; ``mechanism`` one of ``fixed``, ``negotiated`` (with ``counterparty``),
        ``ascending`` (with ``increment``, ``settle_by``), ``sealed`` (with ``reveal_until``,
        ``settle_by``, optional ``bond`` in cash and ``increment`` tick); ``min_lot`` the
        smallest partial fill.
        """
        ins = self._instrument(instrument)
        fields: dict[str, Any] = {"account": account, "side": side, "instrument": ins.id, "quantity": parse_amount(quantity, ins, "quantity"),
                                  "price": str(parse_price(price, ins)), "mechanism": mechanism, "closes": self._time(closes, "closes"),
                                  "opens": self._time(opens, "opens"), "reveal_until": self._time(reveal_until, "reveal_until"),
                                  "settle_by": self._time(settle_by, "settle_by"), "counterparty": counterparty, "memo": memo}
        if increment is not None:
            fields["increment"] = str(parse_price(increment, ins))
        if min_lot is not None:
            fields["min_lot"] = parse_amount(min_lot, ins, "minimum lot")
        if bond is not None:
            fields["bond"] = parse_amount(bond, _CASH, "bond")
        return self._sign(owner, "list", fields, id)

    def create_listing(self, *args: Any, **kw: Any) -> Result:
        """:meth:`listing_request`, submitted; the listing's id is the result's ``seq``."""
        return self._submit(self.listing_request(*args, **kw))

    def bid_request(self, owner: KeyPair, listing: int, account: str, instrument: str, quantity: str | int, price: str,
                    id: str | None = None, memo: str | None = None) -> Signed:
        """A bid on a fixed, negotiated or ascending listing (on a buy listing: an offer to sell)."""
        ins = self._instrument(instrument)
        return self._sign(owner, "bid", {"listing": int(listing), "account": account, "instrument": ins.id,
                                         "quantity": parse_amount(quantity, ins, "quantity"), "price": str(parse_price(price, ins)), "memo": memo}, id)

    def bid(self, *args: Any, **kw: Any) -> Result:
        """:meth:`bid_request`, submitted."""
        return self._submit(self.bid_request(*args, **kw))

    def commit_request(self, owner: KeyPair, listing: int, account: str, instrument: str, quantity: str | int, price: str,
                       escrow: str | int, id: str | None = None, memo: str | None = None) -> tuple[Signed, Opening]:
        """A sealed bid's commitment and its :class:`Opening` (fresh 256-bit salt): keep the opening for :meth:`reveal`.

        ``escrow`` (cash, ``"30000 CNY"`` or fen) must cover the bid; more than the bid hides it better.
        """
        ins = self._instrument(instrument)
        opening = Opening(int(listing), account, parse_amount(quantity, ins, "quantity"), str(parse_price(price, ins)), secrets.token_hex(32))
        signed = self._sign(owner, "commit", {"listing": int(listing), "account": account, "instrument": ins.id, "commitment": opening.commitment,
                                              "escrow": parse_amount(escrow, _CASH, "escrow"), "memo": memo}, id)
        return signed, opening

    def commit(self, *args: Any, **kw: Any) -> tuple[Result, Opening]:
        """:meth:`commit_request`, submitted: (result, opening)."""
        signed, opening = self.commit_request(*args, **kw)
        return self._submit(signed), opening

    def reveal_request(self, owner: KeyPair, opening: Opening | dict, commit: int, id: str | None = None, memo: str | None = None) -> Signed:
        """Reveal a sealed bid (between the close and ``reveal_until``); ``commit`` is the commitment's sequence number."""
        o = opening if isinstance(opening, Opening) else Opening(**opening)
        return self._sign(owner, "reveal", {"listing": o.listing, "commit": int(commit), "quantity": o.quantity, "price": o.price, "salt": o.salt,
                                            "memo": memo}, id)

    def reveal(self, *args: Any, **kw: Any) -> Result:
        """:meth:`reveal_request`, submitted."""
        return self._submit(self.reveal_request(*args, **kw))

    def settle_request(self, key: KeyPair, listing: int, id: str | None = None, memo: str | None = None) -> Signed:
        """Settle a listing after its close (registry or lister): trades, refunds, unsold returned."""
        return self._sign(key, "settle", {"listing": int(listing), "memo": memo}, id)

    def settle(self, *args: Any, **kw: Any) -> Result:
        """:meth:`settle_request`, submitted."""
        return self._submit(self.settle_request(*args, **kw))

    def delist_request(self, key: KeyPair, listing: int, id: str | None = None, memo: str | None = None) -> Signed:
        """Cancel an open listing, returning every escrow (lister before the first bid; registry always)."""
        return self._sign(key, "delist", {"listing": int(listing), "memo": memo}, id)

    def delist(self, *args: Any, **kw: Any) -> Result:
        """:meth:`delist_request`, submitted."""
        return self._submit(self.delist_request(*args, **kw))

    # ------------------------------------------------------------ compliance
    def oblige_request(self, registry: KeyPair, account: str, kind: str, period: int, amount: str | int, due: str,
                       pollutant: str | None = None, source: str | None = None, id: str | None = None, memo: str | None = None) -> Signed:
        """Record an emitter's obligation for a period (registry; :mod:`gep.ledger.compliance`)."""
        if kind not in Instrument.PARTS:
            raise InvalidRequest(f"obligation kind {kind!r} is not one of energy, emission, capacity, carbon")
        ins = Instrument(kind, kind, int(period), ())  # what the amount's unit is read against
        return self._sign(registry, "oblige", {"account": account, "kind": kind, "period": int(period), "amount": parse_amount(amount, ins),
                                               "due": self._time(due, "due"), "pollutant": pollutant, "source": source, "memo": memo}, id)

    def oblige(self, *args: Any, **kw: Any) -> Result:
        """:meth:`oblige_request`, submitted."""
        return self._submit(self.oblige_request(*args, **kw))

    def surrender_request(self, owner: KeyPair, instrument: str, amount: str | int, account: str, obligation: int,
                          id: str | None = None, memo: str | None = None) -> Signed:
        """Surrender rights against an obligation (owner of ``account``): they move to ``sys:retirement``."""
        ins = self._instrument(instrument)
        return self._sign(owner, "surrender", {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": account,
                                               "obligation": int(obligation), "memo": memo}, id)

    def surrender(self, *args: Any, **kw: Any) -> Result:
        """:meth:`surrender_request`, submitted."""
        return self._submit(self.surrender_request(*args, **kw))

    # ------------------------------------------------------------ reads
    def _docs(self, kind: str) -> list[tuple[int, dict, int]]:
        rows = self.ledger.store.read(lambda tx: tx.q("SELECT key, doc, seq FROM market WHERE kind = ?", (kind,)))
        return sorted((int(k) if k.isdigit() else k, json.loads(d), int(s)) for k, d, s in rows)

    def listings(self, status: str | None = None, instrument: str | None = None, account: str | None = None) -> list[dict]:
        """Listings ``{id, account, side, instrument, mechanism, quantity, remaining, price, opens, closes, status, ...}``."""
        out = []
        for key, doc, seq in self._docs("listing"):
            if (status and doc["status"] != status) or (instrument and doc["instrument"] != instrument) or (account and doc["account"] != account):
                continue
            out.append(self._public(key, doc, seq))
        return out

    def _public(self, key: int, doc: dict, seq: int) -> dict:
        ins = Instrument.parse(doc["instrument"])
        view = {"id": key, **{k: v for k, v in doc.items() if k not in ("commits",)}, "updated_seq": seq,
                "display": {"quantity": ins.display(doc["quantity"]), "remaining": ins.display(doc["remaining"])}}
        if doc["mechanism"] == "sealed":
            view["commitments"] = len(doc["commits"])
        return view

    def book(self, listing: int, at: str | None = None) -> dict:
        """What anyone may see of a listing now: its terms and state; an ascending auction's bids and the
        minimum next bid; a sealed auction's commitments (escrow only) until revealed.

        ``at``: the time the window states are judged at (default: the ledger's clock now).
        """
        rows = self.ledger.store.read(lambda tx: tx.q("SELECT kind, key, doc FROM market WHERE (kind = 'listing' AND key = ?) OR kind = 'bid'",
                                                      (str(int(listing)),)))
        doc = next((json.loads(d) for k, key, d in rows if k == "listing"), None)
        if doc is None:
            raise InvalidRequest(f"there is no listing {listing}", hint="see `gep ledger market listings`")
        bids = sorted((int(key), json.loads(d)) for k, key, d in rows if k == "bid" and json.loads(d)["listing"] == int(listing))
        now = at or clock.now()
        view = self._public(int(listing), doc, 0)
        del view["updated_seq"]
        phase = "closed" if doc["status"] != "open" else "before opening" if now < doc["opens"] else "bidding" if now < doc["closes"] else \
            "revealing" if doc["mechanism"] == "sealed" and now < doc["reveal_until"] else "awaiting settlement"
        view["phase"] = phase
        shown = []
        for ref, b in bids:
            if "commitment" in b and b["status"] == "sealed":
                shown.append({"id": ref, "account": b["account"], "status": "sealed", "escrow_fen": b["escrow"], "commitment": b["commitment"]})
            else:
                shown.append({"id": ref, **{k: v for k, v in b.items() if k != "listing"}})
        view["bids"] = shown
        if doc["mechanism"] == "ascending" and doc["status"] == "open":
            best = next((b for r, b in bids if r == doc["best"]), None)
            view["minimum_bid"] = str(minimum_bid(doc, best))
        return view

    def trades(self, instrument: str | None = None, account: str | None = None, listing: int | None = None) -> list[dict]:
        """Settled trades ``{seq, n, listing, instrument, mechanism, seller, buyer, quantity, received, price, payment, ratio, reserve, time,
        one_owner}`` (payment in fen; price in CNY per display unit of the quantity delivered; ``one_owner``: seller's and buyer's
        accounts have one owner, a trade the market data leave out), oldest first."""
        where, params = ["1 = 1"], []
        if instrument:
            where.append("t.instrument = ?")
            params.append(Instrument.parse(instrument).id)
        if account:
            where.append("(t.seller = ? OR t.buyer = ?)")
            params += [account, account]
        if listing is not None:
            where.append("t.listing = ?")
            params.append(int(listing))
        cols = ("seq", "n") + TRADE_FIELDS
        rows = self.ledger.store.read(lambda tx: tx.q(
            f"SELECT {', '.join('t.' + c for c in cols)}, s.owner = b.owner FROM trades t "
            f"LEFT JOIN accounts s ON s.id = t.seller LEFT JOIN accounts b ON b.id = t.buyer WHERE {' AND '.join(where)} ORDER BY t.seq, t.n", tuple(params)))
        out = []
        for r in rows:
            t = dict(zip(cols, r))
            t["one_owner"] = bool(r[-1])
            for k in ("seq", "n", "listing", "quantity", "received", "payment"):
                t[k] = int(t[k])
            ins = Instrument.parse(t["instrument"])
            t["display"] = {"quantity": ins.display(t["quantity"]), "received": ins.display(t["received"]), "payment": _CASH.display(t["payment"])}
            out.append(t)
        return out

    def index(self, instrument: str, period: str = "day") -> list[dict]:
        """VWAP, volume and open/high/low/close per period of an instrument's settled trades (:func:`index_rows`), but
        trades between accounts of one owner, which say nothing of the market's price."""
        ins = Instrument.parse(instrument)
        return index_rows([t for t in self.trades(ins.id) if not t["one_owner"]], ins, period)

    def obligations(self, account: str | None = None, at: str | None = None) -> list[dict]:
        """Obligations with their status (``met``, ``short``, ``open``) and shortfall at ``at`` (default: now)."""
        now = at or clock.now()
        out = []
        for key, doc, seq in self._docs("obligation"):
            if account and doc["account"] != account:
                continue
            out.append({"id": key, **doc, "status": obligation_status(doc, now), "shortfall": max(doc["amount"] - doc["surrendered"], 0), "as_of": now})
        return out

    def ratios(self) -> dict | None:
        """The trading-ratio table in force: ``{version, seq, source, pairs: {"from>to": ratio}}``, or None."""
        docs = [d for k, d, _ in self._docs("ratios") if k == "current"]
        return docs[0] if docs else None

    def instruments(self) -> list[dict]:
        """Defined (allocated) instruments with their terms, total allocated and expiry."""
        from gep.ledger.rules import instrument_info

        rows = self.ledger.store.read(lambda tx: tx.q(
            "SELECT i.id, i.kind, i.binding, i.seq, COALESCE(-b.amount, 0) FROM instruments i LEFT JOIN balances b ON b.instrument = i.id AND b.account = 'sys:issuance' "
            "WHERE i.kind IN ('energy', 'emission') ORDER BY i.id"))
        out = []
        for i, kind, binding, seq, issued in rows:
            ins = Instrument.parse(i)
            out.append({"instrument": i, "kind": kind, "terms": json.loads(binding), "defined_seq": int(seq), "allocated": int(issued),
                        "allocated_display": ins.display(int(issued)), "expires": instrument_info(kind, binding)["expires"]})
        return out
