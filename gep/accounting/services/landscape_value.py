"""Landscape value (景观价值): hedonic premium of homes near green and blue space.

A capitalised premium (CNY per m² of floor area) is a stock; with the
``landscape_annualise`` switch (default) it is turned into a yearly flow by an
annualisation rate, so a stock is not booked as a yearly flow.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, landscape value.
Rosen, S. (1974) Hedonic prices and implicit markets. J. Polit. Econ. 82(1).
"""

from __future__ import annotations

import numpy as np

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.recreation import _column
from gep.accounting.services.result import ServiceResult, money_components, row_price_years
from gep.accounting.switches import value as switch
from gep.units import Q_, unitful

GREEN_BLUE = ("water", "forest", "wetland", "grassland", "shrub")


@unitful(floor_area="m**2", premium="CNY/m**2", rate="1/yr", returns="CNY/yr")
def annual_premium(floor_area, premium, rate):
    """Yearly landscape value, floor area × capitalised premium × annualisation rate [CNY/yr] (Rosen 1974)."""
    return floor_area * premium * rate


def account_hedonic(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Floor area in the influence zone and its annualised premium (CNY of the table's price year),
    shared among green and blue ecosystems by area."""
    table = ls.table("housing", "landscape")
    area = _column(table, "floor_area", "m**2", "m**2")
    premium = _column(table, "premium", "CNY/m**2", "CNY/m**2")
    with coef.recording() as reads:
        rate = coef.scalar("landscape.annualisation_rate", "dimensionless") if switch(switches, "landscape_annualise") else 1.0
    money = np.asarray(annual_premium(Q_(area, "m**2"), Q_(premium, "CNY/m**2"), Q_(rate, "1/yr")).magnitude)
    q = ls.allocate_by_area(ls.zone_sums(table, area, "housing table"), GREEN_BLUE, "m**2")
    place = lambda m: ls.allocate_by_area(ls.zone_sums(table, m, "housing table"), GREEN_BLUE, "CNY/yr")  # noqa: E731
    where = f"housing table ({table.attrs.get('path', 'housing.csv')})"
    components = money_components("premium", money, row_price_years(table, ls.year), place, f"{where}: floor_area × premium × landscape.annualisation_rate", reads.rows)
    return ServiceResult(quantity=q, components=components)
