"""Sand fixation (防风固沙) by hand: RWEQ.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import math

import pytest

from tests.accounting.hand import A, chain, qty, run, total_value


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
    # value (Bai Ma Zhuo Ga et al. 2017 §3.2.3): area restored = t / (1.28 t/m³ × 0.1 m) m²
    # × 3.75 CNY/m² (2010) × CPI 2010→2022 (1.318025)
    assert chain(2010) == pytest.approx(1.318025, rel=1e-6)
    assert total_value(res, coef) == pytest.approx(sum(t.values()) / (1.28 * 0.1) * 3.75 * chain(2010))
