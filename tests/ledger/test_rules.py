"""The decision rules: buffer rounding, delivery-versus-payment legs, signer-scoped ids, batch signatures."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gep.ledger.canonical import signing_message
from gep.ledger.errors import BadSignature, IdConflict, InvalidRequest
from gep.ledger.ledger import Signed, dvp
from gep.ledger.rules import buffer_amount
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import unchanged


CAP = "capacity/1/COD/2024"
CAP2 = "capacity/2/COD/2024"
LATER = "2999-01-01T00:00:00Z"


def test_buffer_rounds_up():
    assert buffer_amount(100, Decimal("0.2")) == 20
    assert buffer_amount(101, Decimal("0.2")) == 21  # ceil: never short of the declared share
    assert buffer_amount(5, Decimal("0")) == 0


# ----------------------------------------------------------------- delivery versus payment
@pytest.fixture
def two(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    return ledger


def test_dvp_legs_recorded_together(two, keyset):
    leg = dvp("deal-1", 2, LATER)
    a = two.transfer_request(keyset.alice, CAP, "60 kg", "alice", "bob", id="a", dvp=leg)
    b = two.transfer_request(keyset.bob, CAP2, "70 kg", "bob", "alice", id="b", dvp=leg)
    # one party's pre-signed leg alone is refused, and records nothing
    err = unchanged(two, lambda: two.submit(a), InvalidRequest, "a leg alone is refused")
    assert "deal-1" in err.line()
    res = two.submit_many([a, b])
    assert [r.status for r in res] == ["created", "created"] and res[1].head["tree_size"] == res[1].seq
    assert two.submit_many([a, b])[0].status == "exists"  # an idempotent retry of the pair
    # an old leg cannot be paired with a new one: the new one alone is refused
    c = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", id="c", dvp=leg)
    unchanged(two, lambda: two.submit_many([a, c]), InvalidRequest, "a leg alone")
    verify_ledger(two)


def test_dvp_refusals(two, keyset):
    leg2, leg3 = dvp("d2", 2, LATER), dvp("d3", 3, LATER)
    a = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=leg2)
    b_other = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=dvp("other", 2, LATER))
    unchanged(two, lambda: two.submit_many([a, b_other]), InvalidRequest, "is incomplete")
    plain = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice")
    unchanged(two, lambda: two.submit_many([a, plain]), InvalidRequest, "is incomplete")
    x = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=leg3)
    y = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=leg3)
    unchanged(two, lambda: two.submit_many([x, y]), InvalidRequest, "2 of 3 legs")
    old = dvp("late", 2, "2020-01-01T00:00:00Z")
    p = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=old)
    q = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=old)
    unchanged(two, lambda: two.submit_many([p, q]), InvalidRequest, "expired")
    res = two.submit_many([a, two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=leg2)], linked=False)
    assert [r.status for r in res] == ["refused", "refused"] and "independent" in res[0].error.line()
    bad_time = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=dvp("d", 2, "tomorrow"))
    unchanged(two, lambda: two.submit_many([bad_time]), InvalidRequest, "not an ISO 8601 time")


# ----------------------------------------------------------------- request ids
def test_request_ids_are_scoped_to_their_signer(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    ledger.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
    a = ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", id="deal-1")
    # bob uses the same id for his own request: recorded, no conflict, nothing revealed
    b = ledger.transfer(keyset.bob, CAP2, "1 kg", "bob", "alice", id="deal-1")
    assert a.status == b.status == "created" and b.seq == a.seq + 1
    # mallory cannot probe alice's ids: a request in alice's name needs alice's signature first
    probe = dict(a.record["request"], amount=2)
    for req in (probe, a.record["request"]):
        unchanged(ledger, lambda req=req: ledger.submit(Signed(req, keyset.mallory.sign(signing_message(req)))), BadSignature)
    # alice herself gets 'exists' for a retry and IdConflict for another body
    assert ledger.submit(Signed(a.record["request"], a.record["signature"])).status == "exists"
    unchanged(ledger, lambda: ledger.submit(Signed(probe, keyset.alice.sign(signing_message(probe)))), IdConflict)
    with pytest.raises(InvalidRequest, match="names transactions"):
        ledger.find("deal-1")
    assert ledger.find(str(b.seq))["record"]["request"]["signer"] == keyset.bob.public
    verify_ledger(ledger)


# ----------------------------------------------------------------- batch signatures
def test_batch_signature_one_signature_for_many_requests(ledger, keyset, runs):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    specs = [("transfer", ledger.transfer_fields(CAP, 1, "alice", "bob"), f"b-{i}") for i in range(7)]
    items = ledger.sign_many(keyset.alice, specs)
    assert len({json.dumps(i.signature["signature"]) for i in items}) == 1 and items[3].signature["size"] == 7
    bad = Signed(items[2].request, dict(items[2].signature, index=3))
    unchanged(ledger, lambda: ledger.submit(bad), BadSignature)
    forged = Signed(dict(items[2].request, amount=50), items[2].signature)
    unchanged(ledger, lambda: ledger.submit(forged), BadSignature)
    mallory = ledger.sign_many(keyset.mallory, [("transfer", ledger.transfer_fields(CAP, 1, "alice", "bob"), "m")])[0]
    stolen = Signed(dict(mallory.request, signer=keyset.alice.public), mallory.signature)
    unchanged(ledger, lambda: ledger.submit(stolen), BadSignature)
    # a whole batch is proven at once; a member with a wrong path is still refused
    wrong = list(items)
    wrong[5] = Signed(items[5].request, dict(items[5].signature, path=list(reversed(items[5].signature["path"]))))
    unchanged(ledger, lambda: ledger.submit_many(wrong), BadSignature)
    res = ledger.submit_many(items[:4]) + ledger.submit_many(items[4:])  # any subset, in any commit
    assert [r.status for r in res] == ["created"] * 7
    assert ledger.submit(items[0]).status == "exists"
    assert verify_ledger(ledger)["ok"]
