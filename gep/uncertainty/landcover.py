"""Land-cover class accuracy as a declared input error: the confusion matrix of an accuracy assessment.

A scenario declares

.. code-block:: toml

    [uncertainty.inputs.landcover]
    confusion_matrix = "accuracy.csv"

a CSV of sample counts: a first column ``mapped`` holding the class code of each row (the class on
the map), one column per reference class (its header the class code: the class found on the
ground), the same codes in rows and columns (any order), counts ≥ 0, every row with at least one
sample — the error matrix of an accuracy assessment in sample counts (Olofsson et al. 2014).

**Sampling.** Row ``i`` gives the proportions ``p_i· = (p_i1, …, p_ik)`` of mapped class ``i`` that
belong to each reference class. Each sample draws them from the Dirichlet distribution with the
row's counts as parameters, ``p_i· ~ Dirichlet(n_i1, …, n_ik)``, whose mean is the row's
proportions ``n_ij / n_i·`` (Gelman et al. 2013, §3.4: the posterior of multinomial proportions
under the improper prior Dirichlet(0, …, 0)); a zero count stays zero. The draw is made as
independent gamma variates ``g_ij ~ Gamma(n_ij)``, ``p_ij = g_ij / Σ_j g_ij`` (Devroye 1986,
§XI.4.1), so each count is one column of the design, its value the gamma quantile of that column
(:meth:`gep.uncertainty.space.Space.values` normalises the rows). A row with only its diagonal
count gives ``p_ii = 1``: a diagonal matrix changes nothing.

**Re-allocation.** In zone ``z`` the area ``A_zi`` mapped as class ``i`` is re-allocated to the
reference classes, ``Ã_zj = Σ_i A_zi · p_ij`` (:func:`reallocate`): with the mean proportions this is
the stratified estimator of class area of Olofsson et al. (2014) and Card (1982),
``Â_j = A · Σ_i W_i n_ij / n_i·`` with ``W_i`` the mapped share of class ``i``, applied in each zone.
A cell of class ``j`` in zone ``z`` then counts with the area ``a · Ã_zj / A_zj`` (the class's
per-area values in that zone are kept; its area changes). Area that would move to a class with no
cell in the zone stays with its mapped class (it has no cell to be counted on); each zone's total
area is kept. Every service linear in cell area is therefore affine in each ``p_ij`` (the
multi-affine model of :mod:`gep.uncertainty.propagation` stays exact). The deterministic account
is the map as it is (``p = I``).

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E. & Wulder, M. A. (2014) Good
practices for estimating area and assessing accuracy of land change. Remote Sensing of Environment
148, 42–57 (the stratified estimator of class area from the error matrix of sample counts).
Card, D. H. (1982) Using known map category marginal frequencies to improve estimates of thematic
map accuracy. Photogrammetric Engineering and Remote Sensing 48, 431–439.
Gelman, A. et al. (2013) Bayesian Data Analysis, 3rd ed., §3.4 (the multinomial model).
Devroye, L. (1986) Non-Uniform Random Variate Generation, §XI.4.1 (Dirichlet from gamma variates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gep.errors import InputError

#: The key of ``[uncertainty.inputs.landcover]`` naming the file.
KEY = "confusion_matrix"
#: The parameter of the land-cover variables (``input:landcover[<mapped>><reference>]``).
PARAMETER = "landcover"


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix: ``counts[i, j]`` samples mapped as ``codes[i]`` found to be ``codes[j]``."""

    codes: tuple[int, ...]
    counts: np.ndarray
    path: str

    def olofsson_area(self, mapped_area: np.ndarray) -> np.ndarray:
        """The stratified estimate of the area of each reference class, ``Â_j = Σ_i A_i n_ij / n_i·``
        (Olofsson et al. 2014) from the mapped areas ``A_i`` (in ``codes`` order) [their unit]."""
        return np.asarray(mapped_area, dtype=float) @ (self.counts / self.counts.sum(axis=1, keepdims=True))


def _fail(path: Path, where: str, message: str, hint: str) -> InputError:
    return InputError(f"confusion matrix {path}, {where}: {message}", hint=hint)


def from_table(df, legend_codes: np.ndarray) -> Confusion:
    """The confusion matrix of a table read by :func:`gep.io.tables.read_csv` (see the module notes), checked.

    Raises
    ------
    InputError
        Not square (a code in the rows and not the columns or the reverse), a class code the
        legend does not have, a count that is negative or not a number, a row with no sample
        (exit 2; the message names the file, row and column).
    """
    path = Path(df.attrs.get("path", "?"))
    if "mapped" not in df.columns:
        raise _fail(path, "header", "no column 'mapped'", "the first column, 'mapped', holds the mapped class of each row")
    line0 = int(df.attrs.get("first_row_line", 2))
    fix = "rows: the mapped class (column 'mapped'), columns: the reference class, values: sample counts"
    legend = {int(c) for c in np.asarray(legend_codes)}

    def code(text, where: str) -> int:
        try:
            c = float(str(text).strip())
        except ValueError:
            raise _fail(path, where, f"'{text}' is not a class code", fix) from None
        if not c.is_integer() or int(c) not in legend:
            raise _fail(path, where, f"class code {text} is not in the coefficient set's land-cover legend",
                        f"use the legend's codes ({', '.join(map(str, sorted(legend)[:12]))}, …)")
        return int(c)

    columns = [c for c in df.columns if c != "mapped"]
    cols = [code(c, f"column '{c}'") for c in columns]
    rows = [code(r, f"line {line0 + n} (mapped class)") for n, r in enumerate(df["mapped"])]
    for label, seq in (("column", cols), ("row", rows)):
        dup = sorted({c for c in seq if seq.count(c) > 1})
        if dup:
            raise _fail(path, f"{label} {dup[0]}", f"class {dup[0]} appears twice", "give each class one row and one column")
    if set(rows) != set(cols):
        odd = sorted(set(rows) ^ set(cols))[0]
        where = f"row of class {odd}" if odd in rows else f"column '{odd}'"
        raise _fail(path, where, f"not square: class {odd} is {'a row but not a column' if odd in rows else 'a column but not a row'}",
                    "give the same class codes as rows and as columns")
    import pandas as pd

    raw = df[columns]
    values = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(values) | (values < 0))
    if len(bad):
        n, m = bad[0]
        raise _fail(path, f"line {line0 + n}, column '{columns[m]}'", f"count {raw.iat[n, m]!r} is not a number ≥ 0", fix)
    empty = np.flatnonzero(values.sum(axis=1) <= 0)
    if len(empty):
        n = empty[0]
        raise _fail(path, f"line {line0 + n} (mapped class {rows[n]})", "the row has no sample", "give the row's sample counts, or leave the class out of rows and columns")
    order = sorted(rows)
    ri, ci = [rows.index(c) for c in order], [cols.index(c) for c in order]
    return Confusion(tuple(order), values[np.ix_(ri, ci)], str(path))


def entries(conf: Confusion) -> list[tuple[int, int, float]]:
    """The ``(i, j, count)`` positions that are sampled: every non-zero count, and the diagonal, of each row with a
    count off its diagonal (a row with only its diagonal count keeps ``p_ii = 1``)."""
    out = []
    for i in range(len(conf.codes)):
        row = conf.counts[i]
        if np.count_nonzero(np.delete(row, i)):
            out += [(i, j, float(row[j])) for j in range(len(row)) if row[j] > 0 or j == i]
    return out


def reallocate(area: np.ndarray, positions: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Zone × class areas re-allocated by the proportions ``p`` (see the module notes).

    Parameters
    ----------
    area : array (zones, classes)
        Mapped area of each zone and legend class [any area unit].
    positions : array of int
        The legend positions of the matrix's classes (its ``codes``).
    p : array (k, k)
        Proportions: row ``i`` the share of mapped class ``codes[i]`` in each reference class (rows sum to 1).

    Returns
    -------
    array (zones, classes)
        ``Ã_zj = Σ_i A_zi p_ij`` [area unit], the share of a class with no area in the zone kept on the mapped class.
    """
    area = np.asarray(area, dtype=float)
    m = np.eye(area.shape[1])
    m[np.ix_(positions, positions)] = p
    flow = area[:, :, None] * m[None, :, :]  # zone, mapped, reference
    present = area > 0
    moved = np.einsum("zij,zj->zj", flow, present.astype(float))
    kept = np.einsum("zij,zj->zi", flow, (~present).astype(float))
    return moved + kept


__all__ = ["Confusion", "KEY", "PARAMETER", "entries", "from_table", "reallocate"]
