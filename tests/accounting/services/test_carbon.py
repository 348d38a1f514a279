"""Carbon sequestration (固碳) by hand: NEP = NPP − Rh, α·NPP, rate per class; the carbon stock.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pytest

from tests.accounting.hand import A, HA, CO2_C, RH, carbon_landscape, chain, qty, run, total_value, values


def test_carbon_nep_rh_hand(coef, make_landscape):
    assert RH == pytest.approx(292.118, rel=1e-5)
    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "nep_rh")
    # NEP = 600 − 292.118 = 307.882 gC/m²; × 900 m² × 1e-6 t/g × 44/12 = 1.016010 t CO2 per cell
    per_cell = (600 - RH) * A * 1e-6 * CO2_C
    assert per_cell == pytest.approx(1.016010, rel=1e-5)
    assert qty(res, 1, "forest") == pytest.approx(per_cell)
    assert qty(res, 1, "grassland") == pytest.approx(per_cell)
    # NEP methods count forest, shrub, grassland and wetland only
    assert qty(res, 1, "cropland") == 0.0 and qty(res, 1, "urban") == 0.0
    assert res.quantity.attrs["units"] == "tCO2/yr"
    # 55 CNY/t CO2 at 2022 prices (index factor 1)
    v = values(res, coef)["CO2"]
    assert v.index_factor == 1.0
    assert float(v.value.sum()) == pytest.approx(2 * per_cell * 55)


def test_carbon_nep_rh_temperature_in_kelvin(coef, make_landscape):
    res = run("carbon_sequestration", carbon_landscape(make_landscape, temperature=(289.15, "K")), coef, "nep_rh")
    assert qty(res, 1, "forest") == pytest.approx((600 - RH) * A * 1e-6 * CO2_C)


def test_carbon_nep_ratio_carbon_vs_dry_matter(coef, make_landscape):
    # NPP 600 gC/(m²·yr): NEP = 0.45 × 600 = 270 gC → 270 × 900e-6 × 44/12 = 0.891 t CO2
    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "nep_ratio")
    assert qty(res, 1, "forest") == pytest.approx(0.891)
    # NPP 1000 g/(m²·yr) dry matter: × 72/162 = 444.444 gC; NEP = 0.45 × 444.444 = 200 gC → 200 × 900e-6 × 44/12 = 0.66 t
    res_dm = run("carbon_sequestration", carbon_landscape(make_landscape, npp=(1000.0, "g/(m**2*yr)")), coef, "nep_ratio")
    assert qty(res_dm, 1, "forest") == pytest.approx(0.66)
    assert qty(res_dm, 1, "grassland") == pytest.approx(0.66)


def test_carbon_rate_lut_hand(coef, make_landscape):
    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "rate_lut")
    # forest 211: 2.6 t C/(ha·yr) × 0.09 ha × 44/12 = 0.858 t CO2; grassland 31: 0.3 → 0.099;
    # dry cropland 12 (soil): 0.2 → 0.066; urban: default 0
    assert qty(res, 1, "forest") == pytest.approx(0.858)
    assert qty(res, 1, "grassland") == pytest.approx(0.099)
    assert qty(res, 1, "cropland") == pytest.approx(0.066)
    assert qty(res, 1, "urban") == 0.0


def test_carbon_priced_per_tc_basis(coef, make_landscape):
    c2 = coef.with_valuation({"carbon_price_basis": "tC"})
    assert coef.profile["valuation"].get("carbon_price_basis", "tCO2") == "tCO2"  # the shared set is untouched
    res = run("carbon_sequestration", carbon_landscape(make_landscape), c2, "rate_lut")
    (comp,) = res.components
    # valued in t C: (0.858 + 0.099 + 0.066) t CO2 × 12/44 = 1.023 × 12/44 = 0.279 t C
    assert comp.quantity.attrs["units"] == "tC/yr"
    assert float(comp.quantity.sum()) == pytest.approx(0.279)
    # 1200 CNY/t C (2008) × CPI 2008→2022 (1.351989)
    assert total_value(res, c2) == pytest.approx(0.279 * 1200 * chain(2008))


def test_carbon_stock_matches_invest_carbon_arithmetic(coef, make_landscape):
    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "rate_lut")
    stock = res.extras["carbon_stock"]
    assert stock.attrs["units"] == "tC"
    # InVEST carbon model: C_tot = Σ (c_above + c_below + c_soil + c_dead) [t C/ha] × pixel area [ha]
    # 211: 23.78 + 4.76 + 106.24 + 2.88 = 137.66 × 0.09 = 12.3894 t C;  31: 3 + 6 + 60 + 0.5 = 69.5 × 0.09 = 6.255
    # 12: 2 + 1 + 35 + 0 = 38 × 0.09 = 3.42;          51: 1 + 0.5 + 20 + 0 = 21.5 × 0.09 = 1.935
    assert float(stock.sel(zone=1, ecosystem="forest")) == pytest.approx(12.3894)
    assert float(stock.sel(zone=1, ecosystem="grassland")) == pytest.approx(6.255)
    assert float(stock.sel(zone=1, ecosystem="cropland")) == pytest.approx(3.42)
    assert float(stock.sel(zone=1, ecosystem="urban")) == pytest.approx(1.935)
    # the same arithmetic straight from the pool table, as InVEST does it
    pools = coef.carbon_pools.set_index("lucode")[["c_above", "c_below", "c_soil", "c_dead"]].astype(float).sum(axis=1)
    assert float(stock.sum()) == pytest.approx(sum(pools[c] * HA for c in (211, 31, 12, 51))) == pytest.approx(23.9994)
