"""What a service returns: physical quantities by zone × ecosystem, and the
components that valuation prices."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pint
import xarray as xr


@dataclass(frozen=True)
class Component:
    """One priced part of a service (a pollutant, a nutrient, a product).

    Parameters
    ----------
    name : str
        Component name, e.g. ``"COD"`` or ``"sediment"``.
    quantity : xarray.DataArray
        Physical quantity by ``(zone, ecosystem)`` with ``attrs['units']``.
    price : pint.Quantity
        Unit price in CNY per unit of a quantity with the same dimension.
    price_year : int
        Year whose CNY the price is in.
    price_source : str
        Coefficient parameter(s) the price comes from.
    uses : frozenset of (parameter, key), optional
        The coefficient rows this component's quantity and price were computed
        from, as recorded by :meth:`CoefficientSet.recording`, beyond those of
        the service's shared quantity (None: every row the service read, see
        :func:`gep.accounting.compute.compute_services`).
    confidence : str, optional
        The weakest confidence among those rows (set by ``compute_services``).
    """

    name: str
    quantity: xr.DataArray
    price: pint.Quantity
    price_year: int
    price_source: str
    uses: frozenset | None = None
    confidence: str | None = None


@dataclass
class ServiceResult:
    """Result of one service for one landscape.

    ``quantity`` is the reported physical quantity (功能量) by zone ×
    ecosystem in the service's output unit (``None`` when the service sums
    products of different units, as provisioning does); ``components`` are what
    valuation prices; ``cells`` are per-cell maps for the NetCDF output;
    ``extras`` are further reported quantities that are not part of GEP
    (e.g. the carbon stock).
    """

    quantity: xr.DataArray | None
    components: list[Component]
    cells: dict[str, xr.DataArray] = field(default_factory=dict)
    extras: dict[str, xr.DataArray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def by_class_confidence(ls, coef, parameter: str, by_class: xr.DataArray | np.ndarray, unit: str, ecosystems: tuple[str, ...]) -> list[tuple[frozenset, xr.DataArray]]:
    """A zone × class quantity split into zone × ecosystem parts by the confidence of each class's ``parameter`` row.

    A service whose quantity rests on a per-class coefficient (a runoff
    coefficient, a capacity) makes one component per part, so that the value
    resting on one class's weaker row is counted under that row's confidence
    and not the whole service's. Returns ``[(rows, quantity)]``: the
    ``(parameter, key)`` rows of the part's classes and its quantity [unit].

    Parameters
    ----------
    ls : Landscape
        The landscape (legend order of the classes).
    coef : CoefficientSet
        The set whose rows' confidence groups the classes.
    parameter : str
        The per-class coefficient.
    by_class : DataArray or ndarray
        The quantity by ``(zone, class)`` in legend order [unit].
    unit : str
        Its unit.
    ecosystems : tuple of str
        The ecosystems the service counts (the rows of classes outside them are not its rows).
    """
    data = by_class.transpose("zone", "class").data if isinstance(by_class, xr.DataArray) else by_class
    data = data if hasattr(data, "map_blocks") else np.asarray(data)  # a chunked run's sums stay lazy
    keys = coef.lut_keys(parameter, ls.legend.codes)
    inside = ls.legend.class_mask(ecosystems) & np.isin(ls.legend.codes, ls.codes_present)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(coef.confidence_of({(parameter, key)}) if key else "", []).append(i)
    out = []
    for members in groups.values():
        mask = np.zeros(len(keys))
        mask[members] = 1.0
        present = {(parameter, keys[i]) for i in members if keys[i] and inside[i]}
        out.append((frozenset(present), ls.class_to_ecosystem(data * mask, unit)))
    return out


def row_price_years(table, default: int) -> np.ndarray:
    """Price year of each row's CNY amounts: a ``price_year`` column, else the table's (``attrs['price_year']``), else ``default``.

    A ``price_year`` cell that is not a year raises :class:`~gep.errors.InputError` naming the file and line.
    """
    import pandas as pd

    from gep.errors import InputError

    year = int(table.attrs.get("price_year", default))
    if "price_year" not in table:
        return np.full(len(table), year, dtype=np.int64)
    column = table["price_year"]
    empty = column.isna() | (column.astype(str).str.strip() == "")
    filled = pd.to_numeric(column, errors="coerce").where(~empty, year).to_numpy(dtype=float)
    bad = ~np.isfinite(filled) | (filled % 1 != 0) | (filled < 1900) | (filled > 2200)
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2
        raise InputError(f"{table.attrs.get('path', 'table')}, line {line}: price_year {column.iloc[line - 2]!r} is not a year", hint="write the year of the row's CNY amounts, e.g. 2021, or leave it empty for the table's price year")
    return filled.astype(np.int64)


def money_components(name: str, money: np.ndarray, years: np.ndarray, place, source: str, uses: frozenset | None = None) -> list[Component]:
    """CNY amounts of table rows as components, one per price year (valued like prices: indexed from that year).

    Parameters
    ----------
    name : str
        Component name.
    money : ndarray
        CNY per year of each row [CNY/yr], at the row's price year.
    years : ndarray
        Price year of each row (:func:`row_price_years`).
    place : callable
        ``place(values_per_row) -> DataArray (zone, ecosystem) [CNY/yr]``: where the rows' money goes.
    source : str
        Where the amounts come from (the table and column).
    uses : frozenset, optional
        Coefficient rows the amounts were computed with.
    """
    from gep.units import Q_

    out = []
    for year in np.unique(years):
        part = np.where(years == year, money, 0.0)
        out.append(Component(name, place(part), Q_(1.0, "dimensionless"), int(year), f"{source} (CNY of {int(year)})", uses=uses))
    return out
