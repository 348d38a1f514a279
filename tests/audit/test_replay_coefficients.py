"""A run made with a coefficient-set version replays after the set has moved on to a new version:
replay loads the frozen copy under releases/ (and says so when that copy is gone)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from gep.cli import app
from gep.io.coefficient_files import coefficients_root

SHIPPED = coefficients_root()


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def release_new_version(root: Path) -> None:
    """What a maintainer does: freeze the current version under releases/, then put the corrected one in place."""
    shutil.copytree(root / "cn-2022", root / "releases" / "cn-2022" / "1.0.0")
    shutil.rmtree(root / "cn-2022")
    shutil.copytree(SHIPPED / "cn-2022", root / "cn-2022")  # 1.3.0 (the shipped current version)


def test_a_run_with_an_older_version_replays_from_the_frozen_copy(tmp_path, monkeypatch, tiny):
    root = tmp_path / "coefficients"
    shutil.copytree(SHIPPED / "releases" / "cn-2022" / "1.0.0", root / "cn-2022")  # 1.0.0 is current when the run is made
    monkeypatch.setenv("GEP_COEFFICIENTS", str(root))
    scenario = tiny.make(tmp_path / "scn")
    run = tmp_path / "run"
    made = invoke("run", scenario, "--out", run, "--json")
    assert made.exit_code == 0, made.output
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["coefficients"]["id"], manifest["coefficients"]["version"]) == ("cn-2022", "1.0.0")

    release_new_version(root)
    assert "1.3.0" in invoke("coefficients", "show", "cn-2022").output  # the set has moved on
    result = invoke("replay", run / "manifest.json", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert doc["status"] == "reproduced" and doc["changed"] == []

    # without the frozen copy the recorded files no longer exist: named, with both versions, exit 3
    shutil.rmtree(root / "releases")
    result = invoke("replay", run / "manifest.json", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 3
    assert any(c["kind"] == "coefficient" and "version 1.0.0 recorded, 1.3.0 now" in c["problem"] for c in doc["changed"])


def test_a_scenario_can_name_a_version(tmp_path, tiny):
    scenario = tiny.make(tmp_path, extra_toml='[coefficients]\nset = "cn-2022@1.0.0"\n')
    run = tmp_path / "run"
    made = invoke("run", scenario, "--out", run, "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["coefficient_set"] == "cn-2022@1.0.0"
    assert invoke("replay", run / "manifest.json").exit_code == 0
    missing = tiny.make(tmp_path / "b", extra_toml='[coefficients]\nset = "cn-2022@0.9.0"\n')
    result = invoke("run", missing, "--out", tmp_path / "r2")
    assert result.exit_code == 2 and "has no version 0.9.0" in result.output
