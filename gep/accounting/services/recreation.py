"""Recreation (休闲旅游): travel cost of nature-based tourism, or its revenue.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, recreation: Σ visitors ×
(travel time × wage + direct cost), or tourism revenue from statistics.
Clawson & Knetsch (1966) Economics of Outdoor Recreation (travel-cost method).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.accounting.coefficients import CoefficientSet
from gep.errors import InputError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import Q_, convert, unitful

NATURAL = ("forest", "water", "wetland", "grassland", "shrub")


@unitful(visitors="visit/yr", travel_time="h/visit", wage="CNY/h", direct_cost="CNY/visit", time_value_share="dimensionless", returns="CNY/yr")
def travel_cost(visitors, travel_time, wage, direct_cost, time_value_share):
    """Travel cost, visitors × (time × wage × share + direct cost) [CNY/yr].

    References
    ----------
    NDRC & NBS (2022); Clawson & Knetsch (1966).
    """
    return visitors * (travel_time * wage * time_value_share + direct_cost)


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
    """Method ``travel_cost``: visits and their travel cost, visitors × (time × wage × share + direct cost)."""
    table = ls.table("visitors", "recreation")
    visits = _column(table, "visitors", "visit", "visit")
    money = np.asarray(
        travel_cost(
            Q_(visits, "visit/yr"),
            Q_(_column(table, "travel_time", "h", "h"), "h/visit"),
            Q_(_column(table, "wage", "CNY/h", "CNY/h"), "CNY/h"),
            Q_(_column(table, "direct_cost", "CNY/visit", "CNY/visit"), "CNY/visit"),
            coef.quantity("recreation.time_value_share"),
        ).magnitude
    )
    return _account(ls, table, visits, money, "travel_cost")


def account_revenue(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``revenue``: visits and the nature-based tourism revenue they bring."""
    table = ls.table("visitors", "recreation")
    visits = _column(table, "visitors", "visit", "visit")
    return _account(ls, table, visits, _column(table, "revenue", "CNY", "CNY"), "revenue")


def _account(ls: Landscape, table: pd.DataFrame, visits: np.ndarray, money: np.ndarray, method: str) -> ServiceResult:
    """Visits and their value by zone × ecosystem.

    Sites without an ``ecosystem`` column are shared among the zone's natural
    ecosystems in proportion to their area.
    """
    q = _where(table, ls, visits, "visit/yr")
    value = _where(table, ls, money, "CNY/yr")
    return ServiceResult(quantity=q, components=[Component(method, value, Q_(1.0, "dimensionless"), ls.year, "visitors table (CNY of the accounting year)")])
