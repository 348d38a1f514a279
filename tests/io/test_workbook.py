"""Excel workbooks: deterministic bytes, number formats, frozen header and filter."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_workbook_is_deterministic_with_formats(tmp_path):
    from openpyxl import load_workbook

    from gep.io import workbook

    df = pd.DataFrame({"zone": [1, 2], "value_cny": [1234567.891, -5.0], "share": [0.25, np.nan], "note": ["a", None]})
    sheets = [workbook.Sheet("README", pd.DataFrame({"item": ["x"], "value": ["y"]})), workbook.Sheet("results", df, formats={"value_cny": workbook.CNY, "share": workbook.PCT})]
    workbook.write_workbook(tmp_path / "a.xlsx", sheets)
    workbook.write_workbook(tmp_path / "b.xlsx", sheets)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    ws = load_workbook(tmp_path / "a.xlsx")["results"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["B2"].value == 1234567.891 and ws["B2"].number_format == "#,##0" and ws["C2"].number_format == "0.00%"
    assert ws["C3"].value is None and ws["A1"].font.bold
