"""`gep bond coverage` driven by a GEP distribution: the samples of a `gep uncertainty` run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


def test_government_purchase_and_loan_on_a_gep_distribution(tmp_path, tiny, gep):
    scenario = tiny.make(tmp_path, extra_toml="[uncertainty.inputs]\nprecipitation = { relative = 0.2 }\n")
    r = gep.invoke("uncertainty", scenario, "--samples", 32, "--seed", 1, "--out", tmp_path / "u", "--workers", 1)
    assert r.exit_code == 0, r.output
    manifest = (tmp_path / "u" / "manifest.json").as_posix()
    samples = pd.read_csv(tmp_path / "u" / "samples.csv", encoding="utf-8-sig")["gep_cny"].to_numpy()
    (tmp_path / "loan.toml").write_text(f"""name = "loan on p5 GEP"
[loan]
gep_manifest = "{manifest}"
gep_statistic = "p5"
lending_ratio = 0.05
rate = 0.04
start_date = 2025-03-31
term_years = 3
""", encoding="utf-8")
    (tmp_path / "rev.toml").write_text(f"""[[stream]]
name = "purchase"
kind = "government_purchase"
manifest = "{manifest}"
share = 0.5
""", encoding="utf-8")
    r = gep.invoke("bond", "coverage", tmp_path / "loan.toml", "--revenue", tmp_path / "rev.toml", "--paths", 4000, "--seed", 3,
                   "--out", tmp_path / "c", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["debt"]["face_cny"] == pytest.approx(0.05 * np.percentile(samples, 5), rel=1e-12)
    stream = doc["revenue"]["streams"][0]
    assert stream["source"]["distribution"]["samples"] == 32
    assert stream["source"]["gep_cny_per_yr"] == pytest.approx(samples.mean(), rel=1e-12)
    cov = pd.read_csv(tmp_path / "c" / "coverage.csv", encoding="utf-8-sig")
    # no volatility and no growth: a path's revenue is share × one sample's GEP × period length
    first = cov.iloc[0]
    lo, hi = 0.5 * samples.min() * first["period_years"], 0.5 * samples.max() * first["period_years"]
    assert lo - 1e-6 <= first["revenue_p5_cny"] < first["revenue_p95_cny"] <= hi + 1e-6
    assert first["revenue_mean_cny"] == pytest.approx(0.5 * samples.mean() * first["period_years"], rel=0.05)
    roles = [x["role"] for x in doc["inputs"]]
    assert roles == ["loan GEP", 'stream "purchase" GEP']
    bad = tmp_path / "bad.toml"
    bad.write_text((tmp_path / "loan.toml").read_text(encoding="utf-8").replace('"p5"', '"p7"'), encoding="utf-8")
    gep.assert_user_error(gep.invoke("bond", "coverage", bad, "--revenue", tmp_path / "rev.toml"), "gep_statistic", "p7")
