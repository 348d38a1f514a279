"""Monitoring charts draw Chinese names without a warning (outputs are written whole by the jobs: tests/cli/test_monitoring.py)."""

from __future__ import annotations

import warnings

import pandas as pd

from gep.io.monitoring_report import class_chart, scores_chart


def test_charts_with_chinese_names_draw_without_warnings(tmp_path):
    summary = pd.DataFrame({"section": ["界口", "S2"], "period": ["2020", "2020"], "class": [6, 2], "meets_target": [False, True]})
    scores = pd.DataFrame({"rank": [1, 2], "zone": [1, 2], "zone_name": ["上黄镇", "Daibu"], "score": [90.0, 50.0], "grade": ["excellent", "fail"],
                           "points_gep_growth": [90.0, 50.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        class_chart(summary, tmp_path / "classes.png", "新安江 class per year")
        scores_chart(scores, ["gep_growth"], tmp_path / "scores.png", "乡镇 scores")
    assert (tmp_path / "classes.png").stat().st_size > 0 and (tmp_path / "scores.png").stat().st_size > 0
