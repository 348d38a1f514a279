"""The ledger API on SQLite and PostgreSQL: reads, proofs, certificates, signed writes and every refusal.

Forged, tampered, replayed, expired, misdirected and malformed requests are refused with one
JSON error and leave the ledger unchanged (its signed tree head is compared before and after).
Writes are recorded only by a server holding the registry's head key.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from gep.ledger import heads, merkle
from gep.ledger.canonical import canonical, signing_message
from gep.ledger.certificate import verify
from gep.ledger.errors import AuditFailed
from gep.ledger.rules import VERSION, terms_hash
from gep.server.auth import sign_read
from gep.server.client import Client, ServerError
from tests.server.conftest import INS


def head(c) -> dict:
    return c.get("/api/v1/ledger/head").json()


def post(c, doc, path="/api/v1/ledger/requests", raw: bytes | None = None, ctype="application/json"):
    return c.post(path, content=raw if raw is not None else canonical(doc), headers={"Content-Type": ctype})


def balance(c, account) -> int:
    rows = c.get(f"/api/v1/ledger/balances?account={account}&instrument={INS}").json()
    return rows[0]["amount"] if rows else 0


# --------------------------------------------------------------------------- reads


def test_reads(server):
    s = server()
    c = s.client
    info = c.get("/api/v1/ledger").json()
    assert info["ledger"] == s.ledger and info["registry"] == s.keys.registry.public and info["version"] == VERSION and info["writable"]
    assert info["head"]["tree_size"] == s.size and heads.signature_ok(info["head"], s.keys.registry.public)
    accts = {a["id"]: a for a in c.get("/api/v1/ledger/accounts").json()}
    assert accts["alice"]["owner"] == s.keys.alice.public and accts["sys:issuance"]["kind"] == "issuance"
    assert balance(c, "alice") == 3000 and balance(c, "bob") == 1000
    ins = {i["instrument"]: i for i in c.get("/api/v1/ledger/instruments").json()}
    assert ins[INS]["issued"] == 4000 and ins[INS]["held"] == 4000 and ins[INS]["display"]["issued"] == "4 t/yr"
    prices = c.get("/api/v1/ledger/prices", params={"instrument": INS}).json()
    assert prices[0]["price_cny_per_unit"] == "1186.71" and prices[0]["notional_cny"] == "1186.71"
    acct = c.get("/api/v1/ledger/accounts/bob").json()
    assert acct["balances"][0]["display"] == "1 t/yr"
    assert c.get("/api/v1/ledger/accounts/nobody").status_code == 404


def test_history_pages_newest_first(server):
    c = server().client
    n = c.get("/api/v1/ledger/head").json()["tree_size"]
    first = c.get("/api/v1/ledger/transactions?limit=4").json()
    assert [i["seq"] for i in first["items"]] == [n, n - 1, n - 2, n - 3] and first["next_before"] == n - 3
    rest = c.get(f"/api/v1/ledger/transactions?limit={n}&before={first['next_before']}").json()
    assert [i["seq"] for i in rest["items"]] == list(range(n - 4, 0, -1)) and rest["next_before"] is None
    alice = c.get("/api/v1/ledger/accounts/alice/history").json()
    types = [i["record"]["request"]["type"] for i in alice["items"]]
    assert types[:2] == ["transfer", "issue"] and types[-1] == "open"
    assert c.get("/api/v1/ledger/transactions?limit=0").status_code == 422


def test_proofs_and_certificates_verify_offline(server):
    s = server()
    c = s.client
    h = head(c)
    for seq in range(1, h["tree_size"] + 1):
        p = c.get(f"/api/v1/ledger/transactions/{seq}/proof").json()
        assert merkle.verify_inclusion(bytes.fromhex(p["leaf_hash"]), seq - 1, p["tree_size"], [bytes.fromhex(x) for x in p["path"]],
                                       bytes.fromhex(h["root_hash"]))
    # every transaction that moves rights has a certificate, checked offline against the pinned registry key
    for seq in (s.size, s.size - 1):
        cert = c.get(f"/api/v1/ledger/transactions/{seq}/certificate").json()
        res = verify(json.loads(json.dumps(cert)), registry=s.keys.registry.public, published=[("head", h)])
        assert res["ok"] and res["registry_pinned"] and res["statement"]["seq"] == seq
    assert c.get("/api/v1/ledger/transactions/2/certificate").status_code == 404  # an account opening certifies nothing
    # a proof against an older tree
    p = c.get("/api/v1/ledger/transactions/2/proof?size=3").json()
    assert p["tree_size"] == 3 and p["root"] == c.get("/api/v1/ledger/transactions/3").json()["root"]
    assert c.get("/api/v1/ledger/transactions/999/proof").status_code == 404
    assert c.get("/api/v1/ledger/transactions/5/proof?size=3").status_code == 404


@pytest.mark.parametrize("tamper, message", [
    (lambda d: d.update(record=d["record"].replace('"amount":1000', '"amount":9000')), "does not hash to the certificate's leaf"),
    (lambda d: d["proof"]["path"].__setitem__(0, "00" * 32), "inclusion proof does not lead"),
    (lambda d: d["head"].update(root_hash="11" * 32), "inclusion proof does not lead"),
    (lambda d: d["head"].update(signature="00" * 64), "head's signature does not verify"),
    (lambda d: d.update(leaf_hash="22" * 32), "does not hash to the certificate's leaf"),
    (lambda d: d["proof"].update(leaf_index=0), "the proof is for leaf 0"),
    (lambda d: d.update(registry="ab" * 32), "not the pinned key"),
    (lambda d: d["statement"].update(display="9 t/yr"), "statement differs"),
    (lambda d: d.update(format="x"), "not a ledger certificate"),
])
def test_a_tampered_certificate_fails_the_check_it_breaks(server, tamper, message):
    s = server()
    cert = s.client.get(f"/api/v1/ledger/transactions/{s.size}/certificate").json()
    bad = copy.deepcopy(cert)
    tamper(bad)
    with pytest.raises(AuditFailed, match=message):
        verify(bad, registry=s.keys.registry.public)


def test_request_ids_are_looked_up_with_their_signer(server):
    s = server()
    c = s.client
    ok = c.get(f"/api/v1/ledger/requests/{s.keys.alice.public}/deal-1")
    assert ok.status_code == 200 and ok.json()["seq"] == s.size
    assert c.get(f"/api/v1/ledger/requests/{s.keys.bob.public}/deal-1").status_code == 404
    Client(http=c).transfer(s.keys.bob, INS, "1 kg", "bob", "alice", id="deal-1")  # bob's own id 'deal-1'
    assert c.get(f"/api/v1/ledger/requests/{s.keys.alice.public}/deal-1").json()["seq"] == s.size  # still alice's
    assert c.get(f"/api/v1/ledger/requests/{s.keys.bob.public}/deal-1").json()["seq"] == s.size + 1


def test_a_ledger_that_is_not_public_does_not_say_whether_a_request_id_was_used(server):
    s = server(ledger_access="owners")
    c, k = s.client, s.keys
    for key, status in ((None, 401), (k.bob, 403), (k.carol, 403)):  # bob is a party to deal-1, not its signer
        for rid in ("deal-1", "never-used"):
            path = f"/api/v1/ledger/requests/{k.alice.public}/{rid}"
            r = c.get(path, headers={"Authorization": sign_read(key, "GET", path)} if key else {})
            assert r.status_code == status, (key, rid)
    for key in (k.alice, k.registry):  # the signer, a reader of everything
        path = f"/api/v1/ledger/requests/{k.alice.public}/deal-1"
        assert c.get(path, headers={"Authorization": sign_read(key, "GET", path)}).json()["seq"] == s.size
        path = f"/api/v1/ledger/requests/{k.alice.public}/never-used"
        assert c.get(path, headers={"Authorization": sign_read(key, "GET", path)}).status_code == 404


def test_amount_parsing_for_forms(server):
    c = server().client
    r = c.get("/api/v1/ledger/amounts", params={"instrument": INS, "amount": "1.5 t", "price": "0.07 CNY/kg"}).json()
    assert r["amount"] == 1500 and r["amount_text"] == "1500" and r["price"] == "70" and r["notional_cny"] == "105"
    bad = c.get("/api/v1/ledger/amounts", params={"instrument": INS, "amount": "1 ha"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "UnitMismatch"


# --------------------------------------------------------------------------- writes


def test_signed_transfer_through_the_client_and_replay(server):
    s = server()
    cl = Client(http=s.client)
    res = cl.transfer(s.keys.alice, INS, "500 kg", "alice", "carol", price="1200", id="web-1")
    assert res["status"] == "created" and res["seq"] == s.size + 1
    assert heads.signature_ok(res["head"], s.keys.registry.public) and res["head"]["tree_size"] == s.size + 1  # signed with the head key
    assert cl.verify(cl.certificate(s.size + 1), registry=s.keys.registry.public)["ok"]
    # the identical signed request again: refused as a replay, nothing recorded again
    signed = {"request": res["record"]["request"], "signature": res["record"]["signature"]}
    before = head(s.client)
    r = post(s.client, signed)
    assert r.status_code == 409 and r.json()["status"] == "exists" and r.json()["error"]["type"] == "Replayed"
    assert head(s.client) == before and balance(s.client, "carol") == 500
    # the client treats a replay as the original outcome (idempotent retries)
    assert cl.submit(signed)["seq"] == s.size + 1
    # request ids belong to their signers: bob may use the id alice used
    assert cl.transfer(s.keys.bob, INS, "1 kg", "bob", "carol", id="web-1")["seq"] == s.size + 2


def test_a_server_without_the_head_key_records_nothing(server):
    s = server(head_key=None)
    assert s.client.get("/api/v1/ledger").json()["writable"] is False
    before = head(s.client)
    r = post(s.client, _signed(s, s.keys.alice, T))
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAuthorised" and "head key" in r.json()["error"]["hint"]
    assert head(s.client) == before


def _signed(s, key, fields, id="x-1", ledger=None, type_="transfer", v=VERSION) -> dict:
    request = {"v": v, "ledger": ledger or s.ledger, "id": id, "type": type_, "signer": key.public, **fields}
    return {"request": request, "signature": key.sign(signing_message(request))}


T = {"instrument": INS, "amount": 100, "from": "alice", "to": "bob"}


@pytest.mark.parametrize("make, status, kind", [
    (lambda s: {**_signed(s, s.keys.alice, T), "signature": "00" * 64}, 401, "BadSignature"),                      # forged signature
    (lambda s: {**_signed(s, s.keys.alice, T), "request": {**_signed(s, s.keys.alice, T)["request"], "amount": 2999}}, 401, "BadSignature"),  # body changed after signing
    (lambda s: _signed(s, s.keys.mallory, T), 403, "NotAuthorised"),                                               # someone else's account
    (lambda s: _signed(s, s.keys.bob, T), 403, "NotAuthorised"),                                                   # bob signs alice's transfer
    (lambda s: _signed(s, s.keys.alice, T, ledger="0" * 32), 400, "InvalidRequest"),                               # replay on another ledger
    (lambda s: _signed(s, s.keys.alice, T, v=2), 400, "InvalidRequest"),                                           # the old request format
    (lambda s: _signed(s, s.keys.alice, {**T, "dvp": {"batch": "b1", "legs": 2, "expires": "2026-01-01T00:00:00Z"}}), 400, "InvalidRequest"),  # a lone DvP leg
    (lambda s: _signed(s, s.keys.alice, {**T, "amount": 10**6}), 422, "InsufficientBalance"),
    (lambda s: _signed(s, s.keys.alice, {**T, "to": "nobody"}), 422, "UnknownAccount"),
    (lambda s: _signed(s, s.keys.alice, {**T, "amount": -5}), 400, "InvalidAmount"),
    (lambda s: _signed(s, s.keys.alice, {**T, "extra": 1}), 400, "InvalidRequest"),
    (lambda s: _signed(s, s.keys.alice, T, id="deal-1"), 409, "IdConflict"),                                       # an existing id, another body
    (lambda s: {"request": "x", "signature": "y"}, 400, "InvalidRequest"),
    (lambda s: {**_signed(s, s.keys.alice, T), "sneaky": True}, 400, "InvalidRequest"),
])
def test_refused_writes_change_nothing(server, make, status, kind):
    s = server()
    before = head(s.client)
    r = post(s.client, make(s))
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == kind and r.json()["error"]["message"]
    assert head(s.client) == before


@pytest.mark.parametrize("raw, ctype, status, kind", [
    (b'{"request": {"amount": 1.5}, "signature": "00"}', "application/json", 400, "InvalidRequest"),      # binary float
    (b'{"request": {"amount": ' + b"9" * 5000 + b'}, "signature": "00"}', "application/json", 400, "InputError"),  # 5,000 digits
    (b'{"request": {"amount": NaN}}', "application/json", 400, "InvalidRequest"),
    (b"\xff\xfe", "application/json", 400, "InvalidRequest"),
    (b"not json", "application/json", 400, "InvalidRequest"),
    (b"request=x&signature=y", "application/x-www-form-urlencoded", 415, "UnsupportedMedia"),           # a cross-site form post
    (b'{"request": {}, "signature": "00"}', "text/plain", 415, "UnsupportedMedia"),
    (b'{"pad": "' + b"x" * 70000 + b'"}', "application/json", 413, "TooLarge"),                         # larger than max_body
    (b'{"request": {"memo": "\\ud800"}, "signature": "00"}', "application/json", 400, "InvalidRequest"),  # a lone surrogate
    (b'{"request": {"id": "x\\u0000"}, "signature": "00"}', "application/json", 400, "InvalidRequest"),   # a NUL (PostgreSQL refuses it)
    (b"[" * 5000 + b"]" * 5000, "application/json", 400, "InvalidRequest"),                               # nested too deeply
])
def test_malformed_bodies_are_refused_quickly(server, raw, ctype, status, kind):
    s = server()
    t0 = time.perf_counter()
    r = post(s.client, None, raw=raw, ctype=ctype)
    assert time.perf_counter() - t0 < 5  # generous: a shared machine; the point is no 26 s parse
    assert r.status_code == status and r.json()["error"]["type"] == kind


@pytest.mark.parametrize("url, status", [
    ("/api/v1/ledger/balances?instrument=a%00", 400),            # a NUL would reach the database
    ("/api/v1/ledger/requests/abc/a%00", 400),
    ("/api/v1/market/trades?account=a%00", 400),
    ("/api/v1/market/trades?listing=99999999999999999999999", 422),  # beyond SQL's 64-bit integers
    ("/api/v1/market/listings/99999999999999999999999", 422),
    ("/api/v1/ledger/transactions?before=99999999999999999999999", 422),
    ("/api/v1/runs/a%00b/gep", 400),
])
def test_hostile_urls_get_one_json_error(server, url, status):
    r = server().client.get(url)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"] and "Traceback" not in r.text


def test_a_run_not_found_does_not_name_the_servers_folders(server):
    s = server()
    r = s.client.get("/api/v1/runs/etc/gep")
    assert r.status_code == 404 and str(s.runs) not in r.text


def test_a_storage_error_is_logged_and_not_sent(server, monkeypatch, caplog):
    from gep.ledger.errors import StorageError
    from gep.ledger.ledger import Ledger

    s = server()

    def broken(self, *a, **k):
        raise StorageError("postgresql://gep:***@db.internal:5432/gep: the server closed the connection")

    monkeypatch.setattr(Ledger, "balances", broken)
    r = s.client.get("/api/v1/ledger/balances")
    assert r.status_code == 503 and r.json()["error"]["type"] == "StorageError"
    assert "db.internal" not in r.text and "db.internal" in caplog.text


def test_a_large_body_is_refused_before_it_is_read_whole(server):
    s = server()

    def chunks():  # streamed without Content-Length: the server stops reading past max_body
        yield b'{"pad": "'
        for _ in range(10_000):
            yield b"x" * 1000
        yield b'"}'

    r = s.client.post("/api/v1/ledger/requests", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "TooLarge"


def test_linked_batch_is_all_or_nothing(server):
    s = server()
    ok_leg = _signed(s, s.keys.alice, {**T, "amount": 500}, id="dvp-a")
    bad_leg = _signed(s, s.keys.bob, {"instrument": INS, "amount": 5000, "from": "bob", "to": "alice"}, id="dvp-b")
    before = head(s.client)
    r = post(s.client, {"linked": True, "items": [ok_leg, bad_leg]}, path="/api/v1/ledger/batches")
    assert r.status_code == 422 and r.json()["error"]["type"] == "InsufficientBalance"
    assert "linked operation 2 of 2" in r.json()["error"]["where"]
    assert head(s.client) == before
    good = _signed(s, s.keys.bob, {"instrument": INS, "amount": 200, "from": "bob", "to": "alice"}, id="dvp-c")
    r = post(s.client, {"linked": True, "items": [ok_leg, good]}, path="/api/v1/ledger/batches")
    assert r.status_code == 201 and [x["seq"] for x in r.json()["results"]] == [s.size + 1, s.size + 2]
    assert post(s.client, {"items": []}, path="/api/v1/ledger/batches").status_code == 400


def test_delivery_versus_payment_legs_expire(server):
    """Two legs signed by their owners in the new request format (``dvp``: batch, legs, expiry, terms hash), recorded together or not at all."""
    s = server()
    cash = {"instrument": "cash/CNY", "from": "bob", "to": "alice", "amount": 120_000}  # 1200.00 CNY in fen
    credits = {**T, "amount": 1000}

    def legs(expires: str, batch: str, paid: dict = cash) -> list[dict]:
        dvp = {"batch": batch, "legs": 2, "expires": expires, "terms": terms_hash([credits, cash])}
        return [_signed(s, s.keys.alice, {**credits, "dvp": dvp}, id=f"{batch}-credits"),
                _signed(s, s.keys.bob, {**paid, "dvp": dvp}, id=f"{batch}-cash")]

    before = head(s.client)
    r = post(s.client, {"items": legs(s.clock.at(minutes=-1), "late")}, path="/api/v1/ledger/batches")
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]
    assert head(s.client) == before
    r = post(s.client, {"items": legs(s.clock.at(hours=1), "short", {**cash, "amount": 1})}, path="/api/v1/ledger/batches")  # bob pays 0.01 CNY
    assert r.status_code == 400 and "not the terms the legs were signed for" in r.json()["error"]["message"]
    assert head(s.client) == before
    r = post(s.client, {"items": legs(s.clock.at(hours=1), "deal-2")}, path="/api/v1/ledger/batches")
    assert r.status_code == 201, r.text
    assert balance(s.client, "bob") == 2000
    # the same legs again: replays, nothing recorded twice; after the expiry they are void anyway
    again = post(s.client, {"items": legs(s.clock.at(hours=1), "deal-2")}, path="/api/v1/ledger/batches")
    assert again.status_code == 409


def test_issuance_cites_a_served_run(server):
    s = server()
    cl = Client(http=s.client)
    from gep.ledger.evidence import selector
    from gep.ledger.model import Instrument

    ins = Instrument.parse("capacity/1/TP/2024")
    man = s.runs / "capacity-run" / "manifest.json"
    from gep.io.coefficient_files import sha256_file

    signed = cl.sign(s.keys.registry, "issue", {"instrument": ins.id, "amount": 300, "to": "alice",
                                                "evidence": {"manifest_sha256": sha256_file(man), "selector": selector(ins)}})
    r = cl.submit(signed, evidence="capacity-run")
    assert r["status"] == "created" and r["record"]["effects"]["evidence"]["cap"] == 300
    more = cl.sign(s.keys.registry, "issue", {"instrument": ins.id, "amount": 1, "to": "alice", "evidence": signed["request"]["evidence"]})
    with pytest.raises(ServerError) as e:  # beyond what the run computed
        cl.submit(more, evidence="capacity-run")
    assert e.value.status == 422 and e.value.type == "OverIssuance"
    with pytest.raises(ServerError) as e:  # evidence outside the served runs
        cl.submit(more, evidence="../etc")
    assert e.value.status == 404


def test_an_issuance_not_signed_by_the_registry_is_refused_before_its_run_is_read(server, monkeypatch):
    """Resolving evidence hashes every output of the run and may replay it: nobody but the registry may make the server
    do that (red team, session 8: an unauthenticated CPU amplification)."""
    from gep.ledger import evidence

    s = server()
    monkeypatch.setattr(evidence, "resolve", lambda *a, **k: pytest.fail("the run was read for an unauthorised request"))
    fields = {"instrument": "capacity/1/TP/2024", "amount": 1, "to": "alice", "evidence": {"manifest_sha256": "0" * 64, "selector": {}}}
    r = post(s.client, {**_signed(s, s.keys.mallory, fields, type_="issue"), "evidence": "capacity-run"})
    assert r.status_code == 403 and r.json()["error"]["type"] == "NotAuthorised"
    forged = {**_signed(s, s.keys.registry, fields, type_="issue"), "evidence": "capacity-run", "signature": "00" * 64}
    r = post(s.client, forged)
    assert r.status_code == 401 and r.json()["error"]["type"] == "BadSignature"
    r = post(s.client, {"items": [{**_signed(s, s.keys.mallory, fields, type_="issue", id="b-1"), "evidence": "capacity-run"}]}, path="/api/v1/ledger/batches")
    assert r.status_code == 403


def test_rate_limits_answer_429_with_retry_after(server):
    s = server(read_limit="5/minute", write_limit="2/minute")
    codes = [s.client.get("/api/v1/ledger/head").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = s.client.get("/api/v1/ledger/head")
    assert r.json()["error"]["type"] == "RateLimited" and int(r.headers["Retry-After"]) >= 1
    w = [post(s.client, {"request": {}, "signature": ""}).status_code for _ in range(3)]
    assert w == [400, 400, 429]


def test_no_cookies_and_strict_headers(server):
    r = server().client.get("/api/v1/ledger")
    assert "set-cookie" not in r.headers
    assert "script-src 'self'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in r.headers


# --------------------------------------------------------------------------- role-restricted reads


def test_owners_mode(server):
    s = server(ledger_access="owners")
    c, k = s.client, s.keys

    def get(url, key=None, method="GET", when=None):
        path, _, query = url.partition("?")
        headers = {"Authorization": sign_read(key, method, path, query, when)} if key else {}
        return c.get(url, headers=headers)

    assert get("/api/v1/ledger/accounts/alice").status_code == 401
    assert get("/api/v1/ledger/accounts/alice", k.alice).status_code == 200
    assert get("/api/v1/ledger/accounts/alice", k.bob).status_code == 403
    assert get("/api/v1/ledger/accounts/alice", k.registry).status_code == 200
    assert get("/api/v1/ledger/accounts/alice/history?limit=5", k.alice).status_code == 200
    assert get("/api/v1/ledger/accounts", k.alice).status_code == 403           # the list of all accounts: readers only
    assert get("/api/v1/ledger/accounts/nobody", k.bob).status_code == 403      # refused as alice's account is: existence not told
    assert get("/api/v1/ledger/accounts/nobody").status_code == 401
    assert get("/api/v1/ledger/accounts/nobody", k.registry).status_code == 404  # a reader of everything learns it
    deal = f"/api/v1/ledger/transactions/{s.size}"
    assert get(deal + "/certificate", k.bob).status_code == 200   # a party to deal-1
    assert get(deal + "/certificate", k.carol).status_code == 403
    assert get(deal + "/proof").status_code == 200        # hashes only: public
    assert get("/api/v1/ledger/head").status_code == 200                        # heads are published
    assert get("/api/v1/ledger/accounts/alice", k.alice, when="2020-01-01T00:00:00Z").status_code == 401   # stale signature
    bad = c.get("/api/v1/ledger/accounts/alice", headers={"Authorization": "GEP-Ed25519 key=" + "0" * 64})
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "Unauthorised"
    # a signed read of one URL does not open another
    h = sign_read(k.alice, "GET", "/api/v1/ledger/accounts/alice")
    assert c.get("/api/v1/ledger/accounts/bob", headers={"Authorization": h}).status_code == 401


def test_readers_mode_and_listed_auditors(server):
    from gep.ledger import keys

    auditor = keys.generate()
    s = server(ledger_access="readers", readers=(auditor.public,))
    h = {"Authorization": sign_read(auditor, "GET", "/api/v1/ledger/accounts")}
    assert s.client.get("/api/v1/ledger/accounts", headers=h).status_code == 200
    h = {"Authorization": sign_read(s.keys.alice, "GET", "/api/v1/ledger/accounts/alice")}
    assert s.client.get("/api/v1/ledger/accounts/alice", headers=h).status_code == 403


def test_a_numeric_request_id_never_shadows_a_sequence_number(server):
    s = server()
    cl = Client(http=s.client)
    res = cl.transfer(s.keys.alice, INS, "1 kg", "alice", "bob", id=str(s.size))  # a valid client id, as the CLI allows
    assert res["seq"] == s.size + 1
    assert s.client.get(f"/api/v1/ledger/transactions/{s.size}").json()["record"]["request"]["id"] == "deal-1"
    assert verify(s.client.get(f"/api/v1/ledger/transactions/{s.size}/certificate").json())["statement"]["id"] == "deal-1"
    assert s.client.get(f"/api/v1/ledger/requests/{s.keys.alice.public}/{s.size}").json()["seq"] == s.size + 1


def test_consistency_proofs_hold_the_registry_to_a_head_you_kept(server):
    s = server()
    c = s.client
    kept = head(c)
    cl = Client(http=s.client)
    cl.transfer(s.keys.bob, INS, "100 kg", "bob", "carol")
    n = s.size + 1
    for first in range(0, n + 1):
        p = c.get(f"/api/v1/ledger/consistency?first={first}").json()
        assert p["tree_size"] == n
        assert merkle.verify_consistency(first, n, bytes.fromhex(p["first_root"]), bytes.fromhex(p["root"]), [bytes.fromhex(x) for x in p["path"]])
    assert cl.check_head(kept["tree_size"], kept["root_hash"])
    assert not cl.check_head(kept["tree_size"], "ab" * 32)  # a head the log does not extend (a rewritten history would answer so)
    assert c.get("/api/v1/ledger/consistency?first=999").status_code == 404


def test_certificate_checked_offline_with_the_cli(server, tmp_path):
    """A certificate fetched from the server is the CLI's own format: `gep ledger certificate verify` checks it."""
    from typer.testing import CliRunner

    from gep.cli.app import app

    s = server()
    cert = s.client.get(f"/api/v1/ledger/transactions/{s.size}/certificate").json()
    good = tmp_path / "cert.json"
    good.write_text(json.dumps(cert), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["ledger", "certificate", "verify", str(good), "--registry", s.keys.registry.public])
    assert res.exit_code == 0, res.output
    cert["record"] = cert["record"].replace("1186.71", "1.71")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(cert), encoding="utf-8")
    assert runner.invoke(app, ["ledger", "certificate", "verify", str(bad), "--registry", s.keys.registry.public]).exit_code == 1
