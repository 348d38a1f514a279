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
    assert provenance.file_digests(tmp_path / "c.nc", 1e-3, rows=1) == provenance.digests(ds, 1e-3, version=1)


def test_version_2_digests_hash_segments_in_any_order_and_blocks_of_any_whole_segments(monkeypatch):
    monkeypatch.setattr(provenance, "SEGMENT_CELLS", 8)  # 2 rows of 4 cells per segment
    rng = np.random.default_rng(5)
    a = (rng.random((9, 4)) * 100).astype(np.float32)
    a[3, 1] = np.nan
    whole = provenance.value_digest(a, 1e-3)
    d = provenance.Digest(a.shape, 1e-3)
    for r0, r1 in ((6, 9), (0, 2), (2, 6)):  # out of order, blocks of 1, 2 and 1.5 segments
        d.update(r0, a[r0:r1])
    assert d.hexdigest() == whole
    assert provenance.value_digest(a + np.float32(1e-5), 1e-3) == whole  # below the tolerance
    b = a.copy()
    b[8, 3] += 0.01
    assert provenance.value_digest(b, 1e-3) != whole
    with pytest.raises(ValueError, match="segment boundary"):
        provenance.Digest(a.shape, 1e-3).update(1, a[1:3])
    with pytest.raises(ValueError, match="lacks segments"):
        provenance.Digest(a.shape, 1e-3).hexdigest()
    ints = np.arange(36, dtype=np.int16).reshape(9, 4)
    assert provenance.value_digest(ints, 1e-3) == provenance.value_digest(ints.astype(np.int64), 1e-3)  # integers as they are, any type
    assert provenance.value_digest(ints, 1e-3) != provenance.value_digest(ints, 1e-3, version=1)


def test_constant_segments_hash_as_by_hand_and_once(monkeypatch):
    import hashlib

    monkeypatch.setattr(provenance, "SEGMENT_CELLS", 8)  # 2 rows of 4 cells per segment
    area = np.full((4, 4), 900.0)  # a projected grid's cell areas [m²]: every segment the same
    by_hand = hashlib.sha256(bytes([4]) + np.full(8, 900_000, "<i4").tobytes()).digest()  # 900 / 1e-3 in int32
    d = provenance.Digest(area.shape, 1e-3)
    d.update(0, area)
    head = hashlib.sha256(b"gep-digest-2;" + provenance._digest_head(area.shape))
    head.update(by_hand + by_hand)
    assert d.hexdigest() == head.hexdigest()
    assert provenance._segment_hash(area[:2], 1e-3) == provenance._values_hash(area[:2], 1e-3, 900.0, 900.0) == by_hand
    # other values, types and shapes are other segments; NaN and infinite blocks take version 1's codes as before
    assert len({provenance._segment_hash(b, 1e-3) for b in (area[:2], area[:2] + 1, area[:2].astype(np.float32) + 0.5, area[:1], area[:2].astype(np.int64))}) == 5
    inf = np.full((2, 4), np.inf)
    assert provenance._segment_hash(inf, 1e-3) == provenance._values_hash(inf, 1e-3, np.inf, np.inf)
    nan = np.full((2, 4), np.nan)
    assert provenance._segment_hash(nan, 1e-3) == provenance._values_hash(nan, 1e-3, np.nan, np.nan)
