"""Green-bond use of proceeds checked against China's Green Bond Endorsed Projects Catalogue.

The catalogue (绿色债券支持项目目录（2021年版）, PBoC, NDRC and CSRC, 银发〔2021〕96号, in
force from 1 July 2021) classifies eligible projects in four levels (reported
as 6 level-I, 25 level-II, 48 level-III, 204 level-IV categories) with dotted
codes (``4`` → ``4.2`` → ``4.2.1`` → ``4.2.1.1``).  gep keeps it as data
(``gep/finance/data/green_bond_catalogue_2021.csv``: code, level, parent,
Chinese and English names, with its sources in the file header): levels I and
II whole; levels III and IV in part (47 and 203 codes, level-III names only),
from a third-party transcription, not the official text.  The file is read by
the jobs (:func:`gep.jobs.inputs.green_catalogue`) and handed to
:meth:`Catalogue.from_rows`.

A use-of-proceeds line names a level-II code or a deeper one.  A code whose
level-II part is not in the catalogue, or a level-I code alone, is refused.  A
deeper code is checked as far down as the data goes: found whole, it is checked
to its level; not found under a held parent, it is accepted as checked to the
parent's level only (a warning in the impact report), because the data of
levels III and IV is incomplete.

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

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from gep.errors import InputError

#: The shipped catalogue (code, level, parent, Chinese and English names; its sources in the header),
#: read by :func:`gep.jobs.inputs.green_catalogue` and handed to :meth:`Catalogue.from_rows`.
CATALOGUE_FILE = Path(__file__).with_name("data") / "green_bond_catalogue_2021.csv"
CATALOGUE_COLUMNS = ("code", "level", "parent", "name_zh", "name_en")
#: Categories of each level of the catalogue as reported (see docs/bonds.md, "Green bonds").
PUBLISHED_COUNTS = {1: 6, 2: 25, 3: 48, 4: 204}
LEVEL_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV"}
LINE_KEYS = ("project", "category", "amount", "total_investment", "zones", "ledger_accounts", "description")


@dataclass(frozen=True)
class Category:
    """One catalogue category: dotted code, level (1-4), parent code, names (empty when not held)."""

    code: str
    level: int
    parent: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Checked:
    """What the catalogue says of a use-of-proceeds code.

    Attributes
    ----------
    level2 : Category
        The code's level-II category.
    deepest : Category
        The deepest category of the code's path that the catalogue holds (the code itself when found).
    full : bool
        Whether the whole code was found (False: checked down to ``deepest.level`` only).
    """

    level2: Category
    deepest: Category
    full: bool

    @property
    def checked_to(self) -> str:
        """``"level IV"`` … ``"level II"``: how deep the code was checked."""
        return f"level {LEVEL_NAMES[self.deepest.level]}"


@dataclass(frozen=True)
class Catalogue:
    """The Green Bond Endorsed Projects Catalogue (2021) as held: categories by code.

    Levels I and II are held whole; levels III and IV may be held in part (the
    shipped data lacks some of them, see docs/bonds.md), so a deeper code that
    is not found under a held parent is accepted as checked to that parent's
    level, never refused.
    """

    categories: Mapping[str, Category]
    sha256: str | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]], sha256: str | None = None) -> "Catalogue":
        """A catalogue from rows with the :data:`CATALOGUE_COLUMNS` (values as text; empty names allowed)."""
        def text(v: Any) -> str:
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()

        cats = {}
        for r in rows:
            code = text(r["code"])
            cats[code] = Category(code, int(float(text(r["level"]))), text(r["parent"]), text(r["name_zh"]),
                                  text(r["name_en"]))
        return cls(cats, sha256)

    def held(self, level: int) -> int:
        """How many categories of ``level`` the catalogue holds."""
        return sum(c.level == level for c in self.categories.values())

    @property
    def levels_held(self) -> str:
        """``"I-II"``, or with deeper levels e.g. ``"I-II; III-IV in part (47 of 48, 203 of 204)"``."""
        deep = [lv for lv in (3, 4) if self.held(lv)]
        if not deep:
            return "I-II"
        part = ", ".join(f"{self.held(lv)} of {PUBLISHED_COUNTS[lv]}" for lv in deep)
        return f"I-II; {'-'.join(LEVEL_NAMES[lv] for lv in deep)} in part ({part})"

    def name(self, code: str) -> str:
        """The Chinese name of ``code`` or of its nearest named ancestor."""
        c = self.categories.get(code)
        while c is not None and not c.name_zh and c.parent:
            c = self.categories.get(c.parent)
        return c.name_zh if c is not None else ""

    def check(self, code: Any, *, where: str | None = None) -> Checked:
        """The category a use-of-proceeds line names, checked as deep as the catalogue goes.

        Raises
        ------
        gep.errors.InputError
            A code that is not a dotted catalogue code, a level-I code (too broad
            for a use of proceeds), or a code whose level-II part is not in the
            catalogue (exit code 2).
        """
        cat = self.categories
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
        deepest = cat[key]
        for n in range(3, len(parts) + 1):
            prefix = ".".join(parts[:n])
            if prefix not in cat:
                break
            deepest = cat[prefix]
        return Checked(cat[key], deepest, deepest.code == ".".join(parts))


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
    checked: Checked | None = field(default=None, compare=False)

    @property
    def share(self) -> float:
        """Attribution share ``amount / total_investment`` [-]."""
        return self.amount / self.total_investment

    @property
    def level2(self) -> Category | None:
        """The line's level-II category."""
        return self.checked.level2 if self.checked else None

    @property
    def full_code_checked(self) -> bool:
        """Whether the whole code was found in the catalogue (False: checked to a higher level only)."""
        return self.checked.full if self.checked else False

    @property
    def checked_to(self) -> str:
        """``"full code (level IV)"``, or ``"level II only"`` when the deeper levels were not found."""
        if self.checked is None:
            return "not checked"
        return f"full code ({self.checked.checked_to})" if self.checked.full else f"{self.checked.checked_to} only"

    def as_dict(self) -> dict:
        l2, deep = self.level2, self.checked.deepest if self.checked else None
        return {"project": self.project, "category": self.category,
                "category_level2": l2.code if l2 else None,
                "category_name_zh": l2.name_zh if l2 else None,
                "category_name_en": l2.name_en if l2 else None,
                "category_checked": deep.code if deep else None,
                "category_checked_name_zh": deep.name_zh if deep else None,
                "checked_to": self.checked_to,
                "amount_cny": self.amount, "total_investment_cny": self.total_investment,
                "attribution_share": self.share, "zones": list(self.zones),
                "ledger_accounts": list(self.ledger_accounts)}


def _positive(v: Any, key: str, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise InputError(f"{key} must be a positive amount of CNY, got {v!r}", hint=f"e.g. {key} = 200_000_000",
                         where=where)
    return float(v)


def use_of_proceeds_from_dict(structure: Mapping, face: float, source: str, catalogue: Catalogue | None) -> list[UseOfProceeds]:
    """Check the ``[[use_of_proceeds]]`` lines of a bond or loan file (none: an empty list).

    Parameters
    ----------
    structure : mapping
        The file's structure tables (``use_of_proceeds`` is read).
    face : float
        Proceeds [CNY]: the lines allocate at most this much.
    source : str
        The file, for error messages.
    catalogue : Catalogue
        The catalogue the categories are checked against (needed when there are lines).

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
        if catalogue is None:
            raise ValueError("use_of_proceeds_from_dict needs the catalogue when the file has use-of-proceeds lines")
        checked = catalogue.check(row["category"], where=f"{where}.category")
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
                                 checked))
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
