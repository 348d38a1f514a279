"""Climate regulation (气候调节) by hand: evaporative cooling.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pytest

from tests.accounting.hand import qty, run, total_value


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


def test_climate_regulation_national_form_hand(coef, make_landscape):
    """cn-2022 (docs/methods.md decision 2; Bai Ma Zhuo Ga et al. 2017 §2.4.8): plant cooling ÷ EER, the water
    surface's E·ρ·q/3600 + E·γ not divided by the EER."""
    assert coef.profile["switches"]["climate_water_surface_eer"] is False
    ls = make_landscape([[211, 31], [42, 51]], [[1, 1], [2, 2]], {"et_hot": (300, "mm/yr")})
    res = run("climate_regulation", ls, coef, switches=dict(coef.profile["switches"]))
    # plants as before: 270 m³ × 1000 × 2450 / 3600 / 3 = 61 250 kWh
    assert qty(res, 1, "forest") == pytest.approx(61250.0)
    # water: 270 m³ × 1000 kg/m³ × 2450 kJ/kg / 3600 = 183 750 kWh, + 270 × 120 = 32 400 kWh → 216 150 kWh
    assert qty(res, 2, "water") == pytest.approx(216150.0)
    by_name = {c.name: float(c.quantity.sum()) for c in res.components}
    assert by_name == pytest.approx({"plant_cooling": 122500.0, "water_cooling": 183750.0, "humidification": 32400.0})
    assert total_value(res, coef) == pytest.approx((61250 * 2 + 216150) * 0.5223)
    # a province's tariff: Jiangsu (32) 0.5283 CNY/kWh
    js = coef.with_province("32")
    assert total_value(run("climate_regulation", ls, js, switches=dict(coef.profile["switches"])), js) == pytest.approx((61250 * 2 + 216150) * 0.5283)
