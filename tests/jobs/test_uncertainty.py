"""The uncertainty job: replay reproduces a recorded analysis; a changed input is named."""

from __future__ import annotations

from gep.audit.replay import replay
from gep.jobs import uncertainty


def test_replay_reproduces_the_analysis(tmp_path, tiny):
    path = tiny.make(tmp_path)
    written = uncertainty.run(uncertainty.load(path, samples=8, seed=2, workers=1, verify=1), tmp_path / "u")
    assert written.manifest.record.parameters["samples"] == 8
    rep = replay(written.folder / "manifest.json")
    assert rep.exit_code == 0, rep.to_dict()
    assert "summary.csv" in rep.identical and "samples.csv" in rep.identical
    (tmp_path / "data" / "et.tif").write_bytes((tmp_path / "data" / "et.tif").read_bytes() + b"\0")
    changed = replay(written.folder / "manifest.json")
    assert changed.exit_code == 3 and any("et" in c["name"] for c in changed.changed)


def test_a_chunked_landscape_gives_the_same_percentiles(tmp_path, tiny):
    import pandas as pd

    path = tiny.make(tmp_path)
    plain = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=1, verify=1)).analysis
    chunked = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=1, verify=1, chunks=16)).analysis
    pd.testing.assert_frame_equal(plain.summary, chunked.summary, rtol=1e-9)
    assert chunked.checks["max_relative_difference_gep"] < 1e-6


def test_two_workers_complete_after_dask_threads_have_started(tmp_path, tiny):
    """Worker processes started while dask's threads are alive (forking then could hang) complete and agree."""
    import dask.array as da
    import pandas as pd

    path = tiny.make(tmp_path)
    chunked = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=2, verify=0, chunks=16)).analysis  # one process
    assert float(da.ones((64, 64), chunks=8).sum().compute(scheduler="threads")) == 4096.0  # dask's thread pool is running
    one = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=1, verify=0)).analysis
    two = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=2, verify=0)).analysis
    pd.testing.assert_frame_equal(one.samples, two.samples, rtol=0, atol=0)
    pd.testing.assert_frame_equal(one.summary, chunked.summary, rtol=1e-9)


def test_a_confusion_matrix_gives_the_same_analysis_on_a_chunked_landscape(tmp_path, tiny):
    import pandas as pd

    (tmp_path / "cm.csv").write_text("mapped,211,11\n211,30,20\n11,5,45\n", encoding="utf-8")
    path = tiny.make(tmp_path, extra_toml='[uncertainty.inputs.landcover]\nconfusion_matrix = "cm.csv"\n')
    plain = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=1, verify=2)).analysis
    chunked = uncertainty.compute(uncertainty.load(path, samples=8, seed=1, workers=1, verify=2, chunks=16)).analysis
    pd.testing.assert_frame_equal(plain.summary, chunked.summary, rtol=1e-9)
    assert plain.checks["max_relative_difference_gep"] < 1e-12 and chunked.checks["max_relative_difference_gep"] < 1e-12
