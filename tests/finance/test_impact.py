"""Impact attribution by hand: GEP change and credits per 10⁴ CNY of proceeds, pro rata by financing share."""

from __future__ import annotations

import numpy as np
import pytest

from gep.finance.green import UseOfProceeds
from gep.finance.impact import CreditMove, RunGEP, credit_rows, gep_rows, overlapping_zones

LINES = [UseOfProceeds("forest", "4.2", 2e6, 4e6, ("1",), ("acc-f",)),   # share 1/2
         UseOfProceeds("sewage", "5.3.1.1", 1e6, 1e6, ("2",))]          # share 1
RUNS = [RunGEP("base", 2020, {"1": 1000.0, "2": 500.0, "3": 7.0}), RunGEP("later", 2023, {"1": 1300.0, "2": 450.0, "3": 9.0})]


def test_gep_rows_by_hand():
    df = gep_rows(LINES, RUNS).set_index("project")
    # forest: 1300 - 1000 = 300 CNY/yr, share 1/2 -> 150; per 10^4 CNY: 150 / (2e6 / 1e4) = 0.75
    assert df.loc["forest", "gep_change_cny"] == pytest.approx(300.0)
    assert df.loc["forest", "attributable_cny"] == pytest.approx(150.0)
    assert df.loc["forest", "per_10k_cny"] == pytest.approx(0.75)
    assert df.loc["sewage", "per_10k_cny"] == pytest.approx(-0.5)  # 450 - 500 = -50 over 1e6
    assert df.loc["ALL", "per_10k_cny"] == pytest.approx(100 / 300)  # (150 - 50) / (3e6 / 1e4)
    assert np.isnan(df.loc["ALL", "gep_change_cny"]) and df.loc["ALL", "run"] == "later"


def test_a_line_without_zones_takes_every_zone():
    line = UseOfProceeds("all", "4.2", 1e4, 1e4)
    df = gep_rows([line], RUNS)
    assert df.iloc[0]["gep_change_cny"] == pytest.approx(1759.0 - 1507.0) and df.iloc[0]["zones"] == "all"


def test_credit_rows_by_hand():
    moves = [CreditMove("acc-f", "carbon/p1/2022", "issued", 4.5, "tCO2e", 3),
             CreditMove("acc-f", "carbon/p1/2022", "retired", 1.0, "tCO2e", 4),
             CreditMove("other", "carbon/p1/2022", "issued", 99.0, "tCO2e", 5)]
    df = credit_rows(LINES, moves).set_index("kind")
    assert list(df["project"]) == ["forest", "forest"]
    assert df.loc["issued", "attributable"] == pytest.approx(2.25)
    assert df.loc["issued", "per_10k_cny"] == pytest.approx(2.25 / 200)  # t CO2e per 10^4 CNY
    assert df.loc["retired", "amount"] == pytest.approx(1.0)
    assert credit_rows(LINES, []).empty


def test_overlapping_zones():
    assert overlapping_zones(LINES) == []
    both = LINES + [UseOfProceeds("wetland", "4.2", 1e6, 1e6, ("1", "3"))]
    assert overlapping_zones(both) == [("forest", "wetland", ["1"])]
    assert overlapping_zones([UseOfProceeds("a", "4.2", 1.0, 1.0), LINES[1]]) == [("a", "sewage", ["2"])]
