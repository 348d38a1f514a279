"""The multi-affine model: exact where a function is affine in each variable or its inverse, refused where not;
the units of services, the rows they read, and the price-index factor per sample."""

from __future__ import annotations

import numpy as np
import pytest

from gep.accounting.valuation import index_factor
from gep.uncertainty import propagation as prop
from gep.uncertainty.space import Variable

LOW, HIGH = np.array([1.0, 2.0, 0.5, 10.0]), np.array([3.0, 4.0, 1.5, 20.0])


def _f(theta):
    a, b, c, d = theta
    # products, a divide, and an element that only one variable moves
    return np.array([a * b / c + d, 3 * a - 2 * d, d / c, 7.0])


def test_a_multi_affine_function_is_fitted_exactly():
    m = prop.fit(_f, LOW, HIGH, [slice(0, 4)], list("abcd"))
    assert list(m.inverse) == [False, False, True, False]
    rng = np.random.default_rng(0)
    theta = LOW + rng.random((50, 4)) * (HIGH - LOW)
    want = np.array([_f(t) for t in theta])
    assert np.allclose(m.predict(theta), want, rtol=1e-12, atol=0)
    assert (0, 1, 2) in m.terms and (0, 3) not in m.terms  # a·b/c is a triple term, a and d do not interact
    red = m.predict(theta, np.ones((4, 1)))
    assert np.allclose(red[:, 0], want.sum(axis=1), rtol=1e-12)


def test_a_smooth_variable_gets_a_chebyshev_curve_exact_to_the_tolerance():
    # Rh-like: a constant inside an exponential and another inside a logarithm, each times affine ones
    def f(t):
        a, b, c, d = t
        return np.array([a * np.exp(0.5 * b) + d * np.log(3 * c + 1), 2 * d, 5.0])

    m = prop.fit(f, LOW, HIGH, [slice(0, 1), slice(1, 2), slice(2, 3)], list("abcd"))
    assert set(m.nodes) == {1, 2} and (0, 1) in m.curves and (2, 3) in m.curves and (1, 2) not in m.terms
    assert set(m.checked["chebyshev_nodes"]) == {"b", "c"} and all(n in prop.NODES for n in m.checked["chebyshev_nodes"].values())
    theta = LOW + np.random.default_rng(1).random((200, 4)) * (HIGH - LOW)
    want = np.array([f(t) for t in theta])
    assert np.allclose(m.predict(theta), want, rtol=1e-11, atol=0)
    assert np.allclose(m.predict(theta, np.ones((3, 1)))[:, 0], want.sum(axis=1), rtol=1e-11, atol=0)
    assert np.array_equal(prop.lobatto(1.0, 3.0, 9)[[0, 4, 8]], [3.0, 2.0, 1.0])  # the ends and the base are nodes
    assert np.allclose(prop.lobatto(1.0, 3.0, 9), prop.lobatto(1.0, 3.0, 17)[::2], rtol=0, atol=1e-15)  # nested: 17 reuses the 9


def test_unaffected_rows_of_a_parameter_are_screened_together():
    calls = []

    def f(t):
        calls.append(t.copy())
        return np.array([t[0] * 2.0, 1.0])  # the four rows of p[...] move nothing

    m = prop.fit(f, np.array([1.0, 0, 0, 0, 0]), np.array([2.0, 1, 1, 1, 1]), [slice(0, 2)], ["a", "p[1]", "p[2]", "p[3]", "p[4]"])
    assert set(m.terms) == {(), (0,)}
    assert len(calls) == 1 + 2 + 2 + 4  # base, the group at both ends, a at both ends, the four check points


@pytest.mark.parametrize("f, why", [
    (lambda t: np.array([np.exp(t[0] * t[1])]), "a and b: two variables the output is not affine in interact"),
    (lambda t: np.array([abs(t[0] - 1.7) + t[1]]), "a: the output is not affine in it .*nor smooth enough"),  # a kink
    (lambda t: np.array([min(t[0] + t[1], 6.5)]), "threshold"),  # a cap that binds inside the box only jointly
])
def test_what_is_not_multi_affine_is_refused(f, why):
    with pytest.raises(prop.NotMultiAffine, match=why):
        prop.fit(f, LOW[:2], HIGH[:2], [slice(0, 1)], ["a", "b"])


def test_units_group_a_service_with_the_services_its_method_needs():
    units = prop.units_of(("water_conservation", "oxygen_release", "recreation"),
                          {"water_conservation": "water_balance", "oxygen_release": "nep", "carbon_sequestration": "nep_rh", "recreation": "revenue"})
    assert [(u.services, u.reported) for u in units] == [
        (("water_conservation",), ("water_conservation",)),
        (("carbon_sequestration", "oxygen_release"), ("oxygen_release",)),
        (("recreation",), ("recreation",)),
    ]


def test_the_recorder_notes_the_rows_a_service_reads(coef, make_landscape):
    ls = make_landscape([[211, 11]], [[1, 1]], {"precipitation": (1200.0, "mm/yr"), "et": (700.0, "mm/yr")})
    rec = prop.recording(coef)
    unit = prop.Unit(("water_conservation",), ("water_conservation",))
    y, blocks = prop.evaluate(unit, rec, ls, {"water_conservation": "water_balance"}, coef.profile["switches"])
    assert ("water_conservation.runoff_coefficient", "211") in rec.log and ("price.reservoir_storage", "") in rec.log
    assert ("water_conservation.runoff_coefficient", "212") not in rec.log  # class not in the landscape
    # one component, in as many blocks as its parts (rows of different confidence are split)
    assert {b.component for b in blocks} == {"water_storage"} and y.size == sum(b.size + 1 for b in blocks)  # quantities and a unit value per block


def test_index_factors_equal_the_valuation_factor(coef):
    idx = coef.price_index
    var = Variable("price_index.cpi[2021]", "coefficient", "price_index.cpi", "2021", 100.9, 100.85, 100.95, "triangular")
    values = np.array([[100.9], [100.85], [100.95]])
    got = prop.index_factors(idx, "cpi", values, (var,), 2019, 2022)
    for v, g in zip(values[:, 0], got):
        changed = idx.copy()
        changed.loc[(changed["series"] == "cpi") & (changed["year"] == 2021), "value"] = v
        assert g == pytest.approx(index_factor(changed, "cpi", 2019, 2022), rel=1e-14)
        assert prop.index_factors(idx, "cpi", np.array([[v]]), (var,), 2022, 2019)[0] == pytest.approx(index_factor(changed, "cpi", 2022, 2019), rel=1e-14)


def _worker_view(x):
    import os

    return x * prop._STATE["factor"], os.getppid()


def test_tasks_run_in_processes_started_without_fork_and_get_the_state():
    import os

    assert prop.start_method() in ("forkserver", "spawn")
    results = prop.run_tasks(_worker_view, [1, 2, 3, 4], {"factor": 10}, workers=2)
    assert [r for r, _ in results] == [10, 20, 30, 40]  # in order, with the state each worker was given
    assert all(parent != os.getpid() for _, parent in results)  # started by the fork server (or spawned), not forked from here
    assert prop.run_tasks(_worker_view, [5], {"factor": 3}, workers=2)[0][0] == 15 and prop._STATE == {}


def test_a_cap_that_binds_only_when_every_variable_is_low_is_refused():
    # capped at 2.5 at the base (sum 3) and with any one variable at its end; uncapped only when all are low
    f = lambda t: np.array([min(2.5, t.sum()), 1.0])  # noqa: E731
    with pytest.raises(prop.NotMultiAffine, match="all-low corner"):
        prop.fit(f, np.full(3, 0.5), np.full(3, 1.5), [slice(0, 1), slice(1, 2)], list("abc"))
