"""What jobs load: scenarios and coefficient sets from their files, handed to the domain as plain data."""

from __future__ import annotations

from pathlib import Path


def scenario(path: str | Path):
    """Read and validate a GEP scenario file (:class:`gep.accounting.scenario.Scenario`)."""
    from gep.accounting.scenario import load

    return load(path)


def bond(path: str | Path):
    """Read and validate a bond file (:class:`gep.finance.schedule.Bond`; keys in docs/bonds.md)."""
    from gep.finance.schedule import bond_from_dict
    from gep.io.files import read_toml

    return bond_from_dict(read_toml(path, what="bond file"), source=str(path))


def curve(path: str | Path):
    """Read and validate a curve file: zero rates or par yields, bootstrapped (:class:`gep.finance.curve.Curve`)."""
    from gep.finance.curve import curve_from_dict
    from gep.io.files import read_toml

    return curve_from_dict(read_toml(path, what="curve file"), source=str(path))
