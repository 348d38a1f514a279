"""User-facing errors of gep.

Every failure a user can cause (a bad file, key, unit, coefficient, grid) is a
:class:`GepError` with a message that says what is wrong and where, a hint that
says how to fix it, and the CLI exit code it maps to. The CLI prints one line
on stderr and exits with :attr:`GepError.exit_code`; it never shows a traceback
for these.

An error about a parameter of a library call carries its name as ``key``
(``paths``, ``settle``, ``class``); library code never names a command-line
flag. The CLI shell (:mod:`gep.cli.shell`) shows the key as the flag of the
command that was run (``--paths``).

Exit codes: 0 ok, 1 check failed or mismatch, 2 usage or input error,
3 inputs changed or missing (replay), 4 environment differs (strict replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def nearest(word: str, choices, cutoff: float = 0.6) -> str | None:
    """The choice closest to a mistyped ``word`` (difflib ratio ≥ ``cutoff``), for "did you mean" hints."""
    import difflib

    hits = difflib.get_close_matches(str(word), sorted(map(str, choices)), n=1, cutoff=cutoff)
    return hits[0] if hits else None


@dataclass(frozen=True)
class Problem:
    """One problem found in a file, located: ``file, line N: key: message``.

    Validation collects every problem of a file as these records (a scenario's
    problems, a coefficient set's failed hashes) before raising one error that
    carries them all.
    """

    message: str
    file: str | None = None
    key: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ", ".join(x for x in (self.file, f"line {self.line}" if self.line else None) if x)
        text = f"{self.key}: {self.message}" if self.key else self.message
        return f"{where}: {text}" if where else text


class GepError(Exception):
    """Base class: a clear, user-facing error.

    ``problems`` holds every located problem when one error reports several
    (the message joins them for the one line the CLI prints).
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None, key: str | None = None,
                 problems: Sequence[Problem] = ()):
        self.message = message
        self.hint = hint
        self.where = where
        self.key = key
        self.problems = tuple(problems)
        super().__init__(self.line())

    def line(self, names: dict[str, str] | None = None) -> str:
        """The one line the CLI prints: ``where: message. Fix: hint``.

        ``where`` is the file and key given, else the parameter ``key`` as ``names``
        spells it (a command's flags, e.g. ``{"paths": "--paths"}``), else the key.
        """
        where = self.where or ((names or {}).get(self.key) or self.key if self.key else None)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}. Fix: {self.hint}" if self.hint else text


class InputError(GepError):
    """A missing, unreadable or malformed input file."""


class ScenarioError(GepError):
    """A malformed scenario file or an unknown or invalid scenario key."""


class UnitError(GepError):
    """A quantity with a missing or wrong unit."""


class CoefficientError(GepError):
    """A missing, malformed or wrongly-united coefficient, or a set that fails verification."""


class GridError(GepError):
    """Rasters that do not align, or cells that cannot be used (NaN, nodata, unknown class)."""


class CheckFailed(GepError):
    """A verification found a mismatch (exit code 1)."""

    exit_code = 1


class InputsChanged(GepError):
    """A recorded input, output or previous manifest changed or is missing (exit code 3)."""

    exit_code = 3
