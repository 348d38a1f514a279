"""gep run on the demo scenario: its account against a checked-in golden table (regression).

The golden table holds value [CNY] and quantity per zone × service. Regenerate
it only for a deliberate change of method, coefficient or demo data:
``python -m tests.jobs.test_run`` (and say why in the commit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gep.jobs.run import compute, load

GOLDEN = Path(__file__).parent / "data" / "demo_golden.csv"
DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"


def demo_table() -> pd.DataFrame:
    result = compute(load(DEMO))
    table = result.account.table()
    out = table.groupby(["zone", "service", "unit"], as_index=False)[["quantity", "value_cny"]].sum(min_count=1)
    return out.sort_values(["zone", "service"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return demo_table()


@pytest.mark.slow
def test_demo_matches_golden(table):
    golden = pd.read_csv(GOLDEN)
    merged = golden.merge(table, on=["zone", "service", "unit"], how="outer", suffixes=("_golden", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    np.testing.assert_allclose(merged["value_cny"], merged["value_cny_golden"], rtol=1e-7, atol=1e-3)
    np.testing.assert_allclose(merged["quantity"].fillna(0), merged["quantity_golden"].fillna(0), rtol=1e-7, atol=1e-6)


@pytest.mark.slow
def test_demo_is_plausible(table):
    by_service = table.groupby("service")["value_cny"].sum()
    assert len(by_service) == 11  # cn-2022: every national service, oxygen and negative ions off
    assert (by_service > 0).all()
    assert table["zone"].nunique() == 10


if __name__ == "__main__":
    demo_table().to_csv(GOLDEN, index=False, float_format="%.12g")
    print(f"wrote {GOLDEN}")
