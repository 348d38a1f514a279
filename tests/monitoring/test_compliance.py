"""GB 3838-2002 compliance: classes, exceedance, pollution index (hand-worked cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.errors import InputError
from gep.io.capacity_tables import read_standards
from gep.monitoring.compliance import classify, evaluate, limit_table, pollution_index
from gep.monitoring.series import normalise
from tests.monitoring.helpers import raw

LIMITS = limit_table(read_standards())


@pytest.mark.parametrize("parameter, body, conc, expected", [
    ("COD", "river", [15.0, 15.0001, 20.0, 40.0, 41.0], [1, 3, 3, 5, 6]),     # I = II = 15 mg/L: the better class
    ("DO", "river", [7.5, 6.5, 4.0, 1.9], [1, 2, 4, 6]),                      # a lower limit
    ("TP", "lake", [0.03, 0.01, 0.21], [3, 1, 6]),                            # lakes: 0.01 / 0.025 / 0.05 / 0.1 / 0.2
    ("TP", "river", [0.03, 0.4], [2, 5]),                                     # rivers: 0.02 / 0.1 / 0.2 / 0.3 / 0.4
    ("TN", "river", [0.5], [0]),                                              # no river limit for TN
])
def test_classify(parameter, body, conc, expected):
    n = len(conc)
    assert list(classify(np.array(conc), np.array([parameter] * n), np.array([body] * n), LIMITS)) == expected


def test_pollution_index_is_k0_weighted_sum():
    terms = pd.DataFrame({"g": ["a", "a", "b"], "conc": [2.0, 1.0, 3.0], "reference": [4.0, 2.0, 3.0], "weight": [0.25, 0.75, 1.0]})
    p = pollution_index(terms, ["g"], k0=0.85)
    # a: 0.85 * (0.25 * 2/4 + 0.75 * 1/2) = 0.85 * 0.5 = 0.425; b: 0.85 * 1 * 3/3 = 0.85
    assert p["a"] == pytest.approx(0.425) and p["b"] == pytest.approx(0.85)


def test_section_period_by_hand():
    series = normalise(raw([
        ("S1", "2023-01-10", "NH3-N", "0.8", "mg/L", ""), ("S1", "2023-07-10", "NH3-N", "1.6", "mg/L", ""),
        ("S1", "2023-01-10", "TP", "0.1", "mg/L", ""), ("S1", "2023-07-10", "TP", "0.2", "mg/L", ""),
        ("S1", "2023-01-10", "DO", "6", "mg/L", ""), ("S1", "2023-07-10", "DO", "4", "mg/L", ""),
        ("S1", "2023-01-10", "TN", "9", "mg/L", ""),                         # reported, not evaluated for a river
    ]))
    res = evaluate(series, None, LIMITS, period="year")
    st = res["stats"].set_index("parameter")
    # NH3-N mean 1.2 > 1.0 (class III limit): class IV, multiple (1.2 - 1)/1 = 0.2, one of two samples beyond
    assert st.loc["NH3-N", "mean"] == pytest.approx(1.2) and st.loc["NH3-N", "class"] == 4
    assert st.loc["NH3-N", "exceedance_multiple"] == pytest.approx(0.2) and st.loc["NH3-N", "exceedance_rate"] == pytest.approx(0.5)
    # TP mean 0.15: class III; 0.2 is not beyond the 0.2 limit
    assert st.loc["TP", "class"] == 3 and st.loc["TP", "exceedance_rate"] == 0.0
    # DO mean 5.0 meets class III (>= 5); the 4.0 sample is below it
    assert st.loc["DO", "class"] == 3 and st.loc["DO", "exceedance_rate"] == pytest.approx(0.5) and st.loc["DO", "exceedance_multiple"] == 0.0
    s = res["summary"].iloc[0]
    assert s["class"] == 4 and s["class_name"] == "IV" and not s["meets_target"] and s["worst_parameters"] == "NH3-N"
    assert s["exceeding"] == "NH3-N×0.2"
    # mean single-factor index of NH3-N and TP: (1.2/1.0 + 0.15/0.2)/2 = (1.2 + 0.75)/2 = 0.975 (DO has a lower limit)
    assert s["pollution_index"] == pytest.approx(0.975)


def test_below_dl_counts_at_half_and_targets_come_from_the_section_table():
    series = normalise(raw([("L1", "2023-01-10", "TP", "0.01", "mg/L", "L"), ("L1", "2023-02-10", "TP", "0.03", "mg/L", "")]))
    sections = pd.DataFrame({"section": ["L1"], "water_body": ["reservoir"], "target_class": ["II"]})
    st = evaluate(series, sections, LIMITS)["stats"].iloc[0]
    # (0.005 + 0.03)/2 = 0.0175 mg/L: lake class II (<= 0.025), target II limit 0.025
    assert st["mean"] == pytest.approx(0.0175) and st["class"] == 2 and st["target_limit"] == pytest.approx(0.025)
    assert st["n_below_dl"] == 1


def test_no_data_in_the_window_and_unknown_selection():
    series = normalise(raw([("S1", "2023-01-10", "TP", "0.1", "mg/L", "")], "s.csv"))
    with pytest.raises(InputError, match="no data from 2024-01-01"):
        evaluate(series, None, LIMITS, start="2024-01-01")
    with pytest.raises(InputError, match="section S9 has no data"):
        evaluate(series, None, LIMITS, only_sections=("S1", "S9"))
    with pytest.raises(InputError, match="unknown parameter 'PX'"):
        evaluate(series, None, LIMITS, only_parameters=("PX",))
