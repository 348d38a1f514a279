"""Certificates of a transaction (record, inclusion proof, signed head) verified offline, and their forgeries."""

from __future__ import annotations

import copy
import json

import pytest

from gep.ledger import certificate
from gep.ledger.errors import AuditFailed, InvalidRequest
from gep.ledger.keys import generate
from tests.ledger.market_setup import EMISSION


def test_certificates_verify_offline_and_forgeries_fail(mk):
    m, led = mk.m, mk.led
    lst = m.create_listing(mk.k.alice, "alice", EMISSION, "2 t", "2500", closes=mk.clk.at(days=5)).seq
    trade = m.bid(mk.k.dave, lst, "dave", EMISSION, "1.2 t", "2500")
    retire = led.retire(mk.k.dave, EMISSION, "0.5 t", "dave", beneficiary="Langxi water works")
    ob = m.oblige(mk.reg, "alice", "emission", 2026, "1 t", mk.clk.at(days=30), pollutant="COD").seq
    surrender = m.surrender(mk.k.alice, EMISSION, "1 t", "alice", ob)
    batch = led.sign_many(mk.k.alice, [("transfer", led.transfer_fields("cash/CNY", "1 CNY", "alice", "treasury"), None) for _ in range(3)])
    paid = led.submit_many(batch)[1]
    certs = {name: certificate.issue(led, str(r.seq)) for name, r in (("trade", trade), ("retire", retire), ("surrender", surrender), ("batch", paid))}
    assert certs["trade"]["statement"]["trades"][0]["received"] == 1000
    r = certs["retire"]["statement"]
    assert (r["kind"], r["from"], r["to"], r["beneficiary"], r["display"]) == ("retirement", "dave", "sys:retirement", "Langxi water works", "0.5 t/yr")
    assert r["serials"] and sum(e - s + 1 for s, e in r["serials"]) == 500
    assert certs["surrender"]["statement"]["obligation"] == ob
    led.transfer(mk.k.bob, "cash/CNY", "1 CNY", "bob", "carol")  # the log grows: certificates drawn earlier stay valid
    for doc in certs.values():
        out = certificate.verify(json.loads(json.dumps(doc)), registry=mk.reg.public)
        assert out["ok"] and out["registry_pinned"]
    assert not certificate.verify(certs["trade"])["registry_pinned"]
    later = led.consistency(certs["trade"]["head"]["tree_size"])  # the published head is of a later tree: proven to extend the certificate's
    assert certificate.verify(certs["trade"], published=[("published", led.head())], consistency=[("proof", later)])["registry_pinned"]

    def forged(edit, match):
        doc = copy.deepcopy(certs["trade"])
        edit(doc)
        with pytest.raises(AuditFailed, match=match):
            certificate.verify(doc)

    forged(lambda d: d.update(record=d["record"].replace('"payment":300000', '"payment":1')), "leaf hash|canonical")
    forged(lambda d: d.update(leaf_hash="00" * 32), "leaf hash")
    forged(lambda d: d["proof"]["path"].__setitem__(0, "00" * 32), "inclusion proof does not lead")
    forged(lambda d: d["head"].update(root_hash="11" * 32), "inclusion proof does not lead|signature")
    forged(lambda d: d["statement"]["trades"][0].update(buyer="mallory"), "statement differs")
    forged(lambda d: d.update(format="x"), "not a ledger certificate")

    other = generate()  # a whole certificate re-signed with another key: caught by pinning
    doc = copy.deepcopy(certs["trade"])
    from gep.ledger.heads import sign_head

    doc["head"] = sign_head(doc["head"]["ledger"], doc["head"]["tree_size"], doc["head"]["root_hash"], doc["head"]["timestamp"], other)
    doc["registry"] = other.public
    assert certificate.verify(doc)["ok"]  # consistent with *some* key ...
    with pytest.raises(AuditFailed, match="not the pinned key"):
        certificate.verify(doc, registry=mk.reg.public)  # ... but not the registry's
    with pytest.raises(AuditFailed, match="not signed by the certificate's registry key"):
        certificate.verify(doc, published=[("published head", led.head())])
    with pytest.raises(InvalidRequest, match="certificates are of"):
        certificate.issue(led, "open-bob")


def test_a_certificate_pins_its_ledger_not_only_the_registry_key(mk):
    # a registry key may sign a test ledger beside the real one: the key alone does not say which log holds the record
    led = mk.led
    doc = certificate.issue(led, str(led.transfer(mk.k.bob, "cash/CNY", "1 CNY", "bob", "carol").seq))
    assert not certificate.verify(doc, registry=mk.reg.public)["ledger_pinned"]
    assert certificate.verify(doc, ledger=led.id)["ledger_pinned"]
    with pytest.raises(AuditFailed, match=f"not of the pinned ledger {'f' * 32}"):
        certificate.verify(doc, registry=mk.reg.public, ledger="f" * 32)
    with pytest.raises(AuditFailed, match="is a head of ledger f+, not of the certificate's ledger"):
        certificate.verify(doc, published=[("the real ledger's head", dict(led.head(), ledger="f" * 32))])


def test_a_certificate_from_a_log_the_registry_does_not_publish_is_caught_by_a_consistency_proof(keyset, tmp_path):
    """The registry keeps two copies of its ledger (same id and key) and certifies a retirement of the one it does not
    publish (red team, session 8): a published head of another size, checked for its signature only, let it pass."""
    import shutil

    from gep.ledger.ledger import Ledger
    from tests.ledger.market_setup import build

    env = build(str(tmp_path / "real.db"), keyset)
    env.led.close()
    shutil.copy(tmp_path / "real.db", tmp_path / "fork.db")
    with Ledger.open(str(tmp_path / "fork.db"), head_key=keyset.registry, clock=env.clk) as fork:
        fake = fork.retire(keyset.alice, EMISSION, "0.15 t", "alice", beneficiary="fake offset")
        cert = certificate.issue(fork, str(fake.seq))
    with Ledger.open(str(tmp_path / "real.db"), head_key=keyset.registry, clock=env.clk) as real:
        honest = certificate.issue(real, str(real.transfer(keyset.bob, "cash/CNY", "1 CNY", "bob", "carol").seq))  # the real record at that place
        real.transfer(keyset.bob, "cash/CNY", "2 CNY", "bob", "carol")
        published = real.head()
        size = cert["head"]["tree_size"]
        proof = real.consistency(size, published["tree_size"])
    with pytest.raises(AuditFailed, match="published.json is a head of .* without a consistency proof"):  # its signature alone shows nothing
        certificate.verify(cert, published=[("published.json", published)])
    with pytest.raises(AuditFailed, match="not the published one"):
        certificate.verify(cert, published=[("published.json", published)], consistency=[("proof.json", proof)])
    out = certificate.verify(honest, published=[("published.json", published)], consistency=[("proof.json", proof)])
    assert out["published_checked"] == ["published.json"]
    with pytest.raises(AuditFailed, match="without a consistency proof"):  # a proof of other sizes does not do
        certificate.verify(honest, published=[("published.json", published)], consistency=[("proof.json", dict(proof, first_size=1))])
    with pytest.raises(AuditFailed, match="joins the certificate's head"):  # nor is it silently ignored
        certificate.verify(honest, published=[("same size", honest["head"])], consistency=[("proof.json", dict(proof, first_size=1))])
