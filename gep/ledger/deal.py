"""Delivery-versus-payment deals: the legs the parties agree on, and the hash of their terms every leg signs.

A deal file is a JSON object::

    {"batch": "deal-7", "expires": "2026-12-01T00:00:00Z",
     "legs": [{"instrument": "capacity/3/COD/2024", "amount": "30 kg", "from": "alice", "to": "bob", "price": "1186.71"},
              {"instrument": "carbon/p1/2022", "amount": "2 t", "from": "bob", "to": "alice"}]}

:func:`read` normalises every leg as a transfer is normalised (:func:`transfer_terms`: the
instrument in canonical form, the amount in base units, the price as normal-form text or None),
and :attr:`Deal.terms` is :func:`gep.ledger.rules.terms_hash` of those legs. Each party signs the
leg it gives with ``dvp = {batch, legs, expires, terms}`` (:meth:`Deal.leg`, which refuses a
transfer that is not one of the deal's legs); when the last leg of the batch is recorded the
ledger recomputes the hash from the legs submitted and refuses them all unless it is the one
every leg carries. Two parties who compare :attr:`Deal.terms` before signing (``gep ledger
deal FILE``) therefore know that no leg of theirs can be recorded beside legs other than the deal's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gep.ledger import clock
from gep.ledger.errors import InvalidRequest, LedgerError
from gep.ledger.model import Instrument, check_account_id, check_client_id, parse_amount, parse_price
from gep.ledger.rules import LEG_TERMS, MAX_DVP_LEGS, leg_terms, terms_hash

__all__ = ["Deal", "read", "dvp", "transfer_terms", "describe_leg"]

#: Fields of a deal file (each leg's are :data:`gep.ledger.rules.LEG_TERMS`, ``price`` optional).
FIELDS = ("batch", "expires", "legs")


def dvp(batch: str, legs: int, expires: str, terms: str | None = None) -> dict:
    """The ``dvp`` field binding a transfer to a delivery-versus-payment batch.

    Parameters
    ----------
    batch : str
        Batch id shared by all legs (letters, digits and ``. _ : @ / + -``).
    legs : int
        Number of legs in the batch (2..16); each leg is refused unless all are
        recorded together.
    expires : str
        ISO 8601 time with a zone (``2026-12-01T00:00:00Z``) after which the legs are void.
    terms : str, optional
        :func:`gep.ledger.rules.terms_hash` of every leg's terms (:attr:`Deal.terms`); required
        by ledgers whose genesis ``rules`` state ``dvp`` (all made since December 2026), omitted for the
        legs of earlier ledgers.
    """
    out = {"batch": batch, "legs": legs, "expires": expires}
    if terms is not None:
        out["terms"] = terms
    return out


def transfer_terms(instrument: str, amount: str | int | Decimal, src: str, dst: str, price: str | Decimal | None = None) -> dict:
    """The terms of a transfer as its signed body carries them (:data:`gep.ledger.rules.LEG_TERMS`).

    ``amount`` is read as a transfer's (``"30 kg"``, ``"2 t"`` or an integer of base units) and
    becomes an integer of base units [kg/yr, kg CO2e, kgce or fen]; ``price`` (CNY per display
    unit, or with a unit) becomes normal-form text, None without one.
    """
    ins = Instrument.parse(instrument)
    return {"instrument": ins.id, "amount": parse_amount(amount, ins), "from": src, "to": dst,
            "price": None if price is None else str(parse_price(price, ins))}


@dataclass(frozen=True)
class Deal:
    """A delivery-versus-payment deal: batch id, expiry and the terms of every leg (normalised, in the file's order)."""

    batch: str
    expires: str
    legs: tuple[dict, ...]

    @property
    def terms(self) -> str:
        """:func:`gep.ledger.rules.terms_hash` of the legs: what both parties compare before signing."""
        return terms_hash(self.legs)

    def dvp(self) -> dict:
        """The ``dvp`` field every leg of this deal carries."""
        return dvp(self.batch, len(self.legs), self.expires, self.terms)

    def leg(self, transfer: dict) -> dict:
        """The ``dvp`` field of ``transfer`` (its body, or its terms), which must be one of the deal's legs.

        Raises
        ------
        InvalidRequest
            Not a leg of the deal: naming the field that differs from the leg it is nearest to
            (a leg that differs in one field), else listing the deal's legs.
        """
        mine = leg_terms(transfer)
        if mine in self.legs:
            return self.dvp()
        for i, leg in enumerate(self.legs, start=1):
            differ = [name for name in LEG_TERMS if leg[name] != mine[name]]
            if len(differ) == 1:
                name = differ[0]
                raise InvalidRequest(f"this transfer is not a leg of deal {self.batch!r}: its {name} is {_show(mine, name)}, "
                                     f"leg {i} of the deal says {_show(leg, name)}",
                                     hint="sign exactly the leg the deal gives you (amounts in any unit, as long as they are equal)")
        raise InvalidRequest(f"this transfer ({describe_leg(mine)}) is not a leg of deal {self.batch!r}",
                             hint="the deal's legs: " + "; ".join(describe_leg(leg) for leg in self.legs))

    def as_dict(self) -> dict:
        """The deal normalised, with its terms hash (the JSON ``gep ledger deal`` prints)."""
        return {"batch": self.batch, "expires": self.expires, "legs": [dict(leg) for leg in self.legs], "terms": self.terms}


def read(doc: Any, where: str = "deal") -> Deal:
    """The deal a parsed deal file holds, every leg normalised (see the module docstring).

    Raises
    ------
    InvalidRequest, InvalidAmount
        One line naming ``where`` (and the leg): a missing or unknown field, a batch id or
        expiry that is not valid, fewer than 2 or more than :data:`gep.ledger.rules.MAX_DVP_LEGS`
        legs, a bad instrument, account, amount or price, or two legs that are the same transfer.
    """
    if not isinstance(doc, dict):
        raise InvalidRequest("a deal must be a JSON object {batch, expires, legs}", where=where)
    _fields(doc, set(FIELDS), set(), where)
    batch, expires, legs = doc["batch"], doc["expires"], doc["legs"]
    try:
        check_client_id(batch)
    except InvalidRequest:
        raise InvalidRequest(f"batch {batch!r} is not a valid batch id", hint="use 1-128 characters: letters, digits and . _ : @ / + -", where=where) from None
    try:
        clock.parse(expires, "expires")
    except InvalidRequest as exc:
        exc.where = where
        raise
    if not isinstance(legs, list) or not 2 <= len(legs) <= MAX_DVP_LEGS:
        n = len(legs) if isinstance(legs, list) else None
        raise InvalidRequest(f"legs must be a list of 2 to {MAX_DVP_LEGS} transfers" + (f", not {n}" if n is not None else ""),
                             hint="a deal exchanges at least two legs (e.g. the right and its payment)", where=where)
    out: list[dict] = []
    for i, leg in enumerate(legs, start=1):
        at = f"{where}, leg {i}"
        if not isinstance(leg, dict):
            raise InvalidRequest("a leg must be a JSON object {instrument, amount, from, to, price}", where=at)
        _fields(leg, set(LEG_TERMS) - {"price"}, {"price"}, at)
        try:
            terms = _leg(leg)
        except LedgerError as exc:
            exc.where = at
            raise
        if terms in out:
            raise InvalidRequest(f"leg {i} is the same transfer as leg {out.index(terms) + 1}",
                                 hint="each leg is a different transfer: merge the two into one leg of their sum", where=where)
        out.append(terms)
    return Deal(batch, expires, tuple(out))


def _leg(leg: dict) -> dict:
    """The normalised terms of one leg of a deal file."""
    for name in ("instrument", "from", "to"):
        if not isinstance(leg[name], str):
            raise InvalidRequest(f"{name} {leg[name]!r} must be a string")
    amount, price = leg["amount"], leg.get("price")
    if isinstance(amount, bool) or not isinstance(amount, (str, int, Decimal)):
        raise InvalidRequest(f"amount {amount!r} must be text with a unit ('30 kg') or an integer of base units")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (str, int, Decimal))):
        raise InvalidRequest(f"price {price!r} must be a number of CNY per display unit (text or a JSON number)")
    check_account_id(leg["from"], "from")
    check_account_id(leg["to"], "to")
    if leg["from"] == leg["to"]:
        raise InvalidRequest(f"a leg from {leg['from']} to itself")
    return transfer_terms(leg["instrument"], amount, leg["from"], leg["to"], price)


def _fields(doc: dict, required: set, optional: set, where: str) -> None:
    missing, unknown = required - doc.keys(), doc.keys() - required - optional
    if missing:
        raise InvalidRequest(f"lacks field(s) {', '.join(sorted(missing))}", where=where)
    if unknown:
        raise InvalidRequest(f"has unknown field(s) {', '.join(sorted(unknown))}", hint=f"the fields are {', '.join(sorted(required | optional))}", where=where)


def _show(terms: dict, name: str) -> str:
    """One term of a leg as a person reads it (an amount with its display unit)."""
    value = terms[name]
    if name == "amount":
        return f"{Instrument.parse(terms['instrument']).display(value)} ({value} base units)"
    return "none" if value is None else repr(value)


def describe_leg(terms: dict) -> str:
    """A leg's terms as one line: ``0.03 t/yr of capacity/3/COD/2024 alice → bob at 1186.71 CNY/(t/yr)``."""
    ins = Instrument.parse(terms["instrument"])
    price = f" at {terms['price']} CNY/({ins.display_unit})" if terms["price"] is not None else ""
    return f"{ins.display(terms['amount'])} of {ins.id} {terms['from']} → {terms['to']}{price}"
