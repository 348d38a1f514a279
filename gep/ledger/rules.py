"""The rules of the ledger: what a signed request may do, and the invariants that always hold.

One function, :func:`apply`, decides every request against a :class:`State`.
The database store applies it inside a serialised transaction; ``verify``
replays the whole log through it on a :class:`MemoryState` and compares the
effects with those recorded. So the rules exist once, and an audit re-derives
every balance and serial block from the signed requests alone.

Rules
-----
* every request carries a valid Ed25519 signature (RFC 8032) of its canonical
  bytes by ``signer``, and names this ledger;
* the registry key alone opens accounts, issues and cancels; only an
  account's owner transfers or retires from it;
* amounts are positive integers of the instrument's base unit;
* double entry: each transaction's postings sum to zero per instrument;
* no balance goes negative, except ``sys:issuance`` (minus what was issued);
* ``sys:retirement`` and ``sys:cancellation`` are credit-only (retirement and
  cancellation are final); ``sys:buffer`` is left only by cancellation;
* issuance cites evidence (an engine run) and never exceeds its cap, minus what
  was already issued against the same evidence or in the same instrument; forest
  carbon issuance withholds ``ceil(amount × buffer share)`` into ``sys:buffer``;
* serial blocks of an instrument partition ``1 .. issued``; a holder's blocks
  sum to its balance.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from bisect import bisect_right, insort
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from gep.ledger import keys
from gep.ledger.canonical import canonical, signing_message
from gep.ledger.errors import (
    AccountExists, BadSignature, InsufficientBalance, InvalidAmount, InvalidRequest, NotAuthorised,
    OverIssuance, UnknownAccount, UnknownInstrument,
)
from gep.ledger.model import (
    BUFFER, CANCELLATION, COMMON_FIELDS, CREDIT_ONLY, ISSUANCE, REQUEST_FIELDS, RETIREMENT, SYSTEM_ACCOUNTS, Account,
    Instrument, check_account_id, check_client_id, normalise_decimal,
)

__all__ = ["State", "MemoryState", "Context", "apply", "check_request", "evidence_key", "buffer_amount", "check_invariants", "VERSION"]

#: Request format version.
VERSION = 1


@dataclass
class Context:
    """Facts from outside the log that a transaction depends on, recorded in its effects.

    Attributes
    ----------
    seq : int
        Sequence number the transaction gets.
    time : str
        UTC time of recording (ISO 8601).
    evidence : dict, optional
        For an issuance: what the evidence resolved to (``cap`` in base units,
        the file and its SHA-256, the manifest's kind) — see :mod:`gep.ledger.evidence`.
    buffer : dict, optional
        For an issuance: ``{"share": "0.2", "set": ..., "version": ...}``.
    """

    seq: int
    time: str
    evidence: dict | None = None
    buffer: dict | None = None


class State(ABC):
    """What the rules read and change. Implemented in memory and on SQL."""

    ledger_id: str | None = None
    registry: str | None = None

    @abstractmethod
    def account(self, account_id: str) -> Account | None: ...

    @abstractmethod
    def instrument(self, instrument_id: str) -> dict | None:
        """``{"kind", "binding"}`` of an issued instrument, or None."""

    @abstractmethod
    def balance(self, account_id: str, instrument_id: str) -> int: ...

    @abstractmethod
    def evidence_used(self, key: str) -> int: ...

    @abstractmethod
    def holder_blocks(self, account_id: str, instrument_id: str, after: int, limit: int) -> list[tuple[int, int]]:
        """The holder's blocks ``(start, end)`` with ``start > after``, lowest first, at most ``limit``."""

    # mutations
    @abstractmethod
    def set_genesis(self, ledger_id: str, registry: str) -> None: ...

    @abstractmethod
    def add_account(self, account: Account, seq: int) -> None: ...

    @abstractmethod
    def add_instrument(self, instrument: Instrument, binding: str, seq: int) -> None: ...

    @abstractmethod
    def post(self, seq: int, instrument_id: str, account_id: str, amount: int) -> None: ...

    @abstractmethod
    def new_block(self, instrument_id: str, start: int, end: int, holder: str, seq: int) -> None: ...

    @abstractmethod
    def set_holder(self, instrument_id: str, start: int, holder: str, seq: int) -> None: ...

    @abstractmethod
    def split_block(self, instrument_id: str, start: int, cut: int, seq: int) -> None:
        """Split block ``start..end`` into ``start..cut-1`` and ``cut..end`` (same holder)."""

    @abstractmethod
    def use_evidence(self, seq: int, key: str, instrument_id: str, amount: int, cap: int) -> None: ...

    @abstractmethod
    def add_price(self, seq: int, instrument_id: str, amount: int, price: str, time: str) -> None: ...

    # derived
    def issued(self, instrument_id: str) -> int:
        """Total issued in an instrument [base units] (minus the issuance account's balance)."""
        return -self.balance(ISSUANCE, instrument_id)

    def move(self, instrument_id: str, src: str, dst: str, amount: int, seq: int) -> list[list[int]]:
        """Move the ``amount`` lowest serials of ``src`` to ``dst``; return the moved ranges."""
        moved: list[list[int]] = []
        left = amount
        after = 0
        while left > 0:
            blocks = self.holder_blocks(src, instrument_id, after, 64)
            if not blocks:  # balances and blocks disagree: never with a consistent state
                raise InsufficientBalance(f"{src} holds fewer serials of {instrument_id} than its balance says")
            for start, end in blocks:
                size = end - start + 1
                if size > left:
                    self.split_block(instrument_id, start, start + left, seq)
                    end = start + left - 1
                    size = left
                self.set_holder(instrument_id, start, dst, seq)
                if moved and moved[-1][1] + 1 == start:
                    moved[-1][1] = end
                else:
                    moved.append([start, end])
                left -= size
                after = end
                if left == 0:
                    break
        return moved


# --------------------------------------------------------------------------- memory


@dataclass
class MemoryState(State):
    """The whole ledger state in dictionaries (for ``verify`` and the tests)."""

    ledger_id: str | None = None
    registry: str | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    instruments: dict[str, dict] = field(default_factory=dict)
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    evidence: dict[str, int] = field(default_factory=dict)
    evidence_rows: dict[int, tuple] = field(default_factory=dict)
    blocks: dict[str, dict[int, list]] = field(default_factory=dict)  # instrument -> start -> [end, holder, seq]
    starts: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (holder, instrument) -> sorted starts
    postings: list[tuple[int, str, str, int]] = field(default_factory=list)
    prices: list[tuple[int, str, int, str, str]] = field(default_factory=list)
    account_seq: dict[str, int] = field(default_factory=dict)
    instrument_rows: dict[str, tuple] = field(default_factory=dict)

    def account(self, account_id):
        return self.accounts.get(account_id)

    def instrument(self, instrument_id):
        return self.instruments.get(instrument_id)

    def balance(self, account_id, instrument_id):
        return self.balances.get((account_id, instrument_id), 0)

    def evidence_used(self, key):
        return self.evidence.get(key, 0)

    def holder_blocks(self, account_id, instrument_id, after, limit):
        starts = self.starts.get((account_id, instrument_id), [])
        i = bisect_right(starts, after)
        table = self.blocks[instrument_id]
        return [(s, table[s][0]) for s in starts[i:i + limit]]

    def set_genesis(self, ledger_id, registry):
        self.ledger_id, self.registry = ledger_id, registry

    def add_account(self, account, seq):
        self.accounts[account.id] = account
        self.account_seq[account.id] = seq

    def add_instrument(self, instrument, binding, seq):
        self.instruments[instrument.id] = {"kind": instrument.kind, "binding": binding}
        self.instrument_rows[instrument.id] = (instrument.kind, instrument.base_unit, instrument.display_unit, binding, seq)
        self.blocks.setdefault(instrument.id, {})

    def post(self, seq, instrument_id, account_id, amount):
        key = (account_id, instrument_id)
        self.balances[key] = self.balances.get(key, 0) + amount
        self.postings.append((seq, instrument_id, account_id, amount))

    def new_block(self, instrument_id, start, end, holder, seq):
        self.blocks.setdefault(instrument_id, {})[start] = [end, holder, seq]
        insort(self.starts.setdefault((holder, instrument_id), []), start)

    def set_holder(self, instrument_id, start, holder, seq):
        row = self.blocks[instrument_id][start]
        old = row[1]
        self.starts[(old, instrument_id)].remove(start)
        row[1], row[2] = holder, seq
        insort(self.starts.setdefault((holder, instrument_id), []), start)

    def split_block(self, instrument_id, start, cut, seq):
        row = self.blocks[instrument_id][start]
        end, holder, _ = row
        row[0] = cut - 1
        self.new_block(instrument_id, cut, end, holder, seq)

    def use_evidence(self, seq, key, instrument_id, amount, cap):
        self.evidence[key] = self.evidence.get(key, 0) + amount
        self.evidence_rows[seq] = (key, instrument_id, amount, cap)

    def add_price(self, seq, instrument_id, amount, price, time):
        self.prices.append((seq, instrument_id, amount, price, time))


# --------------------------------------------------------------------------- checks


def check_request(request: Any) -> dict:
    """Structural check of a request: known type, exactly the allowed fields, valid ids.

    Raises
    ------
    InvalidRequest
        Naming the first problem.
    """
    if not isinstance(request, dict):
        raise InvalidRequest("a request must be a JSON object")
    kind = request.get("type")
    if kind not in REQUEST_FIELDS:
        raise InvalidRequest(f"unknown request type {kind!r}", hint=f"one of {', '.join(REQUEST_FIELDS)}")
    required, optional = REQUEST_FIELDS[kind]
    fields = set(request)
    missing = (required | COMMON_FIELDS) - fields
    if missing:
        raise InvalidRequest(f"{kind} request lacks field(s) {', '.join(sorted(missing))}")
    extra = fields - required - optional - COMMON_FIELDS
    if extra:
        raise InvalidRequest(f"{kind} request has unknown field(s) {', '.join(sorted(extra))}")
    if request["v"] != VERSION:
        raise InvalidRequest(f"request version {request['v']!r} is not supported", hint=f"this ledger reads version {VERSION}")
    check_client_id(request["id"])
    for name in ("ledger", "signer"):
        if not isinstance(request[name], str):
            raise InvalidRequest(f"request field {name!r} must be a string")
    for name in ("memo", "beneficiary"):
        if name in request and (not isinstance(request[name], str) or len(request[name]) > 500):
            raise InvalidRequest(f"{name} must be text of at most 500 characters")
    if "amount" in request:
        a = request["amount"]
        if not isinstance(a, int) or isinstance(a, bool):
            raise InvalidAmount(f"amount {a!r} is not an integer of base units")
        if a <= 0:
            raise InvalidAmount(f"amount {a} is not positive", hint="amounts must be greater than zero")
    return request


def evidence_key(evidence: dict) -> str:
    """Key of an evidence citation: SHA-256 of the canonical ``{manifest_sha256, selector}``."""
    return hashlib.sha256(canonical({"manifest_sha256": evidence["manifest_sha256"], "selector": evidence["selector"]})).hexdigest()


def buffer_amount(amount: int, share: Decimal) -> int:
    """Units withheld into the buffer pool: ``ceil(amount × share)`` [base units].

    Rounded up, so the buffer is never short of its declared share.
    """
    return int((Decimal(amount) * share).to_integral_value(rounding=ROUND_CEILING))


def _authenticate(request: dict, signature: str) -> None:
    if not isinstance(signature, str) or not keys.verify(request["signer"], signing_message(request), signature):
        raise BadSignature(f"the signature of request {request['id']!r} does not verify with key {request['signer'][:16]}…",
                           hint="sign the canonical request bytes with the private key of the signer (RFC 8032 Ed25519)")


def _need_account(state: State, account_id: Any, role: str) -> Account:
    if not isinstance(account_id, str):
        raise InvalidRequest(f"{role} account must be a string")
    check_account_id(account_id, role)
    acc = state.account(account_id)
    if acc is None:
        raise UnknownAccount(f"{role} account {account_id!r} does not exist", hint="open it first with `gep ledger account open`")
    return acc


def _need_registry(state: State, request: dict) -> None:
    if request["signer"] != state.registry:
        raise NotAuthorised(f"only the registry key may {request['type']}; request {request['id']!r} is signed by {request['signer'][:16]}…",
                            hint="sign with the registry key created by `gep ledger init`")


def _need_owner(state: State, acc: Account, request: dict) -> None:
    if request["signer"] != acc.owner:
        raise NotAuthorised(f"key {request['signer'][:16]}… is not the owner of account {acc.id!r}",
                            hint="only the account's owner may transfer or retire from it: sign with the owner's key")


def _need_instrument(state: State, text: Any) -> Instrument:
    if not isinstance(text, str):
        raise InvalidRequest("instrument must be a string")
    ins = Instrument.parse(text)
    if ins.id != text:
        raise InvalidRequest(f"instrument {text!r} is not in canonical form", hint=f"write {ins.id}")
    if state.instrument(ins.id) is None:
        raise UnknownInstrument(f"instrument {ins.id} has never been issued", hint="check the id with `gep ledger balance`")
    return ins


def _debit_check(state: State, acc: Account, ins: Instrument, amount: int) -> None:
    have = state.balance(acc.id, ins.id)
    if have < amount:
        raise InsufficientBalance(f"account {acc.id!r} holds {ins.display(have)} of {ins.id}, less than {ins.display(amount)}",
                                  hint="no balance may go negative: move less, or fund the account first")


def _post_move(state: State, ctx: Context, ins: Instrument, src: str, dst: str, amount: int) -> dict:
    state.post(ctx.seq, ins.id, src, -amount)
    state.post(ctx.seq, ins.id, dst, amount)
    serials = state.move(ins.id, src, dst, amount, ctx.seq)
    return {"postings": sorted([[src, -amount], [dst, amount]]), "serials": serials}


# --------------------------------------------------------------------------- apply


def apply(state: State, request: dict, signature: str, ctx: Context) -> dict:
    """Decide a signed request against ``state``; on success change it and return the effects.

    Parameters
    ----------
    state : State
        Ledger state (changed only when the request is accepted, as far as the
        caller rolls back its transaction on an exception).
    request : dict
        The request (see :data:`gep.ledger.model.REQUEST_FIELDS`).
    signature : str
        Hex Ed25519 signature of :func:`gep.ledger.canonical.signing_message`.
    ctx : Context
        Sequence number, time and, for issuance, the resolved evidence and buffer share.

    Returns
    -------
    dict
        Effects recorded in the log: ``postings`` (account, signed amount) and
        ``serials`` (moved or created ranges), plus ``evidence`` and ``buffer``
        for an issuance and ``account`` for an opening.

    Raises
    ------
    LedgerError
        Any refusal (bad signature, wrong key, unknown account or instrument,
        insufficient balance, over-issuance, malformed request).
    """
    check_request(request)
    kind = request["type"]
    _authenticate(request, signature)
    if kind == "init":
        return _apply_init(state, request, ctx)
    if state.ledger_id is None:
        raise InvalidRequest("the ledger has no genesis record", hint="run `gep ledger init` first")
    if request["ledger"] != state.ledger_id:
        raise InvalidRequest(f"request {request['id']!r} names ledger {request['ledger']}, not this ledger ({state.ledger_id})",
                             hint="requests are bound to one ledger; build it again for this one")
    return _APPLY[kind](state, request, ctx)


def _apply_init(state: State, request: dict, ctx: Context) -> dict:
    if ctx.seq != 1 or state.ledger_id is not None:
        raise InvalidRequest("an init request can only be the first record of a ledger")
    if request["registry"] != request["signer"]:
        raise NotAuthorised("the genesis record must be signed by the registry key it names")
    keys.check_public_hex(request["registry"], "registry key")
    if request["accounts"] != sorted(SYSTEM_ACCOUNTS):
        raise InvalidRequest(f"genesis accounts must be {sorted(SYSTEM_ACCOUNTS)}")
    state.set_genesis(request["ledger"], request["registry"])
    for acc_id in sorted(SYSTEM_ACCOUNTS):
        state.add_account(Account(acc_id, SYSTEM_ACCOUNTS[acc_id], request["registry"]), ctx.seq)
    return {"accounts": sorted(SYSTEM_ACCOUNTS)}


def _apply_open(state: State, request: dict, ctx: Context) -> dict:
    _need_registry(state, request)
    acc_id = request["account"]
    if not isinstance(acc_id, str) or acc_id in SYSTEM_ACCOUNTS or ":" in acc_id:
        raise InvalidRequest(f"account id {acc_id!r} is reserved or invalid", hint="user accounts may not use ':' (system accounts are sys:...)")
    check_account_id(acc_id)
    owner = keys.check_public_hex(request["owner"], "owner key")
    if state.account(acc_id) is not None:
        raise AccountExists(f"account {acc_id!r} already exists", hint="choose another id")
    state.add_account(Account(acc_id, "user", owner), ctx.seq)
    return {"account": acc_id}


def _apply_issue(state: State, request: dict, ctx: Context) -> dict:
    _need_registry(state, request)
    if not isinstance(request["instrument"], str):
        raise InvalidRequest("instrument must be a string")
    ins = Instrument.parse(request["instrument"])
    if ins.id != request["instrument"]:
        raise InvalidRequest(f"instrument {request['instrument']!r} is not in canonical form", hint=f"write {ins.id}")
    to = _need_account(state, request["to"], "recipient")
    if not to.is_user:
        raise InvalidRequest(f"cannot issue to system account {to.id}", hint="issue to a user account")
    amount = request["amount"]
    ev = request["evidence"]
    if not isinstance(ev, dict) or set(ev) != {"manifest_sha256", "selector"} or not isinstance(ev["selector"], dict):
        raise InvalidRequest("evidence must be {manifest_sha256, selector}")
    resolved = ctx.evidence
    if resolved is None:
        raise InvalidRequest("an issuance needs its evidence resolved (the run manifest)", hint="cite the manifest.json of the run as evidence", key="evidence")
    if resolved.get("manifest_sha256") != ev["manifest_sha256"] or resolved.get("selector") != ev["selector"]:
        raise InvalidRequest("the evidence resolved does not match the evidence the request cites",
                             hint="the manifest file changed since the request was signed; sign it again")
    if ev["selector"].get("instrument_kind") != ins.kind or ev["selector"].get("vintage") != ins.vintage:
        raise InvalidRequest(f"evidence selector {ev['selector']} does not fit instrument {ins.id}")
    if ins.kind == "capacity" and (ev["selector"].get("catchment") != ins.get("catchment") or ev["selector"].get("pollutant") != ins.get("pollutant")):
        raise InvalidRequest(f"evidence is for catchment {ev['selector'].get('catchment')} / {ev['selector'].get('pollutant')}, not {ins.id}")
    cap = resolved.get("cap")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
        raise InvalidRequest("resolved evidence has no integer cap")
    # one instrument, one kind of evidence selection (e.g. the same project area)
    binding = canonical({k: v for k, v in sorted(ev["selector"].items())}).decode()
    existing = state.instrument(ins.id)
    if existing is not None and existing["binding"] != binding:
        raise InvalidRequest(f"instrument {ins.id} was first issued against selection {existing['binding']}, not {binding}",
                             hint="issue each project area / catchment under its own instrument")
    key = evidence_key(ev)
    used = state.evidence_used(key)
    issued = state.issued(ins.id)
    for what, before in (("the same evidence", used), (f"instrument {ins.id}", issued)):
        if before + amount > cap:
            room = max(cap - before, 0)
            raise OverIssuance(
                f"issuing {ins.display(amount)} exceeds the computed cap of {ins.display(cap)}: {ins.display(before)} already issued against {what}, "
                f"{ins.display(room)} left",
                hint="issue at most what the engine run computed (the buffer share is withheld from the amount)",
            )
    share_text = (ctx.buffer or {}).get("share", "0")
    share = Decimal(share_text)
    if not (Decimal(0) <= share < Decimal(1)):
        raise InvalidRequest(f"buffer share {share_text} outside [0, 1)")
    withheld = buffer_amount(amount, share)
    net = amount - withheld
    if net <= 0:
        raise InvalidAmount(f"issuing {ins.display(amount)} leaves nothing for {to.id} after the buffer share {share_text}",
                            hint="issue a larger amount")
    if existing is None:
        state.add_instrument(ins, binding, ctx.seq)
    start = issued + 1
    state.post(ctx.seq, ins.id, ISSUANCE, -amount)
    state.post(ctx.seq, ins.id, to.id, net)
    serials = [[to.id, start, start + net - 1]]
    state.new_block(ins.id, start, start + net - 1, to.id, ctx.seq)
    postings = [[ISSUANCE, -amount], [to.id, net]]
    if withheld:
        state.post(ctx.seq, ins.id, BUFFER, withheld)
        state.new_block(ins.id, start + net, start + amount - 1, BUFFER, ctx.seq)
        serials.append([BUFFER, start + net, start + amount - 1])
        postings.append([BUFFER, withheld])
    state.use_evidence(ctx.seq, key, ins.id, amount, cap)
    out_ev = dict(resolved)
    out_ev["key"] = key
    out_ev["used_before"] = used
    return {
        "postings": sorted(postings),
        "serials": serials,
        "evidence": out_ev,
        "buffer": {**(ctx.buffer or {"share": "0"}), "amount": withheld},
    }


def _apply_transfer(state: State, request: dict, ctx: Context) -> dict:
    ins = _need_instrument(state, request["instrument"])
    src = _need_account(state, request["from"], "source")
    dst = _need_account(state, request["to"], "destination")
    if not src.is_user:
        raise NotAuthorised(f"cannot transfer from system account {src.id}", hint="retired and cancelled credits are final; the buffer pool is only cancelled")
    if not dst.is_user:
        raise InvalidRequest(f"cannot transfer to system account {dst.id}", hint="use `gep ledger retire` to retire credits")
    if src.id == dst.id:
        raise InvalidRequest(f"transfer from {src.id} to itself")
    _need_owner(state, src, request)
    amount = request["amount"]
    price = None
    if "price" in request:
        try:
            price = Decimal(request["price"]) if isinstance(request["price"], str) else None
        except ArithmeticError:
            price = None
        if price is None or not price.is_finite() or price <= 0 or str(normalise_decimal(price)) != request["price"]:
            raise InvalidAmount(f"price {request['price']!r} is not a positive decimal string in normal form", hint="e.g. \"71.6\" (CNY per display unit)")
    _debit_check(state, src, ins, amount)
    effects = _post_move(state, ctx, ins, src.id, dst.id, amount)
    if price is not None:
        state.add_price(ctx.seq, ins.id, amount, request["price"], ctx.time)
        notional = normalise_decimal(price * Decimal(amount) / Decimal(ins.per_display))
        effects["price"] = {"cny_per_unit": request["price"], "unit": ins.display_unit, "notional_cny": str(notional)}
    return effects


def _apply_retire(state: State, request: dict, ctx: Context) -> dict:
    ins = _need_instrument(state, request["instrument"])
    src = _need_account(state, request["from"], "source")
    if not src.is_user:
        raise NotAuthorised(f"cannot retire from system account {src.id}")
    _need_owner(state, src, request)
    _debit_check(state, src, ins, request["amount"])
    return _post_move(state, ctx, ins, src.id, RETIREMENT, request["amount"])


def _apply_cancel(state: State, request: dict, ctx: Context) -> dict:
    _need_registry(state, request)
    ins = _need_instrument(state, request["instrument"])
    src = _need_account(state, request["from"], "source")
    if not (src.is_user or src.id == BUFFER):
        raise NotAuthorised(f"cannot cancel from {src.id}", hint="cancel from a user account or the buffer pool; retirement and cancellation are final")
    _debit_check(state, src, ins, request["amount"])
    return _post_move(state, ctx, ins, src.id, CANCELLATION, request["amount"])


_APPLY = {"open": _apply_open, "issue": _apply_issue, "transfer": _apply_transfer, "retire": _apply_retire, "cancel": _apply_cancel}


# --------------------------------------------------------------------------- invariants


def check_invariants(state: MemoryState) -> list[str]:
    """Every ledger invariant on a memory state; the list of violations (empty when all hold).

    * per instrument, balances sum to zero (double entry);
    * no balance is negative except ``sys:issuance``;
    * credit-only accounts were never debited;
    * blocks partition ``1 .. issued`` and a holder's blocks sum to its balance;
    * no evidence is used beyond its cap.
    """
    problems: list[str] = []
    sums: dict[str, int] = {}
    for (acc, ins), amount in state.balances.items():
        sums[ins] = sums.get(ins, 0) + amount
        if amount < 0 and acc != ISSUANCE:
            problems.append(f"balance of {acc} in {ins} is negative ({amount})")
        if acc == ISSUANCE and amount > 0:
            problems.append(f"issuance account is positive in {ins} ({amount})")
    for ins, total in sorted(sums.items()):
        if total != 0:
            problems.append(f"balances of {ins} sum to {total}, not 0 (double entry broken)")
    for seq, ins, acc, amount in state.postings:
        if acc in CREDIT_ONLY and amount < 0:
            problems.append(f"transaction {seq} debits credit-only account {acc} in {ins}")
    for ins, table in sorted(state.blocks.items()):
        issued = state.issued(ins)
        expect = 1
        held: dict[str, int] = {}
        for start in sorted(table):
            end, holder, _ = table[start]
            if start != expect or end < start:
                problems.append(f"serial blocks of {ins} do not partition 1..{issued}: gap or overlap at serial {min(start, expect)}")
                break
            held[holder] = held.get(holder, 0) + end - start + 1
            expect = end + 1
        else:
            if expect - 1 != issued:
                problems.append(f"serial blocks of {ins} cover 1..{expect - 1}, but {issued} were issued")
        for (acc, i2), amount in state.balances.items():
            if i2 == ins and acc != ISSUANCE and held.get(acc, 0) != amount:
                problems.append(f"blocks of {acc} in {ins} hold {held.get(acc, 0)} serials, its balance is {amount}")
    used: dict[str, int] = {}
    first_cap: dict[str, tuple[int, int]] = {}
    for seq, (key, ins, amount, cap) in sorted(state.evidence_rows.items()):
        used[key] = used.get(key, 0) + amount
        if used[key] > cap:
            problems.append(f"transaction {seq} issues beyond the cap of its evidence ({used[key]} > {cap})")
        s0, c0 = first_cap.setdefault(key, (seq, cap))
        if c0 != cap:
            problems.append(f"transaction {seq} records cap {cap} for the evidence that transaction {s0} recorded as {c0}")
    return problems

