"""Oxygen release (释氧) by hand: from the CO2 sequestered (nep) and from NPP.

See tests/accounting/hand.py for the grid, the CPI chain and the helpers.
"""

from __future__ import annotations

import pytest

from gep.jobs.inputs import coefficient_set
from tests.accounting.hand import A, CO2_C, RH, carbon_landscape, chain, qty, run, total_value


def test_oxygen_release_nep_basis_hand(coef, make_landscape):
    ls = carbon_landscape(make_landscape)
    res = run("oxygen_release", ls, coef, "nep", carbon="nep_rh")
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


def test_oxygen_release_zj_2020_defaults_to_the_npp_basis(make_landscape):
    """zj-2020 (docs/methods.md decision 4; Miao Jianqun et al. 2017 Table 2): O2 = 1.19 t per t dry matter of NPP."""
    zj = coefficient_set("zj-2020")
    assert zj.profile["methods"]["oxygen_release"] == "npp"
    assert zj.scalar("oxygen.o2_per_dry_matter", "dimensionless") == 1.19
    res = run("oxygen_release", carbon_landscape(make_landscape), zj, "npp")
    # 600 gC/m² / (72/162) = 1350 g dry matter × 1.19 = 1606.5 g O2/m² × 900 m² = 1.44585 t per vegetated cell
    assert qty(res, 1, "forest") == pytest.approx(1.44585)
    # value: 2 vegetated cells × 1.44585 t = 2.8917 t × 1000 CNY/t (LY/T 1721, price year 2007) × CPI 2007→2022
    # (1.431757) = 4140.21 CNY at 2022 prices
    assert chain(2007) == pytest.approx(1.431757, rel=1e-6)
    assert total_value(res, zj) == pytest.approx(2.8917 * 1000 * 1.431757, rel=1e-6) == pytest.approx(4140.21, rel=1e-5)
    # against the net basis (32/44 × CO2 of NEP = 0.738917 t): × 1.9567 here
    assert qty(res, 1, "forest") / (32 / 44 * (600 - RH) * A * 1e-6 * CO2_C) == pytest.approx(1.9567, rel=1e-4)
