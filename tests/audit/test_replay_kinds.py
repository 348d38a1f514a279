"""`gep replay` of the other manifest kinds: a parcel run (`gep run --area`), a year of a series,
`gep bond coverage` (seeded, byte-identical outputs) and `gep compare`; a changed file of each is
named with exit 3; a series manifest is refused with a pointer to its year manifests (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from gep.audit import provenance
from gep.audit.manifest import MANIFEST_VERSION
from gep.cli import app
from gep.io.files import sha256_file

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def replay_json(manifest, *extra):
    result = invoke("replay", manifest, "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout.strip().startswith("{") else None


def changed_files(doc) -> str:
    return " ".join(f"{c['name']} {c['file']} {c['problem']}" for c in doc["changed"])


# --------------------------------------------------------------------------- gep run --area, series year


def test_replay_of_a_parcel_run_reproduces_and_names_a_changed_parcel(tmp_path, kit):
    path = kit.scenario(tmp_path)
    parcel = kit.lonlat_polygon(tmp_path / "half.geojson", [kit.rect(640000, 3499970, 640015, 3500000)])
    res = invoke("run", path, "--area", parcel, "--out", tmp_path / "runs" / "half", "--json")
    assert res.exit_code == 0, res.output
    manifest = tmp_path / "runs" / "half" / "manifest.json"
    assert json.loads(manifest.read_text(encoding="utf-8"))["changes"]["parcel"]["from_scenario"] is False
    result, doc = replay_json(manifest)
    assert result.exit_code == 0, result.output
    assert doc["status"] == "reproduced" and doc["differences"] == [] and "account.csv" in doc["identical_outputs"]
    # another parcel under the same name: the recorded parcel's SHA-256 no longer matches
    kit.lonlat_polygon(parcel, [kit.rect(640000, 3499940, 640030, 3500000)])
    result, doc = replay_json(manifest)
    assert result.exit_code == 3, result.output
    assert "parcel" in changed_files(doc) and "half.geojson" in changed_files(doc)


def test_replay_of_one_year_of_a_series_and_the_series_manifest(tmp_path, kit):
    kit.scenario(tmp_path)  # writes the inputs
    path = kit.series(tmp_path)
    res = invoke("run", path, "--out", tmp_path / "runs" / "series", "--json")
    assert res.exit_code == 0, res.output
    out = tmp_path / "runs" / "series"
    result, doc = replay_json(out / "2020" / "manifest.json")  # not the scenario year: replayed as 2020
    assert result.exit_code == 0, result.output
    assert doc["status"] == "reproduced" and doc["differences"] == []
    top = invoke("replay", out / "manifest.json")
    assert top.exit_code == 2 and "year by year" in " ".join(top.output.split())


# --------------------------------------------------------------------------- gep bond coverage


def test_replay_of_a_standalone_coverage_run_is_byte_identical_and_names_a_changed_revenue_file(tmp_path, monkeypatch):
    bonds = tmp_path / "bonds"
    shutil.copytree(REPO / "scenarios" / "bonds", bonds)
    monkeypatch.chdir(tmp_path)
    res = invoke("bond", "coverage", "bonds/amortising_eco_7y.toml", "--revenue", "bonds/revenue_standalone.toml",
                 "--paths", 300, "--seed", 11, "--out", "cov")
    assert res.exit_code == 0, res.output
    manifest = tmp_path / "cov" / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    assert m["manifest_version"] == MANIFEST_VERSION and m["rng"]["seed"] == 11
    assert m["inputs"]["revenue"]["path"] == "../bonds/revenue_standalone.toml"
    result, doc = replay_json(manifest)
    assert result.exit_code == 0, result.output
    assert doc["kind"] == "gep bond coverage" and doc["status"] == "reproduced"
    assert {"coverage.csv", "coverage.json"} <= set(doc["identical_outputs"])  # seeded: byte-identical
    assert doc["checked_files"] >= 3  # bond, revenue, price history
    # a changed revenue file: exit 3, named
    rev = bonds / "revenue_standalone.toml"
    rev.write_text(rev.read_text(encoding="utf-8").replace("amount = 110_000_000", "amount = 120_000_000"), encoding="utf-8")
    result, doc = replay_json(manifest)
    assert result.exit_code == 3, result.output
    assert "revenue_standalone.toml" in changed_files(doc)
    # a changed price history (a file the revenue file references): named too
    shutil.copy(REPO / "scenarios" / "bonds" / "revenue_standalone.toml", rev)
    with open(bonds / "carbon_prices_illustrative.csv", "a", encoding="utf-8") as f:
        f.write("\n")
    result, doc = replay_json(manifest)
    assert result.exit_code == 3 and "carbon_prices_illustrative.csv" in changed_files(doc)


def test_a_coverage_run_on_a_calendar_records_quantlib_and_replay_compares_its_version(tmp_path, monkeypatch):
    bonds = tmp_path / "bonds"
    shutil.copytree(REPO / "scenarios" / "bonds", bonds)
    monkeypatch.chdir(tmp_path)
    for bond, out in (("exchange_hongzheng03.toml", "cal"), ("amortising_eco_7y.toml", "plain")):
        res = invoke("bond", "coverage", f"bonds/{bond}", "--revenue", "bonds/revenue_standalone.toml",
                     "--paths", 200, "--seed", 5, "--out", out)
        assert res.exit_code == 0, res.output
    cal = json.loads((tmp_path / "cal" / "manifest.json").read_text(encoding="utf-8"))
    plain = json.loads((tmp_path / "plain" / "manifest.json").read_text(encoding="utf-8"))
    installed = provenance.library_versions(["QuantLib"])["QuantLib"]
    assert cal["environment"]["libraries"]["QuantLib"] == installed
    assert "QuantLib" not in plain["environment"]["libraries"]
    coverage = json.loads((tmp_path / "cal" / "coverage.json").read_text(encoding="utf-8"))
    assert coverage["debt"]["calendar"]["source"].startswith("QuantLib ")
    # the recorded run used another QuantLib: a warning, and exit 4 under --strict
    cal["environment"]["libraries"]["QuantLib"] = "1.30"
    (tmp_path / "cal" / "manifest.json").write_bytes(provenance.canonical_bytes(cal))
    result, doc = replay_json(tmp_path / "cal" / "manifest.json")
    assert result.exit_code == 0, result.output
    assert {"key": "libraries.QuantLib", "recorded": "1.30", "current": installed} in doc["environment"]
    result, doc = replay_json(tmp_path / "cal" / "manifest.json", "--strict")
    assert result.exit_code == 4 and doc["status"] == "environment differs"


# --------------------------------------------------------------------------- gep compare


def test_replay_of_a_tiny_compare_reproduces_and_names_a_changed_side(tmp_path, tiny):
    base = tiny.make(tmp_path / "a")
    alt = tiny.make(tmp_path / "b", precipitation=np.full(tiny.CODES.shape, 1500.0, dtype=np.float32))
    res = invoke("compare", base, alt, "--out", tmp_path / "cmp", "--json")
    assert res.exit_code == 0, res.output
    manifest = tmp_path / "cmp" / "manifest.json"
    raw = manifest.read_bytes()
    m = json.loads(raw)
    assert raw == provenance.canonical_bytes(m) and str(tmp_path) not in raw.decode("utf-8")
    assert m["kind"] == "gep compare" and m["manifest_version"] == MANIFEST_VERSION and m["rng"]["used"] is False
    assert m["base"]["manifest_sha256"] == sha256_file(tmp_path / "cmp" / "base" / "manifest.json")
    assert set(m["base"]["files"]) >= {"manifest.json", "account.nc"}
    result, doc = replay_json(manifest)
    assert result.exit_code == 0, result.output
    assert doc["status"] == "reproduced" and "delta.csv" in doc["identical_outputs"]
    # each side is itself a replayable gep run
    result, _ = replay_json(tmp_path / "cmp" / "alt" / "manifest.json")
    assert result.exit_code == 0, result.output
    # a changed side: named, exit 3
    with open(tmp_path / "cmp" / "alt" / "account.nc", "ab") as f:
        f.write(b"\0")
    result, doc = replay_json(manifest)
    assert result.exit_code == 3, result.output
    assert "alt account.nc" in changed_files(doc)
