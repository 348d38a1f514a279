"""Fixtures of the platform tests: recorded runs on disk, a market ledger on SQLite and PostgreSQL, a test client.

The runs are real: a tiny scenario run with ``gep run``, a second one and their
``gep compare``, a two-year ``gep series``, and the attested basin-capacity run of the
ledger tests (``credits.csv`` + manifest) to issue credits against. The ledger has the
accounts alice, bob and carol (one zone), cash deposited for each, capacity credits
issued to alice and one priced transfer to bob. Its clock is moved by hand
(``s.clock``); the server runs on the same clock.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import TinyScenario
from tests.ledger.helpers import Clock

#: The capacity instrument issued to alice (4 t) of which 1 t went to bob at 1186.71 CNY/t.
INS = "capacity/1/COD/2024"
#: Cash deposited [CNY].
CASH = {"alice": 10_000, "bob": 50_000, "carol": 50_000}


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory, runs) -> Path:
    """``runs/`` with ``tiny`` (gep run), ``wet`` (gep compare of tiny with more rain), ``series`` and ``capacity-run``."""
    from typer.testing import CliRunner

    from gep.cli.app import app

    tiny = TinyScenario()
    root = tmp_path_factory.mktemp("platform")
    scen = root / "scenarios"
    base = tiny.make(scen / "base")
    wet = tiny.make(scen / "wet", precipitation=np.full(tiny.CODES.shape, 1600.0, dtype=np.float32))
    wet.write_text(wet.read_text(encoding="utf-8").replace('name = "tiny"', 'name = "tiny-wet"'), encoding="utf-8")
    series = tiny.make(scen / "series", extra_toml='\n[series.2021]\n\n[series.2022]\n')
    out = root / "runs"
    runner = CliRunner()
    for args in (["run", str(base), "--out", str(out / "tiny")],
                 ["compare", str(base), str(wet), "--out", str(out / "wet")],
                 ["run", str(series), "--out", str(out / "series")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    shutil.copytree(runs["capacity"].parent, out / "capacity-run")
    return out


@pytest.fixture
def server(new_target, keyset, runs_dir, tmp_path):
    """``server(**settings)``: a TestClient of the app over the market ledger and the runs (see the module docstring)."""
    from starlette.testclient import TestClient

    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger
    from gep.ledger.market import Market
    from gep.server.app import create_app
    from gep.server.config import ServerConfig

    target = new_target()
    clock = Clock()
    with Ledger.init(target, keyset.registry, operators=[keyset.operator.public], clock=clock, files=RunFiles()) as led:
        for name in ("alice", "bob", "carol"):
            led.open_account(keyset.registry, name, getattr(keyset, name).public, id=f"open-{name}")
            Market(led).deposit(keyset.registry, name, f"{CASH[name]} CNY", reference=f"bank-{name}", id=f"dep-{name}")
        led.issue(keyset.registry, INS, "4 t", "alice", runs_dir / "capacity-run" / "manifest.json", id="issue-1")
        led.transfer(keyset.alice, INS, "1 t", "alice", "bob", price="1186.71", id="deal-1")
        ledger_id, size = led.id, led.head()["tree_size"]
    head_key = tmp_path / "registry.key"
    keys.write_keypair(keyset.registry, head_key)

    apps = []

    def make(**settings) -> SimpleNamespace:
        settings.setdefault("head_key", str(head_key))
        cfg = ServerConfig(db=target, runs=runs_dir, **settings)
        apps.append(create_app(cfg, clock=clock))
        client = TestClient(apps[-1], base_url="http://testserver")
        return SimpleNamespace(client=client, target=target, ledger=ledger_id, size=size, keys=keyset, runs=runs_dir, config=cfg,
                               clock=clock, head_key=head_key)

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
