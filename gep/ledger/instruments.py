"""Allocated rights: energy-use rights (用能权) and emission rights (排污权), defined with their terms.

Capacity and carbon credits are issued against the engine run that computed them
(:mod:`gep.ledger.evidence`). Energy-use and emission rights are not computed by
gep: the government fixes a total for a region or catchment and allocates it to
the enterprises (初始分配), against a paid-use fee (有偿使用) where the rules ask
for one. So the registry first **defines** the instrument with its terms, signed
and recorded once, then **allocates** from it:

``energy/<region>/<year>`` (kgce, shown in tce)
    An annual quota of energy consumption (用能权指标, 吨标准煤 (等价值)): Zhejiang
    Provincial Development and Reform Commission, 浙江省用能权有偿使用和交易管理暂行办法
    (浙发改能源〔2019〕358号, 12 August 2019), art. 2: the right, confirmed by the
    government's energy-saving department, to consume a quantity of energy *within a
    period*; trades are priced by 竞价 or 招拍挂 (auction, tender, listing).
``emission/<catchment>/<pollutant>/<vintage>`` (kg/yr, shown in t/yr)
    The right to discharge a pollutant (COD, NH3-N, TP, TN, SO2, NOx, VOCs) in a
    catchment, for a period: Zhejiang General Office, 浙江省排污权有偿使用和交易管理办法
    (14 March 2023), II.(1): 排污权 is the right to discharge limited kinds and
    quantities of pollutants *within a certain period*, confirmed by the discharge
    permit or an electronic certificate; Ministry of Finance, NDRC and MEP,
    排污权出让收入管理暂行办法 (财税〔2015〕61号), art. 10-12: the paid-use fee is
    quantity × the provincial fee standard, and a right is valid for **five years in
    principle**; 丽水市排污权有偿使用和交易管理办法(试行) art. 5: at most five years.

Terms (``define``, registry-signed; every field is recorded in the log)::

    {"total": 50000000,                     # base units the registry may allocate [kgce or kg/yr]
     "valid_from": "2024-01-01",            # Beijing calendar dates, inclusive
     "valid_until": "2028-12-31",
     "source": "Liyang 2024 allocation plan, doc. no. ...",
     "fee": {"cny_per_unit_year": "2000",   # paid-use fee standard [CNY per t/yr (or tce) per year]
             "years": 5,                    # years paid for
             "payee": "liyang-finance"}}    # the account that receives the fee (optional block)

The instrument's year must lie within the validity period. ``allocate`` (registry)
creates units for a user account, never more than ``total`` in all; when the terms
carry a fee the recipient pays ``round_half_up(rate × amount × years)`` from its
cash to the payee in the same transaction, or the allocation is refused.

Once ``valid_until`` has passed by the ledger's clock (:mod:`gep.ledger.clock`),
the rights cannot move: not transferred, listed, bid for, delivered, retired or
surrendered (:func:`gep.ledger.rules.live_instrument`); the registry may still
cancel them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from gep.ledger import cash, clock
from gep.ledger.canonical import canonical
from gep.ledger.errors import InvalidRequest, OverIssuance
from gep.ledger.model import ALLOCATED_KINDS, Instrument
from gep.ledger.rules import APPLY as REQUESTS
from gep.ledger.rules import (
    Context, Moves, State, parse_instrument, check_price, live_instrument, need_account, need_registry, positive_int,
)

__all__ = ["POLLUTANTS", "check_terms", "fee_due", "terms", "APPLY"]

#: Pollutants of emission rights, in their canonical spelling (Zhejiang 2023 measures: the national
#: total-control pollutants COD, NH3-N, SO2, NOx, and others a pilot area registers; TP, TN for lakes, VOCs for air).
POLLUTANTS = ("COD", "NH3-N", "TP", "TN", "SO2", "NOx", "VOCs")
_CANON = {re.sub(r"[^A-Z0-9]", "", p.upper()): p for p in POLLUTANTS}
_TERMS = {"total", "valid_from", "valid_until", "source", "fee"}
_FEE = {"cny_per_unit_year", "years", "payee"}


def check_terms(ins: Instrument, doc: Any) -> dict:
    """The terms of an energy-use or emission right, checked (see the module docstring).

    Raises
    ------
    InvalidRequest
        A missing or unknown field, a validity period that is empty or does not contain
        the instrument's year, a fee without payee, a pollutant not in canonical spelling.
    """
    if not isinstance(doc, dict) or not {"total", "valid_from", "valid_until", "source"} <= set(doc) or set(doc) - _TERMS:
        raise InvalidRequest(f"terms of {ins.id} must be {{total, valid_from, valid_until, source[, fee]}}",
                             hint="see docs/market.md, 'Energy-use and emission rights'")
    positive_int(doc["total"], f"total of {ins.id}")
    start, end = clock.day_start(doc["valid_from"], "valid_from"), clock.day_after(doc["valid_until"], "valid_until")
    if end <= start:
        raise InvalidRequest(f"{ins.id}: valid_until {doc['valid_until']} is before valid_from {doc['valid_from']}")
    if not int(doc["valid_from"][:4]) <= ins.vintage <= int(doc["valid_until"][:4]):
        raise InvalidRequest(f"{ins.id}: its year {ins.vintage} lies outside the validity period {doc['valid_from']} .. {doc['valid_until']}",
                             hint="name the instrument after a year of its validity (an annual quota after its year)")
    if not isinstance(doc["source"], str) or not 0 < len(doc["source"]) <= 500:
        raise InvalidRequest(f"{ins.id}: source must name the allocation document (1-500 characters)")
    if "fee" in doc:
        fee = doc["fee"]
        if not isinstance(fee, dict) or set(fee) != _FEE:
            raise InvalidRequest(f"{ins.id}: fee must be {{cny_per_unit_year, years, payee}}")
        check_price(fee["cny_per_unit_year"], "paid-use fee")
        if not isinstance(fee["years"], int) or isinstance(fee["years"], bool) or not 1 <= fee["years"] <= 50:
            raise InvalidRequest(f"{ins.id}: fee years {fee['years']!r} must be an integer from 1 to 50")
    if ins.kind == "emission":
        pollutant = ins.get("pollutant")
        canon = _CANON.get(re.sub(r"[^A-Z0-9]", "", pollutant.upper()))
        if canon != pollutant:
            raise InvalidRequest(f"instrument {ins.id}: pollutant {pollutant!r} is not " + (f"in canonical spelling (write {canon})" if canon else
                                 f"one of {', '.join(POLLUTANTS)}"))
    return doc


def terms(state: State, instrument_id: str) -> dict:
    """The recorded terms of a defined instrument."""
    import json

    return json.loads(state.instrument(instrument_id)["binding"])


def fee_due(doc: dict, ins: Instrument, amount: int) -> int:
    """Paid-use fee of allocating ``amount`` base units [fen]: ``round_half_up(rate × amount / per_display × years × 100)``."""
    fee = doc.get("fee")
    if not fee:
        return 0
    return cash.fen(Decimal(fee["cny_per_unit_year"]) * Decimal(amount) / Decimal(ins.per_display) * fee["years"])


def _apply_define(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    ins = parse_instrument(request["instrument"])
    if ins.kind not in ALLOCATED_KINDS:
        raise InvalidRequest(f"{ins.id} is not defined by terms", hint="define energy/<region>/<year> or emission/<catchment>/<pollutant>/<vintage>; "
                                                                      "capacity and carbon are issued against a run")
    if state.instrument(ins.id) is not None:
        raise InvalidRequest(f"instrument {ins.id} is already defined", hint="terms are fixed once; define a new instrument (e.g. the next year)")
    doc = check_terms(ins, request["terms"])
    if "fee" in doc:
        payee = need_account(state, doc["fee"]["payee"], "fee payee")
        if not payee.is_user:
            raise InvalidRequest(f"the fee payee must be a user account, not {payee.id}")
    state.add_instrument(ins, canonical(doc).decode(), ctx.seq)
    return {"defined": {"instrument": ins.id, "total": doc["total"], "expires": state.instrument(ins.id)["expires"]}}


def _apply_allocate(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    ins = live_instrument(state, request["instrument"], ctx)
    if ins.kind not in ALLOCATED_KINDS:
        raise InvalidRequest(f"{ins.id} is not allocated", hint="capacity and carbon credits are issued against a run (`gep ledger issue`)")
    to = need_account(state, request["to"], "recipient")
    if not to.is_user:
        raise InvalidRequest(f"cannot allocate to system account {to.id}")
    doc = terms(state, ins.id)
    amount = request["amount"]
    before = state.issued(ins.id)
    if before + amount > doc["total"]:
        raise OverIssuance(f"allocating {ins.display(amount)} exceeds the total of {ins.display(doc['total'])}: "
                           f"{ins.display(before)} allocated, {ins.display(doc['total'] - before)} left",
                           hint="the total is fixed by the instrument's terms (`define`)")
    moves = Moves(state, ctx)
    moves.issue(ins, to.id, amount)
    extra: dict = {"allocation": {"total": doc["total"], "allocated_before": before}}
    due = fee_due(doc, ins, amount)
    if due:
        moves.move(cash.cash_instrument(state, ctx.seq), to.id, doc["fee"]["payee"], due)
        extra["fee"] = {"fen": due, "payee": doc["fee"]["payee"], "cny_per_unit_year": doc["fee"]["cny_per_unit_year"], "years": doc["fee"]["years"]}
    return moves.effects(**extra)


APPLY = {"define": _apply_define, "allocate": _apply_allocate}
REQUESTS.update(APPLY)  # registered with gep.ledger.rules.apply
