"""The ledger's clock: the time of each record, and the times and dates requests name.

Every record carries the UTC time at which the registry's writer recorded it, as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (fixed width, so that text order is time order).
The writer never lets it go backwards (a record is never older than the one
before it, whatever the machine's clock does) and ``verify`` checks that, so the
time windows of the market (a listing's close, a sealed auction's reveal period,
a right's expiry, an obligation's due time) are decided by the log alone and
replay identically.

Requests name times as ISO 8601 with a zone (``2026-12-01T10:00:00+08:00``) and
validity periods as calendar dates, which are Beijing dates (China Standard
Time, UTC+8): a right valid until ``2028-12-31`` may move until
``2028-12-31T23:59:59.999999+08:00`` and is expired from
``2029-01-01T00:00:00+08:00`` on. Both are normalised to the record format
before they are compared.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from gep.ledger.errors import InvalidRequest

__all__ = ["BEIJING", "TIME", "DATES", "now", "utc", "day_start", "day_after", "beijing_date", "parse"]

#: China Standard Time (UTC+8): calendar dates of validity periods and statements.
BEIJING = timezone(timedelta(hours=8))
#: The format of record times (and of every normalised time).
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _format(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now() -> str:
    """UTC time of recording, ISO 8601 with microseconds (the record format)."""
    return _format(datetime.now(timezone.utc))


def parse(text: Any, what: str) -> datetime:
    """An ISO 8601 time with a time zone; raise :class:`InvalidRequest` naming ``what`` otherwise."""
    try:
        t = datetime.fromisoformat(text) if isinstance(text, str) and len(text) <= 40 else None
        if t is not None and t.tzinfo is not None:
            t.astimezone(timezone.utc)  # 0001-01-01T00:00:00+08:00 is before the first UTC instant Python holds
    except (ValueError, OverflowError):
        t = None
    if t is None or t.tzinfo is None:
        raise InvalidRequest(f"{what} {text!r} is not an ISO 8601 time with a time zone", hint="e.g. 2026-12-01T10:00:00+08:00 or 2026-12-01T02:00:00Z")
    return t


def utc(text: Any, what: str) -> str:
    """``text`` (ISO 8601 with a zone) in the record format, so that it compares with record times as text."""
    return _format(parse(text, what))


#: The calendar dates requests may name: far beyond any right's life either side, and the instant after
#: the last (the end of a validity period) is still a time of the record format (a 4-digit year).
DATES = (date(1900, 1, 1), date(9998, 12, 31))


def _date(text: Any, what: str) -> date:
    try:
        d = date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        d = None
    if d is None:
        raise InvalidRequest(f"{what} {text!r} is not a date", hint="write YYYY-MM-DD (a Beijing calendar date)")
    if not DATES[0] <= d <= DATES[1]:
        raise InvalidRequest(f"{what} {text} is out of range", hint=f"dates range over {DATES[0]} .. {DATES[1]}")
    return d


def day_start(text: Any, what: str) -> str:
    """The first instant of a Beijing calendar date ``YYYY-MM-DD``, in the record format."""
    d = _date(text, what)
    return _format(datetime(d.year, d.month, d.day, tzinfo=BEIJING))


def day_after(text: Any, what: str) -> str:
    """The first instant after a Beijing calendar date (the end of a validity period), in the record format."""
    d = _date(text, what) + timedelta(days=1)
    return _format(datetime(d.year, d.month, d.day, tzinfo=BEIJING))


def beijing_date(record_time: str) -> date:
    """The Beijing calendar date of a record time."""
    return datetime.fromisoformat(record_time.replace("Z", "+00:00")).astimezone(BEIJING).date()
