"""Deals: a deal file read and normalised as transfers are, its terms hash, and the leg each party may sign from it."""

from __future__ import annotations

import pytest

from gep.ledger.deal import read, transfer_terms
from gep.ledger.errors import InvalidAmount, InvalidRequest, LedgerError
from gep.ledger.rules import MAX_DVP_LEGS, terms_hash

CAP = "capacity/3/COD/2024"
CARBON = "carbon/p1/2022"
A = {"instrument": CAP, "amount": "30 kg", "from": "alice", "to": "bob", "price": "1186.71"}
B = {"instrument": CARBON, "amount": "2 t", "from": "bob", "to": "alice"}


def doc(*legs: dict, **top) -> dict:
    return {"batch": "deal-7", "expires": "2026-12-01T00:00:00Z", "legs": list(legs or (A, B)), **top}


def test_a_deal_is_normalised_as_its_transfers_are():
    deal = read(doc())
    assert deal.legs == (transfer_terms(CAP, "30 kg", "alice", "bob", "1186.71"), transfer_terms(CARBON, "2 t", "bob", "alice"))
    assert deal.legs[1] == {"instrument": CARBON, "amount": 2000, "from": "bob", "to": "alice", "price": None}
    assert deal.terms == terms_hash(deal.legs) and len(deal.terms) == 64
    # the same deal written otherwise: legs in another order, amounts and prices in other units or forms
    same = read(doc({**B, "amount": 2000}, {**A, "amount": "0.03 t", "price": "1186.710"}))
    assert same.terms == deal.terms
    assert deal.dvp() == {"batch": "deal-7", "legs": 2, "expires": "2026-12-01T00:00:00Z", "terms": deal.terms}
    assert deal.as_dict()["terms"] == deal.terms and deal.as_dict()["legs"][0]["amount"] == 30


def test_a_party_signs_only_a_leg_of_the_deal():
    deal = read(doc())
    assert deal.leg(transfer_terms(CARBON, "2000 kg", "bob", "alice")) == deal.dvp()
    with pytest.raises(InvalidRequest, match=r"its amount is 0.001 tCO2e \(1 base units\), leg 2 of the deal says 2 tCO2e \(2000 base units\)"):
        deal.leg(transfer_terms(CARBON, "1 kg", "bob", "alice"))
    with pytest.raises(InvalidRequest, match="its price is none, leg 1 of the deal says '1186.71'"):
        deal.leg(transfer_terms(CAP, "30 kg", "alice", "bob"))
    with pytest.raises(InvalidRequest, match=r"this transfer \(2 tCO2e of carbon/p1/2022 alice → bob\) is not a leg of deal 'deal-7'") as info:
        deal.leg(transfer_terms(CARBON, "2 t", "alice", "bob"))
    assert "the deal's legs: 0.03 t/yr of capacity/3/COD/2024 alice → bob at 1186.71 CNY/(t/yr); 2 tCO2e" in info.value.line()


@pytest.mark.parametrize("bad, message", [
    ([], "a deal must be a JSON object"),
    ({"batch": "deal-7", "legs": [A, B]}, "deal: lacks field(s) expires"),
    (doc(expiry="2027-01-01T00:00:00Z"), "has unknown field(s) expiry"),
    (doc(batch="deal 7"), "batch 'deal 7' is not a valid batch id"),
    (doc(expires="soon"), "expires 'soon' is not an ISO 8601 time"),
    (doc(A), "legs must be a list of 2 to 16 transfers, not 1"),
    (doc(*[{**A, "amount": f"{i} kg"} for i in range(1, MAX_DVP_LEGS + 2)]), "not 17"),
    ({**doc(), "legs": {"a": A}}, "legs must be a list of 2 to 16"),
    (doc(A, "B"), "deal, leg 2: a leg must be a JSON object"),
    (doc(A, {k: v for k, v in B.items() if k != "to"}), "deal, leg 2: lacks field(s) to"),
    (doc(A, {**B, "memo": "x"}), "deal, leg 2: has unknown field(s) memo"),
    (doc(A, {**B, "amount": "2 ha"}), "deal, leg 2: amount: unit 'ha'"),
    (doc(A, {**B, "amount": "0 t"}), "deal, leg 2: amount '0 t' is not positive"),
    (doc(A, {**B, "amount": [2]}), "deal, leg 2: amount [2] must be text with a unit"),
    (doc(A, {**B, "amount": True}), "must be text with a unit"),
    (doc(A, {**B, "price": "free"}), "deal, leg 2: "),
    (doc(A, {**B, "price": {"CNY": 1}}), "price {'CNY': 1} must be a number"),
    (doc(A, {**B, "instrument": "carbon/p1"}), "deal, leg 2: "),
    (doc(A, {**B, "instrument": 7}), "instrument 7 must be a string"),
    (doc(A, {**B, "to": "bo b"}), "deal, leg 2: to id 'bo b' is not valid"),
    (doc(A, {**B, "to": "bob"}), "deal, leg 2: a leg from bob to itself"),
    (doc(A, B, {**B, "amount": "2000 kg"}), "deal: leg 3 is the same transfer as leg 2"),
])
def test_bad_deals_are_refused_with_one_line(bad, message):
    with pytest.raises(LedgerError) as info:
        read(bad)
    assert message in info.value.line() and "\n" not in info.value.line()
    assert isinstance(info.value, (InvalidRequest, InvalidAmount))
