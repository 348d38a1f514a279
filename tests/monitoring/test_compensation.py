"""Horizontal compensation: index, class and exceedance formulas, tiers both ways, caps, baselines (hand-worked)."""

from __future__ import annotations

import numpy as np
import pytest

from gep.errors import GepError, InputError, ScenarioError
from gep.io.capacity_tables import read_standards
from gep.io.files import read_toml
from gep.monitoring.compensation import apply_caps, evaluate, parse_agreement
from gep.monitoring.compliance import limit_table
from gep.monitoring.series import normalise
from tests.monitoring.helpers import index_agreement, monthly, raw

LIMITS = limit_table(read_standards())


def agreement(path):
    return parse_agreement(read_toml(path), str(path))


def series(rows):
    return normalise(raw(rows, "series.csv"))


def test_index_formula_both_ways(tmp_path):
    ag = agreement(index_agreement(tmp_path / "a.toml"))
    rows = monthly("S1", 2021, {"CODMn": 3.6, "TP": 0.08}) + monthly("S1", 2022, {"CODMn": 4.8, "TP": 0.13})
    res = evaluate(series(rows), ag, LIMITS)
    pay = res["payments"].set_index("period")
    # 2021: P = 0.9 * (0.5 * 3.6/4 + 0.5 * 0.08/0.1) = 0.9 * (0.45 + 0.40) = 0.765 <= 1: downstream pays 100
    assert pay.loc["2021", "score"] == pytest.approx(0.765)
    assert pay.loc["2021", "payer"] == "downstream" and pay.loc["2021", "payer_account"] == "down" and pay.loc["2021", "payee_account"] == "up"
    assert pay.loc["2021", "amount_cny"] == pytest.approx(100.0) and pay.loc["2021", "net_to_upstream_cny"] == pytest.approx(100.0)
    # 2022: P = 0.9 * (0.5 * 1.2 + 0.5 * 1.3) = 1.125 > 1: upstream pays 200 + 1000 * 0.125 = 325
    assert pay.loc["2022", "score"] == pytest.approx(1.125)
    assert pay.loc["2022", "payer"] == "upstream" and pay.loc["2022", "amount_cny"] == pytest.approx(325.0)
    assert pay.loc["2022", "net_to_upstream_cny"] == pytest.approx(-325.0) and pay.loc["2022", "amount_fen"] == 32500
    assert list(pay["tier"]) == [1, 2] and list(pay["year"]) == [2021, 2022]


def test_caps_per_period_and_running_totals():
    net = apply_caps(np.array([100.0, -325.0, -300.0, 50.0]), {"per_period": 310.0, "total_upstream": 500.0, "total_downstream": 120.0})
    # per period: 100, -310, -300, 50; upstream running total 310, 610 -> capped 500: pays 310 then 190;
    # downstream running total 100, 150 -> capped 120: pays 100 then 20
    assert net == pytest.approx([100.0, -310.0, -190.0, 20.0])


def test_baseline_from_a_window(tmp_path):
    path = index_agreement(tmp_path / "a.toml", extra="baseline_period = { start = 2019-01-01, end = 2019-12-31 }", baseline="", tp_baseline="",
                           period="start = 2021-01-01\nend = 2021-12-31")
    rows = (monthly("S1", 2019, {"CODMn": 5.0, "TP": 0.2}, range(1, 7)) + monthly("S1", 2019, {"CODMn": 3.0, "TP": 0.1}, range(7, 13))
            + monthly("S1", 2021, {"CODMn": 4.0, "TP": 0.15}))
    res = evaluate(series(rows), agreement(path), LIMITS)
    base = res["baselines"].set_index("parameter")["baseline"]
    assert base["CODMn"] == pytest.approx(4.0) and base["TP"] == pytest.approx(0.15)   # the 2019 means
    assert res["payments"]["score"].iloc[0] == pytest.approx(0.9)                      # 0.9 * (0.5 + 0.5)


def test_missing_baseline_is_refused(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        agreement(index_agreement(tmp_path / "a.toml", tp_baseline=""))
    assert "parameter TP has no baseline" in exc.value.line() and "[parameters.TP] baseline" in exc.value.line()


def test_baseline_window_without_data(tmp_path):
    path = index_agreement(tmp_path / "a.toml", extra="baseline_period = { start = 2015-01-01, end = 2015-12-31 }", tp_baseline="")
    rows = monthly("S1", 2021, {"CODMn": 4.0, "TP": 0.1}) + monthly("S1", 2022, {"CODMn": 4.0, "TP": 0.1})
    with pytest.raises(InputError, match="no baseline for TP: section S1 has no data from 2015-01-01 to 2015-12-31"):
        evaluate(series(rows), agreement(path), LIMITS)


def test_a_period_without_data_is_refused(tmp_path):
    ag = agreement(index_agreement(tmp_path / "a.toml"))
    rows = monthly("S1", 2021, {"CODMn": 4.0, "TP": 0.1}) + monthly("S1", 2022, {"CODMn": 4.0})
    with pytest.raises(InputError) as exc:
        evaluate(series(rows), ag, LIMITS)
    assert "section S1, TP: no data in period 2022" in exc.value.line()


def _class_agreement(path, tiers: str, formula: str = "class", extra: str = "", end: str = "2022-12-31"):
    path.write_text(f"""
[agreement]
id = "t"
formula = "{formula}"
sections = ["S1"]
[period]
start = 2021-01-01
end = {end}
length = "{'month' if formula == 'exceedance' else 'year'}"
[upstream]
account = "up"
[downstream]
account = "down"
[parameters.NH3-N]
[parameters.TP]
{extra}
{tiers}
""", encoding="utf-8")
    return agreement(path)


def test_class_formula(tmp_path):
    ag = _class_agreement(tmp_path / "c.toml", """
[[payment]]
upto = "II"
payer = "downstream"
amount = "40 CNY"
[[payment]]
upto = "III"
payer = "downstream"
amount = "20 CNY"
[[payment]]
payer = "upstream"
amount = "40 CNY"
""")
    rows = monthly("S1", 2021, {"NH3-N": 0.4, "TP": 0.15}) + monthly("S1", 2022, {"NH3-N": 1.2, "TP": 0.05})
    pay = evaluate(series(rows), ag, LIMITS)["payments"].set_index("period")
    # 2021: NH3-N 0.4 (II), TP 0.15 (III): class III -> downstream pays 20; 2022: NH3-N 1.2 (IV) -> upstream pays 40
    assert list(pay["score"]) == [3.0, 4.0] and list(pay["net_to_upstream_cny"]) == [20.0, -40.0]


def test_exceedance_formula_steps_caps_and_rewards(tmp_path):
    ex = """
[exceedance]
target_class = "III"
step = 0.5
amount_per_step = "50 CNY"
cap_per_parameter = "120 CNY"
reward_per_class = "30 CNY"
"""
    ag = _class_agreement(tmp_path / "e.toml", "", formula="exceedance", extra=ex, end="2021-02-28")  # January and February 2021
    rows = [("S1", "2021-01-10", "NH3-N", "1.2", "mg/L", ""), ("S1", "2021-01-10", "TP", "0.5", "mg/L", ""),
            ("S1", "2021-02-10", "NH3-N", "0.4", "mg/L", ""), ("S1", "2021-02-10", "TP", "0.08", "mg/L", "")]
    pay = evaluate(series(rows), ag, LIMITS)["payments"].set_index("period")
    # January: NH3-N (1.2 - 1)/1 = 0.2 -> ceil(0.4) = 1 step = 50; TP (0.5 - 0.2)/0.2 = 1.5 -> 3 steps = 150, capped 120;
    # penalty 170, class worse than V: no reward -> upstream pays 170
    assert pay.loc["2021-01", "penalty_cny"] == pytest.approx(170.0) and pay.loc["2021-01", "net_to_upstream_cny"] == pytest.approx(-170.0)
    # February: NH3-N 0.4 and TP 0.08 are class II, one better than III -> downstream pays 30
    assert pay.loc["2021-02", "reward_cny"] == pytest.approx(30.0) and pay.loc["2021-02", "net_to_upstream_cny"] == pytest.approx(30.0)


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.replace('formula = "index"', 'formula = "magic"'), "unknown formula"),
    (lambda t: t.replace("[parameters.TP]", "[parameters.PX]"), "[parameters.PX]: unknown parameter"),
    (lambda t: t.replace('account = "up"', 'account = "up county"'), "account id 'up county' is not valid"),
    (lambda t: t.replace("k0 = 0.9", "k0 = 0.9\nk1 = 2"), "[index] k1: unknown key"),
    (lambda t: t.replace('[[payment]]\npayer = "upstream"', '[[payment]]\nupto = 0.5\npayer = "none"\n[[payment]]\npayer = "upstream"'), "increasing order"),
    (lambda t: t.replace('amount = "100 CNY"', 'amount = "100 kg"'), "amount"),
])
def test_malformed_agreements(tmp_path, edit, words):
    path = index_agreement(tmp_path / "a.toml")
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(GepError) as exc:
        agreement(path)
    assert words in exc.value.line()
