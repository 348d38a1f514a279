"""Climate regulation (气候调节): cooling by plant transpiration and cooling
plus humidification by water-surface evaporation on hot days (> 26 °C),
counted as the electricity air conditioners and humidifiers would use.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, climate regulation.
"""

from __future__ import annotations

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import unitful

PLANTS = ("forest", "shrub", "grassland")
WATER_SURFACE = ("water", "wetland")


@unitful(evaporation="mm/yr", area="m**2", density="kg/m**3", latent_heat="J/g", eer="dimensionless", returns="kWh/yr")
def cooling_energy(evaporation, area, density, latent_heat, eer):
    """Electricity an air conditioner would use to remove the heat taken by evaporation.

    E = V·ρ·λ / 3.6×10⁶ / EER with V = evaporation × A.

    Parameters
    ----------
    evaporation : DataArray
        Transpiration or evaporation on hot days [mm/yr].
    area : DataArray
        Cell area [m²].
    density : float
        Density of water [kg/m³].
    latent_heat : float
        Latent heat of vaporisation [J/g].
    eer : float
        Energy efficiency ratio of air conditioners [-].

    Returns
    -------
    DataArray
        Electricity [kWh/yr].

    References
    ----------
    NDRC & NBS (2022).
    """
    return evaporation * 1e-3 * area * density * 1e3 * latent_heat / 3.6e6 / eer


@unitful(evaporation="mm/yr", area="m**2", humidifier_energy="kWh/m**3", returns="kWh/yr")
def humidification_energy(evaporation, area, humidifier_energy):
    """Electricity a humidifier would use to evaporate the same water, V × y [kWh/yr] (NDRC & NBS 2022)."""
    return evaporation * 1e-3 * area * humidifier_energy


def account_evaporative_cooling(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Cooling by forest, shrub and grassland; cooling + humidification by water and wetland surfaces."""
    et_hot = ls.input("et_hot", "mm/yr", "climate_regulation")
    args = [coef.quantity(k) for k in ("climate_regulation.water_density", "climate_regulation.latent_heat", "climate_regulation.eer")]
    cool = cooling_energy(et_hot, ls.cell_area, *args)
    humid = humidification_energy(et_hot, ls.cell_area, coef.quantity("climate_regulation.humidifier_energy"))
    cell = (cool * ls.mask(PLANTS + WATER_SURFACE) + humid * ls.mask(WATER_SURFACE)).assign_attrs(units="kWh/yr")
    q = ls.zonal(cell, "kWh/yr")
    price, year = coef.price("price.electricity")
    return ServiceResult(quantity=q, components=[Component("electricity", q, price, year, "price.electricity")], cells={"climate_regulation": cell})
