"""Booking compensation payments in the ledger: cash (``cash/CNY``) transfers between county accounts.

Each non-zero payment of a ``gep compensation`` run is a payment of the market's cash
(:meth:`gep.ledger.market.Market.pay_request`: a signed transfer of ``cash/CNY`` from
the payer's account to the payee's, in fen), signed by the payer account's owner. All
payments of a run are submitted as one linked transaction: every one is recorded, or
none (a payer without enough cash, an unknown account, a wrong key: the ledger refuses
and nothing is written). The commit's tree head is signed with the registry key the
ledger was opened with (the head key), as every write is.

The payer county's account must hold the cash: the market operator records the money it
received with ``gep ledger market deposit`` (docs/market.md, "Cash").

Request ids are ``comp:<agreement>:<period>``, one per period, scoped to the signer: booking
the same payment again answers ``exists``; booking a different amount for a period already
booked is refused (the id names another request). A booked payment is corrected by a new
transfer (``gep ledger transfer cash/CNY``), never by re-booking.

Each booked payment carries its ledger **certificate** (:mod:`gep.ledger.certificate`:
the record, its inclusion proof and the registry-signed tree head), kept in the run's
manifest. Replay (:func:`check`) verifies every certificate offline and compares what it
certifies with the recomputed payments, so an auditor learns, without the database,
that the ledger holds exactly the payments the run computes.
"""

from __future__ import annotations

import pandas as pd

from gep.errors import InputError
from gep.ledger.errors import IdConflict
from gep.ledger.keys import KeyPair
from gep.ledger.market import Market

__all__ = ["request_id", "requests", "book", "check"]


def request_id(agreement: str, period: str) -> str:
    """Ledger request id of the payment of ``agreement`` in ``period``."""
    return f"comp:{agreement}:{period}"


def _due(payments: pd.DataFrame) -> pd.DataFrame:
    return payments[payments["amount_fen"] > 0]


def requests(market: Market, payments: pd.DataFrame, owners: dict[str, KeyPair]) -> list:
    """The signed cash payments of every non-zero row of ``payments`` (``payments.csv`` of a run).

    Parameters
    ----------
    market : Market
        The market of the ledger the payments are booked in.
    payments : pandas.DataFrame
        ``agreement, period, score, tier, payer_account, payer_name, payee_account,
        payee_name, amount_fen`` [fen] per period.
    owners : dict
        Paying account id → key pair of its owner (signs the payment).

    Raises
    ------
    InputError
        A paying account whose key was not given (key ``key``).
    """
    due = _due(payments)
    missing = sorted(set(due["payer_account"]) - set(owners))
    if missing:
        raise InputError(f"no private key for paying account {missing[0]!r}",
                         hint=f"give --key {missing[0]}=PATH/TO/{missing[0]}.key (repeatable, one per paying account)", key="key")
    return [market.pay_request(owners[r.payer_account], r.payer_account, r.payee_account, int(r.amount_fen),
                               id=request_id(r.agreement, r.period),
                               memo=f"eco-compensation {r.agreement} {r.period}: {r.payer_name} pays {r.payee_name} (score {r.score:.6g}, tier {r.tier})")
            for r in due.itertuples(index=False)]


def book(market: Market, payments: pd.DataFrame, owners: dict[str, KeyPair]) -> dict:
    """Book every non-zero payment as a cash transfer, all in one linked transaction.

    Returns
    -------
    dict
        ``{"ledger": id, "requests": [{id, status, seq, from, to, amount_fen, period}], "tree_head": {...}}``
        (the registry-signed head after the commit: ``tree_size``, ``root_hash``, ``timestamp``, ``signature``)
        (``status``: ``created``, or ``exists`` for a payment booked before).

    Raises
    ------
    InputError
        A paying account without its key.
    LedgerError
        Any refusal (insufficient cash, unknown account, a key that does not own the
        account, a period already booked with another amount): nothing is recorded.
    """
    due = _due(payments)
    signed = requests(market, payments, owners)
    try:
        results = market.ledger.submit_many(signed, linked=True)
    except IdConflict as exc:
        raise IdConflict(exc.message, where=exc.where,
                         hint="a period of this agreement is already booked with another amount; the ledger never books a period twice: "
                              "correct a booked payment with a new transfer (gep ledger transfer cash/CNY)") from None
    from gep.ledger import certificate

    head = market.ledger.head()
    rows = [{"id": res.id, "status": res.status, "seq": res.seq, "period": r.period, "from": r.payer_account, "to": r.payee_account,
             "amount_fen": int(r.amount_fen), "certificate": certificate.issue(market.ledger, int(res.seq))}
            for res, r in zip(results, due.itertuples(index=False))]
    return {"ledger": market.ledger.id, "requests": rows, "tree_head": head}


def check(booking: dict, payments: pd.DataFrame) -> list[str]:
    """What differs between a run's booked payments and its recomputed ``payments`` (empty: none).

    Every booked request's certificate is verified offline (record, inclusion proof, the
    registry's head signature, the payer's signature; :func:`gep.ledger.certificate.verify`),
    must be drawn from the booking's ledger with the registry key of the booking's tree head,
    and must certify a ``cash/CNY`` transfer with the request id, payer, payee and amount [fen]
    of the recomputed payment of its period; every recomputed non-zero payment must be booked.
    A booking recorded before certificates were kept (no ``certificate``) is reported as such.

    Parameters
    ----------
    booking : dict
        The manifest's ``booking`` (:func:`book`).
    payments : pandas.DataFrame
        The recomputed ``payments.csv`` rows (``agreement, period, payer_account, payee_account, amount_fen`` [fen]).
    """
    from gep.errors import GepError
    from gep.ledger import certificate, heads

    problems: list[str] = []
    due = {request_id(r.agreement, r.period): r for r in _due(payments).itertuples(index=False)}
    head = booking.get("tree_head") or {}
    booked = booking.get("requests") or []
    signed_by: dict[str, bool] = {}
    for row in booked:
        rid = row.get("id")
        cert = row.get("certificate")
        if cert is None:
            problems.append(f"booked payment {rid}: no certificate recorded (booked by an older gep): check it with gep ledger certificate issue {rid}")
            continue
        try:
            stated = certificate.verify(cert)["statement"]
        except GepError as exc:
            problems.append(f"booked payment {rid}: its certificate fails: {exc.message}")
            continue
        key = repr(cert.get("registry"))
        if key not in signed_by:  # one Ed25519 check per registry key, not per payment
            try:
                signed_by[key] = heads.signature_ok(heads.check_shape(head, "the booking's tree head"), cert["registry"])
            except (GepError, KeyError, TypeError, ValueError):
                signed_by[key] = False
        same_registry = signed_by[key]
        if cert.get("ledger") != booking.get("ledger") or not same_registry:
            problems.append(f"booked payment {rid}: certificate of another ledger or registry key than the booking's tree head")
        want = due.get(rid)
        if want is None:
            problems.append(f"booked payment {rid}: the recomputed run has no such payment")
            continue
        got = (stated.get("kind"), stated.get("id"), stated.get("instrument"), stated.get("from"), stated.get("to"), stated.get("amount"))
        expected = ("transfer", rid, "cash/CNY", want.payer_account, want.payee_account, int(want.amount_fen))
        if got != expected:
            problems.append(f"booked payment {rid}: the ledger certifies {got[3]} → {got[4]} {got[5]} fen of {got[2]}, "
                            f"the recomputed payment is {expected[3]} → {expected[4]} {expected[5]} fen")
    missing = sorted(set(due) - {r.get("id") for r in booked})
    problems += [f"recomputed payment {rid} is not among the booked payments" for rid in missing]
    return problems
