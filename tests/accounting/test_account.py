"""The account: its properties (hypothesis: additivity over zones and tiles,
linearity in prices, invariance to the units inputs are given in, the
separation of carbon (tC) from CO2 (tCO2)) and one assembly by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pint
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gep.accounting.account import assemble
from gep.accounting.catalogue import BY_ID
from gep.accounting.compute import compute_services
from gep.errors import UnitError
from gep.accounting.services.result import Component
from gep.units import CO2_PER_C, Q_
from gep.accounting.valuation import Valuation, index_factor, value
from tests.accounting.hand import chain, monthly, run

SETTINGS = settings(max_examples=25, deadline=None)
CLASSES = (211, 212, 22, 31, 33, 12, 11, 42, 46, 64, 51, 61)
ZONE_IDS = (1, 2, 3)
SWITCHES = {"negative_water_conservation": "keep", "purification_capped_by_load": False}

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
    """The landscape, with the monthly climate of the annual grids (the same temperature and P/12 every month)."""
    inputs = dict(inputs)
    if "temperature" in inputs and "precipitation" in inputs:
        (t, t_unit), (p, p_unit) = inputs["temperature"], inputs["precipitation"]
        inputs.update(monthly("temperature_monthly", t, t_unit))
        inputs.update(monthly("precipitation_monthly", p / 12, p_unit.replace("/yr", "")))
    return make_landscape(codes, zones, inputs, tables, zone_ids=ZONE_IDS)


def account_of(ls, coef, services, switches=SWITCHES):
    results = {sid: compute_services(ls, coef, [sid], {"carbon_sequestration": "nep_rh", sid: method}, switches)[sid] for sid, method in services}
    return assemble(results, dict(services), ls.zones, Valuation(coef.price_index, "cpi", 2022))


def close(a, b, rel=1e-9):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(float(np.nanmax(np.abs(a), initial=0.0)), float(np.nanmax(np.abs(b), initial=0.0)), 1e-300)
    np.testing.assert_allclose(a, b, rtol=rel, atol=rel * scale)


def split(codes, zones, inputs, k):
    left = (codes[:, :k], zones[:, :k], {n: (v[:, :k], u) for n, (v, u) in inputs.items()})
    right = (codes[:, k:], zones[:, k:], {n: (v[:, k:], u) for n, (v, u) in inputs.items()})
    return left, right


# --------------------------------------------------------------------------- additivity over tiles (and zoning)


def check_tiles(coef, make_landscape, codes, zones, inputs, k, service, zoning=False):
    """Whole grid = left tile + right tile, zone by zone (and, with ``zoning``, merging all zones keeps the total)."""
    whole = account_of(make(make_landscape, codes, zones, inputs), coef, [service]).data
    (lc, lz, li), (rc, rz, ri) = split(codes, zones, inputs, k)
    left = account_of(make(make_landscape, lc, lz, li), coef, [service]).data
    right = account_of(make(make_landscape, rc, rz, ri), coef, [service]).data
    close(whole["quantity"], left["quantity"] + right["quantity"])
    close(whole["value"], left["value"] + right["value"])
    if zoning:
        # a service not capped by zone loads does not depend on the zoning: all zones merged into zone 1
        merged = account_of(make(make_landscape, codes, np.where(zones > 0, 1, 0), inputs), coef, [service]).data
        close(merged["value"].sum(), whole["value"].sum())
        close(merged["quantity"].sum("zone"), whole["quantity"].sum("zone"))


@SETTINGS
@given(data=landscapes(min_cols=2), service=st.sampled_from(TILE_SERVICES), cut=st.integers(1, 3))
def test_uncapped_account_is_additive_over_tiles(coef, make_landscape, data, service, cut):
    codes, zones, inputs = data
    check_tiles(coef, make_landscape, codes, zones, inputs, min(cut, codes.shape[1] - 1), service)


@pytest.mark.parametrize("service", TILE_SERVICES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_every_uncapped_service_is_additive_over_tiles_and_zones(coef, make_landscape, service):
    # the same property, deterministically for every service and method
    rng = np.random.default_rng(7)
    codes = rng.choice(CLASSES, size=(3, 4))
    zones = rng.choice((0,) + ZONE_IDS, size=(3, 4))
    inputs = {n: (rng.uniform(lo, hi, size=(3, 4)), u) for n, u, lo, hi in INPUTS}
    check_tiles(coef, make_landscape, codes, zones, inputs, 2, service, zoning=True)


@pytest.mark.parametrize("service", TILE_SERVICES, ids=lambda s: f"{s[0]}-{s[1]}")
def test_nan_inputs_outside_the_region_do_not_leak_into_the_account(coef, make_landscape, service):
    # gep.accounting.region keeps NaN (nodata) of input rasters outside the region; those cells must not count
    rng = np.random.default_rng(11)
    codes = rng.choice(CLASSES, size=(3, 4))
    codes[0, 0] = 0  # nodata land cover
    zones = rng.choice((0,) + ZONE_IDS, size=(3, 4))
    inputs = {n: (rng.uniform(lo, hi, size=(3, 4)), u) for n, u, lo, hi in INPUTS}
    outside = (codes == 0) | (zones == 0)
    assert outside.any() and not outside.all()
    with_nan = {n: (np.where(outside, np.nan, v), u) for n, (v, u) in inputs.items()}
    a = account_of(make(make_landscape, codes, zones, inputs), coef, [service]).data
    b = account_of(make(make_landscape, codes, zones, with_nan), coef, [service]).data
    assert np.isfinite(b["value"]).all()
    close(a["value"], b["value"])


# --------------------------------------------------------------------------- additivity over zones


def tables():
    z = list(ZONE_IDS)
    return {
        "production": pd.DataFrame({"zone_id": z, "product": ["rice"] * 3, "ecosystem": ["cropland"] * 3, "quantity": [10.0, 20.0, 5.0], "unit": ["t"] * 3}),
        "emissions": pd.DataFrame({"zone_id": z * 2, "pollutant": ["COD"] * 3 + ["SO2"] * 3, "load": [0.01, 0.5, 0.0, 0.002, 1.0, 0.0], "unit": ["t/yr"] * 6}),
        "visitors": pd.DataFrame({"zone_id": z, "visitors": [100, 200, 300], "travel_time": [1.0, 2.0, 3.0], "wage": [40.0] * 3, "direct_cost": [50.0] * 3}),
        "housing": pd.DataFrame({"zone_id": z, "floor_area": [1000.0, 0.0, 500.0], "premium": [300.0] * 3}),
    }


#: Every service with its default method, capped purification and table-based services included.
ALL_SERVICES = tuple((s, BY_ID[s].default_method) for s in BY_ID)
CAPPED = {"purification_capped_by_load": True, "negative_water_conservation": "clamp_total", "water_conservation_net_of_water_use": True}


@SETTINGS
@given(data=landscapes(), service=st.sampled_from(ALL_SERVICES), zone=st.sampled_from(ZONE_IDS))
def test_account_is_additive_over_zones(coef, make_landscape, data, service, zone):
    codes, zones, inputs = data
    full = account_of(make(make_landscape, codes, zones, inputs, tables()), coef, [service], CAPPED)
    # the per-zone totals add up to the total
    zt = full.zone_table()
    by_zone = full.data["value"].sum(("service", "ecosystem"))
    assert float(zt["gep_cny"].sum()) == pytest.approx(full.gep, rel=1e-9, abs=1e-9)
    assert float(by_zone.sum()) == pytest.approx(full.gep, rel=1e-9, abs=1e-9)
    close(zt["gep_cny"].to_numpy(), by_zone.values)
    # and each zone's row is what the zone alone yields (caps and allocations are per zone)
    alone = account_of(make(make_landscape, codes, np.where(zones == zone, zone, 0), inputs, tables()), coef, [service], CAPPED)
    close(alone.data["value"].sel(zone=zone), full.data["value"].sel(zone=zone))
    close(alone.data["quantity"].sel(zone=zone), full.data["quantity"].sel(zone=zone))


# --------------------------------------------------------------------------- linearity in prices


#: (price override, unit text, service priced with it)
PRICED = (  # the price is read from the set, so a corrected set version does not break the property
    ("price.reservoir_storage", "CNY/m**3", ("water_conservation", "water_balance")),
    ("price.reservoir_storage", "CNY/m**3", ("flood_mitigation", "storage")),
    ("price.carbon", "CNY/tCO2", ("carbon_sequestration", "rate_lut")),
    ("price.electricity", "CNY/kWh", ("climate_regulation", "evaporative_cooling")),
)


@SETTINGS
@given(data=landscapes(), k=st.floats(0.01, 100.0), priced=st.sampled_from(PRICED), as_text=st.booleans())
def test_value_is_linear_in_the_price(coef, make_landscape, data, k, priced, as_text):
    codes, zones, inputs = data
    ls = make(make_landscape, codes, zones, inputs)
    key, unit, service = priced
    price = float(coef.row(key)["value"])
    base = account_of(ls, coef, [service])
    # the price × k, as a number in the row's unit or as a string with a unit (in wan CNY = 10⁴ CNY)
    new = f"{price * k / 1e4!r} {unit.replace('CNY', 'wan_CNY')}" if as_text else price * k
    scaled = account_of(ls, coef.with_overrides({key: new}), [service])
    close(scaled.data["value"], base.data["value"] * k, rel=1e-9)
    close(scaled.data["quantity"], base.data["quantity"])


# --------------------------------------------------------------------------- unit invariance


def converted(inputs, name, unit, factor=1.0, offset=0.0):
    out = dict(inputs)
    v, _ = inputs[name]
    out[name] = (v * factor + offset, unit)
    return out


def with_cell_area_in(ls, unit, factor):
    ls.grid["cell_area"] = (ls.grid["cell_area"] * factor).assign_attrs(units=unit)
    return ls


#: Grid services: each reads the cell area through @unitful, so its unit attribute is honoured.
AREA_SAFE = (
    ("water_conservation", "water_balance"), ("soil_retention", "rusle_cover"), ("sand_fixation", "rweq"),
    ("flood_mitigation", "storage"), ("water_purification", "pollution_tax"),
    ("air_purification", "treatment_cost"), ("carbon_sequestration", "nep_rh"), ("carbon_sequestration", "rate_lut"),
    ("oxygen_release", "npp"), ("climate_regulation", "evaporative_cooling"), ("negative_ions", "ly_t_1721"),
)

#: (input, other unit, factor, offset, services it feeds); 'cell_area' is the landscape's own [m²] grid
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
    ("cell_area", "ha", 1e-4, 0.0, AREA_SAFE),
    ("cell_area", "km**2", 1e-6, 0.0, AREA_SAFE),
    ("cell_area", "mu", 0.0015, 0.0, AREA_SAFE),
)


@SETTINGS
@given(data=landscapes(), case=st.sampled_from(UNIT_CASES), pick=st.integers(0, 10))
def test_account_does_not_depend_on_input_units(coef, make_landscape, data, case, pick):
    codes, zones, inputs = data
    name, unit, factor, offset, fed = case
    services = [fed[pick % len(fed)]]
    a = account_of(make(make_landscape, codes, zones, inputs), coef, services)
    if name == "cell_area":
        b = account_of(with_cell_area_in(make(make_landscape, codes, zones, inputs), unit, factor), coef, services)
        close(a.extras.get("carbon_stock", 0.0), b.extras.get("carbon_stock", 0.0), rel=1e-8)
    else:
        b = account_of(make(make_landscape, codes, zones, converted(inputs, name, unit, factor, offset)), coef, services)
    close(a.data["quantity"], b.data["quantity"], rel=1e-8)
    close(a.data["value"], b.data["value"], rel=1e-8)


@pytest.mark.parametrize("service", AREA_SAFE, ids=lambda s: f"{s[0]}-{s[1]}")
def test_every_grid_service_honours_the_cell_area_unit(coef, make_landscape, service):
    # regression: soil_retention and sand_fixation once multiplied the cell area's magnitude by 1e-4 / 1e-3
    # assuming m², ignoring its 'units' attribute
    rng = np.random.default_rng(3)
    codes, zones = np.array([[211, 31], [12, 46]]), np.array([[1, 1], [2, 2]])
    inputs = {n: (rng.uniform(lo, hi, size=(2, 2)), u) for n, u, lo, hi in INPUTS}
    a = account_of(make(make_landscape, codes, zones, inputs), coef, [service])
    b = account_of(with_cell_area_in(make(make_landscape, codes, zones, inputs), "ha", 1e-4), coef, [service])
    assert float(np.abs(a.data["quantity"]).sum()) > 0
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
@given(q=arrays(np.float64, (len(ZONE_IDS), 8), elements=finite))
def test_valuing_tco2_with_a_per_tc_price_raises(coef, q):
    quantity = xr.DataArray(q, dims=("zone", "ecosystem"), attrs={"units": "tCO2/yr"})
    price, year = coef.price("price.carbon_tax_basis")
    assert f"{price.units}" == "CNY/tC"
    with pytest.raises(UnitError, match="not money"):
        value(Component("CO2", quantity, price, year, "price.carbon_tax_basis"), coef.price_index, "cpi", 2022)
    # converted explicitly to t C (× 12/44), the same price applies
    in_c = (quantity / (44 / 12)).assign_attrs(units="tC/yr")
    valued = value(Component("C", in_c, price, year, "price.carbon_tax_basis"), coef.price_index, "cpi", 2022)
    close(valued.value, q * 12 / 44 * 1200 * index_factor(coef.price_index, "cpi", 2008, 2022))


# --------------------------------------------------------------------------- by hand


def test_assemble_current_and_comparable_prices(coef, make_landscape):
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], {
        "precipitation": (1200, "mm/yr"), "et": (np.array([[700, 500], [900, 600]], float), "mm/yr"), "et_hot": (300, "mm/yr")})
    results = {"water_conservation": run("water_conservation", ls, coef, "water_balance"), "climate_regulation": run("climate_regulation", ls, coef)}
    acc = assemble(results, {"water_conservation": "water_balance", "climate_regulation": "evaporative_cooling"}, ls.zones, Valuation(coef.price_index, "cpi", 2022, base_year=2020))
    water = 1232.604 * 7.06 * chain(2010)  # 11,469.697 CNY
    climate = (61250 * 2 + 93650) * 0.5223  # 112,895.1 CNY
    assert acc.gep == pytest.approx(water + climate)
    assert acc.category_totals() == pytest.approx({"provisioning": 0.0, "regulating": water + climate, "cultural": 0.0})
    # comparable (2020) prices: reservoir cost 7.06 × CPI 2011..2020; electricity 0.5223 (2022) deflated by 1/(1.009 × 1.020)
    comp = 1232.604 * 7.06 * chain(2010, 2020) + climate / (1.009 * 1.020)
    assert float(acc.data["value_comparable"].sum()) == pytest.approx(comp)
    zt = acc.zone_table()
    z1 = (421.164 + 541.44) * 7.06 * chain(2010) + 2 * 61250 * 0.5223
    assert float(zt.loc[zt.zone == 1, "gep_cny"].iloc[0]) == pytest.approx(z1)
