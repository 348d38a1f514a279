"""Hand-computed quantities and values for every service of the catalogue.

Each test builds a 2×2 or 2×3 grid of 30 m cells (A = 900 m² = 0.09 ha per
cell), runs the service's ``account`` adapter, and compares with arithmetic
written out here from METHODS.md and the coefficient values in
``coefficients/cn-2022/*.csv``. Values are checked at 2022 prices through the
CPI series, whose yearly values (previous year = 100) are copied below from
``coefficients/cn-2022/price_index.csv``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gep.account import assemble
from gep.catalogue import BY_ID, CATALOGUE
from gep.errors import UnitError
from gep.services import soil_retention as sr
from gep.valuation import index_factor, value

A = 900.0  # m² per cell (30 m × 30 m)
HA = 0.09  # the same in ha
CO2_C = 44.0 / 12.0

# National CPI, previous year = 100 (coefficients/cn-2022/price_index.csv).
CPI = {
    2002: 99.2, 2003: 101.2, 2004: 103.9, 2005: 101.8, 2006: 101.5, 2007: 104.8, 2008: 105.9,
    2009: 99.3, 2010: 103.3, 2011: 105.4, 2012: 102.6, 2013: 102.6, 2014: 102.0, 2015: 101.4,
    2016: 102.0, 2017: 101.6, 2018: 102.1, 2019: 102.9, 2020: 102.5, 2021: 100.9, 2022: 102.0,
}


def chain(price_year: int, year: int = 2022) -> float:
    """Π_{price_year < s ≤ year} CPI_s / 100, computed here independently of gep.valuation."""
    return math.prod(CPI[s] / 100.0 for s in range(price_year + 1, year + 1))


def run(sid, ls, coef, method=None, switches=None):
    return BY_ID[sid].account(ls, coef, method or BY_ID[sid].default_method, switches or {})


def qty(res, zone, eco):
    return float(res.quantity.sel(zone=zone, ecosystem=eco))


def values(res, coef, year=2022):
    """Valued components by name at ``year`` prices."""
    return {c.name: value(c, coef.price_index, "cpi", year) for c in res.components}


def total_value(res, coef, year=2022):
    return sum(float(v.value.sum()) for v in values(res, coef, year).values())


def test_every_catalogue_service_is_covered_here():
    covered = {
        "provisioning", "water_conservation", "soil_retention", "sand_fixation", "flood_mitigation",
        "water_purification", "air_purification", "carbon_sequestration", "oxygen_release",
        "climate_regulation", "negative_ions", "recreation", "landscape",
    }
    assert {s.id for s in CATALOGUE} == covered
    assert len(CATALOGUE) == 13


# --------------------------------------------------------------------------- price indexing


def test_cpi_factor_reservoir_cost_2005_to_2022_written_out(coef):
    # reservoir cost 6.1107 CNY/m³ of 2005 → 2022 prices:
    # × 1.015 (2006) × 1.048 (2007) × 1.059 (2008) × 0.993 (2009) × 1.033 (2010) × 1.054 (2011)
    #   × 1.026 (2012) × 1.026 (2013) × 1.020 (2014) × 1.014 (2015) × 1.020 (2016) × 1.016 (2017)
    #   × 1.021 (2018) × 1.029 (2019) × 1.025 (2020) × 1.009 (2021) × 1.020 (2022)
    # = 1.522988115 → 6.1107 × 1.522988115 = 9.306519 CNY/m³
    factor = (1.015 * 1.048 * 1.059 * 0.993 * 1.033 * 1.054 * 1.026 * 1.026 * 1.020 * 1.014
              * 1.020 * 1.016 * 1.021 * 1.029 * 1.025 * 1.009 * 1.020)
    assert factor == pytest.approx(1.522988115, rel=1e-9)
    assert index_factor(coef.price_index, "cpi", 2005, 2022) == pytest.approx(factor, rel=1e-12)
    assert 6.1107 * factor == pytest.approx(9.306519, rel=1e-6)
    # cn-2022 1.1.0 ships the same cost as printed by the Ganzi account (7.06 CNY/m³ at 2010 prices):
    # 6.1107 × 1.015 × 1.048 × 1.059 × 0.993 × 1.033 (CPI 2005→2010 = 1.155502) = 7.0610 ≈ 7.06
    price, year = coef.price("price.reservoir_storage")
    assert (price.magnitude, f"{price.units}", year) == (7.06, "CNY/m³", 2010)
    assert 6.1107 * 1.015 * 1.048 * 1.059 * 0.993 * 1.033 == pytest.approx(7.06, abs=0.005)


# --------------------------------------------------------------------------- 1 provisioning


def production_table():
    t = pd.DataFrame({
        "zone_id": [1, 2, 1, 2, 2],
        "product": ["rice", "tea", "timber", "crabs", "vegetables"],
        "ecosystem": ["cropland", "forest", "forest", "water", "cropland"],
        "quantity": [10.0, 500.0, 20.0, 1.0, 3.0],
        "unit": ["t", "kg", "m**3", "t", "t"],
        "origin": [None, None, None, "outside", None],
        "value": [np.nan, np.nan, np.nan, np.nan, 5.0],
    })
    t.attrs["units"] = {"value": "wan_CNY"}
    return t


def test_provisioning_hand(coef, make_landscape):
    ls = make_landscape([[12, 211], [42, 51]], [[1, 1], [2, 2]], tables={"production": production_table()})
    res = run("provisioning", ls, coef)
    assert res.quantity is None
    v = values(res, coef)
    # rice: zone 1 cropland, 10 t × 2620 CNY/t (2022) = 26 200 CNY
    assert float(v["rice"].value.sel(zone=1, ecosystem="cropland")) == pytest.approx(10 * 2620)
    # tea: 500 kg = 0.5 t × 150 000 CNY/t = 75 000 CNY (zone 2 forest)
    assert float(v["tea"].value.sel(zone=2, ecosystem="forest")) == pytest.approx(0.5 * 150000)
    # timber: 20 m³ × 1100 CNY/m³ = 22 000 CNY (zone 1 forest)
    assert float(v["timber"].value.sel(zone=1, ecosystem="forest")) == pytest.approx(20 * 1100)
    # crabs grown on outside inputs are excluded (GB/T 46869-2025)
    assert "crabs" not in v
    # vegetables given as gross output value 5 wan CNY = 50 000 CNY (share 100 %)
    assert float(v["vegetables"].value.sel(zone=2, ecosystem="cropland")) == pytest.approx(50000)
    assert total_value(res, coef) == pytest.approx(26200 + 75000 + 22000 + 50000)


def test_provisioning_share_and_origin_switch(coef, make_landscape):
    ls = make_landscape([[12, 211], [42, 51]], [[1, 1], [2, 2]], tables={"production": production_table()})
    c2 = coef.with_overrides({"provisioning.ecosystem_share[rice]": 60})
    v = values(run("provisioning", ls, c2, switches={"exclude_outside_origin": False}), c2)
    # rice at a 60 % ecosystem share: 0.6 × 26 200 = 15 720 CNY
    assert float(v["rice"].value.sum()) == pytest.approx(0.6 * 26200)
    # switch off: crabs count, 1 t × 100 000 CNY/t
    assert float(v["crabs"].value.sel(zone=2, ecosystem="water")) == pytest.approx(100000)


# --------------------------------------------------------------------------- 2 water conservation


def wc_landscape(make_landscape, et=((700, 500), (900, 600))):
    # forest 211 | grassland 31        zone 1 | zone 1
    # lake 42    | urban 51            zone 2 | zone 2
    return make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]],
                          {"precipitation": (1200, "mm/yr"), "et": (np.array(et, float), "mm/yr")})


def test_water_conservation_water_balance_hand(coef, make_landscape):
    res = run("water_conservation", wc_landscape(make_landscape), coef, "water_balance")
    # forest 211: α = 2.67 %, P = 1200 mm, ET = 700 mm, A = 900 m² → 900 × (1200 − 32.04 − 700) × 1e-3 = 421.164 m³
    assert qty(res, 1, "forest") == pytest.approx(900 * (1200 - 32.04 - 700) * 1e-3) == pytest.approx(421.164)
    # grassland 31 (meadow): α = 8.2 %, ET = 500 → 900 × (1200 − 98.4 − 500) × 1e-3 = 541.44 m³
    assert qty(res, 1, "grassland") == pytest.approx(541.44)
    # lake 42: α = 0, ET = 900 → 900 × 300 × 1e-3 = 270 m³
    assert qty(res, 2, "water") == pytest.approx(270.0)
    # urban 51 is not a water-conserving ecosystem
    assert qty(res, 2, "urban") == 0.0
    assert res.quantity.attrs["units"] == "m**3/yr"
    # value: 1232.604 m³ × 7.06 CNY/m³ (2010) × 1.318025034 (CPI 2010→2022) = 11,469.697 CNY
    total = 421.164 + 541.44 + 270.0
    assert total_value(res, coef) == pytest.approx(total * 7.06 * chain(2010)) == pytest.approx(11469.697, rel=1e-6)


def test_water_conservation_negative_rules(coef, make_landscape):
    # two forest cells in zone 1: +421.164 m³ (ET 700) and 900 × (1200 − 32.04 − 1500) × 1e-3 = −298.836 m³ (ET 1500)
    ls = make_landscape([[211, 211]], [[1, 1]], {"precipitation": (1200, "mm/yr"), "et": (np.array([[700, 1500]], float), "mm/yr")})
    keep = run("water_conservation", ls, coef, "water_balance", {"negative_water_conservation": "keep"})
    total = run("water_conservation", ls, coef, "water_balance", {"negative_water_conservation": "clamp_total"})
    cells = run("water_conservation", ls, coef, "water_balance", {"negative_water_conservation": "clamp_cells"})
    assert qty(keep, 1, "forest") == pytest.approx(421.164 - 298.836)
    assert qty(total, 1, "forest") == pytest.approx(122.328)
    assert qty(cells, 1, "forest") == pytest.approx(421.164)
    # a negative total is clamped to 0 by clamp_total
    ls2 = make_landscape([[211]], [[1]], {"precipitation": (1200, "mm/yr"), "et": (1500, "mm/yr")})
    assert qty(run("water_conservation", ls2, coef, "water_balance"), 1, "forest") == 0.0


def test_water_conservation_clamps_each_class_total(coef, make_landscape):
    # METHODS.md (service 2): keep cell values, clamp the (land-cover) class total at ≥ 0
    # zone 1, both forest ecosystem type:
    #   evergreen broadleaf 211: α 2.67 %, ET 700  → 900 × (1200 − 32.04 − 700) × 1e-3 = +421.164 m³
    #   sparse forest 23:        α 19.2 %, ET 1500 → 900 × (1200 − 230.4 − 1500) × 1e-3 = −477.540 m³
    # class totals clamped at 0: 421.164 + 0 = 421.164 m³ (the ecosystem total −56.376 would clamp to 0)
    ls = make_landscape([[211, 23]], [[1, 1]], {"precipitation": (1200, "mm/yr"), "et": (np.array([[700, 1500]], float), "mm/yr")})
    res = run("water_conservation", ls, coef, "water_balance", {"negative_water_conservation": "clamp_total"})
    assert qty(res, 1, "forest") == pytest.approx(421.164)


def test_water_conservation_reservoir_cost_override_is_not_silently_ignored(coef, make_landscape):
    # regression: the set once held a water_conservation.reservoir_cost row that no code read, so an override of
    # it was accepted and recorded but had no effect; water conservation is priced by price.reservoir_storage
    if not coef.has("water_conservation.reservoir_cost"):
        return  # the dead row was removed: nothing can be silently ignored
    ls = wc_landscape(make_landscape)
    base = total_value(run("water_conservation", ls, coef, "water_balance"), coef)
    c2 = coef.with_overrides({"water_conservation.reservoir_cost": 2 * 6.1107})
    assert total_value(run("water_conservation", ls, c2, "water_balance"), c2) == pytest.approx(2 * base)


def test_water_conservation_net_of_local_water_use(coef, make_landscape):
    prod = pd.DataFrame({"zone_id": [1], "product": ["water_supply"], "ecosystem": ["water"], "quantity": [200.0], "unit": ["m**3"]})
    ls = wc_landscape(make_landscape)
    ls.tables["production"] = prod
    res = run("water_conservation", ls, coef, "water_balance", {"water_conservation_net_of_water_use": True})
    # zone 1: 421.164 + 541.44 = 962.604 m³ − 200 m³ used = 762.604, shared 421.164 : 541.44
    assert qty(res, 1, "forest") == pytest.approx(762.604 * 421.164 / 962.604)
    assert qty(res, 1, "grassland") == pytest.approx(762.604 * 541.44 / 962.604)
    assert qty(res, 2, "water") == pytest.approx(270.0)


def test_water_conservation_budyko_hand(coef, make_landscape):
    # forest 211 (vegetated, Kc 1.0) | grassland 31 (vegetated, Kc 0.75)
    # lake 42 (not vegetated, Kc 1.0) | reservoir 43 (not vegetated, Kc 1.0), ET0 1500 > P
    ls = make_landscape([[211, 31], [42, 43]], [[1, 1], [2, 2]], {
        "precipitation": (1000, "mm/yr"), "et0": (np.array([[800, 800], [800, 1500]], float), "mm/yr"), "awc": (100, "mm")})
    res = run("water_conservation", ls, coef, "budyko")
    # ω = Z·AWC/P + 1.25 = 3 × 100 / 1000 + 1.25 = 1.55 (below the cap of 5)
    w = 3 * 100 / 1000 + 1.25
    # forest: PET = 1.0 × 800 = 800, φ = 0.8; AET/P = 1 + φ − (1 + φ^ω)^(1/ω)
    #   0.8^1.55 = 0.707603; (1.707603)^(1/1.55) = 1.412300; AET/P = 1.8 − 1.412300 = 0.387700 → AET = 387.700 mm
    f_forest = 1 + 0.8 - (1 + 0.8**w) ** (1 / w)
    assert f_forest == pytest.approx(0.387700, abs=1e-6)
    # Q = 900 × (1000 − 26.7 − 387.700) × 1e-3 = 527.040 m³
    assert qty(res, 1, "forest") == pytest.approx(900 * (1000 - 26.7 - 1000 * f_forest) * 1e-3)
    # grassland 31: PET = 0.75 × 800 = 600, φ = 0.6; α = 8.2 %
    f_grass = 1 + 0.6 - (1 + 0.6**w) ** (1 / w)
    assert qty(res, 1, "grassland") == pytest.approx(900 * (1000 - 82.0 - 1000 * f_grass) * 1e-3)
    # lake 42: AET = min(Kc·ET0, P) = 800 → 900 × 200 × 1e-3 = 180 m³
    # reservoir 43: AET = min(1500, 1000) = 1000 → 0 m³
    assert qty(res, 2, "water") == pytest.approx(180.0)


# --------------------------------------------------------------------------- 3 soil retention


def test_soil_retention_rusle_cover_hand(coef, make_landscape):
    # forest 211 (cover 80 %) | dry cropland 12 (cover 50 %) | grassland 31 (cover 10 %)
    # low-cover grass 33 (0 %) | urban 51                     | nodata
    ls = make_landscape([[211, 12, 31], [33, 51, 0]], [[1, 1, 1], [2, 2, 2]], {
        "r_factor": (4000, "MJ*mm/(ha*h*yr)"), "k_factor": (0.03, "t*ha*h/(ha*MJ*mm)"), "ls_factor": (2.0, "dimensionless"),
        "fcover": (np.array([[80, 50, 10], [0, 40, 40]], float), "percent")})
    res = run("soil_retention", ls, coef, "rusle_cover")
    # potential R·K·LS = 4000 × 0.03 × 2 = 240 t/(ha·yr)
    # forest: cover 80 % > 78.3 % → C = 0, P = 1 → 240 t/ha × 0.09 ha = 21.6 t
    assert qty(res, 1, "forest") == pytest.approx(21.6)
    # dry cropland 12: C = 0.6508 − 0.3436·lg 50 = 0.6508 − 0.3436 × 1.698970 = 0.0670339; P = 0.4
    #   240 × (1 − 0.0670339 × 0.4) × 0.09 = 240 × 0.9731864 × 0.09 = 21.02083 t
    c12 = 0.6508 - 0.3436 * math.log10(50)
    assert qty(res, 1, "cropland") == pytest.approx(240 * (1 - c12 * 0.4) * 0.09) == pytest.approx(21.02083, rel=1e-6)
    # grassland 31: C = 0.6508 − 0.3436 × 1 = 0.3072, P = 1 → 240 × 0.6928 × 0.09 = 14.96448 t
    assert qty(res, 1, "grassland") == pytest.approx(14.96448)
    # grassland 33 with zero cover: C = 1 → nothing retained; urban excluded
    assert qty(res, 2, "grassland") == 0.0 and qty(res, 2, "urban") == 0.0
    soil = 21.6 + 240 * (1 - c12 * 0.4) * 0.09 + 14.96448
    v = values(res, coef)
    # sediment: λ·Q/ρ = 0.24 × Q / 1.125 m³ × 15.58 CNY/m³ (2010) × CPI 2010→2022 (1.318025)
    assert float(v["sediment"].component.quantity.sum()) == pytest.approx(soil * 0.24 / 1.125)
    assert float(v["sediment"].value.sum()) == pytest.approx(soil * 0.24 / 1.125 * 15.58 * chain(2010))
    # nutrients (2007 prices): N 0.12 % × 2400/0.14; P 0.06 % × 2400/0.1501; K 1.8 % × 2200/0.5; OM 2 % × 320
    f07 = chain(2007)
    assert float(v["N"].value.sum()) == pytest.approx(soil * 0.0012 * 2400 / 0.14 * f07)
    assert float(v["P"].value.sum()) == pytest.approx(soil * 0.0006 * 2400 / 0.1501 * f07)
    assert float(v["K"].value.sum()) == pytest.approx(soil * 0.018 * 2200 / 0.5 * f07)
    assert float(v["organic_matter"].value.sum()) == pytest.approx(soil * 0.02 * 320 * f07)
    per_t = 0.24 / 1.125 * 15.58 * chain(2010) + (0.0012 * 2400 / 0.14 + 0.0006 * 2400 / 0.1501 + 0.018 * 2200 / 0.5 + 0.02 * 320) * f07
    assert total_value(res, coef) == pytest.approx(soil * per_t)
    # the nutrient switch off leaves only the sediment part
    off = run("soil_retention", ls, coef, "rusle_cover", {"soil_retention_nutrients": False})
    assert [c.name for c in off.components] == ["sediment"]


def test_soil_retention_c_lut_with_ls_from_dem_hand(coef, make_landscape):
    # a plane DEM rising 4 m per 30 m cell along x; slope by central differences over the 4 neighbours,
    # one-sided where a neighbour is beyond the grid edge (gep.services.soil_retention.slope_from_dem):
    #   middle column: ∂z/∂x = (8 − 0)/(2 × 30) = 0.13333; edge columns: (4 − 0)/30 = (8 − 4)/30 = 0.13333; ∂z/∂y = 0
    dem = np.array([[0.0, 4.0, 8.0], [0.0, 4.0, 8.0]])
    # edge: forest 211 | middle: dry cropland 12 | edge: grassland 31
    # edge: urban 51   | middle: forest 211      | edge: nodata
    ls = make_landscape([[211, 12, 31], [51, 211, 0]], [[1, 1, 1], [1, 1, 1]], {
        "r_factor": (4000, "MJ*mm/(ha*h*yr)"), "k_factor": (0.03, "t*ha*h/(ha*MJ*mm)"), "dem": (dem, "m")})
    res = run("soil_retention", ls, coef, "rusle_c_lut")
    # L = (λ/22.13)^m with λ = cell size 30 m; both slopes ≥ 5 % → m = 0.5: (30/22.13)^0.5 = 1.1643135
    L = (30 / 22.13) ** 0.5
    assert L == pytest.approx(1.1643135, rel=1e-7)
    # middle: tanθ = 0.13333, θ = 7.5946°, 5° ≤ θ < 10° → S = 16.8 sinθ − 0.50 = 16.8 × 0.132164 − 0.5 = 1.720350
    s_mid = 16.8 * (8 / 60) / math.sqrt(1 + (8 / 60) ** 2) - 0.5
    assert s_mid == pytest.approx(1.720350, rel=1e-6)
    # edges: the same plane, one-sided: tanθ = 0.13333 → the same S as the middle
    s_edge = s_mid
    pot_mid, pot_edge = 4000 * 0.03 * L * s_mid, 4000 * 0.03 * L * s_edge  # R·K·LS [t/(ha·yr)]
    # C from the class table: 211 → 0.006 (P 1), 12 → 0.31 (P 0.4), 31 → 0.04 (P 1); urban excluded
    assert qty(res, 1, "forest") == pytest.approx((pot_edge + pot_mid) * (1 - 0.006) * HA)
    assert qty(res, 1, "cropland") == pytest.approx(pot_mid * (1 - 0.31 * 0.4) * HA)
    assert qty(res, 1, "grassland") == pytest.approx(pot_edge * (1 - 0.04) * HA)
    assert qty(res, 1, "urban") == 0.0


def test_ls_from_slope_branches():
    from gep.units import Q_

    def ls_of(deg):
        return float(sr.ls_from_slope(xr.DataArray([deg], attrs={"units": "degree"}), Q_(30.0, "m"))[0])

    r = math.radians
    lam = 30 / 22.13
    # 0.5°: tan = 0.87 % < 1 % → m 0.2; θ < 5° → S = 10.8 sinθ + 0.03
    assert ls_of(0.5) == pytest.approx(lam**0.2 * (10.8 * math.sin(r(0.5)) + 0.03))
    # 1.5°: 2.62 % → m 0.3
    assert ls_of(1.5) == pytest.approx(lam**0.3 * (10.8 * math.sin(r(1.5)) + 0.03))
    # 2.5°: 4.37 % → m 0.4
    assert ls_of(2.5) == pytest.approx(lam**0.4 * (10.8 * math.sin(r(2.5)) + 0.03))
    # 7°: m 0.5, S = 16.8 sinθ − 0.50
    assert ls_of(7.0) == pytest.approx(lam**0.5 * (16.8 * math.sin(r(7)) - 0.50))
    # 15°: S = 21.91 sinθ − 0.96
    assert ls_of(15.0) == pytest.approx(lam**0.5 * (21.91 * math.sin(r(15)) - 0.96))


def test_k_epic_zhang_keli_hand():
    # sand 40 %, silt 40 %, clay 20 %, organic carbon 1.5 %
    san, sil, cla, c = 40.0, 40.0, 20.0, 1.5
    sn1 = 1 - san / 100  # 0.6
    k_epic = ((0.2 + 0.3 * math.exp(-0.0256 * san * (1 - sil / 100)))  # 0.2 + 0.3·e^(−0.6144) = 0.362290
              * (sil / (cla + sil)) ** 0.3  # (40/60)^0.3 = 0.885467
              * (1 - 0.25 * c / (c + math.exp(3.72 - 2.95 * c)))  # 1 − 0.375/(1.5 + 0.494109) = 0.811946
              * (1 - 0.7 * sn1 / (sn1 + math.exp(-5.51 + 22.9 * sn1))))  # 1 − 0.42/(0.6 + e^8.23 = 3751.83) = 0.999888
    expected = -0.01383 + 0.51575 * k_epic * 0.1317  # US → SI (× 0.1317), Zhang Keli correction
    da = lambda v: xr.DataArray([v], attrs={"units": "percent"})  # noqa: E731
    got = float(sr.k_epic(da(san), da(sil), da(cla), da(c))[0])
    assert got == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(-0.01383 + 0.51575 * 0.1317 * 0.362290 * 0.885467 * 0.811946 * 0.999888, rel=1e-5)


# --------------------------------------------------------------------------- 4 sand fixation


def test_sand_fixation_rweq_hand(coef, make_landscape):
    # forest 211 | grassland 31 ; dry cropland 12 | urban 51; cover 40 % everywhere
    ls = make_landscape([[211, 31], [12, 51]], [[1, 1], [1, 1]], {"wind_factor": (50, "kg/m"), "fcover": (40, "percent")})
    res = run("sand_fixation", ls, coef)
    z = 50.0
    # set defaults (cn-2022 sand_fixation.csv): EF 0.373 and SCF 0.142 (RWEQ soil formulas for the assumed silty clay loam), K′ 0.5
    x = 50 * 0.373 * 0.142 * 0.5  # WF·EF·SCF·K′ = 1.32415

    def sl(c):  # RWEQ: SL = (2z/S²)·Qmax·exp(−(z/S)²), Qmax = 109.8·x·C, S = 150.71·(x·C)^−0.3711  [kg/m²]
        qmax = 109.8 * x * c
        s = 150.71 * (x * c) ** -0.3711
        return 2 * z / s**2 * qmax * math.exp(-((z / s) ** 2))

    # potential: C = 1 → Qmax = 109.8 × 1.32415 = 145.3917 kg/m, S = 150.71 × 1.32415^−0.3711 = 135.7973 m,
    # SL = 100/135.7973² × 145.3917 × exp(−(50/135.7973)²) = 0.688463 kg/m²
    assert sl(1.0) == pytest.approx(0.688463, rel=1e-5)
    # forest: C = exp(−0.1535 × 40) = exp(−6.14); grassland: exp(−0.1151 × 40); cropland 12: exp(−0.0438 × 40)
    t = {eco: (sl(1.0) - sl(math.exp(a * 40))) * A * 1e-3 for eco, a in (("forest", -0.1535), ("grassland", -0.1151), ("cropland", -0.0438))}
    for eco in t:
        assert qty(res, 1, eco) == pytest.approx(t[eco], rel=1e-9)
    assert qty(res, 1, "urban") == 0.0
    # value: area restored = t / (1.25 t/m³ × 0.2 m) m² × 1.5 CNY/m² (2020) × CPI 2020→2022 (1.009 × 1.020)
    assert chain(2020) == pytest.approx(1.009 * 1.020)
    assert total_value(res, coef) == pytest.approx(sum(t.values()) / (1.25 * 0.2) * 1.5 * 1.009 * 1.020)


# --------------------------------------------------------------------------- 5 flood mitigation


def flood_landscape(make_landscape, tables=None):
    # forest 211 | grassland 31   zone 1
    # marsh 64   | lake 42        zone 2
    return make_landscape([[211, 31], [64, 42]], [[1, 1], [2, 2]], {"storm_rainfall": (600, "mm/yr")}, tables=tables)


def test_flood_mitigation_vegetation_and_marsh_hand(coef, make_landscape):
    res = run("flood_mitigation", flood_landscape(make_landscape), coef)
    # forest 211: α_storm 15 % → 600 × 0.85 × 900 × 1e-3 = 459 m³
    assert qty(res, 1, "forest") == pytest.approx(459.0)
    # grassland 31: α_storm 30 % → 600 × 0.70 × 900 × 1e-3 = 378 m³
    assert qty(res, 1, "grassland") == pytest.approx(378.0)
    # marsh 64: (porosity 0.45 × depth 0.5 m + surface 0.3 m) × 900 m² = 0.525 × 900 = 472.5 m³
    assert qty(res, 2, "wetland") == pytest.approx(472.5)
    # lake without a reservoirs table: nothing
    assert qty(res, 2, "water") == 0.0
    assert total_value(res, coef) == pytest.approx((459 + 378 + 472.5) * 7.06 * chain(2010))


def test_flood_mitigation_reservoirs_with_and_without_flood_storage(coef, make_landscape):
    with_flood = pd.DataFrame({"zone_id": [1, 2], "total_storage": [0.8, 1.0], "flood_storage": [0.2, np.nan]})
    with_flood.attrs["units"] = {"total_storage": "1e4*m**3", "flood_storage": "1e4*m**3"}
    res = run("flood_mitigation", flood_landscape(make_landscape, {"reservoirs": with_flood}), coef)
    # zone 1: flood storage given, 0.2 × 10⁴ m³ = 2000 m³; zone 2: only the total, 0.35 × 10 000 m³ = 3500 m³
    assert qty(res, 1, "water") == pytest.approx(2000.0)
    assert qty(res, 2, "water") == pytest.approx(3500.0)
    total_only = pd.DataFrame({"zone_id": [1, 2], "total_storage": [8000.0, 10000.0]})
    res2 = run("flood_mitigation", flood_landscape(make_landscape, {"reservoirs": total_only}), coef)
    # no flood_storage column: 0.35 × 8000 = 2800 m³ and 0.35 × 10 000 = 3500 m³
    assert qty(res2, 1, "water") == pytest.approx(2800.0)
    assert qty(res2, 2, "water") == pytest.approx(3500.0)
    assert total_value(res2, coef) == pytest.approx((459 + 378 + 472.5 + 2800 + 3500) * 7.06 * chain(2010))


# --------------------------------------------------------------------------- 6 water purification


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


# --------------------------------------------------------------------------- 7 air purification


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


# --------------------------------------------------------------------------- 8 carbon sequestration


def carbon_landscape(make_landscape, npp=(600.0, "gC/(m**2*yr)"), temperature=(16.0, "degC"), precipitation=(1400.0, "mm/yr")):
    # forest 211 | grassland 31 ; dry cropland 12 | urban 51, one zone
    return make_landscape([[211, 31], [12, 51]], [[1, 1], [1, 1]], {"npp": npp, "temperature": temperature, "precipitation": precipitation})


# Rh (Pei et al. 2010) with T = 16 °C, monthly P = 1400/12 = 116.667 mm:
#   e^(0.0912 × 16) = e^1.4592 = 4.302516; ln(0.3145 × 116.667 + 1) = ln 37.691667 = 3.629439
#   monthly 0.22 × 7.931955 × 30 × 0.465 = 24.343170 gC/m² → × 12 = 292.118 gC/(m²·yr)
RH = 12 * 0.22 * (math.exp(0.0912 * 16) + math.log(0.3145 * 1400 / 12 + 1)) * 30 * 0.465


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
    c2 = copy.copy(coef)
    c2.profile = copy.deepcopy(coef.profile)
    c2.profile["valuation"]["carbon_price_basis"] = "tC"
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


# --------------------------------------------------------------------------- 9 oxygen release


def test_oxygen_release_nep_basis_hand(coef, make_landscape):
    ls = carbon_landscape(make_landscape)
    res = run("oxygen_release", ls, coef, "nep", {"carbon_method": "nep_rh"})
    # O2 = 32/44 × CO2 fixed = 32/44 × 1.016010 = 0.738917 t per vegetated cell
    per_cell = 32 / 44 * (600 - RH) * A * 1e-6 * CO2_C
    assert qty(res, 1, "forest") == pytest.approx(per_cell)
    assert qty(res, 1, "grassland") == pytest.approx(per_cell)
    # 1000 CNY/t (2007) × CPI 2007→2022 (1.431757)
    assert total_value(res, coef) == pytest.approx(2 * per_cell * 1000 * chain(2007))


def test_oxygen_release_npp_basis_hand(coef, make_landscape):
    res = run("oxygen_release", carbon_landscape(make_landscape), coef, "npp")
    # NPP 600 gC/m² / (72/162) = 1350 g dry matter/m²; × 1.19 = 1606.5 g O2/m²; × 900 m² × 1e-6 = 1.44585 t
    assert qty(res, 1, "forest") == pytest.approx(1.44585)
    assert qty(res, 1, "grassland") == pytest.approx(1.44585)
    assert qty(res, 1, "cropland") == 0.0


# --------------------------------------------------------------------------- 10 climate regulation


def test_climate_regulation_hand(coef, make_landscape):
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], {"et_hot": (300, "mm/yr")})
    res = run("climate_regulation", ls, coef)
    # V = 0.3 m × 900 m² = 270 m³; cooling = 270 m³ × 1000 kg/m³ × 2450 kJ/kg / 3600 kJ/kWh / EER 3 = 61 250 kWh
    cool = 270 * 1000 * 2450 / 3600 / 3
    assert cool == pytest.approx(61250.0)
    assert qty(res, 1, "forest") == pytest.approx(61250.0)
    assert qty(res, 1, "grassland") == pytest.approx(61250.0)
    # water surface: cooling + humidification 270 m³ × 120 kWh/m³ = 32 400 kWh → 93 650 kWh
    assert qty(res, 2, "water") == pytest.approx(93650.0)
    assert qty(res, 2, "urban") == 0.0
    # 0.5223 CNY/kWh (2022, national default of cn-2022 1.1.0)
    assert total_value(res, coef) == pytest.approx((61250 * 2 + 93650) * 0.5223)


# --------------------------------------------------------------------------- 11 negative ions


def test_negative_ions_hand(coef, make_landscape):
    ls = make_landscape([[211, 22], [31, 42]], [[1, 1], [2, 2]])
    res = run("negative_ions", ls, coef)
    # G = 5.256e15 × (Q − 600) × A[ha] × H[m] / L[min], L = 10 min, A = 0.09 ha
    # 211: Q 2000, H 15 → 5.256e15 × 1400 × 0.09 × 15 / 10 = 9.93384e17
    # 22:  Q 1200, H 3  → 5.256e15 × 600 × 0.09 × 3 / 10 = 8.51472e16
    # 31:  Q 800, H 0.5 → 5.256e15 × 200 × 0.09 × 0.5 / 10 = 4.7304e15
    # 42:  Q 1500, H 1  → 5.256e15 × 900 × 0.09 × 1 / 10 = 4.25736e16
    assert qty(res, 1, "forest") == pytest.approx(9.93384e17)
    assert qty(res, 1, "shrub") == pytest.approx(8.51472e16)
    assert qty(res, 2, "grassland") == pytest.approx(4.7304e15)
    assert qty(res, 2, "water") == pytest.approx(4.25736e16)
    total = 9.93384e17 + 8.51472e16 + 4.7304e15 + 4.25736e16
    # 5.8185 CNY per 10¹⁸ ions (2008) × CPI 2008→2022
    assert total_value(res, coef) == pytest.approx(total / 1e18 * 5.8185 * chain(2008))


def test_negative_ions_from_grid(coef, make_landscape):
    ls = make_landscape([[211, 211]], [[1, 1]], {"negative_ions": (np.array([[3000.0, 500.0]]), "ion/cm**3")})
    res = run("negative_ions", ls, coef)
    # 3000 ions/cm³: 5.256e15 × 2400 × 0.09 × 15 / 10 = 1.702944e18; 500 < 600 → 0
    assert qty(res, 1, "forest") == pytest.approx(1.702944e18)


# --------------------------------------------------------------------------- 12 recreation


def test_recreation_travel_cost_hand(coef, make_landscape):
    visitors = pd.DataFrame({"zone_id": [1, 2], "ecosystem": ["forest", "water"], "visitors": [1000, 400],
                             "travel_time": [2.0, 1.5], "wage": [50.0, 40.0], "direct_cost": [100.0, 60.0]})
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], tables={"visitors": visitors})
    res = run("recreation", ls, coef, "travel_cost")
    # time valued at the full wage (recreation.time_value_share = 1, the spec's formula):
    # zone 1 forest: 1000 × (2 h × 50 CNY/h × 1 + 100) = 1000 × 200 = 200 000 CNY
    # zone 2 water: 400 × (1.5 × 40 × 1 + 60) = 400 × 120 = 48 000 CNY
    assert qty(res, 1, "forest") == 1000
    v = values(res, coef)["travel_cost"]
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(200000)
    assert float(v.value.sel(zone=2, ecosystem="water")) == pytest.approx(48000)
    # with the share of travel-cost studies (0.4): 1000 × (2 × 50 × 0.4 + 100) = 140 000 CNY
    low = run("recreation", ls, coef.with_overrides({"recreation.time_value_share": 0.4}), "travel_cost")
    assert float(values(low, coef)["travel_cost"].value.sel(zone=1, ecosystem="forest")) == pytest.approx(140000)


def test_recreation_revenue_shared_by_area(coef, make_landscape):
    visitors = pd.DataFrame({"zone_id": [1], "visitors": [900], "revenue": [3.0]})
    visitors.attrs["units"] = {"revenue": "wan_CNY"}
    # zone 1: two forest cells and one lake cell (+ urban, not natural)
    ls = make_landscape([[211, 211], [42, 51]], [[1, 1], [1, 1]], tables={"visitors": visitors})
    res = run("recreation", ls, coef, "revenue")
    # natural area: forest 1800 m², water 900 m² → shares 2/3 and 1/3
    assert qty(res, 1, "forest") == pytest.approx(600)
    assert qty(res, 1, "water") == pytest.approx(300)
    v = values(res, coef)["revenue"]
    # 3 wan CNY = 30 000 CNY → 20 000 forest, 10 000 water
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(20000)
    assert float(v.value.sel(zone=1, ecosystem="water")) == pytest.approx(10000)


# --------------------------------------------------------------------------- 13 landscape


def test_landscape_value_hand(coef, make_landscape):
    housing = pd.DataFrame({"zone_id": [1, 2], "floor_area": [10000.0, 2000.0], "premium": [500.0, 300.0]})
    # zone 1: forest + lake (equal areas); zone 2: urban only (falls back on 'water')
    ls = make_landscape([[211, 42], [51, 51]], [[1, 1], [2, 2]], tables={"housing": housing})
    res = run("landscape", ls, coef)
    # zone 1: 10 000 m² × 500 CNY/m² × 4.3 %/yr = 215 000 CNY, half forest half water
    v = values(res, coef)["premium"]
    assert float(v.value.sel(zone=1, ecosystem="forest")) == pytest.approx(107500)
    assert float(v.value.sel(zone=1, ecosystem="water")) == pytest.approx(107500)
    # zone 2: 2000 × 300 × 0.043 = 25 800 CNY on 'water' (fallback)
    assert float(v.value.sel(zone=2, ecosystem="water")) == pytest.approx(25800)
    assert qty(res, 1, "forest") == pytest.approx(5000)
    # switch off: the capitalised premium 10 000 × 500 = 5 000 000 CNY is booked as is
    off = run("landscape", ls, coef, switches={"landscape_annualise": False})
    assert float(values(off, coef)["premium"].value.sel(zone=1).sum()) == pytest.approx(5_000_000)


# --------------------------------------------------------------------------- account assembly


def test_assemble_current_and_comparable_prices(coef, make_landscape):
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], {
        "precipitation": (1200, "mm/yr"), "et": (np.array([[700, 500], [900, 600]], float), "mm/yr"), "et_hot": (300, "mm/yr")})
    results = {"water_conservation": run("water_conservation", ls, coef, "water_balance"), "climate_regulation": run("climate_regulation", ls, coef)}
    acc = assemble(results, {"water_conservation": "water_balance", "climate_regulation": "evaporative_cooling"}, ls.zones, 2022, coef.price_index, "cpi", base_year=2020)
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


def test_valuing_a_tco2_quantity_with_a_per_tc_price_raises(coef, make_landscape):
    from gep.services.result import Component

    res = run("carbon_sequestration", carbon_landscape(make_landscape), coef, "rate_lut")
    price, year = coef.price("price.carbon_tax_basis")  # CNY/tC
    with pytest.raises(UnitError):
        value(Component("bad", res.quantity, price, year, "test"), coef.price_index, "cpi", 2022)
