"""Monitoring series: parameter names, pint units, flags, detection limits, windows and gaps (hand-worked)."""

from __future__ import annotations

import numpy as np
import pytest

from gep.errors import InputError, UnitError
from gep.monitoring.series import gaps, normalise, period_labels, substitute, window
from tests.monitoring.helpers import raw


def test_names_units_flags_and_detection_limits():
    df = normalise(raw([
        ("S1", "2023-01-05", "氨氮", "0.5", "mg/L", ""),
        ("S1", "2023-01-05", "TP", "120", "ug/L", ""),          # 120 µg/L = 0.12 mg/L
        ("S1", "2023-02-05", "TP", "<10", "ug/L", ""),          # below a DL of 10 µg/L
        ("S1", "2023-03-05", "TP", "0.02", "mg/L", "L"),        # HJ/T 91: the DL with flag L
        ("S1", "2023-04-05", "TP", "", "mg/L", "M"),
        ("S1", "2023-05-05", "TP", "0.3", "mg/L", "X"),
        ("S1", "2023-01-05", "flow", "3600", "m**3/h", ""),     # 1 m³/s
        ("S1", "2023-01-05", "水温", "293.15", "K", ""),         # 20 °C
        ("S1", "2023-06-05", "CODcr", "", "mg/L", ""),          # empty value, no flag: missing
    ]))
    assert list(df["parameter"]) == ["NH3-N", "TP", "TP", "TP", "TP", "TP", "flow", "temperature", "COD"]
    assert list(df["status"]) == ["valid", "valid", "below_dl", "below_dl", "missing", "rejected", "valid", "valid", "missing"]
    assert df["value"].iloc[1] == pytest.approx(0.12)
    assert df["detection_limit"].iloc[2] == pytest.approx(0.01) and df["value"].iloc[2] == pytest.approx(0.01)
    assert df["detection_limit"].iloc[3] == pytest.approx(0.02)
    assert np.isnan(df["value"].iloc[4]) and np.isnan(df["value"].iloc[5])
    assert df["value"].iloc[6] == pytest.approx(1.0) and df["unit"].iloc[6] == "m**3/s"
    assert df["value"].iloc[7] == pytest.approx(20.0) and df["unit"].iloc[7] == "degC"


def test_substitution_rules():
    df = normalise(raw([("S1", "2023-01-05", "TP", "0.05", "mg/L", ""), ("S1", "2023-02-05", "TP", "0.02", "mg/L", "L"),
                        ("S1", "2023-03-05", "TP", "", "mg/L", "M")]))
    half, zero, dl = (substitute(df, r) for r in ("half", "zero", "dl"))
    assert half[:2] == pytest.approx([0.05, 0.01]) and zero[:2] == pytest.approx([0.05, 0.0]) and dl[:2] == pytest.approx([0.05, 0.02])
    assert np.isnan(half[2])
    with pytest.raises(InputError, match="detection-limit rule"):
        substitute(df, "third")


@pytest.mark.parametrize("row, error, words", [
    (("S1", "2023-01-05", "CODX", "1", "mg/L", ""), InputError, ["unknown parameter 'CODX'", "data row 1", "did you mean"]),
    (("S1", "2023-01-05", "TP", "1", "mg/zorkmid", ""), UnitError, ["unknown unit", "data row 1"]),
    (("S1", "2023-01-05", "TP", "1", "m**3/s", ""), UnitError, ["data row 1", "TP"]),
    (("S1", "2023-01-05", "TP", "1", "mg/L", "Q"), InputError, ["unknown flag 'Q'"]),
    (("S1", "2023-01-05", "TP", "one", "mg/L", ""), InputError, ["'one' is not a number"]),
    (("S1", "last year", "TP", "1", "mg/L", ""), InputError, ["is not a date"]),
    (("S1", "2023-01-05", "TP", "-0.1", "mg/L", ""), InputError, ["negative concentration"]),
    (("S1", "2023-01-05", "TP", "0.1", "", ""), InputError, ["without a unit"]),
])
def test_bad_rows_name_the_row(row, error, words):
    with pytest.raises(error) as exc:
        normalise(raw([row], "series.csv"))
    for w in words:
        assert w in exc.value.line()
    assert "series.csv" in exc.value.line()


def test_duplicate_samples_are_refused():
    with pytest.raises(InputError, match="given twice"):
        normalise(raw([("S1", "2023-01-05", "TP", "0.1", "mg/L", ""), ("S1", "2023-01-05", "总磷", "0.2", "mg/L", "")]))


def test_window_periods_and_gaps():
    df = normalise(raw([("S1", "2023-01-10", "TP", "0.1", "mg/L", ""), ("S1", "2023-03-31", "TP", "0.1", "mg/L", ""),
                        ("S1", "2023-04-02", "TP", "", "mg/L", "M"), ("S1", "2023-05-01", "TP", "0.1", "mg/L", "")]))
    assert len(window(df, "2023-01-01", "2023-03-31")) == 2  # the end date is inclusive
    assert list(period_labels(df["time"], "quarter")) == ["2023Q1", "2023Q1", "2023Q2", "2023Q2"]
    g = gaps(df, "2023-01-01", "2023-04-30", "month")
    assert g.to_dict(orient="records") == [{"section": "S1", "parameter": "TP", "expected": 4, "observed": 2, "completeness": 0.5, "missing": "2023-02;2023-04"}]
