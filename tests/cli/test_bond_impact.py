"""``gep bond impact``: hand-worked attribution, ledger credits, catalogue check, replay, bad input."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles
from gep.audit.replay import replay
from gep.cli.bond import app
from gep.ledger.ledger import Ledger

runner = CliRunner()

BOND = """name = "Test green bond"
face = 4_000_000
coupon_rate = 0.03
frequency = 1
issue_date = 2024-01-15
maturity_date = 2027-01-15
day_count = "ACT/ACT-ICMA"

[[use_of_proceeds]]
project = "forest"
category = "4.2"
amount = 2_000_000
total_investment = 4_000_000
zones = [1]
ledger_accounts = ["forest"]

[[use_of_proceeds]]
project = "sewage"
category = "5.3.1.1"
amount = 1_000_000
zones = [2]
"""


def _run(folder: Path, values: dict) -> Path:
    folder.mkdir(parents=True)
    rows = ["year,zone,zone_name,service,value_cny,value_cny_comparable"]
    for zone, v in values.items():
        rows.append(f"2023,{zone},Z{zone},water_conservation,{v * 1.1},{v}")
    (folder / "account.csv").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    sha = hashlib.sha256((folder / "account.csv").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps({"kind": "gep run", "outputs": {"account.csv": sha}}), encoding="utf-8")
    return folder / "manifest.json"


@pytest.fixture
def case(tmp_path, monkeypatch, evidence_runs, keyset):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bond.toml").write_text(BOND, encoding="utf-8")
    base = _run(tmp_path / "base", {1: 1000.0, 2: 500.0, 3: 7.0})
    later = _run(tmp_path / "later", {1: 1300.0, 2: 450.0, 3: 9.0})
    evidence = evidence_runs
    reg, alice = keyset.registry, keyset.alice
    led = Ledger.init(str(tmp_path / "ledger.db"), reg, operators=[keyset.operator.public], files=RunFiles())
    led.open_account(reg, "forest", alice.public, id="open-forest")
    led.issue(reg, "carbon/p1/2022", "5 t", "forest", evidence["carbon"], zone="1", id="iss-1")
    net = Decimal(led.balances(account="forest")[0]["display"].split()[0])
    led.retire(alice, "carbon/p1/2022", "1 t", "forest", id="ret-1")
    led.close()
    return tmp_path, base, later, float(net), (reg, evidence)


def _impact(*extra):
    return runner.invoke(app, ["impact", "bond.toml", "--run", "base/manifest.json", "--run", "later/manifest.json",
                               "--out", "out", *extra])


def test_impact_by_hand_with_ledger_credits_and_replay(case):
    tmp, _, _, net, (reg, evidence) = case
    r = _impact("--ledger", "ledger.db")
    assert r.exit_code == 0, r.stderr
    gep = pd.read_csv(tmp / "out" / "impact.csv", encoding="utf-8-sig").set_index("project")
    # forest: zone 1, 1300 - 1000 = 300 CNY/yr, share 2/4 -> 150; per 10^4 CNY: 150 / (2e6 / 1e4) = 0.75
    assert gep.loc["forest", "gep_change_cny"] == pytest.approx(300.0)
    assert gep.loc["forest", "attributable_cny"] == pytest.approx(150.0)
    assert gep.loc["forest", "per_10k_cny"] == pytest.approx(0.75)
    # sewage: zone 2, 450 - 500 = -50, share 1 -> -50 per 1e6: -0.5 per 10^4 CNY
    assert gep.loc["sewage", "per_10k_cny"] == pytest.approx(-0.5)
    # bond: (150 - 50) / (3e6 / 1e4) = 1/3 CNY/yr per 10^4 CNY (comparable prices, not the 1.1x current)
    assert gep.loc["ALL", "per_10k_cny"] == pytest.approx(100 / 300)
    credits = pd.read_csv(tmp / "out" / "impact_credits.csv", encoding="utf-8-sig").set_index("kind")
    assert credits.loc["issued", "amount"] == pytest.approx(net)  # net of the carbon buffer withheld
    assert credits.loc["issued", "per_10k_cny"] == pytest.approx(0.5 * net / 200)
    assert credits.loc["retired", "amount"] == pytest.approx(1.0)
    assert credits.loc["retired", "unit"] == "tCO2e"
    doc = json.loads((tmp / "out" / "impact.json").read_text(encoding="utf-8"))
    assert doc["use_of_proceeds"][0]["category_name_zh"] == "生态保护与建设"
    assert doc["use_of_proceeds"][1]["checked_to"] == "full code (level IV)"
    checks = {c["check"]: c for c in doc["checks"]}
    assert "levels III-IV from a third-party transcription" in checks
    assert not any(c.startswith("categories checked to") for c in checks)
    for name in ("impact.xlsx", "impact.png", "manifest.json"):
        assert (tmp / "out" / name).is_file()
    manifest = json.loads((tmp / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "gep bond impact" and len(manifest["inputs"]["runs"]) == 2
    assert manifest["inputs"]["ledger"]["tree_head"]["size"] == 4
    # the ledger grows after the report: replay re-reads the records up to the recorded head
    with Ledger.open(str(tmp / "ledger.db"), head_key=reg, files=RunFiles()) as led:
        led.issue(reg, "carbon/p1/2022", "1 t", "forest", evidence["carbon"], zone="1", id="iss-2")
    report = replay(tmp / "out" / "manifest.json")
    assert report.exit_code == 0, report.to_dict()
    # an edited output is caught
    (tmp / "out" / "impact.csv").write_text("edited\n", encoding="utf-8")
    assert replay(tmp / "out" / "manifest.json").exit_code == 1


@pytest.mark.parametrize("code, fragment", [("4.9", '"4.9" is not in the 2021 Green Bond Endorsed Projects Catalogue'),
                                            ("7.1", '"7.1" is not in the 2021'),
                                            ("4", '"4" is a level-I category'),
                                            ("forest", "is not a catalogue code")])
def test_category_not_in_the_catalogue_exits_2(case, code, fragment):
    tmp = case[0]
    (tmp / "bond.toml").write_text(BOND.replace('category = "4.2"', f'category = "{code}"'), encoding="utf-8")
    for args in (["impact", "bond.toml", "--run", "base/manifest.json", "--run", "later/manifest.json"],
                 ["price", "bond.toml", "--settle", "2025-01-15", "--yield", "3%"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0] and "use_of_proceeds[0].category" in lines[0]


@pytest.mark.parametrize("code, level", [("4.2.1.15", "III"), ("4.2.9", "II"), ("4.2.9.1", "II")])
def test_codes_not_in_the_catalogue_data_are_checked_to_their_held_parent(case, code, level):
    tmp = case[0]
    (tmp / "bond.toml").write_text(BOND.replace('category = "4.2"', f'category = "{code}"'), encoding="utf-8")
    r = _impact()
    assert r.exit_code == 0, r.stderr
    assert f"categories checked to level {level} only" in " ".join(r.stdout.split())
    doc = json.loads((tmp / "out" / "impact.json").read_text(encoding="utf-8"))
    assert doc["use_of_proceeds"][0]["checked_to"] == f"level {level} only"


def test_other_bad_input_exits_2(case):
    r = runner.invoke(app, ["impact", "bond.toml", "--run", "base/manifest.json"])
    assert r.exit_code == 2 and "--run: give at least two run manifests" in r.stderr
    r = _impact("--value", "nominal")
    assert r.exit_code == 2 and "--value" in r.stderr
    tmp = case[0]
    (tmp / "bond.toml").write_text(BOND.replace('ledger_accounts = ["forest"]', 'ledger_accounts = ["nobody"]'),
                                   encoding="utf-8")
    r = _impact("--ledger", "ledger.db")
    assert r.exit_code == 2 and 'ledger account "nobody" does not exist' in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
