"""Soil retention (土壤保持): RUSLE with its factor models, valued as avoided
sediment dredging plus avoided non-point pollution (national form) or plus the
fertiliser the kept nutrients replace (forestry form).

References
----------
Renard, K. G. et al. (1997) Predicting soil erosion by water: RUSLE. USDA
Agriculture Handbook 703.
NDRC & NBS (2022) 生态产品总值核算规范（试行）, soil retention and its value.
Cai Chongfa et al. (2000) 应用USLE估算小流域土壤侵蚀量 (C from vegetation cover).
Liu, B. Y., Nearing, M. A., Risse, L. M. (1994) Slope gradient effects on
soil loss for steep slopes. Trans. ASAE 37(6) (S factor).
Williams, J. R. (1995) The EPIC model (K_EPIC); Zhang Keli et al. (2007)
correction K = −0.01383 + 0.51575·K_EPIC.
Bai Ma Zhuo Ga (白玛卓嘎), Xiao Yi, Ouyang Zhiyun, Wang Liyan (2017) 甘孜藏族自治州
生态系统生产总值核算研究. 生态学报 37(19): 6302–6312, §2.4.2 eqs. (4)–(5) (the national
form: V = λ·Q/ρ·c_dredge + Q·C_N·p_N + Q·C_P·p_P, N and P at treatment cost).
LY/T 1721-2008 (the forestry form: N, P, K and organic matter at fertiliser prices).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.accounting.switches import CHOICES, value as switch
from gep.errors import ScenarioError
from gep.units import Q_, unitful

ECOSYSTEMS = ("forest", "shrub", "grassland", "wetland", "cropland", "bare")
#: Nutrients the national form prices at the cost of treating them as non-point pollution (Bai Ma Zhuo Ga et al. 2017 eq. (5)).
TREATED = {"N": "price.soil_n_treatment", "P": "price.soil_p_treatment"}
#: Nutrients the forestry form prices at the fertiliser that would replace them (LY/T 1721-2008).
FERTILISERS = {"N": "price.fertilizer_dap", "P": "price.fertilizer_dap", "K": "price.fertilizer_kcl", "organic_matter": "price.organic_matter"}
#: Valuation forms (switch ``soil_retention_value``): the national form and the forestry fertiliser form.
VALUE_FORMS = CHOICES["soil_retention_value"]


@unitful(r="MJ*mm/(ha*h*yr)", k="t*ha*h/(ha*MJ*mm)", ls_factor="dimensionless", c="dimensionless", p="dimensionless", returns="t/(ha*yr)")
def retained(r, k, ls_factor, c, p):
    """Soil retained per unit area, R·K·LS·(1 − C·P).

    Parameters
    ----------
    r : DataArray
        Rainfall erosivity [MJ·mm/(ha·h·yr)].
    k : DataArray
        Soil erodibility [t·ha·h/(ha·MJ·mm)].
    ls_factor, c, p : DataArray
        Slope length-steepness, cover-management and support-practice factors [-].

    Returns
    -------
    DataArray
        Potential minus actual soil loss [t/(ha·yr)].

    References
    ----------
    Renard et al. (1997); NDRC & NBS (2022).
    """
    return r * k * ls_factor * (1.0 - c * p)


@unitful(fcover="percent", returns="dimensionless")
def c_from_cover(fcover):
    """Cover-management factor from fractional vegetation cover.

    C = 1 at zero cover, 0.6508 − 0.3436·lg(f_c) for 0 < f_c ≤ 78.3 %, 0 above.

    Parameters
    ----------
    fcover : DataArray
        Vegetation cover [%].

    Returns
    -------
    DataArray
        C [-].

    References
    ----------
    Cai Chongfa et al. (2000).
    """
    fc = fcover.clip(min=1e-9)
    c = 0.6508 - 0.3436 * np.log10(fc)
    return xr.where(fcover <= 0, 1.0, xr.where(fcover > 78.3, 0.0, c.clip(0.0, 1.0)))


@unitful(slope="degree", slope_length="m", returns="dimensionless")
def ls_from_slope(slope, slope_length):
    """RUSLE LS factor from slope angle and slope length.

    L = (λ/22.13)^m with m = 0.2, 0.3, 0.4, 0.5 for slope < 1, 1–3, 3–5,
    ≥ 5 %; S = 10.8 sinθ + 0.03 (θ < 5°), 16.8 sinθ − 0.50 (5–10°),
    21.91 sinθ − 0.96 (≥ 10°).

    Parameters
    ----------
    slope : DataArray
        Slope angle θ [degree].
    slope_length : DataArray or float
        Slope length λ [m].

    Returns
    -------
    DataArray
        LS [-].

    References
    ----------
    Wischmeier & Smith (1978) (L); McCool et al. (1987) and Liu et al. (1994) (S).
    """
    theta = np.deg2rad(slope)
    pct = np.tan(theta) * 100.0
    m = xr.where(pct < 1, 0.2, xr.where(pct < 3, 0.3, xr.where(pct < 5, 0.4, 0.5)))
    s = xr.where(slope < 5, 10.8 * np.sin(theta) + 0.03, xr.where(slope < 10, 16.8 * np.sin(theta) - 0.50, 21.91 * np.sin(theta) - 0.96))
    return (slope_length / 22.13) ** m * s


@unitful(dem="m", spacing="m", returns="degree")
def slope_from_dem(dem, spacing):
    """Slope angle from a DEM by finite differences over the 4 neighbours.

    Central differences inside; one-sided where a neighbour is missing (NaN
    outside the region, or beyond the grid edge), so the region's border does
    not create false cliffs and the chunked result equals the whole-grid result.

    Parameters
    ----------
    dem : DataArray
        Elevation [m], dims ``(y, x)``.
    spacing : float
        Cell size [m] (square cells of a projected grid).

    Returns
    -------
    DataArray
        Slope [degree].

    References
    ----------
    Horn, B. K. P. (1981) Hill shading and the reflectance map (finite
    differences of a DEM).
    """
    data = dem.data
    if hasattr(data, "map_overlap"):
        # map_overlap hands each block with a one-cell halo and trims the same halo from the result
        grad = data.map_overlap(lambda b: np.pad(_slope_block(b, spacing), 1), depth=1, boundary=np.nan, dtype=np.float64)
    else:
        grad = _slope_block(np.pad(np.asarray(data, dtype=np.float64), 1, constant_values=np.nan), spacing)
    return xr.DataArray(grad, dims=dem.dims, coords=dem.coords)


def _slope_block(z: np.ndarray, spacing: float) -> np.ndarray:
    """Slope of the interior of a block padded by one cell (padding removed from the result).

    Central differences where both neighbours exist, one-sided where one is
    missing (NaN: outside the region or beyond the grid), zero where both are.
    """
    c = z[1:-1, 1:-1]

    def grad(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        n = (~np.isnan(lo)).astype(np.float64) + (~np.isnan(hi))
        diff = np.where(np.isnan(hi), c, hi) - np.where(np.isnan(lo), c, lo)
        return np.where(n > 0, diff / (np.maximum(n, 1.0) * spacing), 0.0)

    gy = grad(z[:-2, 1:-1], z[2:, 1:-1])
    gx = grad(z[1:-1, :-2], z[1:-1, 2:])
    return np.degrees(np.arctan(np.hypot(np.nan_to_num(gx), np.nan_to_num(gy))))


@unitful(sand="percent", silt="percent", clay="percent", organic_carbon="percent", returns="t*ha*h/(ha*MJ*mm)")
def k_epic(sand, silt, clay, organic_carbon):
    """Soil erodibility from texture and organic carbon (EPIC) with the Zhang Keli correction.

    K_EPIC = {0.2 + 0.3·exp[−0.0256·SAN·(1 − SIL/100)]}·[SIL/(CLA + SIL)]^0.3
    ·{1 − 0.25·C/[C + exp(3.72 − 2.95·C)]}·{1 − 0.7·SN1/[SN1 + exp(−5.51 + 22.9·SN1)]},
    SN1 = 1 − SAN/100, in US units (× 0.1317 to SI); K = −0.01383 + 0.51575·K_EPIC.

    Parameters
    ----------
    sand, silt, clay : DataArray
        Texture fractions [%].
    organic_carbon : DataArray
        Soil organic carbon [%].

    Returns
    -------
    DataArray
        K [t·ha·h/(ha·MJ·mm)].

    References
    ----------
    Williams (1995) EPIC; Zhang Keli, Peng Wenying, Yang Hongli (2007)
    土壤可蚀性因子K值的估算. 土壤学报 44(1).
    """
    sn1 = 1.0 - sand / 100.0
    ratio = silt / (clay + silt).where(clay + silt > 0)
    k = (
        (0.2 + 0.3 * np.exp(-0.0256 * sand * (1.0 - silt / 100.0)))
        * ratio.fillna(0.0) ** 0.3
        * (1.0 - 0.25 * organic_carbon / (organic_carbon + np.exp(3.72 - 2.95 * organic_carbon)))
        * (1.0 - 0.7 * sn1 / (sn1 + np.exp(-5.51 + 22.9 * sn1)))
    )
    return (-0.01383 + 0.51575 * k * 0.1317).clip(min=0.0)


@unitful(rate="t/(ha*yr)", area="m**2", returns="t/yr")
def per_cell_mass(rate, area):
    """Mass per cell from a rate per area, rate × A [t/yr]."""
    return rate * area * 1e-4


def ls_for(ls: Landscape) -> xr.DataArray:
    """LS factor: the ``ls_factor`` input if given, else derived from ``dem``."""
    if ls.has_input("ls_factor"):
        return ls.input("ls_factor", "dimensionless", "soil_retention")
    dem = ls.input("dem", "m", "soil_retention")
    spacing = float(ls.grid.attrs.get("cell_size_m", 0.0))
    if spacing <= 0:
        from gep.errors import GridError

        raise GridError("deriving LS from the DEM needs a projected grid with square cells", hint="give an 'ls_factor' raster, or a DEM on a projected grid")
    slope = slope_from_dem(dem.assign_attrs(units="m"), Q_(spacing, "m"))
    return ls_from_slope(slope, Q_(spacing, "m"))


def k_for(ls: Landscape) -> xr.DataArray:
    """K factor: the ``k_factor`` input if given, else EPIC from texture rasters."""
    if ls.has_input("k_factor") or not ls.has_input("sand"):
        return ls.input("k_factor", "t*ha*h/(ha*MJ*mm)", "soil_retention")
    names = ("sand", "silt", "clay", "organic_carbon")
    return k_epic(*[ls.input(n, "percent", "soil_retention") for n in names])


def account_rusle_cover(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``rusle_cover``: RUSLE with the cover-management factor C from vegetation cover."""
    return _account(ls, coef, switches, lambda: c_from_cover(ls.input("fcover", "percent", "soil_retention")))


def account_rusle_c_lut(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``rusle_c_lut``: RUSLE with C from the class look-up table."""
    return _account(ls, coef, switches, lambda: ls.lut(coef, "soil_retention.cover_management", "dimensionless", ECOSYSTEMS))


def _account(ls: Landscape, coef: CoefficientSet, switches: dict, cover_management) -> ServiceResult:
    """Soil retained on forest, shrub, grassland, wetland, cropland and bare cells (C from ``cover_management()``)."""
    mask = ls.mask(ECOSYSTEMS)
    c = cover_management()
    p = ls.lut(coef, "soil_retention.support_practice", "dimensionless", ECOSYSTEMS)
    per_ha = retained(ls.input("r_factor", "MJ*mm/(ha*h*yr)", "soil_retention"), k_for(ls), ls_for(ls), c, p)
    cell = (per_cell_mass(per_ha, ls.cell_area) * mask).assign_attrs(units="t/yr")
    q = ls.zonal(cell, "t/yr")

    components = [_sediment(q, coef)]
    if switch(switches, "soil_retention_nutrients"):
        form = switch(switches, "soil_retention_value")
        if form not in VALUE_FORMS:
            raise ScenarioError(f"switch soil_retention_value = {form!r} is not a valuation form of soil retention", hint=f"use one of {', '.join(VALUE_FORMS)}")
        components += _treated_nutrients(q, coef) if form == "national" else _fertilisers(q, coef)
    return ServiceResult(quantity=q, components=components, cells={"soil_retention": cell})


def _sediment(q: xr.DataArray, coef: CoefficientSet) -> Component:
    """Reduced sedimentation, λ·Q/ρ [m³/yr] at the reservoir dredging cost (Bai Ma Zhuo Ga et al. 2017 eq. (4))."""
    with coef.recording() as reads:
        lam = coef.scalar("soil_retention.sediment_fraction", "dimensionless")
        rho = coef.scalar("soil_retention.bulk_density", "t/m**3")
        price, year = coef.price("price.dredging")
    return Component("sediment", (q * lam / rho).assign_attrs(units="m**3/yr"), price, year, "price.dredging", uses=reads.rows)


def _treated_nutrients(q: xr.DataArray, coef: CoefficientSet) -> list[Component]:
    """N and P kept on the land, Q·C [t/yr], at the cost of treating them as pollution (Bai Ma Zhuo Ga et al. 2017 eq. (5))."""
    out = []
    for nutrient, price_key in TREATED.items():
        with coef.recording() as reads:
            content = coef.scalar("soil_retention.nutrient_content", "dimensionless", nutrient)
            price, year = coef.price(price_key)
        out.append(Component(nutrient, (q * content).assign_attrs(units="t/yr"), price, year, price_key, uses=reads.rows))
    return out


def _fertilisers(q: xr.DataArray, coef: CoefficientSet) -> list[Component]:
    """N, P, K and organic matter kept on the land, Q·C [t/yr], at the price of the fertiliser holding them (LY/T 1721-2008)."""
    out = []
    for nutrient, price_key in FERTILISERS.items():
        with coef.recording() as reads:
            content = coef.scalar("soil_retention.nutrient_content", "dimensionless", nutrient)
            fert = coef.scalar("soil_retention.fertilizer_content", "dimensionless", nutrient)
            price, year = coef.price(price_key)
        out.append(Component(nutrient, (q * content).assign_attrs(units="t/yr"), price / fert, year, f"{price_key} / soil_retention.fertilizer_content[{nutrient}]", uses=reads.rows))
    return out
