"""Oxygen release (释氧): switchable; the national spec and SEEA exclude it,
Zhejiang (DB33/T 2274-2020) and Lishui include it.

The gross basis (method ``npp``, the zj-2020 default) counts the oxygen of
the whole net primary production, 1.19 t O2 per t dry matter, as the published
accounts do; the net basis (method ``nep``) 32/44 of the CO2 sequestered.

References
----------
NDRC & NBS (2022); DB33/T 2274-2020. Stoichiometry of photosynthesis:
32/44 t O2 per t CO2 fixed; 1.19 t O2 per t dry matter.
Miao Jianqun (缪建群) et al. (2017) 江西高天岩自然保护区生态系统服务功能价值评估.
生态学报 37(19): 6422–6430, Table 1 eq. (4) (O2 = 1.19 × NPP).
"""

from __future__ import annotations

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services import carbon
from gep.accounting.services.result import Component, ServiceResult
from gep.units import C_PER_DRY_MATTER, O2_PER_CO2, Q_, unitful

#: Oxygen released per unit dry matter produced [t O2 / t dry matter] (photosynthesis stoichiometry), for
#: coefficient sets older than the row ``oxygen.o2_per_dry_matter`` (cn-2022 1.2.0).
O2_PER_DRY_MATTER = 1.19


@unitful(co2="tCO2/yr", returns="t/yr")
def from_co2(co2):
    """O2 released, 32/44 × CO2 fixed [t/yr]."""
    return co2 * O2_PER_CO2.to("t/tCO2").magnitude


@unitful(npp="gC/(m**2*yr)", area="m**2", o2_per_dry_matter="dimensionless", returns="t/yr")
def from_npp(npp, area, o2_per_dry_matter):
    """O2 released on the gross basis, 1.19 × NPP (dry matter = NPP_C / (72/162)) × A [t/yr].

    Parameters
    ----------
    npp : DataArray
        Net primary productivity as carbon [gC/(m²·yr)].
    area : DataArray
        Cell area [m²].
    o2_per_dry_matter : float
        Oxygen per dry matter [t/t] (1.19).

    References
    ----------
    Miao Jianqun et al. (2017), Table 1 eq. (4); LY/T 1721-2008.
    """
    return o2_per_dry_matter * npp / C_PER_DRY_MATTER.to("gC/g").magnitude * area * 1e-6


def account_nep(ls: Landscape, coef: CoefficientSet, switches: dict, carbon_sequestration: ServiceResult) -> ServiceResult:
    """Method ``nep``: O2 released, 32/44 of the CO2 sequestered (the ``carbon_sequestration`` service's per-cell map)."""
    cell = from_co2(carbon_sequestration.cells["carbon_sequestration"].assign_attrs(units="tCO2/yr"))
    return _account(ls, coef, cell)


def account_npp(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``npp``: O2 released on the gross basis, 1.19 × NPP as dry matter."""
    npp = carbon.npp_as_carbon(ls.grid["npp"] if ls.has_input("npp") else ls.input("npp", "gC/(m**2*yr)", "oxygen_release"))
    ratio = coef.quantity("oxygen.o2_per_dry_matter") if coef.has("oxygen.o2_per_dry_matter") else Q_(O2_PER_DRY_MATTER, "dimensionless")
    return _account(ls, coef, from_npp(npp, ls.cell_area, ratio) * ls.mask(carbon.NEP_ECOSYSTEMS))


def _account(ls: Landscape, coef: CoefficientSet, cell) -> ServiceResult:
    cell = cell.assign_attrs(units="t/yr")
    q = ls.zonal(cell, "t/yr")
    price, year = coef.price("price.oxygen")
    return ServiceResult(quantity=q, components=[Component("O2", q, price, year, "price.oxygen")], cells={"oxygen_release": cell})
