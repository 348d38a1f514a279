"""Bounded parsing of numbers written as text.

Python converts any digit string, however long: ``int("9" * 10**6)`` or
``Decimal("1e1000000").to_integral_value()`` cost seconds of CPU, and numbers
beyond a :class:`decimal.Decimal` context's range raise ``Overflow`` in the
middle of a calculation. Every number that comes from a user, a file or the
network is therefore checked *on the string* first: its length, its count of
significant digits and its exponent. Only then is it converted, exactly, to a
:class:`~decimal.Decimal` or an :class:`int`. A refusal is a one-line
:class:`~gep.errors.GepError` (exit code 2) that names what was read.

This module imports nothing but the standard library and :mod:`gep.errors`, so
any command can use it without slowing its start.

Limits (defaults)
-----------------
* at most :data:`MAX_LENGTH` characters of text;
* at most :data:`MAX_DIGITS` significant digits (leading zeros do not count);
* the decimal exponent of the leading digit within ±:data:`MAX_EXPONENT`
  (``1e40`` is accepted, ``1e41`` refused; so is ``0.1e42``), written with at
  most 6 exponent digits before it is even read.

Examples
--------
>>> parse_decimal("1.50")
Decimal('1.50')
>>> split_number("1.5 t/yr")
(Decimal('1.5'), 't/yr')
>>> parse_int("250")
250
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal
from typing import Any

from gep.errors import GepError, InputError

__all__ = ["MAX_LENGTH", "MAX_DIGITS", "MAX_EXPONENT", "EXACT", "parse_decimal", "split_number", "parse_int", "finite_float", "json_int", "json_decimal"]

#: Longest text accepted for one number (with its unit, for :func:`split_number`) [characters].
MAX_LENGTH = 200
#: Most significant digits accepted [-].
MAX_DIGITS = 40
#: Largest decimal exponent of the leading digit accepted, in absolute value [-].
MAX_EXPONENT = 40
#: Decimal context in which sums, differences, remainders and products of numbers accepted here (and integers of
#: up to 19 digits) are exact: Python's default keeps 28 digits, so 2000 + 1E-30 was 2000 and the remainder of 400 by
#: 1E-30 raised ``decimal.InvalidOperation`` (use it as ``with decimal.localcontext(EXACT):``).
EXACT = Context(prec=4 * MAX_DIGITS + 2 * MAX_EXPONENT)

_NUMBER = re.compile(r"\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?)(\d+))?")


def _check(m: re.Match, text: str, what: str, max_digits: int, max_exponent: int, error: type[GepError]) -> Decimal:
    sign, whole, frac, esign, edigits = m.groups(default="")
    if not whole and not frac:
        raise error(f"{what} {_show(text)} is not a number", hint="write digits, e.g. 250, 1.5 or 2e3")
    if len(edigits) > 6:
        raise error(f"{what} {_show(text)} has an exponent of {len(edigits)} digits", hint=f"numbers range over 1e-{max_exponent} .. 1e{max_exponent}")
    digits = (whole + frac).lstrip("0")
    if len(digits) > max_digits:
        raise error(f"{what} {_show(text)} has {len(digits)} significant digits, more than {max_digits}", hint="round it")
    exponent = int(esign + edigits) if edigits else 0
    if digits:
        # decimal exponent of the leading significant digit
        lead = exponent + len(whole.lstrip("0")) - 1 if whole.lstrip("0") else exponent - (len(frac) - len(frac.lstrip("0"))) - 1
        if abs(lead) > max_exponent:
            raise error(f"{what} {_show(text)} is out of range (its magnitude is 1e{lead})", hint=f"numbers range over 1e-{max_exponent} .. 1e{max_exponent}")
    return Decimal(m.group(0).strip())


def _show(text: str) -> str:
    """``text`` for a message: quoted, shortened when long."""
    t = str(text)
    return repr(t) if len(t) <= 60 else repr(t[:40] + "…") + f" ({len(t)} characters)"


def _split(text: str, what: str, error: type[GepError]) -> tuple[re.Match, str]:
    if not isinstance(text, str):
        raise error(f"{what} {text!r} is not text")
    if len(text) > MAX_LENGTH:
        raise error(f"{what} {_show(text)} is longer than {MAX_LENGTH} characters", hint="write the number in plain digits, e.g. 250 or 1.5e3")
    m = _NUMBER.match(text)
    return m, text[m.end():].strip()


def split_number(text: str, what: str = "number", *, max_digits: int = MAX_DIGITS, max_exponent: int = MAX_EXPONENT,
                 error: type[GepError] = InputError) -> tuple[Decimal, str]:
    """A leading number and the text after it (e.g. a unit), the number checked before conversion.

    Parameters
    ----------
    text : str
        E.g. ``"1.5 t"``, ``"250"``, ``"2e3 kg/yr"``.
    what : str
        Name of the value in messages (``"amount"``, ``"price"``).
    max_digits, max_exponent : int
        Limits (see the module docstring).
    error : type of GepError
        Raised on refusal (default :class:`~gep.errors.InputError`, exit code 2).

    Returns
    -------
    (Decimal, str)
        The exact number and the stripped rest of the text (``""`` when none).
    """
    m, rest = _split(text, what, error)
    return _check(m, text, what, max_digits, max_exponent, error), rest


def parse_decimal(text: str, what: str = "number", *, max_digits: int = MAX_DIGITS, max_exponent: int = MAX_EXPONENT,
                  error: type[GepError] = InputError) -> Decimal:
    """The exact :class:`~decimal.Decimal` of ``text`` (nothing else may follow the number).

    Raises ``error`` naming ``what`` when the text is not a plain decimal number or
    exceeds the limits (see :func:`split_number`).
    """
    m, rest = _split(text, what, error)
    value = _check(m, text, what, max_digits, max_exponent, error)
    if rest:
        raise error(f"{what} {_show(text)} is not a number", hint="write digits only, e.g. 250, 1.5 or 2e3")
    return value


def parse_int(text: str, what: str = "integer", *, max_digits: int = 19, error: type[GepError] = InputError) -> int:
    """An integer written in at most ``max_digits`` decimal digits (optional sign, no exponent)."""
    if not isinstance(text, str):
        raise error(f"{what} {text!r} is not text")
    t = text.strip()
    if len(t) > MAX_LENGTH:
        raise error(f"{what} {_show(text)} is longer than {MAX_LENGTH} characters", hint="give a smaller integer")
    if not re.fullmatch(r"[+-]?\d+", t):
        raise error(f"{what} {_show(text)} is not an integer", hint="write digits only, e.g. 250")
    if len(t.lstrip("+-").lstrip("0")) > max_digits:
        raise error(f"{what} {_show(text)} has more than {max_digits} digits", hint="give a smaller integer")
    return int(t)


def finite_float(value: Any, what: str = "number", *, error: type[GepError] = InputError) -> float:
    """``value`` as a float, within bounds: text read by :func:`parse_decimal`; a number (int, float,
    Decimal, numpy scalar) finite and at most 1e:data:`MAX_EXPONENT` in magnitude.

    For values a file reader already converted (TOML, JSON, CSV cells): an integer too large
    for a float or an infinite value is refused in one line instead of overflowing later.
    """
    if isinstance(value, bool):
        raise error(f"{what} {value!r} is not a number")
    if isinstance(value, str):
        return float(parse_decimal(value.strip(), what, error=error))
    if isinstance(value, int) and abs(value) > 10**MAX_EXPONENT:
        raise error(f"{what} {_show(str(value))} is out of range", hint=f"numbers range over 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT}")
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{what} {_show(str(value))} is not a number") from None
    if not math.isfinite(f) or abs(f) > 10.0**MAX_EXPONENT:
        raise error(f"{what} {_show(str(value))} is not a finite number within 1e{MAX_EXPONENT}", hint=f"numbers range over 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT}")
    return f


def json_int(text: str) -> int:
    """``parse_int`` hook of :func:`json.loads`: integers of at most 20 digits (a 64-bit range and a little more)."""
    return parse_int(text, "JSON integer", max_digits=20)


def json_decimal(text: str) -> Decimal:
    """``parse_float`` hook of :func:`json.loads`: a bounded exact Decimal instead of a binary float."""
    return parse_decimal(text, "JSON number")
