"""`gep verify`: the shipped reference cases pass; a wrong expected value fails with exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from gep.audit import cases as verify
from gep.cli import app

runner = CliRunner()
CASES = Path(__file__).resolve().parents[2] / "benchmarks" / "cases"
KINDS = {"gep-run", "capacity", "bond", "account-arithmetic", "published-account"}
SERVICES = {
    "provisioning", "water_conservation", "soil_retention", "sand_fixation", "flood_mitigation",
    "water_purification", "air_purification", "carbon_sequestration", "oxygen_release",
    "climate_regulation", "negative_ions", "recreation", "landscape",
}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_shipped_cases_pass_and_cover_every_service_and_kind():
    result = invoke("verify", CASES, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["passed"] and doc["n_cases"] >= 15
    assert {c["kind"] for c in doc["cases"]} == KINDS
    covered = set()
    for c in doc["cases"]:
        assert c["passed"] and c["checks"], c
        assert c["largest_deviation"] is not None and c["source"]
        if c["kind"] == "gep-run":
            scenario = (CASES / c["case"] / "scenario.toml").read_text(encoding="utf-8")
            covered |= {s for s in SERVICES if f'"{s}"' in scenario}
    assert covered == SERVICES
    for folder in verify.discover(CASES):
        assert (folder / "SOURCE.md").is_file() and (folder / "expected.toml").is_file()


def test_identity_cases_are_marked_and_not_counted_as_engine_tests():
    """The Lishui and Ninghai cases read back published totals: verify reports them apart."""
    doc = json.loads(invoke("verify", CASES, "--case", "identity-", "--case", "bond-par", "--json").stdout)
    by_case = {c["case"]: c for c in doc["cases"]}
    assert by_case["identity-lishui-2018"]["identity"] and by_case["identity-ninghai-2018"]["identity"]
    assert not by_case["bond-par-yield"]["identity"] and not by_case["identity-stoichiometry"]["identity"]
    assert doc["n_engine_cases"] == 2 and doc["n_identity_cases"] == 2 and doc["n_cases"] == 4
    table = invoke("verify", CASES, "--case", "identity-lishui", "--case", "bond-par")
    lines = " ".join(table.stdout.split())
    assert "1/1 engine cases pass" in lines and "1/1 identity cases pass" in lines and "(identity)" in lines


def test_table_output_lists_every_case():
    result = invoke("verify", CASES, "--case", "capacity", "--case", "bond")
    assert result.exit_code == 0, result.output
    assert "capacity-dillon-kd" in result.stdout and "bond-annual-ccdc" in result.stdout and "pass" in result.stdout


def test_a_wrong_expected_value_fails_with_exit_1(tmp_path):
    shutil.copytree(CASES / "svc-water-conservation", tmp_path / "svc-water-conservation")
    shutil.copytree(CASES / "capacity-0d-river", tmp_path / "capacity-0d-river")
    expected = tmp_path / "svc-water-conservation" / "expected.toml"
    expected.write_text(expected.read_text(encoding="utf-8").replace("expected = 12451.5", "expected = 12452.5"), encoding="utf-8")
    result = invoke("verify", tmp_path, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    by_case = {c["case"]: c for c in doc["cases"]}
    assert by_case["capacity-0d-river"]["passed"] and not by_case["svc-water-conservation"]["passed"]
    bad = by_case["svc-water-conservation"]
    assert bad["largest_deviation"]["check"] == "total water conserved" and abs(bad["largest_deviation"]["deviation"] - 1.0) < 1e-9
    table = invoke("verify", tmp_path)
    assert table.exit_code == 1 and "FAIL" in table.output and "svc-water-conservation" in table.output


def test_a_case_without_source_fails_and_a_missing_folder_is_a_usage_error(tmp_path):
    shutil.copytree(CASES / "bond-par-yield", tmp_path / "bond-par-yield")
    (tmp_path / "bond-par-yield" / "SOURCE.md").unlink()
    result = invoke("verify", tmp_path, "--json")
    assert result.exit_code == 1
    assert "SOURCE.md" in json.loads(result.stdout)["cases"][0]["error"]
    missing = invoke("verify", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "cases folder not found" in " ".join(missing.output.split()) and "Traceback" not in missing.output


def test_check_tolerance_arithmetic():
    c = verify.Check("x", expected=100.0, actual=100.5, abs_tol=0.1, rel_tol=0.004)
    assert c.allowed == 0.5 and c.passed and c.deviation == 0.5 and c.rel_deviation == 0.005
    assert not verify.Check("x", 1.0, float("nan"), 1.0, 0.0).passed


def test_published_accounts_are_revalued_and_a_wrong_price_fails(tmp_path):
    """Ganzi 2010 re-valued with cn-2022: the national prices reproduce the published values; a changed
    price mapping moves the re-valuation and fails the check (the case tests gep's prices, not the paper)."""
    result = invoke("verify", CASES, "--case", "published-", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {c["case"] for c in doc["cases"]} == {"published-ganzi-2010", "published-gaotianyan-2014", "published-baiyangdian-2011"}
    assert not any(c["identity"] for c in doc["cases"])
    assert all(c["kind"] == "published-account" and c["passed"] for c in doc["cases"])
    shutil.copytree(CASES / "published-ganzi-2010", tmp_path / "published-ganzi-2010")
    case = tmp_path / "published-ganzi-2010" / "case.toml"
    # value the water stored at the dredging cost instead of the reservoir cost: 15.58 / 7.06 = 2.207 × the published value
    case.write_text(case.read_text(encoding="utf-8").replace('"water_conservation.water_storage" = "price.reservoir_storage"', '"water_conservation.water_storage" = "price.dredging"'), encoding="utf-8")
    bad = json.loads(invoke("verify", tmp_path, "--json").stdout)["cases"][0]
    assert not bad["passed"] and abs(bad["largest_deviation"]["deviation"] - (15.58 / 7.06 - 1)) < 1e-3


def test_a_published_account_row_without_a_price_mapping_target_is_a_clear_error(tmp_path):
    shutil.copytree(CASES / "published-gaotianyan-2014", tmp_path / "published-gaotianyan-2014")
    case = tmp_path / "published-gaotianyan-2014" / "case.toml"
    case.write_text(case.read_text(encoding="utf-8") + '"oxygen_release.O3" = "price.oxygen"\n', encoding="utf-8")
    bad = json.loads(invoke("verify", tmp_path, "--json").stdout)["cases"][0]
    assert not bad["passed"] and "no row for oxygen_release.O3" in bad["error"]
