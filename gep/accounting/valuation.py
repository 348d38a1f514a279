"""Valuation: quantity × price, with prices indexed to the accounting year.

Every price carries its price year. A price is brought to the accounting year
(current prices) or to a base year (comparable prices) through a named index
series pinned in the coefficient set (e.g. the national CPI, previous year =
100): P_t = P_y0 × Π_{y0 < s ≤ t} (I_s / 100).

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）: current and comparable prices;
comparable-price growth = Σ Q_t·P_base / Σ Q_{t−1}·P_base − 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from gep.errors import CoefficientError, UnitError
from gep.accounting.coefficients import CONFIDENCE, weakest
from gep.accounting.services.result import Component
from gep.units import Q_


def index_factor(index: pd.DataFrame, series: str, from_year: int, to_year: int) -> float:
    """Multiply a price of ``from_year`` by this to express it in ``to_year`` CNY [-].

    Parameters
    ----------
    index : DataFrame
        Rows ``series, year, value`` with ``value`` the index of ``year`` with
        the previous year = 100.
    series : str
        Series name, e.g. ``"cpi"``.
    from_year, to_year : int
        Price year and target year.

    Returns
    -------
    float
        Π of I_s/100 over the years after ``from_year`` up to ``to_year``
        (the inverse when ``to_year`` is earlier).
    """
    if from_year == to_year:
        return 1.0
    rows = index[index["series"].astype(str) == series]
    if rows.empty:
        raise CoefficientError(f"price index series '{series}' is not in the coefficient set", hint="add it to price_index.csv or choose another [valuation] price_index")
    lo, hi = sorted((int(from_year), int(to_year)))
    years = np.arange(lo + 1, hi + 1)
    have = dict(zip(rows["year"].astype(int), rows["value"].astype(float)))
    missing = [int(y) for y in years if y not in have]
    if missing:
        raise CoefficientError(
            f"price index '{series}' lacks year(s) {missing[:5]} needed to move prices from {from_year} to {to_year}",
            hint="add those years to price_index.csv (previous year = 100), or choose an accounting or base year it covers",
        )
    factor = float(np.prod([have[int(y)] / 100.0 for y in years]))
    return factor if to_year > from_year else 1.0 / factor


def index_confidence(index: pd.DataFrame, series: str, from_year: int, to_year: int) -> str:
    """The weakest confidence among the index rows that move a price from ``from_year`` to ``to_year``
    (``verified`` when the years are equal: no row is used)."""
    if from_year == to_year or "confidence" not in index:
        return CONFIDENCE[0]
    lo, hi = sorted((int(from_year), int(to_year)))
    rows = index[(index["series"].astype(str) == series) & index["year"].astype(int).between(lo + 1, hi)]
    return weakest(rows["confidence"].astype(str))


def unit_value(component: Component) -> float:
    """CNY per unit of the component's quantity magnitude, at the price year [CNY/unit].

    Raises :class:`UnitError` when quantity and price do not multiply to money
    (e.g. a price per t C applied to t CO2). Yearly flows (``/yr``) are valued
    over one accounting year.
    """
    unit = component.quantity.attrs.get("units", "")
    try:
        money = Q_(1.0, unit) * component.price
        if money.dimensionality.get("[time]", 0) == -1:
            money = money * Q_(1.0, "yr")
        return float(money.to("CNY").magnitude)
    except Exception as exc:
        raise UnitError(
            f"cannot value component '{component.name}': quantity in '{unit}' times price in '{component.price.units}' is not money",
            hint=f"the price ({component.price_source}) must be per unit of the quantity; convert explicitly (e.g. t C vs t CO2: 44/12)",
        ) from exc


@dataclass(frozen=True)
class Valued:
    """A valued component: value at the target year, the arithmetic behind it and the
    weakest confidence of the coefficients and index rows it rests on."""

    component: Component
    value: xr.DataArray
    unit_price: float
    index_factor: float
    target_year: int
    confidence: str = CONFIDENCE[0]


def value(component: Component, index: pd.DataFrame, series: str, target_year: int) -> Valued:
    """Value a component at ``target_year`` prices [CNY] by zone × ecosystem."""
    per_unit = unit_value(component)
    factor = index_factor(index, series, component.price_year, target_year)
    out = (component.quantity * (per_unit * factor)).assign_attrs(units="CNY", price_year=target_year)
    confidence = weakest([component.confidence or CONFIDENCE[0], index_confidence(index, series, component.price_year, target_year)])
    return Valued(component, out, per_unit, factor, target_year, confidence)


@dataclass(frozen=True)
class Valuation:
    """How one account turns quantities into money: the price index, the accounting year and the base year.

    Current prices are those of ``year``; comparable prices those of ``base_year``
    (None: no comparable values). Made once per account (:meth:`of`) and used for
    the account and for every parcel feature.
    """

    index: pd.DataFrame
    series: str
    year: int
    base_year: int | None = None

    @classmethod
    def of(cls, coef, year: int, base_year: int | None = None) -> "Valuation":
        """The valuation of a coefficient set (its price index and ``[valuation] price_index`` series) for ``year``."""
        return cls(coef.price_index, coef.profile.get("valuation", {}).get("price_index", "cpi"), year, base_year)

    def current(self, component: Component) -> Valued:
        """The component at the accounting year's prices [CNY]."""
        return value(component, self.index, self.series, self.year)

    def comparable(self, component: Component) -> Valued | None:
        """The component at the base year's prices [CNY] (None without a base year)."""
        return value(component, self.index, self.series, self.base_year) if self.base_year is not None else None
