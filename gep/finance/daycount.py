"""Day-count conventions and calendar-month date arithmetic for bond accrual.

Supported conventions (the ``day_count`` key of a bond file):

``ACT/ACT-ICMA``
    Actual days over actual days of the coupon (reference) period, times the
    number of periods per year: ``days / (f * days_in_period)``.  China
    interbank fixed-rate bonds.  ICMA Primary Market Handbook / Rule 251;
    ISDA 2006 Definitions, section 4.16(c).
``ACT/365F``
    Actual days / 365.  ISDA 2006 Definitions, section 4.16(d).
``ACT/365-NL``
    Actual days / 365, not counting 29 February ("no leap"): the Shanghai and
    Shenzhen exchange rule that interest does not accrue on 29 February.  A
    29 February counts as 28 February, as in QuantLib's
    ``Actual365Fixed(NoLeap)``: the 29 February days in ``(start, end]`` are
    removed from the actual count.
``ACT/360``
    Actual days / 360.  ISDA 2006 Definitions, section 4.16(e).
``30/360``
    30/360 Bond Basis: ``D1 = min(D1, 30)``; if then ``D1 == 30``,
    ``D2 = min(D2, 30)``; days = 360 (Y2-Y1) + 30 (M2-M1) + (D2-D1).
    ISDA 2006 Definitions, section 4.16(f).

Dates are :class:`datetime.date`.  These are pure functions on small numbers of
dates (a bond has tens of coupon dates), so they are scalar Python; the pricing
kernels that run over many yields or bonds are vectorised with numpy.
"""

from __future__ import annotations

import calendar
import difflib
from datetime import date

from gep.errors import InputError

ACT_ACT_ICMA = "ACT/ACT-ICMA"
ACT_365F = "ACT/365F"
ACT_365_NL = "ACT/365-NL"
ACT_360 = "ACT/360"
THIRTY_360 = "30/360"

#: The supported conventions, in the order they are documented.
DAY_COUNTS: tuple[str, ...] = (ACT_ACT_ICMA, ACT_365F, ACT_365_NL, ACT_360, THIRTY_360)

#: Denominator [days per year] of the fixed-basis conventions.
_BASIS = {ACT_365F: 365.0, ACT_365_NL: 365.0, ACT_360: 360.0, THIRTY_360: 360.0}


def normalize_day_count(name: str, *, where: str | None = None) -> str:
    """Return the canonical spelling of a day-count name.

    Matching ignores case and surrounding blanks.  An unknown name raises
    :class:`~gep.errors.InputError` listing the valid names and the closest one.

    Parameters
    ----------
    name : str
        Day-count name as written by the user, e.g. ``"act/act-icma"``.
    where : str, optional
        Location for the error message (file and key).
    """
    if not isinstance(name, str):
        raise InputError(
            f"day_count must be a string, got {type(name).__name__}",
            hint="use one of " + ", ".join(f'"{d}"' for d in DAY_COUNTS),
            where=where,
        )
    key = name.strip().upper()
    for canonical in DAY_COUNTS:
        if key == canonical:
            return canonical
    close = difflib.get_close_matches(key, DAY_COUNTS, n=1, cutoff=0.4)
    suggestion = f'did you mean "{close[0]}"? ' if close else ""
    raise InputError(
        f'unknown day count "{name}"',
        hint=suggestion + "valid day counts: " + ", ".join(f'"{d}"' for d in DAY_COUNTS),
        where=where,
    )


def is_leap(year: int) -> bool:
    """Gregorian leap year."""
    return calendar.isleap(year)


def _leap_days_through(d: date) -> int:
    """Number of 29 Februaries on or before ``d`` (from year 1)."""
    y = d.year - 1
    count = y // 4 - y // 100 + y // 400
    if calendar.isleap(d.year) and (d.month, d.day) >= (2, 29):
        count += 1
    return count


def leap_days_between(start: date, end: date) -> int:
    """Number of 29 Februaries in the half-open interval ``(start, end]``."""
    return _leap_days_through(end) - _leap_days_through(start)


def day_count_days(start: date, end: date, convention: str) -> int:
    """Days between two dates under a day-count convention [days].

    ``ACT/ACT-ICMA``, ``ACT/365F`` and ``ACT/360`` count actual days;
    ``ACT/365-NL`` removes each 29 February in ``(start, end]``; ``30/360``
    uses the Bond Basis rule (ISDA 2006, 4.16(f)).

    Parameters
    ----------
    start, end : datetime.date
        Interval ends; ``end`` may precede ``start`` (negative result).
    convention : str
        A canonical name from :data:`DAY_COUNTS`.

    Returns
    -------
    int
        Day count [days].
    """
    if convention == THIRTY_360:
        d1 = min(start.day, 30)
        d2 = min(end.day, 30) if d1 == 30 else end.day
        return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    actual = (end - start).days
    if convention == ACT_365_NL:
        if end >= start:
            return actual - leap_days_between(start, end)
        return actual + leap_days_between(end, start)
    if convention in (ACT_ACT_ICMA, ACT_365F, ACT_360):
        return actual
    return day_count_days(start, end, normalize_day_count(convention))


def year_fraction(
    start: date,
    end: date,
    convention: str,
    *,
    ref_start: date | None = None,
    ref_end: date | None = None,
    frequency: int | None = None,
) -> float:
    """Year fraction between two dates [years].

    Fixed-basis conventions: ``days / basis`` with basis 365 or 360.
    ``ACT/ACT-ICMA`` needs the regular reference (coupon) period that contains
    the interval and the coupon frequency: ``days / (f * days(ref_start, ref_end))``
    (ICMA Rule 251; ISDA 2006, 4.16(c)).  For an interval that spans several
    reference periods (long stub) use
    :func:`gep.finance.schedule.icma_period_fraction`.

    Parameters
    ----------
    start, end : datetime.date
        Interval ends.
    convention : str
        Canonical day-count name.
    ref_start, ref_end : datetime.date, optional
        Regular coupon period (ICMA only).
    frequency : int, optional
        Coupons per year (ICMA only).

    Returns
    -------
    float
        Year fraction [years].
    """
    if convention == ACT_ACT_ICMA:
        if ref_start is None or ref_end is None or not frequency:
            raise InputError(
                "ACT/ACT-ICMA needs the reference coupon period and the frequency",
                hint="pass ref_start, ref_end and frequency",
            )
        return (end - start).days / (frequency * (ref_end - ref_start).days)
    if convention not in _BASIS:
        convention = normalize_day_count(convention)
        if convention == ACT_ACT_ICMA:
            return year_fraction(start, end, convention, ref_start=ref_start,
                                 ref_end=ref_end, frequency=frequency)
    return day_count_days(start, end, convention) / _BASIS[convention]


def simple_year_fraction(start: date, end: date, convention: str, year_days: int | None = None) -> float:
    """Year fraction used by the final-period simple-yield rule [years].

    China interbank rule (PBoC 2007 yield standard, applied by CCDC): a bond in
    its final coupon period (and a zero-coupon bond with a year or less to run)
    is discounted by ``1 + y * D / TY`` with ``D`` the actual days from
    settlement to maturity and ``TY`` the actual days of the current interest
    year (366 when it contains a 29 February), counting its first day and not
    its last.  That applies to ``ACT/ACT-ICMA``; ``year_days`` is ``TY``.  The
    fixed-basis conventions keep the bond's own basis: ``ACT/365-NL`` the
    exchange days without 29 February over 365, ``ACT/365F`` days / 365,
    ``ACT/360`` and ``30/360`` days / 360.

    Parameters
    ----------
    start, end : datetime.date
        Settlement and maturity.
    convention : str
        Canonical day-count name.
    year_days : int, optional
        ``TY`` [days], required for ``ACT/ACT-ICMA``.
    """
    if convention == ACT_ACT_ICMA:
        if not year_days:
            raise InputError("the final-period rule of ACT/ACT-ICMA needs the days of the interest year",
                             hint="pass year_days (TY)")
        return (end - start).days / float(year_days)
    return year_fraction(start, end, convention)


def add_months(d: date, months: int, day: int | None = None) -> date:
    """Shift a date by whole calendar months, clipping to the month's end.

    Parameters
    ----------
    d : datetime.date
        Start date.
    months : int
        Months to add (negative to go back).
    day : int, optional
        Day of month to aim for (the "roll day"); defaults to ``d.day``.  It is
        clipped to the length of the target month (31 -> 30 June, 28/29 Feb).

    Returns
    -------
    datetime.date
    """
    total = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(total, 12)
    month = month0 + 1
    want = d.day if day is None else day
    return date(year, month, min(want, calendar.monthrange(year, month)[1]))
