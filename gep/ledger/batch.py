"""Batch files of operations for ``gep ledger batch``.

A batch file is a JSON list. Each entry is either an operation to sign with a
local key file::

    {"op": "transfer", "key": "alice.key", "instrument": "carbon/p1/2022", "amount": "2 t",
     "from": "alice", "to": "bob", "price": "71.6", "id": "deal-7-leg-1"}

(``op`` one of ``open, issue, recalculate, transfer, retire, cancel`` with the
fields of the matching command; ``key`` and ``evidence`` paths are relative to
the batch file; a transfer may carry ``"dvp": {"batch", "legs", "expires"}``),
or a request signed elsewhere (e.g. ``gep ledger transfer --sign-only``)::

    {"request": {...}, "signature": "<128 hex digits or a batch signature>", "evidence": "runs/x/manifest.json"}

A linked batch (the default) is all-or-nothing, e.g. a delivery-versus-payment
pair of transfers signed by two owners.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gep.ledger.errors import InvalidRequest
from gep.ledger.keys import load_private

__all__ = ["build", "OPS"]

#: op -> (required fields, optional fields), besides op, key, id, memo
OPS = {
    "open": ({"account", "owner"}, set()),
    "issue": ({"instrument", "amount", "to", "evidence"}, {"zone", "ecosystem"}),
    "recalculate": ({"instrument", "evidence"}, {"zone", "ecosystem"}),
    "transfer": ({"instrument", "amount", "from", "to"}, {"price", "dvp"}),
    "retire": ({"instrument", "amount", "from"}, {"beneficiary"}),
    "cancel": ({"instrument", "amount", "from"}, set()),
}


def build(ledger: Any, ops: Any, base: Path) -> list:
    """Signed, resolved requests for the entries of a batch file.

    Parameters
    ----------
    ledger : gep.ledger.ledger.Ledger
        The ledger the requests are for.
    ops : list
        Parsed batch file.
    base : Path
        Folder relative paths are resolved against.
    """
    from gep.ledger.ledger import Signed

    if not isinstance(ops, list) or not ops:
        raise InvalidRequest("a batch file must be a non-empty JSON list of operations")
    keys_cache: dict[Path, Any] = {}
    out = []
    for i, op in enumerate(ops, start=1):
        where = f"batch entry {i}"
        if not isinstance(op, dict):
            raise InvalidRequest(f"{where} is not a JSON object")
        if "request" in op:
            extra = set(op) - {"request", "signature", "evidence"}
            if extra or not isinstance(op.get("signature"), (str, dict)) or not isinstance(op["request"], dict):
                raise InvalidRequest(f"{where}: a signed entry has exactly 'request', 'signature' and (issue) 'evidence'")
            signed = Signed(op["request"], op["signature"])
            ev = op.get("evidence")
            out.append(ledger.prepare(signed, (base / ev) if ev else None))
            continue
        kind = op.get("op")
        if kind not in OPS:
            raise InvalidRequest(f"{where}: op {kind!r} is not one of {', '.join(OPS)}")
        required, optional = OPS[kind]
        fields = set(op) - {"op", "key", "id", "memo"}
        missing = required - fields
        if missing or "key" not in op:
            raise InvalidRequest(f"{where} ({kind}) lacks {', '.join(sorted(missing | ({'key'} - set(op))))}")
        if fields - required - optional:
            raise InvalidRequest(f"{where} ({kind}) has unknown field(s) {', '.join(sorted(fields - required - optional))}")
        kpath = (base / op["key"]).resolve()
        if kpath not in keys_cache:
            keys_cache[kpath] = load_private(kpath)
        key = keys_cache[kpath]
        rid, memo = op.get("id"), op.get("memo")
        if kind == "open":
            from gep.ledger.keys import parse_public

            out.append(ledger.sign(key, "open", {"account": op["account"], "owner": parse_public(op["owner"], "owner key"), "memo": memo}, rid))
        elif kind == "issue":
            out.append(ledger.issue_request(key, op["instrument"], op["amount"], op["to"], base / op["evidence"], op.get("zone"), op.get("ecosystem"), rid, memo))
        elif kind == "recalculate":
            out.append(ledger.recalculate_request(key, op["instrument"], base / op["evidence"], op.get("zone"), op.get("ecosystem"), rid, memo))
        elif kind == "transfer":
            out.append(ledger.transfer_request(key, op["instrument"], op["amount"], op["from"], op["to"], op.get("price"), rid, memo, op.get("dvp")))
        elif kind == "retire":
            out.append(ledger.retire_request(key, op["instrument"], op["amount"], op["from"], rid, op.get("beneficiary"), memo))
        else:
            from gep.ledger.model import Instrument, parse_amount

            ins = Instrument.parse(op["instrument"])
            out.append(ledger.sign(key, kind, {"instrument": ins.id, "amount": parse_amount(op["amount"], ins), "from": op["from"], "memo": memo}, rid))
    return out
