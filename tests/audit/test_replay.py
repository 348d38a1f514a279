"""`gep replay`: a tiny run reproduces; tampering with an input, a coefficient, an output or the
manifest chain is detected and named; a different environment stops a strict replay.

Exit codes: 0 reproduced, 1 not reproduced / output edited, 2 usage, 3 inputs changed, 4 environment.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from gep.audit import provenance
from gep.cli import app
from gep.io.coefficient_files import write_hashes
from gep.io.files import sha256_file

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def text(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, tiny):
    """One tiny run (scenario + run folder); tests copy it before tampering."""
    root = tmp_path_factory.mktemp("base")
    scenario = tiny.make(root)
    result = invoke("run", scenario, "--out", root / "run", "--json")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def run_copy(base_run, tmp_path):
    """A private copy of the tiny scenario and its run folder: ``(root, run folder)``."""
    root = tmp_path / "case"
    shutil.copytree(base_run, root)
    return root, root / "run"


def replay_json(manifest, *extra):
    result = invoke("replay", manifest, "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout.strip().startswith("{") else None


# --------------------------------------------------------------------------- reproduces


def test_replay_of_a_tiny_run_reproduces(run_copy):
    _, run = run_copy
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 0, result.output
    assert doc["status"] == "reproduced" and doc["changed"] == [] and doc["differences"] == []
    assert set(doc["identical_outputs"]) >= {"account.csv", "account.nc", "components.csv"}
    assert doc["compared_values"] > 0 or "cells.nc" in doc["identical_outputs"]
    table = invoke("replay", run)  # the run folder works too; human-readable output
    assert table.exit_code == 0 and "REPRODUCED" in table.output


def test_manifest_is_canonical_relative_and_hashable_with_sha256sum(run_copy):
    _, run = run_copy
    path = run / "manifest.json"
    raw = path.read_bytes()
    doc = json.loads(raw)
    assert raw == provenance.canonical_bytes(doc)  # canonical JSON, byte for byte
    assert str(run.parent) not in raw.decode("utf-8") and "/tmp" not in raw.decode("utf-8")  # no absolute path
    for name, digest in doc["outputs"].items():  # what `sha256sum runs/<id>/*` prints
        assert sha256_file(run / name) == digest
    env = doc["environment"]
    assert {"numpy", "pandas", "xarray", "dask", "pint", "scipy"} <= set(env["libraries"])
    assert set(env["git"]) == {"commit", "dirty"} and len(env["source_sha256"]) == 64
    assert doc["rng"] == {"generator": provenance.RNG_GENERATOR, "seed": None, "used": False}
    assert doc["results"]["tolerance"] > 0 and set(doc["results"]["digests"]) == {"account.nc", "cells.nc"}


# --------------------------------------------------------------------------- inputs changed: exit 3


def test_changed_input_byte_is_named_exit_3(run_copy):
    root, run = run_copy
    et = root / "data" / "et.tif"
    data = bytearray(et.read_bytes())
    data[-1] ^= 0x01
    et.write_bytes(bytes(data))
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 3, result.output
    (changed,) = doc["changed"]
    assert changed["kind"] == "input" and changed["name"] == "inputs.et" and changed["problem"] == "changed"
    assert changed["file"].endswith("data/et.tif") and changed["actual"] == sha256_file(et)
    plain = invoke("replay", run / "manifest.json")
    assert plain.exit_code == 3 and "et.tif" in text(plain) and "Traceback" not in plain.output


def test_missing_input_and_edited_scenario_are_named(run_copy, tiny):
    root, run = run_copy
    (root / "data" / "zones.csv").unlink()
    scenario = root / "tiny.toml"
    scenario.write_text(scenario.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 3
    found = {(c["kind"], Path(c["file"]).name, c["problem"]) for c in doc["changed"]}
    assert ("input", "zones.csv", "missing") in found and ("scenario", "tiny.toml", "changed") in found


@pytest.mark.parametrize("rehash", [False, True], ids=["edited", "edited-and-rehashed"])
def test_changed_coefficient_is_named_exit_3(tmp_path, rehash, tiny):
    shutil.copytree(REPO / "gep" / "data" / "coefficients" / "cn-2022", tmp_path / "coef")
    scenario = tiny.make(tmp_path, extra_toml='[coefficients]\nset = "coef"\n')
    run = tmp_path / "run"
    assert invoke("run", scenario, "--out", run, "--json").exit_code == 0
    prices = tmp_path / "coef" / "prices.csv"
    prices.write_text(prices.read_text(encoding="utf-8").replace("7.06,CNY/m**3", "7.2,CNY/m**3"), encoding="utf-8")
    if rehash:  # even a set whose own manifest was re-hashed differs from what the run recorded
        write_hashes(tmp_path / "coef")
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 3, result.output
    (changed,) = [c for c in doc["changed"] if c["kind"] == "coefficient"]
    assert changed["name"] == "cn-2022/prices.csv" and changed["file"].endswith("coef/prices.csv")
    assert "prices.csv" in text(invoke("replay", run / "manifest.json"))


# --------------------------------------------------------------------------- outputs edited: exit 1


def test_edited_account_csv_is_detected_and_named(run_copy):
    _, run = run_copy
    csv = run / "account.csv"
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    row = next(i for i, l in enumerate(lines) if ",water_conservation," in l)
    cells = lines[row].split(",")
    col = header.index("value_cny")
    cells[col] = str(float(cells[col]) + 1000.0)
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 1, result.output
    assert [o["name"] for o in doc["outputs"]] == ["account.csv"]
    top = doc["differences"][0]
    assert top["output"] == "account.csv" and top["variable"] == "value_cny"
    assert top["keys"]["service"] == "water_conservation" and top["keys"]["year"] == 2022 and top["keys"]["zone"] in (1, 2)
    assert top["abs_diff"] == pytest.approx(1000.0, rel=1e-6)


def test_a_tolerance_loosened_in_the_manifest_does_not_let_edited_values_pass(run_copy):
    """The tolerance is read from the manifest under test: raised to 100 with an edited account.csv, replay passed it,
    and the ledger issued against it (red team, session 8)."""
    _, run = run_copy
    csv = run / "account.csv"
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    col = lines[0].split(",").index("value_cny")
    row = next(i for i, line in enumerate(lines) if ",water_conservation," in line)
    cells = lines[row].split(",")
    cells[col] = str(float(cells[col]) * 10)
    lines[row] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    doc = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    doc["outputs"]["account.csv"] = sha256_file(csv)
    doc["results"].update(tolerance=1e9, relative_tolerance=100)
    (run / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    result, out = replay_json(run / "manifest.json")
    assert result.exit_code == 1, result.output
    assert out["status"] == "not reproduced" and any("looser tolerance than gep writes" in n for n in out["notes"])


def test_edited_account_nc_is_detected_with_zone_service_year(run_copy):
    _, run = run_copy
    nc = run / "account.nc"
    with xr.open_dataset(nc, engine="h5netcdf") as ds:
        ds = ds.load()
    value = ds["value"].values.copy()
    j = list(ds["service"].values).index("water_conservation")
    value[1, j, list(ds["ecosystem"].values).index("forest")] += 5.0
    ds["value"] = (ds["value"].dims, value, ds["value"].attrs)
    nc.unlink()
    ds.to_netcdf(nc, engine="h5netcdf")
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 1
    assert any(o["name"] == "account.nc" for o in doc["outputs"])
    hit = next(d for d in doc["differences"] if d["output"] == "account.nc" and d["variable"] == "value")
    assert hit["keys"]["zone"] == 2 and hit["keys"]["service"] == "water_conservation"
    assert hit["keys"]["ecosystem"] == "forest" and hit["keys"]["year"] == 2022
    assert hit["abs_diff"] == pytest.approx(5.0)
    table = invoke("replay", run / "manifest.json")
    assert table.exit_code == 1 and "account.nc" in table.output and "water_conservation" in table.output


def test_edited_cell_map_is_located_by_row_column_and_zone(run_copy, tiny):
    _, run = run_copy
    nc = run / "cells.nc"
    with xr.open_dataset(nc, engine="h5netcdf", mask_and_scale=False) as ds:
        ds = ds.load()
    wc = ds["water_conservation"].values.copy()
    wc[0, 1] += 100.0
    ds["water_conservation"] = (ds["water_conservation"].dims, wc, ds["water_conservation"].attrs)
    nc.unlink()
    ds.to_netcdf(nc, engine="h5netcdf")
    result, doc = replay_json(run / "manifest.json")
    assert result.exit_code == 1
    hit = next(d for d in doc["differences"] if d["output"] == "cells.nc")
    assert hit["variable"] == "water_conservation" and hit["keys"]["row"] == 0 and hit["keys"]["col"] == 1
    assert hit["keys"]["zone"] == int(tiny.ZONES[0, 1]) and hit["keys"]["year"] == 2022
    assert hit["abs_diff"] == pytest.approx(100.0)


# --------------------------------------------------------------------------- chain


def test_broken_chain_is_detected(tmp_path, tiny):
    scenario = tiny.make(tmp_path)
    run = tmp_path / "run"
    assert invoke("run", scenario, "--out", run, "--json").exit_code == 0
    first = sha256_file(run / "manifest.json")
    assert invoke("run", scenario, "--out", run, "--json").exit_code == 0
    doc = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert doc["previous_manifest_sha256"] == first
    archived = run / "manifests" / f"{first}.json"
    assert sha256_file(archived) == first  # the chain link an auditor re-hashes
    ok, rep = replay_json(run / "manifest.json")
    assert ok.exit_code == 0 and rep["chain"] == [{"sha256": first, "file": f"manifests/{first}.json"}]
    previous = json.loads(archived.read_text(encoding="utf-8"))
    previous["results"]["gep_total_cny"] *= 2
    archived.write_text(provenance.canonical_json(previous) + "\n", encoding="utf-8")
    result, rep = replay_json(run / "manifest.json")
    assert result.exit_code == 3
    (c,) = rep["changed"]
    assert c["kind"] == "chain" and c["file"].endswith(f"manifests/{first}.json") and "changed" in c["problem"]
    archived.unlink()
    result, rep = replay_json(run / "manifest.json")
    assert result.exit_code == 3 and rep["changed"][0]["problem"] == "previous manifest missing"


# --------------------------------------------------------------------------- environment: exit 4 under --strict


def test_strict_replay_with_a_different_environment_exits_4(tmp_path, tiny):
    scenario = tiny.make(tmp_path)
    run = tmp_path / "run"
    assert invoke("run", scenario, "--out", run, "--json").exit_code == 0
    path = run / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["environment"]["libraries"]["numpy"] = "0.0.1"
    path.write_text(provenance.canonical_json(doc) + "\n", encoding="utf-8")
    strict, rep = replay_json(path, "--strict")
    assert strict.exit_code == 4
    assert rep["status"] == "environment differs" and rep["differences"] == []  # stopped before the re-run
    # (other keys, e.g. source_sha256, may differ too while the package is being edited)
    assert {"key": "libraries.numpy", "recorded": "0.0.1", "current": provenance.library_versions()["numpy"]} in rep["environment"]
    lenient, rep = replay_json(path)  # a warning only: the values still reproduce
    assert lenient.exit_code == 0 and "libraries.numpy" in [e["key"] for e in rep["environment"]]


# --------------------------------------------------------------------------- usage errors: exit 2


def test_missing_or_malformed_manifest_is_one_line_exit_2(tmp_path):
    result = invoke("replay", tmp_path / "nope.json")
    assert result.exit_code == 2 and "manifest not found" in text(result) and "Traceback" not in result.output
    bad = tmp_path / "manifest.json"
    bad.write_text("{not json", encoding="utf-8")
    result = invoke("replay", bad)
    assert result.exit_code == 2 and "manifest.json is not JSON" in text(result)
    bad.write_text('{"kind": "gep teleport"}', encoding="utf-8")
    result = invoke("replay", bad)
    assert result.exit_code == 2 and "not supported" in text(result)
