"""The one shell every ``gep`` command runs in: consoles, the error line, ``--json``, exit codes.

Every command group is an :class:`App`; its commands are :class:`Command` objects whose
errors all end the same way:

* a :class:`gep.errors.GepError` prints one line on stderr, ``error: <where>: <what>.
  Fix: <how>``, and exits with the error's code. When the error names a parameter
  (``GepError.key``) and the command has an option or argument of that name, the line
  starts with the option as the user typed it (``--paths``), so library code never names
  a flag;
* a usage error (unknown option, missing argument) prints one line the same way and exits 2;
* a failed check exits 1, changed or missing inputs 3, a different environment 4
  (:data:`EXIT_CODES`).

Output goes to :data:`out` (stdout: tables) and :data:`err` (stderr: progress), plain
lines through :func:`say`; ``--json`` documents are printed by :func:`emit`. This module imports only typer and rich, so that
``gep --help`` and every ``gep ledger`` command start without numpy, pandas or xarray;
commands import what they compute with inside their body.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import typer
from typer.core import TyperCommand, TyperGroup

from gep.errors import GepError

#: The click that typer runs on (recent typer versions carry their own copy of it).
_click_exceptions = getattr(getattr(typer, "_click", None), "exceptions", None)
if _click_exceptions is None:  # pragma: no cover - typer versions that use the click package
    from click import exceptions as _click_exceptions

_click_types = getattr(getattr(typer, "_click", None), "types", None)
if _click_types is None:  # pragma: no cover - typer versions that use the click package
    from click import types as _click_types

#: Exit codes of every command.
EXIT_CODES = {0: "ok", 1: "a check failed or values differ", 2: "usage or input error", 3: "inputs changed or missing", 4: "environment differs (strict replay)"}



class Number(_click_types.ParamType):
    """A number option read with the bounded parser of :mod:`gep.numbers` (``click_type=INTEGER``).

    Text of any length is checked on the string (digits, exponent) before it is
    converted, so ``--paths 1e99999999`` or a 5,000-digit ``--seed`` is refused at once
    in one line (exit 2), never converted. ``integer``: whole numbers of at most 19
    digits; otherwise a finite number of magnitude 1e-40 .. 1e40 (or 0), as a float.
    ``minimum``: the smallest value accepted.
    """

    def __init__(self, integer: bool = False, minimum: float | None = None) -> None:
        self.integer = integer
        self.minimum = minimum
        self.name = "integer" if integer else "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:  # noqa: D102
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{value!r} is not a number", param, ctx)
        if isinstance(value, str):
            from gep.numbers import parse_decimal, parse_int

            try:
                value = parse_int(value, "value") if self.integer else float(parse_decimal(value, "value"))
            except GepError as exc:
                self.fail(one_line(exc.line()), param, ctx)
        if self.minimum is not None and value < self.minimum:
            self.fail(f"{value} is less than {self.minimum:g}", param, ctx)
        return value


#: A whole-number option and a (float) number option, read with bounds (:class:`Number`).
INTEGER = Number(integer=True)
NUMBER = Number()


class _Console:
    """A rich console made on first use (``gep --help`` does not import rich's console)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    @property
    def console(self) -> Any:
        """The :class:`rich.console.Console` itself (for rich's progress bars)."""
        if self._console is None:
            from rich.console import Console

            columns = os.environ.get("COLUMNS", "")
            width = int(columns) if columns.isdigit() and int(columns) > 0 else None  # as the user's terminal says
            if self._stderr:
                self._console = Console(stderr=True, width=width or (None if sys.stderr.isatty() else 400), soft_wrap=True)
            else:
                self._console = Console(width=width or (None if sys.stdout.isatty() else 160))
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


#: Standard output (tables, summaries) and standard error (progress, the error line).
out = _Console(stderr=False)
err = _Console(stderr=True)


def Table(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - reads like the rich class it makes
    """A :class:`rich.table.Table` (rich is imported on first use)."""
    from rich.table import Table as RichTable

    return RichTable(*args, **kwargs)


def escape(text: str) -> str:
    """``text`` with rich markup escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def flags_of(command: Any) -> dict[str, str]:
    """``{parameter name: how the user writes it}`` of a command: ``--max-breach``, ``BOND_FILE``.

    A trailing underscore of a Python name (``yield_``) is dropped, so the library
    key ``yield`` maps to ``--yield``.
    """
    names: dict[str, str] = {}
    for p in getattr(command, "params", []) or []:
        if not p.name:
            continue
        if getattr(p, "param_type_name", "") == "option":
            long = [o for o in p.opts if o.startswith("--")]
            names[p.name.rstrip("_")] = (long or p.opts)[0]
        else:
            names[p.name.rstrip("_")] = p.metavar or p.name.upper()
    return names


def one_line(text: str) -> str:
    """``text`` with every run of white space (newlines too) made one space."""
    return " ".join(str(text).split())


def error_line(exc: GepError, command: Any = None) -> str:
    """The line printed for ``exc``: parameter keys shown as the command's flags."""
    return one_line(exc.line(flags_of(command)))


def show_error(text: str) -> None:
    """Print ``error: text`` on stderr (one line; red on a terminal)."""
    err.print(f"[bold red]error:[/] {escape(one_line(text))}", highlight=False, soft_wrap=True)


def fail(exc: GepError, command: Any = None) -> typer.Exit:
    """Print the error line of ``exc`` and return the :class:`typer.Exit` to raise."""
    show_error(error_line(exc, command))
    return typer.Exit(exc.exit_code)


def _jsonable(obj: Any) -> Any:
    """``obj`` ready for JSON: numpy scalars as numbers, NaN/inf as null, paths, dates and Decimals as text."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):  # 15 significant digits: no 101.20000000000003 (manifests keep full precision)
        return float(f"{obj:.15g}") if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar (numpy itself is not imported here)
        return _jsonable(obj.item())
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return str(obj)


def say(text: str) -> None:
    """Print one plain line on stdout (no markup, no wrapping)."""
    typer.echo(text)


def emit(doc: Any) -> None:
    """Print one JSON document on stdout (UTF-8 text kept, one space indentation, NaN as null)."""
    print(json.dumps(_jsonable(doc), ensure_ascii=False, indent=1, allow_nan=False))


class Command(TyperCommand):
    """A command whose :class:`GepError` becomes the one error line and its exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GepError as exc:
            raise fail(exc, self) from None


class Group(TyperGroup):
    """A command group: usage errors become one error line (exit 2) as well."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: D102
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_exceptions.ClickException as exc:
            hint = ""
            if isinstance(exc, _click_exceptions.UsageError) and exc.ctx is not None:
                hint = f" (see {exc.ctx.command_path} --help)"
            show_error(exc.format_message() + hint)
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)
        except typer.Abort:
            show_error("aborted")
            if not standalone_mode:
                raise
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)


class App(typer.Typer):
    """A ``gep`` command group: every command runs in the shell (:class:`Command`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("rich_markup_mode", None)  # plain help: rich's help renderer costs 0.15 s at every --help
        kwargs.setdefault("context_settings", {"max_content_width": 120})
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any):  # noqa: D102
        return super().command(name, cls=cls or Command, **kwargs)
