"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


class Gep:
    """Invoke ``gep`` in-process and check its error paths."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def invoke(self, *args):
        from gep.cli import app

        return self.runner.invoke(app, [str(a) for a in args])

    def json(self, *args) -> dict:
        """Run a command with ``--json``: exit 0 and its JSON document."""
        import json

        result = self.invoke(*args, "--json")
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def one_line_error(self, *args, words=(), code=2) -> str:
        """Run a command that must fail: exit ``code``, one line on stderr holding every word, no traceback."""
        result = self.invoke(*args)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        line = result.stderr.strip()
        assert "Traceback" not in line and len(line.splitlines()) == 1, line
        for w in words:
            assert w in line, line
        return line

    @staticmethod
    def assert_user_error(result, *words, code=2):
        """Exit ``code``, no traceback, and every word in the output."""
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        text = " ".join(result.output.split())
        for w in words:
            assert w in text, f"{w!r} not in: {text}"

    @staticmethod
    def at_exit(tmp_path, expression: str, *args, timeout: float = 600) -> list[str]:
        """Run ``gep *args`` in a fresh process that registered, before gep, an exit handler printing
        ``expression`` (evaluated with ``gc`` and ``sys`` imported): exit 0, and the lines it printed (the
        handler's last)."""
        import subprocess
        import sys

        probe = tmp_path / "probe.py"
        probe.write_text("import atexit, gc, sys\n"
                         f"atexit.register(lambda: print({expression}, flush=True))\n"
                         "from gep.cli import main\n"
                         f"sys.argv = ['gep', *{[str(a) for a in args]!r}]\n"
                         "main()\n", encoding="utf-8")
        out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()


@pytest.fixture(scope="session")
def gep() -> Gep:
    """``gep.invoke("run", path, "--json")``, ``gep.json(*args)``, ``gep.one_line_error(*args, words=(...), code=2)``,
    ``gep.assert_user_error(result, *words, code=2)``."""
    return Gep()


@pytest.fixture(scope="session")
def monitoring_series(monitoring_files):
    """``monitoring_series(folder)`` writes ``folder/series.csv``: S1 monthly in 2021 (CODMn 3.6, TP 0.08, NH3-N 0.4 mg/L:
    class II) and 2022 (4.8, 0.13, 1.2: class IV) and one TP sample below the DL of 0.01 mg/L; returns ``folder``."""
    m = monitoring_files

    def write(folder):
        rows = (m.monthly("S1", 2021, {"CODMn": 3.6, "TP": 0.08, "NH3-N": 0.4}) + m.monthly("S1", 2022, {"CODMn": 4.8, "TP": 0.13, "NH3-N": 1.2})
                + [("S1", "2022-12-20", "TP", "0.01", "mg/L", "L")])
        m.write_series(folder / "series.csv", rows)
        return folder

    return write
