"""The typed run manifest: every kind reads and writes the JSON layout gep has always written; the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gep.audit import manifest as mf
from gep.audit.provenance import canonical_bytes, sha256_file
from gep.errors import InputError

#: Manifests written by gep at f210c1a (before the typed Manifest), one per kind.
OLD = Path(__file__).with_name("data") / "f210c1a"
KINDS = {"run": mf.RunRecord, "series": mf.SeriesRecord, "series_year": mf.RunRecord, "compare": mf.CompareRecord,
         "capacity_basin": mf.BasinRecord, "bond_coverage": mf.CoverageRecord}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_manifests_written_before_the_typed_manifest_read_back_unchanged(name):
    path = OLD / f"{name}.json"
    old = json.loads(path.read_text(encoding="utf-8"))
    m = mf.read(path)
    assert isinstance(m.record, KINDS[name]) and m.kind == old["kind"] and m.extra == {}
    new = m.to_dict()
    assert {k: v for k, v in new.items() if k in old} == old
    assert set(new) - set(old) <= {"previous_manifest_sha256"}  # series manifests were not chained
    if "previous_manifest_sha256" in old:
        assert canonical_bytes(new) == path.read_bytes()  # byte for byte


def test_typed_views_of_an_old_run_and_coverage_manifest():
    run = mf.read(OLD / "run.json")
    assert run.record.scenario.path == "../tiny.toml" and run.record.inputs["inputs.precipitation"].path == "data/precipitation.tif"
    assert run.record.coefficients.id == "cn-2022" and run.record.series_year is None and run.record.parcel_given is None
    assert run.tolerance == (1e-3, mf.RELATIVE_TOLERANCE) and run.gep_total_cny > 0 and set(run.value_digests) == {"value_digest", "quantity_digest"}
    assert run.previous is not None  # it was written twice into one folder
    year = mf.read(OLD / "series_year.json")
    assert year.record.series_year == 2020
    cov = mf.read(OLD / "bond_coverage.json")
    assert cov.record.paths == 50 and cov.seed == 3 and cov.record.bond.path.endswith("interbank_eco_5y_annual.toml")


def test_unknown_keys_are_kept_and_outputs_in_any_layout():
    doc = {"kind": "gep run", "command": "x", "outputs": [{"path": "a.csv", "sha256": "AB" * 32}], "future_key": {"n": 1}}
    m = mf.Manifest.from_dict(doc)
    assert m.outputs == {"a.csv": "ab" * 32} and m.extra == {"future_key": {"n": 1}} and m.version is None
    assert m.to_dict()["future_key"] == {"n": 1}
    with pytest.raises(InputError, match="has no SHA-256"):
        mf.Manifest.from_dict({"kind": "gep run", "outputs": {"a.csv": "short"}})
    with pytest.raises(InputError, match="no 'kind'"):
        mf.Manifest.from_dict({"outputs": {}})


def test_write_chains_and_archives(tmp_path):
    first, p1, h1 = mf.write(tmp_path, mf.Manifest(kind="test", extra={"n": 1}))
    assert first.previous is None and h1 == sha256_file(p1)
    second, p2, h2 = mf.write(tmp_path, mf.Manifest(kind="test", extra={"n": 2}))
    assert mf.read(p2).previous == h1 == second.previous
    links, problems = mf.chain(second, tmp_path)
    assert links == [{"sha256": h1, "file": f"manifests/{h1}.json"}] and problems == []
    (tmp_path / "manifests" / f"{h1}.json").write_text("{}", encoding="utf-8")
    _, problems = mf.chain(second, tmp_path)
    assert problems[0]["problem"].startswith("previous manifest changed")
    assert mf.folder_of(tmp_path / "manifests" / f"{h1}.json") == tmp_path
