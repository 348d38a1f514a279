"""Carbon sequestration (固碳) by hand: NEP = NPP − Rh, α·NPP, rate per class; the carbon stock.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import math

import pytest

from tests.accounting.hand import A, HA, CO2_C, RH, carbon_landscape, chain, monthly, qty, run, total_value, values


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


def test_carbon_nep_rh_sums_the_monthly_model_over_a_seasonal_year_hand(coef, make_landscape):
    """Rh of Pei et al. (2010) is monthly: summed over twelve months of a subtropical cycle, not applied to annual means
    (docs/methods.md decision 5)."""
    t = [4.5, 6, 10, 16, 21, 25, 28.5, 28, 24, 18, 12, 6.5]  # °C, mean 16.625
    p = [50, 70, 100, 120, 150, 220, 180, 160, 100, 70, 50, 40]  # mm, 1310 in the year
    ls = make_landscape([[211, 51]], [[1, 1]], {"npp": (600.0, "gC/(m**2*yr)"),
                                              **monthly("temperature_monthly", t, "degC"), **monthly("precipitation_monthly", p, "mm")})
    assert coef.profile["switches"]["respiration_monthly"] is True
    res = run("carbon_sequestration", ls, coef, "nep_rh", dict(coef.profile["switches"]))
    # January: 0.22 × (e^(0.0912 × 4.5) + ln(0.3145 × 50 + 1)) × 30 × 0.465 = 0.22 × (1.507421 + 2.816905) × 13.95 = 13.271354
    jan = 0.22 * (math.exp(0.0912 * 4.5) + math.log(0.3145 * 50 + 1)) * 30 * 0.465
    assert jan == pytest.approx(13.271354, rel=1e-6)
    # the twelve months sum to Rh = 346.8953 gC/m²; the annual means (16.625 °C, 1310/12 mm) would give 299.0323 (−13.8 %)
    rh = sum(0.22 * (math.exp(0.0912 * tm) + math.log(0.3145 * pm + 1)) * 30 * 0.465 for tm, pm in zip(t, p))
    assert rh == pytest.approx(346.8953, rel=1e-6)
    # NEP = 600 − 346.8953 = 253.1047 gC/m² × 900 m² × 1e-6 × 44/12 = 0.835245 t CO2
    assert qty(res, 1, "forest") == pytest.approx(0.835245, rel=1e-5)
    assert qty(res, 1, "urban") == 0.0
    # value, national form: t CO2 × the carbon market price 55 CNY/t CO2 of 2022 (index factor 1):
    # 0.835245 × 55 = 45.938 CNY; the urban cell adds nothing
    assert total_value(res, coef) == pytest.approx(45.938, rel=1e-4)
    # sets before cn-2022 1.2.0 (no respiration_monthly in their profile) keep the model on annual means, so
    # their runs replay: T̄ 16.625 °C, P 1310/12 mm → Rh 299.0323 gC/m², NEP 300.9677 → 0.993193 t CO2
    annual = make_landscape([[211, 51]], [[1, 1]], {"npp": (600.0, "gC/(m**2*yr)"), "temperature": (16.625, "degC"), "precipitation": (1310.0, "mm/yr")})
    old = run("carbon_sequestration", annual, coef, "nep_rh", {**coef.profile["switches"], "respiration_monthly": False})
    assert 12 * 0.22 * (math.exp(0.0912 * 16.625) + math.log(0.3145 * 1310 / 12 + 1)) * 30 * 0.465 == pytest.approx(299.0323, rel=1e-6)
    assert qty(old, 1, "forest") == pytest.approx((600 - 299.0323) * A * 1e-6 * CO2_C, rel=1e-6)


def test_carbon_nep_rh_annual_with_the_amplitude_correction_hand(coef, make_landscape):
    """``nep_rh_annual``: annual grids and the temperature amplitude A, Σ exp(b·T_m) = 12·exp(b·T̄)·I₀(b·A)."""
    ls = make_landscape([[211, 51]], [[1, 1]], {"npp": (600.0, "gC/(m**2*yr)"), "temperature": (16.0, "degC"),
                                              "precipitation": (1400.0, "mm/yr"), "temperature_amplitude": (12.0, "delta_degC")})
    res = run("carbon_sequestration", ls, coef, "nep_rh_annual")
    # I₀(z) = Σ_k (z/2)^(2k) / (k!)², z = 0.0912 × 12 = 1.0944: 1 + 0.299431 + 0.022415 + 0.000746 + 0.000014 = 1.322602
    z = 0.0912 * 12
    i0 = sum((z / 2) ** (2 * k) / math.factorial(k) ** 2 for k in range(12))
    assert i0 == pytest.approx(1.322602, rel=1e-6)
    # Rh = 12 × 0.22 × (4.302516 × 1.322602 + 3.629439) × 30 × 0.465 = 343.2353 gC/m²
    rh = 12 * 0.22 * (math.exp(0.0912 * 16) * i0 + math.log(0.3145 * 1400 / 12 + 1)) * 30 * 0.465
    assert rh == pytest.approx(343.2353, rel=1e-6)
    # NEP = 256.7647 gC/m² → × 900e-6 × 44/12 = 0.847323 t CO2
    assert qty(res, 1, "forest") == pytest.approx(0.847323, rel=1e-5)
