"""Batch files of operations for ``gep ledger batch``.

A batch file is a JSON list. Each entry is either an operation to sign with a
local key file::

    {"op": "transfer", "key": "alice.key", "instrument": "carbon/p1/2022", "amount": "2 t",
     "from": "alice", "to": "bob", "price": "71.6", "id": "deal-7-leg-1"}

(``op`` one of ``open, issue, recalculate, transfer, retire, cancel`` with the
fields of the matching command; ``key`` and ``evidence`` paths are relative to
the batch file, and a ``key`` must lie in the batch file's folder (or below it):
a batch handed over by a participant cannot name the registry's own key; a transfer may name
``"deal": "deal-7.json"``, a deal file (:mod:`gep.ledger.deal`) under the same rule, and is then
one of its delivery-versus-payment legs; on ledgers made before December 2026 it may carry
``"dvp": {"batch", "legs", "expires"}`` instead),
or a request signed elsewhere (e.g. ``gep ledger transfer --sign-only``)::

    {"request": {...}, "signature": "<128 hex digits or a batch signature>", "evidence": "runs/x/manifest.json"}

A linked batch (the default) is all-or-nothing, e.g. a delivery-versus-payment
pair of transfers signed by two owners.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from gep.ledger.deal import Deal
from gep.ledger.errors import InvalidRequest
from gep.ledger.keys import load_private

__all__ = ["build", "OPS"]

#: op -> (required fields, optional fields), besides op, key, id, memo
OPS = {
    "open": ({"account", "owner"}, set()),
    "issue": ({"instrument", "amount", "to", "evidence"}, {"zone", "ecosystem"}),
    "recalculate": ({"instrument", "evidence"}, {"zone", "ecosystem"}),
    "transfer": ({"instrument", "amount", "from", "to"}, {"price", "deal", "dvp"}),
    "retire": ({"instrument", "amount", "from"}, {"beneficiary"}),
    "cancel": ({"instrument", "amount", "from"}, set()),
}


def build(ledger: Any, ops: Any, base: Path, signed_only: bool = False, *, load_deal: Callable[[Path], Deal]) -> list:
    """Signed, resolved requests for the entries of a batch file.

    Parameters
    ----------
    ledger : gep.ledger.ledger.Ledger
        The ledger the requests are for.
    ops : list
        Parsed batch file.
    base : Path
        Folder relative paths are resolved against.
    signed_only : bool
        Refuse ``op`` entries (signed here, with a key file the entry names): a batch handed over by
        participants then carries only requests they signed themselves.
    load_deal : callable
        Reads the deal file a transfer names (a path under ``base``), e.g. the command line's
        (:func:`gep.ledger.deal.read` of the parsed file).
    """
    from gep.ledger.ledger import Signed

    if not isinstance(ops, list) or not ops:
        raise InvalidRequest("a batch file must be a non-empty JSON list of operations")
    keys_cache: dict[Path, Any] = {}
    deals: dict[Path, Deal] = {}
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
            out.append(ledger.prepare(signed, base / _text(ev, "evidence", where) if ev is not None else None))
            continue
        kind = op.get("op")
        if signed_only:
            raise InvalidRequest(f"{where} is an op entry ({kind!r}), signed here with a key file it names; this batch takes signed requests only (--signed-only)",
                                 hint="have the participant sign the request (--sign-only) and hand over the signed request")
        if kind not in OPS:
            raise InvalidRequest(f"{where}: op {kind!r} is not one of {', '.join(OPS)}")
        required, optional = OPS[kind]
        fields = set(op) - {"op", "key", "id", "memo"}
        missing = required - fields
        if missing or "key" not in op:
            raise InvalidRequest(f"{where} ({kind}) lacks {', '.join(sorted(missing | ({'key'} - set(op))))}")
        if fields - required - optional:
            raise InvalidRequest(f"{where} ({kind}) has unknown field(s) {', '.join(sorted(fields - required - optional))}")
        kpath = _inside(op["key"], base, where, "key")
        if kpath not in keys_cache:
            keys_cache[kpath] = load_private(kpath)
        key = keys_cache[kpath]
        rid, memo = op.get("id"), op.get("memo")
        if kind == "open":
            from gep.ledger.keys import parse_public

            out.append(ledger.sign(key, "open", {"account": op["account"], "owner": parse_public(op["owner"], "owner key"), "memo": memo}, rid))
        elif kind == "issue":
            out.append(ledger.issue_request(key, op["instrument"], op["amount"], op["to"], base / _text(op["evidence"], "evidence", where), op.get("zone"), op.get("ecosystem"), rid, memo))
        elif kind == "recalculate":
            out.append(ledger.recalculate_request(key, op["instrument"], base / _text(op["evidence"], "evidence", where), op.get("zone"), op.get("ecosystem"), rid, memo))
        elif kind == "transfer":
            agreed = None
            if "deal" in op:
                dpath = _inside(op["deal"], base, where, "deal")
                if dpath not in deals:
                    deals[dpath] = load_deal(dpath)
                agreed = deals[dpath]
            out.append(ledger.transfer_request(key, op["instrument"], op["amount"], op["from"], op["to"], op.get("price"), rid, memo, op.get("dvp"), agreed))
        elif kind == "retire":
            out.append(ledger.retire_request(key, op["instrument"], op["amount"], op["from"], rid, op.get("beneficiary"), memo))
        else:
            from gep.ledger.model import Instrument, parse_amount

            ins = Instrument.parse(op["instrument"])
            out.append(ledger.sign(key, kind, {"instrument": ins.id, "amount": parse_amount(op["amount"], ins), "from": op["from"], "memo": memo}, rid))
    return out


def _text(value: Any, field: str, where: str) -> str:
    """``value`` if it is a non-empty string, else :class:`InvalidRequest` naming the entry and field."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}: {field} {value!r} is not a path (a non-empty string)")
    return value


def _inside(value: Any, base: Path, where: str, field: str) -> Path:
    """The key or deal file an entry names (``field``), resolved (symbolic links followed); it must lie inside ``base``.

    Whoever hands over a batch file chooses its entries: a key path that is
    absolute or climbs out with ``..`` (or a link leading out) could make the
    registry sign with a key of its own host, e.g. the registry key (and a deal
    path, make it read a file of its host).
    """
    folder = base.resolve()
    path = (folder / _text(value, field, where)).resolve()
    if not path.is_relative_to(folder):
        raise InvalidRequest(f"{where}: {field} {value!r} is outside the batch file's folder {folder}",
                             hint=f"put the {field} file beside the batch file (or below it), or sign with --sign-only and give the signed request")
    return path
