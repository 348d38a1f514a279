"""Chunked (dask) execution equals the in-memory run; memory guard; distributed run of the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gep import execution
from gep.cli import app
from gep.run import compute
from gep.scenario import load
from tests.cli import tiny

#: Chunked sums reassociate floating-point additions: relative tolerance of the comparison.
REASSOCIATION_RTOL = 1e-10


def _mixed_scenario(tmp_path, n=48):
    """An n × n scenario with every land-cover kind, 3 zones, soil and carbon inputs."""
    rng = np.random.default_rng(7)
    codes = rng.choice(np.array([11, 12, 211, 212, 221, 31, 43, 46, 51, 66], dtype=np.uint16), size=(n, n))
    codes[0, :3] = 0  # outside the region
    path = tiny.make(tmp_path, codes=codes[:2, :3])  # writes tables and the TOML skeleton
    d = tmp_path / "data"
    zones = np.repeat(np.array([1, 2, 2], dtype=np.uint8), n // 3 + 1)[:n][None, :].repeat(n, 0)
    tiny.write_tif(d / "landcover.tif", codes, nodata=0)
    tiny.write_tif(d / "zones.tif", zones, nodata=0)
    fields = {
        "precipitation": ("mm/yr", 1100 + 200 * rng.random((n, n))),
        "et": ("mm/yr", 600 + 200 * rng.random((n, n))),
        "r_factor": ("MJ*mm/(ha*h*yr)", 4000 + 2000 * rng.random((n, n))),
        "k_factor": ("t*ha*h/(ha*MJ*mm)", 0.02 + 0.02 * rng.random((n, n))),
        "dem": ("m", np.cumsum(rng.random((n, n)), axis=0) * 3),
        "fcover": ("dimensionless", rng.random((n, n))),
        "npp": ("gC/(m**2*yr)", 300 + 500 * rng.random((n, n))),
        "temperature": ("degC", 15 + 2 * rng.random((n, n))),
    }
    lines = []
    for name, (unit, data) in fields.items():
        tiny.write_tif(d / f"{name}.tif", data.astype(np.float32), unit, nodata=np.nan)
        lines.append(f'{name} = "data/{name}.tif"')
    text = path.read_text(encoding="utf-8")
    text = text.replace('precipitation = "data/precipitation.tif"\net = "data/et.tif"', "\n".join(lines))
    text = text.replace('enabled = ["provisioning", "water_conservation"]', 'enabled = ["provisioning", "water_conservation", "soil_retention", "carbon_sequestration"]')
    path.write_text(text, encoding="utf-8")
    return path


def test_chunked_equals_in_memory(tmp_path):
    sc = load(_mixed_scenario(tmp_path))
    whole = compute(sc)
    chunked = compute(sc, chunks=16)
    a, b = whole.account.data, chunked.account.data
    np.testing.assert_allclose(b["value"].values, a["value"].values, rtol=REASSOCIATION_RTOL, atol=1e-9)
    np.testing.assert_allclose(np.nan_to_num(b["quantity"].values), np.nan_to_num(a["quantity"].values), rtol=REASSOCIATION_RTOL, atol=1e-9)
    assert chunked.landscape.grid["precipitation"].chunks is not None  # really lazy
    assert float(chunked.account.extras["carbon_stock"].sum()) == pytest.approx(float(whole.account.extras["carbon_stock"].sum()), rel=REASSOCIATION_RTOL)


def test_scenario_key_chunks(tmp_path):
    path = _mixed_scenario(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n[execution]\nchunks = 16\n", encoding="utf-8")
    result = compute(load(path))
    assert result.landscape.grid["precipitation"].chunks is not None


def test_in_memory_run_that_does_not_fit_is_refused(tmp_path, monkeypatch):
    with pytest.raises(execution.ResourceError, match="--chunks"):
        execution.check_fits(10**10, 15, available=24 * 2**30)
    monkeypatch.setattr(execution, "available_memory", lambda: 1000)
    result = CliRunner().invoke(app, ["run", str(tiny.make(tmp_path)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--chunks" in result.output and "Traceback" not in result.output


def test_cli_chunks_flag(tmp_path):
    path = _mixed_scenario(tmp_path)
    result = CliRunner().invoke(app, ["run", str(path), "--chunks", "16", "--json", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_demo_on_two_worker_local_cluster_gets_the_in_memory_numbers(tmp_path):
    from pathlib import Path

    golden = pd.read_csv(Path(__file__).resolve().parents[1] / "regression" / "demo_golden.csv")
    demo = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"
    with execution.scheduler(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        result = compute(load(demo), chunks=650)
    table = result.account.table().groupby(["zone", "service"], as_index=False)["value_cny"].sum()
    merged = golden.merge(table, on=["zone", "service"], suffixes=("_golden", ""))
    assert len(merged) == len(golden)
    np.testing.assert_allclose(merged["value_cny"], merged["value_cny_golden"], rtol=1e-9, atol=1e-3)
