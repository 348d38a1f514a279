"""``report.html``'s font: the shipped CJK font cut to the characters shown, once per set of characters (a cache)."""

from __future__ import annotations

import base64

import pytest
from fontTools.ttLib import TTFont

from gep.io import report


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEP_CACHE_DIR", str(folder))
    return folder


def _cmap(b64: str) -> set[str]:
    import io

    return {chr(c) for c in TTFont(io.BytesIO(base64.b64decode(b64))).getBestCmap()}


def test_the_font_is_cut_once_per_set_of_characters_and_read_back_from_the_cache(cache, monkeypatch):
    first = report.font_subset("<p>水源涵养 water 碳储量</p>")
    assert {"水", "源", "涵", "养", "碳", "储", "量"} <= _cmap(first)
    assert [p.suffix for p in cache.iterdir()] == [".woff"]

    def refuse(*_a):
        raise AssertionError("the font was cut again")

    monkeypatch.setattr(report, "_cut_font", refuse)
    assert report.font_subset("量储碳 养涵源水 (other text)") == first  # the same characters, in any order
    assert report.font_subset("no Chinese at all") == ""


def test_the_same_characters_give_the_same_bytes_without_a_cache(cache):
    from gep.io.charts import shipped_cjk_font

    assert report._cut_font(shipped_cjk_font(), "北镇") == report._cut_font(shipped_cjk_font(), "北镇")


def test_a_cache_that_cannot_be_written_still_gives_the_font(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("GEP_CACHE_DIR", str(blocked / "gep"))
    assert "北" in _cmap(report.font_subset("北镇"))
