"""Soil retention (土壤保持) by hand: RUSLE with C from cover or the look-up table, LS and K factors.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from gep.accounting.services import soil_retention as sr
from tests.accounting.hand import HA, chain, qty, run, total_value, values


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
    # one-sided where a neighbour is beyond the grid edge (gep.accounting.services.soil_retention.slope_from_dem):
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


def test_soil_retention_national_form_hand(coef, make_landscape):
    """cn-2022's form (docs/methods.md decision 1; Bai Ma Zhuo Ga et al. 2017 eqs. (4)–(5)):
    V = λ·Q/ρ·c_dredge + Q·C_N·p_N + Q·C_P·p_P, N and P at the cost of treating them as pollution."""
    assert coef.profile["switches"]["soil_retention_value"] == "national"
    # one forest cell 211, cover 80 % → C = 0: Q = 4000 × 0.03 × 2 × 0.09 = 21.6 t; one urban cell (excluded)
    ls = make_landscape([[211, 51]], [[1, 1]], {
        "r_factor": (4000, "MJ*mm/(ha*h*yr)"), "k_factor": (0.03, "t*ha*h/(ha*MJ*mm)"), "ls_factor": (2.0, "dimensionless"),
        "fcover": (80.0, "percent")})
    res = run("soil_retention", ls, coef, "rusle_cover", dict(coef.profile["switches"]))
    assert qty(res, 1, "forest") == pytest.approx(21.6)
    assert [c.name for c in res.components] == ["sediment", "N", "P"]
    v = values(res, coef)
    # sediment: 21.6 × 0.24 / 1.125 = 4.608 m³ × 15.58 CNY/m³ (2010) × CPI 2010→2022
    assert float(v["sediment"].value.sum()) == pytest.approx(4.608 * 15.58 * chain(2010))
    # N: 21.6 t × 0.12 % = 0.02592 t × 875 CNY/t (2003 fee: 0.7 CNY per equivalent ÷ 0.8 kg) × CPI 2003→2022
    assert float(v["N"].component.quantity.sum()) == pytest.approx(0.02592)
    assert float(v["N"].value.sum()) == pytest.approx(0.02592 * 875 * chain(2003))
    # P: 21.6 × 0.06 % = 0.01296 t × 2800 CNY/t (0.7 ÷ 0.25 kg) × CPI 2003→2022
    assert float(v["P"].value.sum()) == pytest.approx(0.01296 * 2800 * chain(2003))
    assert chain(2003) == pytest.approx(1.610868, rel=1e-5)
    # in CNY: 4.608 × 15.58 × 1.318025 = 94.625; 0.02592 × 875 × 1.610868 = 36.534; 0.01296 × 2800 × 1.610868 = 58.455
    assert total_value(res, coef) == pytest.approx(94.625 + 36.534 + 58.455, rel=1e-4)
    # the forestry fertiliser form on the same cell prices N, P, K and organic matter at fertiliser prices instead
    forestry = run("soil_retention", ls, coef, "rusle_cover", {**coef.profile["switches"], "soil_retention_value": "forestry_fertiliser"})
    assert [c.name for c in forestry.components] == ["sediment", "N", "P", "K", "organic_matter"]
