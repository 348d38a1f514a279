"""Sand fixation (防风固沙): the Revised Wind Erosion Equation (RWEQ).

References
----------
Fryrear, D. W. et al. (1998) Revised Wind Erosion Equation (RWEQ). USDA-ARS
Technical Bulletin 1.
Gong Guoli et al. (2014) RWEQ vegetation factor in Chinese applications.
NDRC & NBS (2022) 生态产品总值核算规范（试行）, sand fixation and its value.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import unitful

ECOSYSTEMS = ("forest", "shrub", "grassland", "cropland")


@unitful(weather="kg/m", ef="dimensionless", scf="dimensionless", roughness="dimensionless", c="dimensionless", z="m", returns="kg/m**2/yr")
def soil_loss(weather, ef, scf, roughness, c, z):
    """RWEQ soil loss at distance z, SL = (2z/S²)·Q_max·exp(−(z/S)²).

    Q_max = 109.8·(WF·EF·SCF·K′·C) and S = 150.71·(WF·EF·SCF·K′·C)^−0.3711.

    Parameters
    ----------
    weather : DataArray
        Weather factor WF [kg/m] (per year).
    ef, scf, roughness, c : DataArray or float
        Erodible fraction, soil crust factor, roughness K′, vegetation factor [-].
    z : float
        Downwind distance [m].

    Returns
    -------
    DataArray
        Soil loss [kg/(m²·yr)]; 0 where the product of factors is 0.

    References
    ----------
    Fryrear et al. (1998).
    """
    x = weather * ef * scf * roughness * c
    pos = x > 0
    safe = xr.where(pos, x, 1.0) if isinstance(x, xr.DataArray) else np.where(pos, x, 1.0)
    q_max = 109.8 * safe
    s = 150.71 * safe ** -0.3711
    sl = 2.0 * z / s**2 * q_max * np.exp(-((z / s) ** 2))
    return xr.where(pos, sl, 0.0) if isinstance(x, xr.DataArray) else np.where(pos, sl, 0.0)


@unitful(cover_coefficient="1/percent", fcover="percent", returns="dimensionless")
def vegetation_factor(cover_coefficient, fcover):
    """RWEQ vegetation factor C = exp(a·SC) from vegetation cover SC [%] (Gong et al. 2014)."""
    return np.exp(cover_coefficient * fcover)


@unitful(rate="kg/m**2/yr", area="m**2", returns="t/yr")
def per_cell_mass(rate, area):
    """Sand fixed per cell, rate × A [t/yr]."""
    return rate * area * 1e-3


def _factor(ls: Landscape, coef: CoefficientSet, name: str) -> xr.DataArray:
    if ls.has_input(name):
        return ls.input(name, "dimensionless", "sand_fixation")
    return coef.quantity(f"sand_fixation.{name}")


def account_rweq(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Sand fixed on forest, shrub, grassland and cropland cells: potential − actual loss."""
    wf = ls.input("wind_factor", "kg/m", "sand_fixation")
    ef, scf, kr = (_factor(ls, coef, n) for n in ("erodible_fraction", "crust_factor", "roughness_factor"))
    z = coef.quantity("sand_fixation.z")
    c = vegetation_factor(ls.lut(coef, "sand_fixation.cover_coefficient", "1/percent", ECOSYSTEMS), ls.input("fcover", "percent", "sand_fixation"))
    one = xr.ones_like(c).assign_attrs(units="dimensionless")
    fixed = (soil_loss(wf, ef, scf, kr, one, z) - soil_loss(wf, ef, scf, kr, c, z)).clip(min=0.0).assign_attrs(units="kg/m**2/yr")
    cell = (per_cell_mass(fixed, ls.cell_area) * ls.mask(ECOSYSTEMS)).assign_attrs(units="t/yr")
    q = ls.zonal(cell, "t/yr")
    rho = coef.scalar("sand_fixation.bulk_density", "t/m**3")
    depth = coef.scalar("sand_fixation.soil_depth", "m")
    area = (q / (rho * depth)).assign_attrs(units="m**2/yr")
    price, year = coef.price("sand_fixation.restoration_cost")
    return ServiceResult(quantity=q, components=[Component("restored_area", area, price, year, "sand_fixation.restoration_cost")], cells={"sand_fixation": cell})
