"""Parcel accounts: hand-checked shares, additivity over tiling parcels, the whole region, and
the per-cell value map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gep.accounting import parcels as apportion
from gep.accounting.account import assemble
from gep.accounting.catalogue import BY_ID
from gep.accounting.valuation import Valuation

#   codes                zones
#   211 211  11  11      1 1 2 2
#   211  43  11  12      1 1 2 2
#    51  43  12  12      1 1 2 2
CODES = np.array([[211, 211, 11, 11], [211, 43, 11, 12], [51, 43, 12, 12]])
ZONES = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2]])
P = np.array([[1200.0, 1300.0, 1100.0, 1150.0], [1250.0, 1200.0, 1120.0, 1130.0], [1200.0, 1210.0, 1140.0, 1160.0]])
ET = np.array([[700.0, 650.0, 720.0, 710.0], [690.0, 900.0, 705.0, 680.0], [300.0, 910.0, 690.0, 670.0]])
SERVICES = (("provisioning", "statistics"), ("water_conservation", "water_balance"), ("flood_mitigation", "storage"))
SWITCHES = {"negative_water_conservation": "keep", "water_conservation_net_of_water_use": False}


@pytest.fixture()
def landscape(make_landscape):
    production = pd.DataFrame({"zone_id": [1, 2, 2], "product": ["timber", "rice", "wheat"], "ecosystem": ["forest", "cropland", "cropland"], "quantity": [100.0, 50.0, 20.0], "unit": ["m**3", "t", "t"]})
    production.attrs.update(units={}, path="production.csv")
    return make_landscape(CODES, ZONES, {"precipitation": (P, "mm/yr"), "et": (ET, "mm/yr"), "storm_rainfall": (P * 0.2, "mm/yr")}, tables={"production": production}, cell_size=100.0)


def results_of(ls, coef):
    return {sid: BY_ID[sid].compute(ls, coef, m, SWITCHES) for sid, m in SERVICES}


def value(results, ls, coef):
    return assemble(results, dict(SERVICES), ls.zones, Valuation(coef.price_index, "cpi", 2022))


def test_whole_region_parcel_is_the_region(landscape, coef):
    res = results_of(landscape, coef)
    full = value(res, landscape, coef)
    part = value(apportion.apportion(res, landscape, np.ones(CODES.shape)), landscape, coef)
    np.testing.assert_allclose(part.data["value"].values, full.data["value"].values, rtol=1e-12)
    np.testing.assert_allclose(np.nan_to_num(part.data["quantity"].values), np.nan_to_num(full.data["quantity"].values), rtol=1e-12)


def test_one_cell_of_a_cell_based_service(landscape, coef):
    res = results_of(landscape, coef)
    w = np.zeros(CODES.shape)
    w[0, 0] = 1.0  # forest cell of zone 1: water conservation = A·(P − P·α − ET)
    part = apportion.apportion(res, landscape, w)
    alpha = float(coef.quantity("water_conservation.runoff_coefficient", "211").to("dimensionless").magnitude)
    expected = 1e4 * (1200.0 - 1200.0 * alpha - 700.0) / 1000.0  # m² · mm → m³
    got = part["water_conservation"].quantity.sel(zone=1, ecosystem="forest").item()
    assert got == pytest.approx(expected, rel=1e-9)
    assert float(part["water_conservation"].quantity.sum()) == pytest.approx(expected, rel=1e-9)


def test_table_services_are_shared_by_area(landscape, coef):
    res = results_of(landscape, coef)
    w = np.zeros(CODES.shape)
    w[0, 2] = 1.0  # one of zone 2's six cropland cells
    w[1, 3] = 0.5  # half of another
    part = value(apportion.apportion(res, landscape, w), landscape, coef)
    full = value(res, landscape, coef)
    prov_full = float(full.data["value"].sel(service="provisioning", zone=2, ecosystem="cropland"))
    assert float(part.data["value"].sel(service="provisioning", zone=2).sum()) == pytest.approx(prov_full * 1.5 / 6, rel=1e-12)
    assert float(part.data["value"].sel(service="provisioning", zone=1).sum()) == 0.0


@settings(max_examples=20, deadline=None)
@given(w=arrays(np.float64, CODES.shape, elements=st.floats(0.0, 1.0)))
def test_tiling_parcels_add_up(make_landscape, coef, w):
    production = pd.DataFrame({"zone_id": [1, 2], "product": ["timber", "rice"], "ecosystem": ["forest", "cropland"], "quantity": [100.0, 50.0], "unit": ["m**3", "t"]})
    production.attrs.update(units={}, path="production.csv")
    ls = make_landscape(CODES, ZONES, {"precipitation": (P, "mm/yr"), "et": (ET, "mm/yr"), "storm_rainfall": (P * 0.2, "mm/yr")}, tables={"production": production}, cell_size=100.0)
    res = results_of(ls, coef)
    a = value(apportion.apportion(res, ls, w), ls, coef).data["value"].values
    b = value(apportion.apportion(res, ls, 1.0 - w), ls, coef).data["value"].values
    full = value(res, ls, coef).data["value"].values
    np.testing.assert_allclose(a + b, full, rtol=1e-9, atol=1e-6)


def test_cell_values_sum_to_the_account(landscape, coef):
    res = results_of(landscape, coef)
    acc = value(res, landscape, coef)
    cells = apportion.cell_values(landscape, res, acc.data["value"]).values
    assert cells.sum() == pytest.approx(acc.gep, rel=1e-12)
    by_zone = [cells[ZONES == z].sum() for z in (1, 2)]
    np.testing.assert_allclose(by_zone, acc.data["value"].sum(("service", "ecosystem")).values, rtol=1e-12)
    # a parcel's GEP is the weighted sum of the per-cell values (services shared by one map each)
    w = np.random.default_rng(1).random(CODES.shape)
    part = value(apportion.apportion(res, landscape, w), landscape, coef)
    assert part.gep == pytest.approx(float((w * cells).sum()), rel=1e-9)


def test_value_maps_by_service_add_up_to_the_gep_map_and_the_account(landscape, coef):
    res = results_of(landscape, coef)
    acc = value(res, landscape, coef)
    maps = apportion.service_values(landscape, res, acc.data["value"])
    assert set(maps) == {f"value_{sid}" for sid in res}
    for sid in res:  # float32 maps
        assert float(maps[f"value_{sid}"].values.astype(np.float64).sum()) == pytest.approx(float(acc.data["value"].sel(service=sid).sum()), rel=1e-6, abs=1e-3)
    total = sum(m.values.astype(np.float64) for m in maps.values())
    np.testing.assert_allclose(total, apportion.cell_values(landscape, res, acc.data["value"]).values, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("sid", ["provisioning", "water_conservation"])  # shared by area; by its own map
def test_a_run_of_one_service_takes_its_value_map_as_the_gep_map_to_the_bit(landscape, coef, sid):
    res = {sid: results_of(landscape, coef)[sid]}
    acc = value(res, landscape, coef)
    values = apportion.service_values(landscape, res, acc.data["value"])
    cells = apportion.extra_cells(landscape, res, acc.data["value"], values=values)
    expected = apportion.cell_values(landscape, res, acc.data["value"]).values.astype(np.float32)
    assert cells["gep_value"].dtype == np.float32 and cells["gep_value"].attrs["long_name"].startswith("GEP per cell")
    np.testing.assert_array_equal(cells["gep_value"].values, expected)  # not only close: the same numbers
    np.testing.assert_array_equal(cells["gep_value"].values, values[f"value_{sid}"].values)


def test_ecosystem_index_and_land_cover_of_each_cell_and_outside(make_landscape, coef):
    zones = ZONES.copy()
    zones[0, 0] = 0  # outside the region
    ls = make_landscape(CODES, zones, {"precipitation": (P, "mm/yr"), "et": (ET, "mm/yr"), "storm_rainfall": (P * 0.2, "mm/yr")}, cell_size=100.0)
    res = {sid: BY_ID[sid].compute(ls, coef, m, SWITCHES) for sid, m in SERVICES if sid != "provisioning"}
    acc = assemble(res, dict(SERVICES), ls.zones, Valuation(coef.price_index, "cpi", 2022))
    cells = apportion.extra_cells(ls, res, acc.data["value"])
    assert cells["landcover"].dtype == np.int32 and cells["ecosystem_index"].dtype == np.int16
    np.testing.assert_array_equal(cells["landcover"].values, np.where(zones > 0, CODES, 0))
    eco = ls.legend.ecosystem_index[np.searchsorted(ls.legend.codes, CODES)]
    np.testing.assert_array_equal(cells["ecosystem_index"].values, np.where(zones > 0, eco, -1))
