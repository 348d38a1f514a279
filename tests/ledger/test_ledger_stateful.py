"""Conservation under random operation sequences (hypothesis stateful), against an in-memory model.

After every step: the database's balances equal the model's; per instrument they
sum to zero; only ``sys:issuance`` is negative; retirement and cancellation never
decrease; serial blocks partition ``1 .. issued`` and each holder's blocks sum to
its balance; issuance never exceeds the evidence cap. After every run, ``verify``
replays the whole log.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from gep.audit.evidence import RunFiles
from gep.ledger.canonical import signing_message
from gep.ledger.errors import (
    BadSignature, IdConflict, InsufficientBalance, LedgerError, NotAuthorised, OverIssuance, UnknownAccount, UnknownInstrument,
)
from gep.ledger.ledger import Ledger, Signed
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import CAPACITY_CAPS, machine_target, make_runs, pg_drop, pg_server


USERS = ("alice", "bob", "carol", "dave")
INSTRUMENTS = ("capacity/1/COD/2024", "capacity/1/TP/2024", "carbon/p1/2022")
CARBON_CAP = 12345  # zone 1 of the carbon run [kg CO2e]
FINAL = ("sys:retirement", "sys:cancellation")


class LedgerMachine(RuleBasedStateMachine):
    backend = "sqlite"
    keyset = None
    runs = None
    tmp = None

    @initialize()
    def setup(self):
        cls = type(self)
        self.schema, target = machine_target(cls, "sm")
        self.led = Ledger.init(target, cls.keyset.registry, operators=[cls.keyset.operator.public], files=RunFiles())
        self.model: dict[tuple[str, str], int] = {}
        self.issued: dict[str, int] = {}
        self.final_seen: dict[tuple[str, str], int] = {}
        self.done: list[Signed] = []
        self.opened: set[str] = set()
        self.n = 0
        for user in USERS[:3]:  # dave is opened (or not) by a rule
            self.open_account(user)
        self.issue("capacity/1/COD/2024", "alice", 2000)
        self.issue("carbon/p1/2022", "bob", 5000)

    def teardown(self):
        if hasattr(self, "led"):
            try:
                verify_ledger(self.led)
            finally:
                self.led.close()
                if self.schema:
                    pg_drop(pg_server()[0], self.schema)

    # ------------------------------------------------------------ helpers
    def key(self, name):
        return getattr(type(self).keyset, name)

    def move(self, ins, src, dst, amount):
        self.model[(src, ins)] = self.model.get((src, ins), 0) - amount
        self.model[(dst, ins)] = self.model.get((dst, ins), 0) + amount

    def new_id(self):
        self.n += 1
        return f"op-{self.n}"

    # ------------------------------------------------------------ rules
    @rule(user=st.sampled_from(USERS))
    def open_account(self, user):
        if user in self.opened:
            return
        self.led.open_account(self.key("registry"), user, self.key(user).public, id=f"open-{user}")
        self.opened.add(user)

    @rule(ins=st.sampled_from(INSTRUMENTS), user=st.sampled_from(USERS), amount=st.integers(1, 2500))
    def issue(self, ins, user, amount):
        cap = CARBON_CAP if ins.startswith("carbon") else CAPACITY_CAPS[ins]
        kind = "carbon" if ins.startswith("carbon") else "capacity"
        run = type(self).runs[kind]
        zone = "1" if kind == "carbon" else None
        withheld = -(-amount * 2 // 10) if kind == "carbon" else 0
        try:
            r = self.led.issue(self.key("registry"), ins, amount, user, run, zone=zone, id=self.new_id())
        except UnknownAccount:
            assert user not in self.opened
            return
        except OverIssuance:
            assert self.issued.get(ins, 0) + amount > cap
            return
        except LedgerError as exc:
            assert kind == "carbon" and amount - withheld <= 0, exc.line()
            return
        assert user in self.opened and self.issued.get(ins, 0) + amount <= cap
        self.issued[ins] = self.issued.get(ins, 0) + amount
        self.move(ins, "sys:issuance", user, amount - withheld)
        self.model[("sys:issuance", ins)] -= withheld
        if withheld:
            self.model[("sys:buffer", ins)] = self.model.get(("sys:buffer", ins), 0) + withheld
        self.done.append(Signed(r.record["request"], r.record["signature"]))

    def pick(self, data, sources):
        """Mostly a (source, instrument) that holds something; sometimes anything (to hit the refusals)."""
        holdings = sorted(k for k, v in self.model.items() if v > 0 and k[0] in sources)
        if holdings and data.draw(st.integers(0, 4)):
            src, ins = data.draw(st.sampled_from(holdings))
        else:
            src, ins = data.draw(st.sampled_from(sources)), data.draw(st.sampled_from(INSTRUMENTS))
        have = self.model.get((src, ins), 0)
        amount = data.draw(st.one_of(st.sampled_from(sorted({1, 2, max(have, 1), have + 1})), st.integers(1, max(have, 1) + 5)))
        return src, ins, amount

    @rule(data=st.data(), dst=st.sampled_from(USERS), wrong=st.integers(0, 5),
          price=st.none() | st.decimals(min_value=1, max_value=10000, places=2))
    def transfer(self, data, dst, wrong, price):
        src, ins, amount = self.pick(data, USERS)
        signer = src if wrong else ("registry" if src == "alice" else "alice")  # mostly the owner, sometimes not
        have = self.model.get((src, ins), 0)
        try:
            r = self.led.transfer(self.key(signer), ins, amount, src, dst, price=price, id=self.new_id())
        except UnknownAccount:
            assert src not in self.opened or dst not in self.opened
            return
        except UnknownInstrument:
            assert ins not in self.issued
            return
        except NotAuthorised:
            assert signer != src
            return
        except InsufficientBalance:
            assert have < amount
            return
        except LedgerError as exc:
            assert src == dst, exc.line()
            return
        assert signer == src and have >= amount and src != dst
        self.move(ins, src, dst, amount)
        self.done.append(Signed(r.record["request"], r.record["signature"]))

    @rule(data=st.data(), retire=st.booleans())
    def retire_or_cancel(self, data, retire):
        src, ins, amount = self.pick(data, USERS + ("sys:buffer",))
        have = self.model.get((src, ins), 0)
        try:
            if retire:
                r = self.led.retire(self.key(src) if src in USERS else self.key("registry"), ins, amount, src, id=self.new_id())
            else:
                r = self.led.cancel(self.key("registry"), ins, amount, src, id=self.new_id())
        except (UnknownAccount, UnknownInstrument, InsufficientBalance, NotAuthorised) as exc:
            assert (src in USERS and src not in self.opened) or ins not in self.issued or have < amount or (retire and src == "sys:buffer"), exc.line()
            return
        assert have >= amount
        self.move(ins, src, "sys:retirement" if retire else "sys:cancellation", amount)
        self.done.append(Signed(r.record["request"], r.record["signature"]))

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def retry_is_idempotent(self, data):
        item = data.draw(st.sampled_from(self.done))
        head = self.led.head()
        assert self.led.submit(item).status == "exists"
        assert self.led.head() == head

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def reused_id_or_forged_signature_refused(self, data):
        item = data.draw(st.sampled_from(self.done))
        head = self.led.head()
        req = dict(item.request, memo="changed")
        signer = next(getattr(type(self).keyset, n) for n in ("registry",) + USERS if getattr(type(self).keyset, n).public == req["signer"])
        with pytest.raises(BadSignature):  # the signature is checked before anything about the id is revealed
            self.led.submit(Signed(req, item.signature))
        with pytest.raises(IdConflict):  # the signer's own id, reused for a different request
            self.led.submit(Signed(req, signer.sign(signing_message(req))))
        with pytest.raises(BadSignature):
            self.led.submit(Signed(dict(req, id=self.new_id()), item.signature))
        assert self.led.head() == head

    # ------------------------------------------------------------ invariants
    @invariant()
    def conservation(self):
        if not hasattr(self, "led"):
            return
        db = {(r["account"], r["instrument"]): r["amount"] for r in self.led.balances()}
        assert db == {k: v for k, v in self.model.items() if v != 0}
        sums: dict[str, int] = {}
        for (acc, ins), v in db.items():
            sums[ins] = sums.get(ins, 0) + v
            assert v >= 0 or acc == "sys:issuance"
        assert all(v == 0 for v in sums.values())
        for key in [k for k in db if k[0] in FINAL]:
            assert db[key] >= self.final_seen.get(key, 0)
            self.final_seen[key] = db[key]
        for ins, total in self.issued.items():
            assert -db.get(("sys:issuance", ins), 0) == total
            blocks = self.led.blocks(instrument=ins)
            assert blocks[0]["start"] == 1 and blocks[-1]["end"] == total
            assert all(a["end"] + 1 == b["start"] for a, b in zip(blocks, blocks[1:]))
            held: dict[str, int] = {}
            for b in blocks:
                held[b["holder"]] = held.get(b["holder"], 0) + b["size"]
            assert held == {acc: v for (acc, i), v in db.items() if i == ins and acc != "sys:issuance"}


def _run(backend, keyset, runs, tmp_path, examples, steps):
    Machine = type(f"LedgerMachine_{backend}", (LedgerMachine,), {"backend": backend, "keyset": keyset, "runs": runs, "tmp": tmp_path})
    Machine.TestCase.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    Machine.TestCase("runTest").runTest()


def test_conservation_sqlite(keyset, tmp_path):
    _run("sqlite", keyset, make_runs(tmp_path / "runs"), tmp_path, examples=25, steps=25)


def test_conservation_postgres(keyset, tmp_path):
    if pg_server()[0] is None:
        pytest.skip(pg_server()[1])
    _run("postgres", keyset, make_runs(tmp_path / "runs"), tmp_path, examples=10, steps=20)
