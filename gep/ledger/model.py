"""What the ledger holds: instruments, accounts, serial blocks, amounts and prices.

Instruments
-----------
``capacity/<catchment>/<pollutant>/<vintage>``
    Water ecological (assimilative) capacity of one catchment for one pollutant
    and vintage year. Base unit kg/yr (an integer), shown in t/yr.
``carbon/<project>/<vintage>``
    Carbon sequestered by a project area in its vintage year. Base unit
    kg CO2e (an integer), shown in t CO2e; 1 credit = 1 t CO2e (docs/ledger.md,
    instruments).
``energy/<region>/<year>``
    Energy-use right (用能权): an annual quota of energy consumption in a region
    (county or city), allocated by the government under a total (区域用能总量).
    Base unit kgce (kilogram of standard coal equivalent, an integer), shown in
    tce. Defined with its terms (total, validity period, paid-use fee) by the
    registry: :mod:`gep.ledger.instruments`.
``emission/<catchment>/<pollutant>/<vintage>``
    Emission right (排污权) of one pollutant in one catchment, valid for a period
    (in principle five years) and allocated against a paid-use fee (有偿使用费).
    Base unit kg/yr, shown in t/yr. Defined with its terms like energy rights.
``cash/CNY``
    Cash: CNY deposits held by the market operator, in fen (0.01 CNY, an
    integer), shown in CNY. Deposited and withdrawn by the operator (the
    registry); fungible: no serial numbers. :mod:`gep.ledger.cash`.

Every amount in the ledger is an integer number of base units; money is a
:class:`decimal.Decimal` number of CNY, never a float (DESIGN.md section 4).

Accounts
--------
User accounts (``[A-Za-z0-9][A-Za-z0-9._@-]*``) have an owner: an Ed25519
public key. System accounts are created by ``init`` and owned by the registry:

========================  ===================================================
``sys:issuance``          source of every issuance; the only account whose
                          balance may be negative (minus the total issued)
``sys:retirement``        receives retired credits; credit-only (final)
``sys:buffer``            buffer pool: withheld share of forest-carbon
                          issuance against reversal (non-permanence)
``sys:cancellation``      receives cancelled credits; credit-only (final)
``sys:market``            market escrow: listed rights and bid cash, held
                          until settlement; moved only by the market rules
========================  ===================================================

Serial blocks
-------------
Every instrument but cash is numbered. Each issuance numbers its units ``issued_before + 1 .. issued_before + amount``
within the instrument. A block is an inclusive serial range with one holder;
a transfer moves the holder's lowest serials first, splitting the last block
it touches. The blocks of an instrument always partition ``1 .. issued``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from gep.ledger.errors import InvalidAmount, InvalidRequest, UnitMismatch
from gep.numbers import split_number

__all__ = [
    "ISSUANCE", "RETIREMENT", "BUFFER", "CANCELLATION", "MARKET", "SYSTEM_ACCOUNTS", "Instrument", "Account", "CASH",
    "check_account_id", "check_client_id", "check_token", "parse_amount", "parse_price", "format_amount", "REQUEST_FIELDS",
    "CREDIT_ONLY", "EVIDENCE_KINDS", "ALLOCATED_KINDS", "ZONE_BOUND", "TRADABLE", "ROLES",
]

ISSUANCE = "sys:issuance"
RETIREMENT = "sys:retirement"
BUFFER = "sys:buffer"
CANCELLATION = "sys:cancellation"
MARKET = "sys:market"
#: System account id → kind.
SYSTEM_ACCOUNTS = {ISSUANCE: "issuance", RETIREMENT: "retirement", BUFFER: "buffer", CANCELLATION: "cancellation", MARKET: "escrow"}
#: The cash instrument (fen).
CASH = "cash/CNY"
#: Kinds issued against an engine run (capped by its evidence; buffer share at genesis).
EVIDENCE_KINDS = ("capacity", "carbon")
#: Kinds defined with terms and allocated by the registry (total, validity, paid-use fee).
ALLOCATED_KINDS = ("energy", "emission")
#: Kinds bound to a place: moving them between zones (catchments, counties) follows the trading ratios.
ZONE_BOUND = ("capacity", "energy", "emission")
#: Kinds that can be listed and traded on the market (everything but cash, which pays).
TRADABLE = ("capacity", "carbon", "energy", "emission")
#: Roles a user account may have: ``reserve`` marks a government reserve account (政府储备).
ROLES = ("reserve",)
#: Accounts that are never debited.
CREDIT_ONLY = (RETIREMENT, CANCELLATION)

_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
#: Base units [kg] per unit of the mass units read without pint (exact).
_MASS = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}
#: Fen per unit of the money units read for cash (exact).
_MONEY = {"fen": Decimal(1), "CNY": Decimal(100), "yuan": Decimal(100), "元": Decimal(100), "wan_CNY": Decimal(1_000_000), "万元": Decimal(1_000_000)}

#: Fields of each request type: (required, optional), besides v, ledger, id, type, signer.
REQUEST_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "init": (frozenset({"registry", "params", "accounts"}), frozenset({"operators", "memo"})),
    "open": (frozenset({"account", "owner"}), frozenset({"zone", "role", "memo"})),
    "issue": (frozenset({"instrument", "amount", "to", "evidence"}), frozenset({"memo"})),
    "recalculate": (frozenset({"instrument", "from", "evidence"}), frozenset({"memo"})),
    "transfer": (frozenset({"instrument", "amount", "from", "to"}), frozenset({"price", "dvp", "memo"})),
    "retire": (frozenset({"instrument", "amount", "from"}), frozenset({"beneficiary", "memo"})),
    "cancel": (frozenset({"instrument", "amount", "from"}), frozenset({"memo"})),
    # allocated rights (gep.ledger.instruments) and compliance (gep.ledger.compliance)
    "define": (frozenset({"instrument", "terms"}), frozenset({"memo"})),
    "allocate": (frozenset({"instrument", "amount", "to"}), frozenset({"memo"})),
    "oblige": (frozenset({"account", "kind", "period", "amount", "due"}), frozenset({"pollutant", "source", "memo"})),
    "surrender": (frozenset({"instrument", "amount", "from", "obligation"}), frozenset({"memo"})),
    # cash (gep.ledger.cash) and trading ratios (gep.ledger.ratios)
    "deposit": (frozenset({"account", "amount"}), frozenset({"reference", "memo"})),
    "withdraw": (frozenset({"account", "amount"}), frozenset({"reference", "memo"})),
    "ratios": (frozenset({"table"}), frozenset({"memo"})),
    # the market (gep.ledger.auction)
    "list": (frozenset({"account", "side", "instrument", "quantity", "price", "mechanism", "closes"}),
             frozenset({"opens", "increment", "min_lot", "reveal_until", "settle_by", "counterparty", "bond", "memo"})),
    "bid": (frozenset({"listing", "account", "instrument", "quantity", "price"}), frozenset({"memo"})),
    "commit": (frozenset({"listing", "account", "instrument", "commitment", "escrow"}), frozenset({"memo"})),
    "reveal": (frozenset({"listing", "commit", "quantity", "price", "salt"}), frozenset({"memo"})),
    "settle": (frozenset({"listing"}), frozenset({"memo"})),
    "delist": (frozenset({"listing"}), frozenset({"memo"})),
}
COMMON_FIELDS = frozenset({"v", "ledger", "id", "type", "signer"})


def check_account_id(text: str, where: str = "account") -> str:
    """A user account id, or a system account id; raise :class:`InvalidRequest` otherwise."""
    if isinstance(text, str) and (text in SYSTEM_ACCOUNTS or _ACCOUNT.match(text)):
        return text
    raise InvalidRequest(f"{where} id {text!r} is not valid", hint="use 1-64 characters: letters, digits, '.', '_', '@', '-' (starting with a letter or digit)")


def check_token(text: object, what: str) -> str:
    """A name token (zone, region, catchment, table version): letters, digits and ``. _ + -``."""
    if isinstance(text, str) and _TOKEN.match(text):
        return text
    raise InvalidRequest(f"{what} {text!r} is not valid", hint="use 1-64 letters, digits, '.', '_', '+' or '-' (no spaces or slashes)")


def check_client_id(text: str) -> str:
    """A client-supplied request id (idempotency key)."""
    if isinstance(text, str) and _CLIENT_ID.match(text):
        return text
    raise InvalidRequest(f"request id {text!r} is not valid", hint="use 1-128 characters: letters, digits and . _ : @ / + -")


@dataclass(frozen=True)
class Account:
    """An account: id, kind (``user`` or a system kind), owner public key (hex), zone and role.

    ``zone`` is the catchment or county the account belongs to (trading ratios apply
    between zones; None: no zone); ``role`` is None or ``reserve`` (a government
    reserve account, whose trades are marked as reserve purchases and sales).
    """

    id: str
    kind: str
    owner: str
    zone: str | None = None
    role: str | None = None

    @property
    def is_user(self) -> bool:
        return self.kind == "user"


@dataclass(frozen=True)
class Instrument:
    """A parsed instrument id.

    Attributes
    ----------
    id : str
        Canonical id, e.g. ``capacity/3/COD/2024``, ``carbon/lishui-a/2022``,
        ``energy/liyang/2025``, ``emission/3/COD/2024`` or ``cash/CNY``.
    kind : str
        ``capacity``, ``carbon``, ``energy``, ``emission`` or ``cash``.
    vintage : int
        Vintage (or quota) year; 0 for cash.
    fields : tuple of (str, str)
        ``catchment``, ``pollutant`` (capacity, emission), ``project`` (carbon),
        ``region`` (energy), ``currency`` (cash).
    """

    id: str
    kind: str
    vintage: int
    fields: tuple[tuple[str, str], ...]

    #: base unit, display unit and base units per display unit, per kind
    UNITS = {"capacity": ("kg/yr", "t/yr", 1000), "carbon": ("kgCO2e", "tCO2e", 1000), "energy": ("kgce", "tce", 1000),
             "emission": ("kg/yr", "t/yr", 1000), "cash": ("fen", "CNY", 100)}
    #: the named parts of each kind's id (besides the vintage)
    PARTS = {"capacity": ("catchment", "pollutant"), "carbon": ("project",), "energy": ("region",), "emission": ("catchment", "pollutant")}

    @classmethod
    def parse(cls, text: str) -> "Instrument":
        """Parse an instrument id (cached: instruments are immutable); see the class docstring."""
        return _parse_instrument(str(text))

    @classmethod
    def _parse(cls, text: str) -> "Instrument":
        parts = text.strip().split("/")
        hint = ("write capacity/<catchment>/<pollutant>/<vintage> (e.g. capacity/3/COD/2024), carbon/<project>/<vintage>, "
                "energy/<region>/<year>, emission/<catchment>/<pollutant>/<vintage> or cash/CNY")
        if parts == ["cash", "CNY"]:
            return cls("cash/CNY", "cash", 0, (("currency", "CNY"),))
        names = cls.PARTS.get(parts[0])
        if names is None or len(parts) != len(names) + 2:
            if parts[0] == "cash":
                raise InvalidRequest(f"{text!r} is not an instrument id", hint="the cash instrument is cash/CNY (fen)")
            raise InvalidRequest(f"{text!r} is not an instrument id", hint=hint)
        values = parts[1:-1]
        for name, value in zip(names, values):
            if not _TOKEN.match(value):
                raise InvalidRequest(f"instrument {text!r}: {name} {value!r} is not valid", hint="use letters, digits and . _ + - (no spaces or slashes)")
        vintage = parts[-1]
        if not re.fullmatch(r"(19|2\d)\d\d", vintage):
            raise InvalidRequest(f"instrument {text!r}: vintage {vintage!r} is not a year", hint=hint)
        return cls("/".join(parts), parts[0], int(vintage), tuple(zip(names, values)))

    def get(self, name: str) -> str:
        return dict(self.fields)[name]

    @property
    def base_unit(self) -> str:
        """Unit of the integers stored for this instrument."""
        return self.UNITS[self.kind][0]

    @property
    def display_unit(self) -> str:
        """Unit amounts and prices are shown in."""
        return self.UNITS[self.kind][1]

    @property
    def per_display(self) -> int:
        """Base units per display unit [-]."""
        return self.UNITS[self.kind][2]

    @property
    def serial(self) -> bool:
        """Whether units are numbered (serial blocks): every kind but cash, which is fungible."""
        return self.kind != "cash"

    def display(self, amount: int) -> str:
        """``amount`` base units as text in the display unit, e.g. ``'1.5 t/yr'`` or ``'12.30 CNY'``."""
        if self.kind == "cash":
            return f"{Decimal(int(amount)) / 100:.2f} CNY"
        return f"{format_amount(amount, self.per_display)} {self.display_unit}"


@functools.lru_cache(maxsize=4096)
def _parse_instrument(text: str) -> Instrument:
    return Instrument._parse(text)


def format_amount(amount: int, per_display: int = 1000) -> str:
    """An integer of base units as an exact decimal string of display units."""
    d = Decimal(int(amount)) / Decimal(per_display)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _decimal(text: str, what: str) -> tuple[Decimal, str]:
    """The number (bounded: :mod:`gep.numbers`) and the unit text after it."""
    return split_number(str(text), what, error=InvalidAmount)


def _fast_factor(unit: str, kind: str) -> Decimal | None:
    """Exact base units per ``unit`` for the common spellings (``kg``, ``t/yr``, ``tCO2e``, ``tce``, ``CNY`` ...), else None.

    Saves importing pint for everyday amounts; anything else goes through :func:`_factor`.
    """
    u = unit.replace(" ", "")
    if kind == "cash":
        return _MONEY.get(u)
    if kind in ("capacity", "emission", "energy"):
        for suffix in ("/yr", "/a", "/year"):
            if u.endswith(suffix):
                u = u[: -len(suffix)]
                break
    if kind == "energy":  # tonnes of standard coal equivalent (吨标准煤): 'tce', 'kgce'
        return _MASS.get(u[:-2]) if u.endswith("ce") else None
    if kind == "carbon":
        for suffix in ("CO2e", "CO2"):
            if u.endswith(suffix):
                u = u[: -len(suffix)]
                break
    return _MASS.get(u)


def _factor(unit: str, targets: list[str], what: str, instrument: Instrument) -> Decimal:
    """Exact-as-possible factor from ``unit`` to the first compatible unit of ``targets``."""
    if instrument.kind in ("energy", "cash"):  # only the exact spellings above: pint knows neither tce nor fen
        raise UnitMismatch(f"{what}: unit {unit!r} does not fit {instrument.id}", hint=_unit_hint(instrument))
    import pint

    from gep.errors import UnitError
    from gep.units import parse_unit

    try:
        q = parse_unit(unit, what)
    except UnitError as exc:
        raise UnitMismatch(f"{what}: unknown unit {unit!r}", hint=_unit_hint(instrument)) from exc
    for target in targets:
        try:
            f = float(q.to(parse_unit(target).units).magnitude / parse_unit(target).magnitude)
        except pint.errors.DimensionalityError:
            continue
        if not (1e-40 <= abs(f) <= 1e40):  # inf, nan, 0 or absurd: a unit written to break the arithmetic
            raise InvalidAmount(f"{what}: unit {unit!r} is {f!r} times {target}, outside 1e-40 .. 1e40", hint=_unit_hint(instrument))
        return Decimal(repr(f))
    if "[carbon_mass]" in str(q.dimensionality):
        raise UnitMismatch(f"{what}: {unit!r} is a mass of carbon, but {instrument.id} counts CO2e",
                           hint="convert tonnes of carbon to tonnes of CO2 with 44/12 first (docs/ledger.md)")
    raise UnitMismatch(f"{what}: unit {unit!r} ({q.dimensionality}) does not fit {instrument.id}", hint=_unit_hint(instrument))


def _unit_hint(instrument: Instrument) -> str:
    if instrument.kind in ("capacity", "emission"):
        return f"{instrument.kind} amounts are masses per year: '250 kg', '1.5 t', '1.5 t/yr' (a plain integer is kg/yr)"
    if instrument.kind == "energy":
        return "energy-use rights are tonnes of standard coal equivalent: '1.5 tce', '250 kgce' (a plain integer is kgce)"
    if instrument.kind == "cash":
        return "cash amounts are money: '1250.50 CNY', '3 wan_CNY', '125050 fen' (a plain integer is fen, 0.01 CNY)"
    return "carbon amounts are masses of CO2e: '250 kg', '1.5 t', '1.5 tCO2e' (a plain integer is kg CO2e)"


def parse_amount(text: str | int, instrument: Instrument, what: str = "amount") -> int:
    """An amount as an integer of the instrument's base unit.

    Parameters
    ----------
    text : str or int
        An integer of base units (``"250"``), or a number with a unit
        (``"1.5 t"``, ``"250 kg"``, ``"1.5 t/yr"``, ``"2 tCO2e"``, ``"1.5 tce"``,
        ``"1250.50 CNY"``). A capacity or emission amount given as a mass means
        that mass per year; a carbon amount given as a plain mass means that
        mass of CO2e; energy-use rights are in tce or kgce, cash in CNY or fen.
    instrument : Instrument
        What the amount is of.

    Returns
    -------
    int
        Base units [kg/yr, kg CO2e, kgce or fen], > 0.

    Raises
    ------
    InvalidAmount
        Not a number, not a whole number of base units, zero or negative.
    UnitMismatch
        A unit that does not fit the instrument (area, money, tonnes of carbon...).
    """
    if isinstance(text, bool):
        raise InvalidAmount(f"{what} {text!r} is not a number")
    if isinstance(text, (int, Decimal)):
        value, unit = _decimal(str(text), what)
    else:
        value, unit = _decimal(text, what)
    if unit:
        factor = _fast_factor(unit, instrument.kind)
        if factor is None:
            targets = ["kgCO2", "kg"] if instrument.kind == "carbon" else ["kg/yr", "kg"]
            factor = _factor(unit, targets, what, instrument)
        value = value * factor
    if value != value.to_integral_value():
        raise InvalidAmount(f"{what} {text!r} is not a whole number of {instrument.base_unit}",
                            hint=f"the ledger counts whole {instrument.base_unit}; round the amount")
    amount = int(value)
    if amount <= 0:
        raise InvalidAmount(f"{what} {text!r} is not positive", hint="amounts must be greater than zero")
    if amount >= 2**62:
        raise InvalidAmount(f"{what} {text!r} is too large")
    return amount


def parse_price(text: str | Decimal, instrument: Instrument) -> Decimal:
    """A price as a positive :class:`~decimal.Decimal` of CNY per display unit.

    ``text`` is a number (CNY per t/yr, t CO2e or tce) or a number with a money
    per quantity unit (``"0.0716 CNY/kg"``, ``"71.6 CNY/tCO2e"``, ``"1186.71 wan_CNY/t"``).
    Cash has no price.
    """
    if instrument.kind == "cash":
        raise InvalidRequest("cash has no price", hint="give the price of the right being paid for; cash moves at face value")
    value, unit = _decimal(str(text), "price")
    if unit:
        per = unit.replace(" ", "")
        base = _fast_factor(per[4:], instrument.kind) if per.startswith("CNY/") else None
        if base is not None:  # CNY per base units → CNY per display unit
            value = value * Decimal(instrument.per_display) / base
        else:
            display = instrument.display_unit
            value = value * _factor(unit, [f"CNY/({display})", "CNY/t"], "price", instrument)
    if not value.is_finite() or value <= 0:
        raise InvalidAmount(f"price {text!r} is not a positive amount of CNY", hint="give the price in CNY per unit, e.g. 71.6")
    return normalise_decimal(value)


def normalise_decimal(value: Decimal) -> Decimal:
    """``value`` without exponent or trailing zeros (``Decimal('71.60')`` → ``71.6``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)
