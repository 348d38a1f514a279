"""``gep bond coverage`` with a reserve account and a cash sweep: outputs, standard errors, replay."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gep.cli.bond import app
from gep.audit.replay import replay

ROOT = Path(__file__).resolve().parents[2]
BONDS = ROOT / "scenarios" / "bonds"
runner = CliRunner()


def _run(tmp_path, *extra):
    bonds = tmp_path / "bonds"  # beside the run folder, so the manifest's relative paths resolve
    shutil.copytree(BONDS, bonds)
    out = tmp_path / "cov"
    r = runner.invoke(app, ["coverage", str(bonds / "amortising_eco_7y_reserve.toml"), "--revenue",
                            str(bonds / "revenue_standalone.toml"), "--paths", "2000", "--seed", "3",
                            "--out", str(out), *extra])
    return r, out


def test_reserve_and_sweep_outputs_and_replay(tmp_path):
    r, out = _run(tmp_path, "--max-breach", "5%")
    assert r.exit_code == 0, r.stderr
    df = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    for col in ("revenue_mean_se_cny", "dscr_mean", "dscr_mean_se", "reserve_balance_mean_cny", "p_reserve_draw",
                "sweep_mean_cny", "outstanding_mean_cny", "p_shortfall", "p_shortfall_se"):
        assert col in df.columns
    # standard error of the mean revenue = sample sd / sqrt(N): positive and small against the mean
    assert (df["revenue_mean_se_cny"] > 0).all() and (df["revenue_mean_se_cny"] < 0.01 * df["revenue_mean_cny"]).all()
    # the sweep only ever lowers the principal; the reserve is empty after maturity
    assert (df["outstanding_mean_cny"] <= df["outstanding_cny"] + 1e-6).all()
    assert df["reserve_balance_mean_cny"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    doc = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    w = doc["summary"]["waterfall"]
    assert w["reserve_opening_cny"] == pytest.approx(20_500_000)  # 12 months: the first coupon 4.1 % × 500 m
    assert 0 <= w["p_shortfall_any_period"] <= doc["summary"]["p_dscr_below_1"]["any_period"]
    z = doc["summary"]["sizing"]
    assert z["net_proceeds_cny"] == pytest.approx(z["max_principal_cny"] * (1 - 0.041))
    assert "shortfall after reserve draws" in z["method"]
    assert doc["debt"]["waterfall"]["sweep"]["share"] == 0.5
    report = replay(out / "manifest.json")
    assert report.exit_code == 0, report.to_dict()


def test_target_dscr_is_refused_with_a_waterfall(tmp_path):
    r, _ = _run(tmp_path, "--max-breach", "5%", "--target-dscr", "1.2")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "--target-dscr" in r.stderr
