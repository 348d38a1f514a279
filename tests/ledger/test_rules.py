"""The decision rules: buffer rounding, delivery-versus-payment legs and the terms they bind, signer-scoped ids, batch signatures."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.audit.evidence import RunFiles
from gep.ledger.canonical import signing_message
from gep.ledger.deal import Deal, read as read_deal
from gep.ledger.errors import BadSignature, IdConflict, InvalidRequest
from gep.ledger.ledger import Ledger, Signed, dvp
from gep.ledger.rules import LEG_TERMS, ROUNDING, RULES, UNITS, buffer_amount, check_params, terms_hash
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import earlier_genesis, unchanged


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


def deal_of(batch: str, *legs: tuple, expires: str = LATER) -> Deal:
    """A deal of legs ``(instrument, amount, from, to[, price])``."""
    return read_deal({"batch": batch, "expires": expires, "legs": [dict(zip(LEG_TERMS, leg)) for leg in legs]})


def leg_signed(led, key, terms: dict, leg: dict, id: str | None = None) -> Signed:
    """A transfer with these terms and ``dvp`` field, signed as its owner may sign anything (no client check)."""
    return led.sign(key, "transfer", {**terms, "dvp": leg}, id)


def test_terms_hash_is_sha256_of_the_sorted_canonical_legs():
    legs = [{"instrument": CAP, "amount": 30, "from": "alice", "to": "bob", "price": "1186.71"},
            {"instrument": CAP2, "amount": 2000, "from": "bob", "to": "alice", "price": None}]

    def jcs(x):  # the canonical bytes, written with the standard library only
        return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    expected = hashlib.sha256(jcs(sorted(legs, key=jcs))).hexdigest()
    assert terms_hash(legs) == terms_hash(reversed(legs)) == expected
    # a transfer body gives the same terms: other fields are not terms, a missing price is null
    body = {"v": 3, "type": "transfer", "memo": "x", "dvp": {"batch": "b"}, **{k: v for k, v in legs[1].items() if k != "price"}}
    assert terms_hash([legs[0], body]) == expected
    changed = {"instrument": "capacity/1/TP/2024", "amount": 31, "from": "carol", "to": "carol", "price": "1"}
    for name, value in changed.items():
        assert terms_hash([{**legs[0], name: value}, legs[1]]) != expected, name
    assert terms_hash([*legs, legs[1]]) != expected  # the number of legs counts


_LEGS = st.lists(st.fixed_dictionaries({"instrument": st.sampled_from([CAP, CAP2, "cash/CNY"]), "amount": st.integers(1, 2**62 - 1),
                                         "from": st.sampled_from(["alice", "bob", "水"]), "to": st.sampled_from(["alice", "carol"]),
                                         "price": st.none() | st.sampled_from(["1", "71.6"])}), min_size=2, max_size=16)


@settings(max_examples=200, deadline=None)
@given(legs=_LEGS, data=st.data())
def test_terms_hash_ignores_the_order_of_the_legs_and_nothing_else(legs, data):
    assert terms_hash(data.draw(st.permutations(legs))) == terms_hash(legs)
    k = data.draw(st.integers(0, len(legs) - 1))
    if legs.count(legs[k]) == 1:
        assert terms_hash(legs[:k] + [{**legs[k], "amount": legs[k]["amount"] + 1}] + legs[k + 1:]) != terms_hash(legs)
        assert terms_hash(legs[:k] + legs[k + 1:]) != terms_hash(legs)


def test_dvp_legs_recorded_together_in_either_order(two, keyset):
    deal = deal_of("deal-1", (CAP, "60 kg", "alice", "bob"), (CAP2, "70 kg", "bob", "alice"))
    a = two.transfer_request(keyset.alice, CAP, "60 kg", "alice", "bob", id="a", deal=deal)
    b = two.transfer_request(keyset.bob, CAP2, "70 kg", "bob", "alice", id="b", deal=deal)
    assert a.request["dvp"] == b.request["dvp"] == {"batch": "deal-1", "legs": 2, "expires": LATER, "terms": deal.terms}
    # one party's pre-signed leg alone is refused, and records nothing
    err = unchanged(two, lambda: two.submit(a), InvalidRequest, "a leg alone is refused")
    assert "deal-1" in err.line()
    res = two.submit_many([b, a])
    assert [r.status for r in res] == ["created", "created"] and res[1].head["tree_size"] == res[1].seq
    assert two.submit_many([a, b])[0].status == "exists"  # an idempotent retry of the pair
    # an old leg cannot be paired with a new one: the new one alone is refused
    c = leg_signed(two, keyset.bob, {**deal.legs[1], "amount": 1, "price": None}, deal.dvp(), "c")
    unchanged(two, lambda: two.submit_many([a, c]), InvalidRequest, "a leg alone")
    priced = deal_of("deal-2", (CAP, "1 kg", "alice", "bob", "1186.71"), (CAP2, "2 kg", "bob", "alice"))
    res = two.submit_many([two.transfer_request(keyset.alice, CAP, 1, "alice", "bob", price="1186.710", deal=priced),
                           two.transfer_request(keyset.bob, CAP2, "0.002 t", "bob", "alice", deal=priced)])
    assert [r.status for r in res] == ["created", "created"]
    assert verify_ledger(two)["ok"]


@pytest.fixture
def deal7(two, keyset, runs):
    """Alice's signed leg of deal-7 (30 kg of CAP at 1186.71 for bob's 20 kg of CAP2); bob also holds 50 kg of capacity/1/TP/2024."""
    two.issue(keyset.registry, "capacity/1/TP/2024", "50 kg", "bob", runs["capacity"])
    deal = deal_of("deal-7", (CAP, "30 kg", "alice", "bob", "1186.71"), (CAP2, "20 kg", "bob", "alice"))
    return deal, two.transfer_request(keyset.alice, CAP, "30 kg", "alice", "bob", price="1186.71", id="alice-leg", deal=deal)


@pytest.mark.parametrize("change", [{"amount": 1}, {"instrument": "capacity/1/TP/2024"}, {"to": "carol"}, {"price": "0.01"}],
                         ids=["amount", "instrument", "recipient", "price"])
def test_a_leg_binds_the_terms_of_the_other_legs(two, keyset, deal7, change):
    """The red-team attack: bob completes alice's leg with a leg of his own making, carrying the same dvp field."""
    deal, alice_leg = deal7
    bobs = leg_signed(two, keyset.bob, {**deal.legs[1], **change}, deal.dvp(), "bob-leg")
    for legs in ([alice_leg, bobs], [bobs, alice_leg]):
        err = unchanged(two, lambda legs=legs: two.submit_many(legs), InvalidRequest,
                        "delivery-versus-payment batch 'deal-7': the legs submitted are not the terms the legs were signed for")
        assert "nothing was recorded" in err.line() and "deal file" in err.line()
    # the client refuses to sign it from the deal at all, naming what differs
    with pytest.raises(InvalidRequest, match=f"its {next(iter(change))} is .*leg 2 of the deal says"):
        two.transfer_request(keyset.bob, **{"instrument": CAP2, "amount": 20, "src": "bob", "dst": "alice", "price": None,
                                             **{{"from": "src", "to": "dst"}.get(k, k): v for k, v in change.items()}}, deal=deal)
    honest = two.transfer_request(keyset.bob, CAP2, "20 kg", "bob", "alice", id="bob-leg", deal=deal)
    assert [r.status for r in two.submit_many([alice_leg, honest])] == ["created", "created"]
    assert verify_ledger(two)["ok"]


def test_a_leg_binds_the_number_of_legs(two, keyset, deal7):
    deal, alice_leg = deal7
    bobs = two.transfer_request(keyset.bob, CAP2, "20 kg", "bob", "alice", deal=deal)
    extra = leg_signed(two, keyset.bob, {**deal.legs[1], "instrument": "capacity/1/TP/2024", "to": "carol"}, {**deal.dvp(), "legs": 3})
    unchanged(two, lambda: two.submit_many([alice_leg, bobs, extra]), InvalidRequest, "has 1 of 3 legs")
    # legs that all say 3 (alice's re-signed so) but carry the terms hash of the 2 legs: the hash is over all 3
    three = {**deal.dvp(), "legs": 3}
    legs = [leg_signed(two, keyset.alice, deal.legs[0], three), leg_signed(two, keyset.bob, deal.legs[1], three), extra]
    unchanged(two, lambda: two.submit_many([*legs[:2], leg_signed(two, keyset.bob, extra.request, three)]), InvalidRequest,
              "not the terms the legs were signed for")
    # and 2 legs of a 3-leg deal, which say 2
    bigger = deal_of("deal-7", *(tuple(leg[n] for n in LEG_TERMS) for leg in deal.legs), ("capacity/1/TP/2024", "1 kg", "bob", "carol"))
    short = {**bigger.dvp(), "legs": 2}
    unchanged(two, lambda: two.submit_many([leg_signed(two, keyset.alice, deal.legs[0], short), leg_signed(two, keyset.bob, deal.legs[1], short)]),
              InvalidRequest, "not the terms the legs were signed for")


def test_dvp_refusals(two, keyset):
    d2 = deal_of("d2", (CAP, "1 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"))
    a = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", deal=d2)
    other = deal_of("other", (CAP, "1 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"))
    b_other = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", deal=other)
    unchanged(two, lambda: two.submit_many([a, b_other]), InvalidRequest, "is incomplete")
    plain = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice")
    unchanged(two, lambda: two.submit_many([a, plain]), InvalidRequest, "is incomplete")
    d3 = deal_of("d3", (CAP, "1 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"), (CAP, "2 kg", "alice", "carol"))
    x = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", deal=d3)
    y = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", deal=d3)
    unchanged(two, lambda: two.submit_many([x, y]), InvalidRequest, "2 of 3 legs")
    late = deal_of("late", (CAP, "1 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"), expires="2020-01-01T00:00:00Z")
    p = two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", deal=late)
    q = two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", deal=late)
    unchanged(two, lambda: two.submit_many([p, q]), InvalidRequest, "expired")
    res = two.submit_many([a, two.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", deal=d2)], linked=False)
    assert [r.status for r in res] == ["refused", "refused"] and "independent" in res[0].error.line()
    bad_time = leg_signed(two, keyset.alice, d2.legs[0], dvp("d", 2, "tomorrow", d2.terms))
    unchanged(two, lambda: two.submit_many([bad_time]), InvalidRequest, "not an ISO 8601 time")
    for terms in ("A" * 64, "0" * 63, 7):
        odd = leg_signed(two, keyset.alice, d2.legs[0], {**d2.dvp(), "terms": terms})
        unchanged(two, lambda odd=odd: two.submit_many([odd]), InvalidRequest, "must be 64 lowercase hex digits")
    unchanged(two, lambda: two.submit_many([leg_signed(two, keyset.alice, d2.legs[0], {**d2.dvp(), "note": "x"})]), InvalidRequest,
              "dvp must be {batch, legs, expires, terms}")


def test_new_ledgers_refuse_legs_without_terms(two, keyset):
    assert two.genesis["params"]["rules"] == RULES
    d2 = deal_of("d2", (CAP, "1 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"))
    old = dvp("d2", 2, LATER)
    legs = [leg_signed(two, keyset.alice, d2.legs[0], old), leg_signed(two, keyset.bob, d2.legs[1], old)]
    err = unchanged(two, lambda: two.submit_many(legs), InvalidRequest, "carries no terms: this ledger's legs bind the deal's terms")
    assert "--deal deal.json" in err.line()
    with pytest.raises(InvalidRequest, match="needs its deal"):  # the client says so before signing
        two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=old)
    with pytest.raises(InvalidRequest, match="not both"):
        two.transfer_request(keyset.alice, CAP, "1 kg", "alice", "bob", dvp=d2.dvp(), deal=d2)


def test_earlier_ledgers_keep_their_legs(new_target, keyset, runs, monkeypatch):
    """A ledger whose genesis predates deal terms (no ``rules``) accepts legs without terms, and checks the terms of legs that carry them."""
    earlier_genesis(monkeypatch)
    with Ledger.init(new_target(), keyset.registry, operators=[keyset.operator.public], files=RunFiles()) as led:
        assert "dvp" not in led.genesis["params"]
        for name in ("alice", "bob", "carol"):
            led.open_account(keyset.registry, name, getattr(keyset, name).public)
        led.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
        led.issue(keyset.registry, CAP2, "100 kg", "bob", runs["capacity"])
        old = dvp("old-1", 2, LATER)
        res = led.submit_many([led.transfer_request(keyset.alice, CAP, "5 kg", "alice", "bob", dvp=old),
                               led.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", dvp=old)])
        assert [r.status for r in res] == ["created", "created"]
        unchanged(led, lambda: led.submit(led.transfer_request(keyset.alice, CAP, "5 kg", "alice", "bob", dvp=dvp("old-2", 2, LATER))),
                  InvalidRequest, "a leg alone")
        deal = deal_of("new-1", (CAP, "5 kg", "alice", "bob"), (CAP2, "1 kg", "bob", "alice"))
        a = led.transfer_request(keyset.alice, CAP, "5 kg", "alice", "bob", deal=deal)
        unchanged(led, lambda: led.submit_many([a, leg_signed(led, keyset.bob, {**deal.legs[1], "amount": 50}, deal.dvp())]),
                  InvalidRequest, "not the terms the legs were signed for")
        assert [r.status for r in led.submit_many([a, led.transfer_request(keyset.bob, CAP2, "1 kg", "bob", "alice", deal=deal)])] == ["created"] * 2
        assert verify_ledger(led)["ok"]


def test_genesis_rules_state_what_this_gep_implements():
    base = {"coefficients": {"id": "x", "version": "1", "manifest_sha256": "0" * 64}, "buffer_share": {"capacity": "0", "carbon": "0.2"},
            "rounding": dict(ROUNDING), "units": UNITS}
    assert check_params(base) is base and check_params({**base, "rules": dict(RULES)})
    with pytest.raises(InvalidRequest, match="genesis rules"):
        check_params({**base, "rules": {**RULES, "dvp": "binds the batch"}})
    with pytest.raises(InvalidRequest, match="genesis rules"):
        check_params({**base, "rules": {"dvp": RULES["dvp"]}})  # some of them: not a ledger this gep made
    with pytest.raises(InvalidRequest, match="genesis params must be exactly"):
        check_params({**base, "other": 1})


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


# ----------------------------------------------------------------- rules stated at genesis since December 2026
def test_a_copy_of_a_run_draws_on_the_cap_of_the_same_computation(ledger, keyset, runs, tmp_path):
    """The carbon run's manifest re-written in another JSON layout (its outputs byte-identical) and attested again was a
    second evidence with a cap of its own: 62 t more issued against a computation of 62.345 t (red team, session 8)."""
    import shutil

    from gep.audit.evidence import attest
    from gep.ledger.errors import OverIssuance
    from tests.ledger.helpers import operator

    copy = tmp_path / "copy"
    shutil.copytree(runs["carbon"].parent, copy)
    (copy / "manifest.json.sig").unlink(missing_ok=True)
    (copy / "manifest.json").write_text(json.dumps(json.loads(runs["carbon"].read_text(encoding="utf-8")), indent=2), encoding="utf-8")
    attest(copy / "manifest.json", operator())
    ledger.issue(keyset.registry, "carbon/p1/2022", "10 t", "bob", runs["carbon"])
    unchanged(ledger, lambda: ledger.issue(keyset.registry, "carbon/p9/2022", "52 t", "alice", copy / "manifest.json"), InvalidRequest,
              "already backs instrument carbon/p1/2022")
    unchanged(ledger, lambda: ledger.issue(keyset.registry, "carbon/p1/2022", "52.346 t", "alice", copy / "manifest.json"), OverIssuance)
    ledger.issue(keyset.registry, "carbon/p1/2022", "52.345 t", "alice", copy / "manifest.json")  # the same evidence: 62.345 t in all
    assert verify_ledger(ledger)["ok"]


def test_before_december_2026_a_copy_of_a_run_was_another_evidence(keyset, runs, tmp_path, monkeypatch, new_target):
    import shutil

    from gep.audit.evidence import attest
    from tests.ledger.helpers import operator

    earlier_genesis(monkeypatch)
    copy = tmp_path / "copy"
    shutil.copytree(runs["carbon"].parent, copy)
    (copy / "manifest.json.sig").unlink(missing_ok=True)
    (copy / "manifest.json").write_text(json.dumps(json.loads(runs["carbon"].read_text(encoding="utf-8")), indent=2), encoding="utf-8")
    attest(copy / "manifest.json", operator())
    with Ledger.init(new_target(), keyset.registry, operators=[keyset.operator.public], files=RunFiles()) as led:
        led.open_account(keyset.registry, "bob", keyset.bob.public)
        led.issue(keyset.registry, "carbon/p1/2022", "10 t", "bob", runs["carbon"])
        led.issue(keyset.registry, "carbon/p9/2022", "52 t", "bob", copy / "manifest.json")  # the earlier rule: its genesis keeps it
        assert verify_ledger(led)["ok"]


def test_an_owner_does_not_trade_with_itself(mk, keyset, new_target, monkeypatch):
    """alice's second account bought alice's 1 kg at 999,999 CNY/t: the day's index closed there (red team, session 8)."""
    from gep.ledger.errors import NotAuthorised
    from tests.ledger.market_setup import EMISSION, build

    for env, refused in ((mk, True), (None, False)):
        if env is None:  # a ledger made before December 2026 keeps its rule
            earlier_genesis(monkeypatch)
            env = build(new_target(), keyset)
        m, clk, led = env.m, env.clk, env.led
        led.open_account(keyset.registry, "alice2", keyset.alice.public, zone="4")
        m.deposit(keyset.registry, "alice2", "10000 CNY", reference="bank-alice2")
        lst = m.create_listing(keyset.alice, "alice", EMISSION, "1 kg", "999999", closes=clk.at(hours=5)).seq
        honest = m.create_listing(keyset.alice, "alice", EMISSION, "2 t", "2400", closes=clk.at(hours=5)).seq
        m.bid(keyset.bob, honest, "bob", EMISSION, "2 t", "2400")
        if refused:
            unchanged(led, lambda: m.bid(keyset.alice, lst, "alice2", EMISSION, "1 kg", "999999"), NotAuthorised, "one owner")
        else:
            m.bid(keyset.alice, lst, "alice2", EMISSION, "1 kg", "999999")  # recorded, but left out of the market data
        # a negotiated deal with its own other account stays possible (moving zone-bound rights between one's plants)
        own = m.create_listing(keyset.alice, "alice", EMISSION, "1 kg", "999999", closes=clk.at(hours=5), mechanism="negotiated", counterparty="alice2").seq
        m.bid(keyset.alice, own, "alice2", EMISSION, "1 kg", "999999")
        assert [t["one_owner"] for t in m.trades(EMISSION)] == [False] + [True] * (1 if refused else 2)
        day = m.index(EMISSION, "day")[0]
        assert (day["trades"], day["high"], day["close"], day["vwap"]) == (1, "2400", "2400", "2400.0000")  # only bob's trade
        assert [p["price_cny_per_unit"] for p in led.prices(EMISSION, source="market")] == ["2400"]
        assert verify_ledger(led)["ok"]
        led.close()
