"""Properties of the account (hypothesis): additivity over zones and tiles,
linearity in prices, invariance to the units inputs are given in, and the
separation of carbon (tC) from CO2 (tCO2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gep.account import assemble
from gep.catalogue import BY_ID
from gep.errors import UnitError
from gep.services.result import Component
from gep.units import CO2_PER_C, Q_
from gep.valuation import value

SETTINGS = settings(max_examples=25, deadline=None)
CLASSES = (211, 212, 22, 31, 33, 12, 11, 42, 46, 64, 51, 61)
ZONE_IDS = (1, 2, 3)
SWITCHES = {"negative_water_conservation": "keep", "purification_capped_by_load": False, "carbon_method": "nep_rh"}

#: Grid services whose per-cell quantities are not capped by zone loads or clamped per zone.
TILE_SERVICES = (
    ("water_conservation", "water_balance"), ("water_conservation", "budyko"),
    ("soil_retention", "rusle_cover"), ("soil_retention", "rusle_c_lut"),
    ("sand_fixation", "rweq"), ("flood_mitigation", "storage"),
    ("water_purification", "pollution_tax"), ("air_purification", "treatment_cost"),
    ("carbon_sequestration", "nep_rh"), ("carbon_sequestration", "nep_ratio"), ("carbon_sequestration", "rate_lut"),
    ("oxygen_release", "nep"), ("oxygen_release", "npp"),
    ("climate_regulation", "evaporative_cooling"), ("negative_ions", "ly_t_1721"),
)

#: (name, unit, low, high) of the gridded inputs drawn for every landscape.
INPUTS = (
    ("precipitation", "mm/yr", 400.0, 2500.0), ("et", "mm/yr", 100.0, 1500.0), ("et0", "mm/yr", 300.0, 1800.0),
    ("awc", "mm", 10.0, 300.0), ("r_factor", "MJ*mm/(ha*h*yr)", 500.0, 10000.0), ("k_factor", "t*ha*h/(ha*MJ*mm)", 0.005, 0.05),
    ("ls_factor", "dimensionless", 0.1, 10.0), ("fcover", "percent", 0.0, 100.0), ("wind_factor", "kg/m", 1.0, 200.0),
    ("storm_rainfall", "mm/yr", 100.0, 1500.0), ("npp", "gC/(m**2*yr)", 100.0, 1500.0), ("temperature", "degC", -5.0, 30.0),
    ("et_hot", "mm/yr", 0.0, 500.0),
)


@st.composite
def landscapes(draw, min_cols=1):
    """``(codes, zones, inputs)`` of a small random grid."""
    ny, nx = draw(st.integers(1, 3)), draw(st.integers(min_cols, 4))
    codes = draw(arrays(np.int64, (ny, nx), elements=st.sampled_from(CLASSES)))
    zones = draw(arrays(np.int64, (ny, nx), elements=st.sampled_from((0,) + ZONE_IDS)))
    inputs = {}
    for name, unit, lo, hi in INPUTS:
        grid = draw(arrays(np.float64, (ny, nx), elements=st.floats(lo, hi, allow_nan=False, allow_infinity=False)))
        inputs[name] = (grid, unit)
    return codes, zones, inputs


def make(make_landscape, codes, zones, inputs, tables=None):
    return make_landscape(codes, zones, inputs, tables, zone_ids=ZONE_IDS)


def account_of(ls, coef, services, switches=SWITCHES):
    results = {sid: BY_ID[sid].account(ls, coef, method, switches) for sid, method in services}
    return assemble(results, dict(services), ls.zones, 2022, coef.price_index, "cpi")


def close(a, b, rel=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(float(np.nanmax(np.abs(a), initial=0.0)), float(np.nanmax(np.abs(b), initial=0.0)), 1e-300)
    np.testing.assert_allclose(a, b, rtol=rel, atol=rel * scale)


def split(codes, zones, inputs, k):
    left = (codes[:, :k], zones[:, :k], {n: (v[:, :k], u) for n, (v, u) in inputs.items()})
    right = (codes[:, k:], zones[:, k:], {n: (v[:, k:], u) for n, (v, u) in inputs.items()})
    return left, right


# --------------------------------------------------------------------------- additivity over tiles


def check_tiles(coef, make_landscape, codes, zones, inputs, k, service):
    whole = account_of(make(make_landscape, codes, zones, inputs), coef, [service]).data
    (lc, lz, li), (rc, rz, ri) = split(codes, zones, inputs, k)
    left = account_of(make(make_landscape, lc, lz, li), coef, [service]).data
    right = account_of(make(make_landscape, rc, rz, ri), coef, [service]).data
    close(whole["quantity"], left["quantity"] + right["quantity"])
    close(whole["value"], left["value"] + right["value"])


@SETTINGS
@given(data=landscapes(min_cols=2), service=st.sampled_from(TILE_SERVICES), cut=st.integers(1, 3))
def test_account_is_additive_over_tiles(coef, make_landscape, data, service, cut):
    codes, zones, inputs = data
    check_tiles(coef, make_landscape, codes, zones, inputs, min(cut, codes.shape[1] - 1), service)


@pytest.mark.parametrize("service", TILE_SERVICES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_every_uncapped_service_is_additive_over_tiles(coef, make_landscape, service):
    # the same property, deterministically for every service and method
    rng = np.random.default_rng(7)
    codes = rng.choice(CLASSES, size=(3, 4))
    zones = rng.choice((0,) + ZONE_IDS, size=(3, 4))
    inputs = {n: (rng.uniform(lo, hi, size=(3, 4)), u) for n, u, lo, hi in INPUTS}
    check_tiles(coef, make_landscape, codes, zones, inputs, 2, service)


# --------------------------------------------------------------------------- additivity over zones


def tables_for(zones_present):
    z = list(ZONE_IDS)
    return {
        "production": pd.DataFrame({"zone_id": z, "product": ["rice"] * 3, "ecosystem": ["cropland"] * 3, "quantity": [10.0, 20.0, 5.0], "unit": ["t"] * 3}),
        "emissions": pd.DataFrame({"zone_id": z * 2, "pollutant": ["COD"] * 3 + ["SO2"] * 3, "load": [0.01, 0.5, 0.0, 0.002, 1.0, 0.0], "unit": ["t/yr"] * 6}),
        "visitors": pd.DataFrame({"zone_id": z, "visitors": [100, 200, 300], "travel_time": [1.0, 2.0, 3.0], "wage": [40.0] * 3, "direct_cost": [50.0] * 3}),
        "housing": pd.DataFrame({"zone_id": z, "floor_area": [1000.0, 0.0, 500.0], "premium": [300.0] * 3}),
    }


ALL_SERVICES = tuple((s, BY_ID[s].default_method) for s in BY_ID)


@SETTINGS
@given(data=landscapes(), services=st.lists(st.sampled_from(ALL_SERVICES), min_size=1, max_size=3, unique=True))
def test_zone_totals_add_up_to_the_total(coef, make_landscape, data, services):
    codes, zones, inputs = data
    ls = make(make_landscape, codes, zones, inputs, tables_for(ZONE_IDS))
    acc = account_of(ls, coef, services, {"purification_capped_by_load": True})
    zt = acc.zone_table()
    assert float(zt["gep_cny"].sum()) == pytest.approx(acc.gep, rel=1e-9, abs=1e-9)
    by_zone = acc.data["value"].sum(("service", "ecosystem"))
    assert float(by_zone.sum()) == pytest.approx(acc.gep, rel=1e-9, abs=1e-9)
    close(zt["gep_cny"].to_numpy(), by_zone.values)


@SETTINGS
@given(data=landscapes(), service=st.sampled_from(TILE_SERVICES))
def test_uncapped_total_does_not_depend_on_the_zoning(coef, make_landscape, data, service):
    # merging every zone into zone 1 keeps the total of a service that is not capped by zone loads
    codes, zones, inputs = data
    split_zones = account_of(make(make_landscape, codes, zones, inputs), coef, [service])
    merged = account_of(make(make_landscape, codes, np.where(zones > 0, 1, 0), inputs), coef, [service])
    assert merged.gep == pytest.approx(split_zones.gep, rel=1e-9, abs=1e-9)
    close(merged.data["quantity"].sum("zone"), split_zones.data["quantity"].sum("zone"))


# --------------------------------------------------------------------------- linearity in prices


@SETTINGS
@given(data=landscapes(), k=st.floats(0.01, 100.0), as_text=st.booleans())
def test_value_is_linear_in_the_price(coef, make_landscape, data, k, as_text):
    codes, zones, inputs = data
    ls = make(make_landscape, codes, zones, inputs)
    services = [("water_conservation", "water_balance"), ("flood_mitigation", "storage")]
    base = account_of(ls, coef, services)
    # 6.1107 CNY/m³ × k, as a number in the row's unit or as a string in wan CNY per m³
    new = f"{6.1107 * k / 1e4!r} wan_CNY/m**3" if as_text else 6.1107 * k
    scaled = account_of(ls, coef.with_overrides({"price.reservoir_storage": new}), services)
    close(scaled.data["value"], base.data["value"] * k, rel=1e-9)
    close(scaled.data["quantity"], base.data["quantity"])


@SETTINGS
@given(data=landscapes(), k=st.floats(0.01, 100.0))
def test_carbon_value_is_linear_in_the_carbon_price(coef, make_landscape, data, k):
    codes, zones, inputs = data
    ls = make(make_landscape, codes, zones, inputs)
    services = [("carbon_sequestration", "rate_lut")]
    base = account_of(ls, coef, services)
    scaled = account_of(ls, coef.with_overrides({"price.carbon": f"{55 * k!r} CNY/tCO2"}), services)
    close(scaled.data["value"], base.data["value"] * k)


# --------------------------------------------------------------------------- unit invariance


def converted(inputs, name, unit, factor=1.0, offset=0.0):
    out = dict(inputs)
    v, _ = inputs[name]
    out[name] = (v * factor + offset, unit)
    return out


#: (input, other unit, factor, offset, services it feeds)
UNIT_CASES = (
    ("precipitation", "m/yr", 1e-3, 0.0, (("water_conservation", "water_balance"), ("water_conservation", "budyko"), ("carbon_sequestration", "nep_rh"))),
    ("et", "m/yr", 1e-3, 0.0, (("water_conservation", "water_balance"),)),
    ("awc", "cm", 0.1, 0.0, (("water_conservation", "budyko"),)),
    ("temperature", "K", 1.0, 273.15, (("carbon_sequestration", "nep_rh"), ("oxygen_release", "nep"))),
    ("npp", "kgC/(m**2*yr)", 1e-3, 0.0, (("carbon_sequestration", "nep_rh"), ("carbon_sequestration", "nep_ratio"), ("oxygen_release", "npp"))),
    ("npp", "tC/(ha*yr)", 1e-2, 0.0, (("carbon_sequestration", "nep_ratio"),)),
    ("r_factor", "MJ*mm/(km**2*h*yr)", 100.0, 0.0, (("soil_retention", "rusle_cover"),)),
    ("fcover", "dimensionless", 1e-2, 0.0, (("soil_retention", "rusle_cover"), ("sand_fixation", "rweq"))),
    ("storm_rainfall", "cm/yr", 0.1, 0.0, (("flood_mitigation", "storage"),)),
    ("et_hot", "m/yr", 1e-3, 0.0, (("climate_regulation", "evaporative_cooling"),)),
)


@SETTINGS
@given(data=landscapes(), case=st.sampled_from(UNIT_CASES))
def test_account_does_not_depend_on_input_units(coef, make_landscape, data, case):
    codes, zones, inputs = data
    name, unit, factor, offset, services = case
    a = account_of(make(make_landscape, codes, zones, inputs), coef, services)
    b = account_of(make(make_landscape, codes, zones, converted(inputs, name, unit, factor, offset)), coef, services)
    close(a.data["quantity"], b.data["quantity"], rel=1e-8)
    close(a.data["value"], b.data["value"], rel=1e-8)


def with_cell_area_in(ls, unit, factor):
    ls.grid["cell_area"] = (ls.grid["cell_area"] * factor).assign_attrs(units=unit)
    return ls


AREA_SAFE = (
    ("water_conservation", "water_balance"), ("flood_mitigation", "storage"), ("water_purification", "pollution_tax"),
    ("air_purification", "treatment_cost"), ("carbon_sequestration", "nep_rh"), ("carbon_sequestration", "rate_lut"),
    ("oxygen_release", "npp"), ("climate_regulation", "evaporative_cooling"), ("negative_ions", "ly_t_1721"),
)


@SETTINGS
@given(data=landscapes(), service=st.sampled_from(AREA_SAFE), unit=st.sampled_from((("ha", 1e-4), ("km**2", 1e-6), ("mu", 0.0015))))
def test_account_does_not_depend_on_the_cell_area_unit(coef, make_landscape, data, service, unit):
    codes, zones, inputs = data
    a = account_of(make(make_landscape, codes, zones, inputs), coef, [service])
    b = account_of(with_cell_area_in(make(make_landscape, codes, zones, inputs), *unit), coef, [service])
    close(a.data["quantity"], b.data["quantity"], rel=1e-8)
    close(a.extras.get("carbon_stock", 0.0), b.extras.get("carbon_stock", 0.0), rel=1e-8)


@pytest.mark.xfail(
    strict=True,
    reason="soil_retention.account (gep/services/soil_retention.py:214) and sand_fixation.account "
    "(gep/services/sand_fixation.py:77) multiply ls.cell_area's magnitude by 1e-4 / 1e-3 assuming m² and ignore its "
    "'units' attribute, which every other service honours through @unitful(area='m**2')",
)
@pytest.mark.parametrize("service", [("soil_retention", "rusle_cover"), ("sand_fixation", "rweq")], ids=lambda s: s[0])
def test_cell_area_unit_in_soil_and_sand_services(coef, make_landscape, service):
    rng = np.random.default_rng(3)
    codes = np.array([[211, 31], [12, 22]])
    inputs = {n: (rng.uniform(lo, hi, size=(2, 2)), u) for n, u, lo, hi in INPUTS}
    a = account_of(make(make_landscape, codes, [[1, 1], [2, 2]], inputs), coef, [service])
    b = account_of(with_cell_area_in(make(make_landscape, codes, [[1, 1], [2, 2]], inputs), "ha", 1e-4), coef, [service])
    close(a.data["quantity"], b.data["quantity"], rel=1e-8)


# --------------------------------------------------------------------------- tC vs tCO2

finite = st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(c=finite, co2=finite)
def test_tc_and_tco2_cannot_be_added(c, co2):
    with pytest.raises(pint.DimensionalityError):
        Q_(c, "tC") + Q_(co2, "tCO2")
    with pytest.raises(pint.DimensionalityError):
        Q_(c, "tC").to("tCO2")
    # only through the explicit stoichiometric factor 44/12
    total = Q_(c, "tC") * CO2_PER_C + Q_(co2, "tCO2")
    assert total.to("tCO2").magnitude == pytest.approx(c * 44 / 12 + co2)


@SETTINGS
@given(data=landscapes())
def test_valuing_tco2_with_a_per_tc_price_raises(coef, make_landscape, data):
    codes, zones, inputs = data
    res = BY_ID["carbon_sequestration"].account(make(make_landscape, codes, zones, inputs), coef, "rate_lut", {})
    assert res.quantity.attrs["units"] == "tCO2/yr"
    price, year = coef.price("price.carbon_tax_basis")
    assert f"{price.units}" == "CNY/tC"
    with pytest.raises(UnitError, match="not money"):
        value(Component("CO2", res.quantity, price, year, "price.carbon_tax_basis"), coef.price_index, "cpi", 2022)
