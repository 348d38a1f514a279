"""Fixtures of the ledger tests: every ledger test runs on SQLite and on PostgreSQL.

PostgreSQL tests skip, with the reason, only when no server answers at
``$GEP_TEST_POSTGRES_URL`` (``eval "$(.ci/postgres.sh)"`` starts one).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest

from gep.audit.evidence import RunFiles
from gep.ledger import keys
from gep.ledger.ledger import Ledger
from tests.ledger.helpers import make_runs, operator, pg_base, pg_drop, pg_schema_url

BACKENDS = ("sqlite", "postgres")


@functools.lru_cache(maxsize=1)
def _pg() -> tuple[str | None, str]:
    return pg_base()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgres" and _pg()[0] is None:
        pytest.skip(_pg()[1])
    return request.param


@pytest.fixture
def new_target(backend, tmp_path):
    """Factory of fresh, empty database targets of the current back end."""
    made: list[str] = []

    def make(name: str = "ledger") -> str:
        if backend == "sqlite":
            made.append(name)
            return str(tmp_path / f"{name}-{len(made)}.db")
        schema, url = pg_schema_url(_pg()[0])
        made.append(schema)
        return url

    yield make
    if backend == "postgres":
        for schema in made:
            pg_drop(_pg()[0], schema)


@pytest.fixture
def target(new_target) -> str:
    return new_target()


@pytest.fixture(scope="session")
def keyset() -> SimpleNamespace:
    """Key pairs: registry, alice, bob, carol, dave, mallory, witness, and the engine operator of the test runs."""
    return SimpleNamespace(operator=operator(), **{n: keys.generate() for n in ("registry", "alice", "bob", "carol", "dave", "mallory", "witness")})


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """Evidence: {'capacity': manifest path, 'carbon': manifest path}."""
    return make_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def ledger(target, keyset):
    """A fresh ledger with user accounts alice, bob and carol."""
    led = Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles())
    for name in ("alice", "bob", "carol"):
        led.open_account(keyset.registry, name, getattr(keyset, name).public, id=f"open-{name}")
    yield led
    led.close()
