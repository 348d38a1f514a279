"""Properties: caps never let a side pay more than agreed, and payments do not depend on the unit a series is written in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.io.capacity_tables import read_standards
from gep.io.files import read_toml
from gep.monitoring.compensation import apply_caps, evaluate, parse_agreement
from gep.monitoring.compliance import limit_table
from gep.monitoring.series import normalise
from tests.monitoring.helpers import index_agreement, monthly, raw

amounts = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=12)
cap = st.one_of(st.just(np.inf), st.floats(0, 2e6))


@given(amounts, cap, cap, cap)
@settings(max_examples=200, deadline=None)
def test_caps_bound_every_side(signed, per_period, total_up, total_down):
    net = apply_caps(np.array(signed), {"per_period": per_period, "total_upstream": total_up, "total_downstream": total_down})
    s = np.array(signed)
    assert np.all(np.abs(net) <= np.minimum(np.abs(s), per_period) + 1e-6)        # never more than owed, nor than the period cap
    assert np.all((net == 0) | (np.sign(net) == np.sign(s)))                       # never in the other direction
    assert np.maximum(net, 0).sum() <= total_down + 1e-6 and np.maximum(-net, 0).sum() <= total_up + 1e-6
    if per_period == total_up == total_down == np.inf:
        assert net == pytest.approx(s)


@given(st.floats(0.2, 3.0), st.floats(0.2, 3.0))
@settings(max_examples=25, deadline=None)
def test_payments_do_not_depend_on_the_unit(tmp_path_factory, f2021, f2022):
    path = index_agreement(tmp_path_factory.mktemp("u") / "a.toml")
    ag = parse_agreement(read_toml(path), str(path))
    limits = limit_table(read_standards())
    mg = monthly("S1", 2021, {"CODMn": 4 * f2021, "TP": 0.1 * f2021}) + monthly("S1", 2022, {"CODMn": 4 * f2022, "TP": 0.1 * f2022})
    ug = [(s, t, p, repr(float(v) * 1000), "ug/L", fl) for s, t, p, v, _, fl in mg]
    a = evaluate(normalise(raw(mg)), ag, limits)["payments"]
    b = evaluate(normalise(raw(ug)), ag, limits)["payments"]
    assert a["score"].to_numpy() == pytest.approx(b["score"].to_numpy(), rel=1e-12)
    assert a["amount_fen"].tolist() == b["amount_fen"].tolist()
