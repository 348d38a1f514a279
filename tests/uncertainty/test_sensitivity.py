"""Sobol' indices of analytic functions with known indices, groups, and the sample statistics."""

from __future__ import annotations

import numpy as np
import pytest

from gep.uncertainty import sensitivity as sens


def ishigami(u: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_ishigami_indices_match_the_analytic_values():
    # Ishigami & Homma (1990); analytic indices e.g. Saltelli et al. (2008) §4.7: S1 = .3139, .4424, 0; ST = .5576, .4424, .2437
    d = sens.design(("x1", "x2", "x3"), 4096, seed=1)
    assert d.u.shape == (4096 * 5, 3)
    ind = sens.indices(d, ishigami(d.u), seed=1)
    for g, s1, st in (("x1", 0.3139, 0.5576), ("x2", 0.4424, 0.4424), ("x3", 0.0, 0.2437)):
        assert ind[g]["S1"] == pytest.approx(s1, abs=0.03)
        assert ind[g]["ST"] == pytest.approx(st, abs=0.03)
        assert ind[g]["ST_conf"] > 0


def test_a_group_of_columns_has_the_index_of_its_variables_together():
    # y = x1 + x2 + x3 (uniform): each explains 1/3; the group {x1, x2} explains 2/3
    d = sens.design(("g", "g", "x3"), 2048, seed=2)
    ind = sens.indices(d, d.u.sum(axis=1), seed=2)
    assert set(ind) == {"g", "x3"}
    assert ind["g"]["S1"] == pytest.approx(2 / 3, abs=0.02) and ind["g"]["ST"] == pytest.approx(2 / 3, abs=0.02)
    assert ind["x3"]["ST"] == pytest.approx(1 / 3, abs=0.02)


def test_design_rows_a_and_b_and_seeded_reproducibility():
    d = sens.design(("a", "b"), 8, seed=5)
    assert d.stride == 4 and list(d.rows_a[:2]) == [0, 4] and list(d.rows_b[:2]) == [3, 7]
    # A with group "a" from B: column 0 from B, column 1 from A
    assert np.array_equal(d.u[1], [d.u[3][0], d.u[0][1]])
    assert np.array_equal(d.u, sens.design(("a", "b"), 8, seed=5).u)
    assert not np.array_equal(d.u, sens.design(("a", "b"), 8, seed=6).u)
    y = d.u[:, 0] * 3 + d.u[:, 1]
    assert sens.indices(d, y, seed=0) == sens.indices(d, y, seed=0)  # seed 0 too: the bootstrap is seeded


def test_statistics():
    x = np.arange(1, 101, dtype=float)
    s = sens.statistics(x)
    assert (s["p5"], s["p50"], s["p95"], s["mean"]) == pytest.approx((5.95, 50.5, 95.05, 50.5))
    assert s["se"] == pytest.approx(np.std(x, ddof=1) / 10)
    assert sens.indices(sens.design(("a",), 4, seed=0), np.ones(12), seed=0)["a"]["ST"] == 0.0
