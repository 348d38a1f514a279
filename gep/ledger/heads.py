"""Signed tree heads of the ledger log, and witness cosignatures (as in Certificate Transparency).

Every commit yields a head: the log's size and RFC 6962 root after the commit,
the time of its last record, and the registry's Ed25519 signature::

    {"ledger": "<ledger id>", "tree_size": 12, "root_hash": "<64 hex>",
     "timestamp": "2026-11-24T08:00:00.123456Z", "key_id": "<64 hex>",
     "signature": "<128 hex>"}

``key_id`` is the SHA-256 of the registry's raw 32-byte public key (as a CT log
id is the hash of its key); ``signature`` is Ed25519 over
``HEAD_DOMAIN + canonical({ledger, tree_size, root_hash, timestamp, key_id})``
(RFC 8785 JSON, :mod:`gep.ledger.canonical`). A witness that checked a head
against the log (and against the last head it saw) adds a cosignature
``{"key_id", "signature"}`` over ``WITNESS_DOMAIN`` + the same bytes.

Whoever can write the database can rewrite history and recompute every hash,
but cannot sign a head: a head kept outside the database (published, mailed to
participants, cosigned by witnesses) fixes the first ``tree_size`` records for
good. ``gep ledger verify --head FILE`` checks the log against it.

References
----------
RFC 6962 section 3.5 (signed tree heads); RFC 9162 section 4.10; C2SP tlog-cosignature
(witness cosignatures of checkpoints).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from gep.ledger import keys
from gep.ledger.canonical import HEAD_DOMAIN, WITNESS_DOMAIN, canonical
from gep.ledger.errors import AuditFailed, InvalidRequest

__all__ = ["HEAD_FIELDS", "key_id", "sign_head", "head_message", "check_shape", "signature_ok", "cosign", "cosignature_ok"]

#: The fields a head's signature covers, besides which it holds ``signature`` (and optionally ``cosignatures``).
HEAD_FIELDS = ("ledger", "tree_size", "root_hash", "timestamp", "key_id")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


def key_id(public: str) -> str:
    """SHA-256 (hex) of a raw Ed25519 public key given as 64 hex digits."""
    return hashlib.sha256(bytes.fromhex(public)).hexdigest()


def head_message(head: dict) -> bytes:
    """The bytes the registry signs: ``HEAD_DOMAIN`` + canonical JSON of :data:`HEAD_FIELDS`."""
    return HEAD_DOMAIN + canonical({k: head[k] for k in HEAD_FIELDS})


def sign_head(ledger_id: str, tree_size: int, root_hash: str, timestamp: str, key: keys.KeyPair) -> dict:
    """A head of ``tree_size`` records with root ``root_hash`` (hex), signed with ``key``."""
    head = {"ledger": ledger_id, "tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp, "key_id": key_id(key.public)}
    head["signature"] = key.sign(head_message(head))
    return head


def check_shape(head: Any, where: str) -> dict:
    """``head`` if it has the fields and types of a head; raise :class:`AuditFailed` (exit 1) otherwise."""
    if not isinstance(head, dict) or not set(HEAD_FIELDS) | {"signature"} <= set(head) or set(head) - set(HEAD_FIELDS) - {"signature", "cosignatures"}:
        raise AuditFailed(f"{where} is not a tree head", hint=f"a head has exactly {', '.join(HEAD_FIELDS)}, signature (and optionally cosignatures): "
                                                             "write one with `gep ledger head --json`")
    if not isinstance(head["tree_size"], int) or isinstance(head["tree_size"], bool) or head["tree_size"] < 1:
        raise AuditFailed(f"{where}: tree_size {head['tree_size']!r} is not a positive integer")
    for name in ("root_hash", "key_id"):
        if not isinstance(head[name], str) or not _HEX64.match(head[name]):
            raise AuditFailed(f"{where}: {name} is not 64 lowercase hex digits")
    if not all(isinstance(head[k], str) for k in ("ledger", "timestamp", "signature")):
        raise AuditFailed(f"{where}: ledger, timestamp and signature must be strings")
    if not _HEX128.match(head["signature"]):  # one spelling per signature: upper-case hex would be the same signature re-spelt
        raise AuditFailed(f"{where}: signature is not 128 lowercase hex digits")
    cos = head.get("cosignatures", [])
    if not isinstance(cos, list) or not all(isinstance(c, dict) and set(c) == {"key_id", "signature"} and all(isinstance(v, str) for v in c.values()) for c in cos):
        raise AuditFailed(f"{where}: cosignatures must be a list of {{key_id, signature}}")
    return head


def signature_ok(head: dict, public: str) -> bool:
    """True when ``head`` is signed by ``public`` (hex) and names its key id."""
    return head["key_id"] == key_id(public) and keys.verify(public, head_message(head), head["signature"])


def signed(key: str, heads: list[dict]) -> tuple[str, list]:
    """``(key, [whether each head carries a valid signature of key, or None: not a head, or a key that is not a key])``.

    ``verify`` checks the stored heads' signatures by the registry key the database names
    while the records are checked (:attr:`gep.ledger.verify.Replay.heads_signed`), and uses
    them once the log shows that key is the registry's (:func:`gep.ledger.verify.check_heads`).
    """
    out: list[bool | None] = []
    for h in heads:
        try:
            out.append(signature_ok(check_shape(h, "head"), key))
        except (AuditFailed, ValueError, TypeError):  # not a head (check_heads says so in order), or a key that is not a key
            out.append(None)
    return key, out


def cosign(head: dict, key: keys.KeyPair) -> dict:
    """``head`` with a cosignature of ``key`` added (replacing an earlier one by the same key).

    Raises
    ------
    InvalidRequest
        ``key`` is the key that signed the head: a witness is someone other than the registry.
    """
    kid = key_id(key.public)
    if kid == head.get("key_id"):
        raise InvalidRequest("the witness key is the registry key that signed the head: a witness cosigns with a key of its own",
                             hint="cosign with the witness's key (gep ledger keygen WITNESS)")
    sig = key.sign(WITNESS_DOMAIN + canonical({k: head[k] for k in HEAD_FIELDS}))
    others = [c for c in head.get("cosignatures", []) if c["key_id"] != kid]
    return {**head, "cosignatures": others + [{"key_id": kid, "signature": sig}]}


def cosignature_ok(head: dict, public: str) -> bool:
    """True when ``head`` carries a valid cosignature by the witness key ``public`` (hex)."""
    kid = key_id(public)
    msg = WITNESS_DOMAIN + canonical({k: head[k] for k in HEAD_FIELDS})
    return any(c["key_id"] == kid and keys.verify(public, msg, c["signature"]) for c in head.get("cosignatures", []))
