"""Flood mitigation (洪水调蓄): storm water held by vegetation, lakes and
reservoirs, and marshes, valued at the cost of reservoir storage.

Marshes hold 0.3 m of surface water on the marsh area (class 64) in the
published RCEES form; the switch ``marsh_soil_storage`` (off in cn-2022) adds
the water the marsh soil holds, porosity × depth, on every wetland class
(marsh, tidal flat, bottomland), as gep did before cn-2022 1.2.0.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, flood regulation: vegetation
C = Σ (P_storm − R_storm)·A.
Bai Ma Zhuo Ga (白玛卓嘎), Xiao Yi, Ouyang Zhiyun, Wang Liyan (2017) 甘孜藏族自治州
生态系统生产总值核算研究. 生态学报 37(19): 6302–6312, §2.4.4: reservoirs
C_r = 0.35 × total storage, marshes C_m = 0.3 m × marsh area.
LY/T 1721-2008 (reservoir storage cost).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.accounting.coefficients import CoefficientSet
from gep.errors import InputError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult, by_class_confidence
from gep.accounting.switches import value as switch
from gep.units import Q_, convert, unitful

VEGETATION = ("forest", "shrub", "grassland")
#: Land-cover codes of marsh (沼泽地), the class the published form gives surface retention.
MARSH_CODES = (64,)
#: Ecosystems whose soil storage ``marsh_soil_storage`` counts (marsh, tidal flat, bottomland).
WETLAND = ("wetland",)


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
    """Flood storage of vegetation, marshes and the water bodies in the reservoirs table.

    Components: ``vegetation_storage`` (one per confidence of the classes' storm-runoff
    coefficients), ``marsh_storage`` and ``reservoir_storage``.
    """
    price, year = coef.price("price.reservoir_storage")
    alpha = ls.lut(coef, "flood_mitigation.storm_runoff_coefficient", "dimensionless", VEGETATION)
    veg = (vegetation_storage(ls.input("storm_rainfall", "mm/yr", "flood_mitigation"), alpha, ls.cell_area) * ls.mask(VEGETATION)).assign_attrs(units="m**3/yr")
    with coef.recording() as marsh_reads:
        if switch(switches, "marsh_soil_storage"):
            porosity, depth = coef.quantity("flood_mitigation.marsh_porosity"), coef.quantity("flood_mitigation.marsh_soil_depth")
            where = ls.mask(WETLAND)
        else:
            porosity, depth = Q_(0.0, "dimensionless"), Q_(0.0, "m")
            where = ls.class_mask(MARSH_CODES)
        marsh = (marsh_storage(porosity, depth, coef.quantity("flood_mitigation.marsh_surface_retention"), ls.cell_area) * where).assign_attrs(units="m**3/yr")
    cell = (veg + marsh).assign_attrs(units="m**3/yr")
    vegetation = by_class_confidence(ls, coef, "flood_mitigation.storm_runoff_coefficient", ls.zonal_by_class(veg), "m**3/yr", VEGETATION)
    components = [Component("vegetation_storage", part, price, year, "price.reservoir_storage", uses=rows) for rows, part in vegetation]
    components.append(Component("marsh_storage", ls.zonal(marsh, "m**3/yr"), price, year, "price.reservoir_storage", uses=marsh_reads.rows))
    if "reservoirs" in ls.tables:
        table = ls.tables["reservoirs"]
        with coef.recording() as reservoir_reads:
            storage = reservoir_storage(table, coef.scalar("flood_mitigation.flood_storage_share", "dimensionless"))
        held = ls.by_zone_eco(table["zone_id"], ["water"] * len(table), storage, "reservoirs table", "m**3/yr")
        components.append(Component("reservoir_storage", held, price, year, "price.reservoir_storage", uses=reservoir_reads.rows))
    q = sum((c.quantity for c in components[1:]), components[0].quantity).assign_attrs(units="m**3/yr")
    return ServiceResult(quantity=q, components=components, cells={"flood_mitigation": cell})
