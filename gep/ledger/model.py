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
========================  ===================================================

Serial blocks
-------------
Each issuance numbers its units ``issued_before + 1 .. issued_before + amount``
within the instrument. A block is an inclusive serial range with one holder;
a transfer moves the holder's lowest serials first, splitting the last block
it touches. The blocks of an instrument always partition ``1 .. issued``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gep.ledger.errors import InvalidAmount, InvalidRequest, UnitMismatch

__all__ = [
    "ISSUANCE", "RETIREMENT", "BUFFER", "CANCELLATION", "SYSTEM_ACCOUNTS", "Instrument", "Account",
    "check_account_id", "check_client_id", "parse_amount", "parse_price", "format_amount", "REQUEST_FIELDS",
    "CREDIT_ONLY",
]

ISSUANCE = "sys:issuance"
RETIREMENT = "sys:retirement"
BUFFER = "sys:buffer"
CANCELLATION = "sys:cancellation"
#: System account id → kind.
SYSTEM_ACCOUNTS = {ISSUANCE: "issuance", RETIREMENT: "retirement", BUFFER: "buffer", CANCELLATION: "cancellation"}
#: Accounts that are never debited.
CREDIT_ONLY = (RETIREMENT, CANCELLATION)

_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$")
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")

#: Fields of each request type: (required, optional), besides v, ledger, id, type, signer.
REQUEST_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "init": (frozenset({"registry", "coefficients", "accounts"}), frozenset({"memo"})),
    "open": (frozenset({"account", "owner"}), frozenset({"memo"})),
    "issue": (frozenset({"instrument", "amount", "to", "evidence"}), frozenset({"memo"})),
    "transfer": (frozenset({"instrument", "amount", "from", "to"}), frozenset({"price", "memo"})),
    "retire": (frozenset({"instrument", "amount", "from"}), frozenset({"beneficiary", "memo"})),
    "cancel": (frozenset({"instrument", "amount", "from"}), frozenset({"memo"})),
}
COMMON_FIELDS = frozenset({"v", "ledger", "id", "type", "signer"})


def check_account_id(text: str, where: str = "account") -> str:
    """A user account id, or a system account id; raise :class:`InvalidRequest` otherwise."""
    if isinstance(text, str) and (text in SYSTEM_ACCOUNTS or _ACCOUNT.match(text)):
        return text
    raise InvalidRequest(f"{where} id {text!r} is not valid", hint="use 1-64 characters: letters, digits, '.', '_', '@', '-' (starting with a letter or digit)")


def check_client_id(text: str) -> str:
    """A client-supplied request id (idempotency key)."""
    if isinstance(text, str) and _CLIENT_ID.match(text):
        return text
    raise InvalidRequest(f"request id {text!r} is not valid", hint="use 1-128 characters: letters, digits and . _ : @ / + -")


@dataclass(frozen=True)
class Account:
    """An account: id, kind (``user`` or a system kind) and owner public key (hex)."""

    id: str
    kind: str
    owner: str

    @property
    def is_user(self) -> bool:
        return self.kind == "user"


@dataclass(frozen=True)
class Instrument:
    """A parsed instrument id.

    Attributes
    ----------
    id : str
        Canonical id, e.g. ``capacity/3/COD/2024`` or ``carbon/lishui-a/2022``.
    kind : str
        ``capacity`` or ``carbon``.
    vintage : int
        Vintage year.
    fields : tuple of (str, str)
        ``catchment``, ``pollutant`` (capacity) or ``project`` (carbon).
    """

    id: str
    kind: str
    vintage: int
    fields: tuple[tuple[str, str], ...]

    #: base unit, display unit and base units per display unit, per kind
    UNITS = {"capacity": ("kg/yr", "t/yr", 1000), "carbon": ("kgCO2e", "tCO2e", 1000)}

    @classmethod
    def parse(cls, text: str) -> "Instrument":
        """Parse ``capacity/<catchment>/<pollutant>/<vintage>`` or ``carbon/<project>/<vintage>``."""
        parts = str(text).strip().split("/")
        hint = "write capacity/<catchment>/<pollutant>/<vintage> (e.g. capacity/3/COD/2024) or carbon/<project>/<vintage> (e.g. carbon/lishui-a/2022)"
        if parts[0] == "capacity" and len(parts) == 4:
            names = ("catchment", "pollutant")
        elif parts[0] == "carbon" and len(parts) == 3:
            names = ("project",)
        else:
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

    def display(self, amount: int) -> str:
        """``amount`` base units as text in the display unit, e.g. ``'1.5 t/yr'``."""
        return f"{format_amount(amount, self.per_display)} {self.display_unit}"


def format_amount(amount: int, per_display: int = 1000) -> str:
    """An integer of base units as an exact decimal string of display units."""
    d = Decimal(int(amount)) / Decimal(per_display)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _decimal(text: str, what: str) -> tuple[Decimal, str]:
    m = _NUMBER.match(str(text))
    if not m:
        raise InvalidAmount(f"{what} {text!r} is not a number with an optional unit", hint="write e.g. '250 kg', '1.5 t' or an integer of the base unit")
    try:
        return Decimal(m.group(1)), m.group(2)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise InvalidAmount(f"{what} {text!r} is not a number") from exc


def _factor(unit: str, targets: list[str], what: str, instrument: Instrument) -> Decimal:
    """Exact-as-possible factor from ``unit`` to the first compatible unit of ``targets``."""
    import pint

    from gep.errors import UnitError
    from gep.units import parse_unit

    try:
        q = parse_unit(unit, what)
    except UnitError as exc:
        raise UnitMismatch(f"{what}: unknown unit {unit!r}", hint=_unit_hint(instrument)) from exc
    for target in targets:
        try:
            f = q.to(parse_unit(target).units).magnitude / parse_unit(target).magnitude
        except pint.errors.DimensionalityError:
            continue
        return Decimal(repr(float(f)))
    if "[carbon_mass]" in str(q.dimensionality):
        raise UnitMismatch(f"{what}: {unit!r} is a mass of carbon, but {instrument.id} counts CO2e",
                           hint="convert tonnes of carbon to tonnes of CO2 with 44/12 first (docs/ledger.md)")
    raise UnitMismatch(f"{what}: unit {unit!r} ({q.dimensionality}) does not fit {instrument.id}", hint=_unit_hint(instrument))


def _unit_hint(instrument: Instrument) -> str:
    if instrument.kind == "capacity":
        return "capacity amounts are masses per year: '250 kg', '1.5 t', '1.5 t/yr' (a plain integer is kg/yr)"
    return "carbon amounts are masses of CO2e: '250 kg', '1.5 t', '1.5 tCO2e' (a plain integer is kg CO2e)"


def parse_amount(text: str | int, instrument: Instrument, what: str = "amount") -> int:
    """An amount as an integer of the instrument's base unit.

    Parameters
    ----------
    text : str or int
        An integer of base units (``"250"``), or a number with a unit
        (``"1.5 t"``, ``"250 kg"``, ``"1.5 t/yr"``, ``"2 tCO2e"``). A capacity
        amount given as a mass means that mass per year; a carbon amount given
        as a plain mass means that mass of CO2e.
    instrument : Instrument
        What the amount is of.

    Returns
    -------
    int
        Base units [kg/yr or kg CO2e], > 0.

    Raises
    ------
    InvalidAmount
        Not a number, not a whole number of base units, zero or negative.
    UnitMismatch
        A unit that does not fit the instrument (area, money, tonnes of carbon...).
    """
    if isinstance(text, bool):
        raise InvalidAmount(f"{what} {text!r} is not a number")
    if isinstance(text, int):
        value, unit = Decimal(text), ""
    else:
        value, unit = _decimal(text, what)
    if unit:
        if instrument.kind == "capacity":
            targets = ["kg/yr", "kg"]
        else:
            targets = ["kgCO2", "kg"]
        value = value * _factor(unit, targets, what, instrument)
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

    ``text`` is a number (CNY per t/yr or per t CO2e) or a number with a money
    per quantity unit (``"0.0716 CNY/kg"``, ``"71.6 CNY/tCO2e"``, ``"1186.71 wan_CNY/t"``).
    """
    if isinstance(text, Decimal):
        value, unit = text, ""
    else:
        value, unit = _decimal(text, "price")
    if unit:
        display = instrument.display_unit
        targets = [f"CNY/({display})", "CNY/t"]
        value = value * _factor(unit, targets, "price", instrument)
    if not value.is_finite() or value <= 0:
        raise InvalidAmount(f"price {text!r} is not a positive amount of CNY", hint="give the price in CNY per unit, e.g. 71.6")
    return normalise_decimal(value)


def normalise_decimal(value: Decimal) -> Decimal:
    """``value`` without exponent or trailing zeros (``Decimal('71.60')`` → ``71.6``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)
