"""Small monitoring series, sections and agreements on disk for the monitoring tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def raw(rows: list[tuple], path: str = "test.csv") -> pd.DataFrame:
    """A series as :func:`gep.io.monitoring.read_series` returns it (text values, row numbers)."""
    df = pd.DataFrame(rows, columns=["section", "time", "parameter", "value", "unit", "flag"]).astype(str)
    df["row"] = range(1, len(df) + 1)
    df.attrs["path"] = path
    return df


def monthly(section: str, year: int, values: dict[str, float], months: range = range(1, 13), unit: str = "mg/L") -> list[tuple]:
    """One sample a month (day 10) of each parameter at a constant value."""
    return [(section, f"{year}-{m:02d}-10", p, repr(v), unit, "") for m in months for p, v in values.items()]


def write_series(path: Path, rows: list[tuple]) -> Path:
    pd.DataFrame(rows, columns=["section", "time", "parameter", "value", "unit", "flag"]).to_csv(path, index=False)
    return path


def index_agreement(path: Path, extra: str = "", baseline: str = 'baseline = "4 mg/L"', tp_baseline: str = 'baseline = "0.1 mg/L"',
                    period: str = "start = 2021-01-01\nend = 2022-12-31") -> Path:
    """An index agreement: CODMn and TP (weights 0.5), k0 = 0.9, tiers both ways with a slope."""
    path.write_text(f"""
[agreement]
id = "test-index"
formula = "index"
sections = ["S1"]

[period]
{period}

[upstream]
name = "Up county"
account = "up"

[downstream]
name = "Down county"
account = "down"

[index]
k0 = 0.9
{extra}

[parameters.CODMn]
weight = 0.5
{baseline}

[parameters.TP]
weight = 0.5
{tp_baseline}

[[payment]]
upto = 1.0
payer = "downstream"
amount = "100 CNY"

[[payment]]
payer = "upstream"
amount = "200 CNY"
slope = "1000 CNY"
pivot = 1.0
""", encoding="utf-8")
    return path
