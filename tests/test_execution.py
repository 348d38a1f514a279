"""Chunked execution equals the in-memory run; the automatic choice between them; distributed run of the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gep import execution
from gep.cli import app
from gep.jobs.run import compute, load

#: Chunked sums reassociate floating-point additions: relative tolerance of the comparison.
REASSOCIATION_RTOL = 1e-10


def _mixed_scenario(tiny, tmp_path, n=48):
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
    # monthly climate of the monthly soil respiration (nep_rh): 12 temperature rasters, 12 precipitation constants
    cycle = (-12.8, -10.8, -6.4, -0.5, 4.8, 8.5, 12.1, 11.6, 7.4, 1.8, -4.5, -11.2)
    fields.update({f"temperature_{m:02d}": ("degC", fields["temperature"][1] + t) for m, t in enumerate(cycle, start=1)})
    lines = []
    for name, (unit, data) in fields.items():
        tiny.write_tif(d / f"{name}.tif", data.astype(np.float32), unit, nodata=np.nan)
        if not name.startswith("temperature_"):
            lines.append(f'{name} = "data/{name}.tif"')
    lines.append("temperature_monthly = [" + ", ".join(f'"data/temperature_{m:02d}.tif"' for m in range(1, 13)) + "]")
    lines.append("precipitation_monthly = [" + ", ".join(f'"{p} mm"' for p in (60, 60, 95, 85, 100, 200, 170, 130, 85, 60, 55, 40)) + "]")
    text = path.read_text(encoding="utf-8")
    text = text.replace('precipitation = "data/precipitation.tif"\net = "data/et.tif"', "\n".join(lines))
    text = text.replace('enabled = ["provisioning", "water_conservation"]', 'enabled = ["provisioning", "water_conservation", "soil_retention", "carbon_sequestration"]')
    path.write_text(text, encoding="utf-8")
    return path


def test_chunked_equals_in_memory(tmp_path, tiny):
    path = _mixed_scenario(tiny, tmp_path)
    whole = compute(load(path))
    chunked = compute(load(path, chunks=16))
    a, b = whole.account.data, chunked.account.data
    np.testing.assert_allclose(b["value"].values, a["value"].values, rtol=REASSOCIATION_RTOL, atol=1e-9)
    np.testing.assert_allclose(np.nan_to_num(b["quantity"].values), np.nan_to_num(a["quantity"].values), rtol=REASSOCIATION_RTOL, atol=1e-9)
    assert chunked.landscape.grid["precipitation"].chunks is not None  # really lazy
    assert float(chunked.account.extras["carbon_stock"].sum()) == pytest.approx(float(whole.account.extras["carbon_stock"].sum()), rel=REASSOCIATION_RTOL)


def test_scenario_key_chunks(tmp_path, tiny):
    path = _mixed_scenario(tiny, tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "\n[execution]\nchunks = 16\n", encoding="utf-8")
    result = compute(load(path))
    assert result.landscape.grid["precipitation"].chunks is not None


def test_a_region_that_does_not_fit_in_memory_runs_chunked_and_says_so(tmp_path, monkeypatch, tiny):
    assert execution.plan((100_000, 100_000), 15).chunked  # 150 GB of rasters
    small = execution.plan((1000, 1000), 10, available=24 * 2**30)
    assert small.mode == "in memory" and small.rows == execution.block_rows((1000, 1000))
    asked = execution.plan((1000, 1000), 10, chunks=16)
    assert asked.chunked and asked.rows == 1  # 16² cells: blocks of one 1000-cell row
    monkeypatch.setattr(execution, "available_memory", lambda: 1000)
    result = CliRunner().invoke(app, ["run", str(tiny.make(tmp_path)), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["execution"]["mode"] == "chunked"
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["results"]["execution"]["mode"] == "chunked"


def test_cli_chunks_flag(tmp_path, tiny):
    path = _mixed_scenario(tiny, tmp_path)
    result = CliRunner().invoke(app, ["run", str(path), "--chunks", "16", "--json", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_demo_on_two_worker_local_cluster_gets_the_in_memory_numbers(tmp_path):
    from pathlib import Path

    golden = pd.read_csv(Path(__file__).resolve().parent / "jobs" / "data" / "demo_golden.csv")
    demo = Path(__file__).resolve().parents[1] / "scenarios" / "demo.toml"
    with execution.scheduler(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        result = compute(load(demo, chunks=650))
    table = result.account.table().groupby(["zone", "service"], as_index=False)["value_cny"].sum()
    merged = golden.merge(table, on=["zone", "service"], suffixes=("_golden", ""))
    assert len(merged) == len(golden)
    np.testing.assert_allclose(merged["value_cny"], merged["value_cny_golden"], rtol=1e-9, atol=1e-3)


def test_zonal_batch_equals_one_bincount():
    import dask.array as da

    rng = np.random.default_rng(3)
    n = 7
    key = rng.integers(0, n + 1, size=(23, 31))  # n = outside
    values = rng.random((23, 31))
    want = np.bincount(key.ravel(), weights=values.ravel(), minlength=n + 1)[:n]
    batch = execution.ZonalBatch()
    k = da.from_array(key, chunks=(5, 7))
    a = batch.add(k, da.from_array(values, chunks=(6, 8)), n)  # other chunks: rechunked
    b = batch.add(k, da.from_array(2 * values, chunks=(5, 7)), n)
    with pytest.raises(RuntimeError, match="before ZonalBatch.run"):
        a.compute()
    batch.run()
    np.testing.assert_allclose(a.compute(), want, rtol=1e-12)
    np.testing.assert_allclose((a + b).compute(), 3 * want, rtol=1e-12)


def test_an_in_memory_account_holds_the_maps_of_the_zonal_pass_and_gives_the_same_cells(monkeypatch):
    """``hold_cells``: the services' per-cell maps come out of the pass of the zonal sums, so that the per-cell
    outputs read no input again; the same account and cells as without. Over the budget, nothing is held."""
    import threading
    from collections import Counter

    from benchmarks.scale import tables
    from benchmarks.synthetic import INPUTS, region
    from gep.accounting import catalogue
    from gep.accounting.compute import account_landscape
    from gep.jobs.inputs import coefficient_set

    coef = coefficient_set("cn-2022")
    ls = region(40 * 50, zones=3, chunks=20, coef=coef, inputs=[n for n in INPUTS if n != "temperature"])
    ls.tables.update(tables(3))
    reads, lock = Counter(), threading.Lock()

    def counted(block):
        with lock:
            reads["blocks"] += 1
        return block

    for name in list(ls.grid.data_vars):
        if name not in ("class_index", "zone_index", "cell_area"):
            arr = ls.grid[name].data
            ls.grid[name] = (("y", "x"), arr.map_blocks(counted, dtype=arr.dtype), ls.grid[name].attrs)
    enabled = [s.id for s in catalogue.CATALOGUE]
    methods = {s: catalogue.BY_ID[s].default_method for s in enabled}
    switches = dict(coef.profile["switches"])
    account, cells = account_landscape(ls, coef, enabled, methods, switches)
    held_account, held_cells = account_landscape(ls, coef, enabled, methods, switches, hold_cells=True)
    assert held_account.gep == account.gep
    maps = [n for n in cells.data_vars if n not in ("class_index", "zone_index", "cell_area", "ecosystem_index", "landcover")]
    assert {"water_conservation", "soil_retention", "gep_value"} <= set(maps)
    reads.clear()
    computed = {n: held_cells[n].values for n in maps}
    assert reads["blocks"] == 0  # every per-cell output made from the maps held
    for n in maps:
        np.testing.assert_array_equal(computed[n], cells[n].values, err_msg=n)
    assert reads["blocks"] > 0  # the cells of an account that held nothing read the inputs again
    monkeypatch.setattr("gep.accounting.compute.HELD_MAPS_BYTES", 0)
    _, over = account_landscape(ls, coef, enabled, methods, switches, hold_cells=True)
    reads.clear()
    over["water_conservation"].values
    assert reads["blocks"] > 0


def test_chunked_account_reads_every_input_block_once():
    """All services' zonal sums (and the value map's bases) come from one pass over the chunks."""
    import threading
    from collections import Counter

    from benchmarks.scale import tables
    from benchmarks.synthetic import INPUTS, region
    from gep.accounting import catalogue
    from gep.jobs.inputs import coefficient_set
    from gep.accounting.compute import account_landscape

    coef = coefficient_set("cn-2022")
    # every input the default methods read (the annual temperature only feeds nep_rh_annual)
    ls = region(60 * 70, zones=4, chunks=25, coef=coef, inputs=[n for n in INPUTS if n != "temperature"])
    ls.tables.update(tables(4))
    reads, lock = Counter(), threading.Lock()

    def counted(name):
        def read(block, block_info=None):
            with lock:
                reads[name, tuple(block_info[0]["chunk-location"])] += 1
            return block

        return read

    for name in list(ls.grid.data_vars):
        arr = ls.grid[name].data
        ls.grid[name] = (("y", "x"), arr.map_blocks(counted(name), dtype=arr.dtype), ls.grid[name].attrs)
    enabled = [s.id for s in catalogue.CATALOGUE]
    methods = {s: catalogue.BY_ID[s].default_method for s in enabled}
    account, _ = account_landscape(ls, coef, enabled, methods, dict(coef.profile["switches"]))
    blocks = int(np.prod(ls.grid["class_index"].data.numblocks))
    assert account.gep > 0
    assert len(reads) == blocks * len(ls.grid.data_vars) and set(reads.values()) == {1}, reads.most_common(3)


def test_fewer_collections_tunes_the_collector_for_the_runs_and_restores_it_after_the_last():
    import gc

    before = gc.get_threshold()
    with execution.fewer_collections():
        assert gc.get_threshold()[0] == execution.RUN_GC_THRESHOLD and gc.get_freeze_count() > 0
        with execution.fewer_collections():  # a second run at the same time (another thread of gep serve)
            pass
        assert gc.get_threshold()[0] == execution.RUN_GC_THRESHOLD  # the first run is still going
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), execution.fewer_collections():
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
