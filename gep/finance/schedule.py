"""Bond description, its validation, and its cash-flow schedule.

A :class:`Bond` is the content of a bond file (see ``docs/bonds.md``):
face, annual coupon rate, coupon frequency, issue and maturity dates, day
count, optional amortisation (principal repaid on coupon dates) and optional
first coupon date (irregular first period).  A zero-coupon bond has
``coupon_rate = 0``; its frequency (default 1) then only sets the compounding
of its yield.

Coupon dates are generated backwards from the maturity date in steps of
``12 / frequency`` months, on the maturity's day of month (clipped to month
end, e.g. 31 -> 30 June).  With a ``calendar`` (:mod:`gep.finance.calendar`)
each payment date is moved to a business day by the bond's
``business_day_convention`` (default ``following``); accrual runs between the
unadjusted dates (``accrual = "unadjusted"``, the China convention "顺延期间
不另计息": no interest for the days a payment is postponed) or between the
adjusted ones (``accrual = "adjusted"``).  Yield exponents use the accrual
dates (CCDC values on the theoretical coupon dates).  Without ``first_coupon_date`` a first period that does
not start on this grid is a short stub; with it, the first period runs from the
issue date to ``first_coupon_date`` (short or long stub).

Coupons are paid on the principal outstanding during the period (amortising
bonds).  A regular period pays ``outstanding * coupon_rate / frequency``; an
irregular (stub) period pays ``outstanding * coupon_rate / frequency`` times
its length in regular periods, measured as in ICMA Rule 251 for ACT/ACT-ICMA
(sum of the fractions of the notional periods it covers) and as
``year_fraction * frequency`` for the fixed-basis conventions.

References
----------
ICMA Primary Market Handbook, Rule 251 (accrued interest, irregular periods).
China Central Depository & Clearing (CCDC), 中债估值 bond valuation conventions
(fixed-rate bonds, ACT/ACT accrual, coupon C/f per period).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

import numpy as np

from gep.errors import InputError
from gep.finance import daycount as dc

FREQUENCIES = (1, 2, 4)

BOND_KEYS = (
    "name",
    "description",
    "currency",
    "face",
    "coupon_rate",
    "frequency",
    "issue_date",
    "maturity_date",
    "day_count",
    "amortization",
    "first_coupon_date",
    "calendar",
    "business_day_convention",
    "accrual",
    "calendar_beyond_range",
    "discount_exponent",
)

#: Accrual between unadjusted (theoretical) or adjusted (payment) dates.
ACCRUALS = ("unadjusted", "adjusted")
#: Exponent of the first remaining flow: d/TS (actual days of the coupon period) or f·d/B (fixed year).
EXPONENTS = ("actual_period", "fixed_year")


@dataclass(frozen=True)
class Bond:
    """A fixed-rate (or zero-coupon) bond.

    Parameters
    ----------
    face : float
        Face (principal) at issue [CNY].
    coupon_rate : float
        Annual coupon rate as a decimal, e.g. ``0.035`` for 3.5 % [1/year].
        ``0`` for a zero-coupon bond.
    frequency : int
        Coupons per year: 1, 2 or 4.
    issue_date, maturity_date : datetime.date
        Accrual start and final repayment date.
    day_count : str
        One of :data:`gep.finance.daycount.DAY_COUNTS`.
    amortization : tuple of (date, float)
        Principal repaid before or at maturity [CNY], on coupon dates; what is
        not listed is repaid at maturity.
    first_coupon_date : datetime.date, optional
        First coupon date when the first period is irregular.
    name : str
        Label used in reports.
    calendar : str, optional
        Business-day calendar of the payment dates (``CN-IB``, ``SSE``,
        ``SZSE``); None: payments on the unadjusted coupon dates.
    business_day_convention : str
        ``following`` (default with a calendar), ``modified_following``,
        ``preceding`` or ``unadjusted``.
    accrual : str
        ``unadjusted`` (default: accrual periods end on the theoretical coupon
        dates) or ``adjusted`` (they end on the payment dates).
    calendar_beyond_range : str
        ``error`` (default) or ``weekends``: adjustment past the calendar's data.
    discount_exponent : str, optional
        ``actual_period``: the first flow is discounted over ``d/TS`` coupon
        periods, ``d`` and ``TS`` counted by the day count from the current
        period's dates (interbank, PBoC 2007); ``fixed_year``: over
        ``f·d/B`` with ``B`` the day-count basis (365 or 360).  Default
        ``actual_period`` for ACT/ACT-ICMA, ``fixed_year`` otherwise.
    source : str
        Where the description came from (file name), for error messages.
    """

    face: float
    coupon_rate: float
    frequency: int
    issue_date: date
    maturity_date: date
    day_count: str = dc.ACT_ACT_ICMA
    amortization: tuple[tuple[date, float], ...] = ()
    first_coupon_date: date | None = None
    name: str = ""
    calendar: str | None = None
    business_day_convention: str | None = None
    accrual: str = "unadjusted"
    calendar_beyond_range: str = "error"
    discount_exponent: str | None = None
    source: str = field(default="bond", compare=False)

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def is_zero_coupon(self) -> bool:
        """True when the bond pays no coupon."""
        return self.coupon_rate == 0.0

    @property
    def months(self) -> int:
        """Length of a regular coupon period [months]."""
        return 12 // self.frequency


@dataclass(frozen=True)
class Schedule:
    """The coupon periods of a bond.

    Attributes
    ----------
    start, end : tuple of datetime.date
        Accrual start and end of each period (the theoretical coupon dates,
        or the payment dates when the bond accrues on adjusted dates).
    fraction : numpy.ndarray
        Length of each period in regular periods (1.0 for a regular one) [periods].
    regular : numpy.ndarray of bool
        Whether the period is a full regular period on the coupon grid.
    outstanding : numpy.ndarray
        Principal outstanding during the period [CNY].
    coupon : numpy.ndarray
        Coupon paid at the end of the period [CNY].
    principal : numpy.ndarray
        Principal repaid at the end of the period [CNY].
    grid : tuple of datetime.date
        Regular (notional) coupon dates, ascending, from the last one on or
        before the issue date to maturity (ICMA reference periods), adjusted
        like the accrual dates.
    payment : tuple of datetime.date
        Payment date of each period: ``end`` moved to a business day by the
        bond's calendar and convention (``end`` itself without a calendar).
    """

    start: tuple[date, ...]
    end: tuple[date, ...]
    fraction: np.ndarray
    regular: np.ndarray
    outstanding: np.ndarray
    coupon: np.ndarray
    principal: np.ndarray
    grid: tuple[date, ...]
    payment: tuple[date, ...] = ()

    @property
    def amount(self) -> np.ndarray:
        """Total cash flow at each payment date [CNY]."""
        return self.coupon + self.principal

    def __len__(self) -> int:
        return len(self.end)


@dataclass(frozen=True)
class Flows:
    """What is left of a bond at a settlement date.

    Attributes
    ----------
    settle : datetime.date
        Settlement date.
    dates : tuple of datetime.date
        Payment dates of the remaining flows (their accrual ends are strictly
        after ``settle``).
    coupon, principal, amount : numpy.ndarray
        Remaining coupons, principal repayments and their sum [CNY].
    periods : numpy.ndarray
        Discount exponent of each flow in coupon periods: ``d/TS + i`` in the
        CCDC formula (``d/TS`` for the first remaining flow) [periods].
    final_period : bool
        True when only the final cash flow remains (simple-yield rule).
    simple_years : float
        ``D/TY`` (ACT/ACT-ICMA: actual days to maturity over the actual days of
        the current interest year) or the bond's own basis, from settlement to
        maturity, used by the final-period rule [years].
    year_days : int
        ``TY``: actual days of the interest year containing the settlement date
        (365 or 366) [days].
    accrued : float
        Accrued interest at settlement [CNY].
    outstanding : float
        Principal outstanding at settlement [CNY].
    frequency : int
        Coupons per year (compounding of the yield).
    """

    settle: date
    dates: tuple[date, ...]
    coupon: np.ndarray
    principal: np.ndarray
    amount: np.ndarray
    periods: np.ndarray
    final_period: bool
    simple_years: float
    year_days: int
    accrued: float
    outstanding: float
    frequency: int

    @property
    def years(self) -> np.ndarray:
        """Time of each flow for duration: ``periods / frequency`` [years]."""
        return self.periods / self.frequency


# --------------------------------------------------------------------------- validation


def _where(bond_or_source: Bond | str, key: str) -> str:
    source = bond_or_source if isinstance(bond_or_source, str) else bond_or_source.source
    return f"{source}, key {key}"


def _validate(b: Bond) -> None:
    """Check a bond's fields; raise :class:`InputError` naming the key."""
    if not is_number(b.face) or not b.face > 0 or not math.isfinite(b.face):
        raise InputError(f"face must be a positive number of CNY, got {b.face!r}",
                         hint="write e.g. face = 100 or face = 500_000_000",
                         where=_where(b, "face"))
    if not is_number(b.coupon_rate) or not (0.0 <= b.coupon_rate < 1.0):
        raise InputError(
            f"coupon_rate must be a decimal in [0, 1), got {b.coupon_rate!r}",
            hint="write 3.5 % as coupon_rate = 0.035; use 0 for a zero-coupon bond",
            where=_where(b, "coupon_rate"))
    if (isinstance(b.frequency, bool) or not isinstance(b.frequency, (int, np.integer))
            or b.frequency not in FREQUENCIES):
        raise InputError(f"frequency must be 1, 2 or 4 coupons per year, got {b.frequency!r}",
                         hint="annual = 1, semiannual = 2, quarterly = 4",
                         where=_where(b, "frequency"))
    for key in ("issue_date", "maturity_date"):
        if not _is_date(getattr(b, key)):
            raise InputError(f"{key} must be a date, got {getattr(b, key)!r}",
                             hint=f"write e.g. {key} = 2025-06-15", where=_where(b, key))
    if b.maturity_date <= b.issue_date:
        raise InputError(
            f"maturity_date {b.maturity_date} is not after issue_date {b.issue_date}",
            hint="check the two dates", where=_where(b, "maturity_date"))
    object.__setattr__(b, "day_count", dc.normalize_day_count(b.day_count,
                                                              where=_where(b, "day_count")))
    if b.first_coupon_date is not None:
        fc = b.first_coupon_date
        if not _is_date(fc):
            raise InputError(f"first_coupon_date must be a date, got {fc!r}",
                             hint="write e.g. first_coupon_date = 2025-12-15",
                             where=_where(b, "first_coupon_date"))
        if not (b.issue_date < fc <= b.maturity_date):
            raise InputError(
                f"first_coupon_date {fc} is not within (issue_date, maturity_date]",
                hint="give a date after issue_date and not after maturity_date",
                where=_where(b, "first_coupon_date"))
        grid = _grid(b)
        if fc not in grid:
            near = sorted(grid, key=lambda g: abs((g - fc).days))[:2]
            raise InputError(
                f"first_coupon_date {fc} is not a whole number of "
                f"{b.months}-month periods before maturity_date {b.maturity_date}",
                hint="coupon dates fall on the maturity's day of month; nearest valid: "
                + ", ".join(str(d) for d in sorted(near)),
                where=_where(b, "first_coupon_date"))
    _check_amortization(b)
    _check_calendar(b)


def _check_calendar(b: Bond) -> None:
    """Canonical calendar, convention, accrual and exponent names; every payment date adjustable."""
    from gep.finance import calendar as cal

    conv = b.business_day_convention
    if b.calendar is None:
        if conv is not None and cal.normalize_convention(conv, where=_where(b, "business_day_convention")) != cal.UNADJUSTED:
            raise InputError(f'business_day_convention "{conv}" needs a calendar',
                             hint='add calendar = "CN-IB" (interbank), "SSE" or "SZSE" (exchanges)',
                             where=_where(b, "business_day_convention"))
        conv = cal.UNADJUSTED
    else:
        object.__setattr__(b, "calendar", cal.get_calendar(b.calendar, where=_where(b, "calendar")).name)
        conv = cal.FOLLOWING if conv is None else cal.normalize_convention(conv, where=_where(b, "business_day_convention"))
    object.__setattr__(b, "business_day_convention", conv)
    object.__setattr__(b, "calendar_beyond_range",
                       cal.normalize_beyond(b.calendar_beyond_range, where=_where(b, "calendar_beyond_range")))
    if b.accrual not in ACCRUALS:
        raise InputError(f'accrual must be "unadjusted" or "adjusted", got {b.accrual!r}',
                         hint='"unadjusted": no interest for the days a payment is postponed (China); '
                         '"adjusted": accrual periods end on the payment dates', where=_where(b, "accrual"))
    exp = b.discount_exponent
    if exp is None:
        exp = "actual_period" if b.day_count == dc.ACT_ACT_ICMA else "fixed_year"
    elif exp not in EXPONENTS:
        close = difflib.get_close_matches(str(exp), EXPONENTS, n=1)
        raise InputError(f"unknown discount_exponent {exp!r}",
                         hint=(f'did you mean "{close[0]}"? ' if close else "") + '"actual_period" (d/TS, interbank) '
                         'or "fixed_year" (f·d/365 or f·d/360)', where=_where(b, "discount_exponent"))
    object.__setattr__(b, "discount_exponent", exp)
    _payments(b)  # every payment date must be adjustable (data range)


def _payments(b: Bond, dates: list[date] | None = None) -> tuple[date, ...]:
    """``dates`` (default: the theoretical payment dates) adjusted by the bond's calendar."""
    from gep.finance import calendar as cal

    dates = _payment_dates(b) if dates is None else dates
    if b.calendar is None or b.business_day_convention == cal.UNADJUSTED:
        return tuple(dates)
    c = cal.get_calendar(b.calendar)
    where = _where(b, "calendar")
    return tuple(c.adjust(d, b.business_day_convention, beyond=b.calendar_beyond_range,
                          where=f"{where} (payment date for {d})") for d in dates)


def _check_amortization(b: Bond) -> None:
    if not b.amortization:
        return
    pay = set(_payment_dates(b))
    total = 0.0
    seen: set[date] = set()
    for i, item in enumerate(b.amortization):
        key = f"amortization[{i}]"
        try:
            d, amount = item
        except (TypeError, ValueError):
            raise InputError(f"{key} must be a date and an amount",
                             hint="write [[amortization]] tables with date and amount",
                             where=_where(b, key)) from None
        if not _is_date(d):
            raise InputError(f"{key}.date must be a date, got {d!r}",
                             hint="write e.g. date = 2027-06-15", where=_where(b, key + ".date"))
        if not is_number(amount) or not amount > 0 or not math.isfinite(amount):
            raise InputError(f"{key}.amount must be a positive number of CNY, got {amount!r}",
                             hint="give the principal repaid on that date in CNY",
                             where=_where(b, key + ".amount"))
        if d not in pay:
            near = sorted(pay, key=lambda g: abs((g - d).days))[:2]
            raise InputError(
                f"{key}.date {d} is not a coupon date of the bond",
                hint="principal is repaid on coupon dates; nearest: "
                + ", ".join(str(x) for x in sorted(near)),
                where=_where(b, key + ".date"))
        if d in seen:
            raise InputError(f"{key}.date {d} appears twice",
                             hint="give one entry per date with the total repaid",
                             where=_where(b, key + ".date"))
        seen.add(d)
        total += float(amount)
    tol = 1e-9 * b.face
    if total > b.face + tol:
        raise InputError(
            f"amortization repays {total:,.2f} CNY, more than the face {b.face:,.2f}",
            hint="the listed amounts must not add up to more than face",
            where=_where(b, "amortization"))
    if b.maturity_date in seen and abs(total - b.face) > tol:
        raise InputError(
            f"amortization lists the maturity date but repays {total:,.2f} CNY, not the "
            f"face {b.face:,.2f}",
            hint="omit the maturity entry (the rest is repaid at maturity) or make the "
            "amounts add up to face",
            where=_where(b, "amortization"))


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _is_date(x: Any) -> bool:
    return isinstance(x, date) and not isinstance(x, datetime)


# --------------------------------------------------------------------------- from a mapping


def bond_from_dict(data: Mapping[str, Any], source: str = "bond") -> Bond:
    """Build and validate a :class:`Bond` from the keys of a bond file.

    Parameters
    ----------
    data : mapping
        Parsed TOML (see ``docs/bonds.md`` for the keys).
    source : str
        File name, used in error messages.

    Raises
    ------
    gep.errors.InputError
        A missing, unknown or invalid key; the message names the file and key.
    """
    for key in data:
        if key not in BOND_KEYS:
            close = difflib.get_close_matches(key, BOND_KEYS, n=1)
            hint = (f'did you mean "{close[0]}"? ' if close else "") + "valid keys: " + ", ".join(
                BOND_KEYS)
            raise InputError(f'unknown key "{key}"', hint=hint, where=_where(source, key))
    for key in ("face", "coupon_rate", "issue_date", "maturity_date", "day_count"):
        if key not in data:
            raise InputError(f'missing required key "{key}"', hint=_KEY_HINTS[key],
                             where=_where(source, key))
    coupon = data["coupon_rate"]
    if "frequency" in data:
        freq = data["frequency"]
    elif is_number(coupon) and coupon == 0:
        freq = 1
    else:
        raise InputError('missing required key "frequency"', hint=_KEY_HINTS["frequency"],
                         where=_where(source, "frequency"))
    currency = data.get("currency", "CNY")
    if currency != "CNY":
        raise InputError(f'currency "{currency}" is not supported',
                         hint='money is CNY; write currency = "CNY" or omit the key',
                         where=_where(source, "currency"))
    amort = data.get("amortization", [])
    if not isinstance(amort, list):
        raise InputError("amortization must be a list of tables with date and amount",
                         hint="write [[amortization]] / date = 2027-06-15 / amount = 2e7",
                         where=_where(source, "amortization"))
    items = []
    for i, row in enumerate(amort):
        if not isinstance(row, Mapping) or set(row) != {"date", "amount"}:
            raise InputError(f"amortization[{i}] must have exactly the keys date and amount",
                             hint="write [[amortization]] / date = 2027-06-15 / amount = 2e7",
                             where=_where(source, f"amortization[{i}]"))
        items.append((parse_date(row["date"], source, f"amortization[{i}].date"), row["amount"]))
    first = data.get("first_coupon_date")
    name = data.get("name", "")
    for key in ("calendar", "business_day_convention", "accrual", "calendar_beyond_range", "discount_exponent"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"{key} must be a string, got {data[key]!r}", hint=f'write {key} = "..."',
                             where=_where(source, key))
    if not isinstance(name, str):
        raise InputError("name must be a string", hint='write name = "..."',
                         where=_where(source, "name"))
    return Bond(
        face=_as_float(data["face"]),
        coupon_rate=_as_float(coupon),
        frequency=freq,
        issue_date=parse_date(data["issue_date"], source, "issue_date"),
        maturity_date=parse_date(data["maturity_date"], source, "maturity_date"),
        day_count=data["day_count"],
        amortization=tuple(items),
        first_coupon_date=None if first is None else parse_date(first, source, "first_coupon_date"),
        name=name,
        calendar=data.get("calendar"),
        business_day_convention=data.get("business_day_convention"),
        accrual=data.get("accrual", "unadjusted"),
        calendar_beyond_range=data.get("calendar_beyond_range", "error"),
        discount_exponent=data.get("discount_exponent"),
        source=source,
    )


_KEY_HINTS = {
    "face": "add face = 100 (principal at issue, CNY)",
    "coupon_rate": "add coupon_rate = 0.035 for 3.5 % (0 for a zero-coupon bond)",
    "frequency": "add frequency = 1, 2 or 4 (coupons per year)",
    "issue_date": "add issue_date = 2025-06-15",
    "maturity_date": "add maturity_date = 2030-06-15",
    "day_count": 'add day_count = "ACT/ACT-ICMA" (or ACT/365F, ACT/365-NL, ACT/360, 30/360)',
}


def _as_float(x: Any) -> Any:
    return float(x) if is_number(x) else x


def parse_date(x: Any, source: str, key: str) -> date:
    if _is_date(x):
        return x
    if isinstance(x, str):
        try:
            return date.fromisoformat(x.strip())
        except ValueError:
            pass
    raise InputError(f"{key} must be a date (YYYY-MM-DD), got {x!r}",
                     hint=f"write e.g. {key.split('.')[-1]} = 2025-06-15",
                     where=_where(source, key))


# --------------------------------------------------------------------------- schedule


def _grid(b: Bond) -> tuple[date, ...]:
    """Regular coupon dates from maturity back to the last one on or before issue."""
    out = []
    k = 0
    while True:
        d = dc.add_months(b.maturity_date, -k * b.months, b.maturity_date.day)
        out.append(d)
        if d <= b.issue_date:
            break
        k += 1
    return tuple(reversed(out))


def _payment_dates(b: Bond) -> list[date]:
    grid = _grid(b)
    first = b.first_coupon_date
    if first is None:
        return [g for g in grid if g > b.issue_date]
    return [g for g in grid if g >= first]


def icma_period_fraction(start: date, end: date, grid: tuple[date, ...]) -> float:
    """Length of ``[start, end]`` in regular coupon periods, ICMA style [periods].

    Each notional period ``[grid[j], grid[j+1]]`` contributes the actual days
    of its overlap with the interval over its own actual days (ICMA Rule 251;
    ISDA 2006, 4.16(c)).  For an interval inside one regular period this is
    ``d / TS``; for a long first period it is the sum over the notional periods
    it covers.

    Parameters
    ----------
    start, end : datetime.date
        Interval, within ``[grid[0], grid[-1]]``.
    grid : tuple of datetime.date
        Regular coupon dates, ascending.
    """
    total = 0.0
    for lo, hi in zip(grid[:-1], grid[1:]):
        o_lo, o_hi = max(start, lo), min(end, hi)
        if o_hi > o_lo:
            total += (o_hi - o_lo).days / (hi - lo).days
    return total


def _fraction(b: Bond, start: date, end: date, grid: tuple[date, ...]) -> float:
    """Interval length in regular periods under the bond's day count [periods]."""
    if b.day_count == dc.ACT_ACT_ICMA:
        return icma_period_fraction(start, end, grid)
    return dc.year_fraction(start, end, b.day_count) * b.frequency


def _exponent(b: Bond, start: date, end: date, grid: tuple[date, ...]) -> float:
    """Discount exponent of ``[start, end]`` in coupon periods [periods].

    ``actual_period``: for each notional period of ``grid`` it covers, the days
    of the overlap over the days of the period, counted by the day count
    (``d/TS``; ICMA Rule 251 for ACT/ACT-ICMA).  ``fixed_year``:
    ``f · days / basis`` with the day count's days and basis (ACT/ACT-ICMA:
    actual days over 365).
    """
    if b.discount_exponent == "fixed_year":
        if b.day_count == dc.ACT_ACT_ICMA:
            return (end - start).days * b.frequency / 365.0
        return _fraction(b, start, end, grid)
    if b.day_count == dc.ACT_ACT_ICMA:
        return icma_period_fraction(start, end, grid)
    total = 0.0
    for lo, hi in zip(grid[:-1], grid[1:]):
        o_lo, o_hi = max(start, lo), min(end, hi)
        if o_hi > o_lo:
            total += dc.day_count_days(o_lo, o_hi, b.day_count) / dc.day_count_days(lo, hi, b.day_count)
    return total


def schedule(b: Bond) -> Schedule:
    """Coupon periods, coupons and principal repayments of a bond.

    Parameters
    ----------
    b : Bond

    Returns
    -------
    Schedule
        One row per coupon period; amounts [CNY].
    """
    grid = _grid(b)
    ends = _payment_dates(b)
    starts = [b.issue_date] + ends[:-1]
    grid_set = set(grid)
    idx = {d: i for i, d in enumerate(grid)}
    regular = np.array([s in grid_set and idx[e] == idx[s] + 1 for s, e in zip(starts, ends)])
    payment = _payments(b, ends)
    if b.accrual == "adjusted":
        adjusted = dict(zip(ends, payment))
        grid = tuple(adjusted.get(g, g) for g in grid[:-1]) + (payment[-1],)
        ends = list(payment)
        starts = [b.issue_date] + ends[:-1]
    frac = np.array([1.0 if r else _fraction(b, s, e, grid)
                     for s, e, r in zip(starts, ends, regular)])
    repaid = dict((d, float(a)) for d, a in b.amortization)
    principal = np.array([repaid.get(e, 0.0) for e in ends])
    principal[-1] = b.face - principal[:-1].sum()
    outstanding = b.face - np.concatenate(([0.0], np.cumsum(principal)[:-1]))
    coupon = outstanding * b.coupon_rate / b.frequency * frac
    return Schedule(start=tuple(starts), end=tuple(ends), fraction=frac, regular=regular,
                    outstanding=outstanding, coupon=coupon, principal=principal, grid=grid,
                    payment=payment)


def interest_year(b: Bond, settle: date) -> tuple[date, date]:
    """The interest year (计息年度) containing ``settle``: ``[start, end)``.

    Interest years run between anniversaries of the maturity date (12-month
    steps back from ``maturity_date`` on its day of month, clipped to month
    end), which for a bond without an odd first period are the anniversaries
    of its interest start date.  ``TY = (end - start).days`` is 366 when the
    year contains a 29 February, else 365 (PBoC 2007 yield standard: "TY 当前
    计息年度的实际天数，算头不算尾").

    Parameters
    ----------
    b : Bond
    settle : datetime.date
        A date before ``maturity_date``.

    Returns
    -------
    (datetime.date, datetime.date)
    """
    m = b.maturity_date
    years = (m.year - settle.year) + 1
    end = dc.add_months(m, -12 * years, m.day)
    while end <= settle:
        years -= 1
        end = dc.add_months(m, -12 * years, m.day)
    return dc.add_months(m, -12 * (years + 1), m.day), end


def check_settle(b: Bond, settle: date) -> None:
    """Raise :class:`InputError` unless ``issue_date <= settle < maturity_date``."""
    if not _is_date(settle):
        raise InputError(f"settlement date must be a date, got {settle!r}",
                         hint="write it as YYYY-MM-DD", key="settle")
    if settle >= b.maturity_date:
        raise InputError(
            f"settlement date {settle} is on or after maturity_date {b.maturity_date} of "
            f"{b.source}",
            hint="choose a settlement date before maturity", key="settle")
    if settle < b.issue_date:
        raise InputError(
            f"settlement date {settle} is before issue_date {b.issue_date} of {b.source}",
            hint="choose a settlement date on or after the issue date", key="settle")


def remaining_flows(b: Bond, settle: date, sched: Schedule | None = None) -> Flows:
    """Cash flows after ``settle``, their discount exponents and the accrued interest.

    A flow paid on the settlement date belongs to the seller (not included).
    With ``k`` the current period ``[start_k, end_k)`` containing ``settle``:

    * exponent of the first remaining flow ``w = d / TS`` -- for ACT/ACT-ICMA
      the ICMA fraction of ``[settle, end_k]`` (``d`` actual days to the next
      coupon, ``TS`` actual days of the period); for the fixed-basis
      conventions ``w = day_count_days / (basis / f)`` (exchange convention);
      later flows ``w + i`` (CCDC; ICMA Rule 251);
    * accrued interest ``outstanding * c/f * ICMA fraction of [start_k, settle]``
      for ACT/ACT-ICMA, ``outstanding * c * year_fraction(start_k, settle)``
      otherwise.

    Parameters
    ----------
    b : Bond
    settle : datetime.date
        Settlement date, ``issue_date <= settle < maturity_date``.
    sched : Schedule, optional
        Precomputed :func:`schedule` of ``b``.

    Returns
    -------
    Flows
    """
    check_settle(b, settle)
    s = schedule(b) if sched is None else sched
    y0, y1 = interest_year(b, settle)
    ty = (y1 - y0).days
    k = next(i for i, e in enumerate(s.end) if e > settle)
    start, end = s.start[k], s.end[k]
    w = _exponent(b, settle, end, s.grid)
    n = len(s) - k
    periods = w + np.arange(n, dtype=float)
    if b.day_count == dc.ACT_ACT_ICMA:
        accrued = s.outstanding[k] * b.coupon_rate / b.frequency * icma_period_fraction(
            start, settle, s.grid)
    else:
        accrued = s.outstanding[k] * b.coupon_rate * dc.year_fraction(start, settle, b.day_count)
    return Flows(
        settle=settle,
        dates=s.payment[k:],
        coupon=s.coupon[k:].copy(),
        principal=s.principal[k:].copy(),
        amount=s.amount[k:].copy(),
        periods=periods,
        final_period=(n == 1),
        simple_years=dc.simple_year_fraction(settle, b.maturity_date, b.day_count, ty),
        year_days=ty,
        accrued=float(accrued),
        outstanding=float(s.outstanding[k]),
        frequency=b.frequency,
    )
