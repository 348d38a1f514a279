"""``gep bond coverage`` through typer's test runner: hand numbers, manifests, reproducibility, errors."""

from __future__ import annotations

import json
import math
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gep.cli.bond import app
from gep.finance.revenue import calibrate_gbm
from tests.cli.hostile import HOSTILE, HOSTILE_PLAIN

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

BOND = """name = "Test amortising bond"
face = 1000
coupon_rate = 0.05
frequency = 1
issue_date = 2025-01-01
maturity_date = 2028-01-01
day_count = "ACT/ACT-ICMA"
[[amortization]]
date = 2026-01-01
amount = 300
[[amortization]]
date = 2027-01-01
amount = 300
"""

# capacity run: catchment 1 COD issuable 5 t/yr; carbon run: GEP = 3 × 1000 + 5 = 3005 CNY/yr
REVENUE = """name = "hand-worked revenue"
[coverage]
discount_rate = 0.05
[[stream]]
name = "COD credits"
kind = "credit_sales"
[stream.volume]
manifest = "runs/capacity-run/manifest.json"
pollutant = "cod"
catchments = [1]
[stream.price]
initial = 20.0
drift = 0.0
volatility = 0.0
[[stream]]
name = "tickets"
kind = "fixed_fee"
amount = 300
growth = 0.1
[[stream]]
name = "purchase"
kind = "government_purchase"
manifest = "runs/carbon-run/manifest.json"
share = 0.1
"""

STOCHASTIC = """[[stream]]
name = "carbon"
kind = "credit_sales"
share = 0.8
[stream.volume]
manifest = "runs/carbon-run/manifest.json"
zones = [2]
[stream.price]
initial = 9.0
drift = 0.02
volatility = 0.3
[[stream]]
name = "tickets"
kind = "fixed_fee"
amount = 250
volatility = 0.2
"""


def invoke(*args):
    return runner.invoke(app, ["coverage", *map(str, args)])


def ok_json(*args) -> dict:
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def fails(*args, words=()) -> str:
    r = invoke(*args)
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    err = r.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


@pytest.fixture
def case(tmp_path, evidence_runs):
    """A folder with runs/ (``evidence_runs``), bond.toml, revenue.toml (hand-worked) and stochastic.toml."""
    (tmp_path / "bond.toml").write_text(BOND, encoding="utf-8")
    (tmp_path / "revenue.toml").write_text(REVENUE, encoding="utf-8")
    (tmp_path / "stochastic.toml").write_text(STOCHASTIC, encoding="utf-8")
    return tmp_path


def test_hand_worked_coverage_with_zero_volatility(case):
    doc = ok_json(case / "bond.toml", "--revenue", case / "revenue.toml", "--paths", 50, "--out", case / "out")
    # debt service 350, 335, 420 (coupons 50, 35, 20; principal 300, 300, 400)
    assert [p["debt_service_cny"] for p in doc["periods"]] == pytest.approx([350.0, 335.0, 420.0])
    # CFADS = 5 t × 20 + 300·1.1^t + 0.1 × 3005 = 730.5, 763.5, 799.8
    cfads = [100 + 330 + 300.5, 100 + 363 + 300.5, 100 + 399.3 + 300.5]
    assert [p["revenue_p50_cny"] for p in doc["periods"]] == pytest.approx(cfads, rel=1e-12)
    assert [p["revenue_p5_cny"] for p in doc["periods"]] == pytest.approx(cfads, rel=1e-12)
    dscr = [c / d for c, d in zip(cfads, (350, 335, 420))]
    assert [p["dscr_p50"] for p in doc["periods"]] == pytest.approx(dscr, rel=1e-12)
    s = doc["summary"]
    assert s["min_dscr"]["p50"] == pytest.approx(min(dscr), rel=1e-12)
    assert s["llcr"]["mean"] == pytest.approx(sum(c / 1.05 ** (k + 1) for k, c in enumerate(cfads)) / 1000, rel=1e-12)
    assert s["discount_rate"] == 0.05 and s["p_dscr_below_1"]["any_period"] == 0.0
    assert s["p_dscr_below_1"]["upper_95_if_none"] == pytest.approx(3 / 50)
    assert doc["simulation"]["stochastic"] is False and doc["simulation"]["discount_rate_source"] == "revenue file [coverage]"
    cod = doc["revenue"]["streams"][0]
    assert cod["volume_per_yr"] == pytest.approx(5.0) and cod["unit"] == "t/yr COD"
    out = case / "out"
    for name in ("coverage.csv", "coverage.json", "coverage.xlsx", "coverage_fan.png", "manifest.json"):
        assert (out / name).is_file(), name
    assert (out / "coverage.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "gep bond coverage" and m["rng"]["seed"] == 0 and m["rng"]["generator"] == "numpy.random.Generator(PCG64)"
    assert m["rng"]["used"] is False
    assert m["inputs"]["bond"]["path"] == "../bond.toml" and m["inputs"]["revenue"]["path"] == "../revenue.toml"
    refs = {r["role"]: r for r in m["inputs"]["references"]}
    cap = refs['stream "COD credits" volume']
    assert cap["path"] == "runs/capacity-run/manifest.json" and cap["kind"] == "gep capacity basin"
    assert len(cap["sha256"]) == 64 and set(cap["outputs"]) == {"credits.csv"}
    assert set(refs['stream "purchase" GEP']["outputs"]) == {"account.csv"}
    assert set(m["outputs"]) == {"coverage.csv", "coverage.json", "coverage.xlsx", "coverage_fan.png"}
    assert {"gep_version", "libraries", "source_sha256"} <= set(m["environment"])
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert str(case) not in text and str(ROOT) not in text and "time" not in m


def test_same_seed_same_bytes_other_seed_other_numbers(case):
    args = [case / "bond.toml", "--revenue", case / "stochastic.toml", "--paths", 2000, "--seed", 123]
    for sub in ("a", "b"):
        r = invoke(*args, "--out", case / sub)
        assert r.exit_code == 0, r.stderr
    for name in ("coverage.csv", "coverage.json", "coverage.xlsx", "coverage_fan.png"):
        assert (case / "a" / name).read_bytes() == (case / "b" / name).read_bytes(), name
    ma, mb = (json.loads((case / s / "manifest.json").read_text(encoding="utf-8")) for s in ("a", "b"))
    ma.pop("environment"), mb.pop("environment")
    assert ma == mb and ma["rng"] == {"generator": "numpy.random.Generator(PCG64)", "seed": 123, "used": True,
                                      "streams": "stream i (0-based, file order): Generator(PCG64(seed).jumped(i))"}
    r = invoke(case / "bond.toml", "--revenue", case / "stochastic.toml", "--paths", 2000, "--seed", 124, "--out", case / "c")
    assert r.exit_code == 0
    assert (case / "a" / "coverage.csv").read_bytes() != (case / "c" / "coverage.csv").read_bytes()
    # a re-run into the same folder chains the manifests
    r = invoke(*args, "--out", case / "a")
    again = json.loads((case / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert again["previous_manifest_sha256"] is not None and (case / "a" / "manifests").is_dir()


def test_stochastic_run_reports_breaches_with_standard_errors(case):
    doc = ok_json(case / "bond.toml", "--revenue", case / "stochastic.toml", "--paths", 4000, "--seed", 5,
                  "--out", case / "s", "--max-breach", "10%")
    n = doc["summary"]["paths"]
    for p in doc["periods"]:
        q = p["p_dscr_below_1"]
        assert p["p_dscr_below_1_se"] == pytest.approx(math.sqrt(q * (1 - q) / n))
        assert p["revenue_p5_cny"] <= p["revenue_p50_cny"] <= p["revenue_p95_cny"]
        assert p["dscr_p5"] <= p["dscr_p50"] <= p["dscr_p95"]
    pb = doc["summary"]["p_dscr_below_1"]
    assert 0 < pb["any_period"] < 1 and pb["standard_error"] == pytest.approx(math.sqrt(pb["any_period"] * (1 - pb["any_period"]) / n))
    assert pb["any_period"] >= max(p["p_dscr_below_1"] for p in doc["periods"])
    z = doc["summary"]["sizing"]
    assert z["threshold"] == 0.1 and z["breach_probability"] <= 0.1 and z["max_principal_cny"] > 0
    # carbon volume of zone 2: 50 t CO2/yr; price given, no calibration
    carbon = doc["revenue"]["streams"][0]
    assert carbon["volume_per_yr"] == pytest.approx(50.0) and carbon["price"]["given"] == ["initial", "drift", "volatility"]


def test_table_output_and_default_run_folder(case, monkeypatch):
    monkeypatch.chdir(case)
    r = invoke("bond.toml", "--revenue", "revenue.toml", "--paths", 20)
    assert r.exit_code == 0, r.stderr
    assert "P(DSCR < 1 in any period)" in r.stdout and "LLCR at 5 %" in r.stdout and "run folder: runs/" in r.stdout
    folders = list((case / "runs").glob("Test-amortising-bond-coverage-*"))
    assert len(folders) == 1 and (folders[0] / "manifest.json").is_file()


def test_changed_run_output_is_refused_with_exit_2(case):
    (case / "runs" / "carbon-run" / "account.csv").write_text("year,zone\n2022,1\n", encoding="utf-8")
    err = fails(case / "bond.toml", "--revenue", case / "revenue.toml", "--paths", 10,
                words=("account.csv", "does not match its manifest", "revenue.toml, key stream[2].manifest"))
    assert "SHA-256 recorded" in err


def test_capacity_output_changed_too(case):
    p = case / "runs" / "capacity-run" / "credits.csv"
    p.write_bytes(p.read_bytes().replace(b"5.000000", b"50.000000"))
    fails(case / "bond.toml", "--revenue", case / "revenue.toml", words=("credits.csv", "does not match its manifest"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny) -> tuple[Path, float]:
    """A real ``gep run`` of the tiny scenario: (manifest path, gep_total_cny)."""
    from gep.cli import app as gep_app

    tmp = tmp_path_factory.mktemp("tinyrun")
    scenario = tiny.make(tmp)
    r = runner.invoke(gep_app, ["run", str(scenario), "--out", str(tmp / "run"), "--json"])
    assert r.exit_code == 0, r.output
    return tmp / "run" / "manifest.json", json.loads(r.stdout)["gep_total_cny"]


def test_gep_backed_loan_from_a_run_manifest(tmp_path, tiny_run):
    manifest, gep = tiny_run
    (tmp_path / "loan.toml").write_text(f"""name = "tiny GEP loan"
[loan]
gep_manifest = "{manifest.as_posix()}"
lending_ratio = 0.05
rate = 0.04
frequency = 2
start_date = 2025-03-31
term_years = 3
repayment = "equal_principal"
grace_years = 1
""", encoding="utf-8")
    (tmp_path / "rev.toml").write_text(f"""[[stream]]
name = "purchase"
kind = "government_purchase"
manifest = "{manifest.as_posix()}"
share = 0.03
growth = 0.02
volatility = 0.1
""", encoding="utf-8")
    doc = ok_json(tmp_path / "loan.toml", "--revenue", tmp_path / "rev.toml", "--paths", 3000, "--seed", 1,
                  "--max-breach", "0.05", "--out", tmp_path / "o")
    debt = doc["debt"]
    assert debt["type"] == "loan" and debt["face_cny"] == pytest.approx(0.05 * gep, rel=1e-9)
    assert debt["loan"]["lending_ratio"] == 0.05 and debt["loan"]["gep_cny_per_yr"] == pytest.approx(gep, rel=1e-9)
    assert debt["loan"]["lending_ratio_within_published_range"] is True
    principal = [p["principal_cny"] for p in doc["periods"]]
    # 6 half-years, 2 interest-only, then 4 equal principal instalments of face/4
    assert principal[:2] == [0.0, 0.0] and principal[2:] == pytest.approx([debt["face_cny"] / 4] * 4)
    assert doc["periods"][0]["coupon_cny"] == pytest.approx(debt["face_cny"] * 0.02)
    z = doc["summary"]["sizing"]
    assert z["max_lending_ratio"] == pytest.approx(z["max_principal_cny"] / gep)
    assert doc["simulation"]["discount_rate"] == 0.04  # the loan rate, by default
    roles = [r["role"] for r in doc["inputs"]]
    assert roles == ["loan GEP", 'stream "purchase" GEP']


def test_gep_increase_basis_needs_a_base_run(case):
    (case / "inc.toml").write_text("""[[stream]]
name = "purchase"
kind = "government_purchase"
manifest = "runs/carbon-run/manifest.json"
basis = "increase"
share = 0.5
""", encoding="utf-8")
    fails(case / "bond.toml", "--revenue", case / "inc.toml", words=("base_manifest",))
    text = (case / "inc.toml").read_text(encoding="utf-8") + 'base_manifest = "runs/carbon-run/manifest.json"\ngrowth = 0.1\n'
    (case / "inc.toml").write_text(text, encoding="utf-8")
    doc = ok_json(case / "bond.toml", "--revenue", case / "inc.toml", "--paths", 5, "--out", case / "inc")
    # 0.5 × (3005 · 1.1^t − 3005)
    want = [0.5 * 3005 * (1.1**t - 1) for t in (1, 2, 3)]
    assert [p["revenue_mean_cny"] for p in doc["periods"]] == pytest.approx(want, rel=1e-12)


def _ledger_with_prices(folder: Path, runs: dict, operator) -> tuple[Path, list[tuple[date, float, str]]]:
    """A SQLite ledger where bob buys carbon from alice at recorded prices on chosen days."""
    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger

    ks = {n: keys.generate() for n in ("registry", "alice", "bob")}
    db = folder / "ledger.db"
    clock = {"now": "2024-02-01T00:00:00.000000Z"}  # the ledger's clock (it never goes backwards)
    led = Ledger.init(str(db), ks["registry"], operators=[operator.public], clock=lambda: clock["now"], files=RunFiles())
    for n in ("alice", "bob"):
        led.open_account(ks["registry"], n, ks[n].public)
    led.issue(ks["registry"], "carbon/p1/2022", "40 t", "alice", runs["carbon"], zone="2")
    trades = []
    day = date(2024, 3, 1)
    rng = np.random.Generator(np.random.PCG64(77))
    price = 60.0
    for i in range(12):
        price = round(price * math.exp(0.05 * rng.standard_normal()), 2)
        # 23:30 UTC is the next morning in Beijing: the Beijing date is used
        t = datetime(day.year, day.month, day.day, 23, 30, tzinfo=timezone.utc)
        clock["now"] = t.isoformat(timespec="microseconds").replace("+00:00", "Z")
        led.transfer(ks["alice"], "carbon/p1/2022", "1 t", "alice", "bob", price=f"{price}")
        trades.append((day + timedelta(days=1), price, "1"))
        day += timedelta(days=7 if i % 3 else 10)
    led.close()
    return db, trades


def test_volume_and_price_calibrated_from_the_ledger(case, keyset):
    runs = {"carbon": case / "runs" / "carbon-run" / "manifest.json"}
    db, trades = _ledger_with_prices(case, runs, keyset.operator)
    (case / "led.toml").write_text("""[[stream]]
name = "carbon"
kind = "credit_sales"
[stream.volume]
ledger = "ledger.db"
account = "bob"
instrument = "carbon/p1/2022"
over_years = 2
[stream.price]
ledger = "ledger.db"
instrument = "carbon/p1/2022"
""", encoding="utf-8")
    doc = ok_json(case / "bond.toml", "--revenue", case / "led.toml", "--paths", 500, "--seed", 3, "--out", case / "l")
    s = doc["revenue"]["streams"][0]
    assert s["volume_per_yr"] == pytest.approx(12.0 / 2)            # 12 t held by bob, sold over 2 years
    c = calibrate_gbm([d for d, _, _ in trades], [p for _, p, _ in trades])
    cal = s["price"]["calibration"]
    assert cal["sample"] == {"trades": 12, "trading_days": 12, "log_returns": 11}
    assert cal["window"]["first_date"] == trades[0][0].isoformat() == "2024-03-02"
    assert cal["volatility"] == pytest.approx(c.volatility, rel=1e-12) and cal["drift"] == pytest.approx(c.drift, rel=1e-12)
    assert s["price"]["initial"] == trades[-1][1] and s["price"]["estimated"] == ["initial", "drift", "volatility"]
    refs = [r for r in doc["inputs"] if "ledger" in r]
    assert len(refs) == 2 and all(r["ledger"] == "ledger.db" and len(r["tree_head"]["root_hash"]) == 64 for r in refs)
    checks = {c["check"]: c for c in doc["checks"]}
    assert checks['price history of "carbon": log returns']["status"] == "warning"  # 11 < 30 returns


def test_price_history_csv_and_window(case):
    shutil.copy(ROOT / "scenarios" / "bonds" / "carbon_prices_illustrative.csv", case / "prices.csv")
    (case / "h.toml").write_text("""[[stream]]
name = "carbon"
kind = "credit_sales"
[stream.volume]
amount = 10
unit = "tCO2e"
[stream.price]
history = "prices.csv"
window_start = 2024-07-01
drift = 0.0
""", encoding="utf-8")
    doc = ok_json(case / "bond.toml", "--revenue", case / "h.toml", "--paths", 100, "--out", case / "h")
    p = doc["revenue"]["streams"][0]["price"]
    assert p["drift"] == 0.0 and p["given"] == ["drift"]
    assert p["calibration"]["window"]["first_date"] >= "2024-07-01"
    assert p["volatility"] == p["calibration"]["volatility"] > 0


def test_example_files_run(tmp_path):
    """The self-contained example of scenarios/bonds runs (the demo ones need gep run first)."""
    bonds = ROOT / "scenarios" / "bonds"
    doc = ok_json(bonds / "amortising_eco_7y.toml", "--revenue", bonds / "revenue_standalone.toml", "--paths", 200,
                  "--out", tmp_path / "example")
    assert doc["summary"]["paths"] == 200 and doc["debt"]["face_cny"] == 500_000_000
    assert [s["kind"] for s in doc["revenue"]["streams"]] == ["credit_sales", "fixed_fee", "cost"]


BAD_REVENUE = [
    ("name = 'x'\n", ("no revenue streams",)),
    ("[[stream]]\nname = 'a'\nkind = 'fixed_fees'\namount = 1\n", ('did you mean "fixed_fee"',)),
    ("[[stream]]\nname = 'a'\nkind = 'fixed_fee'\namount = 1\ngrowht = 0.1\n", ('unknown key "growht"', 'did you mean "growth"')),
    ("[[stream]]\nname = 'a'\nkind = 'fixed_fee'\namount = -5\n", ("amount must be ≥ 0",)),
    ("[[stream]]\nname = 'a'\nkind = 'fixed_fee'\n", ('missing required key "amount"',)),
    ("[[stream]]\nname = 'a'\nkind = 'fixed_fee'\namount = 1\n[[stream]]\nname = 'a'\nkind = 'cost'\namount = 1\n", ("used twice",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\namount = 1\n[stream.price]\ninitial = 5\n",
     ("price needs drift, volatility",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\namount = 1\nmanifest = 'm.json'\n[stream.price]\ninitial = 5\n",
     ("exactly one of manifest, ledger or amount",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\nmanifest = 'nowhere/manifest.json'\n"
     "[stream.price]\ninitial = 5\ndrift = 0\nvolatility = 0\n", ("run manifest not found",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\nmanifest = 'runs/capacity-run/manifest.json'\n"
     "[stream.price]\ninitial = 5\ndrift = 0\nvolatility = 0\n", ("needs the pollutant",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\nmanifest = 'runs/capacity-run/manifest.json'\n"
     "pollutant = 'TN'\n[stream.price]\ninitial = 5\ndrift = 0\nvolatility = 0\n", ("no credits for TN",)),
    ("[[stream]]\nname = 'a'\nkind = 'government_purchase'\nmanifest = 'runs/capacity-run/manifest.json'\nshare = 0.1\n",
     ('"gep capacity basin" manifest, not', "gep run")),
    ("[[stream]]\nname = 'a'\nkind = 'government_purchase'\nmanifest = 'runs/carbon-run/manifest.json'\nshare = 2\n",
     ("share must be ≤ 1",)),
    ("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\namount = 1\n[stream.price]\nhistory = 'p.csv'\n",
     ("price history not found",)),
    ("[[stream\nname = 'a'\n", ("malformed TOML",)),
]


@pytest.mark.parametrize("text,words", BAD_REVENUE)
def test_revenue_file_errors(case, text, words):
    (case / "bad.toml").write_text(text, encoding="utf-8")
    fails(case / "bond.toml", "--revenue", case / "bad.toml", words=words)


def test_short_price_history_is_refused(case):
    (case / "p.csv").write_text("time,price_cny_per_unit\n2024-01-02,10\n2024-01-02T10:00:00+08:00,11\n", encoding="utf-8")
    (case / "r.toml").write_text("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\namount = 1\n"
                                 "[stream.price]\nhistory = 'p.csv'\n", encoding="utf-8")
    fails(case / "bond.toml", "--revenue", case / "r.toml", words=("1 trading day(s)", "at least 3"))


@pytest.mark.parametrize("extra,words", [
    (["--paths", "0"], ("--paths",)),
    (["--seed", "-1"], ("--seed",)),
    (["--max-breach", "1.5"], ("--max-breach",)),
    (["--discount-rate", "abc"], ("--discount-rate", "cannot read")),
])
def test_option_errors(case, extra, words):
    fails(case / "bond.toml", "--revenue", case / "revenue.toml", *extra, words=words)


def test_zero_coupon_needs_a_discount_rate(case):
    (case / "zero.toml").write_text('face = 1000\ncoupon_rate = 0\nissue_date = 2025-01-01\nmaturity_date = 2027-01-01\n'
                                    'day_count = "ACT/365F"\n', encoding="utf-8")
    (case / "fee.toml").write_text("[[stream]]\nname = 'f'\nkind = 'fixed_fee'\namount = 600\n", encoding="utf-8")
    fails(case / "zero.toml", "--revenue", case / "fee.toml", words=("zero-coupon", "--discount-rate"))
    doc = ok_json(case / "zero.toml", "--revenue", case / "fee.toml", "--discount-rate", "3%", "--paths", 3,
                  "--out", case / "z")
    p = doc["periods"]
    assert p[0]["dscr_p50"] is None and p[0]["p_dscr_below_1"] is None   # no debt service in year 1
    assert p[1]["dscr_p50"] == pytest.approx(0.6)                       # 600 / 1000


@pytest.mark.parametrize("loan,words", [
    ("principal = 1e6\nlending_ratio = 0.1\n", ("exactly one of loan.principal or loan.lending_ratio",)),
    ("lending_ratio = 0.1\n", ("needs gep_manifest",)),
    ("principal = 1e6\nrepayment = 'anuity'\n", ('did you mean "annuity"',)),
    ("principal = 1e6\nterm = 5\n", ('unknown key "term"', 'did you mean "term_years"')),
    ("principal = 1e6\nfrequency = 3\n", ("frequency must be 1, 2 or 4",)),
])
def test_loan_file_errors(case, loan, words):
    base = "rate = 0.04\nstart_date = 2025-01-01\nterm_years = 5\n"
    if "term = " in loan:
        base = base.replace("term_years = 5\n", "")
    (case / "loan.toml").write_text("[loan]\n" + base + loan, encoding="utf-8")
    fails(case / "loan.toml", "--revenue", case / "revenue.toml", words=words)


def test_loan_ratio_on_a_tampered_run_is_refused(case):
    (case / "loan.toml").write_text('[loan]\ngep_manifest = "runs/carbon-run/manifest.json"\nlending_ratio = 0.1\n'
                                    'rate = 0.04\nstart_date = 2025-01-01\nterm_years = 5\n', encoding="utf-8")
    p = case / "runs" / "carbon-run" / "account.csv"
    p.write_bytes(p.read_bytes() + b"2022,1,Z,Z,regulating,x,x,forest,1,t,1e9\n")
    fails(case / "loan.toml", "--revenue", case / "revenue.toml", words=("loan.gep_manifest", "does not match its manifest"))


def test_selection_lists_are_checked(case):
    (case / "sel.toml").write_text("[[stream]]\nname = 'a'\nkind = 'credit_sales'\n[stream.volume]\n"
                                   "manifest = 'runs/carbon-run/manifest.json'\nzones = 2\n"
                                   "[stream.price]\ninitial = 5\ndrift = 0\nvolatility = 0\n", encoding="utf-8")
    fails(case / "bond.toml", "--revenue", case / "sel.toml", words=("zones must be a non-empty list",))


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("option", ["--paths", "--seed", "--target-dscr", "--discount-rate", "--max-breach"])
def test_hostile_numbers_on_options_exit_2_in_one_line(case, option, value):
    err = fails(case / "bond.toml", "--revenue", case / "revenue.toml", option, value)
    assert len(err) < 400


@pytest.mark.parametrize("value", HOSTILE_PLAIN)
def test_hostile_numbers_in_the_files_exit_2_in_one_line(case, value):
    """A TOML revenue file, a CSV and a JSON price history holding the hostile numbers: refused with the file named."""
    (case / "bad.toml").write_text(REVENUE.replace("initial = 20.0", f"initial = {value}"), encoding="utf-8")
    assert "bad.toml" in fails(case / "bond.toml", "--revenue", case / "bad.toml")
    for name, text in (("prices.csv", f"time,price_cny_per_unit,amount\n2024-01-02,{value},1\n2024-01-03,20,1\n"),
                       ("prices.json", f'[{{"time": "2024-01-02", "price_cny_per_unit": {value}}}, {{"time": "2024-01-03", "price_cny_per_unit": 20}}]')):
        (case / name).write_text(text, encoding="utf-8")
        (case / "hist.toml").write_text(f"""[[stream]]
name = "carbon"
kind = "credit_sales"
[stream.volume]
amount = 100
unit = "tCO2e"
[stream.price]
history = "{name}"
""", encoding="utf-8")
        assert name in fails(case / "bond.toml", "--revenue", case / "hist.toml")
