"""Water purification (水质净化) and air purification (空气净化).

Both use the capped form of the final-service rule: the pollutant removed is
the purification capacity of the ecosystems (per-area rate × area), capped by
the load actually emitted in the zone, Q_j = min(load_j, Σ q_j,class·A_class).
The zone's capped amount is shared among ecosystems in proportion to their
capacity.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, water and air purification.
Environmental Protection Tax Law of the PRC (2018), pollution equivalents.
LY/T 1721-2008 (forest SO2, NOx, dust capacities and treatment costs).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.accounting.switches import value as switch
from gep.units import convert, unitful

WATER_POLLUTANTS = ("COD", "NH3-N", "TP")
AIR_POLLUTANTS = ("SO2", "NOx", "dust")
WATER_ECOSYSTEMS = ("wetland", "water")
AIR_ECOSYSTEMS = ("forest", "shrub", "grassland")
TREATMENT_PRICE = {"SO2": "price.so2_treatment", "NOx": "price.nox_treatment", "dust": "price.dust_treatment"}


@unitful(rate="kg/(ha*yr)", area="m**2", returns="t/yr")
def capacity(rate, area):
    """Pollutant a cell can remove, rate × area [t/yr] (NDRC & NBS 2022)."""
    return rate * area * 1e-7


def cap_by_load(capacity_ze: xr.DataArray, load_zone: xr.DataArray) -> xr.DataArray:
    """Cap zone × ecosystem capacity by the zone's load, sharing in proportion to capacity.

    Parameters
    ----------
    capacity_ze : DataArray
        Capacity by ``(zone, ecosystem)`` [t/yr].
    load_zone : DataArray
        Load emitted by ``zone`` [t/yr], same unit.

    Returns
    -------
    DataArray
        Removed amount by ``(zone, ecosystem)`` [t/yr]: min(load, Σ capacity) per zone.

    References
    ----------
    NDRC & NBS (2022): purification is capped by the actual emission (final-service rule).
    """
    total = capacity_ze.sum("ecosystem")
    scale = xr.where(total > load_zone, load_zone / total.where(total > 0), 1.0)
    return (capacity_ze * scale.fillna(0.0)).assign_attrs(capacity_ze.attrs)


def zone_loads(ls: Landscape, pollutants: tuple[str, ...], service: str) -> dict[str, xr.DataArray]:
    """Loads per zone and pollutant from the ``emissions`` table [t/yr]."""
    table = ls.table("emissions", service)
    out = {}
    for pol in pollutants:
        rows = table[table["pollutant"].astype(str) == pol]
        values = np.array([convert(v, u, "t", f"emissions load of {pol}") for v, u in zip(rows["load"], rows["unit"].astype(str).str.replace("/yr", "").str.replace("/a", ""))], dtype=float)
        ze = ls.by_zone_eco(rows["zone_id"], ["water"] * len(rows), values, f"emissions table ({pol})", "t/yr")
        out[pol] = ze.sum("ecosystem").assign_attrs(units="t/yr")
    return out


def _purify(ls: Landscape, coef: CoefficientSet, switches: dict, service: str, pollutants: tuple[str, ...], ecosystems: tuple[str, ...], prices: dict[str, tuple]) -> ServiceResult:
    loads = zone_loads(ls, pollutants, service) if switch(switches, "purification_capped_by_load") else None
    components, cells, total = [], {}, None
    for pol in pollutants:
        rate = ls.lut_table(coef, f"{service}.capacity_{pol}", "kg/(ha*yr)", ecosystems)
        cell = capacity(ls.per_cell(rate.values, unit="kg/(ha*yr)"), ls.cell_area)
        q = ls.class_to_ecosystem(capacity(rate, ls.class_area()), "t/yr")
        if loads is not None:
            q = cap_by_load(q, loads[pol])
        price, year, source = prices[pol]
        components.append(Component(pol, q, price, year, source))
        cells[f"{service}_capacity_{pol}"] = cell
        total = q if total is None else total + q
    return ServiceResult(quantity=total.assign_attrs(units="t/yr"), components=components, cells=cells)


def _tax_prices(coef: CoefficientSet, pollutants: tuple[str, ...], tax_key: str) -> dict[str, tuple]:
    tax, year = coef.price(tax_key)
    out = {}
    for pol in pollutants:
        eq = coef.quantity("pollution.equivalent_value", pol)
        out[pol] = (tax / eq, year, f"{tax_key} / pollution.equivalent_value[{pol}]")
    return out


def account_water_pollution_tax(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Water purification, method ``pollution_tax``: COD, NH3-N and TP removed by wetland and water,
    capped by the zone's loads, valued at the pollution tax per pollution equivalent."""
    prices = _tax_prices(coef, WATER_POLLUTANTS, "price.pollution_tax")
    return _purify(ls, coef, switches, "water_purification", WATER_POLLUTANTS, WATER_ECOSYSTEMS, prices)


def account_air_treatment_cost(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Air purification, method ``treatment_cost``: SO2, NOx and dust removed by vegetation, capped by
    the zone's emissions, valued at the cost of treating them."""
    prices = {p: (*coef.price(k), k) for p, k in TREATMENT_PRICE.items()}
    return _purify(ls, coef, switches, "air_purification", AIR_POLLUTANTS, AIR_ECOSYSTEMS, prices)


def account_air_pollution_tax(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Air purification, method ``pollution_tax``: as :func:`account_air_treatment_cost`, valued at the
    air pollution tax per pollution equivalent."""
    prices = _tax_prices(coef, AIR_POLLUTANTS, "price.air_pollution_tax")
    return _purify(ls, coef, switches, "air_purification", AIR_POLLUTANTS, AIR_ECOSYSTEMS, prices)
