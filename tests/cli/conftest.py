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

    @staticmethod
    def assert_user_error(result, *words, code=2):
        """Exit ``code``, no traceback, and every word in the output."""
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        text = " ".join(result.output.split())
        for w in words:
            assert w in text, f"{w!r} not in: {text}"


@pytest.fixture(scope="session")
def gep() -> Gep:
    """``gep.invoke("run", path, "--json")``, ``gep.assert_user_error(result, *words, code=2)``."""
    return Gep()
