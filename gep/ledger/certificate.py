"""Certificates of transfer, retirement, surrender or trade, verifiable offline by anyone.

A certificate is one JSON document holding

* the transaction's **record**, as its canonical text (the exact bytes of the log's leaf),
  with the request and its owner's Ed25519 signature inside;
* its RFC 6962 **inclusion proof** (leaf index, tree size, audit path);
* the registry-**signed tree head** of that tree size, and the registry's public key;
* a plain **statement** of what it certifies (kind, instrument, amount, from, to,
  beneficiary, serial numbers, price and payment, time), which verification re-derives
  from the record and compares.

``gep ledger certificate verify FILE`` needs neither the database nor the network: it
checks that the record is canonical JSON, hashes it to its leaf, climbs the audit path
to the head's root (RFC 9162 section 2.1.3.2), checks the head's signature with the
registry key, checks the request's signature by its signer, and re-derives the
statement. The key in the certificate is the one the head is checked against, so pin
it: give the registry's published key (``--registry registry.pub``), or a tree head
published by the registry (``--head``, which must be signed by the same key and, at
the same tree size, carry the same root). Without a pin the check proves only that the
certificate is consistent with *some* key: its fingerprint is printed for comparison.

A certificate drawn at tree size ``n`` stays valid as the log grows: a later published
head proves the first ``n`` records unchanged through a consistency proof
(``gep ledger proof --since n``), and ``gep ledger verify --head`` checks the log
against the head the certificate carries.

References
----------
RFC 6962 section 2.1.1 (audit paths); RFC 9162 section 2.1.3.2 (verifying an inclusion
proof); RFC 8032 (Ed25519).
"""

from __future__ import annotations

from typing import Any, Iterable

from gep.ledger import heads, merkle
from gep.ledger.canonical import SIGNING_DOMAIN, parse_record
from gep.ledger.describe import describe
from gep.ledger.errors import AuditFailed, InvalidRequest, LedgerError
from gep.ledger.model import RETIREMENT, Instrument

__all__ = ["FORMAT", "KINDS", "issue", "verify", "statement_of"]

FORMAT = "gep-ledger-certificate/1"
#: Record type → what its certificate certifies (records that move rights).
KINDS = {"issue": "issuance", "allocate": "allocation", "transfer": "transfer", "retire": "retirement", "cancel": "cancellation",
         "surrender": "surrender", "bid": "trade", "settle": "trade"}


def statement_of(record: dict) -> dict:
    """What a certificate of ``record`` states, derived from the record alone."""
    r, e = record["request"], record["effects"]
    kind = KINDS.get(r["type"])
    if kind is None:
        raise InvalidRequest(f"transaction {record['seq']} is a {r['type']}: certificates are of {', '.join(sorted(set(KINDS.values())))}",
                             hint="give a transaction that moves rights (see `gep ledger history`)")
    out: dict[str, Any] = {"kind": kind, "seq": record["seq"], "time": record["time"], "id": r["id"], "description": describe(record)}
    if kind == "trade":
        trades = e.get("trades", [])
        if not trades:
            raise InvalidRequest(f"transaction {record['seq']} settled no trade", hint="certify a transaction whose effects list trades")
        out["trades"] = [{k: t[k] for k in ("instrument", "seller", "buyer", "quantity", "received", "price", "payment", "ratio")} for t in trades]
        return out
    ins = Instrument.parse(r["instrument"])
    out.update({"instrument": ins.id, "amount": r["amount"], "display": ins.display(r["amount"])})
    if "from" in r:
        out["from"] = r["from"]
    out["to"] = r.get("to", RETIREMENT if kind in ("retirement", "surrender") else "sys:cancellation" if kind == "cancellation" else None)
    for name in ("beneficiary", "price", "obligation"):
        if name in r:
            out[name] = r[name]
    if "serials" in e:
        out["serials"] = e["serials"]
    elif "moves" in e:
        out["serials"] = [s for m in e["moves"] if m[0] == ins.id for s in m[4]]
    return out


def issue(ledger: Any, ref: str | int) -> dict:
    """The certificate of the transaction ``ref`` at the latest signed head.

    ``ref``: a sequence number (an ``int``: never shadowed by a request id), or text naming a
    request id or sequence number (:meth:`~gep.ledger.ledger.Ledger.find`). The audit path is
    read from the stored perfect-subtree hashes (:meth:`~gep.ledger.ledger.Ledger.inclusion`):
    O(log² n) rows whatever the log's length.
    """
    row = ledger.at(ref) if isinstance(ref, int) else ledger.find(ref)
    head = ledger.head()
    seq = row["seq"]
    if seq > head["tree_size"]:  # pragma: no cover - every commit signs its head
        raise LedgerError(f"transaction {seq} is not yet covered by a signed head")
    proof = ledger.inclusion(seq, head["tree_size"])
    data = ledger.store.read(lambda tx: bytes(tx.one("SELECT record FROM log WHERE seq = ?", (seq,))[0]))
    return {"format": FORMAT, "ledger": ledger.id, "registry": ledger.registry, "statement": statement_of(row["record"]),
            "record": data.decode("utf-8"), "leaf_hash": row["leaf_hash"],
            "proof": {"leaf_index": seq - 1, "tree_size": head["tree_size"], "path": proof["path"]},
            "head": head}


def verify(doc: Any, registry: str | None = None, published: Iterable[tuple[str, dict]] = (), ledger: str | None = None,
           consistency: Iterable[tuple[str, dict]] = ()) -> dict:
    """Check a certificate offline (see the module docstring); return its statement and what was checked.

    Parameters
    ----------
    doc : dict
        The certificate.
    registry : str, optional
        The registry's public key (hex) to pin; refused when the certificate names another.
    published : iterable of (name, head)
        Tree heads published by the registry: each must be of the certificate's ledger, signed
        by its registry key, and one of the certificate's tree size must carry its root.
    ledger : str, optional
        The ledger id to pin: a registry key may sign several ledgers (a test ledger beside the
        real one), so a key alone does not say which log holds the record.
    consistency : iterable of (name, proof)
        RFC 6962 consistency proofs (``{first_size, first_root, tree_size, root, path}``, as
        ``gep ledger proof --since M --to N`` or ``GET /api/v1/ledger/consistency`` give them) between
        the certificate's head and a published head of another size. A published head of another
        size without one is refused: a registry keeping two logs could certify a record of the one
        it does not publish, and the head's signature alone does not show which.

    Raises
    ------
    AuditFailed
        Naming the first check that fails (exit code 1).
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AuditFailed(f"not a ledger certificate (format {FORMAT})", hint="give a file written by `gep ledger certificate issue`")
    for name, kind in (("ledger", str), ("registry", str), ("record", str), ("leaf_hash", str), ("proof", dict), ("head", dict), ("statement", dict)):
        if not isinstance(doc.get(name), kind):
            raise AuditFailed(f"the certificate's {name} is missing or malformed")
    key = doc["registry"]
    if ledger is not None and doc["ledger"] != ledger:
        raise AuditFailed(f"the certificate is of ledger {doc['ledger']}, not of the pinned ledger {ledger}",
                          hint="this certificate's record is in another log signed by the same registry")
    if registry is not None and key != registry:
        raise AuditFailed(f"the certificate names registry key {key[:16]}…, not the pinned key {registry[:16]}…",
                          hint="this certificate was not signed by the registry you trust")
    data = doc["record"].encode("utf-8")
    try:
        record, request_bytes = parse_record(data)
    except LedgerError as exc:
        raise AuditFailed(f"the certified record is not canonical: {exc.message}") from exc
    leaf = merkle.leaf_hash(data)
    if leaf.hex() != doc["leaf_hash"]:
        raise AuditFailed("the record does not hash to the certificate's leaf hash (the record was edited)")
    proof, head = doc["proof"], heads.check_shape(doc["head"], "the certificate's head")
    index, size, path = proof.get("leaf_index"), proof.get("tree_size"), proof.get("path")
    if not (isinstance(index, int) and isinstance(size, int) and isinstance(path, list) and all(isinstance(p, str) and len(p) == 64 for p in path)):
        raise AuditFailed("the certificate's inclusion proof is malformed")
    if index != record["seq"] - 1 or size != head["tree_size"]:
        raise AuditFailed(f"the proof is for leaf {index} of a tree of {size}, the record is transaction {record['seq']} and the head covers {head['tree_size']}")
    try:
        hashes = [bytes.fromhex(p) for p in path]
    except ValueError as exc:
        raise AuditFailed("the certificate's inclusion proof is not hex") from exc
    if not merkle.verify_inclusion(leaf, index, size, hashes, bytes.fromhex(head["root_hash"])):
        raise AuditFailed(f"the inclusion proof does not lead from transaction {record['seq']} to the head's root {head['root_hash'][:16]}… (the record is not in that log)")
    if head["ledger"] != doc["ledger"] or record["request"].get("ledger") != doc["ledger"]:
        raise AuditFailed("the head or the request names another ledger than the certificate")
    if not heads.signature_ok(head, key):
        raise AuditFailed(f"the tree head's signature does not verify with registry key {key[:16]}…", hint="the head was forged or edited")
    from gep.ledger.rules import MemoryState, authentic

    if not authentic(MemoryState(), record["request"], record["signature"], SIGNING_DOMAIN + request_bytes):
        raise AuditFailed(f"the request's signature by {str(record['request'].get('signer'))[:16]}… does not verify")
    try:
        stated = statement_of(record)
    except LedgerError as exc:
        raise AuditFailed(exc.message) from exc
    if stated != doc["statement"]:
        raise AuditFailed("the certificate's statement differs from what its record says", hint="the statement was edited; trust the record")
    pinned = registry is not None
    proofs = {(p.get("first_size"), p.get("tree_size")): (name, p) for name, p in consistency if isinstance(p, dict)}
    checked = []
    for name, h in published:
        heads.check_shape(h, name)
        if h["ledger"] != doc["ledger"]:
            raise AuditFailed(f"{name} is a head of ledger {h['ledger']}, not of the certificate's ledger {doc['ledger']}")
        if not heads.signature_ok(h, key):
            raise AuditFailed(f"{name} is not signed by the certificate's registry key {key[:16]}…")
        if h["tree_size"] == head["tree_size"] and h["root_hash"] != head["root_hash"]:
            raise AuditFailed(f"{name} has root {h['root_hash'][:16]}… at tree size {h['tree_size']}, the certificate's head {head['root_hash'][:16]}…")
        pinned = True
        if h["tree_size"] == head["tree_size"]:
            checked.append(name)
            continue
        earlier, later = sorted((head, h), key=lambda x: x["tree_size"])
        found = proofs.pop((earlier["tree_size"], later["tree_size"]), None)
        if found is None:
            raise AuditFailed(f"{name} is a head of {h['tree_size']} records, the certificate's of {head['tree_size']}: without a consistency proof "
                              "between them nothing shows the certificate's log is the published one",
                              hint=f"give --consistency with the registry's `gep ledger proof --since {earlier['tree_size']} --to {later['tree_size']} --json` "
                                   f"(or GET /api/v1/ledger/consistency?first={earlier['tree_size']}&second={later['tree_size']}), or a published head of the certificate's size")
        _check_consistency(found[0], found[1], earlier, later, name)
        checked.append(name)
    if proofs:
        name, p = next(iter(proofs.values()))
        raise AuditFailed(f"{name} is a consistency proof from {p.get('first_size')} to {p.get('tree_size')} records, which joins the certificate's head "
                          f"({head['tree_size']}) to none of the published heads", hint="give the proof between the certificate's tree size and a published head's")
    return {"ok": True, "statement": stated, "ledger": doc["ledger"], "registry": key, "key_id": heads.key_id(key), "registry_pinned": pinned,
            "ledger_pinned": ledger is not None or bool(published), "published_checked": checked,
            "tree_size": head["tree_size"], "root_hash": head["root_hash"], "head_timestamp": head["timestamp"]}


def _check_consistency(name: str, proof: dict, earlier: dict, later: dict, head_name: str) -> None:
    """The consistency proof ``proof`` shows the tree of head ``earlier`` is a prefix of head ``later``'s (RFC 9162 2.1.4.2)."""
    try:
        path = [bytes.fromhex(x) for x in proof["path"]]
        ok = (proof["first_root"] == earlier["root_hash"] and proof["root"] == later["root_hash"]
              and merkle.verify_consistency(earlier["tree_size"], later["tree_size"], bytes.fromhex(earlier["root_hash"]), bytes.fromhex(later["root_hash"]), path))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise AuditFailed(f"{name} does not show that the log of {earlier['tree_size']} records is a prefix of the log of {later['tree_size']} "
                          f"({head_name} and the certificate's head): the certificate's log is not the published one",
                          hint="the registry may keep two logs; ask it for the proof of the published log, or do not accept the certificate")
