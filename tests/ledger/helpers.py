"""Shared helpers of the ledger tests: evidence runs, back-end targets, key files.

Also imported by the worker processes (``_worker.py``) of the crash and race tests (keep it light).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

PG_ENV = "GEP_TEST_POSTGRES_URL"
#: The worker process of the crash and race tests.
WORKER = Path(__file__).with_name("_worker.py")

#: Issuable amounts [kg/yr] written to the capacity run's credits.csv.
CAPACITY_CAPS = {"capacity/1/COD/2024": 5000, "capacity/1/TP/2024": 300, "capacity/2/COD/2024": 10**9}
#: Carbon sequestration [tCO2/yr] of the carbon run: (zone, ecosystem) -> quantity.
CARBON = {("1", "forest"): "10.5", ("1", "grassland"): "1.845", ("2", "forest"): "50"}
#: Seed of the engine operator key that signs the test runs (a fixed key: the runs are a session fixture).
OPERATOR_SEED = bytes(range(32))


def operator():
    """The engine operator key pair of the test runs (named at init: ``operators=[operator().public]``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gep.ledger.keys import KeyPair, public_hex

    key = Ed25519PrivateKey.from_private_bytes(OPERATOR_SEED)
    return KeyPair(key, public_hex(key))


def earlier_genesis(monkeypatch) -> None:
    """Ledgers made from now on get the genesis parameters of one made before December 2026 (no ``rules``, as gep 8ed1872 wrote them)."""
    from gep.ledger import evidence

    made = evidence.genesis_params
    monkeypatch.setattr(evidence, "genesis_params", lambda *a: {k: v for k, v in made(*a).items() if k != "rules"})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_runs(folder: Path, sign: bool = True) -> dict[str, Path]:
    """Write a `gep capacity`-like run (credits.csv) and a `gep run`-like run (account.csv).

    ``sign``: attest both manifests with the :func:`operator` key (``manifest.json.sig``); the
    runs have no inputs, so this is what lets a ledger accept them.
    """
    cap = folder / "capacity-run"
    cap.mkdir(parents=True, exist_ok=True)
    lines = ["catchment,pollutant,vintage,model,capacity_t_per_yr,issuable_t_per_yr,issuable_kg_per_yr,deficit_t_per_yr,overloaded"]
    for ins, kg in CAPACITY_CAPS.items():
        _, c, p, v = ins.split("/")
        lines.append(f"{c},{p},{v},1d-mid,{kg / 500:.6f},{kg / 1000:.6f},{kg},0.0,False")
    lines.append("3,COD,2024,1d-mid,1.0,0.0,0,2.5,True")
    (cap / "credits.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (cap / "totals.json").write_text("{}\n", encoding="utf-8")
    manifest = {"kind": "gep capacity basin", "command": "gep capacity basin test.toml",
                "outputs": {"credits.csv": _sha(cap / "credits.csv"), "totals.json": _sha(cap / "totals.json")}}
    (cap / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")

    carb = folder / "carbon-run"
    carb.mkdir(parents=True, exist_ok=True)
    rows = ["year,zone,zone_name,zone_name_zh,category,service,name_zh,ecosystem,quantity,unit,value_cny"]
    for (zone, eco), q in CARBON.items():
        rows.append(f"2022,{zone},Zone{zone},区{zone},regulating,carbon_sequestration,固碳,{eco},{q},tCO2/yr,1000.0")
    rows.append("2022,1,Zone1,区1,regulating,water_conservation,水源涵养,forest,99999,m**3/yr,5.0")
    (carb / "account.csv").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    manifest = {"kind": "gep run", "command": "gep run demo.toml", "outputs": {"account.csv": _sha(carb / "account.csv")}}
    (carb / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    out = {"capacity": cap / "manifest.json", "carbon": carb / "manifest.json"}
    if sign:
        from gep.audit.evidence import attest

        for path in out.values():
            attest(path, operator())
    return out


def unchanged(led, fn, exc, match=None):
    """Call ``fn``, which must raise ``exc`` (matching ``match``) and leave ``led`` exactly as it was (same signed head,
    same balances); return the error."""
    import pytest

    head, balances = led.head(), led.balances()
    with pytest.raises(exc, match=match) as info:
        fn()
    assert led.head() == head and led.balances() == balances
    return info.value


def worker_ledger(target, keyset, runs, tmp_path, amount):
    """A ledger where alice holds ``amount`` kg of capacity/2/COD/2024 (bob has an account), and key files for the worker processes.

    Returns ``(ledger, (alice key file, registry key file))``.
    """
    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger

    led = Ledger.init(target, keyset.registry, operators=[keyset.operator.public], files=RunFiles())
    for name in ("alice", "bob"):
        led.open_account(keyset.registry, name, getattr(keyset, name).public)
    led.issue(keyset.registry, "capacity/2/COD/2024", amount, "alice", runs["capacity"])
    for name in ("alice", "registry"):
        if not (tmp_path / f"{name}.key").exists():
            keys.write_keypair(getattr(keyset, name), tmp_path / f"{name}.key")
    return led, (str(tmp_path / "alice.key"), str(tmp_path / "registry.key"))


def worker_env():
    """The environment of a worker process: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_and_kill(args: list[str], rounds: int, pause: float, timeout: float = 30) -> list[int]:
    """Run ``_worker.py ARGS``, read its ``committed N`` lines until ``rounds`` came, wait ``pause`` s, SIGKILL it.

    Returns the rounds it reported committed (asserting there were ``rounds``).
    """
    proc = subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env())
    committed = []
    try:
        deadline = time.time() + timeout
        while len(committed) < rounds and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed.append(int(line.split()[1]))
        time.sleep(pause)  # land somewhere inside the next round
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(committed) >= rounds, f"the worker did not commit: {proc.stderr.read()}"
    return committed


def pg_base() -> tuple[str | None, str]:
    """(URL, reason): the test server's URL when one answers, else None and why."""
    url = os.environ.get(PG_ENV)
    if not url:
        return None, f"{PG_ENV} is not set: no PostgreSQL server to test against (eval \"$(.ci/postgres.sh)\" starts one)"
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        with psycopg.connect(url, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        return None, f"PostgreSQL at {PG_ENV} is not reachable: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    return url, ""


@functools.lru_cache(maxsize=1)
def pg_server() -> tuple[str | None, str]:
    """:func:`pg_base`, asked once per test session."""
    return pg_base()


def pg_schema_url(base: str) -> tuple[str, str]:
    """Create a fresh schema; return (schema, URL whose search_path is that schema)."""
    import psycopg

    schema = "gep_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options=-csearch_path%3D{schema}"


def pg_drop(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def machine_target(cls: type, prefix: str) -> tuple[str | None, str]:
    """(schema or None, target) of a fresh ledger for one run of a state machine ``cls`` (``backend``, ``tmp``)."""
    if cls.backend == "sqlite":
        cls.counter = getattr(cls, "counter", 0) + 1
        return None, str(cls.tmp / f"{prefix}-{cls.counter}.db")
    base, _ = pg_base()
    return pg_schema_url(base)


def raw_execute(target: str, sql: str) -> None:
    """Run SQL directly on a ledger database, bypassing the ledger (tampering tests)."""
    if str(target).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(str(target), autocommit=True) as conn:
            conn.execute(sql)
    else:
        import sqlite3

        conn = sqlite3.connect(str(target), isolation_level=None)
        try:
            conn.executescript(sql)
        finally:
            conn.close()


def drop_append_only(target: str, table: str) -> str:
    """SQL that removes the append-only triggers of ``table`` (what a tamperer with DB access would do)."""
    if str(target).startswith("postgresql://"):
        return f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}; DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};"
    return f"DROP TRIGGER IF EXISTS {table}_no_update; DROP TRIGGER IF EXISTS {table}_no_delete;"


class Clock:
    """A ledger clock the test moves by hand (``Ledger.init(..., clock=Clock())``).

    Reads give the current time in the record format; :meth:`advance` moves it on;
    :meth:`at` is an ISO time relative to it, for a listing's windows.
    """

    def __init__(self, start: str = "2026-03-02T01:00:00+00:00"):
        from datetime import datetime

        self.t = datetime.fromisoformat(start)

    def __call__(self) -> str:
        from datetime import timezone

        return self.t.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.t += timedelta(**delta)

    def at(self, **delta) -> str:
        """The time ``delta`` from now (ISO 8601, UTC)."""
        from datetime import timedelta

        return (self.t + timedelta(**delta)).isoformat()


#: Ways of dividing verify's record checks between two processes: (second process, share of the first).
SPLITS = [(how, share) for how in ("forked", "spawned") for share in (0.0, 0.3, 0.6, 1.0)]


def split_as(monkeypatch, how: str, share: float) -> None:
    """Make ``verify_ledger(..., processes=2)`` divide the records' checks so (a forked process on PostgreSQL either way)."""
    from gep.ledger import records

    monkeypatch.setattr(records, "SPAWN", how == "spawned")
    monkeypatch.setattr(records, "SPAWNED_SHARE" if how == "spawned" else "LEDGER_SHARE", share)
