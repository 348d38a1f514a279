"""Manifest helpers: canonical JSON, value digests, environment differences, RNG, chain."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gep.audit import provenance
from gep.errors import InputError


def test_canonical_json_is_sorted_utf8_and_has_no_nan():
    text = provenance.canonical_json({"b": 1, "a": {"y": float("nan"), "x": np.float32(0.5)}, "名": "丽水"})
    assert text.index('"a"') < text.index('"b"') and '"丽水"' in text
    assert json.loads(text)["a"] == {"x": 0.5, "y": None}
    assert provenance.canonical_bytes({"a": 1}).endswith(b"\n")


def test_value_digest_rounds_to_the_tolerance():
    a = np.array([1.0, 2.0, np.nan])
    d = provenance.value_digest(a, 1e-3)
    assert provenance.value_digest(a + 1e-7, 1e-3) == d  # far below the tolerance
    assert provenance.value_digest(a + 2e-3, 1e-3) != d  # above it
    assert provenance.value_digest(np.array([1.0, 2.0, 0.0]), 1e-3) != d  # NaN is not 0
    assert provenance.value_digest(a.reshape(3, 1), 1e-3) != d  # shape is hashed
    with pytest.raises(ValueError):
        provenance.value_digest(a, 0.0)


def test_environment_records_versions_and_differences():
    env = provenance.environment()
    assert {"numpy", "pandas", "xarray", "dask", "pint", "scipy", "python"} <= set(env["libraries"])
    assert provenance.environment_differences(env, env) == []
    other = json.loads(json.dumps(env))
    other["libraries"]["pint"] = "0.1"
    other["git"]["dirty"] = not env["git"]["dirty"]
    keys = [d["key"] for d in provenance.environment_differences(other, env)]
    assert keys == ["git.dirty", "libraries.pint"]


def test_environment_records_the_extra_libraries_a_job_used_and_replay_compares_them():
    from importlib import metadata

    plain, with_ql = provenance.environment(), provenance.environment(["QuantLib"])
    assert "QuantLib" not in plain["libraries"]
    assert with_ql["libraries"]["QuantLib"] == metadata.version("QuantLib")
    assert provenance.environment_differences(with_ql) == []  # looked up again because it was recorded
    older = json.loads(json.dumps(with_ql))
    older["libraries"]["QuantLib"] = "1.30"
    assert provenance.environment_differences(older) == [
        {"key": "libraries.QuantLib", "recorded": "1.30", "current": metadata.version("QuantLib")}]
    assert provenance.environment_differences(plain) == []  # not recorded: not compared


def test_rng_record_and_generator_are_reproducible():
    rec = provenance.rng_record(42)
    assert rec == {"generator": "numpy.random.Generator(PCG64)", "seed": 42, "used": True}
    assert provenance.make_rng(rec).random() == provenance.make_rng(42).random()
    with pytest.raises(InputError):
        provenance.make_rng(provenance.rng_record(None))


def test_file_digests_stream_the_same_digest(tmp_path):
    import xarray as xr

    ds = xr.Dataset({"a": (("y", "x"), np.arange(12.0).reshape(3, 4).astype(np.float32)), "i": (("y", "x"), np.arange(12, dtype=np.int16).reshape(3, 4))})
    ds.to_netcdf(tmp_path / "c.nc", engine="h5netcdf")
    assert provenance.file_digests(tmp_path / "c.nc", 1e-3, rows=1) == provenance.digests(ds, 1e-3)
