"""The one shell of every command: error line, flags for library keys, --json, exit codes, light start."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from gep.cli import shell
from gep.errors import CheckFailed, GepError, InputError, InputsChanged

runner = CliRunner()
HEAVY = ("numpy", "pandas", "xarray", "dask", "matplotlib", "rioxarray", "scipy", "pint", "rasterio", "pydantic")


def _app() -> shell.App:
    app = shell.App(help="test app")

    @app.command("price")
    def price(bond_file: str = typer.Argument(...), max_breach: str = typer.Option("0", "--max-breach"), yield_: str = typer.Option("0", "--yield")) -> None:
        if max_breach == "x":
            raise InputError("max breach probability must be in [0, 1)", hint="e.g. 0.05", key="max_breach")
        if yield_ == "x":
            raise InputError("yield is outside the valid range", key="yield")
        if bond_file == "nope":
            raise InputError("bond file not found", where="nope.toml, key face")
        if bond_file == "changed":
            raise InputsChanged("an output changed after the run")
        if bond_file == "check":
            raise CheckFailed("a value differs")
        shell.emit({"nan": float("nan"), "numpy": np.float64(2.5), "count": np.int64(3), "path": shell.Path("a/b")})

    @app.command("other")
    def other() -> None:
        shell.say("ok")

    return app


def test_library_key_is_shown_as_the_flag_of_the_command():
    res = runner.invoke(_app(), ["price", "bond.toml", "--max-breach", "x"])
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.strip() == "error: --max-breach: max breach probability must be in [0, 1). Fix: e.g. 0.05"
    res = runner.invoke(_app(), ["price", "bond.toml", "--yield", "x"])  # a Python keyword parameter (yield_)
    assert res.stderr.strip().startswith("error: --yield: yield is outside")


def test_file_location_wins_over_key_and_codes_follow_the_error():
    res = runner.invoke(_app(), ["price", "nope"])
    assert res.exit_code == 2 and res.stderr.strip() == "error: nope.toml, key face: bond file not found"
    assert runner.invoke(_app(), ["price", "changed"]).exit_code == 3
    assert runner.invoke(_app(), ["price", "check"]).exit_code == 1


def test_usage_errors_are_one_line_exit_2():
    res = runner.invoke(_app(), ["price", "bond.toml", "--no-such-option"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No such option: --no-such-option") and "--help" in lines[0]
    res = runner.invoke(_app(), ["price"])
    assert res.exit_code == 2 and "Missing argument" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_json_is_one_document_with_nan_as_null():
    res = runner.invoke(_app(), ["price", "bond.toml"])
    assert res.exit_code == 0
    assert json.loads(res.stdout) == {"nan": None, "numpy": 2.5, "count": 3, "path": "a/b"}


def test_library_error_without_a_flag_keeps_its_key():
    exc = GepError("seed must be a whole number", key="seed")
    assert exc.line() == "seed: seed must be a whole number"
    assert exc.line({"seed": "--seed"}) == "--seed: seed must be a whole number"


def test_gep_and_ledger_commands_start_without_heavy_modules():
    code = "import sys; import gep.cli; print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"gep.cli imports {loaded} at start; import them inside the command that needs them"
    for args in (["--help"], ["ledger", "--help"], ["ledger", "balance", "--help"]):
        code = ("import sys; from gep.cli import app; from typer.testing import CliRunner; "
                f"r = CliRunner().invoke(app, {args!r}); assert r.exit_code == 0, r.output; "
                "print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,))
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert loaded == "", f"gep {' '.join(args)} imports {loaded}"


def test_every_group_is_mounted_and_an_import_failure_is_an_error(monkeypatch):
    from gep.cli import app

    res = runner.invoke(app, ["--help"])
    for name in ("run", "compare", "replay", "verify", "services", "coefficients", "bond", "capacity", "ledger"):
        assert f"  {name} " in res.stdout, name
    import gep.cli

    monkeypatch.setitem(sys.modules, "gep.cli.bond", None)  # the bond commands cannot be imported
    monkeypatch.delattr(gep.cli, "bond")
    monkeypatch.delitem(sys.modules, "gep.cli.app")
    with pytest.raises(ImportError):
        importlib.import_module("gep.cli.app")
