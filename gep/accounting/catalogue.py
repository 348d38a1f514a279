"""The catalogue: the one list of ecosystem services gep accounts for, as declarative specs.

Each service is a :class:`ServiceSpec` (in the manner of xclim's ``Indicator``
and InVEST's ``MODEL_SPEC``): keyword fields naming its category, its methods
(the first is the default), each :class:`Method` pointing at the function that
computes it and at the services whose results it needs, its gridded
:class:`Input` s with a pint unit and the methods that read them, its tables,
its output unit, price keys and references. The runner
(:func:`gep.accounting.compute.compute_services`), the scenario's list of
inputs (:data:`INPUTS`, :data:`TABLES`), ``gep services list``, the docs table
and the conformance test all read this list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

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
from gep.errors import ScenarioError, nearest

CATEGORIES = ("provisioning", "regulating", "cultural")


@dataclass(frozen=True)
class Method:
    """One published method of a service.

    Attributes
    ----------
    name : str
        As written in a scenario's ``[methods]``.
    compute : callable
        ``compute(ls, coef, switches, **needs) -> ServiceResult``: the function of
        the service module that computes it (``needs``: the results of the
        services in :attr:`needs`, by id).
    formula : str
        The formula in words.
    needs : tuple of str
        Services whose results this method uses (computed first).
    """

    name: str
    compute: Callable = field(repr=False, compare=False)
    formula: str = ""
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Input:
    """A gridded input a service reads.

    Attributes
    ----------
    name : str
        Key under the scenario's ``[inputs]``.
    unit : str
        Unit the service expects (pint syntax); any convertible unit is accepted.
    description : str
        What it is.
    methods : tuple of str
        The methods that read it (empty: every method).
    required : bool
        False when the service can do without it (a look-up table, a default or
        another input replaces it; the description says which).
    monthly : bool
        Twelve grids, January to December: a 12-band raster or a list of 12
        rasters or constants in the scenario, read as ``<name>_01`` … ``<name>_12``.
    """

    name: str
    unit: str
    description: str = ""
    methods: tuple[str, ...] = ()
    required: bool = True
    #: Physical range [unit]: a value outside is impossible (an error naming the file, the cells and the range).
    valid: tuple[float, float] = (-math.inf, math.inf)
    #: Plausible range [unit]: a value outside is possible but unusual (a warning in the summary and the manifest).
    plausible: tuple[float, float] = (-math.inf, math.inf)
    #: Where both ranges come from.
    basis: str = ""
    monthly: bool = False

    def as_dict(self) -> dict:
        return {"unit": self.unit, "description": self.description, "methods": list(self.methods), "required": self.required, "monthly": self.monthly,
                "valid": list(self.valid), "plausible": list(self.plausible), "basis": self.basis}


@dataclass(frozen=True)
class Table:
    """A tabular input (``[tables]`` of a scenario)."""

    name: str
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class ServiceSpec:
    """One catalogue entry (see the module notes)."""

    id: str
    name_zh: str
    category: str
    methods: tuple[Method, ...]
    output_unit: str
    inputs: tuple[Input, ...] = ()
    tables: tuple[Table, ...] = ()
    price_keys: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    #: Inputs that stand in for each other: each group needs one complete alternative (when the method reads the group's inputs),
    #: e.g. ``(("k_factor",), ("sand", "silt", "clay", "organic_carbon"))``.
    alternatives: tuple[tuple[tuple[str, ...], ...], ...] = ()

    @property
    def default_method(self) -> str:
        return self.methods[0].name

    @property
    def method_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.methods)

    def method(self, name: str, where: str = "scenario") -> Method:
        """The method called ``name``; an unknown name raises :class:`ScenarioError` listing the methods."""
        for m in self.methods:
            if m.name == name:
                return m
        raise ScenarioError(f"{where}: service '{self.id}' has no method '{name}'", hint=f"use one of {', '.join(self.method_names)}")

    def inputs_of(self, method: str) -> tuple[Input, ...]:
        """The inputs a method reads."""
        return tuple(i for i in self.inputs if not i.methods or method in i.methods)

    def missing(self, method: str, inputs: set[str] | frozenset[str], tables: set[str] | frozenset[str]) -> list[str]:
        """What a method needs that is not given: each required input and table, and each group of
        :attr:`alternatives` of which no alternative is complete (one message each). ``inputs`` may name
        a monthly input by its grids (``temperature_monthly_01`` …, :func:`input_name`)."""
        inputs = set(inputs) | {input_name(n) for n in inputs}
        read = {i.name for i in self.inputs_of(method)}
        out = [f"input '{i.name}' [{i.unit}] ({i.description})" for i in self.inputs_of(method) if i.required and i.name not in inputs]
        for group in self.alternatives:
            if read & {n for alt in group for n in alt} and not any(set(alt) <= set(inputs) for alt in group):
                out.append("input " + ", or ".join(" + ".join(f"'{n}'" for n in alt) for alt in group))
        out += [f"table '{t.name}' ({t.description})" for t in self.tables if t.required and t.name not in tables]
        return out

    def compute(self, ls: Any, coef: Any, method: str, switches: Mapping, needs: Mapping[str, Any] | None = None) -> Any:
        """Compute the service by ``method`` on a landscape (``needs``: results of the services it needs, by id)."""
        m = self.method(method)
        given = needs or {}
        missing = [d for d in m.needs if d not in given]
        if missing:
            raise ValueError(f"{self.id} ({method}) needs the result of {', '.join(missing)}")
        return m.compute(ls, coef, dict(switches), **{d: given[d] for d in m.needs})

    def as_dict(self) -> dict:
        """The spec as JSON-ready data (``gep services list --json``)."""
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "category": self.category,
            "methods": {m.name: m.formula for m in self.methods},
            "default_method": self.default_method,
            "needs": {m.name: list(m.needs) for m in self.methods if m.needs},
            "inputs": {i.name: i.as_dict() for i in self.inputs},
            "tables": {t.name: {"description": t.description, "required": t.required} for t in self.tables},
            "output_unit": self.output_unit,
            "price_keys": list(self.price_keys),
            "references": list(self.references),
        }


SPEC = "NDRC & NBS (2022) 生态产品总值核算规范（试行）"

_FRACTION = dict(valid=(0.0, 1.0), plausible=(0.0, 1.0), basis="a fraction of a whole: 0 to 1 (a value above 1 is a percentage: give units = \"percent\")")
_PERCENT = dict(valid=(0.0, 100.0), plausible=(0.0, 100.0), basis="a percentage of the soil mass: 0 to 100 %")
#: Physical and plausible range of every gridded input, in the unit the service expects (docs/scenarios.md).
RANGES: dict[str, dict] = {
    "precipitation": dict(valid=(0.0, 30000.0), plausible=(5.0, 6500.0), basis="≥ 0; the wettest 12 months on record are 26,461 mm (Cherrapunji, 1860–61, WMO archive of weather and climate extremes); China's annual means run from ~7 mm (Toksun) to ~6,500 mm (Huoshaoliao, Taiwan)"),
    "et": dict(valid=(0.0, 5000.0), plausible=(0.0, 2000.0), basis="≥ 0; net radiation limits evaporation to about 2,500–3,000 mm/yr (≈ 200 W/m² of latent heat) even from open water in hot deserts"),
    "et0": dict(valid=(0.0, 5000.0), plausible=(300.0, 2500.0), basis="FAO-56 reference ET (Allen et al. 1998): from ~300 mm/yr in cold, humid climates to ~2,500 mm/yr in hot deserts"),
    "awc": dict(valid=(0.0, 5000.0), plausible=(0.0, 600.0), basis="plant-available water of the root zone: PAWC (≤ ~0.3) × rooting depth (a few metres), InVEST User's Guide (Sharp et al. 2020)"),
    "depth_to_root_restricting_layer": dict(valid=(0.0, 100000.0), plausible=(0.0, 10000.0), basis="a soil depth [mm]: ≥ 0, a few metres in deep soils (InVEST annual water yield input)"),
    "pawc": _FRACTION | dict(plausible=(0.0, 0.6), basis="a volume fraction 0–1; plant-available water capacity of soils is at most ~0.3–0.6 (InVEST User's Guide; FAO-56 Table 19)"),
    "storm_rainfall": dict(valid=(0.0, 30000.0), plausible=(0.0, 4000.0), basis="part of the annual precipitation (see precipitation)"),
    "npp": dict(valid=(0.0, 5000.0), plausible=(0.0, 2500.0), basis="≥ 0; the most productive ecosystems reach ~2,000–2,500 gC/(m²·yr) (Scurlock & Olson 2002; Clark et al. 2001)"),
    "temperature": dict(valid=(-90.0, 60.0), plausible=(-25.0, 30.0), basis="air temperature records −89.2 °C (Vostok 1983) and 56.7 °C (WMO); annual means in China run from about −20 °C (Tibetan plateau) to 26 °C (Hainan)"),
    "temperature_monthly": dict(valid=(-90.0, 60.0), plausible=(-35.0, 40.0), basis="each month's mean within the air temperature records −89.2 °C (Vostok 1983) and 56.7 °C (WMO); in China monthly means run from about −30 °C (January, Mohe) to about 33 °C (July, Turpan)"),
    "precipitation_monthly": dict(valid=(0.0, 10000.0), plausible=(0.0, 2500.0), basis="≥ 0; the wettest calendar month on record is 9,300 mm (Cherrapunji, July 1861, WMO archive of weather and climate extremes); a month above 2,500 mm would be over a third of China's wettest annual total (~6,500 mm, see precipitation)"),
    "temperature_amplitude": dict(valid=(0.0, 40.0), plausible=(0.0, 26.0), basis="half the annual range of monthly means, ≥ 0: about 31 °C at Verkhoyansk (January ≈ −46 °C, July ≈ +16 °C), the largest on Earth; in China from ~4 °C (Hainan) to ~24 °C (Mohe, northern Heilongjiang)"),
    "r_factor": dict(valid=(0.0, 100000.0), plausible=(0.0, 30000.0), basis="≥ 0; global annual rainfall erosivity reaches ~20,000–30,000 MJ·mm/(ha·h·yr) in the humid tropics (Panagos et al. 2017)"),
    "k_factor": dict(valid=(0.0, 0.2), plausible=(0.0, 0.09), basis="≥ 0; the Wischmeier nomograph tops out at 0.09 t·ha·h/(ha·MJ·mm) (0.69 in US units; Renard et al. 1997)"),
    "sand": _PERCENT, "silt": _PERCENT, "clay": _PERCENT,
    "organic_carbon": _PERCENT | dict(plausible=(0.0, 20.0), basis="0–100 %; mineral soils hold < 20 % organic carbon, peat up to ~55 %"),
    "dem": dict(valid=(-500.0, 9000.0), plausible=(-500.0, 9000.0), basis="from the Dead Sea shore (−430 m) to Everest (8,849 m)"),
    "ls_factor": dict(valid=(0.0, 1000.0), plausible=(0.0, 100.0), basis="≥ 0; RUSLE LS reaches a few tens on long, steep slopes (Renard et al. 1997)"),
    "fcover": _FRACTION,
    "et_hot": dict(valid=(0.0, 5000.0), plausible=(0.0, 1500.0), basis="part of the annual evapotranspiration (see et)"),
    "wind_factor": dict(valid=(0.0, 10000.0), plausible=(0.0, 400.0), basis="≥ 0; annual RWEQ weather factors in northern China are reported up to a few hundred kg/m (recalled from RWEQ applications; no table located, so the plausible bound 400 is a wide guess); far above is a unit error"),
    "erodible_fraction": _FRACTION, "crust_factor": _FRACTION, "roughness_factor": _FRACTION,
    "negative_ions": dict(valid=(0.0, 1e6), plausible=(0.0, 100000.0), basis="≥ 0; forests and waterfalls reach a few 10⁴ ion/cm³ (LY/T 2586-2016 grades)"),
}


def _input(name: str, unit: str, description: str = "", **kw) -> "Input":
    """An :class:`Input` with its ranges from :data:`RANGES`."""
    return Input(name, unit, description, **kw, **RANGES[name])
_EMISSIONS = Table("emissions", "pollutant loads per zone (zone_id, pollutant, load, unit); caps the removal under purification_capped_by_load")

CATALOGUE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="provisioning", name_zh="物质供给", category="provisioning",
        methods=(Method("statistics", provisioning.account_statistics, "Σ output × price × ecosystem share, or gross output value"),),
        tables=(Table("production", "output per zone, product and ecosystem (zone_id, product, ecosystem, quantity, unit[, value, origin])"),),
        output_unit="various (per product)", price_keys=("price.product.<product>",),
        references=(SPEC, "GB/T 46869-2025", "UN SEEA EA (2021)"),
    ),
    ServiceSpec(
        id="water_conservation", name_zh="水源涵养", category="regulating",
        methods=(
            Method("water_balance", water_conservation.account_water_balance, "Q = Σ A·(P − P·α − ET)"),
            Method("budyko", water_conservation.account_budyko, "same balance with AET from the Budyko curve (InVEST annual water yield)"),
        ),
        inputs=(
            _input("precipitation", "mm/yr", "annual precipitation"),
            _input("et", "mm/yr", "actual evapotranspiration", methods=("water_balance",)),
            _input("et0", "mm/yr", "reference evapotranspiration", methods=("budyko",)),
            _input("awc", "mm", "plant-available water content (or depth_to_root_restricting_layer and pawc)", methods=("budyko",), required=False),
            _input("depth_to_root_restricting_layer", "mm", "soil depth to the root-restricting layer: AWC = min(root depth, depth) × PAWC (InVEST)", methods=("budyko",), required=False),
            _input("pawc", "dimensionless", "plant-available water capacity fraction, with the depth (InVEST)", methods=("budyko",), required=False),
        ),
        tables=(Table("production", "water_supply rows: local water use, subtracted under water_conservation_net_of_water_use", required=False),),
        output_unit="m**3/yr", price_keys=("price.reservoir_storage",),
        references=(SPEC, "LY/T 1721-2008", "Zhang et al. (2004) WRR 40 W02502", "Sharp et al. (2020) InVEST User's Guide"),
        alternatives=((("awc",), ("depth_to_root_restricting_layer", "pawc")),),
    ),
    ServiceSpec(
        id="soil_retention", name_zh="土壤保持", category="regulating",
        methods=(
            Method("rusle_cover", soil_retention.account_rusle_cover, "RUSLE R·K·LS·(1 − C·P), C from vegetation cover; valued as sediment + N, P at treatment cost (switch soil_retention_value)"),
            Method("rusle_c_lut", soil_retention.account_rusle_c_lut, "RUSLE with C from the class look-up table; valued as rusle_cover"),
        ),
        inputs=(
            _input("r_factor", "MJ*mm/(ha*h*yr)", "rainfall erosivity R"),
            _input("k_factor", "t*ha*h/(ha*MJ*mm)", "soil erodibility K (or the four texture inputs, EPIC)", required=False),
            _input("sand", "percent", "sand content, for K by EPIC when k_factor is not given", required=False),
            _input("silt", "percent", "silt content, for K by EPIC", required=False),
            _input("clay", "percent", "clay content, for K by EPIC", required=False),
            _input("organic_carbon", "percent", "soil organic carbon, for K by EPIC", required=False),
            _input("dem", "m", "elevation, for LS from the slope when ls_factor is not given", required=False),
            _input("ls_factor", "dimensionless", "slope length-steepness factor LS (or dem)", required=False),
            _input("fcover", "dimensionless", "fractional vegetation cover", methods=("rusle_cover",)),
        ),
        output_unit="t/yr",
        price_keys=("price.dredging", "price.soil_n_treatment", "price.soil_p_treatment", "price.fertilizer_dap", "price.fertilizer_kcl", "price.organic_matter"),
        alternatives=((("k_factor",), ("sand", "silt", "clay", "organic_carbon")), (("ls_factor",), ("dem",))),
        references=(SPEC, "Bai Ma Zhuo Ga et al. (2017) 生态学报 37(19) eqs. (4)-(5)", "Renard et al. (1997) USDA AH 703", "Cai et al. (2000)", "Zhang Keli et al. (2007)", "LY/T 1721-2008"),
    ),
    ServiceSpec(
        id="sand_fixation", name_zh="防风固沙", category="regulating",
        methods=(Method("rweq", sand_fixation.account_rweq, "RWEQ potential − actual soil loss"),),
        inputs=(
            _input("wind_factor", "kg/m", "RWEQ weather factor WF"),
            _input("fcover", "dimensionless", "fractional vegetation cover"),
            _input("erodible_fraction", "dimensionless", "erodible fraction EF (else the coefficient set's value)", required=False),
            _input("crust_factor", "dimensionless", "soil crust factor SCF (else the coefficient set's value)", required=False),
            _input("roughness_factor", "dimensionless", "surface roughness K′ (else the coefficient set's value)", required=False),
        ),
        output_unit="t/yr", price_keys=("sand_fixation.restoration_cost",),
        references=(SPEC, "Fryrear et al. (1998) RWEQ", "Gong et al. (2014)"),
    ),
    ServiceSpec(
        id="flood_mitigation", name_zh="洪水调蓄", category="regulating",
        methods=(Method("storage", flood_mitigation.account_storage, "vegetation storm storage + reservoir flood storage (0.35 × total) + marsh surface retention (0.3 m)"),),
        inputs=(_input("storm_rainfall", "mm/yr", "rain falling in storm events"),),
        tables=(Table("reservoirs", "lakes and reservoirs (zone_id, total_storage[, flood_storage])", required=False),),
        output_unit="m**3/yr", price_keys=("price.reservoir_storage",), references=(SPEC, "Bai Ma Zhuo Ga et al. (2017) 生态学报 37(19) §2.4.4", "LY/T 1721-2008"),
    ),
    ServiceSpec(
        id="water_purification", name_zh="水质净化", category="regulating",
        methods=(Method("pollution_tax", purification.account_water_pollution_tax, "min(load, capacity) × tax rate / pollution equivalent"),),
        tables=(_EMISSIONS,), output_unit="t/yr", price_keys=("price.pollution_tax", "pollution.equivalent_value"),
        references=(SPEC, "Environmental Protection Tax Law of the PRC (2018)"),
    ),
    ServiceSpec(
        id="air_purification", name_zh="空气净化", category="regulating",
        methods=(
            Method("treatment_cost", purification.account_air_treatment_cost, "min(emission, capacity) × treatment cost"),
            Method("pollution_tax", purification.account_air_pollution_tax, "min(emission, capacity) × tax rate / pollution equivalent"),
        ),
        tables=(_EMISSIONS,), output_unit="t/yr", price_keys=("price.so2_treatment", "price.nox_treatment", "price.dust_treatment", "price.air_pollution_tax", "pollution.equivalent_value"),
        references=(SPEC, "LY/T 1721-2008", "Environmental Protection Tax Law of the PRC (2018)"),
    ),
    ServiceSpec(
        id="carbon_sequestration", name_zh="固碳", category="regulating",
        methods=(
            Method("nep_rh", carbon.account_nep_rh, "44/12 × (NPP − Σ_months Rh_m(T_m, P_m))"),
            Method("nep_rh_annual", carbon.account_nep_rh_annual, "44/12 × (NPP − Rh) from annual T, P and the temperature amplitude (sinusoidal year)"),
            Method("nep_ratio", carbon.account_nep_ratio, "44/12 × α·NPP"),
            Method("rate_lut", carbon.account_rate_lut, "44/12 × sequestration rate per class"),
        ),
        inputs=(
            _input("npp", "gC/(m**2*yr)", "net primary productivity, as carbon (gC) or dry matter (g)", methods=("nep_rh", "nep_rh_annual", "nep_ratio")),
            _input("temperature_monthly", "degC", "monthly mean air temperature, January to December", methods=("nep_rh",), monthly=True),
            _input("precipitation_monthly", "mm", "precipitation of each month, January to December", methods=("nep_rh",), monthly=True),
            _input("temperature", "degC", "annual mean air temperature (also nep_rh with the switch respiration_monthly off)", methods=("nep_rh_annual",)),
            _input("precipitation", "mm/yr", "annual precipitation (also nep_rh with the switch respiration_monthly off)", methods=("nep_rh_annual",)),
            _input("temperature_amplitude", "delta_degC", "half the difference of the warmest and coldest monthly mean temperature", methods=("nep_rh_annual",)),
        ),
        output_unit="tCO2/yr", price_keys=("price.carbon", "price.carbon_tax_basis"),
        references=(SPEC, "Pei Zhiyong et al. (2010)", "Sharp et al. (2020) InVEST carbon model (stock)"),
    ),
    ServiceSpec(
        id="oxygen_release", name_zh="释氧", category="regulating",
        methods=(
            Method("nep", oxygen.account_nep, "32/44 × CO2 sequestered", needs=("carbon_sequestration",)),
            Method("npp", oxygen.account_npp, "1.19 × NPP (dry matter)"),
        ),
        inputs=(_input("npp", "gC/(m**2*yr)", "net primary productivity", methods=("npp",)),),
        output_unit="t/yr", price_keys=("price.oxygen",), references=(SPEC, "DB33/T 2274-2020", "Miao Jianqun et al. (2017) 生态学报 37(19) Table 1"),
    ),
    ServiceSpec(
        id="climate_regulation", name_zh="气候调节", category="regulating",
        methods=(Method("evaporative_cooling", climate_regulation.account_evaporative_cooling, "plant transpiration on hot days × latent heat / EER + water-surface evaporation × (latent heat + humidifier electricity)"),),
        inputs=(_input("et_hot", "mm/yr", "transpiration and evaporation on days above 26 °C"),),
        output_unit="kWh/yr", price_keys=("price.electricity",), references=(SPEC, "Bai Ma Zhuo Ga et al. (2017) 生态学报 37(19) §2.4.8"),
    ),
    ServiceSpec(
        id="negative_ions", name_zh="负氧离子", category="regulating",
        methods=(Method("ly_t_1721", negative_ions.account_ly_t_1721, "5.256e15 × (Q − 600) × A × H / L"),),
        inputs=(_input("negative_ions", "ion/cm**3", "negative-ion concentration (else the class look-up table)", required=False),),
        output_unit="ion/yr", price_keys=("price.negative_ions",), references=("LY/T 1721-2008", "DB33/T 2274-2020"),
    ),
    ServiceSpec(
        id="recreation", name_zh="休闲旅游", category="cultural",
        methods=(
            Method("travel_cost", recreation.account_travel_cost, "Σ visitors × (time × wage × share + direct cost)"),
            Method("revenue", recreation.account_revenue, "nature-based tourism revenue"),
        ),
        tables=(Table("visitors", "visits per site and zone (zone_id, visitors[, ecosystem, travel_time, wage, direct_cost, revenue])"),),
        output_unit="visit/yr", price_keys=("recreation.time_value_share",), references=(SPEC, "Clawson & Knetsch (1966)"),
    ),
    ServiceSpec(
        id="landscape", name_zh="景观价值", category="cultural",
        methods=(Method("hedonic", landscape_value.account_hedonic, "floor area × capitalised premium × annualisation rate"),),
        tables=(Table("housing", "homes near green and blue space (zone_id, floor_area, premium)"),),
        output_unit="m**2", price_keys=("landscape.annualisation_rate",), references=(SPEC, "Rosen (1974)"),
    ),
)

BY_ID = {s.id: s for s in CATALOGUE}


def _inputs() -> dict[str, str]:
    out: dict[str, str] = {}
    for s in CATALOGUE:
        for i in s.inputs:
            out.setdefault(i.name, i.unit)
    return out


#: Gridded inputs a scenario may give (every input of every service), with the unit expected.
INPUTS: dict[str, str] = _inputs()
#: Inputs given as twelve monthly grids (:attr:`Input.monthly`).
MONTHLY: frozenset[str] = frozenset(i.name for s in CATALOGUE for i in s.inputs if i.monthly)
#: Months of a monthly input, as the suffix of its grids' names (``temperature_monthly_01`` …).
MONTHS: tuple[str, ...] = tuple(f"{m:02d}" for m in range(1, 13))


def input_name(grid: str) -> str:
    """The input a grid of a scenario belongs to: ``temperature_monthly_07`` → ``temperature_monthly``, else ``grid``."""
    name, _, month = grid.rpartition("_")
    return name if name in MONTHLY and month in MONTHS else grid


#: Tabular inputs a scenario may give.
TABLES: tuple[str, ...] = tuple(dict.fromkeys(t.name for s in CATALOGUE for t in s.tables))


def get(service_id: str, where: str = "scenario") -> ServiceSpec:
    """The catalogue entry for ``service_id``; an unknown id suggests the nearest."""
    if service_id in BY_ID:
        return BY_ID[service_id]
    near = nearest(service_id, BY_ID)
    raise ScenarioError(
        f"{where}: unknown service '{service_id}'",
        hint=(f"did you mean '{near}'? " if near else "") + f"services are {', '.join(BY_ID)}",
    )
