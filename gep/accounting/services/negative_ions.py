"""Negative oxygen ions (负氧离子), a Zhejiang optional service.

References
----------
LY/T 1721-2008: G = 5.256×10¹⁵ × (Q − 600) × A × H / L (A in hm², H in m,
L in min); 5.8185 CNY per 10¹⁸ ions. DB33/T 2274-2020.
"""

from __future__ import annotations

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import unitful

ECOSYSTEMS = ("forest", "shrub", "grassland", "wetland", "water")
MINUTES_PER_YEAR = 365 * 24 * 60


@unitful(concentration="ion/cm**3", threshold="ion/cm**3", area="m**2", height="m", lifetime="min", returns="ion/yr")
def ions(concentration, threshold, area, height, lifetime):
    """Ions supplied above the threshold, (Q − Q₀)·A·H·(minutes per year / L).

    Parameters
    ----------
    concentration : DataArray
        Negative-ion concentration Q [ion/cm³].
    threshold : float
        Concentration below which there is no benefit Q₀ [ion/cm³].
    area : DataArray
        Cell area [m²].
    height : DataArray
        Height of the air layer H [m].
    lifetime : float
        Ion lifetime L [min].

    Returns
    -------
    DataArray
        Ions per year [ion/yr]; equals 5.256×10¹⁵·(Q−Q₀)·A[ha]·H/L.

    References
    ----------
    LY/T 1721-2008.
    """
    return (concentration - threshold).clip(min=0.0) * 1e6 * area * height * MINUTES_PER_YEAR / lifetime


def account_ly_t_1721(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Ions above 600 per cm³ over forest, shrub, grassland, wetland and water."""
    conc = ls.input("negative_ions", "ion/cm**3", "negative_ions") if ls.has_input("negative_ions") else ls.lut(coef, "negative_ions.concentration", "ion/cm**3", ECOSYSTEMS)
    cell = ions(conc, coef.quantity("negative_ions.threshold"), ls.cell_area, ls.lut(coef, "negative_ions.height", "m", ECOSYSTEMS), coef.quantity("negative_ions.lifetime"))
    cell = (cell * ls.mask(ECOSYSTEMS)).assign_attrs(units="ion/yr")
    q = ls.zonal(cell, "ion/yr")
    price, year = coef.price("price.negative_ions")
    return ServiceResult(quantity=q, components=[Component("ions", q, price, year, "price.negative_ions")], cells={"negative_ions": cell})
