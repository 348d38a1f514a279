"""Certificates: one ledger transaction with the proof that it is in the log.

A certificate is a JSON document anyone can check offline, without gep's
database and without trusting the server that issued it::

    {"format": "gep-certificate/v1",
     "ledger": "<ledger id>", "registry": "<64 hex: registry public key>",
     "record": "<the transaction's canonical record, as text>",
     "leaf_hash": "<64 hex>",
     "proof": {"leaf_index": 11, "tree_size": 40, "path": ["<64 hex>", ...]},
     "head": {"tree_size": 40, "root_hash": "<64 hex>", "timestamp": "...", "signature": null}}

Checks (:func:`verify`; the same in the browser, ``static/ledger.js``):

1. ``leaf_hash`` = SHA-256(0x00 ‖ UTF-8 bytes of ``record``) and ``record`` is canonical;
2. the audit path leads from that leaf at ``leaf_index`` to ``head.root_hash`` in a
   tree of ``head.tree_size`` leaves (RFC 9162 section 2.1.3.2);
3. the request inside the record is signed by its ``signer`` (Ed25519 over
   ``"gep-ledger/v1 request\\n"`` + canonical request) and names this ledger;
4. when the head carries a registry signature (signed tree heads, issue 14), it
   verifies with the registry key.

What a certificate proves is inclusion in the tree whose root is ``head.root_hash``.
That this tree is *the* ledger is established by comparing the head with one
published by the registry (or cosigned by witnesses) — the head you trust.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gep.ledger import keys, merkle
from gep.ledger.canonical import canonical, parse, signing_message
from gep.ledger.errors import LedgerError

__all__ = ["FORMAT", "build", "verify", "head_of", "record_at"]

FORMAT = "gep-certificate/v1"
#: Prefix of a registry-signed tree head (as gep.ledger.canonical.HEAD_DOMAIN on the ledger-trust branch).
HEAD_DOMAIN = b"gep-ledger/v1 tree head\n"


def record_at(led, seq: int) -> dict:
    """The log row of sequence number ``seq`` (never a request whose id happens to be that number)."""
    from gep.ledger.errors import InvalidRequest

    rows = led.page(limit=1, before=int(seq) + 1)
    if not rows or rows[0]["seq"] != int(seq):
        raise InvalidRequest(f"no transaction {seq}", hint="sequence numbers run from 1 to the tree size")
    return rows[0]


def head_of(led, size: int | None = None) -> dict:
    """The tree head after ``size`` records (default: the latest): size, root, time of its last record.

    ``signature`` is null until the ledger signs its tree heads (issue 14, branch
    ledger-trust); the shape is that of ``gep ledger head --json`` so that a signed head
    drops in unchanged.
    """
    current = led.head()
    n = current["size"] if size is None else int(size)
    if n == 0:
        return {"ledger": led.id, "tree_size": 0, "root_hash": current["root"], "timestamp": None, "key_id": None, "signature": None}
    row = record_at(led, n)
    return {"ledger": led.id, "tree_size": n, "root_hash": row["root"], "timestamp": row["record"]["time"],
            "key_id": hashlib.sha256(bytes.fromhex(led.registry)).hexdigest(), "signature": None}


def build(led, seq: int, size: int | None = None) -> dict:
    """The certificate of transaction ``seq`` against the head of ``size`` records (default: latest)."""
    row = record_at(led, seq)
    head = head_of(led, size)
    proof = led.inclusion(int(seq), head["tree_size"])
    return {"format": FORMAT, "ledger": led.id, "registry": led.registry, "seq": row["seq"],
            "record": canonical(row["record"]).decode("utf-8"), "leaf_hash": row["leaf_hash"],
            "proof": {"leaf_index": proof["leaf_index"], "tree_size": proof["tree_size"], "path": proof["path"]},
            "head": head}


def verify(cert: Any, trusted_root: str | None = None) -> dict:
    """Check a certificate offline.

    Parameters
    ----------
    cert : dict
        A certificate (:func:`build`).
    trusted_root : str, optional
        Root hash (hex) of a head you obtained independently; the certificate's head
        must match it.

    Returns
    -------
    dict
        ``{"ok": bool, "checks": [{"check", "ok", "detail"}], "record": dict | None}``; the check ids
        (``format, record, leaf, size, inclusion, ledger, signature, head_signature, trusted_head``)
        are those of the page's verifier (``static/ledger.js``).
    """
    checks: list[dict] = []

    def check(name: str, ok: bool, detail: str = "") -> bool:
        checks.append({"check": name, "ok": bool(ok), "detail": detail})
        return bool(ok)

    record = None
    try:
        if not check("format", isinstance(cert, dict) and cert.get("format") == FORMAT, f"expected {FORMAT}"):
            return {"ok": False, "checks": checks, "record": None}
        data = str(cert["record"]).encode("utf-8")
        try:
            record = parse(data)
            check("record", True, "canonical JSON")
        except LedgerError as exc:
            check("record", False, exc.message)
        leaf = merkle.leaf_hash(data)
        check("leaf", leaf.hex() == cert["leaf_hash"], f"SHA-256(0x00 || record) = {leaf.hex()}")
        proof, head = cert["proof"], cert["head"]
        size = int(head["tree_size"])
        check("size", int(proof["tree_size"]) == size, f"proof {proof['tree_size']}, head {size}")
        path = [bytes.fromhex(p) for p in proof["path"]]
        check("inclusion", merkle.verify_inclusion(leaf, int(proof["leaf_index"]), size, path, bytes.fromhex(head["root_hash"])),
              f"leaf {proof['leaf_index']} of {size} → root {head['root_hash']}")
        if record is not None:
            req = record.get("request", {})
            check("ledger", req.get("ledger") == cert["ledger"], f"request ledger {req.get('ledger')}")
            check("signature", keys.verify(str(req.get("signer")), signing_message(req), str(record.get("signature"))),
                  f"Ed25519 by {str(req.get('signer'))[:16]}…")
        if head.get("signature"):
            fields = {k: head[k] for k in ("ledger", "tree_size", "root_hash", "timestamp", "key_id")}
            check("head_signature", keys.verify(cert["registry"], HEAD_DOMAIN + canonical(fields), head["signature"]), "Ed25519 by the registry key")
        if trusted_root is not None:
            check("trusted_head", head["root_hash"] == trusted_root.lower(), f"trusted {trusted_root}")
    except (KeyError, TypeError, ValueError) as exc:
        check("fields", False, f"missing or malformed: {exc}")
    return {"ok": all(c["ok"] for c in checks), "checks": checks, "record": record}


def main(argv: list[str] | None = None) -> int:
    """``python -m gep.server.certificate CERT.json [--root HEX]``: check a certificate offline.

    Prints one line per check; exit 0 when all pass, 1 when one fails, 2 when the file cannot be read.
    """
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m gep.server.certificate", description="Check a gep ledger certificate offline.")
    ap.add_argument("file", help="certificate JSON (GET /api/v1/ledger/transactions/<seq>/certificate)")
    ap.add_argument("--root", help="root hash (hex) of a tree head you trust, e.g. one the registry published")
    args = ap.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as fh:
            cert = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: cannot read certificate {args.file}: {exc}", file=sys.stderr)
        return 2
    res = verify(cert, args.root)
    for c in res["checks"]:
        print(f"{'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}")
    print("certificate verified" if res["ok"] else "certificate NOT verified")
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
