"""The one pint unit registry of gep, and unit checks at function boundaries.

Every quantity that crosses a function boundary carries a unit. Gridded values
travel as :class:`xarray.DataArray` with a ``units`` attribute; scalars and
coefficients as :class:`pint.Quantity`. Inside a science function the
:func:`unitful` decorator converts each argument to the function's declared
unit and hands over plain magnitudes, so formulas stay readable numpy/dask
arithmetic and still cannot receive a wrong dimension.

Carbon mass (``tC``), CO2 mass (``tCO2``) and plain mass (``t``) are distinct
dimensions: adding them raises, and conversion is only through
:data:`CO2_PER_C` (44/12) or :data:`O2_PER_CO2` (32/44), where a method says so.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from pathlib import Path
from typing import Any, Callable

import pint
import xarray as xr

from gep.errors import GepError, InputError, UnitError
from gep.numbers import parse_decimal, split_number


def _registry() -> pint.UnitRegistry:
    """pint's registry with gep's units (``units.txt``).

    pint caches the parsed definitions in ``<gep's cache folder>/pint`` (:func:`gep.cache_dir`):
    parsing them took 0.2-0.3 s of every gep process, reading them back 0.02 s (benchmarks/RESULTS.md,
    session 6). pint writes its cache files in place, so a process may meet a file another process is still
    writing, and the cache folder may not be writable: then the definitions are parsed again, uncached.
    """
    from gep import cache_dir

    definitions = str(Path(__file__).with_name("units.txt"))
    try:
        reg = pint.UnitRegistry(cache_folder=cache_dir() / "pint")
        reg.load_definitions(definitions)
    except Exception:  # noqa: BLE001 - a cache being written or not writable; a real definition error is raised below
        reg = pint.UnitRegistry(cache_folder=None)
        reg.load_definitions(definitions)
    return reg


ureg = _registry()
ureg.formatter.default_format = "~P"
Q_ = ureg.Quantity

#: Stoichiometric factor from carbon to CO2 (molar masses 44/12) [tCO2/tC].
CO2_PER_C = Q_(44.0 / 12.0, "tCO2/tC")
#: Mass of O2 released per mass of CO2 fixed (32/44) [t/tCO2].
O2_PER_CO2 = Q_(32.0 / 44.0, "t/tCO2")
#: Carbon fraction of dry matter, C6 over C6H10O5 (72/162) [tC/t].
C_PER_DRY_MATTER = Q_(72.0 / 162.0, "tC/t")


#: Longest unit expression read [characters].
MAX_UNIT_LENGTH = 200
#: Largest exponent (``m**3``) a unit expression may raise to, in absolute value.
MAX_UNIT_POWER = 12
#: A number written in a unit expression (``1e18*ion``), not a digit inside a name (``tCO2``).
_UNIT_NUMBER = re.compile(r"(?<![A-Za-z_\d.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: An exponent operator and what follows it.
_UNIT_POWER = re.compile(r"(\*\*|\^)\s*(\(?\s*[+-]?\s*(?:\d+\.?\d*|\.\d+)\s*\)?)?")


def _check_expression(text: str, where: str) -> None:
    """Refuse, before pint evaluates it, a unit expression whose numbers could cost unbounded time or overflow.

    pint computes the numbers of an expression exactly (``g*1e9999999``, ``m*10**10**10``):
    every number is checked on its text (:mod:`gep.numbers`: at most 40 significant digits,
    magnitude 1e-40 .. 1e40), every exponent must be a plain number of at most
    :data:`MAX_UNIT_POWER`, and exponents are not chained.
    """
    at = f" in {where}" if where else ""
    if len(text) > MAX_UNIT_LENGTH:
        raise UnitError(f"unit expression{at} is {len(text)} characters long, more than {MAX_UNIT_LENGTH}", hint=_UNIT_HINT)
    for m in _UNIT_NUMBER.finditer(text):
        try:
            parse_decimal(m.group(0), f"unit {text[:60]!r}{at}: number", error=UnitError)
        except GepError as exc:
            raise UnitError(exc.message, hint=_UNIT_HINT) from None
    for m in _UNIT_POWER.finditer(text):
        power = m.group(2)
        chained = text[m.end():].lstrip().startswith(("**", "^"))
        if power is None or chained or abs(float(re.sub(r"[()\s]", "", power))) > MAX_UNIT_POWER:
            raise UnitError(f"unit {text[:60]!r}{at}: an exponent must be a plain number of at most {MAX_UNIT_POWER} (e.g. m**3), not chained",
                            hint=_UNIT_HINT)


def parse_unit(text: str, where: str = "") -> pint.Quantity:
    """Parse a unit expression such as ``"t/(ha*yr)"`` or ``"CNY/(1e18*ion)"``.

    Returns a Quantity of size one unit (its magnitude carries any scaling
    factor); raises :class:`UnitError` naming ``where`` if the unit is unknown,
    if a number in it is out of bounds (:func:`_check_expression`) or if its
    scaling factor is zero, infinite or not a number.
    """
    text = str(text).strip() or "dimensionless"
    _check_expression(text, where)
    try:
        return Q_(1.0, ureg.Unit(text))
    except ValueError as exc:
        if "scaling factor" not in str(exc):
            raise UnitError(f"unknown unit {text!r}{' in ' + where if where else ''}", hint=_UNIT_HINT) from exc
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, TypeError, AttributeError, AssertionError) as exc:
        raise UnitError(f"unknown unit {text!r}{' in ' + where if where else ''}", hint=_UNIT_HINT) from exc
    try:
        q = ureg.parse_expression(text)
    except Exception as exc:  # pint raises several unrelated types here
        raise UnitError(f"unknown unit {text!r}{' in ' + where if where else ''}", hint=_UNIT_HINT) from exc
    q = q if isinstance(q, pint.Quantity) else Q_(float(q), "dimensionless")
    magnitude = float(q.magnitude)
    if not math.isfinite(magnitude) or magnitude == 0:
        raise UnitError(f"unit {text!r}{' in ' + where if where else ''} has a scaling factor of {magnitude!r}", hint=_UNIT_HINT)
    return q


def split_quantity(text: str, where: str = "") -> tuple[float, str]:
    """A quantity string as ``(number, unit)``: ``"1.0 degC"`` → ``(1.0, "degC")``.

    The number (read with the bounds of :mod:`gep.numbers`) and the unit are read
    separately, so offset units (°C, °F) work where pint's expression parser refuses
    them (it reads ``1.0 degC`` as a product). A string without a number, a number out
    of bounds or an unknown unit raises :class:`UnitError` naming ``where``; a bare
    number has the unit ``""``. :func:`parse_quantity` gives a Quantity in a unit of an
    expected dimension instead.
    """
    try:
        value, unit = split_number(str(text), "value")
    except InputError as exc:
        raise UnitError(f"{where + ': ' if where else ''}{text!r} is not a number followed by a unit ({exc.message})",
                        hint="write e.g. \"1200 mm/yr\" or \"1.0 degC\"") from None
    if unit:
        parse_unit(unit, where)
    return float(value), unit


_UNIT_HINT = "use a pint unit expression such as 'mm', 't/(ha*yr)', 'CNY/m**3'"

def parse_quantity(text: str, default_unit: str, where: str) -> pint.Quantity:
    """Parse ``"0.2/d"``, ``"10km"``, ``"10 m**3/s"``, ``"25 degC"``, ``"1 yi_CNY"`` or a bare number.

    The number is read with bounds (:mod:`gep.numbers`) before it is converted; a bare
    number takes ``default_unit``; an unknown unit or one of another dimension than
    ``default_unit`` raises :class:`UnitError` naming ``where`` (an option, or a file and key).
    """
    try:
        value, unit_text = split_number(str(text), "value")
    except InputError as exc:
        raise UnitError(f"{exc.message}: not a number with an optional unit", hint=f"write e.g. '1 {default_unit}'", where=where) from None
    number = float(value)
    if unit_text.startswith("/"):
        unit_text = "1" + unit_text
    unit = unit_text or default_unit
    parse_unit(unit, where)  # raises UnitError on an unknown unit
    affine(unit, default_unit, where)  # raises UnitError on a wrong dimension
    try:
        return Q_(number, unit)
    except Exception as exc:  # pint raises several unrelated types for odd expressions
        raise UnitError(f"cannot read {text!r} as a quantity", hint=f"write e.g. '1 {default_unit}'", where=where) from exc


@functools.lru_cache(maxsize=4096)
def _affine_cached(src: str, dst: str) -> tuple[float, float]:
    src_q, dst_q = parse_unit(src), parse_unit(dst)
    if src_q.magnitude == 1.0 and dst_q.magnitude == 1.0:
        zero = Q_(0.0, src_q.units).to(dst_q.units).magnitude
        one = Q_(1.0, src_q.units).to(dst_q.units).magnitude
    else:
        zero, one = 0.0, src_q.to(dst_q.units).magnitude / dst_q.magnitude
    return float(one - zero), float(zero)


def affine(src: str | pint.Unit, dst: str | pint.Unit, what: str = "value") -> tuple[float, float]:
    """Return ``(scale, offset)`` with ``dst_value = src_value * scale + offset``.

    Works for offset units (degC, K) as well as multiplicative ones, so the
    conversion can be applied lazily to numpy or dask arrays. Conversions are
    cached by unit strings.
    """
    try:
        return _affine_cached(str(src), str(dst))
    except pint.errors.DimensionalityError as exc:
        src_q, dst_q = parse_unit(src, what), parse_unit(dst, what)
        raise UnitError(
            f"{what} has unit '{src}' ({src_q.dimensionality}) but '{dst}' "
            f"({dst_q.dimensionality}) is expected",
            hint=f"give {what} in a unit convertible to '{dst}'",
        ) from exc
    except UnitError:
        parse_unit(src, what)  # re-raise naming where the unknown unit was
        parse_unit(dst, what)
        raise


def convert(value: Any, src: str | pint.Unit, dst: str | pint.Unit, what: str = "value") -> Any:
    """Convert a magnitude (number, numpy or dask array, DataArray) from ``src`` to ``dst``."""
    scale, offset = affine(src, dst, what)
    if scale == 1.0 and offset == 0.0:
        return value
    out = value * scale
    return out + offset if offset else out


def units_of(value: Any, what: str) -> str:
    """Unit string attached to a DataArray (``attrs['units']``) or a pint Quantity."""
    if isinstance(value, pint.Quantity):
        return f"{value.units}"
    if isinstance(value, xr.DataArray):
        if "units" not in value.attrs:
            raise UnitError(f"{what} has no 'units' attribute", hint=f"set {what}.attrs['units'], e.g. 'mm'")
        return str(value.attrs["units"])
    raise UnitError(
        f"{what} is a bare {type(value).__name__} without a unit",
        hint="pass a pint Quantity (gep.units.Q_(value, 'unit')) or a DataArray with attrs['units']",
    )


def magnitude(value: Any, unit: str, what: str = "value") -> Any:
    """Magnitude of ``value`` expressed in ``unit``; ``value`` must carry a unit."""
    src = units_of(value, what)
    if isinstance(value, pint.Quantity):
        return convert(value.magnitude, src, unit, what)
    out = convert(value, src, unit, what)
    if isinstance(out, xr.DataArray):
        out = out.copy(deep=False) if out is value else out
        out.attrs = {k: v for k, v in value.attrs.items() if k != "units"}
        out.attrs["units"] = unit
    return out


def with_units(value: Any, unit: str) -> Any:
    """Attach ``unit``: DataArrays get ``attrs['units']``, everything else becomes a Quantity."""
    if isinstance(value, xr.DataArray):
        value.attrs["units"] = unit
        return value
    return Q_(value, unit)


def unitful(returns: str | None = None, **declared: str) -> Callable:
    """Declare argument and return units of a science function.

    Each named argument must carry a unit (DataArray ``attrs['units']`` or pint
    Quantity) convertible to the declared one; the function body receives
    magnitudes in exactly the declared units. The return value gets ``returns``
    as its unit. A wrong dimension raises :class:`~gep.errors.UnitError` naming
    the function, the argument, the expected and the received unit.
    """

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        for name in declared:
            if name not in sig.parameters:
                raise TypeError(f"{fn.__name__}: declared unit for unknown argument {name!r}")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, unit in declared.items():
                value = bound.arguments[name]
                if value is None:
                    continue
                what = f"argument '{name}' of {fn.__name__}"
                if isinstance(value, pint.Quantity):
                    bound.arguments[name] = convert(value.magnitude, f"{value.units}", unit, what)
                else:
                    bound.arguments[name] = magnitude(value, unit, what)
            out = fn(*bound.args, **bound.kwargs)
            return with_units(out, returns) if returns is not None else out

        wrapper.units = dict(declared)  # type: ignore[attr-defined]
        wrapper.returns = returns  # type: ignore[attr-defined]
        return wrapper

    return decorate


#: Chinese money units by magnitude: 亿元 (10⁸ CNY), 万元 (10⁴ CNY), 元.
MONEY_UNITS = ((1e8, "亿元"), (1e4, "万元"), (1.0, "元"))


def money_scale(values: Any) -> tuple[float, str]:
    """Divisor and unit for showing amounts of money [CNY] the way Chinese reports do: 亿元 when the largest
    magnitude reaches 10⁸, 万元 from 10⁴, else 元."""
    import numpy as np

    m = float(np.nanmax(np.abs(np.asarray(values, dtype=float)), initial=0.0))
    return next(((d, u) for d, u in MONEY_UNITS if m >= d), MONEY_UNITS[-1])


def format_money(cny: float, digits: int = 2, scale: tuple[float, str] | None = None) -> str:
    """``274.46 亿元``, ``53.2 万元``, ``980 元``: an amount [CNY] in the unit of its magnitude (or ``scale``)."""
    d, unit = scale or money_scale([cny])
    return f"{cny / d:,.{digits}f} {unit}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def pretty_unit(unit: str) -> str:
    """A pint unit as people write it: ``m**3/yr`` → ``m³/yr``, ``gC/(m**2*yr)`` → ``gC/(m²·yr)``, ``dimensionless`` → ``-``."""
    text = str(unit).strip()
    if text in ("dimensionless", "", "1"):
        return "-"
    text = re.sub(r"\*\*\s*(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"\s*\*\s*", "·", text)
    return text.replace("percent", "%").replace("degC", "°C")


def format_number(x: float | None) -> str:
    """A quantity for people: ``516,535`` from 1,000 up (no decimals), else 4 significant digits (``0.3152``); ``—`` for none."""
    if x is None or x != x:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"
