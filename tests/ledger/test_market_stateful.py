"""Random order sequences on the market (hypothesis stateful): conservation of rights and cash, and no trade breaks a rule.

Random listings (every mechanism and side), bids, sealed commitments and reveals, settlements,
cancellations, cash movements, plain transfers and the clock moving on, on SQLite and
PostgreSQL. Each step is either recorded or refused whole (a refusal leaves the signed head
unchanged). After every step:

* per instrument the balances sum to zero and none but ``sys:issuance`` is negative;
* rights: what was allocated equals what the holders, the escrow, retirement and cancellation hold;
* cash: what users and the escrow hold equals deposits minus withdrawals (the model's count);
* the escrow holds exactly the open listings' quantities and the held bids' cash;
* every trade keeps the rules: within its listing's quantity and window, at the listing's price
  (fixed, negotiated) or at least the reserve (auctions), paid ``round_half_up(price × quantity)``
  (the fills of a fixed or negotiated listing: the differences of ``round_half_up(price × cumulative
  quantity)``, so they add up to the payment of the quantity filled),
  delivered at the ratio of the seller's and buyer's zones (never a forbidden pair), the buyer
  receiving ``floor(quantity / ratio)``, of an instrument not expired at the trade.

After every run, ``verify`` replays the whole log (the same checks, from the log alone).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gep.ledger.auction import escrow_problems
from gep.ledger.verify import verify_ledger
from gep.ledger.errors import LedgerError
from tests.ledger.helpers import machine_target, pg_drop, pg_server
from tests.ledger.market_setup import EMISSION, ENERGY, build

TRADERS = ("alice", "bob", "carol", "dave", "reserve")
OWNER = {"alice": "alice", "bob": "bob", "carol": "carol", "dave": "dave", "reserve": "gov"}
PER = {EMISSION: 1000, ENERGY: 1000}


def pay(price: str, quantity: int) -> int:
    return int((Decimal(price) * quantity / 1000 * 100).to_integral_value(rounding=ROUND_HALF_UP))


class MarketMachine(RuleBasedStateMachine):
    backend = "sqlite"
    keyset = None
    tmp = None

    @initialize()
    def setup(self):
        cls = type(self)
        self.schema, target = machine_target(cls, "mm")
        self.env = build(target, cls.keyset)
        e = self.env
        for acc in ("bob", "dave"):
            e.m.allocate(e.reg, EMISSION, "5 t", acc)
        e.m.allocate(e.reg, ENERGY, "300 tce", "dave")
        self.cash = sum(r["amount"] for r in e.led.balances(instrument="cash/CNY") if r["account"] != "sys:issuance")
        self.listings: list[int] = []
        self.openings: list[tuple[int, str, object]] = []  # (commit seq, account, opening)
        self.checked = 0
        self.n = 0
        self.zones = {a["id"]: a["zone"] for a in e.led.accounts()}
        self.pairs = e.m.ratios()["pairs"]

    def teardown(self):
        if hasattr(self, "env"):
            try:
                assert verify_ledger(self.env.led)["ok"]
            finally:
                self.env.led.close()
                if self.schema:
                    pg_drop(pg_server()[0], self.schema)

    # ------------------------------------------------------------ helpers
    def key(self, account):
        return getattr(self.env.k, OWNER.get(account, account))

    def attempt(self, fn, *args, **kw):
        """Run a request: recorded, or refused with the head unchanged."""
        head = self.env.led.head()
        try:
            return fn(*args, **kw)
        except LedgerError:
            assert self.env.led.head() == head
            return None

    def rid(self):
        self.n += 1
        return f"r{self.n}"

    # ------------------------------------------------------------ rules
    @rule(data=st.data(), ins=st.sampled_from((EMISSION, EMISSION, ENERGY)), side=st.sampled_from(("sell", "sell", "buy")),
          mech=st.sampled_from(("fixed", "negotiated", "ascending", "sealed")), qty=st.integers(1, 3000), price=st.integers(1, 4000),
          hours=st.integers(6, 96), other=st.sampled_from(TRADERS), lot=st.integers(1, 3000), bond=st.integers(0, 500))
    def create_listing(self, data, ins, side, mech, qty, price, hours, other, lot, bond):
        clk, led = self.env.clk, self.env.led
        if side == "buy":  # mostly a fixed or negotiated purchase order, e.g. the reserve's
            mech = mech if not data.draw(st.integers(0, 4)) else data.draw(st.sampled_from(("fixed", "negotiated")))
            who = data.draw(st.sampled_from(TRADERS))
        else:  # mostly by an account holding the instrument
            holders = [r["account"] for r in led.balances(instrument=ins) if r["account"] in TRADERS and r["amount"] > 0]
            who = data.draw(st.sampled_from(holders if holders and data.draw(st.integers(0, 4)) else TRADERS))
        kw = {"closes": clk.at(hours=hours), "mechanism": mech, "side": side, "id": self.rid()}
        if mech in ("fixed", "sealed") and lot <= qty:
            kw["min_lot"] = lot
        if mech == "negotiated":
            kw["counterparty"] = other
        if mech == "ascending":
            kw.update(increment=str(1 + price % 50), settle_by=clk.at(hours=hours + 24))
        if mech == "sealed":
            kw.update(reveal_until=clk.at(hours=hours + 12), settle_by=clk.at(hours=hours + 36), bond=f"{bond} fen" if bond else None)
        r = self.attempt(self.env.m.create_listing, self.key(who), who, ins, qty, str(price), **kw)
        if r is not None:
            self.listings.append(r.seq)

    def pick(self, data, phase: str, mechanisms: tuple) -> dict | None:
        """Mostly a listing of ``mechanisms`` in ``phase`` now; sometimes any listing (to hit the refusals)."""
        if not self.listings:
            return None
        books = [self.env.m.book(s, at=self.env.clk()) for s in self.listings]
        fit = [b for b in books if b["phase"] == phase and b["mechanism"] in mechanisms]
        return data.draw(st.sampled_from(fit if fit and data.draw(st.integers(0, 5)) else books))

    def bidder(self, data, doc: dict) -> str:
        if doc["mechanism"] == "negotiated" and data.draw(st.integers(0, 3)):
            return doc["counterparty"]
        others = [t for t in TRADERS if t != doc["account"]]
        return data.draw(st.sampled_from(others if data.draw(st.integers(0, 5)) else TRADERS))

    @rule(data=st.data(), qty=st.integers(1, 3000), bump=st.integers(-20, 200))
    def bid(self, data, qty, bump):
        doc = self.pick(data, "bidding", ("fixed", "negotiated", "ascending"))
        if doc is None:
            return
        who = self.bidder(data, doc)
        low = Decimal(doc.get("minimum_bid", doc["price"]))
        price = str(max(low + bump, 1)) if doc["mechanism"] == "ascending" or not data.draw(st.integers(0, 5)) else doc["price"]
        fits = (doc["remaining"], doc["quantity"], min(doc["min_lot"], doc["remaining"]), max(doc["remaining"] // 2, doc["min_lot"], 1))
        qty = data.draw(st.sampled_from(fits + (qty,)))
        self.attempt(self.env.m.bid, self.key(who), doc["id"], who, doc["instrument"], qty, price, id=self.rid())

    @rule(data=st.data(), qty=st.integers(1, 3000), bump=st.integers(0, 300), escrow=st.integers(1, 2_000_000))
    def commit(self, data, qty, bump, escrow):
        doc = self.pick(data, "bidding", ("sealed",))
        if doc is None:
            return
        who = self.bidder(data, doc)
        price = str(Decimal(doc["price"]) + bump)
        qty = data.draw(st.sampled_from((doc["quantity"], min(doc["min_lot"] * 2, doc["quantity"]), qty)))
        escrow = data.draw(st.sampled_from((pay(price, qty) + doc.get("bond", 0), escrow)))
        out = self.attempt(self.env.m.commit, self.key(who), doc["id"], who, doc["instrument"], qty, price, f"{escrow} fen", id=self.rid())
        if out is not None:
            self.openings.append((out[0].seq, who, out[1]))

    @rule(data=st.data())
    def reveal(self, data):
        if self.openings:
            seq, who, opening = data.draw(st.sampled_from(self.openings))
            self.attempt(self.env.m.reveal, self.key(who), opening, seq, id=self.rid())

    @rule(data=st.data(), registry=st.booleans())
    def settle_or_delist(self, data, registry):
        doc = self.pick(data, "awaiting settlement", ("fixed", "negotiated", "ascending", "sealed"))
        if doc is None:
            return
        who = self.env.reg if registry else self.key(doc["account"])
        fn = data.draw(st.sampled_from((self.env.m.settle, self.env.m.settle, self.env.m.settle, self.env.m.delist)))
        self.attempt(fn, who, doc["id"], id=self.rid())

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours):
        self.env.clk.advance(hours=hours)

    @rule(data=st.data(), minutes=st.integers(0, 90))
    def time_reaches_a_deadline(self, data, minutes):
        """The clock moves to just after an open listing's close (or reveal period), where settlement begins."""
        from datetime import datetime

        open_ = [b for b in (self.env.m.book(s, at=self.env.clk()) for s in self.listings) if b["status"] == "open"]
        if open_:
            doc = data.draw(st.sampled_from(open_))
            end = datetime.fromisoformat(doc.get("reveal_until", doc["closes"]).replace("Z", "+00:00"))
            if end > self.env.clk.t:
                self.env.clk.t = end
                self.env.clk.advance(minutes=minutes)

    @rule(who=st.sampled_from(TRADERS), cny=st.integers(1, 50_000), deposit=st.booleans())
    def cash_in_or_out(self, who, cny, deposit):
        fn = self.env.m.deposit if deposit else self.env.m.withdraw
        if self.attempt(fn, self.env.reg, who, f"{cny} CNY", id=self.rid()) is not None:
            self.cash += (cny if deposit else -cny) * 100

    @rule(src=st.sampled_from(TRADERS), dst=st.sampled_from(TRADERS), amount=st.integers(1, 3000), cash=st.booleans())
    def plain_transfer(self, src, dst, amount, cash):
        self.attempt(self.env.led.transfer, self.key(src), "cash/CNY" if cash else EMISSION, amount, src, dst, id=self.rid())

    # ------------------------------------------------------------ invariants
    @invariant()
    def conservation(self):
        if not hasattr(self, "env"):
            return
        led = self.env.led
        bal = {(r["account"], r["instrument"]): r["amount"] for r in led.balances()}
        sums: dict[str, int] = {}
        for (acc, ins), n in bal.items():
            sums[ins] = sums.get(ins, 0) + n
            assert n >= 0 or acc == "sys:issuance"
        assert all(v == 0 for v in sums.values())
        assert -bal[("sys:issuance", "cash/CNY")] == self.cash
        rows = led.store.read(lambda tx: tx.q("SELECT kind, key, doc, seq FROM market"))
        import json

        state = SimpleNamespace(market={(k, key): (json.loads(d), s) for k, key, d, s in rows}, balances=bal)
        assert escrow_problems(state) == []

    @invariant()
    def trades_keep_the_rules(self):
        if not hasattr(self, "env"):
            return
        m = self.env.m
        trades = m.trades()
        listings = {x["id"]: x for x in m.listings()}
        filled: dict[int, int] = {}
        paid: dict[int, int] = {}
        for t in trades:
            doc = listings[t["listing"]]
            filled[t["listing"]] = filled.get(t["listing"], 0) + t["quantity"]
            paid[t["listing"]] = paid.get(t["listing"], 0) + t["payment"]
            assert t["instrument"] == doc["instrument"] and t["quantity"] <= doc["quantity"]
            if doc["mechanism"] in ("fixed", "negotiated"):  # fills pay the differences of the cumulative amount
                assert paid[t["listing"]] == pay(t["price"], filled[t["listing"]])
            else:  # an auction's winning bid pays its own price × its quantity
                assert t["payment"] == pay(t["price"], t["quantity"])
            if doc["mechanism"] in ("fixed", "negotiated"):
                assert t["price"] == doc["price"] and doc["opens"] <= t["time"] < doc["closes"]
            else:
                assert Decimal(t["price"]) >= Decimal(doc["price"]) and doc.get("reveal_until", doc["closes"]) <= t["time"] < doc["settle_by"]
            za, zb = self.zones[t["seller"]], self.zones[t["buyer"]]
            ratio = "1" if za == zb else self.pairs.get(f"{za}>{zb}", "forbidden")
            assert ratio != "forbidden" and t["ratio"] == ratio
            assert t["received"] == int(Fraction(t["quantity"]) / Fraction(Decimal(ratio)))
            expires = {EMISSION: "2030-12-31T16:00:00.000000Z", ENERGY: "2027-06-30T16:00:00.000000Z"}[t["instrument"]]
            assert t["time"] < expires
            if doc["mechanism"] == "negotiated":
                assert doc["counterparty"] in (t["seller"], t["buyer"])
        for key, total in filled.items():
            assert total <= listings[key]["quantity"] and listings[key]["filled"] == total


def _run(backend, keyset, tmp_path, examples, steps):
    Machine = type(f"MarketMachine_{backend}", (MarketMachine,), {"backend": backend, "keyset": keyset, "tmp": tmp_path})
    Machine.TestCase.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None, suppress_health_check=list(HealthCheck))
    Machine.TestCase("runTest").runTest()


def test_market_conservation_and_rules_sqlite(keyset, tmp_path):
    _run("sqlite", keyset, tmp_path, examples=60, steps=60)


def test_market_conservation_and_rules_postgres(keyset, tmp_path):
    if pg_server()[0] is None:
        pytest.skip(pg_server()[1])
    _run("postgres", keyset, tmp_path, examples=10, steps=40)
