"""The Saltelli design, variance-based sensitivity indices, percentiles and standard errors.

The design (:func:`design`) is SALib's Saltelli sample without second-order terms, built on a
scrambled Sobol' sequence (:class:`scipy.stats.qmc.Sobol`) of ``2D`` dimensions: base matrices
``A`` and ``B`` (``N`` rows each) and, for every group ``g`` of columns, ``A`` with the columns of
``g`` taken from ``B``. ``A`` and ``B`` together are the ``2N`` samples whose outputs give the
percentiles; the first-order and total indices of the groups come from all ``N(G + 2)`` rows
(:func:`indices`: Saltelli 2010 for S1, Jansen 1999 for ST, bootstrap confidence intervals).

References
----------
Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. & Tarantola, S. (2010) Variance
based sensitivity analysis of model output. Design and estimator for the total sensitivity
index. Comput. Phys. Commun. 181, 259–270 (table 2: estimators (b) and (f)).
Jansen, M. J. W. (1999) Analysis of variance designs for model output. Comput. Phys. Commun. 117, 35–43.
Herman, J. & Usher, W. (2017) SALib: an open-source Python library for sensitivity analysis. JOSS 2(9), 97.
Hyndman, R. J. & Fan, Y. (1996) Sample quantiles in statistical packages, Am. Stat. 50(4) (definition 7).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: Percentiles reported [%].
PERCENTILES = (5, 50, 95)


@dataclass(frozen=True)
class Design:
    """A Saltelli design: ``u`` (rows × columns) uniforms, the groups and where the base rows are.

    Row ``i·(G + 2)`` is ``A_i``, rows ``+1 … +G`` are ``A_i`` with group ``g`` from ``B_i``, row
    ``+G+1`` is ``B_i``.
    """

    u: np.ndarray
    groups: tuple[str, ...]
    column_groups: tuple[str, ...]
    base: int

    @property
    def stride(self) -> int:
        return len(self.groups) + 2

    @property
    def rows_a(self) -> np.ndarray:
        return np.arange(self.base) * self.stride

    @property
    def rows_b(self) -> np.ndarray:
        return self.rows_a + self.stride - 1

    @property
    def samples(self) -> np.ndarray:
        """Rows of the ``2N`` samples (A then B) whose outputs give the percentiles."""
        return np.concatenate([self.rows_a, self.rows_b])



def _problem(column_groups: tuple[str, ...]) -> dict:
    d = len(column_groups)
    return {"num_vars": d, "names": [f"c{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d, "groups": list(column_groups)}


def design(column_groups: tuple[str, ...], base: int, seed: int) -> Design:
    """The Saltelli design of ``base`` rows per matrix over columns grouped by ``column_groups`` (one name per column)."""
    from SALib.sample import sobol

    groups = tuple(dict.fromkeys(column_groups))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when base is not a power of two; the estimators stay unbiased
        u = sobol.sample(_problem(column_groups), base, calc_second_order=False, scramble=True, seed=seed)
    return Design(np.asarray(u, dtype=float), groups, tuple(column_groups), base)


def indices(d: Design, y: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    """First-order and total indices of every group from the outputs ``y`` of all design rows.

    Returns ``{group: {"S1", "S1_conf", "ST", "ST_conf"}}`` (confidence: half-width of the 95 %
    bootstrap interval, 100 resamples). A constant output gives zeros.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        return {g: {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0} for g in d.groups}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        # SALib falls back to the global numpy generator for seed 0 (``if seed:``), so the bootstrap seed is seed + 1
        res = sobol.analyze(_problem(d.column_groups), y, calc_second_order=False, num_resamples=100, conf_level=0.95, seed=seed + 1)
    return {g: {k: float(np.nan_to_num(res[k][i])) for k in ("S1", "S1_conf", "ST", "ST_conf")} for i, g in enumerate(d.groups)}


def statistics(x: np.ndarray) -> dict[str, float]:
    """p5, p50, p95 (Hyndman & Fan definition 7), mean, standard deviation and the Monte Carlo
    standard error of the mean (sd/√n; conservative for a scrambled Sobol' design) of samples ``x``."""
    x = np.asarray(x, dtype=float)
    p = np.percentile(x, PERCENTILES)
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return {"p5": float(p[0]), "p50": float(p[1]), "p95": float(p[2]), "mean": float(np.mean(x)), "se": sd / np.sqrt(len(x)), "sd": sd}
