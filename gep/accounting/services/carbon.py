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
The model is monthly: applied to annual means it understates Rh (exp is
convex); with annual grids only, the temperature term of a sinusoidal year
of amplitude A is summed exactly, Σ_m exp(b·T_m) ≈ 12·exp(b·T̄)·I₀(b·A)
(Abramowitz & Stegun 1964, 9.6.16: I₀(z) = (1/π)∫₀^π exp(z·cos θ) dθ).
Sharp, R. et al. (2020) InVEST User's Guide, Carbon Storage and Sequestration.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.errors import CoefficientError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.accounting.switches import value as switch
from gep.units import C_PER_DRY_MATTER, CO2_PER_C, Q_, affine, unitful, units_of

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


@unitful(temperature="degC", precipitation="mm", a="dimensionless", b="dimensionless", c="1/mm", f="dimensionless", returns="gC/m**2")
def monthly_respiration(temperature, precipitation, a, b, c, f):
    """Soil heterotrophic respiration of one month, Rh_m = a·(exp(b·T) + ln(c·P + 1))·30·f.

    Parameters
    ----------
    temperature : DataArray
        Mean air temperature of the month [°C].
    precipitation : DataArray
        Precipitation of the month [mm].
    a, b, c, f : float
        Model constants (0.22, 0.0912 per °C, 0.3145 per mm, 0.465).

    Returns
    -------
    DataArray
        Rh of the month [gC/m²].

    References
    ----------
    Pei Zhiyong et al. (2010).
    """
    return a * (np.exp(b * temperature) + np.log(c * precipitation + 1.0)) * 30.0 * f


@unitful(temperature="degC", precipitation="mm/yr", amplitude="delta_degC", a="dimensionless", b="dimensionless", c="1/mm", f="dimensionless", returns="gC/(m**2*yr)")
def annual_respiration(temperature, precipitation, amplitude, a, b, c, f):
    """Yearly Rh of the monthly model from annual grids: a sinusoidal year of mean T and amplitude A, P/12 a month.

    Rh = 12·a·(exp(b·T̄)·I₀(b·A) + ln(c·P/12 + 1))·30·f, where 12·exp(b·T̄)·I₀(b·A)
    is the sum of exp(b·T_m) over a year with T_m = T̄ + A·cos(θ_m). The
    precipitation term cannot be corrected without monthly precipitation (its
    error is small: the logarithm is nearly flat).

    Parameters
    ----------
    temperature : DataArray
        Annual mean air temperature T̄ [°C].
    precipitation : DataArray
        Annual precipitation [mm/yr].
    amplitude : DataArray or float
        Half the difference of the warmest and coldest monthly means A [K].
    a, b, c, f : float
        Model constants as in :func:`monthly_respiration`.

    Returns
    -------
    DataArray
        Rh [gC/(m²·yr)].

    References
    ----------
    Pei Zhiyong et al. (2010); Abramowitz, M. & Stegun, I. A. (1964) Handbook of
    Mathematical Functions, 9.6.16 (I₀ as the mean of exp(z·cos θ)).
    """
    from scipy.special import i0

    return 12.0 * a * (np.exp(b * temperature) * i0(b * amplitude) + np.log(c * precipitation / 12.0 + 1.0)) * 30.0 * f


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


def _rh_constants(coef: CoefficientSet) -> list:
    return [coef.quantity(f"carbon_sequestration.rh_{k}") for k in "abcf"]


def sequestration_nep_rh(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """Per-cell CO2 sequestered [tCO2/yr] with NEP = NPP − Σ_months Rh_m (Pei Zhiyong et al. 2010)."""
    constants = _rh_constants(coef)
    temperature = ls.monthly("temperature_monthly", "degC", "carbon_sequestration")
    precipitation = ls.monthly("precipitation_monthly", "mm", "carbon_sequestration")
    months = [monthly_respiration(t, p, *constants) for t, p in zip(temperature, precipitation)]
    rh = sum(months[1:], months[0])
    nep = (_npp(ls) - rh).assign_attrs(units="gC/(m**2*yr)")
    return co2_from_nep(nep, ls.cell_area) * ls.mask(NEP_ECOSYSTEMS)


def sequestration_nep_rh_annual(ls: Landscape, coef: CoefficientSet, amplitude=None) -> xr.DataArray:
    """Per-cell CO2 sequestered [tCO2/yr] with NEP = NPP − Rh from annual grids (:func:`annual_respiration`).

    ``amplitude`` [K] replaces the ``temperature_amplitude`` input: 0 gives the monthly model on the
    annual mean temperature and P/12, the form of gep before cn-2022 1.2.0 (switch
    ``respiration_monthly`` off), which understates Rh (docs/methods.md decision 5).
    """
    rh = annual_respiration(
        ls.grid["temperature"] if ls.has_input("temperature") else ls.input("temperature", "degC", "carbon_sequestration"),
        ls.input("precipitation", "mm/yr", "carbon_sequestration"),
        ls.input("temperature_amplitude", "delta_degC", "carbon_sequestration") if amplitude is None else amplitude,
        *_rh_constants(coef),
    )
    nep = (_npp(ls) - rh).assign_attrs(units="gC/(m**2*yr)")
    return co2_from_nep(nep, ls.cell_area) * ls.mask(NEP_ECOSYSTEMS)


def account_nep_rh(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``nep_rh``: CO2 sequestered as 44/12 × (NPP − Σ monthly Rh), and the carbon stock.

    With the switch ``respiration_monthly`` off (sets before cn-2022 1.2.0), the monthly model on
    annual means (:func:`sequestration_nep_rh_annual` with no amplitude), so their runs replay.
    """
    if switch(switches, "respiration_monthly"):
        return _account(ls, coef, sequestration_nep_rh(ls, coef))
    return _account(ls, coef, sequestration_nep_rh_annual(ls, coef, amplitude=Q_(0.0, "delta_degC")))


def account_nep_rh_annual(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``nep_rh_annual``: as ``nep_rh`` from annual grids and the annual temperature amplitude."""
    return _account(ls, coef, sequestration_nep_rh_annual(ls, coef))


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
