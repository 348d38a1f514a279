"""Charts with Chinese text: a CJK font when one is available; otherwise an ASCII fallback label and no glyph warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gep.io import charts

TITLE = "22洪政03 (185873.SH): revenue and DSCR"


def _fan(path, title):
    t = np.array([1.0, 2.0, 3.0])
    pct = np.array([[1e6, 1e6, 1e6], [2e6, 2e6, 2e6], [3e6, 3e6, 3e6]])
    charts.coverage_fan(t, np.array([1.5e6, 1.5e6, 2e6]), pct, pct[1], pct / 1.5e6, (5, 50, 95), title, path)


@pytest.fixture
def no_cjk_font(monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)


def test_ascii_fallback_without_a_cjk_font(no_cjk_font):
    assert charts.drawable("22洪政03 (185873.SH)", "exchange_hongzheng03") == "exchange_hongzheng03"
    assert charts.drawable("长荡湖 wetland (退渔还湿) bond") == "wetland bond"
    same = "Changdang Lake bond: impact per 10⁴ CNY – p5–p95"  # the default font has these glyphs
    assert charts.drawable(same, "fallback") == same


def test_no_glyph_warnings_without_a_cjk_font(tmp_path, no_cjk_font):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        _fan(tmp_path / "fan.png", TITLE)  # even text that was not made drawable
        gep = pd.DataFrame({"run": ["later", "later"], "project": ["湿地", "ALL"], "per_10k_cny": [1.0, 1.0]})
        charts.impact_bars(gep, pd.DataFrame(), {"湿地": "P1 (4.2)", "ALL": "bond total"}, "长荡湖 bond", tmp_path / "i.png")
    assert (tmp_path / "fan.png").stat().st_size > 1000 and (tmp_path / "i.png").stat().st_size > 1000


@pytest.mark.skipif(charts.cjk_font() is None, reason="no font with CJK glyphs installed or registered with matplotlib")
def test_chinese_text_is_drawn_with_the_cjk_font(tmp_path):
    assert charts.drawable(TITLE, "fallback") == TITLE
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fan(tmp_path / "fan.png", TITLE)
    assert (tmp_path / "fan.png").is_file()


def test_zone_boundaries_are_the_edges_between_zones_merged_into_runs_and_none_outside():
    z = np.array([[0, 0, 1],
                  [0, 0, 1],
                  [2, 2, -1]])
    segments = charts.zone_boundaries(z, (0.0, 3.0, 0.0, 3.0))  # one unit a cell, row 0 at the top (y 2 to 3)
    got = sorted(tuple(map(tuple, s.round(9).tolist())) for s in segments)
    assert got == sorted([
        ((0.0, 1.0), (2.0, 1.0)),  # zones 0 | 2, below row 1, over columns 0-1: one run
        ((2.0, 3.0), (2.0, 1.0)),  # zones 0 | 1, right of column 1, rows 0-1: one run
    ])  # zone 1 | outside (-1) and zone 2 | outside draw nothing
    assert charts.zone_boundaries(np.full((4, 5), 3), (0.0, 1.0, 0.0, 1.0)).shape == (0, 2, 2)
