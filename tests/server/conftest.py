"""Fixtures of the platform tests: recorded runs on disk, a ledger on SQLite and PostgreSQL, a test client.

The runs are real: a tiny scenario run with ``gep run``, a second one and their
``gep compare``, a two-year ``gep series``, and a basin-capacity run as the ledger
tests make it (``credits.csv`` + manifest) to issue credits against.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.ledger.conftest import _pg, backend, keyset, new_target  # noqa: F401  (fixtures reused: SQLite and PostgreSQL)
from tests.ledger.helpers import make_runs


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """``runs/`` with ``tiny`` (gep run), ``wet`` (gep compare of tiny with more rain), ``series`` and ``capacity-run``."""
    from typer.testing import CliRunner

    from gep.cli import app
    from tests.cli import tiny

    root = tmp_path_factory.mktemp("platform")
    scen = root / "scenarios"
    base = tiny.make(scen / "base")
    wet = tiny.make(scen / "wet", precipitation=np.full(tiny.CODES.shape, 1600.0, dtype=np.float32))
    wet.write_text(wet.read_text(encoding="utf-8").replace('name = "tiny"', 'name = "tiny-wet"'), encoding="utf-8")
    series = tiny.make(scen / "series", extra_toml='\n[series.2021]\n\n[series.2022]\n')
    runs = root / "runs"
    runner = CliRunner()
    for args in (["run", str(base), "--out", str(runs / "tiny")],
                 ["compare", str(base), str(wet), "--out", str(runs / "wet")],
                 ["run", str(series), "--out", str(runs / "series")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    made = make_runs(root / "evidence")
    shutil.copytree(made["capacity"].parent, runs / "capacity-run")
    return runs


@pytest.fixture
def server(new_target, keyset, runs_dir, tmp_path):  # noqa: F811
    """A ledger with alice and bob holding capacity credits, and a TestClient of the app over it and the runs."""
    from starlette.testclient import TestClient

    from gep.ledger.ledger import Ledger
    from gep.server.app import create_app
    from gep.server.config import ServerConfig

    target = new_target()
    with Ledger.init(target, keyset.registry) as led:
        for name in ("alice", "bob", "carol"):
            led.open_account(keyset.registry, name, getattr(keyset, name).public, id=f"open-{name}")
        led.issue(keyset.registry, "capacity/1/COD/2024", "4 t", "alice", runs_dir / "capacity-run" / "manifest.json", id="issue-1")
        led.transfer(keyset.alice, "capacity/1/COD/2024", "1 t", "alice", "bob", price="1186.71", id="deal-1")
        ledger_id = led.id

    apps = []

    def make(**settings) -> SimpleNamespace:
        cfg = ServerConfig(db=target, runs=runs_dir, **settings)
        apps.append(create_app(cfg))
        client = TestClient(apps[-1], base_url="http://testserver")
        return SimpleNamespace(client=client, target=target, ledger=ledger_id, keys=keyset, runs=runs_dir, config=cfg)

    yield make
    for app in apps:  # close the database connections now (PostgreSQL's are counted)
        app.state.ctx.pool.close()


def chromium_path() -> str | None:
    """The operating system's Chromium (never a downloaded browser), or None."""
    for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(p).is_file():
            return p
    return None


#: Launch flags of the browser tests (headless, no network side traffic, fresh profile per launch).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
