"""Water and air purification (水质净化, 空气净化) by hand.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.accounting.hand import chain, run, total_value, values


def water_emissions():
    return pd.DataFrame({
        "zone_id": [1, 1, 1, 2, 2],
        "pollutant": ["COD", "NH3-N", "TP", "COD", "NH3-N"],
        "load": [0.05, 1.0, 500.0, 0.2, 0.004],
        "unit": ["t/yr", "t/yr", "kg/yr", "t", "t/yr"],
    })


def wp_landscape(make_landscape):
    # bottomland 46 (wetland) | lake 42 (water)   zone 1
    # forest 211              | marsh 64          zone 2
    return make_landscape([[46, 42], [211, 64]], [[1, 1], [2, 2]], tables={"emissions": water_emissions()})


def test_water_purification_capped_hand(coef, make_landscape):
    res = run("water_purification", wp_landscape(make_landscape), coef, "pollution_tax", {"purification_capped_by_load": True})
    comp = {c.name: c.quantity for c in res.components}
    # capacities × 0.09 ha: wetland COD 1000 → 90 kg, NH3-N 100 → 9 kg, TP 20 → 1.8 kg;
    #                      lake    COD 300 → 27 kg,  NH3-N 30 → 2.7 kg, TP 6 → 0.54 kg; forest none.
    # zone 1 COD: capacity 0.117 t > load 0.05 t → 0.05 t shared 90 : 27
    assert float(comp["COD"].sel(zone=1, ecosystem="wetland")) == pytest.approx(0.05 * 90 / 117)
    assert float(comp["COD"].sel(zone=1, ecosystem="water")) == pytest.approx(0.05 * 27 / 117)
    # zone 1 NH3-N: capacity 0.0117 t < load 1 t → capacity
    assert float(comp["NH3-N"].sel(zone=1).sum()) == pytest.approx(0.0117)
    # zone 1 TP: load 500 kg > 2.34 kg capacity → 0.00234 t
    assert float(comp["TP"].sel(zone=1).sum()) == pytest.approx(0.00234)
    # zone 2: COD capacity 0.09 t < 0.2 t; NH3-N capped at 0.004 t; no TP load → 0
    assert float(comp["COD"].sel(zone=2, ecosystem="wetland")) == pytest.approx(0.09)
    assert float(comp["NH3-N"].sel(zone=2, ecosystem="wetland")) == pytest.approx(0.004)
    assert float(comp["TP"].sel(zone=2).sum()) == 0.0
    q = {"COD": 0.05 + 0.09, "NH3-N": 0.0117 + 0.004, "TP": 0.00234}
    assert float(res.quantity.sum()) == pytest.approx(sum(q.values()))
    # tax 1.4 CNY/PE (2018) / equivalent (COD 1, NH3-N 0.8, TP 0.25 kg/PE) → 1.40, 1.75, 5.60 CNY/kg
    v = values(res, coef)
    assert v["COD"].unit_price == pytest.approx(1400.0)  # CNY/t
    assert v["NH3-N"].unit_price == pytest.approx(1750.0)
    assert v["TP"].unit_price == pytest.approx(5600.0)
    f18 = chain(2018)
    assert f18 == pytest.approx(1.029 * 1.025 * 1.009 * 1.020)
    assert total_value(res, coef) == pytest.approx((q["COD"] * 1400 + q["NH3-N"] * 1750 + q["TP"] * 5600) * f18)


def test_water_purification_uncapped_hand(coef, make_landscape):
    res = run("water_purification", wp_landscape(make_landscape), coef, "pollution_tax", {"purification_capped_by_load": False})
    comp = {c.name: c.quantity for c in res.components}
    # capacity only: COD 0.117 t (zone 1) + 0.09 t (zone 2)
    assert float(comp["COD"].sum()) == pytest.approx(0.207)
    assert float(comp["NH3-N"].sum()) == pytest.approx(0.0207)
    assert float(comp["TP"].sum()) == pytest.approx(0.00414)
    assert total_value(res, coef) == pytest.approx((0.207 * 1400 + 0.0207 * 1750 + 0.00414 * 5600) * chain(2018))


def air_landscape(make_landscape):
    emissions = pd.DataFrame({"zone_id": [1, 1, 1], "pollutant": ["SO2", "NOx", "dust"], "load": [10.0, 1.0, 2.0], "unit": ["kg/yr", "t/yr", "t/yr"]})
    # broadleaf 211 | conifer 212   zone 1
    # grassland 31  | urban 51      zone 2
    return make_landscape([[211, 212], [31, 51]], [[1, 1], [2, 2]], tables={"emissions": emissions})


def test_air_purification_treatment_cost_hand(coef, make_landscape):
    res = run("air_purification", air_landscape(make_landscape), coef, "treatment_cost", {"purification_capped_by_load": True})
    comp = {c.name: c.quantity for c in res.components}
    # capacity zone 1: SO2 (88.65 + 215.6) × 0.09 = 27.3825 kg > load 10 kg → 0.010 t
    #                  NOx 2 × 6.0 × 0.09 = 1.08 kg < 1 t → 0.00108 t
    #                  dust (10.11 + 33.2) t × 0.09 = 3.8979 t > 2 t → 2 t
    assert float(comp["SO2"].sel(zone=1, ecosystem="forest")) == pytest.approx(0.010)
    assert float(comp["NOx"].sel(zone=1, ecosystem="forest")) == pytest.approx(0.00108)
    assert float(comp["dust"].sel(zone=1, ecosystem="forest")) == pytest.approx(2.0)
    # grassland has no capacity in the set (default 0); zone 2 has no emissions
    assert float(res.quantity.sel(zone=2).sum()) == 0.0
    # treatment costs (2003 fee rules): SO2 1.2, NOx 0.63, dust 0.15 CNY/kg × CPI 2003→2022
    expected = (10 * 1.2 + 1.08 * 0.63 + 2000 * 0.15) * chain(2003)
    assert total_value(res, coef) == pytest.approx(expected)


def test_air_purification_pollution_tax_uncapped_hand(coef, make_landscape):
    res = run("air_purification", air_landscape(make_landscape), coef, "pollution_tax", {"purification_capped_by_load": False})
    # capacities: SO2 27.3825 kg, NOx 1.08 kg, dust 3897.9 kg; tax 1.2 CNY/PE (2018) / (0.95, 0.95, 4 kg/PE)
    expected = (27.3825 * 1.2 / 0.95 + 1.08 * 1.2 / 0.95 + 3897.9 * 1.2 / 4.0) * chain(2018)
    assert float(res.quantity.sum()) == pytest.approx(0.0273825 + 0.00108 + 3.8979)
    assert total_value(res, coef) == pytest.approx(expected)
