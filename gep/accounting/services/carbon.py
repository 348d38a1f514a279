"""Carbon sequestration (固碳) and carbon stock.

Sequestration in t CO2 per year, by net ecosystem productivity (NEP) or by a
sequestration-rate look-up table; the stock in t C from four carbon pools per
class in the InVEST carbon model's table format. Carbon (tC) and CO2 (tCO2)
are different units that cannot be added: the conversion 44/12 is explicit.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, carbon sequestration:
Q_CO2 = M_CO2/M_C × NEP, NEP = α × NPP × M_C6/M_C6H10O5 (72/162).
Pei Zhiyong et al. (2010) heterotrophic respiration model
Rh = 0.22·(exp(0.0912·T) + ln(0.3145·P + 1))·30·46.5 % (monthly T [°C], P [mm]).
Sharp, R. et al. (2020) InVEST User's Guide, Carbon Storage and Sequestration.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.errors import CoefficientError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import C_PER_DRY_MATTER, CO2_PER_C, affine, unitful, units_of

NEP_ECOSYSTEMS = ("forest", "shrub", "grassland", "wetland")
POOLS = ("c_above", "c_below", "c_soil", "c_dead")


def npp_as_carbon(npp: xr.DataArray) -> xr.DataArray:
    """NPP in carbon units [gC/(m²·yr)]: dry-matter NPP (plain mass) is × 72/162.

    The unit tells the basis: ``gC/(m**2*yr)`` is carbon, ``g/(m**2*yr)`` dry matter.

    References
    ----------
    NDRC & NBS (2022): M_C6/M_C6H10O5 = 72/162.
    """
    unit = units_of(npp, "input 'npp'")
    try:
        scale, _ = affine(unit, "gC/(m**2*yr)", "input 'npp'")
    except Exception:
        scale, _ = affine(unit, "g/(m**2*yr)", "input 'npp' (carbon [gC/(m**2*yr)] or dry matter [g/(m**2*yr)])")
        scale *= C_PER_DRY_MATTER.to("gC/g").magnitude
    return (npp * scale).assign_attrs(units="gC/(m**2*yr)")


@unitful(npp="gC/(m**2*yr)", ratio="dimensionless", returns="gC/(m**2*yr)")
def nep_ratio(npp, ratio):
    """NEP = α·NPP (NPP already in carbon) [gC/(m²·yr)] (NDRC & NBS 2022)."""
    return ratio * npp


@unitful(temperature="degC", precipitation="mm/yr", a="dimensionless", b="dimensionless", c="1/mm", f="dimensionless", returns="gC/(m**2*yr)")
def heterotrophic_respiration(temperature, precipitation, a, b, c, f):
    """Soil heterotrophic respiration Rh from annual mean temperature and precipitation.

    The monthly model Rh_m = a·(exp(b·T) + ln(c·P_m + 1))·30·f is applied to
    twelve months of mean temperature T and precipitation P/12 (a climatology
    approximation when only annual grids are available) and summed.

    Parameters
    ----------
    temperature : DataArray
        Annual mean air temperature [°C].
    precipitation : DataArray
        Annual precipitation [mm/yr].
    a, b, c, f : float
        Model constants (0.22, 0.0912 per °C, 0.3145 per mm, 0.465).

    Returns
    -------
    DataArray
        Rh [gC/(m²·yr)].

    References
    ----------
    Pei Zhiyong et al. (2010).
    """
    return 12.0 * a * (np.exp(b * temperature) + np.log(c * precipitation / 12.0 + 1.0)) * 30.0 * f


@unitful(nep="gC/(m**2*yr)", area="m**2", returns="tCO2/yr")
def co2_from_nep(nep, area):
    """CO2 fixed, 44/12 × NEP × A [tCO2/yr] (NDRC & NBS 2022)."""
    return nep * area * 1e-6 * CO2_PER_C.to("tCO2/tC").magnitude


@unitful(rate="tC/(ha*yr)", area="m**2", returns="tCO2/yr")
def co2_from_rate(rate, area):
    """CO2 fixed by a sequestration rate, 44/12 × rate × A [tCO2/yr] (NDRC & NBS 2022)."""
    return rate * area * 1e-4 * CO2_PER_C.to("tCO2/tC").magnitude


@unitful(density="tC/ha", area="m**2", returns="tC")
def stock(density, area):
    """Carbon stock per cell, Σ pools × A [tC] (InVEST carbon model, Sharp et al. 2020)."""
    return density * area * 1e-4


def pool_table(ls: Landscape, pools, pool: str | None = None) -> xr.DataArray:
    """Carbon density per class from a pool table (lucode, c_above, c_below, c_soil, c_dead) [tC/ha], dims ``(class,)``:
    the sum of the four pools, or one ``pool``."""
    total = pools[list(POOLS) if pool is None else [pool]].astype(float).sum(axis=1).to_numpy()
    codes = pools["lucode"].astype(int).to_numpy()
    table = np.full(len(ls.legend.codes), np.nan)
    pos = np.searchsorted(ls.legend.codes, codes)
    ok = (pos < len(ls.legend.codes)) & (ls.legend.codes[np.minimum(pos, len(ls.legend.codes) - 1)] == codes)
    table[pos[ok]] = total[ok]
    missing = [ls.legend.label(c) for c in ls.codes_present if np.isnan(table[np.searchsorted(ls.legend.codes, c)])]
    if missing:
        raise CoefficientError(f"carbon pool table has no row for land-cover class(es) {', '.join(missing)}", hint="add rows 'lucode,c_above,c_below,c_soil,c_dead' [t C/ha] for them")
    return xr.DataArray(np.nan_to_num(table), dims=("class",), coords={"class": ls.legend.codes}, name="carbon_density", attrs={"units": "tC/ha"})


def pool_density(ls: Landscape, pools) -> xr.DataArray:
    """Per-cell total carbon density from a pool table [tC/ha] (see :func:`pool_table`)."""
    return ls.per_cell(pool_table(ls, pools).values, "carbon_density", "tC/ha")


def stock_by_zone(ls: Landscape, pools, pool: str | None = None) -> xr.DataArray:
    """Carbon stock by zone × ecosystem [tC] (all pools, or one ``pool``): densities × the zone × class areas (no pass over the cells)."""
    return ls.class_to_ecosystem(stock(pool_table(ls, pools, pool), ls.class_area()), "tC")


def _npp(ls: Landscape) -> xr.DataArray:
    """NPP as carbon [gC/(m²·yr)] (:func:`npp_as_carbon`)."""
    return npp_as_carbon(ls.grid["npp"] if ls.has_input("npp") else ls.input("npp", "gC/(m**2*yr)", "carbon_sequestration"))


def sequestration_rate_lut(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """Per-cell CO2 sequestered [tCO2/yr] from a sequestration rate per class."""
    return co2_from_rate(ls.lut(coef, "carbon_sequestration.rate", "tC/(ha*yr)"), ls.cell_area)


def sequestration_nep_ratio(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """Per-cell CO2 sequestered [tCO2/yr] with NEP = α·NPP."""
    nep = nep_ratio(_npp(ls), coef.quantity("carbon_sequestration.nep_ratio"))
    return co2_from_nep(nep, ls.cell_area) * ls.mask(NEP_ECOSYSTEMS)


def sequestration_nep_rh(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """Per-cell CO2 sequestered [tCO2/yr] with NEP = NPP − Rh (Pei Zhiyong et al. 2010)."""
    npp = _npp(ls)
    rh = heterotrophic_respiration(
        ls.grid["temperature"] if ls.has_input("temperature") else ls.input("temperature", "degC", "carbon_sequestration"),
        ls.input("precipitation", "mm/yr", "carbon_sequestration"),
        *(coef.quantity(f"carbon_sequestration.rh_{k}") for k in "abcf"),
    )
    nep = (npp - rh).assign_attrs(units="gC/(m**2*yr)")
    return co2_from_nep(nep, ls.cell_area) * ls.mask(NEP_ECOSYSTEMS)


def account_nep_rh(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``nep_rh``: CO2 sequestered as 44/12 × (NPP − Rh), and the carbon stock."""
    return _account(ls, coef, sequestration_nep_rh(ls, coef))


def account_nep_ratio(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``nep_ratio``: CO2 sequestered as 44/12 × α·NPP, and the carbon stock."""
    return _account(ls, coef, sequestration_nep_ratio(ls, coef))


def account_rate_lut(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``rate_lut``: CO2 sequestered as 44/12 × a rate per class, and the carbon stock."""
    return _account(ls, coef, sequestration_rate_lut(ls, coef))


def _account(ls: Landscape, coef: CoefficientSet, sequestered: xr.DataArray) -> ServiceResult:
    """CO2 sequestered per zone × ecosystem, and the carbon stock (not part of GEP)."""
    cell = sequestered.assign_attrs(units="tCO2/yr")
    q = ls.zonal(cell, "tCO2/yr")
    basis = coef.profile.get("valuation", {}).get("carbon_price_basis", "tCO2")
    if basis == "tC":
        price, year = coef.price("price.carbon_tax_basis")
        valued = (q / CO2_PER_C.to("tCO2/tC").magnitude).assign_attrs(units="tC/yr")
        component = Component("carbon", valued, price, year, "price.carbon_tax_basis (per t C)")
    else:
        price, year = coef.price("price.carbon")
        component = Component("CO2", q, price, year, "price.carbon (per t CO2)")
    stock_cell = stock(pool_density(ls, coef.carbon_pools), ls.cell_area)
    return ServiceResult(
        quantity=q,
        components=[component],
        cells={"carbon_sequestration": cell, "carbon_stock": stock_cell},
        extras={"carbon_stock": stock_by_zone(ls, coef.carbon_pools), **{f"carbon_stock_{pool}": stock_by_zone(ls, coef.carbon_pools, pool) for pool in POOLS}},
    )
