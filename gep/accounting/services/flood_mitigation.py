"""Flood mitigation (洪水调蓄): storm water held by vegetation, lakes and
reservoirs, and marshes, valued at the cost of reservoir storage.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, flood regulation: vegetation
C = Σ (P_storm − R_storm)·A; reservoirs and lakes by flood storage (0.35 ×
total storage when only the total is known); marshes by soil porosity ×
depth × area plus surface retention.
LY/T 1721-2008 (reservoir storage cost).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.accounting.coefficients import CoefficientSet
from gep.errors import InputError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult
from gep.units import convert, unitful

VEGETATION = ("forest", "shrub", "grassland")
MARSH = ("wetland",)


@unitful(storm_rainfall="mm/yr", storm_runoff_coefficient="dimensionless", area="m**2", returns="m**3/yr")
def vegetation_storage(storm_rainfall, storm_runoff_coefficient, area):
    """Storm water held by vegetation, (P_storm − R_storm)·A with R_storm = P_storm·α_storm.

    Parameters
    ----------
    storm_rainfall : DataArray
        Rain falling in storm events [mm/yr].
    storm_runoff_coefficient : DataArray
        Share of storm rain that runs off [-].
    area : DataArray
        Cell area [m²].

    Returns
    -------
    DataArray
        Water held [m³/yr].

    References
    ----------
    NDRC & NBS (2022).
    """
    return storm_rainfall * (1.0 - storm_runoff_coefficient) * area * 1e-3


@unitful(porosity="dimensionless", soil_depth="m", surface_retention="m", area="m**2", returns="m**3/yr")
def marsh_storage(porosity, soil_depth, surface_retention, area):
    """Flood water a marsh can hold, (porosity·depth + surface retention)·A [m³/yr] (NDRC & NBS 2022)."""
    return (porosity * soil_depth + surface_retention) * area


def reservoir_storage(table: pd.DataFrame, share: float) -> np.ndarray:
    """Flood storage per water body [m³]: the given flood storage, else share × total storage.

    References
    ----------
    NDRC & NBS (2022): 0.35 × total storage when only the total is known.
    """
    units = table.attrs.get("units", {})
    total = convert(pd.to_numeric(table["total_storage"], errors="coerce").to_numpy(), units.get("total_storage", "m**3"), "m**3", "reservoirs total_storage")
    flood = table["flood_storage"] if "flood_storage" in table else pd.Series(np.nan, index=table.index)
    flood = convert(pd.to_numeric(flood, errors="coerce").to_numpy(), units.get("flood_storage", "m**3"), "m**3", "reservoirs flood_storage")
    out = np.where(np.isfinite(flood), flood, share * total)
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise InputError(f"{table.attrs.get('path', 'reservoirs table')}, line {row}: needs a non-negative flood_storage or total_storage [m**3]", hint="fill in total_storage (flood storage defaults to 0.35 of it)")
    return out


def account_storage(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """Flood storage of vegetation, marshes and the water bodies in the reservoirs table."""
    alpha = ls.lut(coef, "flood_mitigation.storm_runoff_coefficient", "dimensionless", VEGETATION)
    veg = vegetation_storage(ls.input("storm_rainfall", "mm/yr", "flood_mitigation"), alpha, ls.cell_area) * ls.mask(VEGETATION)
    marsh = marsh_storage(
        coef.quantity("flood_mitigation.marsh_porosity"),
        coef.quantity("flood_mitigation.marsh_soil_depth"),
        coef.quantity("flood_mitigation.marsh_surface_retention"),
        ls.cell_area,
    ) * ls.mask(MARSH)
    cell = (veg + marsh).assign_attrs(units="m**3/yr")
    q = ls.zonal(cell, "m**3/yr")
    if "reservoirs" in ls.tables:
        table = ls.tables["reservoirs"]
        storage = reservoir_storage(table, coef.scalar("flood_mitigation.flood_storage_share", "dimensionless"))
        q = (q + ls.by_zone_eco(table["zone_id"], ["water"] * len(table), storage, "reservoirs table")).assign_attrs(units="m**3/yr")
    price, year = coef.price("price.reservoir_storage")
    return ServiceResult(quantity=q, components=[Component("flood_storage", q, price, year, "price.reservoir_storage")], cells={"flood_mitigation": cell})
