"""`gep capacity reach|lake|models`: JSON output, unit parsing, error paths (one stderr line, exit 2)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from gep.cli.capacity import app, parse_quantity
from gep.errors import UnitError
from gep.units import Q_
from tests.cli.hostile import HOSTILE

runner = CliRunner()

REACH = ["reach", "--model", "1d-mid", "--pollutant", "COD", "--class", "III", "--flow", "10", "--effluent-flow", "0.5",
         "--upstream", "12", "--decay", "0.2/d", "--velocity", "0.3", "--length", "10km"]


def run(args):
    return runner.invoke(app, args)


def ok_json(args) -> dict:
    res = run(args + ["--json"])
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def test_reach_json_hand_number():
    # COD class III river -> Cs = 20 mg/L; a = (0.2/86400) * 10000 / 0.3 = 0.0771605
    # W = 31.536 * (20 * 10.5 * e^(a/2) - 12 * 10 * e^(-a/2)) = 3241.9521 t/yr
    out = ok_json(REACH)
    a = 0.2 / 86400 * 10000 / 0.3
    assert out["capacity_t_per_yr"] == pytest.approx(31.536 * (210 * math.exp(a / 2) - 120 * math.exp(-a / 2)), rel=1e-12)
    assert out["capacity_t_per_yr"] == pytest.approx(3241.9521391, rel=1e-9)
    assert out["model"] == "1d-mid"
    assert out["target"]["value"] == 20.0 and out["target"]["unit"] == "mg/L"
    assert out["target"]["set"]["id"] == "gb3838-2002"
    assert out["inputs"]["length"] == {"value": 10000.0, "unit": "m"}
    assert out["inputs"]["decay"] == {"value": 0.2, "unit": "1/d"}
    assert out["inputs"]["flow"] == {"value": 10.0, "unit": "m**3/s"}
    assert out["deficit"] is False


def test_units_on_flags_give_the_same_number():
    base = ok_json(REACH)["capacity_t_per_yr"]
    args = list(REACH)
    args[args.index("0.2/d")] = f"{0.2 / 86400!r}/s"
    args[args.index("10km")] = "10000 m"
    args[args.index("10")] = "10 m**3/s"
    args[args.index("12")] = "0.012 g/L"
    assert ok_json(args)["capacity_t_per_yr"] == pytest.approx(base, rel=1e-12)


def test_temperature_celsius_and_kelvin_agree():
    c = ok_json(REACH + ["--temperature", "25", "--theta", "1.047"])["capacity_t_per_yr"]
    k = ok_json(REACH + ["--temperature", "298.15K", "--theta", "1.047"])["capacity_t_per_yr"]
    # k_25 = 0.2 * 1.047^5 = 0.2516 /d -> 3346.9310 t/yr
    assert c == pytest.approx(3346.9310296, rel=1e-9)
    assert k == pytest.approx(c, rel=1e-12)


def test_zero_d_with_target_and_deficit():
    # Cs = 10 (given), C0 = 12: W = 31.536 * (10 - 12) * (10 + 0.5) = -662.256 t/yr
    out = ok_json(["reach", "--model", "0d", "--pollutant", "TN", "--target", "10", "--flow", "10",
                   "--effluent-flow", "0.5", "--upstream", "12", "--decay", "0.2/d"])
    assert out["capacity_t_per_yr"] == pytest.approx(-662.256, rel=1e-12)
    assert out["deficit"] is True
    assert out["target"]["source"] == "--target"
    assert out["ignored"] == ["--decay"]


def test_zhejiang_b_recorded():
    out = ok_json(["reach", "--model", "zhejiang", "--pollutant", "COD", "--class", "III", "--flow", "10",
                   "--upstream", "12", "--decay", "0.2/d", "--velocity", "0.3", "--length", "10km", "--b", "0.8"])
    assert out["capacity_t_per_yr"] == pytest.approx(2330.7719391, rel=1e-9)
    assert out["inputs"]["b"] == {"value": 0.8, "unit": "dimensionless"}


def test_lake_dillon_json():
    # TP class II lake -> 0.025 mg/L; V = 2e7 m3, A = 5 km2, Q = 2 m3/s: qs = 12.6144 m/yr, R_KD = 0.523196
    # W = 0.025 * 4 * 3.1536 / (1 - 0.523196) * 5e6 g/yr = 3.3070 t/yr
    out = ok_json(["lake", "--model", "dillon-kd", "--pollutant", "TP", "--class", "II", "--volume", "2e7",
                   "--area", "5 km**2", "--outflow", "2"])
    assert out["target"]["value"] == 0.025
    assert out["capacity_t_per_yr"] == pytest.approx(0.025 * 4 * 3.1536 / (1 - 0.5231960375) * 5.0, rel=1e-9)
    lm = ok_json(["lake", "--model", "dillon-lm", "--pollutant", "TP", "--class", "II", "--volume", "2e7",
                  "--area", "500 ha", "--outflow", "2", "--depth", "4"])
    assert lm["capacity_t_per_yr"] == pytest.approx(0.025 * 4 * 3.1536 / (1 - 1 / (1 + math.sqrt(3.1536))) * 5.0, rel=1e-9)


def test_lake_mixed_json():
    # TP class III lake 0.05 mg/L: W = 31.536 * (0.05 * (2 + 0.01/86400 * 2e7) - 0.08 * 2) = 1.75784 t/yr
    out = ok_json(["lake", "--model", "mixed", "--pollutant", "TP", "--class", "III", "--volume", "2e7",
                   "--outflow", "2", "--upstream", "0.08", "--decay", "0.01/d"])
    assert out["capacity_t_per_yr"] == pytest.approx(1.75784, rel=1e-9)


def test_rich_table_without_json():
    res = run(REACH)
    assert res.exit_code == 0
    assert "capacity W" in res.stdout and "3,241.952" in res.stdout


def test_models_command():
    res = run(["models", "--json"])
    assert res.exit_code == 0
    names = {m["name"] for m in json.loads(res.stdout)}
    assert {"0d", "1d-downstream", "1d-head", "1d-mid", "1d-outfall", "zhejiang", "mixed", "dillon-kd", "dillon-lm"} == names


@pytest.mark.parametrize(
    "change,needle",
    [
        (("--flow", "10km"), "--flow"),
        (("--decay", "0.2 furlong/d"), "--decay"),
        (("--length", "ten"), "--length"),
        (("--model", "2d"), "--model"),
        (("--pollutant", "TN"), "TN"),
        (("--pollutant", "DO"), "lower bound"),
        (("--class", "VI"), "--class"),
        (("--velocity", "0"), "velocity"),
        (("--decay", "0.2 blorps"), "blorps"),
    ],
)
def test_error_paths_one_line_exit_2(change, needle):
    args = list(REACH)
    i = args.index(change[0])
    args[i + 1] = change[1]
    res = run(args + ["--json"])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert needle in lines[0]
    assert "Traceback" not in res.stderr


def test_missing_model_inputs_named():
    res = run(["reach", "--model", "1d-head", "--pollutant", "COD", "--class", "III", "--flow", "10", "--upstream", "12"])
    assert res.exit_code == 2
    assert "--decay, --velocity, --length" in res.stderr


def test_temperature_without_theta_is_an_error():
    res = run(REACH + ["--temperature", "25"])
    assert res.exit_code == 2
    assert "theta" in res.stderr


def test_no_class_no_target():
    res = run(["reach", "--model", "0d", "--pollutant", "COD", "--flow", "10", "--upstream", "12"])
    assert res.exit_code == 2
    assert "--class" in res.stderr


def test_lake_model_on_reach_is_rejected():
    res = run(["reach", "--model", "dillon-kd", "--pollutant", "COD", "--class", "III", "--flow", "1", "--upstream", "1"])
    assert res.exit_code == 2
    assert "unknown river model" in res.stderr


@pytest.mark.parametrize(
    "text,unit,expected",
    [("10", "m**3/s", Q_(10, "m**3/s")), ("10km", "m", Q_(10, "km")), ("0.2/d", "1/d", Q_(0.2, "1/d")),
     ("10 m**3/s", "m**3/s", Q_(10, "m**3/s")), ("25 degC", "degC", Q_(25, "degC")), ("1e-6 1/s", "1/d", Q_(1e-6, "1/s")),
     (".5", "m", Q_(0.5, "m"))],
)
def test_parse_quantity(text, unit, expected):
    q = parse_quantity(text, unit, "--x")
    assert q.units == expected.units and q.magnitude == pytest.approx(expected.magnitude)


def test_parse_quantity_rejects_wrong_dimension():
    with pytest.raises(UnitError, match="--x"):
        parse_quantity("3 kg", "m", "--x")


def test_dillon_only_for_nutrients_and_class_normalised():
    res = run(["lake", "--model", "dillon-lm", "--pollutant", "COD", "--class", "II", "--volume", "2e7",
               "--area", "5 km**2", "--outflow", "2"])
    assert res.exit_code == 2
    assert "TP, TN only" in res.stderr
    out = ok_json(["lake", "--model", "dillon-lm", "--pollutant", "tp", "--class", "2", "--volume", "2e7",
                   "--area", "5 km**2", "--outflow", "2"])
    assert out["pollutant"] == "TP" and out["class"] == "II"


@pytest.mark.parametrize("value", HOSTILE + ["1 m**3/s*10**10**10", "1 kg*1e9999999"])
@pytest.mark.parametrize("option", ["--flow", "--upstream", "--length", "--theta"])
def test_hostile_numbers_exit_2_in_one_line(option, value):
    args = [a for a in REACH]
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += ["--temperature", "25", option, value]
    res = run(args)
    assert res.exit_code == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) < 400, lines
