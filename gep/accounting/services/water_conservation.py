"""Water conservation (水源涵养): water balance and the Budyko (InVEST) alternative.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, water conservation:
Q = Σ A·(P − R − ET), R = P·α.
Zhang, L., Hickel, K., Dawes, W. R., et al. (2004) A rational function approach
for estimating mean annual evapotranspiration. Water Resour. Res. 40, W02502.
Sharp, R. et al. (2020) InVEST User's Guide, Annual Water Yield model.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult, by_class_confidence
from gep.accounting.switches import value as switch
from gep.errors import CoefficientError
from gep.units import unitful

ECOSYSTEMS = ("forest", "shrub", "grassland", "wetland", "water")


@unitful(precipitation="mm/yr", et="mm/yr", runoff_coefficient="dimensionless", area="m**2", returns="m**3/yr")
def water_balance(precipitation, et, runoff_coefficient, area):
    """Water conserved per cell, Q = A·(P − R − ET) with R = P·α.

    Parameters
    ----------
    precipitation : DataArray
        Annual precipitation [mm/yr].
    et : DataArray
        Actual evapotranspiration [mm/yr].
    runoff_coefficient : DataArray
        Storm-runoff coefficient α [-].
    area : DataArray
        Cell area [m²].

    Returns
    -------
    DataArray
        Water conserved [m³/yr]; negative where ET > P − R.

    References
    ----------
    NDRC & NBS (2022), water conservation (A km² · mm · 10³ = m³).
    """
    return area * (precipitation - precipitation * runoff_coefficient - et) * 1e-3


@unitful(precipitation="mm/yr", et0="mm/yr", kc="dimensionless", awc="mm", z="dimensionless", vegetated="dimensionless", returns="mm/yr")
def budyko_aet(precipitation, et0, kc, awc, z, vegetated):
    """Actual evapotranspiration from the Budyko curve (Fu/Zhang form used by InVEST).

    For vegetated cells AET/P = min(PET/P, 1 + PET/P − (1 + (PET/P)^ω)^(1/ω)) with
    PET = Kc·ET0 and ω = Z·AWC/P + 1.25 (at most 5); elsewhere
    AET = min(Kc·ET0, P). Cells without precipitation evaporate nothing.

    Parameters
    ----------
    precipitation : DataArray
        Annual precipitation [mm/yr].
    et0 : DataArray
        Reference evapotranspiration [mm/yr].
    kc : DataArray
        Crop coefficient per class [-].
    awc : DataArray
        Plant-available water content [mm].
    z : float
        Seasonality parameter Z [-].
    vegetated : DataArray
        1 for vegetated classes, 0 otherwise [-].

    Returns
    -------
    DataArray
        AET [mm/yr].

    References
    ----------
    Zhang et al. (2004); Sharp et al. (2020) InVEST User's Guide, Annual Water Yield.
    """
    pet = kc * et0
    p = xr.where(precipitation > 0, precipitation, np.nan)
    omega = np.minimum(z * awc / p + 1.25, 5.0)
    ratio = pet / p
    frac = np.minimum(1.0 + ratio - (1.0 + ratio**omega) ** (1.0 / omega), ratio)  # ≤ PET/P (and ≤ 1), as InVEST
    veg = (frac * precipitation).fillna(0.0)
    other = np.minimum(pet, precipitation)
    return xr.where(vegetated > 0, veg, other)


def account_water_balance(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``water_balance``: Q = A·(P − R − ET) with ET from the ``et`` input."""
    return _account(ls, coef, switches, lambda p: ls.input("et", "mm/yr", "water_conservation"))


@unitful(root_depth="mm", soil_depth="mm", pawc="dimensionless", returns="mm")
def available_water(root_depth, soil_depth, pawc):
    """Plant-available water content, AWC = min(root depth, depth to the root-restricting layer) × PAWC [mm].

    Parameters
    ----------
    root_depth : DataArray
        Rooting depth of the cell's class [mm].
    soil_depth : DataArray
        Depth to the root-restricting layer [mm].
    pawc : DataArray
        Plant-available water capacity [-] (volume fraction).

    References
    ----------
    Sharp et al. (2020) InVEST User's Guide, Annual Water Yield (AWC); InVEST 3.20
    ``annual_water_yield.fractp_op``.
    """
    return np.minimum(root_depth, soil_depth) * pawc


def _awc(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """The ``awc`` input, else :func:`available_water` from the depth, PAWC and the class's root depth [mm]."""
    if ls.has_input("awc") or not ls.has_input("depth_to_root_restricting_layer"):
        return ls.input("awc", "mm", "water_conservation")
    if not coef.has("water_conservation.root_depth"):
        raise CoefficientError("the Budyko method computes AWC from the depth to the root-restricting layer and PAWC with each class's root depth, "
                               f"which set {coef.id} does not hold",
                               hint="give [coefficients] biophysical_table (InVEST: lucode, lulc_veg, root_depth [mm], kc), or the awc input")
    return available_water(ls.lut(coef, "water_conservation.root_depth", "mm"), ls.input("depth_to_root_restricting_layer", "mm", "water_conservation"),
                           ls.input("pawc", "dimensionless", "water_conservation"))


def _vegetated(ls: Landscape, coef: CoefficientSet) -> xr.DataArray:
    """1 where the Budyko curve applies (InVEST ``lulc_veg``; else the legend's ``vegetated``), 0 elsewhere [-]."""
    if coef.has("water_conservation.lulc_veg"):
        return ls.lut(coef, "water_conservation.lulc_veg", "dimensionless")
    return ls.per_cell(ls.legend.vegetated.astype(float), unit="dimensionless")


def account_budyko(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Method ``budyko``: the same balance with AET from the Budyko curve (InVEST annual water yield),
    and InVEST's all-land water yield Y = P − AET beside it (not part of GEP)."""
    kc = ls.lut(coef, "water_conservation.kc", "dimensionless")
    et0 = ls.input("et0", "mm/yr", "water_conservation")

    p = ls.input("precipitation", "mm/yr", "water_conservation")
    actual = budyko_aet(p, et0, kc, _awc(ls, coef), coef.quantity("water_conservation.budyko_z"), _vegetated(ls, coef))
    result = _account(ls, coef, switches, lambda _p: actual)
    yield_cell = water_yield(p, actual, ls.cell_area)
    volumes = {"precipitation": p, "pet": kc * et0, "aet": actual}
    extras = {"water_yield": ls.zonal(yield_cell, "m**3/yr"), "water_yield_area": ls.zone_area()}
    extras.update({f"water_yield_{k}": ls.zonal((v * ls.cell_area * 1e-3).assign_attrs(units="m**3/yr"), "m**3/yr") for k, v in volumes.items()})
    result.cells["water_yield"] = yield_cell
    result.extras.update(extras)
    return result


@unitful(precipitation="mm/yr", aet="mm/yr", area="m**2", returns="m**3/yr")
def water_yield(precipitation, aet, area):
    """Annual water yield of every cell, Y = (P − AET)·A [m³/yr] (InVEST annual water yield, all land).

    References
    ----------
    Sharp et al. (2020) InVEST User's Guide, Annual Water Yield: Y = (1 − AET/P)·P.
    """
    return (precipitation - aet) * area * 1e-3


def _account(ls: Landscape, coef: CoefficientSet, switches: dict, evapotranspiration) -> ServiceResult:
    """Water conservation of the forest, shrub, grassland, wetland and water cells (ET from ``evapotranspiration(P)``).

    One component per confidence of the classes' runoff coefficients
    (:func:`~gep.accounting.services.result.by_class_confidence`).
    """
    p = ls.input("precipitation", "mm/yr", "water_conservation")
    alpha = ls.lut(coef, "water_conservation.runoff_coefficient", "dimensionless", ECOSYSTEMS)
    mask = ls.mask(ECOSYSTEMS)
    et = evapotranspiration(p)
    cell = water_balance(p, et, alpha, ls.cell_area) * mask
    cell.attrs["units"] = "m**3/yr"
    rule = switch(switches, "negative_water_conservation")
    if rule == "clamp_cells":
        cell = cell.clip(min=0.0).assign_attrs(units="m**3/yr")
    by_class = ls.zonal_by_class(cell)
    if rule == "clamp_total":
        by_class = np.clip(by_class, 0.0, None)
    parts = by_class_confidence(ls, coef, "water_conservation.runoff_coefficient", by_class, "m**3/yr", ECOSYSTEMS)
    q = sum((part for _, part in parts[1:]), parts[0][1]).assign_attrs(units="m**3/yr")
    notes = []
    if switch(switches, "water_conservation_net_of_water_use") and "production" in ls.tables:
        prod = ls.tables["production"]
        water = prod[prod["product"].astype(str) == "water_supply"]
        if len(water):
            from gep.units import convert

            use = ls.by_zone_eco(water["zone_id"], ["water"] * len(water), [convert(v, u, "m**3", "water_supply") for v, u in zip(water["quantity"], water["unit"])], "production table (water_supply)")
            zone_q = q.sum("ecosystem")
            kept = xr.where(zone_q > 0, (zone_q - use.sum("ecosystem")).clip(min=0.0) / zone_q.where(zone_q > 0), 0.0)
            parts = [(rows, (part * kept).assign_attrs(units="m**3/yr")) for rows, part in parts]
            q = (q * kept).assign_attrs(units="m**3/yr")
            notes.append("water conservation net of local water supply (switch water_conservation_net_of_water_use)")
    price, year = coef.price("price.reservoir_storage")
    return ServiceResult(
        quantity=q,
        components=[Component("water_storage", part, price, year, "price.reservoir_storage", uses=rows) for rows, part in parts],
        cells={"water_conservation": cell},
        notes=notes,
    )
