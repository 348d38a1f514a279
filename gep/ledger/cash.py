"""Cash: CNY deposits held by the market operator, as the instrument ``cash/CNY`` (fen).

Participants pay for rights with cash held in the ledger, so that a trade moves
the right and its payment in one transaction (delivery versus payment). The
market operator (the registry key) holds the money in its bank account and
records it:

``deposit`` (registry)
    ``sys:issuance`` → the account: the operator received the money (``reference``:
    the bank transfer). ``sys:issuance``'s cash balance is minus the money held.
``withdraw`` (registry)
    the account → ``sys:issuance``: the operator paid the money out (on the holder's
    instruction, given outside the ledger).

Between user accounts cash moves by ``transfer cash/CNY AMOUNT`` (owner-signed, e.g.
eco-compensation payments between county accounts, or the payment leg of a
delivery-versus-payment batch). Cash is fungible: no serial numbers, no price,
never retired or cancelled.

Money is counted in fen (0.01 CNY), an integer; what is owed for a quantity at a
price is :func:`payment`, rounded half up to the fen (四舍五入), as the genesis
record states (``rounding.payment``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from gep.ledger.errors import InsufficientBalance, InvalidRequest
from gep.ledger.model import CASH, ISSUANCE, Instrument
from gep.ledger.rules import APPLY as REQUESTS
from gep.ledger.rules import Context, Moves, State, need_account, need_registry, positive_int
from gep.numbers import EXACT

__all__ = ["CASH", "CASH_INSTRUMENT", "payment", "fen", "cash_instrument", "APPLY"]

#: The cash instrument, parsed.
CASH_INSTRUMENT = Instrument.parse(CASH)


def fen(cny: Decimal) -> int:
    """An amount of CNY in fen, rounded half up [fen]."""
    return int((cny * 100).to_integral_value(rounding=ROUND_HALF_UP))


def payment(price: Decimal, quantity: int, per_display: int) -> int:
    """What ``quantity`` base units cost at ``price`` CNY per display unit [fen], half up.

    ``payment = round_half_up(price × quantity / per_display × 100)``; e.g. 250 kg at
    1186.71 CNY/t is 296.6775 CNY = 29668 fen.
    """
    with localcontext(EXACT):  # not rounded to 28 digits before the fen
        return fen(price * Decimal(quantity) / Decimal(per_display))


def cash_instrument(state: State, seq: int) -> Instrument:
    """``cash/CNY``, added to the ledger's instruments by the first record that moves cash."""
    if state.instrument(CASH) is None:
        state.add_instrument(CASH_INSTRUMENT, "{}", seq)
    return CASH_INSTRUMENT


def _user(state: State, request: dict, role: str):
    """The user account of a deposit or withdrawal (the reference checked too)."""
    ref = request.get("reference")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 200):
        raise InvalidRequest("reference must be text of at most 200 characters (the bank transfer's reference)")
    acc = need_account(state, request["account"], role)
    if not acc.is_user:
        raise InvalidRequest(f"cash is held by user accounts, not {acc.id}")
    return acc


def _apply_deposit(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    acc = _user(state, request, "deposit")
    amount = positive_int(request["amount"], "deposit")
    moves = Moves(state, ctx)
    moves.issue(cash_instrument(state, ctx.seq), acc.id, amount)
    return moves.effects()


def _apply_withdraw(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    acc = _user(state, request, "withdrawal")
    amount = positive_int(request["amount"], "withdrawal")
    if state.instrument(CASH) is None:
        raise InsufficientBalance(f"account {acc.id!r} holds no cash", hint="nothing was ever deposited")
    moves = Moves(state, ctx)
    moves.move(CASH_INSTRUMENT, acc.id, ISSUANCE, amount)
    return moves.effects()


APPLY = {"deposit": _apply_deposit, "withdraw": _apply_withdraw}
REQUESTS.update(APPLY)  # registered with gep.ledger.rules.apply
