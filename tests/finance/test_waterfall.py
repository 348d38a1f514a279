"""Reserve account (DSRA), cash sweep and standard errors of the means, worked by hand."""

from datetime import date

import numpy as np
import pytest

from gep.errors import InputError
from gep.finance import waterfall as wf
from gep.finance.coverage import coverage, debt_service, max_principal, mean_and_se
from gep.finance.schedule import Bond

# CNY 1000, 5 % annual, 4 years, bullet: debt service 50, 50, 50, 1050
BOND = Bond(face=1000.0, coupon_rate=0.05, frequency=1, issue_date=date(2021, 1, 15),
            maturity_date=date(2025, 1, 15), day_count="ACT/ACT-ICMA")
DS = debt_service(BOND)


def test_mean_and_se():
    x = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, np.nan], [6.0, 8.0]])
    mean, se = mean_and_se(x)
    assert mean[0] == 3.0 and se[0] == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2)
    assert mean[1] == 6.0 and se[1] == pytest.approx(np.std([4, 8], ddof=1) / np.sqrt(2))


def test_reserve_targets_six_and_twelve_months():
    t6 = wf.reserve_targets(DS.periods.end, DS.amount, BOND.issue_date, 6)
    assert t6.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0]  # annual payments: nothing due within 6 months
    t12 = wf.reserve_targets(DS.periods.end, DS.amount, BOND.issue_date, 12)
    assert t12.tolist() == [50.0, 50.0, 50.0, 1050.0, 0.0]


def test_waterfall_by_hand():
    # reserve = 12 months of debt service, funded at issue (50); sweep 50 % of what is left
    w = wf.Waterfall(wf.Reserve(target_months=12, initial="target"), wf.Sweep(share=0.5))
    cfads = np.array([[120.0, 30.0, 200.0, 1100.0]])
    f = wf.run(cfads, DS, w)
    # period 1: pay 50, surplus 70; target 50 already held; sweep 35 of the 950 left after... (bullet: 1000 left)
    assert f.debt_service[0, 0] == 50 and f.draw[0, 0] == 0 and f.topup[0, 0] == 0
    assert f.sweep[0, 0] == 35.0 and f.distribution[0, 0] == 35.0
    # principal now 965: coupons 48.25, final 965 + 48.25; targets scale by 0.965
    assert f.outstanding[0, 1] == pytest.approx(965.0)
    assert f.debt_service[0, 1] == pytest.approx(48.25)
    # period 2: cash 30 < 48.25: draw 18.25 from the 50 reserve, balance 31.75, no shortfall
    assert f.draw[0, 1] == pytest.approx(18.25) and f.shortfall[0, 1] == 0.0
    assert f.balance[0, 1] == pytest.approx(31.75)
    # period 3: cash 200 - 48.25 = 151.75; top up to target 0.965 x 1050 = 1013.25: all 151.75 goes in
    assert f.topup[0, 2] == pytest.approx(151.75) and f.sweep[0, 2] == 0.0
    assert f.balance[0, 2] == pytest.approx(183.5)
    # period 4: due 1013.25, cash 1100 pays it; target 0: the whole reserve 183.5 is released
    assert f.release[0, 3] == pytest.approx(183.5) and f.balance[0, 3] == 0.0
    assert f.distribution[0, 3] == pytest.approx(1100 - 1013.25 + 183.5)
    assert f.shortfall.sum() == 0.0


def test_shortfall_when_the_reserve_runs_dry():
    w = wf.Waterfall(wf.Reserve(target_months=12, initial=20.0))
    f = wf.run(np.array([[10.0, 50.0, 50.0, 1050.0]]), DS, w)
    # period 1: due 50, cash 10, reserve 20: shortfall 20
    assert f.draw[0, 0] == 20.0 and f.shortfall[0, 0] == pytest.approx(20.0)


def test_sizing_with_a_reserve_by_hand():
    # one deterministic path; without reserve the binding period is the last: 1100 / 1.05 = 1047.62
    cfads = np.array([[60.0, 60.0, 60.0, 1100.0]])
    plain = max_principal(cfads, DS, 0.0)
    assert plain.max_principal == pytest.approx(min(60 / 0.05, 1100 / 1.05))
    # 12-month reserve funded from the proceeds (0.05P, the next coupon): it is at target after
    # periods 1-2; after period 3 the target is the balloon 1.05P and the surplus 60 - 0.05P tops
    # it up to 60; at maturity 1100 + 60 >= 1.05P, so P = 1160 / 1.05 = 1104.76
    w = wf.Waterfall(wf.Reserve(target_months=12, initial="target"))
    p = wf.max_scale(cfads, DS, w)[0] * 1000
    assert p == pytest.approx(1160 / 1.05, rel=1e-9)
    assert wf.run(cfads, DS, w, p / 1000).shortfall.max() <= 1e-9 * p
    assert wf.run(cfads, DS, w, p * 1.0001 / 1000).shortfall.max() > 0
    assert p > plain.max_principal  # the reserve carries cash to the balloon payment
    cov = coverage(DS, cfads, sizing_threshold=0.0, waterfall=w)
    assert cov.sizing.max_principal == pytest.approx(p)
    # reserve funded from proceeds at issue: 12 months' debt service 0.05 P
    assert cov.sizing.as_dict()["net_proceeds_cny"] == pytest.approx(p - 0.05 * p)


def test_waterfall_keys_are_validated():
    assert not wf.waterfall_from_dict({}, "b.toml")
    w = wf.waterfall_from_dict({"reserve": {"target_months": 6}, "sweep": {"share": 0.25}}, "b.toml")
    assert w.reserve.initial == "target" and w.sweep.share == 0.25
    with pytest.raises(InputError, match='unknown key "months"'):
        wf.waterfall_from_dict({"reserve": {"months": 6}}, "b.toml")
    with pytest.raises(InputError, match="share must be a number in"):
        wf.waterfall_from_dict({"sweep": {"share": 1.5}}, "b.toml")
