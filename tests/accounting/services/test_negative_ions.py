"""Negative oxygen ions (负氧离子) by hand (LY/T 1721).

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.accounting.hand import chain, qty, run, total_value


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
