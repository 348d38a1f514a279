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
* the parameters that decide amounts (coefficient set and hash, buffer share per
  instrument kind, rounding, units) are fixed by the genesis record; nothing is
  read from the working directory;
* issuance cites evidence (an engine run, attested by its replay or by an engine
  operator's signature) and never exceeds its cap, minus what was already issued
  against the same evidence or in the same instrument; an instrument's cap is
  fixed by the first run it cites and changed only by a registry-signed
  ``recalculate`` naming both runs; forest carbon issuance withholds
  ``ceil(amount × buffer share)`` into ``sys:buffer``;
* the legs of a delivery-versus-payment batch (transfers carrying the same
  ``dvp`` = batch id, number of legs, expiry and the hash of every leg's terms)
  are recorded together and before their expiry, or not at all: a leg alone is
  refused, and so are legs whose terms are not those every leg was signed for;
* serial blocks of an instrument partition ``1 .. issued``; a holder's blocks
  sum to its balance (cash, ``cash/CNY``, is fungible and has none);
* rights with a validity period (energy-use and emission rights) cannot move
  once expired by the ledger's clock (:mod:`gep.ledger.clock`); zone-bound
  rights move between accounts of different zones only through the market,
  where the trading ratio applies.

The market's requests (listings, bids, auctions, settlement, cash, trading
ratios, allocated rights and compliance) are decided here too: their
functions live in :mod:`gep.ledger.instruments`, :mod:`gep.ledger.cash`,
:mod:`gep.ledger.ratios`, :mod:`gep.ledger.auction` and
:mod:`gep.ledger.compliance` and are registered in :data:`APPLY`, so
:func:`apply` remains the one decision function of store and audit.
"""

from __future__ import annotations

import gc
import hashlib
import re
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right, insort
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any, Iterable, Iterator

from gep.ledger import clock, keys, merkle
from gep.ledger.canonical import ATTEST_DOMAIN, BATCH_DOMAIN, canonical, signing_message
from gep.ledger.errors import (
    AccountExists, BadSignature, InsufficientBalance, InvalidAmount, InvalidRequest, NotAuthorised,
    OverIssuance, UnknownAccount, UnknownInstrument,
)
from gep.ledger.model import (
    ALLOCATED_KINDS, BUFFER, CANCELLATION, COMMON_FIELDS, CREDIT_ONLY, EVIDENCE_KINDS, ISSUANCE, REQUEST_FIELDS, RETIREMENT, ROLES,
    SYSTEM_ACCOUNTS, ZONE_BOUND, Account, Instrument, check_account_id, check_client_id, check_token, normalise_decimal,
)
from gep.numbers import parse_decimal

__all__ = ["State", "MemoryState", "Context", "Moves", "apply", "end_commit", "authentic", "prove_batches", "check_request", "check_params",
           "evidence_key", "buffer_amount", "check_invariants", "paused_gc", "VERSION", "ROUNDING", "EARLIER_ROUNDING", "UNITS", "MAX_DVP_LEGS", "APPLY",
           "RULES", "ruled", "LEG_TERMS", "leg_terms", "terms_hash",
           "need_account", "need_registry", "need_owner", "need_instrument", "live_instrument", "parse_instrument", "positive_int", "check_price"]

#: Request format version (2: parameters fixed at genesis, signer-scoped ids, DvP legs, recalculation;
#: 3: the market: cash, allocated rights, listings and auctions, trading ratios, compliance; zones and roles of accounts).
VERSION = 3
#: Rounding rules the code implements; the genesis record states them and replay refuses others.
#: ``payment``: CNY owed for a quantity at a price, to the fen, half up (四舍五入); ``fills``: the fills
#: of a fixed-price listing pay the differences of the cumulative payment, so they add up to the payment
#: of the quantity filled; ``ratio``: what a buyer receives across zones, quantity ÷ ratio rounded down to
#: a base unit; ``fee``: paid-use fee, to the fen, half up.
ROUNDING = {"buffer": "ceiling", "evidence_cap": "floor", "payment": "half-up", "fills": "cumulative", "ratio": "floor", "fee": "half-up"}
#: Rounding stated by format-3 ledgers made before ``fills`` (before December 2026): each fill of a sell listing
#: was rounded on its own. Their genesis is still read, and their fills are decided (and replayed) that way.
EARLIER_ROUNDING = ({k: v for k, v in ROUNDING.items() if k != "fills"},)
#: Units of each instrument kind, as stated in the genesis record.
UNITS = {kind: {"base": base, "display": display, "per_display": per} for kind, (base, display, per) in Instrument.UNITS.items()}
#: Most legs of one delivery-versus-payment batch.
MAX_DVP_LEGS = 16
#: Rules a genesis record states it is decided by (``params.rules``), each since December 2026; ledgers made before
#: state none and keep the rules they were made with (their records replay as recorded):
#:
#: * ``dvp``: a delivery-versus-payment leg carries the deal's ``terms``, the hash of every leg's terms
#:   (:func:`terms_hash`); before, legs bound batch id, count and expiry only (and carried ``terms`` if they chose);
#: * ``trades``: a listing's account and a bidder's have different owners, but in a negotiated deal, which names its
#:   counterparty (an owner bidding in its own listing moved the price index and bid up its own auctions);
#: * ``evidence``: an issuance's evidence is keyed by the output file it is capped by (its SHA-256) and the
#:   selection, not by the manifest's bytes (:func:`evidence_key`): the same computation cited through a copied or
#:   re-serialised manifest drew on a second cap.
RULES = {"dvp": "legs bind the deal's terms", "trades": "no owner bids in its own listing", "evidence": "keyed by the output file"}
#: The fields of a transfer's signed body that make its part of an exchange: a leg's terms.
LEG_TERMS = ("instrument", "amount", "from", "to", "price")
#: Bound of an amount and of what is outstanding of an instrument [base units or fen]: every balance
#: stays within it (balances of an instrument sum to zero), so a sum of balances fits SQLite's 64-bit integers.
MAX_UNITS = 2**62
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEXES = re.compile(r"(?:[0-9a-f]{64})*")
#: Columns of a settled trade (the ``trades`` table and ``effects.trades``).
TRADE_FIELDS = ("listing", "instrument", "mechanism", "seller", "buyer", "quantity", "received", "price", "payment", "ratio", "reserve", "time")


def instrument_info(kind: str, binding: str) -> dict:
    """What the rules know of an instrument: kind, binding and (allocated kinds) the time its validity ends."""
    expires = None
    if kind in ALLOCATED_KINDS:
        import json

        expires = clock.day_after(json.loads(binding)["valid_until"], "valid_until")
    return {"kind": kind, "binding": binding, "expires": expires}


@dataclass(slots=True)
class Context:
    """Facts from outside the log that a transaction depends on, recorded in its effects.

    Attributes
    ----------
    seq : int
        Sequence number the transaction gets.
    time : str
        UTC time of recording (ISO 8601).
    evidence : dict, optional
        For an issuance or recalculation: what the evidence resolved to (``cap`` in
        base units, the file and its SHA-256, the manifest's kind, its attestation)
        — see :mod:`gep.ledger.evidence`.
    """

    seq: int
    time: str
    evidence: dict | None = None


class State(ABC):
    """What the rules read and change. Implemented in memory and on SQL."""

    ledger_id: str | None = None
    registry: str | None = None
    #: Genesis parameters (``coefficients``, ``buffer_share``, ``rounding``, ``units``).
    params: dict | None = None
    #: Engine operator keys whose manifest signatures attest evidence.
    operators: tuple = ()
    #: The delivery-versus-payment batch being recorded: ``{"dvp": ..., "count": n, "terms": (terms of its legs so far, ...)}`` or None.
    dvp_open: dict | None = None
    #: Batch signatures already checked: ``(signer, root, signature)``.
    verified: set

    @abstractmethod
    def account(self, account_id: str) -> Account | None: ...

    @abstractmethod
    def instrument(self, instrument_id: str) -> dict | None:
        """``{"kind", "binding", "expires"}`` of an issued or defined instrument, or None.

        ``binding`` is the evidence selection (capacity, carbon) or the canonical terms
        (energy, emission); ``expires`` the first record time at which it may no longer
        move (None: no validity period).
        """

    @abstractmethod
    def balance(self, account_id: str, instrument_id: str) -> int: ...

    @abstractmethod
    def evidence_used(self, key: str) -> int: ...

    @abstractmethod
    def cap(self, instrument_id: str) -> dict | None:
        """The cap in force for an instrument: ``{"key", "manifest_sha256", "cap", "seq"}``, or None."""

    @abstractmethod
    def evidence_instrument(self, key: str) -> str | None:
        """The instrument an evidence citation is bound to, or None."""

    @abstractmethod
    def holder_blocks(self, account_id: str, instrument_id: str, after: int, limit: int) -> list[tuple[int, int]]:
        """The holder's blocks ``(start, end)`` with ``start > after``, lowest first, at most ``limit``."""

    # mutations
    @abstractmethod
    def set_genesis(self, ledger_id: str, registry: str, params: dict, operators: list[str]) -> None: ...

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

    def move_head(self, instrument_id: str, start: int, cut: int, end: int, src: str, dst: str, seq: int) -> None:
        """Give serials ``start..cut-1`` of block ``start..end`` to ``dst``; ``cut..end`` stay with ``src``."""
        self.split_block(instrument_id, start, cut, end, src, seq)
        self.set_holder(instrument_id, start, dst, seq)

    def give(self, instrument_id: str, start: int, end: int, src: str, dst: str, seq: int) -> None:
        """Give the whole block ``start..end`` of ``src`` to ``dst``."""
        self.set_holder(instrument_id, start, dst, seq)

    @abstractmethod
    def split_block(self, instrument_id: str, start: int, cut: int, end: int, holder: str, seq: int) -> None:
        """Split block ``start..end`` of ``holder`` into ``start..cut-1`` and ``cut..end`` (same holder)."""

    @abstractmethod
    def use_evidence(self, seq: int, key: str, instrument_id: str, amount: int, cap: int) -> None: ...

    @abstractmethod
    def set_cap(self, seq: int, instrument_id: str, key: str, manifest_sha256: str, cap: int) -> None: ...

    @abstractmethod
    def add_price(self, seq: int, instrument_id: str, amount: int, price: str, time: str) -> None: ...

    # market objects (listings, bids, obligations, the ratio table): JSON documents, treated as immutable
    @abstractmethod
    def market_get(self, kind: str, key: str) -> dict | None:
        """The current document of a market object (``listing``, ``bid``, ``obligation``, ``ratios``), or None."""

    @abstractmethod
    def market_put(self, kind: str, key: str, doc: dict, seq: int) -> None:
        """Store a new version of a market object (``doc`` is not changed afterwards)."""

    @abstractmethod
    def add_trade(self, seq: int, n: int, trade: dict) -> None:
        """Record the ``n``-th trade settled by transaction ``seq`` (see :data:`TRADE_FIELDS`)."""

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
                    self.move_head(instrument_id, start, start + left, end, src, dst, seq)
                    end = start + left - 1
                    size = left
                else:
                    self.give(instrument_id, start, end, src, dst, seq)
                if moved and moved[-1][1] + 1 == start:
                    moved[-1][1] = end
                else:
                    moved.append([start, end])
                left -= size
                after = end
                if left == 0:
                    break
        return moved


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while many requests are decided (a verify's replay, a commit of a batch).

    Both allocate many small objects and make no reference cycles: the collector's passes
    over the heap cost about a third of a replay's time (measured at 2·10⁴ transactions, more
    at 10⁵) and 8–18 % of a batch commit's (batches of 1,000 transfers at 2·10⁴). It runs again
    afterwards if it ran before (whatever another thread did meanwhile, it ends enabled).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- memory


@dataclass
class MemoryState(State):
    """The whole ledger state in dictionaries (for ``verify`` and the tests)."""

    ledger_id: str | None = None
    registry: str | None = None
    params: dict | None = None
    operators: tuple = ()
    dvp_open: dict | None = None
    verified: set = field(default_factory=set)
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
    caps: dict[str, dict] = field(default_factory=dict)  # instrument -> cap in force
    cap_rows: dict[int, tuple] = field(default_factory=dict)  # seq -> (instrument, key, manifest, cap)
    key_instrument: dict[str, str] = field(default_factory=dict)
    market: dict[tuple[str, str], tuple[dict, int]] = field(default_factory=dict)  # (kind, key) -> (doc, seq)
    trades: list[tuple] = field(default_factory=list)  # (seq, n, *TRADE_FIELDS)

    def account(self, account_id):
        return self.accounts.get(account_id)

    def instrument(self, instrument_id):
        return self.instruments.get(instrument_id)

    def balance(self, account_id, instrument_id):
        return self.balances.get((account_id, instrument_id), 0)

    def evidence_used(self, key):
        return self.evidence.get(key, 0)

    def cap(self, instrument_id):
        return self.caps.get(instrument_id)

    def evidence_instrument(self, key):
        return self.key_instrument.get(key)

    def holder_blocks(self, account_id, instrument_id, after, limit):
        starts = self.starts.get((account_id, instrument_id), [])
        i = bisect_right(starts, after)
        table = self.blocks[instrument_id]
        return [(s, table[s][0]) for s in starts[i:i + limit]]

    def set_genesis(self, ledger_id, registry, params, operators):
        self.ledger_id, self.registry, self.params, self.operators = ledger_id, registry, params, tuple(operators)

    def add_account(self, account, seq):
        self.accounts[account.id] = account
        self.account_seq[account.id] = seq

    def add_instrument(self, instrument, binding, seq):
        self.instruments[instrument.id] = instrument_info(instrument.kind, binding)
        self.instrument_rows[instrument.id] = (instrument.kind, instrument.base_unit, instrument.display_unit, binding, seq)
        self.blocks.setdefault(instrument.id, {})

    def post(self, seq, instrument_id, account_id, amount):
        key = (account_id, instrument_id)
        self.balances[key] = self.balances.get(key, 0) + amount
        self.postings.append((seq, instrument_id, account_id, amount))

    def new_block(self, instrument_id, start, end, holder, seq):
        self.blocks.setdefault(instrument_id, {})[start] = [end, holder, seq]
        insort(self.starts.setdefault((holder, instrument_id), []), start)

    def load_blocks(self, rows: Iterable[tuple[str, int, int, str, int]]) -> None:
        """Add serial blocks ``(instrument, start, end, holder, seq)`` at once (a checkpoint's): each holder's starts sorted once."""
        starts: dict[tuple[str, str], list[int]] = {}
        for i, start, end, holder, seq in rows:
            self.blocks.setdefault(i, {})[start] = [end, holder, seq]
            starts.setdefault((holder, i), []).append(start)
        for key, new in starts.items():
            self.starts[key] = sorted(self.starts.get(key, []) + new)

    def set_holder(self, instrument_id, start, holder, seq):
        row = self.blocks[instrument_id][start]
        old = row[1]
        self.starts[(old, instrument_id)].remove(start)
        row[1], row[2] = holder, seq
        insort(self.starts.setdefault((holder, instrument_id), []), start)

    def move_head(self, instrument_id, start, cut, end, src, dst, seq):
        """:meth:`State.move_head` in place: ``cut`` takes ``start``'s place among the holder's starts (it keeps them sorted)."""
        table = self.blocks[instrument_id]
        row = table[start]
        holder = row[1]
        starts = self.starts[(holder, instrument_id)]
        i = bisect_left(starts, start)
        if i == len(starts) or starts[i] != start:  # never with a state the rules built: the general way, which says what is wrong
            return State.move_head(self, instrument_id, start, cut, end, src, dst, seq)
        table[cut] = [row[0], holder, seq]
        starts[i] = cut
        row[0], row[1], row[2] = cut - 1, dst, seq
        insort(self.starts.setdefault((dst, instrument_id), []), start)

    def split_block(self, instrument_id, start, cut, end, holder, seq):
        row = self.blocks[instrument_id][start]
        end, holder, _ = row
        row[0] = cut - 1
        self.new_block(instrument_id, cut, end, holder, seq)

    def use_evidence(self, seq, key, instrument_id, amount, cap):
        self.evidence[key] = self.evidence.get(key, 0) + amount
        self.evidence_rows[seq] = (key, instrument_id, amount, cap)

    def add_price(self, seq, instrument_id, amount, price, time):
        self.prices.append((seq, instrument_id, amount, price, time))

    def set_cap(self, seq, instrument_id, key, manifest_sha256, cap):
        self.caps[instrument_id] = {"key": key, "manifest_sha256": manifest_sha256, "cap": cap, "seq": seq}
        self.cap_rows[seq] = (instrument_id, key, manifest_sha256, cap)
        self.key_instrument[key] = instrument_id

    def market_get(self, kind, key):
        row = self.market.get((kind, key))
        return row[0] if row else None

    def market_put(self, kind, key, doc, seq):
        self.market[(kind, key)] = (doc, seq)

    def add_trade(self, seq, n, trade):
        self.trades.append((seq, n, *(trade[f] for f in TRADE_FIELDS)))


# --------------------------------------------------------------------------- checks


#: Request type -> (fields it must have, fields it may have), the common fields included.
_SHAPES = {kind: (required | COMMON_FIELDS, required | optional | COMMON_FIELDS) for kind, (required, optional) in REQUEST_FIELDS.items()}


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
    shape = _SHAPES.get(kind) if type(kind) is str else None
    if shape is None:
        raise InvalidRequest(f"unknown request type {kind!r}", hint=f"one of {', '.join(REQUEST_FIELDS)}")
    need, allowed = shape
    fields = request.keys()
    if not fields >= need:
        raise InvalidRequest(f"{kind} request lacks field(s) {', '.join(sorted(need - fields))}")
    if not fields <= allowed:
        raise InvalidRequest(f"{kind} request has unknown field(s) {', '.join(sorted(fields - allowed))}")
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
        if a >= MAX_UNITS:
            raise InvalidAmount(f"amount {a} is too large", hint="amounts are below 2**62 base units")
    return request


def evidence_key(evidence: dict, resolved: dict | None = None) -> str:
    """Key of an evidence citation, under which its cap is drawn on: SHA-256 of the canonical
    ``{file_sha256, selector}`` of the output file that caps it (``resolved``, on a ledger whose genesis states
    the ``evidence`` rule: :data:`RULES`), else of ``{manifest_sha256, selector}`` (ledgers made before December
    2026: a copied or re-serialised manifest of the same run was another evidence with a cap of its own)."""
    if resolved is not None:
        return hashlib.sha256(canonical({"file_sha256": resolved["file_sha256"], "selector": evidence["selector"]})).hexdigest()
    return hashlib.sha256(canonical({"manifest_sha256": evidence["manifest_sha256"], "selector": evidence["selector"]})).hexdigest()


def buffer_amount(amount: int, share: Decimal) -> int:
    """Units withheld into the buffer pool: ``ceil(amount × share)`` [base units].

    Rounded up, so the buffer is never short of its declared share (``ROUNDING["buffer"]``).
    """
    return int((Decimal(amount) * share).to_integral_value(rounding=ROUND_CEILING))


def _share(text: Any, where: str) -> Decimal:
    if not isinstance(text, str):
        raise InvalidRequest(f"{where} must be a decimal string")
    share = parse_decimal(text, where, error=InvalidRequest)
    if not (Decimal(0) <= share < Decimal(1)) or str(normalise_decimal(share)) != text:
        raise InvalidRequest(f"{where} {text!r} is not a fraction in [0, 1) in normal form", hint="e.g. \"0.2\" for 20 %")
    return share


def check_params(params: Any) -> dict:
    """Check the parameters of a genesis record: the values every later amount depends on.

    ``coefficients`` (``id``, ``version``, ``manifest_sha256`` of the ledger coefficient set),
    ``buffer_share`` (a decimal fraction per kind issued against evidence), ``rounding`` and ``units``
    (which must state exactly what this code implements: :data:`ROUNDING`, or a rounding of earlier
    ledgers it still decides by, :data:`EARLIER_ROUNDING`; :data:`UNITS`), and ``rules`` (:data:`RULES`),
    which ledgers made before it lack.

    Raises
    ------
    InvalidRequest
        Naming the first problem.
    """
    if not isinstance(params, dict) or set(params) - {"rules"} != {"coefficients", "buffer_share", "rounding", "units"}:
        raise InvalidRequest("genesis params must be exactly {coefficients, buffer_share, rounding, units, rules} (rules: since December 2026)")
    if "rules" in params and params["rules"] != RULES:
        raise InvalidRequest(f"genesis rules {params['rules']!r} are not what this gep implements ({RULES})",
                             hint="this ledger was made by another gep version; verify it with that version")
    cs = params["coefficients"]
    if not isinstance(cs, dict) or set(cs) != {"id", "version", "manifest_sha256"} or not all(isinstance(v, str) for v in cs.values()) \
            or not _HEX64.match(cs["manifest_sha256"]):
        raise InvalidRequest("genesis params.coefficients must be {id, version, manifest_sha256 (64 hex)}")
    shares = params["buffer_share"]
    if not isinstance(shares, dict) or set(shares) != set(EVIDENCE_KINDS):
        raise InvalidRequest(f"genesis params.buffer_share must give a share for each of {sorted(EVIDENCE_KINDS)}")
    for kind, text in shares.items():
        _share(text, f"genesis buffer share of {kind}")
    if params["rounding"] != ROUNDING and params["rounding"] not in EARLIER_ROUNDING:
        raise InvalidRequest(f"genesis rounding {params['rounding']!r} is not what this gep implements ({ROUNDING})",
                             hint="this ledger was made by another gep version; verify it with that version")
    if params["units"] != UNITS:
        raise InvalidRequest(f"genesis units {params['units']!r} are not what this gep implements ({UNITS})",
                             hint="this ledger was made by another gep version; verify it with that version")
    return params


def ruled(state: State, rule: str) -> bool:
    """Whether the ledger's genesis states ``rule`` (one of :data:`RULES`): ledgers made before it do not."""
    return rule in (state.params or {}).get("rules", ())


def authentic(state: State, request: dict, signature: Any, message: bytes | None = None) -> bool:
    """True when ``signature`` authenticates ``request`` by its ``signer``.

    ``signature`` is either 128 hex digits (Ed25519 over :func:`signing_message`) or a
    batch signature ``{"index", "size", "path", "signature"}``: the signer signed
    ``BATCH_DOMAIN + root`` once for a batch of requests, where ``root`` is the RFC 6962
    tree over their signing messages and ``path`` this request's audit path. A batch
    signature is checked once per ``state`` (``state.verified``). ``message``: the
    request's :func:`signing_message`, when the caller has it already.
    """
    signer = request["signer"]
    message = message if message is not None else signing_message(request)
    if isinstance(signature, str):
        return keys.verify(signer, message, signature)
    if not isinstance(signature, dict) or set(signature) != {"index", "size", "path", "signature"}:
        return False
    index, size, path, sig = signature["index"], signature["size"], signature["path"], signature["signature"]
    if not (isinstance(index, int) and isinstance(size, int) and isinstance(path, list) and isinstance(sig, str)) or len(path) > 64:
        return False
    try:
        joined = "".join(path)
    except TypeError:
        return False
    if len(joined) != 64 * len(path) or not _HEXES.fullmatch(joined):
        return False
    raw = bytes.fromhex(joined)
    root = merkle.root_from_path(merkle.leaf_hash(message), index, size, [raw[k:k + 32] for k in range(0, len(raw), 32)])
    if root is None:
        return False
    memo = (signer, root, sig)
    if memo in state.verified:
        return True
    if keys.verify(signer, BATCH_DOMAIN + root, sig):
        state.verified.add(memo)
        return True
    return False


def prove_batches(state: State, items: list[tuple[Any, Any, bytes | None]]) -> list[bool]:
    """Check the batch signatures of many requests at once: the same predicate as :func:`authentic`, faster.

    For every batch (signer, signature, size) of which all ``size`` requests are among
    ``items`` (``(request, signature, signing message or None)``), the tree is built once
    from their leaves (``size − 1`` hashes instead of ``size × log₂ size``) and its root's
    signature checked once; a request whose recorded path is its audit path in that tree
    is proven.

    Returns
    -------
    list of bool
        For each item, True when proven; :func:`apply` then accepts its signature at once
        (``proven=True``). An item not proven (a single signature, an incomplete batch, a
        path that differs) is left to :func:`authentic`.
    """
    proven = [False] * len(items)
    groups: dict[tuple, dict[int, tuple[int, list, bytes]]] = {}
    for k, (request, signature, message) in enumerate(items):
        if message is None or type(signature) is not dict or len(signature) != 4 or type(request) is not dict:
            continue
        try:
            sig, size, index, path, signer = signature["signature"], signature["size"], signature["index"], signature["path"], request["signer"]
        except KeyError:
            continue
        if type(sig) is str and type(size) is int and type(index) is int and type(path) is list and type(signer) is str:
            groups.setdefault((signer, sig, size), {})[index] = (k, path, message)
    leaf_hash = merkle.leaf_hash
    for (signer, sig, size), members in groups.items():
        if len(members) != size or min(members) != 0 or max(members) != size - 1:
            continue
        tree = merkle.levels([leaf_hash(members[i][2]) for i in range(size)])
        root = tree[-1][0]
        if (signer, root, sig) not in state.verified:
            if not keys.verify(signer, BATCH_DOMAIN + root, sig):
                continue
            state.verified.add((signer, root, sig))
        for i, path in enumerate(merkle.audit_paths(tree)):
            k, recorded, _ = members[i]
            if recorded == path:
                proven[k] = True
    return proven


def _authenticate(state: State, request: dict, signature: Any, message: bytes | None) -> None:
    if not authentic(state, request, signature, message):
        raise BadSignature(f"the signature of request {request['id']!r} does not verify with key {request['signer'][:16]}…",
                           hint="sign the canonical request bytes with the private key of the signer (RFC 8032 Ed25519)")


def need_account(state: State, account_id: Any, role: str) -> Account:
    acc = state.account(account_id) if type(account_id) is str else None
    if acc is not None:  # an open account's id was checked when it was opened
        return acc
    if not isinstance(account_id, str):
        raise InvalidRequest(f"{role} account must be a string")
    check_account_id(account_id, role)
    acc = state.account(account_id)
    if acc is None:
        raise UnknownAccount(f"{role} account {account_id!r} does not exist", hint="open it first with `gep ledger account open`")
    return acc


def need_registry(state: State, request: dict) -> None:
    if request["signer"] != state.registry:
        raise NotAuthorised(f"only the registry key may {request['type']}; request {request['id']!r} is signed by {request['signer'][:16]}…",
                            hint="sign with the registry key created by `gep ledger init`")


def need_owner(state: State, acc: Account, request: dict) -> None:
    if request["signer"] != acc.owner:
        raise NotAuthorised(f"key {request['signer'][:16]}… is not the owner of account {acc.id!r}",
                            hint="only the account's owner may transfer or retire from it: sign with the owner's key")


def parse_instrument(text: Any) -> Instrument:
    """The instrument a request names, which must be written in canonical form."""
    if not isinstance(text, str):
        raise InvalidRequest("instrument must be a string")
    ins = Instrument.parse(text)
    if ins.id != text:
        raise InvalidRequest(f"instrument {text!r} is not in canonical form", hint=f"write {ins.id}")
    return ins


def need_instrument(state: State, text: Any) -> Instrument:
    """The instrument ``text`` names, which must have been issued or defined."""
    ins = parse_instrument(text)
    if state.instrument(ins.id) is None:
        raise UnknownInstrument(f"instrument {ins.id} has never been issued", hint="check the id with `gep ledger balance`")
    return ins


def live_instrument(state: State, text: Any, ctx: Context) -> Instrument:
    """:func:`need_instrument`, refused once its validity period has ended by the ledger's clock."""
    ins = need_instrument(state, text)
    expires = state.instrument(ins.id)["expires"]
    if expires is not None and ctx.time >= expires:
        raise InvalidRequest(f"{ins.id} expired at {expires} (its validity ended): expired rights cannot move",
                             hint="only the registry may cancel expired rights; see `gep ledger market instruments`")
    return ins


def check_outstanding(ins: Instrument, outstanding: int) -> None:
    """Refuse an issue or deposit after which ``outstanding`` [base units or fen] of ``ins`` would reach :data:`MAX_UNITS`.

    No balance can exceed what is outstanding, so this bounds every balance and
    keeps them within the 64-bit integers the database stores.
    """
    if outstanding >= MAX_UNITS:
        raise InvalidAmount(f"{ins.display(outstanding)} of {ins.id} would be outstanding, beyond the 2**62 base units a balance may hold",
                            hint="issue or deposit less")


def positive_int(value: Any, what: str) -> int:
    """An integer ``0 < value < 2**62`` (an amount of base units or fen)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < MAX_UNITS:
        raise InvalidAmount(f"{what} {value!r} is not a positive integer below 2**62", hint="amounts are whole base units (kg, kgce, fen)")
    return value


def check_price(text: Any, what: str = "price") -> Decimal:
    """A price: a positive decimal string in normal form (CNY per display unit), as signed."""
    value = parse_decimal(text, what, error=InvalidAmount) if isinstance(text, str) else None
    if value is None or value <= 0 or str(normalise_decimal(value)) != text:
        raise InvalidAmount(f"{what} {text!r} is not a positive decimal string in normal form", hint="e.g. \"71.6\" (CNY per display unit)")
    return value


def _debit_check(state: State, acc: Account, ins: Instrument, amount: int) -> None:
    have = state.balance(acc.id, ins.id)
    if have < amount:
        raise InsufficientBalance(f"account {acc.id!r} holds {ins.display(have)} of {ins.id}, less than {ins.display(amount)}",
                                  hint="no balance may go negative: move less, or fund the account first")


def _post_move(state: State, ctx: Context, ins: Instrument, src: str, dst: str, amount: int) -> dict:
    state.post(ctx.seq, ins.id, src, -amount)
    state.post(ctx.seq, ins.id, dst, amount)
    serials = state.move(ins.id, src, dst, amount, ctx.seq) if ins.serial else []
    return {"postings": sorted([[src, -amount], [dst, amount]]), "serials": serials}


# --------------------------------------------------------------------------- apply


def apply(state: State, request: dict, signature: Any, ctx: Context, message: bytes | None = None, proven: bool = False) -> dict:
    """Decide a signed request against ``state``; on success change it and return the effects.

    Parameters
    ----------
    state : State
        Ledger state (changed only when the request is accepted, as far as the
        caller rolls back its transaction on an exception).
    request : dict
        The request (see :data:`gep.ledger.model.REQUEST_FIELDS`).
    signature : str or dict
        Hex Ed25519 signature of :func:`gep.ledger.canonical.signing_message`, or a
        batch signature (see :func:`authentic`).
    ctx : Context
        Sequence number, time and, for issuance and recalculation, the resolved evidence.
    message : bytes, optional
        The request's :func:`gep.ledger.canonical.signing_message` when the caller has
        computed it (then the request was also checked with :func:`check_request`).
    proven : bool
        The request was checked (:func:`check_request`) and its signature proven: a batch
        signature by :func:`prove_batches`, a single one by :func:`authentic`.

    Returns
    -------
    dict
        Effects recorded in the log: ``postings`` (account, signed amount) and
        ``serials`` (moved or created ranges), plus ``evidence`` and ``buffer``
        for an issuance, ``recalculation`` for a recalculation and ``account``
        for an opening.

    Raises
    ------
    LedgerError
        Any refusal (bad signature, wrong key, unknown account or instrument,
        insufficient balance, over-issuance, malformed request, an incomplete
        or expired delivery-versus-payment batch).
    """
    if not proven:
        if message is None:
            check_request(request)
        _authenticate(state, request, signature, message)
    kind = request["type"]
    if kind == "init":
        return _apply_init(state, request, ctx)
    if state.ledger_id is None:
        raise InvalidRequest("the ledger has no genesis record", hint="run `gep ledger init` first")
    if request["ledger"] != state.ledger_id:
        raise InvalidRequest(f"request {request['id']!r} names ledger {request['ledger']}, not this ledger ({state.ledger_id})",
                             hint="requests are bound to one ledger; build it again for this one")
    leg = request.get("dvp")
    group = state.dvp_open
    if group is not None and leg != group["dvp"]:
        raise InvalidRequest(f"delivery-versus-payment batch {group['dvp']['batch']!r} is incomplete ({group['count']} of {group['dvp']['legs']} legs) "
                             f"when request {request['id']!r} arrives; a leg alone is refused",
                             hint="submit all legs of a DvP batch together, one after the other, in one linked batch")
    if leg is not None:
        _check_leg(state, leg, ctx)
    effects = APPLY[kind](state, request, ctx)
    if leg is not None:
        state.dvp_open = _add_leg(group, leg, request)
    return effects


def end_commit(state: State) -> None:
    """Check what must hold at the end of every commit: no delivery-versus-payment batch left open.

    Raises
    ------
    InvalidRequest
        A DvP batch has fewer legs than it declares (a leg alone).
    """
    group = state.dvp_open
    if group is not None:
        raise InvalidRequest(f"delivery-versus-payment batch {group['dvp']['batch']!r} has {group['count']} of {group['dvp']['legs']} legs: "
                             "a leg alone is refused", hint="submit all legs of the batch together in one linked batch")


def leg_terms(transfer: dict) -> dict:
    """The terms of a delivery-versus-payment leg: the :data:`LEG_TERMS` of its transfer body.

    ``amount`` is in the instrument's base units and ``price`` the signed text, None when the
    transfer has none (as :meth:`gep.ledger.ledger.Ledger.transfer_fields` normalises them).
    """
    return {name: transfer.get(name) for name in LEG_TERMS}


def terms_hash(legs: Iterable[dict]) -> str:
    """The hash of a deal's terms, which every leg of its batch carries as ``dvp.terms``.

    SHA-256 (FIPS 180-4) of the canonical bytes (:func:`gep.ledger.canonical.canonical`) of the
    list of every leg's terms (:func:`leg_terms`), sorted by their own canonical bytes: the
    order the legs are given in does not change it, their number and every term does.

    Parameters
    ----------
    legs : iterable of dict
        Transfer bodies, or leg terms (``instrument``, ``amount`` [base units], ``from``, ``to``,
        ``price`` [CNY per display unit, text] or None).

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    return hashlib.sha256(canonical(sorted((leg_terms(leg) for leg in legs), key=canonical))).hexdigest()


def _add_leg(group: dict | None, leg: dict, request: dict) -> dict | None:
    """The open batch after the leg ``request`` (None once its last leg is in, whose terms must be those the legs carry)."""
    terms = (group["terms"] if group else ()) + (leg_terms(request),)
    if len(terms) < leg["legs"]:
        return {"dvp": leg, "count": len(terms), "terms": terms}
    got = terms_hash(terms) if "terms" in leg else None
    if got != leg.get("terms"):
        raise InvalidRequest(f"delivery-versus-payment batch {leg['batch']!r}: the legs submitted are not the terms the legs were signed for "
                             f"(theirs hash to {got[:12]}…, the legs carry terms {leg['terms'][:12]}…)",
                             hint="every party signs its leg from the same deal file (`gep ledger deal FILE` prints its terms): submit exactly the deal's legs")
    return None


def _check_leg(state: State, leg: Any, ctx: Context) -> None:
    if not isinstance(leg, dict) or not {"batch", "legs", "expires"} <= leg.keys() <= {"batch", "legs", "expires", "terms"}:
        raise InvalidRequest("dvp must be {batch, legs, expires, terms}")
    check_client_id(leg["batch"])
    legs = leg["legs"]
    if not isinstance(legs, int) or isinstance(legs, bool) or not 2 <= legs <= MAX_DVP_LEGS:
        raise InvalidRequest(f"dvp legs {legs!r} must be an integer from 2 to {MAX_DVP_LEGS}")
    if "terms" not in leg:
        if ruled(state, "dvp"):
            raise InvalidRequest(f"delivery-versus-payment leg of batch {leg['batch']!r} carries no terms: this ledger's legs bind the deal's terms",
                                 hint="sign the leg from the deal file both parties agreed: `gep ledger transfer ... --deal deal.json --sign-only`")
    elif not isinstance(leg["terms"], str) or not _HEX64.match(leg["terms"]):
        raise InvalidRequest(f"dvp terms {leg['terms']!r} must be 64 lowercase hex digits (the SHA-256 of the deal's terms)")
    if clock.parse(ctx.time, "record time") > clock.parse(leg["expires"], "dvp expiry"):
        raise InvalidRequest(f"delivery-versus-payment batch {leg['batch']!r} expired at {leg['expires']}",
                             hint="the legs are void after their expiry: sign new legs with a later expiry", key="expires")


def _apply_init(state: State, request: dict, ctx: Context) -> dict:
    if ctx.seq != 1 or state.ledger_id is not None:
        raise InvalidRequest("an init request can only be the first record of a ledger")
    if request["registry"] != request["signer"]:
        raise NotAuthorised("the genesis record must be signed by the registry key it names")
    keys.check_public_hex(request["registry"], "registry key")
    if request["accounts"] != sorted(SYSTEM_ACCOUNTS):
        raise InvalidRequest(f"genesis accounts must be {sorted(SYSTEM_ACCOUNTS)}")
    params = check_params(request["params"])
    operators = request.get("operators", [])
    if not isinstance(operators, list) or len(set(operators)) != len(operators) or len(operators) > 100:
        raise InvalidRequest("genesis operators must be a list of distinct public keys")
    for op in operators:
        keys.check_public_hex(op, "engine operator key")
    state.set_genesis(request["ledger"], request["registry"], params, operators)
    for acc_id in sorted(SYSTEM_ACCOUNTS):
        state.add_account(Account(acc_id, SYSTEM_ACCOUNTS[acc_id], request["registry"]), ctx.seq)
    return {"accounts": sorted(SYSTEM_ACCOUNTS)}


def _apply_open(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    acc_id = request["account"]
    if not isinstance(acc_id, str) or acc_id in SYSTEM_ACCOUNTS or ":" in acc_id:
        raise InvalidRequest(f"account id {acc_id!r} is reserved or invalid", hint="user accounts may not use ':' (system accounts are sys:...)")
    check_account_id(acc_id)
    owner = keys.check_public_hex(request["owner"], "owner key")
    zone = check_token(request["zone"], "zone") if "zone" in request else None
    role = request.get("role")
    if role is not None and role not in ROLES:
        raise InvalidRequest(f"account role {role!r} is not one of {', '.join(ROLES)}", hint="reserve: a government reserve account (政府储备)")
    if state.account(acc_id) is not None:
        raise AccountExists(f"account {acc_id!r} already exists", hint="choose another id")
    state.add_account(Account(acc_id, "user", owner, zone, role), ctx.seq)
    return {"account": acc_id}


def _evidence(state: State, request: dict, ins: Instrument, ctx: Context) -> tuple[dict, dict, str, str]:
    """Check the evidence a request cites against what was resolved; return (citation, resolved, binding, the key its cap is drawn under: :func:`evidence_key`)."""
    ev = request["evidence"]
    if not isinstance(ev, dict) or set(ev) != {"manifest_sha256", "selector"} or not isinstance(ev["selector"], dict) \
            or not isinstance(ev["manifest_sha256"], str):
        raise InvalidRequest("evidence must be {manifest_sha256, selector}")
    resolved = ctx.evidence
    if resolved is None:
        raise InvalidRequest("an issuance needs its evidence resolved (the run manifest)", hint="cite the manifest.json of the run as evidence", key="evidence")
    got = resolved.get("selector")
    if resolved.get("manifest_sha256") != ev["manifest_sha256"] or got != ev["selector"]:
        zone = got.get("zone") if isinstance(got, dict) else None
        if resolved.get("manifest_sha256") == ev["manifest_sha256"] and zone != ev["selector"].get("zone"):
            raise InvalidRequest(f"the request selects zone {ev['selector'].get('zone')!r}; the run resolves it to zone {zone!r}",
                                 hint="a selection names its zone by the id (every spelling of a zone shares one cap): sign it again")
        raise InvalidRequest("the evidence resolved does not match the evidence the request cites",
                             hint="the manifest file changed since the request was signed; sign it again")
    sel = ev["selector"]
    if sel.get("instrument_kind") != ins.kind or sel.get("vintage") != ins.vintage:
        raise InvalidRequest(f"evidence selector {sel} does not fit instrument {ins.id}")
    if ins.kind == "capacity" and (sel.get("catchment") != ins.get("catchment") or sel.get("pollutant") != ins.get("pollutant")):
        raise InvalidRequest(f"evidence is for catchment {sel.get('catchment')} / {sel.get('pollutant')}, not {ins.id}")
    cap = resolved.get("cap")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
        raise InvalidRequest("resolved evidence has no integer cap")
    _check_attestation(state, resolved)
    binding = canonical({k: v for k, v in sorted(sel.items())}).decode()
    return ev, resolved, binding, evidence_key(ev, resolved if ruled(state, "evidence") else None)


def _check_attestation(state: State, resolved: dict) -> None:
    """The run behind the evidence was reproduced by the registry, or is signed by a genesis engine operator."""
    att = resolved.get("attestation")
    if isinstance(att, dict) and att.get("method") == "replay" and set(att) == {"method", "gep_version"}:
        return
    if isinstance(att, dict) and att.get("method") == "operator" and set(att) == {"method", "key", "signature"}:
        if att["key"] not in state.operators:
            raise NotAuthorised(f"run manifest {resolved['manifest_sha256'][:12]}… is signed by key {str(att['key'])[:16]}…, not an engine operator of this ledger",
                                hint="engine operators are named at `gep ledger init --operator`")
        if not isinstance(att["signature"], str) or not keys.verify(att["key"], ATTEST_DOMAIN + resolved["manifest_sha256"].encode(), att["signature"]):
            raise BadSignature(f"the engine operator's signature of run manifest {resolved['manifest_sha256'][:12]}… does not verify")
        return
    raise InvalidRequest(f"run manifest {resolved.get('manifest_sha256', '?')[:12]}… is neither reproduced by its replay nor signed by an engine operator",
                         hint="keep the run's inputs beside its manifest (so `gep replay` can reproduce it), or have an engine operator sign it with `gep ledger attest`")


def _out_evidence(resolved: dict, key: str, used: int) -> dict:
    out = dict(resolved)
    out["key"] = key
    out["used_before"] = used
    return out


def _apply_issue(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    ins = parse_instrument(request["instrument"])
    if ins.kind not in EVIDENCE_KINDS:
        raise InvalidRequest(f"{ins.id} is not issued against an engine run",
                             hint="energy-use and emission rights are defined and allocated (`gep ledger market define/allocate`); cash is deposited")
    to = need_account(state, request["to"], "recipient")
    if not to.is_user:
        raise InvalidRequest(f"cannot issue to system account {to.id}", hint="issue to a user account")
    amount = request["amount"]
    ev, resolved, binding, key = _evidence(state, request, ins, ctx)
    existing = state.instrument(ins.id)
    if existing is not None and existing["binding"] != binding:
        raise InvalidRequest(f"instrument {ins.id} was first issued against selection {existing['binding']}, not {binding}",
                             hint="issue each project area / catchment under its own instrument")
    bound = state.cap(ins.id)
    if bound is not None and bound["key"] != key:
        raise InvalidRequest(f"instrument {ins.id} is bound to run {bound['manifest_sha256'][:12]}… (cap {ins.display(bound['cap'])}, transaction {bound['seq']}), "
                             f"not run {ev['manifest_sha256'][:12]}…",
                             hint="a later run changes the cap only through `gep ledger recalculate` (registry-signed, naming both runs)")
    other = state.evidence_instrument(key)
    if bound is None and other is not None and other != ins.id:
        raise InvalidRequest(f"this evidence (run {ev['manifest_sha256'][:12]}…, selection {binding}) already backs instrument {other}",
                             hint="one run selection backs one instrument: issue more of that instrument instead")
    cap = resolved["cap"] if bound is None else bound["cap"]
    if resolved["cap"] != cap:
        raise InvalidRequest(f"the evidence resolves to cap {resolved['cap']}, but {ins.id} records cap {cap} for it")
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
    params = state.params
    share_text = params["buffer_share"][ins.kind]
    withheld = buffer_amount(amount, _share(share_text, "buffer share"))
    net = amount - withheld
    if net <= 0:
        raise InvalidAmount(f"issuing {ins.display(amount)} leaves nothing for {to.id} after the buffer share {share_text}",
                            hint="issue a larger amount")
    if existing is None:
        state.add_instrument(ins, binding, ctx.seq)
    if bound is None:
        state.set_cap(ctx.seq, ins.id, key, ev["manifest_sha256"], cap)
    check_outstanding(ins, issued + amount)
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
    cs = params["coefficients"]
    return {
        "postings": sorted(postings),
        "serials": serials,
        "evidence": _out_evidence(resolved, key, used),
        "buffer": {"share": share_text, "set": cs["id"], "version": cs["version"], "manifest_sha256": cs["manifest_sha256"], "amount": withheld},
    }


def _apply_recalculate(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    ins = need_instrument(state, request["instrument"])
    bound = state.cap(ins.id)
    if request["from"] != bound["manifest_sha256"]:
        raise InvalidRequest(f"instrument {ins.id} is bound to run {bound['manifest_sha256'][:12]}…, not {str(request['from'])[:12]}…",
                             hint="name the run the instrument is bound to now (see `gep ledger history --instrument`)")
    ev, resolved, binding, key = _evidence(state, request, ins, ctx)
    if state.instrument(ins.id)["binding"] != binding:
        raise InvalidRequest(f"a recalculation keeps the selection of {ins.id} ({state.instrument(ins.id)['binding']}), not {binding}")
    if key == bound["key"]:
        raise InvalidRequest(f"instrument {ins.id} is already bound to run {ev['manifest_sha256'][:12]}…")
    other = state.evidence_instrument(key)
    if other is not None and other != ins.id:
        raise InvalidRequest(f"this evidence already backs instrument {other}")
    cap = resolved["cap"]
    issued = state.issued(ins.id)
    state.set_cap(ctx.seq, ins.id, key, ev["manifest_sha256"], cap)
    return {
        "recalculation": {
            "instrument": ins.id,
            "from": {"manifest_sha256": bound["manifest_sha256"], "cap": bound["cap"], "seq": bound["seq"]},
            "to": {"manifest_sha256": ev["manifest_sha256"], "cap": cap},
            "issued": issued, "room": max(cap - issued, 0), "excess": max(issued - cap, 0),
        },
        "evidence": _out_evidence(resolved, key, state.evidence_used(key)),
    }


def _apply_transfer(state: State, request: dict, ctx: Context) -> dict:
    ins = live_instrument(state, request["instrument"], ctx)
    src = need_account(state, request["from"], "source")
    dst = need_account(state, request["to"], "destination")
    if not src.is_user:
        raise NotAuthorised(f"cannot transfer from system account {src.id}", hint="retired and cancelled credits are final; the buffer pool is only cancelled")
    if not dst.is_user:
        raise InvalidRequest(f"cannot transfer to system account {dst.id}", hint="use `gep ledger retire` to retire credits")
    if src.id == dst.id:
        raise InvalidRequest(f"transfer from {src.id} to itself")
    need_owner(state, src, request)
    if ins.kind in ZONE_BOUND and src.zone != dst.zone:
        raise InvalidRequest(f"{ins.id} is bound to its place: {src.id} is in zone {src.zone or '(none)'}, {dst.id} in zone {dst.zone or '(none)'}",
                             hint="rights move between zones through the market, where the trading ratio applies (`gep ledger market list --mechanism negotiated --counterparty ...`)")
    amount = request["amount"]
    price = None
    if "price" in request:
        if not ins.serial:
            raise InvalidRequest("a cash transfer has no price", hint="put the price on the transfer of the right it pays for")
        price = check_price(request["price"])
    _debit_check(state, src, ins, amount)
    effects = _post_move(state, ctx, ins, src.id, dst.id, amount)
    if price is not None:
        state.add_price(ctx.seq, ins.id, amount, request["price"], ctx.time)
        notional = normalise_decimal(price * Decimal(amount) / Decimal(ins.per_display))
        effects["price"] = {"cny_per_unit": request["price"], "unit": ins.display_unit, "notional_cny": str(notional)}
    return effects


def _apply_retire(state: State, request: dict, ctx: Context) -> dict:
    ins = live_instrument(state, request["instrument"], ctx)
    if not ins.serial:
        raise InvalidRequest("cash is not retired", hint="the operator pays it out with `gep ledger market withdraw`")
    src = need_account(state, request["from"], "source")
    if not src.is_user:
        raise NotAuthorised(f"cannot retire from system account {src.id}")
    need_owner(state, src, request)
    _debit_check(state, src, ins, request["amount"])
    return _post_move(state, ctx, ins, src.id, RETIREMENT, request["amount"])


def _apply_cancel(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    ins = need_instrument(state, request["instrument"])
    if not ins.serial:
        raise InvalidRequest("cash is not cancelled", hint="the operator pays it out with `gep ledger market withdraw`")
    src = need_account(state, request["from"], "source")
    if not (src.is_user or src.id == BUFFER):
        raise NotAuthorised(f"cannot cancel from {src.id}", hint="cancel from a user account or the buffer pool; retirement and cancellation are final")
    _debit_check(state, src, ins, request["amount"])
    return _post_move(state, ctx, ins, src.id, CANCELLATION, request["amount"])


#: Request type → decision function ``(state, request, ctx) -> effects``; the market's modules add theirs (end of this module).
APPLY = {"open": _apply_open, "issue": _apply_issue, "recalculate": _apply_recalculate, "transfer": _apply_transfer,
         "retire": _apply_retire, "cancel": _apply_cancel}


class Moves:
    """The movements of one record that touches several instruments or accounts (the market's records).

    Serial blocks move at once, lowest first, in the order given; postings are netted per
    (instrument, account) and written by :meth:`effects`, so a record posts each pair once
    (the ``postings`` table holds one row per transaction, instrument and account).
    :meth:`available` is what an account holds now, counting the moves made so far.
    """

    def __init__(self, state: State, ctx: Context):
        self.state, self.ctx = state, ctx
        self.moves: list[list] = []
        self.net: dict[tuple[str, str], int] = {}

    def available(self, instrument_id: str, account: str) -> int:
        """Balance of ``account`` in ``instrument_id`` after the moves so far [base units]."""
        return self.state.balance(account, instrument_id) + self.net.get((instrument_id, account), 0)

    def move(self, ins: Instrument, src: str, dst: str, amount: int) -> None:
        """Move ``amount`` base units (``0``: nothing); no balance but ``sys:issuance``'s may go negative."""
        if amount == 0:
            return
        if amount < 0:  # pragma: no cover - the rules never ask for it
            raise InvalidAmount(f"a move of {amount} from {src} to {dst}")
        have = self.available(ins.id, src)
        if src == ISSUANCE:
            check_outstanding(ins, amount - have)
        elif have < amount:
            raise InsufficientBalance(f"account {src!r} holds {ins.display(have)} of {ins.id}, less than {ins.display(amount)}",
                                      hint="no balance may go negative: move less, or fund the account first"
                                           + (" (`gep ledger market deposit`)" if not ins.serial else ""))
        serials = self.state.move(ins.id, src, dst, amount, self.ctx.seq) if ins.serial else []
        self.moves.append([ins.id, src, dst, amount, serials])
        self.net[(ins.id, src)] = self.net.get((ins.id, src), 0) - amount
        self.net[(ins.id, dst)] = self.net.get((ins.id, dst), 0) + amount

    def issue(self, ins: Instrument, dst: str, amount: int) -> None:
        """Create ``amount`` new units from ``sys:issuance`` for ``dst``: the next serials of the instrument."""
        start = -self.available(ins.id, ISSUANCE) + 1
        check_outstanding(ins, start - 1 + amount)
        serials = []
        if ins.serial:
            self.state.new_block(ins.id, start, start + amount - 1, dst, self.ctx.seq)
            serials = [[start, start + amount - 1]]
        self.moves.append([ins.id, ISSUANCE, dst, amount, serials])
        self.net[(ins.id, ISSUANCE)] = self.net.get((ins.id, ISSUANCE), 0) - amount
        self.net[(ins.id, dst)] = self.net.get((ins.id, dst), 0) + amount

    def effects(self, **extra: Any) -> dict:
        """Post the netted amounts; the effects ``{"moves": [[instrument, from, to, amount, serials]], "postings": [[instrument, account, ±amount]], **extra}``."""
        postings = sorted([i, a, n] for (i, a), n in self.net.items() if n)
        for i, a, n in postings:
            self.state.post(self.ctx.seq, i, a, n)
        return {"moves": self.moves, "postings": postings, **extra}


# --------------------------------------------------------------------------- invariants


def check_invariants(state: MemoryState) -> list[str]:
    """Every ledger invariant on a memory state; the list of violations (empty when all hold).

    * per instrument, balances sum to zero (double entry);
    * no balance is negative except ``sys:issuance``;
    * credit-only accounts were never debited;
    * blocks partition ``1 .. issued`` and a holder's blocks sum to its balance (numbered kinds);
    * no evidence is used beyond its cap;
    * the market escrow ``sys:market`` holds exactly the open listings' rights and cash and the
      open bids' cash (:func:`gep.ledger.auction.escrow_problems`).
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
        if not Instrument.parse(ins).serial:
            continue
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
    problems += auction.escrow_problems(state)
    return problems


# The market's request types: each module adds its decision functions to APPLY when imported.
from gep.ledger import auction, cash, compliance, instruments, ratios  # noqa: E402,F401  (they use the helpers above)

