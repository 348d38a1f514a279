"""Green-bond use of proceeds checked against China's Green Bond Endorsed Projects Catalogue.

The catalogue (绿色债券支持项目目录（2021年版）, PBoC, NDRC and CSRC, 银发〔2021〕96号, in
force from 1 July 2021) classifies eligible projects in four levels (6 level-I,
25 level-II, 48 level-III, 204 level-IV categories) with dotted codes
(``4`` → ``4.2`` → ``4.2.1`` → ``4.2.1.1``).  gep keeps levels I and II as
data (``gep/finance/data/green_bond_catalogue_2021.csv``: code, level, parent,
Chinese and English names, with its source in the file header).  A
use-of-proceeds line names a level-II code, or a deeper one whose level-II
parent is in the catalogue; a deeper code is reported as checked to level II
only (levels III and IV are not held).

Use-of-proceeds lines (``[[use_of_proceeds]]`` in a bond or loan file):

``project``
    name of the funded project (unique);
``category``
    catalogue code, e.g. ``"4.2"`` (生态保护与建设) or ``"4.2.1.1"``;
``amount``
    proceeds allocated [CNY], > 0; together at most ``proceeds`` (default: the face);
``total_investment``
    the project's total cost [CNY], ≥ ``amount`` (default ``amount``): the
    bond's attribution share is ``amount / total_investment`` (ICMA 2022,
    Handbook – Harmonised Framework for Impact Reporting: report the
    financed share);
``zones``
    zones of the ``gep run`` accounts the project covers (default: every zone);
``ledger_accounts``
    ledger accounts of the project whose credit issuances and retirements
    count towards the bond's impact.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from gep.errors import InputError

CATALOGUE_FILE = Path(__file__).with_name("data") / "green_bond_catalogue_2021.csv"
CATALOGUE_NAME = "绿色债券支持项目目录（2021年版） (PBoC, NDRC, CSRC 2021)"
LINE_KEYS = ("project", "category", "amount", "total_investment", "zones", "ledger_accounts", "description")


@dataclass(frozen=True)
class Category:
    """One catalogue category: dotted code, level (1-4), parent code, names."""

    code: str
    level: int
    parent: str
    name_zh: str
    name_en: str


@lru_cache(maxsize=None)
def catalogue() -> dict[str, Category]:
    """The catalogue categories held (levels I and II), by code."""
    with CATALOGUE_FILE.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["code"]: Category(r["code"], int(r["level"]), r["parent"], r["name_zh"], r["name_en"]) for r in rows}


def check_category(code: Any, *, where: str | None = None) -> tuple[Category, bool]:
    """The level-II (or deeper) category a use-of-proceeds line names.

    Returns
    -------
    (Category, bool)
        The category held (the code itself, or its level-II parent for a
        deeper code) and whether the full code was checked (False for a
        level-III or level-IV code: checked to level II only).

    Raises
    ------
    gep.errors.InputError
        A code that is not a dotted catalogue code, a level-I code (too broad
        for a use of proceeds), or a code whose level-II part is not in the
        catalogue (exit code 2).
    """
    cat = catalogue()
    text = str(code).strip() if isinstance(code, (str, int, float)) and not isinstance(code, bool) else None
    parts = text.split(".") if text else []
    valid_codes = [c for c, v in cat.items() if v.level == 2]
    if not parts or len(parts) > 4 or not all(p.isdigit() for p in parts):
        raise InputError(f"use-of-proceeds category {code!r} is not a catalogue code",
                         hint='write the dotted code of the 2021 catalogue as a string, e.g. category = "4.2" '
                         f"(level-II codes: {', '.join(valid_codes)})", where=where)
    key = ".".join(parts[:2])
    if key not in cat or len(parts) < 2:
        near = difflib.get_close_matches(key, valid_codes, n=1, cutoff=0.5)
        what = "a level-I category (too broad)" if key in cat else "not in the 2021 Green Bond Endorsed Projects Catalogue"
        raise InputError(f'use-of-proceeds category "{text}" is {what}',
                         hint=(f'did you mean "{near[0]}" ({cat[near[0]].name_zh})? ' if near else "")
                         + "level-II codes: " + ", ".join(valid_codes), where=where)
    return cat[key], len(parts) == 2


@dataclass(frozen=True)
class UseOfProceeds:
    """One use-of-proceeds line, checked (see the module notes for the keys)."""

    project: str
    category: str
    amount: float
    total_investment: float
    zones: tuple = ()
    ledger_accounts: tuple[str, ...] = ()
    description: str = ""
    level2: Category | None = field(default=None, compare=False)
    full_code_checked: bool = True

    @property
    def share(self) -> float:
        """Attribution share ``amount / total_investment`` [-]."""
        return self.amount / self.total_investment

    def as_dict(self) -> dict:
        return {"project": self.project, "category": self.category,
                "category_level2": self.level2.code if self.level2 else None,
                "category_name_zh": self.level2.name_zh if self.level2 else None,
                "category_name_en": self.level2.name_en if self.level2 else None,
                "checked_to": "full code" if self.full_code_checked else "level II (levels III-IV not held)",
                "amount_cny": self.amount, "total_investment_cny": self.total_investment,
                "attribution_share": self.share, "zones": list(self.zones),
                "ledger_accounts": list(self.ledger_accounts)}


def _positive(v: Any, key: str, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise InputError(f"{key} must be a positive amount of CNY, got {v!r}", hint=f"e.g. {key} = 200_000_000",
                         where=where)
    return float(v)


def use_of_proceeds_from_dict(structure: Mapping, face: float, source: str) -> list[UseOfProceeds]:
    """Check the ``[[use_of_proceeds]]`` lines of a bond or loan file (none: an empty list).

    Raises
    ------
    gep.errors.InputError
        An unknown key, a category not in the catalogue, a non-positive
        amount, a total investment below the amount, allocations above the
        face, or a project named twice; the message names the file and line.
    """
    raw = structure.get("use_of_proceeds")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise InputError("use_of_proceeds must be a list of tables", hint="write [[use_of_proceeds]] tables",
                         where=f"{source}, key use_of_proceeds")
    out: list[UseOfProceeds] = []
    for i, row in enumerate(raw):
        where = f"{source}, key use_of_proceeds[{i}]"
        for k in row:
            if k not in LINE_KEYS:
                close = difflib.get_close_matches(k, LINE_KEYS, n=1)
                raise InputError(f'unknown key "{k}"', hint=(f'did you mean "{close[0]}"? ' if close else "")
                                 + "valid keys: " + ", ".join(LINE_KEYS), where=f"{where}.{k}")
        for k in ("project", "category", "amount"):
            if k not in row:
                raise InputError(f'missing required key "{k}"', hint='project = "...", category = "4.2", amount = 2e8',
                                 where=f"{where}.{k}")
        if not isinstance(row["project"], str) or not row["project"].strip():
            raise InputError("project must be a name", hint='project = "Oujiang riparian forest"', where=f"{where}.project")
        level2, full = check_category(row["category"], where=f"{where}.category")
        amount = _positive(row["amount"], "amount", f"{where}.amount")
        total = _positive(row.get("total_investment", amount), "total_investment", f"{where}.total_investment")
        if total < amount:
            raise InputError(f"total_investment {total:,.2f} is below the amount allocated {amount:,.2f}",
                             hint="give the project's whole cost, at least the bond's allocation",
                             where=f"{where}.total_investment")
        zones = row.get("zones", [])
        accounts = row.get("ledger_accounts", [])
        if not isinstance(zones, list) or not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise InputError("zones and ledger_accounts must be lists", hint='zones = [1, 2], ledger_accounts = ["lishui-forest"]',
                             where=where)
        out.append(UseOfProceeds(row["project"].strip(), str(row["category"]).strip(), amount, total,
                                 tuple(str(z) for z in zones), tuple(accounts), str(row.get("description", "")),
                                 level2, full))
    names = [u.project for u in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f'project "{dup[0]}" has two use-of-proceeds lines', hint="one line per project",
                         where=f"{source}, key use_of_proceeds")
    allocated = sum(u.amount for u in out)
    if allocated > face * (1 + 1e-12):
        raise InputError(f"use of proceeds allocates {allocated:,.2f} CNY, more than the face {face:,.2f}",
                         hint="the allocations must add up to at most the bond's proceeds",
                         where=f"{source}, key use_of_proceeds")
    return out
