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
from gep.accounting.services.result import Component, ServiceResult
from gep.units import Q_, unitful

GREEN_BLUE = ("water", "forest", "wetland", "grassland", "shrub")


@unitful(floor_area="m**2", premium="CNY/m**2", rate="1/yr", returns="CNY/yr")
def annual_premium(floor_area, premium, rate):
    """Yearly landscape value, floor area × capitalised premium × annualisation rate [CNY/yr] (Rosen 1974)."""
    return floor_area * premium * rate


def account_hedonic(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Floor area in the influence zone and its annualised premium, shared among green and blue ecosystems by area."""
    table = ls.table("housing", "landscape")
    area = _column(table, "floor_area", "m**2", "m**2")
    premium = _column(table, "premium", "CNY/m**2", "CNY/m**2")
    rate = coef.scalar("landscape.annualisation_rate", "dimensionless") if switches.get("landscape_annualise", True) else 1.0
    money = np.asarray(annual_premium(Q_(area, "m**2"), Q_(premium, "CNY/m**2"), Q_(rate, "1/yr")).magnitude)
    q = ls.allocate_by_area(ls.zone_sums(table, area, "housing table"), GREEN_BLUE, "m**2")
    value = ls.allocate_by_area(ls.zone_sums(table, money, "housing table"), GREEN_BLUE, "CNY/yr")
    return ServiceResult(quantity=q, components=[Component("premium", value, Q_(1.0, "dimensionless"), ls.year, "housing table premium × landscape.annualisation_rate")])
