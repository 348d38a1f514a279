"""Climate regulation (气候调节): cooling by plant transpiration and cooling
plus humidification by water-surface evaporation on hot days (> 26 °C),
counted as the electricity air conditioners and humidifiers would use.

The published RCEES form divides the heat taken by plant transpiration by the
air conditioners' energy efficiency ratio (EER), but counts the heat taken by
water-surface evaporation itself as electricity, E_w = E·ρ·q/3600 + E·γ; the
switch ``climate_water_surface_eer`` (off in cn-2022) divides it by the EER too.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, climate regulation.
Bai Ma Zhuo Ga (白玛卓嘎), Xiao Yi, Ouyang Zhiyun, Wang Liyan (2017) 甘孜藏族自治州
生态系统生产总值核算研究. 生态学报 37(19): 6302–6312, §2.4.8 (E_v ÷ R, E_w not divided).
"""

from __future__ import annotations

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.accounting.switches import value as switch
from gep.units import Q_, unitful

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
    """Cooling by forest, shrub and grassland (÷ EER); cooling and humidification by water and wetland surfaces.

    Three components, each with the coefficients it uses: ``plant_cooling``,
    ``water_cooling`` (÷ EER only under ``climate_water_surface_eer``) and
    ``humidification``, all at the electricity price.
    """
    et_hot = ls.input("et_hot", "mm/yr", "climate_regulation")
    heat = ("climate_regulation.water_density", "climate_regulation.latent_heat")
    parts = {}
    with coef.recording() as plant:
        parts["plant_cooling"] = cooling_energy(et_hot, ls.cell_area, *[coef.quantity(k) for k in heat], coef.quantity("climate_regulation.eer")) * ls.mask(PLANTS)
    with coef.recording() as water:
        eer = coef.quantity("climate_regulation.eer") if switch(switches, "climate_water_surface_eer") else Q_(1.0, "dimensionless")
        parts["water_cooling"] = cooling_energy(et_hot, ls.cell_area, *[coef.quantity(k) for k in heat], eer) * ls.mask(WATER_SURFACE)
    with coef.recording() as humid:
        parts["humidification"] = humidification_energy(et_hot, ls.cell_area, coef.quantity("climate_regulation.humidifier_energy")) * ls.mask(WATER_SURFACE)
    cell = (parts["plant_cooling"] + parts["water_cooling"] + parts["humidification"]).assign_attrs(units="kWh/yr")
    with coef.recording() as tariff:
        price, year = coef.price("price.electricity")
    components = [
        Component(name, ls.zonal(part.assign_attrs(units="kWh/yr"), "kWh/yr"), price, year, "price.electricity", uses=reads.rows | tariff.rows)
        for (name, part), reads in zip(parts.items(), (plant, water, humid))
    ]
    q = (components[0].quantity + components[1].quantity + components[2].quantity).assign_attrs(units="kWh/yr")
    return ServiceResult(quantity=q, components=components, cells={"climate_regulation": cell})
