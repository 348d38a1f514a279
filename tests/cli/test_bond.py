"""``gep bond price`` / ``gep bond schedule`` through typer's test runner."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli.bond import app, parse_rate
from gep.errors import InputError
from tests.cli.hostile import HOSTILE

ROOT = Path(__file__).resolve().parents[2]
BONDS = ROOT / "scenarios" / "bonds"
ANNUAL = str(BONDS / "interbank_eco_5y_annual.toml")
EXCHANGE = str(BONDS / "exchange_semiannual_nl.toml")
AMORT = str(BONDS / "amortising_eco_7y.toml")
ZERO = str(BONDS / "zero_coupon_2y.toml")
CURVE = str(BONDS / "curve_cny_par.toml")

KEYS = {"clean_price", "dirty_price", "accrued_interest", "yield", "macaulay_duration",
        "modified_duration", "convexity", "dv01"}

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["price", *args])


def run_json(*args) -> dict:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("path", [ANNUAL, EXCHANGE, AMORT, ZERO])
def test_every_example_prices_from_a_yield(path):
    out = run_json(path, "--settle", "2025-09-15", "--yield", "2.1%")
    assert KEYS <= set(out)
    assert out["yield"] == pytest.approx(0.021, abs=1e-15)
    assert out["clean_price"] == pytest.approx(out["dirty_price"] - out["accrued_interest"])
    assert out["currency"] == "CNY"
    assert "z_spread" not in out


@pytest.mark.parametrize("path", sorted(p for p in BONDS.glob("*.toml") if not p.name.startswith(("revenue", "curve", "loan"))),
                         ids=lambda p: p.stem)
def test_every_shipped_bond_file_reads_with_its_structure_tables(path):
    r = runner.invoke(app, ["schedule", str(path), "--json"])
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and {"accrual_end", "payment_date"} <= set(rows[0])


def test_yield_as_decimal_equals_percent_and_price_roundtrip():
    a = run_json(ANNUAL, "--settle", "2025-09-15", "--yield", "0.021")
    b = run_json(ANNUAL, "--settle", "2025-09-15", "--yield", "2.1%")
    assert a["dirty_price"] == b["dirty_price"]
    c = run_json(ANNUAL, "--settle", "2025-09-15", "--price", repr(a["clean_price"]))
    assert c["yield"] == pytest.approx(0.021, abs=1e-12)
    d = run_json(ANNUAL, "--settle", "2025-09-15", "--price", repr(a["dirty_price"]), "--dirty")
    assert d["yield"] == pytest.approx(0.021, abs=1e-12)


def test_amortising_bond_reports_absolute_values():
    out = run_json(AMORT, "--settle", "2026-03-02", "--yield", "3.1%")
    assert out["outstanding_face"] == 400_000_000
    assert out["dirty_value"] == pytest.approx(out["dirty_price"] * 4_000_000)
    assert out["dv01_value"] == pytest.approx(out["dv01"] * 4_000_000)


def test_curve_spread_and_z_spread():
    priced = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE, "--spread", "60bp")
    assert priced["z_spread"] == pytest.approx(0.006)
    back = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE,
                    "--price", repr(priced["clean_price"]))
    assert back["z_spread"] == pytest.approx(0.006, abs=1e-10)
    assert back["yield"] == pytest.approx(priced["yield"], abs=1e-10)
    flat = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE)
    assert flat["z_spread"] == 0.0 and flat["dirty_price"] > priced["dirty_price"]


def test_hazard_rate_price():
    free = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE)
    risky = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE,
                     "--hazard", "2%", "--recovery", "40%")
    assert risky["hazard"] == 0.02 and risky["recovery"] == 0.4
    assert risky["dirty_price"] < free["dirty_price"]
    zero = run_json(ANNUAL, "--settle", "2025-06-30", "--curve", CURVE,
                    "--hazard", "0", "--recovery", "0.4")
    assert zero["dirty_price"] == pytest.approx(free["dirty_price"], abs=1e-12)


def test_table_output():
    r = run(AMORT, "--settle", "2026-03-02", "--yield", "3.1%")
    assert r.exit_code == 0
    for word in ("clean price", "modified duration", "DV01", "outstanding face", "CNY"):
        assert word in r.stdout
    r = run(ANNUAL, "--settle", "2029-01-10", "--yield", "2%")  # final period
    assert r.exit_code == 0 and "simple yield" in r.stdout


def test_schedule_command():
    r = runner.invoke(app, ["schedule", AMORT, "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.stdout)
    assert len(rows) == 7
    assert sum(row["principal"] for row in rows) == pytest.approx(500_000_000)
    assert rows[3]["coupon"] == pytest.approx(400_000_000 * 0.041)
    assert runner.invoke(app, ["schedule", ZERO]).exit_code == 0


# --------------------------------------------------------------------------- errors

def _write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "bond.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


GOOD = """face = 100
coupon_rate = 0.03
frequency = 1
issue_date = 2024-01-10
maturity_date = 2027-01-10
day_count = "ACT/ACT-ICMA"
"""


def _one_line_error(r, *fragments):
    assert r.exit_code == 2
    assert r.exception is None or isinstance(r.exception, SystemExit)
    err = r.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    for f in fragments:
        assert f in err, err
    return err


def test_missing_key(tmp_path):
    path = _write(tmp_path, GOOD.replace("coupon_rate = 0.03\n", ""))
    _one_line_error(run(path, "--settle", "2025-01-10", "--yield", "3%"),
                    path, "key coupon_rate", 'missing required key "coupon_rate"')


def test_bad_day_count_suggests_valid_ones(tmp_path):
    path = _write(tmp_path, GOOD.replace('"ACT/ACT-ICMA"', '"ACT/365"'))
    err = _one_line_error(run(path, "--settle", "2025-01-10", "--yield", "3%"),
                          path, "key day_count", 'unknown day count "ACT/365"')
    for name in ("ACT/ACT-ICMA", "ACT/365F", "ACT/365-NL", "ACT/360", "30/360"):
        assert name in err


def test_settle_after_maturity(tmp_path):
    path = _write(tmp_path, GOOD)
    _one_line_error(run(path, "--settle", "2027-02-01", "--yield", "3%"),
                    "--settle", "after maturity_date 2027-01-10")


def test_malformed_toml_and_missing_file(tmp_path):
    path = _write(tmp_path, GOOD + "name = 'unterminated\n")
    _one_line_error(run(path, "--settle", "2025-01-10", "--yield", "3%"), "malformed TOML")
    _one_line_error(run(str(tmp_path / "nope.toml"), "--settle", "2025-01-10", "--yield", "3%"),
                    "bond file not found")


@pytest.mark.parametrize("args, fragment", [
    (["--yield", "3"], 'did you mean "3%"'),
    (["--yield", "abc"], 'cannot read "abc" as a rate'),
    (["--yield", "3%", "--price", "100"], "--yield cannot be combined"),
    ([], "nothing to price from"),
    (["--price", "100", "--dirty", "--spread", "1%"], "--spread needs --curve"),
    (["--curve", CURVE, "--hazard", "2%"], "--hazard and --recovery go together"),
    (["--price", "-5"], "price must be positive"),
    (["--yield", "3%", "--dirty"], "--dirty applies to --price only"),
])
def test_usage_errors(args, fragment):
    _one_line_error(run(ANNUAL, "--settle", "2025-09-15", *args), fragment)


def test_bad_settle_date_and_curve_before_settle():
    _one_line_error(run(ANNUAL, "--settle", "15/09/2025", "--yield", "3%"), "YYYY-MM-DD")
    _one_line_error(run(ANNUAL, "--settle", "2025-01-10", "--curve", CURVE),
                    "before the curve date 2025-06-30")


def test_parse_rate_forms():
    assert parse_rate("0.03", "--yield") == 0.03
    assert parse_rate("3%", "--yield") == pytest.approx(0.03)
    assert parse_rate(" 3.5 % ", "--yield") == pytest.approx(0.035)
    assert parse_rate("85bp", "--spread", allow_bp=True) == pytest.approx(0.0085)
    assert parse_rate("-0.2%", "--yield") == pytest.approx(-0.002)
    assert parse_rate("1", "--recovery", inclusive=True) == 1.0
    with pytest.raises(InputError):
        parse_rate("85bp", "--yield")


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("option", ["--yield", "--price", "--spread", "--hazard", "--recovery"])
def test_hostile_numbers_exit_2_in_one_line(option, value):
    extra = ["--yield", "2%"] if option in ("--spread", "--hazard", "--recovery") else []
    if option == "--recovery":
        extra += ["--hazard", "1%"]
    r = run(ANNUAL, "--settle", "2025-09-15", *extra, option, value)
    assert r.exit_code == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) < 400, lines
