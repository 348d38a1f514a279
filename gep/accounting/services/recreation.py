"""Recreation (休闲旅游): travel cost of nature-based tourism, or its revenue.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, recreation: Σ visitors ×
(travel time × wage + direct cost), or tourism revenue from statistics.
CNY amounts of the visitors table (wages, direct costs, revenue) are in the
table's price year and indexed like coefficient prices.
Clawson & Knetsch (1966) Economics of Outdoor Recreation (travel-cost method).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.accounting.coefficients import CoefficientSet
from gep.errors import InputError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import ServiceResult, money_components, row_price_years
from gep.units import Q_, convert, unitful

NATURAL = ("forest", "water", "wetland", "grassland", "shrub")


@unitful(visitors="visit/yr", travel_time="h/visit", wage="CNY/h", time_value_share="dimensionless", returns="CNY/yr")
def time_cost(visitors, travel_time, wage, time_value_share):
    """The travel-time part of the travel cost, visitors × time × wage × share [CNY/yr].

    The travel cost is ``time_cost + direct_cost``.

    References
    ----------
    NDRC & NBS (2022); Clawson & Knetsch (1966).
    """
    return visitors * travel_time * wage * time_value_share


@unitful(visitors="visit/yr", cost="CNY/visit", returns="CNY/yr")
def direct_cost(visitors, cost):
    """The direct part of the travel cost (fares, fees, lodging), visitors × cost per visit [CNY/yr] (Clawson & Knetsch 1966)."""
    return visitors * cost


def _column(table: pd.DataFrame, name: str, unit: str, default_unit: str) -> np.ndarray:
    if name not in table:
        raise InputError(f"{table.attrs.get('path', 'visitors table')} lacks column '{name}'", hint=f"add '{name} [{default_unit}]'")
    values = pd.to_numeric(table[name], errors="coerce").to_numpy()
    if not np.isfinite(values).all() or (values < 0).any():
        row = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0]) + 2
        raise InputError(f"{table.attrs.get('path', 'visitors table')}, line {row}: '{name}' must be a non-negative number", hint="fill in the value")
    return convert(values, table.attrs.get("units", {}).get(name, default_unit), unit, f"column '{name}'")


def _where(table: pd.DataFrame, ls: Landscape, values: np.ndarray, unit: str) -> "object":
    if "ecosystem" in table:
        return ls.by_zone_eco(table["zone_id"], table["ecosystem"].astype(str), values, "visitors table", unit)
    return ls.allocate_by_area(ls.zone_sums(table, values, "visitors table"), NATURAL, unit)


def account_travel_cost(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``travel_cost``: visits and their travel cost, visitors × (time × wage × share + direct cost).

    Two components: the value of the travel time (which rests on
    ``recreation.time_value_share``) and the direct cost, each in the CNY of the
    table's price year (a ``price_year`` column, else the table's).
    """
    table = ls.table("visitors", "recreation")
    visits = _column(table, "visitors", "visit", "visit")
    wage = _column(table, "wage", "CNY/h", "CNY/h")
    with coef.recording() as reads:
        share = coef.quantity("recreation.time_value_share")
    time_money = time_cost(Q_(visits, "visit/yr"), Q_(_column(table, "travel_time", "h", "h"), "h/visit"), Q_(wage, "CNY/h"), share).magnitude
    direct_money = direct_cost(Q_(visits, "visit/yr"), Q_(_column(table, "direct_cost", "CNY/visit", "CNY/visit"), "CNY/visit")).magnitude
    years = row_price_years(table, ls.year)
    place = lambda money: _where(table, ls, money, "CNY/yr")  # noqa: E731
    where = f"visitors table ({table.attrs.get('path', 'visitors.csv')})"
    components = money_components("travel_time", np.asarray(time_money), years, place, f"{where}: visitors × travel_time × wage × recreation.time_value_share", reads.rows)
    components += money_components("direct_cost", np.asarray(direct_money), years, place, f"{where}: visitors × direct_cost", frozenset())
    return ServiceResult(quantity=_where(table, ls, visits, "visit/yr"), components=components)


def account_revenue(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``revenue``: visits and the nature-based tourism revenue they bring (CNY of the table's price year)."""
    table = ls.table("visitors", "recreation")
    visits = _column(table, "visitors", "visit", "visit")
    money = _column(table, "revenue", "CNY", "CNY")
    place = lambda m: _where(table, ls, m, "CNY/yr")  # noqa: E731
    components = money_components("revenue", money, row_price_years(table, ls.year), place, f"visitors table ({table.attrs.get('path', 'visitors.csv')}): revenue")
    return ServiceResult(quantity=_where(table, ls, visits, "visit/yr"), components=components)
