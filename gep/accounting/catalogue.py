"""The catalogue: the one list of ecosystem services gep accounts for.

Each entry names the service's category, its methods (the first is the main
one), its inputs with units, its output unit, its price keys and references.
The runner, ``gep services list``, the docs table and the conformance tests
all read this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from gep.errors import ScenarioError, nearest
from gep.accounting.services import (
    carbon,
    climate_regulation,
    flood_mitigation,
    landscape_value,
    negative_ions,
    oxygen,
    provisioning,
    purification,
    recreation,
    sand_fixation,
    soil_retention,
    water_conservation,
)

CATEGORIES = ("provisioning", "regulating", "cultural")


@dataclass(frozen=True)
class Service:
    """One catalogue entry."""

    id: str
    name_zh: str
    category: str
    methods: dict[str, str]
    inputs: dict[str, str]
    tables: tuple[str, ...]
    output_unit: str
    price_keys: tuple[str, ...]
    references: tuple[str, ...]
    account: Callable = field(repr=False, compare=False)

    @property
    def default_method(self) -> str:
        return next(iter(self.methods))

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "category": self.category,
            "methods": dict(self.methods),
            "default_method": self.default_method,
            "inputs": dict(self.inputs),
            "tables": list(self.tables),
            "output_unit": self.output_unit,
            "price_keys": list(self.price_keys),
            "references": list(self.references),
        }


SPEC = "NDRC & NBS (2022) 生态产品总值核算规范（试行）"
CATALOGUE: tuple[Service, ...] = (
    Service(
        "provisioning", "物质供给", "provisioning",
        {"statistics": "Σ output × price × ecosystem share, or gross output value"},
        {}, ("production",), "various (per product)", ("price.product.<product>",),
        (SPEC, "GB/T 46869-2025", "UN SEEA EA (2021)"), provisioning.account,
    ),
    Service(
        "water_conservation", "水源涵养", "regulating",
        {"water_balance": "Q = Σ A·(P − P·α − ET)", "budyko": "same balance with AET from the Budyko curve (InVEST annual water yield)"},
        {"precipitation": "mm/yr", "et": "mm/yr (water_balance)", "et0": "mm/yr (budyko)", "awc": "mm (budyko)"}, ("production (water_supply, optional)",),
        "m**3/yr", ("price.reservoir_storage",), (SPEC, "LY/T 1721-2008", "Zhang et al. (2004) WRR 40 W02502", "Sharp et al. (2020) InVEST User's Guide"),
        water_conservation.account,
    ),
    Service(
        "soil_retention", "土壤保持", "regulating",
        {"rusle_cover": "RUSLE R·K·LS·(1 − C·P), C from vegetation cover", "rusle_c_lut": "RUSLE with C from the class look-up table"},
        {"r_factor": "MJ*mm/(ha*h*yr)", "k_factor": "t*ha*h/(ha*MJ*mm) (or sand, silt, clay, organic_carbon [%])", "dem": "m (or ls_factor [-])", "fcover": "dimensionless (rusle_cover)"}, (),
        "t/yr", ("price.dredging", "price.fertilizer_dap", "price.fertilizer_kcl", "price.organic_matter"),
        (SPEC, "Renard et al. (1997) USDA AH 703", "Cai et al. (2000)", "Zhang Keli et al. (2007)", "LY/T 1721-2008"), soil_retention.account,
    ),
    Service(
        "sand_fixation", "防风固沙", "regulating",
        {"rweq": "RWEQ potential − actual soil loss"},
        {"wind_factor": "kg/m", "fcover": "dimensionless", "erodible_fraction": "dimensionless (optional grid)", "crust_factor": "dimensionless (optional grid)", "roughness_factor": "dimensionless (optional grid)"}, (),
        "t/yr", ("sand_fixation.restoration_cost",), (SPEC, "Fryrear et al. (1998) RWEQ", "Gong et al. (2014)"), sand_fixation.account,
    ),
    Service(
        "flood_mitigation", "洪水调蓄", "regulating",
        {"storage": "vegetation storm storage + reservoir flood storage + marsh storage"},
        {"storm_rainfall": "mm/yr"}, ("reservoirs (optional)",),
        "m**3/yr", ("price.reservoir_storage",), (SPEC, "LY/T 1721-2008"), flood_mitigation.account,
    ),
    Service(
        "water_purification", "水质净化", "regulating",
        {"pollution_tax": "min(load, capacity) × tax rate / pollution equivalent"},
        {}, ("emissions",), "t/yr", ("price.pollution_tax", "pollution.equivalent_value"),
        (SPEC, "Environmental Protection Tax Law of the PRC (2018)"), purification.account_water,
    ),
    Service(
        "air_purification", "空气净化", "regulating",
        {"treatment_cost": "min(emission, capacity) × treatment cost", "pollution_tax": "min(emission, capacity) × tax rate / pollution equivalent"},
        {}, ("emissions",), "t/yr", ("price.so2_treatment", "price.nox_treatment", "price.dust_treatment"),
        (SPEC, "LY/T 1721-2008", "Environmental Protection Tax Law of the PRC (2018)"), purification.account_air,
    ),
    Service(
        "carbon_sequestration", "固碳", "regulating",
        {"nep_rh": "44/12 × (NPP − Rh)", "nep_ratio": "44/12 × α·NPP", "rate_lut": "44/12 × sequestration rate per class"},
        {"npp": "gC/(m**2*yr) or g/(m**2*yr) dry matter", "temperature": "degC (nep_rh)", "precipitation": "mm/yr (nep_rh)"}, (),
        "tCO2/yr", ("price.carbon", "price.carbon_tax_basis"),
        (SPEC, "Pei Zhiyong et al. (2010)", "Sharp et al. (2020) InVEST carbon model (stock)"), carbon.account,
    ),
    Service(
        "oxygen_release", "释氧", "regulating",
        {"nep": "32/44 × CO2 sequestered", "npp": "1.19 × NPP (dry matter)"},
        {"npp": "gC/(m**2*yr)"}, (), "t/yr", ("price.oxygen",), (SPEC, "DB33/T 2274-2020"), oxygen.account,
    ),
    Service(
        "climate_regulation", "气候调节", "regulating",
        {"evaporative_cooling": "transpiration and evaporation on hot days × latent heat / EER (+ humidification)"},
        {"et_hot": "mm/yr"}, (), "kWh/yr", ("price.electricity",), (SPEC,), climate_regulation.account,
    ),
    Service(
        "negative_ions", "负氧离子", "regulating",
        {"ly_t_1721": "5.256e15 × (Q − 600) × A × H / L"},
        {"negative_ions": "ion/cm**3 (optional grid; else class look-up)"}, (), "ion/yr", ("price.negative_ions",),
        ("LY/T 1721-2008", "DB33/T 2274-2020"), negative_ions.account,
    ),
    Service(
        "recreation", "休闲旅游", "cultural",
        {"travel_cost": "Σ visitors × (time × wage × share + direct cost)", "revenue": "nature-based tourism revenue"},
        {}, ("visitors",), "visit/yr", ("recreation.time_value_share",), (SPEC, "Clawson & Knetsch (1966)"), recreation.account,
    ),
    Service(
        "landscape", "景观价值", "cultural",
        {"hedonic": "floor area × capitalised premium × annualisation rate"},
        {}, ("housing",), "m**2", ("landscape.annualisation_rate",), (SPEC, "Rosen (1974)"), landscape_value.account,
    ),
)

BY_ID = {s.id: s for s in CATALOGUE}


def get(service_id: str, where: str = "scenario") -> Service:
    """The catalogue entry for ``service_id``; an unknown id suggests the nearest."""
    if service_id in BY_ID:
        return BY_ID[service_id]
    near = nearest(service_id, BY_ID)
    raise ScenarioError(
        f"{where}: unknown service '{service_id}'",
        hint=(f"did you mean '{near}'? " if near else "") + f"services are {', '.join(BY_ID)}",
    )


def check_method(service: Service, method: str, where: str) -> str:
    """Validate a method name for ``service``."""
    if method not in service.methods:
        raise ScenarioError(f"{where}: service '{service.id}' has no method '{method}'", hint=f"use one of {', '.join(service.methods)}")
    return method
