"""Water conservation (水源涵养) by hand: water balance and Budyko methods.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.accounting.hand import chain, qty, run, total_value


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


def test_water_conservation_cn_2022_counts_local_water_supply_in_full(coef, make_landscape):
    """cn-2022 does not net local water supply out (docs/methods.md decision 3: Ganzi Table 3 counts both in full)."""
    assert coef.profile["switches"]["water_conservation_net_of_water_use"] is False
    prod = pd.DataFrame({"zone_id": [1], "product": ["water_supply"], "ecosystem": ["water"], "quantity": [200.0], "unit": ["m**3"]})
    ls = wc_landscape(make_landscape)
    ls.tables["production"] = prod
    res = run("water_conservation", ls, coef, "water_balance", dict(coef.profile["switches"]))
    # the water balance of test_water_conservation_water_balance_hand, the 200 m³ supplied not taken off
    assert qty(res, 1, "forest") == pytest.approx(421.164)
    assert qty(res, 1, "grassland") == pytest.approx(541.44)
    # value, national form: the whole 1232.604 m³ at the reservoir cost 7.06 CNY/m³ (2010) × CPI 2010→2022
    # (1.318025): 1232.604 × 7.06 × 1.318025 = 11 469.697 CNY; netting would have taken 200 × 7.06 × 1.318025 = 1861.05 off
    assert total_value(res, coef) == pytest.approx(11469.697, rel=1e-6)
