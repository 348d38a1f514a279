"""Business-day calendars of the China bond markets and date adjustment.

Calendars (the ``calendar`` key of a bond file):

``CN-IB``
    China interbank bond market (CFETS trading, CCDC and SHCH settlement):
    weekdays that are not public holidays, **plus** the working weekends
    (调休) the State Council sets around Spring Festival and National Day.
    Source: QuantLib ``China(China.IB)`` ("IB data from chinamoney.com.cn").
``SSE``
    Shanghai Stock Exchange: weekdays that are not exchange holidays; the
    exchange stays closed on 调休 working weekends, and may close on extra
    days (2024-02-09, Spring Festival eve).  Source: QuantLib
    ``China(China.SSE)`` ("SSE data from sse.com.cn").
``SZSE``
    Shenzhen Stock Exchange.  The two exchanges keep one holiday schedule
    (the CSRC announces it for both); QuantLib has no separate Shenzhen
    calendar, so ``SZSE`` uses the SSE holidays.

QuantLib lists the lunar-calendar holidays (Spring Festival, Qingming, Dragon
Boat, Mid-Autumn) and the 调休 days year by year.  Outside the years it lists
it would silently treat those days as business days, so this module finds
the years listed (every listed year closes on weekdays between 15 January
and 28 February for Spring Festival) and refuses to adjust a date outside
them: :func:`data_range`.  With QuantLib 1.44 that is 2004-01-01 to
2026-12-31.  A bond may opt in to weekend-only adjustment past the data
(``calendar_beyond_range = "weekends"``).

Adjustment conventions (ISDA 2006 Definitions, section 4.12):

``unadjusted``
    the date as it is;
``following``
    the next business day (China: "如遇法定节假日或休息日，则顺延至其后的第1个
    工作日/交易日");
``modified_following``
    the next business day unless it falls in the next month, then the
    preceding one;
``preceding``
    the previous business day.

A bond has tens of dates, so these are scalar functions; the QuantLib
calendar does the holiday look-up.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from gep.errors import InputError

#: The distribution whose holiday data the calendars use (its version is recorded with a run's environment).
LIBRARY = "QuantLib"

UNADJUSTED = "unadjusted"
FOLLOWING = "following"
MODIFIED_FOLLOWING = "modified_following"
PRECEDING = "preceding"
#: Business-day conventions, in the order they are documented.
CONVENTIONS: tuple[str, ...] = (UNADJUSTED, FOLLOWING, MODIFIED_FOLLOWING, PRECEDING)

#: What to do with a date past the calendar's data: refuse it, or adjust for weekends only.
BEYOND_RANGE: tuple[str, ...] = ("error", "weekends")

#: Canonical calendar name -> (QuantLib market, description).
CALENDARS: dict[str, tuple[str, str]] = {
    "CN-IB": ("IB", "China interbank market (CFETS, CCDC, SHCH): 调休 working weekends are business days"),
    "SSE": ("SSE", "Shanghai Stock Exchange: closed on weekends, 调休 weekends included"),
    "SZSE": ("SSE", "Shenzhen Stock Exchange (same holiday schedule as the SSE)"),
}
_ALIASES = {"CIBM": "CN-IB", "IB": "CN-IB", "CHINA-IB": "CN-IB", "INTERBANK": "CN-IB",
            "XSHG": "SSE", "SHANGHAI": "SSE", "XSHE": "SZSE", "SHENZHEN": "SZSE"}


def _ql():
    import QuantLib

    return QuantLib


@dataclass(frozen=True)
class BusinessCalendar:
    """A China market calendar backed by QuantLib's holiday data.

    Attributes
    ----------
    name : str
        Canonical name (``CN-IB``, ``SSE``, ``SZSE``).
    description : str
    first, last : datetime.date
        First and last day of the years QuantLib lists holidays for.
    source : str
        ``QuantLib <version> China(<market>)``.
    """

    name: str
    description: str
    first: date
    last: date
    source: str

    def covers(self, d: date) -> bool:
        """Whether ``d`` lies within the calendar's holiday data."""
        return self.first <= d <= self.last

    def is_business_day(self, d: date, *, beyond: str = "error", where: str | None = None) -> bool:
        """Whether the market is open on ``d``.

        Parameters
        ----------
        d : datetime.date
        beyond : str
            ``"error"``: a date outside :attr:`first` … :attr:`last` raises
            :class:`~gep.errors.InputError`; ``"weekends"``: there, Monday to
            Friday are business days.
        where : str, optional
            File and key for the error message.
        """
        if not self.covers(d):
            if beyond == "weekends":
                return d.weekday() < 5
            raise InputError(
                f"{d} is outside the holiday data of calendar {self.name} ({self.source}: "
                f"{self.first} to {self.last})",
                hint='holidays past the data are not yet announced; set calendar_beyond_range = "weekends" to '
                "adjust for weekends only there, or install a newer QuantLib",
                where=where)
        return _market(self.name).isBusinessDay(_qdate(d))

    def adjust(self, d: date, convention: str, *, beyond: str = "error", where: str | None = None) -> date:
        """``d`` moved to a business day under ``convention`` (ISDA 2006, 4.12).

        Every day looked at must lie within the data (or ``beyond = "weekends"``).
        """
        if convention == UNADJUSTED:
            return d
        step = -1 if convention == PRECEDING else 1
        out = d
        while not self.is_business_day(out, beyond=beyond, where=where):
            out += timedelta(days=step)
        if convention == MODIFIED_FOLLOWING and out.month != d.month:
            return self.adjust(d, PRECEDING, beyond=beyond, where=where)
        return out

    def as_dict(self) -> dict:
        """Name, source and data range, for reports and manifests."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "data_first": self.first.isoformat(), "data_last": self.last.isoformat()}


def _qdate(d: date):
    return _ql().Date(d.day, d.month, d.year)


@lru_cache(maxsize=None)
def _market(name: str):
    ql = _ql()
    return ql.China(getattr(ql.China, CALENDARS[name][0]))


@lru_cache(maxsize=None)
def data_range(name: str) -> tuple[date, date]:
    """First and last day of the years QuantLib lists the holidays of calendar ``name`` for.

    A listed year closes on at least one weekday between 15 January and
    28 February (Spring Festival); years outside the contiguous block of such
    years around the latest one have no lunar-holiday data.
    """
    ql = _ql()
    cal = _market(name)
    listed = [y for y in range(1990, 2101)
              if len(ql.Calendar.holidayList(cal, ql.Date(15, 1, y), ql.Date(28, 2, y), False)) > 0]
    if not listed:  # pragma: no cover - QuantLib always lists some years
        raise InputError(f"QuantLib lists no holidays for calendar {name}", hint="reinstall QuantLib")
    last = listed[-1]
    first = last
    while first - 1 in listed:
        first -= 1
    return date(first, 1, 1), date(last, 12, 31)


def _choose(value: object, valid: tuple[str, ...], what: str, where: str | None, aliases: dict | None = None) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, got {value!r}",
                         hint="use one of " + ", ".join(f'"{v}"' for v in valid), where=where)
    key = (value.strip().upper().replace("_", "-") if aliases is not None
           else value.strip().lower().replace("-", "_").replace(" ", "_"))
    for v in valid:
        if key == (v.upper() if aliases is not None else v):
            return v
    if aliases and key in aliases:
        return aliases[key]
    close = difflib.get_close_matches(value.strip(), valid, n=1, cutoff=0.4)
    raise InputError(f'unknown {what} "{value}"',
                     hint=(f'did you mean "{close[0]}"? ' if close else "") + f"valid {what}s: "
                     + ", ".join(f'"{v}"' for v in valid), where=where)


def get_calendar(name: object, *, where: str | None = None) -> BusinessCalendar:
    """The calendar called ``name`` (case-insensitive; ``CIBM``, ``XSHG``, ``XSHE`` accepted).

    Raises
    ------
    gep.errors.InputError
        An unknown name (with the closest valid one), exit code 2.
    """
    canonical = _choose(name, tuple(CALENDARS), "calendar", where, _ALIASES)
    first, last = data_range(canonical)
    ql = _ql()
    return BusinessCalendar(canonical, CALENDARS[canonical][1], first, last,
                            f"QuantLib {ql.__version__} China(China.{CALENDARS[canonical][0]})")


def normalize_convention(name: object, *, where: str | None = None) -> str:
    """Canonical business-day convention (``Following``, ``modified-following`` accepted)."""
    return _choose(name, CONVENTIONS, "business-day convention", where)


def normalize_beyond(name: object, *, where: str | None = None) -> str:
    """``"error"`` or ``"weekends"`` (what to do past the calendar's data)."""
    return _choose(name, BEYOND_RANGE, "calendar_beyond_range value", where)
