"""What jobs load: scenarios, coefficient sets, bonds and curves, read through :mod:`gep.io`
and handed to the domain as plain data."""

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


def coefficient_set(name_or_path: str, relative_to: Path | None = None, verify: bool = True):
    """A coefficient set by id or folder, following its ``base`` chain (:class:`gep.accounting.coefficients.CoefficientSet`).

    With ``verify`` the SHA-256 of every file is checked against the set's manifest.
    """
    from gep.accounting.coefficients import from_files
    from gep.io.coefficient_files import read_set

    return from_files(read_set(name_or_path, relative_to), verify)


def coefficients_for(sc):
    """A scenario's coefficient set with its overrides, carbon-pool table and ``[valuation]`` settings applied."""
    from gep.accounting.coefficients import POOL_COLUMNS, validate_pools
    from gep.io.files import sha256_file
    from gep.io.tables import read_csv

    coef = coefficient_set(sc.coefficient_set, sc.folder)
    if sc.overrides:
        coef = coef.with_overrides(sc.overrides, where=str(sc.path))
    if sc.carbon_pools is not None:
        pools = validate_pools(read_csv(sc.carbon_pools, POOL_COLUMNS, "InVEST carbon pool table"), Path(sc.carbon_pools))
        coef = coef.with_carbon_pools(pools, f"scenario/{sc.relative(sc.carbon_pools)}", sha256_file(sc.carbon_pools))
    return coef.with_valuation(dict(sc.valuation))


def coefficient_problems(set_id: str | None = None, root: Path | None = None) -> dict:
    """Problems per coefficient set (:class:`gep.errors.Problem`): one set by id, else every set under ``root``
    (default the shipped sets); an empty list means the set verifies."""
    from gep.accounting.coefficients import problems_of
    from gep.io.coefficient_files import coefficients_root, find_set, read_set

    if set_id:
        folders = [find_set(set_id)]
    else:
        root = root or coefficients_root()
        folders = sorted(p for p in root.iterdir() if (p / "manifest.toml").is_file())
    return {folder.name: problems_of(read_set(str(folder))) for folder in folders}
