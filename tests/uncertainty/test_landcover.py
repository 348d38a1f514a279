"""Land-cover accuracy from a confusion matrix: reading and its errors, the Dirichlet proportions, the
re-allocated areas (Olofsson et al. 2014's estimate at the mean), and the analysis end to end."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from gep.errors import InputError
from gep.uncertainty import landcover
from gep.uncertainty import space as sp

LEGEND = np.array([11, 12, 211, 212])
TWO = "mapped,11,211\n11,45,5\n211,10,40\n"  # 50 samples per mapped class


def _write(tmp_path, text, name="cm.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _read(path, legend):
    from gep.io.tables import read_csv

    return landcover.from_table(read_csv(path, what="confusion matrix"), legend)


def _space(conf):
    return sp.build(_no_ranges(), set(), {"inputs": {"landcover": {"confusion_matrix": "cm.csv"}}}, {}, "t.toml", lambda _n: conf)


def _no_ranges():
    import pandas as pd

    return pd.DataFrame(columns=["parameter", "key", "value", "low", "high", "unit", "confidence", "range_basis"])


def test_a_matrix_is_read_in_code_order(tmp_path):
    conf = _read(_write(tmp_path, "# an accuracy assessment\nmapped,211,11\n211,40,10\n11,5,45\n"), LEGEND)
    assert conf.codes == (11, 211)
    assert conf.counts.tolist() == [[45, 5], [10, 40]]


@pytest.mark.parametrize("text, where, what", [
    ("mapped,11,211\n11,45,5\n", "column '211'", "not square"),
    ("mapped,11,99\n11,45,5\n99,1,2\n", "column '99'", "not in the coefficient set's land-cover legend"),
    ("mapped,11,211\n11,45,-5\n211,10,40\n", "line 2, column '211'", "is not a number ≥ 0"),
    ("mapped,11,211\n11,45,x\n211,10,40\n", "line 2, column '211'", "is not a number ≥ 0"),
    ("mapped,11,211\n11,45,5\n211,0,0\n", "line 3 (mapped class 211)", "the row has no sample"),
    ("map,11,211\n11,45,5\n211,10,40\n", "header", "no column 'mapped'"),
    ("mapped,11,211\n11,45,5\n11,10,40\n", "row 11", "class 11 appears twice"),
    ("mapped,11,211\n11,45,inf\n211,10,40\n", "line 2, column '211'", "is not a number ≥ 0"),
])
def test_bad_matrices_name_file_row_and_column(tmp_path, text, where, what):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as e:
        _read(path, LEGEND)
    assert str(path) in str(e.value) and where in str(e.value) and what in str(e.value)


def test_reallocated_areas_by_hand():
    area = np.array([[60.0, 0.0, 40.0, 7.0], [10.0, 0.0, 0.0, 3.0]])  # zones × legend classes 11, 12, 211, 212
    p = np.array([[0.9, 0.1], [0.2, 0.8]])  # rows: mapped 11, 211; columns: reference 11, 211
    out = landcover.reallocate(area, np.array([0, 2]), p)
    # zone 1: 11 gets 60·0.9 + 40·0.2 = 62, 211 gets 60·0.1 + 40·0.8 = 38; 212 untouched
    assert out[0].tolist() == pytest.approx([62.0, 0.0, 38.0, 7.0], rel=1e-15)
    # zone 2 has no 211 cell: the share of 11 that is 211 stays on 11 (nothing to count it on); the zone keeps its area
    assert out[1].tolist() == pytest.approx([10.0, 0.0, 0.0, 3.0], rel=1e-15)


def test_a_diagonal_matrix_gives_no_spread(tmp_path):
    conf = _read(_write(tmp_path, "mapped,11,211\n11,50,0\n211,0,30\n"), LEGEND)
    space = _space(conf)
    assert space.variables == () and space.fixed[0]["name"] == "input:landcover"


def test_the_mean_of_the_proportions_is_the_olofsson_estimate(tmp_path):
    conf = _read(_write(tmp_path, TWO), LEGEND)
    space = _space(conf)
    assert space.names == ["input:landcover[11>11]", "input:landcover[11>211]", "input:landcover[211>11]", "input:landcover[211>211]"]
    assert set(space.columns) == {"input:landcover"}  # one group for the sensitivity indices
    assert space.central().tolist() == [1.0, 0.0, 0.0, 1.0]  # the deterministic account is the map as it is
    u = qmc.Sobol(len(space.columns), scramble=True, seed=1).random(2 ** 14)
    p = space.values(u)
    assert np.allclose(p[:, :2].sum(axis=1), 1.0, rtol=1e-15) and np.allclose(p[:, 2:].sum(axis=1), 1.0, rtol=1e-15)
    mapped = np.array([[60.0, 0.0, 40.0, 0.0]])
    areas = np.array([landcover.reallocate(mapped, np.array([0, 2]), row.reshape(2, 2))[0] for row in p[:2048]])
    want = conf.olofsson_area([60.0, 40.0])  # 60·45/50 + 40·10/50 = 62 and 60·5/50 + 40·40/50 = 38
    assert want.tolist() == pytest.approx([62.0, 38.0], rel=1e-15)
    assert p.mean(axis=0) == pytest.approx([0.9, 0.1, 0.2, 0.8], abs=2e-4)
    assert areas[:, [0, 2]].mean(axis=0) == pytest.approx(want, rel=2e-3)
    # Dirichlet(45, 5): the variance of p is ab / ((a+b)²(a+b+1))
    assert p[:, 1].var() == pytest.approx(45 * 5 / (50 ** 2 * 51), rel=0.02)
