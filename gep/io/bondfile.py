"""Read bond and curve description files (TOML).

The formats are documented in ``docs/bonds.md`` with examples in
``scenarios/bonds/``.  Reading is here; validation of the keys is in
:func:`gep.finance.schedule.bond_from_dict` and
:func:`gep.finance.curve.curve_from_dict`, which name the file and key of any
problem.
"""

from __future__ import annotations

from pathlib import Path

from gep.finance.curve import Curve, curve_from_dict
from gep.finance.schedule import Bond, bond_from_dict
from gep.io.tables import read_toml


def _read(path: str | Path, what: str) -> dict:
    return read_toml(path, what=f"{what} file")


def load_bond(path: str | Path) -> Bond:
    """Read and validate a bond file.

    Parameters
    ----------
    path : str or pathlib.Path
        TOML bond description.

    Returns
    -------
    gep.finance.schedule.Bond

    Raises
    ------
    gep.errors.InputError
        Missing or unreadable file, malformed TOML, or a missing/invalid key
        (the message names the file and the key).
    """
    return bond_from_dict(_read(path, "bond"), source=str(path))


def load_curve(path: str | Path) -> Curve:
    """Read and validate a curve file (zero rates or par yields, bootstrapped).

    Parameters
    ----------
    path : str or pathlib.Path
        TOML curve description.

    Returns
    -------
    gep.finance.curve.Curve
    """
    return curve_from_dict(_read(path, "curve"), source=str(path))
