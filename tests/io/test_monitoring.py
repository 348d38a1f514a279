"""Reading monitoring series and section tables: CSV with comments, Parquet, and the one-line errors."""

from __future__ import annotations

import pandas as pd
import pytest

from gep.errors import InputError
from gep.io.monitoring import read_sections, read_series


def test_csv_and_parquet_read_alike_with_row_numbers(tmp_path):
    (tmp_path / "s.csv").write_text("# a comment\nsection,time,parameter,value,unit,flag\nS1,2023-01-05,TP,<0.01,mg/L,\nS1,2023-02-05,TP,0.05,mg/L,\n",
                                    encoding="utf-8")
    csv = read_series(tmp_path / "s.csv")
    assert list(csv["value"]) == ["<0.01", "0.05"] and list(csv["row"]) == [1, 2] and csv.attrs["path"].endswith("s.csv")
    csv.drop(columns="row").to_parquet(tmp_path / "s.parquet")
    pq = read_series(tmp_path / "s.parquet")
    assert list(pq["value"]) == ["<0.01", "0.05"] and list(pq["row"]) == [1, 2]


@pytest.mark.parametrize("name, text, words", [
    ("s.csv", "section,time,parameter,value\nS1,2023-01-05,TP,0.1\n", "unit"),
    ("s.txt", "section,time,parameter,value,unit\n", "neither .csv nor .parquet"),
])
def test_bad_series_files(tmp_path, name, text, words):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=words):
        read_series(tmp_path / name)


def test_a_section_listed_twice_is_refused(tmp_path):
    (tmp_path / "sec.csv").write_text("section,zone\nS1,1\nS1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="section 'S1' is listed twice"):
        read_sections(tmp_path / "sec.csv")
    pd.DataFrame({"section": [" S2 "]}).to_csv(tmp_path / "ok.csv", index=False)
    assert list(read_sections(tmp_path / "ok.csv")["section"]) == ["S2"]
