"""Fixtures of the ledger tests: a ledger with accounts (``ledger``), a market ledger (``mk``).

The back ends, targets, keys and evidence runs are shared with the CLI tests: they are
in ``tests/conftest.py`` (every ledger test runs on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import pytest

from gep.audit.evidence import RunFiles
from gep.ledger import records
from gep.ledger.ledger import Ledger
from tests.ledger.market_setup import build


@pytest.fixture
def ledger(target, keyset):
    """A fresh ledger with user accounts alice, bob and carol."""
    led = Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles())
    for name in ("alice", "bob", "carol"):
        led.open_account(keyset.registry, name, getattr(keyset, name).public, id=f"open-{name}")
    yield led
    led.close()


@pytest.fixture
def mk(new_target, keyset):
    """A fresh market ledger (:func:`tests.ledger.market_setup.build`): accounts in zones, cash, defined rights, the shipped ratio table."""
    env = build(new_target(), keyset)
    yield env
    env.led.close()


@pytest.fixture(params=["one process", "forked", "spawned"])
def verify_processes(request, monkeypatch):
    """Run every verify of a test three ways: the records' own checks in this process, in a forked second one,
    and in a second one started afresh that reads the log itself (SQLite; a forked one on PostgreSQL).

    The second ways are what a long log gets on two cores (:func:`gep.ledger.records.two_processes`,
    :func:`gep.ledger.records.can_spawn`); forcing them on small ledgers shows they give the same
    results and the same first failure. Each process then checks a part of the log
    (:func:`gep.ledger.records.check_split`), so that a failure may lie in either part or at the seam.
    """
    if request.param != "one process":
        monkeypatch.setattr(records, "TWO_PROCESSES_FROM", 0)
        monkeypatch.setattr(records, "LEDGER_SHARE", 0.4)
        monkeypatch.setattr(records, "PARENT_SHARE", 0.4)
        monkeypatch.setattr(records, "SPAWNED_SHARE", 0.4)
        monkeypatch.setattr(records, "SPAWN", request.param == "spawned")
        if not records.two_processes(1):
            pytest.skip("no second core, or no fork on this platform")
    return request.param
