"""Flood mitigation (洪水调蓄) by hand: vegetation, marsh and reservoir storage.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.accounting.hand import chain, qty, run, total_value


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


def test_flood_mitigation_marsh_national_form_hand(coef, make_landscape):
    """cn-2022 (docs/methods.md decision 6; Bai Ma Zhuo Ga et al. 2017 §2.4.4): C_m = 0.3 m × marsh area, marsh (64)
    only; tidal flats (45) and bottomland (46) hold no marsh storage."""
    assert coef.profile["switches"]["marsh_soil_storage"] is False
    ls = make_landscape([[64, 45], [46, 42]], [[1, 1], [1, 1]], {"storm_rainfall": (600, "mm/yr")})
    res = run("flood_mitigation", ls, coef, switches=dict(coef.profile["switches"]))
    # 0.3 m × 900 m² = 270 m³ on the marsh cell, nothing on the tidal flat and the bottomland
    assert qty(res, 1, "wetland") == pytest.approx(270.0)
    assert qty(res, 1, "water") == 0.0
    # 270 m³ × 7.06 CNY/m³ (2010) × CPI 2010→2022
    assert total_value(res, coef) == pytest.approx(270 * 7.06 * chain(2010))
    # the soil-storage switch: (0.45 × 0.5 + 0.3) × 900 = 472.5 m³ on each of the three wetland cells
    soil = run("flood_mitigation", ls, coef, switches={**coef.profile["switches"], "marsh_soil_storage": True})
    assert qty(soil, 1, "wetland") == pytest.approx(3 * 472.5)
