"""Storage of the ledger: SQLite by default, PostgreSQL by URL.

Tables
------
Append-only (UPDATE, DELETE and TRUNCATE refused by triggers on both back ends):

``meta``          ledger id, registry key, schema version, coefficient set
``log``           one row per transaction: sequence number, signer and client id
                  (unique together), canonical record bytes, RFC 6962 leaf hash and
                  the tree root after it
``heads``         the registry-signed tree head of every commit (:mod:`gep.ledger.heads`)
``merkle``        hash of every perfect subtree ``(level, index)`` of the log
``accounts``      opened accounts and their owner keys
``instruments``   instruments issued so far and their evidence selection
``caps``          the cap of each instrument: first run cited, then each recalculation
``postings``      double-entry lines ``(seq, instrument, account, ±amount)``
``evidence_use``  amount issued against each evidence citation, with its cap
``prices``        transfer prices (CNY per display unit)
``trades``        market trades settled (:data:`gep.ledger.rules.TRADE_FIELDS`)

Projections (current state, updated in the same transaction, recomputed and
compared by ``verify``): ``balances`` (with a CHECK that only ``sys:issuance``
may be negative), ``blocks`` (serial ranges and their holders) and ``market``
(the current document of each listing, bid, obligation and the ratio table in
force, canonical JSON).

Concurrency and durability
--------------------------
SQLite: WAL journal, ``synchronous=FULL``, every write in ``BEGIN IMMEDIATE``
(one writer at a time; readers never block). PostgreSQL: every write in a
``SERIALIZABLE`` transaction whose first statement is ``LOCK TABLE log IN
EXCLUSIVE MODE`` (appends to the Merkle log are sequential anyway; taking the
lock before the first query makes the transaction's snapshot start after the
previous writer's commit; readers are not blocked), retried on serialization
failure or deadlock. A transaction either commits whole or leaves nothing.

Timeouts (:class:`Timeouts`, from ``$GEP_LEDGER_LOCK_TIMEOUT``,
``$GEP_LEDGER_STATEMENT_TIMEOUT``, ``$GEP_LEDGER_IDLE_TIMEOUT`` in seconds): a writer
waits at most ``lock`` seconds for another writer (SQLite busy timeout;
PostgreSQL ``lock_timeout``) and then gets a one-line :class:`StorageError`; on
PostgreSQL every statement of a write is cut after ``statement`` seconds
(``statement_timeout``; reads, which block no writer, are not) and a session
idle inside a transaction (a frozen or
killed client holding the log lock) is ended by the server after ``idle``
seconds (``idle_in_transaction_session_timeout``), releasing its locks.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from bisect import insort
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from gep.ledger.errors import AlreadyInitialised, LedgerError, NotInitialised, StorageError
from gep.ledger.model import Account, Instrument
from gep.ledger.canonical import canonical
from gep.ledger.rules import TRADE_FIELDS, State, instrument_info
from gep.numbers import parse_decimal

__all__ = ["open_store", "Store", "SqliteStore", "PostgresStore", "SqlState", "Timeouts", "APPEND_ONLY", "SCHEMA_VERSION"]

T = TypeVar("T")
#: Version of the tables and of the records (2: signed heads, genesis parameters, signer-scoped ids;
#: 3: the market: cash, allocated rights, listings, auctions, trades, ratios, obligations; zones and roles).
SCHEMA_VERSION = "3"
#: Tables whose rows are never changed or removed.
APPEND_ONLY = ("meta", "log", "heads", "merkle", "accounts", "instruments", "caps", "postings", "evidence_use", "prices", "trades")

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE log (
  seq BIGINT PRIMARY KEY,
  signer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  type TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  record {blob} NOT NULL,
  leaf_hash TEXT NOT NULL,
  root TEXT NOT NULL,
  time TEXT NOT NULL,
  UNIQUE (signer, client_id)
);
CREATE TABLE heads (tree_size BIGINT PRIMARY KEY, root_hash TEXT NOT NULL, timestamp TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE caps (seq BIGINT PRIMARY KEY, instrument TEXT NOT NULL, key TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, cap BIGINT NOT NULL);
CREATE INDEX caps_instrument ON caps (instrument, seq);
CREATE INDEX caps_key ON caps (key);
CREATE TABLE merkle (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE accounts (id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT NOT NULL, seq BIGINT NOT NULL, zone TEXT, role TEXT);
CREATE TABLE instruments (id TEXT PRIMARY KEY, kind TEXT NOT NULL, base_unit TEXT NOT NULL, display_unit TEXT NOT NULL,
                          binding TEXT NOT NULL, seq BIGINT NOT NULL);
CREATE TABLE postings (seq BIGINT NOT NULL, instrument TEXT NOT NULL, account TEXT NOT NULL, amount BIGINT NOT NULL,
                       PRIMARY KEY (seq, instrument, account));
CREATE INDEX postings_account ON postings (account, instrument, seq);
CREATE INDEX postings_instrument ON postings (instrument, seq);
CREATE TABLE evidence_use (seq BIGINT PRIMARY KEY, key TEXT NOT NULL, instrument TEXT NOT NULL, amount BIGINT NOT NULL, cap BIGINT NOT NULL);
CREATE INDEX evidence_key ON evidence_use (key);
CREATE TABLE prices (seq BIGINT PRIMARY KEY, instrument TEXT NOT NULL, amount BIGINT NOT NULL, price TEXT NOT NULL, time TEXT NOT NULL);
CREATE INDEX prices_instrument ON prices (instrument, seq);
CREATE TABLE balances (account TEXT NOT NULL, instrument TEXT NOT NULL, amount BIGINT NOT NULL,
                       PRIMARY KEY (account, instrument), CHECK (amount >= 0 OR account = 'sys:issuance'));
CREATE TABLE blocks (instrument TEXT NOT NULL, start_serial BIGINT NOT NULL, end_serial BIGINT NOT NULL, holder TEXT NOT NULL,
                     seq BIGINT NOT NULL, PRIMARY KEY (instrument, start_serial), CHECK (end_serial >= start_serial));
CREATE INDEX blocks_holder ON blocks (holder, instrument, start_serial);
CREATE TABLE trades (seq BIGINT NOT NULL, n INTEGER NOT NULL, listing BIGINT NOT NULL, instrument TEXT NOT NULL, mechanism TEXT NOT NULL,
                     seller TEXT NOT NULL, buyer TEXT NOT NULL, quantity BIGINT NOT NULL, received BIGINT NOT NULL, price TEXT NOT NULL,
                     payment BIGINT NOT NULL, ratio TEXT NOT NULL, reserve TEXT NOT NULL, time TEXT NOT NULL, PRIMARY KEY (seq, n));
CREATE INDEX trades_instrument ON trades (instrument, seq);
CREATE INDEX trades_listing ON trades (listing);
CREATE TABLE market (kind TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (kind, key));
"""


@dataclass(frozen=True)
class Timeouts:
    """How long the store waits [s] (see the module docstring).

    Attributes
    ----------
    lock : float
        Longest wait for another writer's lock (default 10 s).
    statement : float
        Longest single SQL statement on PostgreSQL (default 60 s).
    idle : float
        Longest a PostgreSQL session may sit idle inside a transaction before the
        server ends it and releases its locks (default 30 s).
    """

    lock: float = 10.0
    statement: float = 60.0
    idle: float = 30.0

    ENV = {"lock": "GEP_LEDGER_LOCK_TIMEOUT", "statement": "GEP_LEDGER_STATEMENT_TIMEOUT", "idle": "GEP_LEDGER_IDLE_TIMEOUT"}

    @classmethod
    def from_env(cls) -> "Timeouts":
        """Defaults, overridden by ``$GEP_LEDGER_LOCK_TIMEOUT`` etc. (seconds, > 0)."""
        values = {}
        for name, var in cls.ENV.items():
            text = os.environ.get(var)
            if text:
                value = parse_decimal(text, f"${var}", max_exponent=6, error=StorageError)
                if not value > 0:
                    raise StorageError(f"${var} = {text!r} is not a positive number of seconds", hint=f"e.g. {var}=10")
                values[name] = float(value)
        return cls(**values)

    def ms(self, name: str) -> int:
        """A timeout in whole milliseconds (PostgreSQL settings)."""
        return max(1, int(getattr(self, name) * 1000))


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip()]


class Tx:
    """A write or read transaction: ``x`` executes, ``q`` returns rows, ``one`` the first row."""

    def __init__(self, store: "Store", cur: Any):
        self.store = store
        self.cur = cur
        self._sp = 0

    def _exec(self, sql: str, params: tuple) -> None:
        if params:
            self.cur.execute(self.store.sql(sql), params)
        else:  # no placeholder processing (DDL may contain '%')
            self.cur.execute(sql)

    def x(self, sql: str, params: tuple = ()) -> int:
        self._exec(sql, params)
        return self.cur.rowcount

    def many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.cur.executemany(self.store.sql(sql), rows)

    def q(self, sql: str, params: tuple = ()) -> list[tuple]:
        self._exec(sql, params)
        return list(self.cur.fetchall())

    def one(self, sql: str, params: tuple = ()) -> tuple | None:
        self._exec(sql, params)
        return self.cur.fetchone()

    def stream(self, sql: str, params: tuple = (), size: int = 2000) -> Iterator[tuple]:
        self._exec(sql, params)
        while True:
            rows = self.cur.fetchmany(size)
            if not rows:
                return
            yield from rows

    def savepoint(self) -> str:
        self._sp += 1
        name = f"sp{self._sp}"
        self.cur.execute(f"SAVEPOINT {name}")
        return name

    def release(self, name: str) -> None:
        self.cur.execute(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        self.cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
        self.cur.execute(f"RELEASE SAVEPOINT {name}")


class Store:
    """Common part of the two back ends."""

    dialect = "?"
    target = ""

    def sql(self, text: str) -> str:
        return text

    def write(self, fn: Callable[[Tx], T], create: bool = False) -> T:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, fn: Callable[[Tx], T]) -> T:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ schema
    def schema(self) -> list[str]:
        """DDL statements of the tables, indexes and append-only triggers."""
        raise NotImplementedError

    def has_schema(self, tx: Tx) -> bool:
        raise NotImplementedError

    def create(self, tx: Tx) -> None:
        """Create the schema (inside the caller's write transaction)."""
        if self.has_schema(tx):
            row = tx.one("SELECT value FROM meta WHERE key = 'ledger_id'")
            raise AlreadyInitialised(f"{self.describe()} already holds ledger {row[0] if row else '?'}",
                                     hint="use another database file or URL (a ledger is never re-initialised)")
        for stmt in self.schema():
            tx.x(stmt)

    def check_initialised(self, tx: Tx) -> None:
        if not self.has_schema(tx) or tx.one("SELECT value FROM meta WHERE key = 'ledger_id'") is None:
            raise NotInitialised(f"{self.describe()} holds no ledger", hint="create one with `gep ledger init`")

    def describe(self) -> str:
        return self.target


# --------------------------------------------------------------------------- SQLite


class SqliteStore(Store):
    """A ledger in one SQLite file (WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` writers)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, create: bool = False, timeouts: Timeouts | None = None):
        self.path = Path(path)
        self.target = str(self.path)
        self.timeouts = timeouts or Timeouts.from_env()
        self.timeout = timeout = self.timeouts.lock
        if not create and not self.path.is_file():
            raise NotInitialised(f"ledger database {self.path} not found", hint="create it with `gep ledger init`, or name another database (GEP_LEDGER)", key="db")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"cannot switch {self.path} to WAL journal mode (got {mode})", hint="put the ledger on a local file system")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open ledger database {self.path}: {exc}", hint="is it a gep ledger (SQLite) file?") from exc

    def schema(self) -> list[str]:
        out = _statements(_TABLES.format(blob="BLOB"))
        for t in APPEND_ONLY:
            for op in ("UPDATE", "DELETE"):
                out.append(f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} "
                           f"BEGIN SELECT RAISE(ABORT, 'gep ledger: {t} is append-only ({op} refused)'); END")
        return out

    def has_schema(self, tx: Tx) -> bool:
        return tx.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'") is not None

    def _begin(self, sql: str) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while True:
            try:
                self.conn.execute(sql)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StorageError(f"cannot start a transaction on {self.path}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StorageError(f"{self.path} stayed locked by another writer for {self.timeout:g} s (lock timeout)",
                                       hint="retry later; a writer that froze holds the lock until it is ended; raise $GEP_LEDGER_LOCK_TIMEOUT to wait longer") from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.1)

    def _run(self, begin: str, fn: Callable[[Tx], T]) -> T:
        self._begin(begin)
        cur = self.conn.cursor()
        try:
            result = fn(Tx(self, cur))
            self.conn.execute("COMMIT")
            return result
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise StorageError(f"ledger database {self.path}: {exc}") from exc
            raise
        finally:
            cur.close()

    def write(self, fn: Callable[[Tx], T], create: bool = False) -> T:
        """Run ``fn`` in one ``BEGIN IMMEDIATE`` transaction (committed, or rolled back on any error)."""
        return self._run("BEGIN IMMEDIATE", fn)

    def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` on one consistent snapshot."""
        return self._run("BEGIN", fn)

    def hold_writers(self, wait: float = 0.5) -> Callable[[], None] | None:
        """Take the write lock on a connection of its own: no writer commits until the function returned is called.

        A read transaction that begins while it is held sees the same log as any other that
        begins before it is released (verify's two processes, :class:`gep.ledger.records.Spawned`).
        None when the lock cannot be had within ``wait`` seconds (a writer holds it) or at all
        (a read-only file): the caller then reads in one transaction.
        """
        conn = None
        try:
            conn = sqlite3.connect(str(self.path), timeout=wait, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            if conn is not None:
                conn.close()
            return None
        held = [conn]

        def release() -> None:
            while held:
                c = held.pop()
                try:
                    c.execute("ROLLBACK")
                finally:
                    c.close()

        return release

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- PostgreSQL


class PostgresStore(Store):
    """A ledger in a PostgreSQL database (``SERIALIZABLE`` writers, retried, behind a table lock on the log).

    The URL may choose a schema with libpq options, e.g.
    ``postgresql://user@host/db?options=-csearch_path%3Dledger``.
    """

    dialect = "postgresql"

    def __init__(self, url: str, retries: int = 50, timeouts: Timeouts | None = None):
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise StorageError("PostgreSQL needs the psycopg package", hint="pip install 'gep[ledger]' (psycopg[binary])") from exc
        self._pg = psycopg
        self.url = url
        self.target = _redact(url)
        self.retries = retries
        self.timeouts = t = timeouts or Timeouts.from_env()
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(t.lock)))
            for name, setting in (("lock", "lock_timeout"), ("statement", "statement_timeout"), ("idle", "idle_in_transaction_session_timeout")):
                self.conn.execute(f"SET {setting} = {t.ms(name)}")
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.target}: {_first_line(exc)}",
                               hint="check the URL, that the server runs and accepts the user") from exc

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def schema(self) -> list[str]:
        out = _statements(_TABLES.format(blob="BYTEA"))
        out.append(
            "CREATE OR REPLACE FUNCTION gep_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'gep ledger: % is append-only (% refused)', TG_TABLE_NAME, TG_OP; END $$"
        )
        for t in APPEND_ONLY:
            out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION gep_ledger_append_only()")
            out.append(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION gep_ledger_append_only()")
        return out

    def has_schema(self, tx: Tx) -> bool:
        return tx.one("SELECT to_regclass('meta') IS NOT NULL")[0]

    def _run(self, begin: str, fn: Callable[[Tx], T], lock: bool) -> T:  # noqa: C901
        pg = self._pg
        retryable = (pg.errors.SerializationFailure, pg.errors.DeadlockDetected)
        for attempt in range(self.retries):
            cur = self.conn.cursor()
            try:
                cur.execute(begin)
                if lock:  # before any query, so that the snapshot follows the previous writer's commit
                    try:
                        cur.execute("LOCK TABLE log IN EXCLUSIVE MODE")
                    except pg.errors.UndefinedTable as exc:
                        raise NotInitialised(f"{self.target} holds no ledger", hint="create one with `gep ledger init`") from exc
                result = fn(Tx(self, cur))
                cur.execute("COMMIT")
                return result
            except retryable:
                self._rollback(cur)
                time.sleep(min(0.001 * 2 ** attempt, 0.2) * (1 + random.random()))
                continue
            except LedgerError:
                self._rollback(cur)
                raise
            except pg.errors.LockNotAvailable as exc:
                self._rollback(cur)
                raise StorageError(f"{self.target}: another writer held the ledger's write lock for more than {self.timeouts.lock:g} s (lock_timeout)",
                                   hint="retry later; a frozen writer's session is ended by the server after $GEP_LEDGER_IDLE_TIMEOUT "
                                        f"({self.timeouts.idle:g} s); raise $GEP_LEDGER_LOCK_TIMEOUT to wait longer") from exc
            except pg.errors.QueryCanceled as exc:
                self._rollback(cur)
                raise StorageError(f"{self.target}: a statement ran longer than {self.timeouts.statement:g} s (statement_timeout) and was cancelled",
                                   hint="retry later, or raise $GEP_LEDGER_STATEMENT_TIMEOUT") from exc
            except pg.Error as exc:
                self._rollback(cur)
                raise StorageError(f"{self.target}: {_first_line(exc)}") from exc
            except BaseException:
                self._rollback(cur)
                raise
            finally:
                cur.close()
        raise StorageError(f"{self.target}: transaction still conflicting after {self.retries} retries", hint="retry later")

    def _rollback(self, cur: Any) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except self._pg.Error:  # pragma: no cover - connection lost
            pass

    def write(self, fn: Callable[[Tx], T], create: bool = False) -> T:
        """Run ``fn`` in a ``SERIALIZABLE`` transaction holding the log's write lock (``create``: no lock, new schema)."""
        return self._run("BEGIN ISOLATION LEVEL SERIALIZABLE", fn, lock=not create)

    def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` on one consistent snapshot (``REPEATABLE READ``, read only).

        Without a statement timeout: a reader blocks no writer (it holds no lock that a
        writer's ``EXCLUSIVE`` lock on the log waits for), and reading a long log for
        ``verify`` may rightly take longer than any write should.
        """
        def unlimited(tx: Tx) -> T:
            tx.x("SET LOCAL statement_timeout = 0")
            return fn(tx)

        return self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", unlimited, lock=False)

    def close(self) -> None:
        self.conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redact(url: str) -> str:
    """The URL without its password (for messages)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def is_url(target: str) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path, create: bool = False, timeouts: Timeouts | None = None) -> Store:
    """Open a ledger database: a PostgreSQL URL or a SQLite path (``sqlite:///path`` too).

    Parameters
    ----------
    target : str or Path
        ``postgresql://...`` or a file path.
    create : bool
        Create the SQLite file if missing (``init``).
    timeouts : Timeouts, optional
        Default: :meth:`Timeouts.from_env`.
    """
    text = str(target)
    if is_url(text):
        return PostgresStore(text, timeouts=timeouts)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):] if text.startswith("sqlite:////") else text[len("sqlite://"):]
        text = text if text.startswith("/") else text.lstrip("/")
    return SqliteStore(text, create=create, timeouts=timeouts)


# --------------------------------------------------------------------------- SQL state


class SqlState(State):
    """:class:`gep.ledger.rules.State` on the tables of a write transaction (one per submission).

    Reads of rows that never change once written (accounts, instruments, the genesis
    parameters) are cached; balances are read once and written back, and the
    append-only rows (log, Merkle nodes, postings, evidence use, prices) are inserted
    together by :meth:`flush` at the end of the submission. Serial blocks: the lowest
    :attr:`BLOCKS_AHEAD` blocks of a source holder are read once and kept up to date
    in memory, and changed blocks are written back (upserted) before any further read
    of the table and at the end. :meth:`mark` and :meth:`reset` follow the savepoints
    of an independent batch.
    """

    #: Blocks of a holder read at a time (a transfer moves the lowest first).
    BLOCKS_AHEAD = 64

    PENDING = {
        "log": "INSERT INTO log (seq, signer, client_id, type, request_sha256, record, leaf_hash, root, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "merkle": "INSERT INTO merkle (level, idx, hash) VALUES (?, ?, ?)",
        "postings": "INSERT INTO postings (seq, instrument, account, amount) VALUES (?, ?, ?, ?)",
        "evidence_use": "INSERT INTO evidence_use (seq, key, instrument, amount, cap) VALUES (?, ?, ?, ?, ?)",
        "prices": "INSERT INTO prices (seq, instrument, amount, price, time) VALUES (?, ?, ?, ?, ?)",
        "trades": "INSERT INTO trades (seq, n, " + ", ".join(TRADE_FIELDS) + ") VALUES (" + ", ".join("?" * (len(TRADE_FIELDS) + 2)) + ")",
    }

    def __init__(self, tx: Tx):
        from gep.ledger.canonical import parse

        self.tx = tx
        self.verified = set()
        self.dvp_open = None
        rows = dict(tx.q("SELECT key, value FROM meta WHERE key IN ('ledger_id', 'registry')"))
        self.ledger_id = rows.get("ledger_id")
        self.registry = rows.get("registry")
        genesis = tx.one("SELECT record FROM log WHERE seq = 1")
        if genesis is not None:  # the parameters come from the signed genesis record, not from a table
            request = parse(bytes(genesis[0]))["request"]
            self.params, self.operators = request["params"], tuple(request.get("operators", []))
        self._accounts: dict[str, Account] = {}
        self._instruments: dict[str, dict] = {}
        self._balances: dict[tuple[str, str], int] = {}
        self._dirty: set[tuple[str, str]] = set()
        self.pending: dict[str, list[tuple]] = {name: [] for name in self.PENDING}
        #: (holder, instrument) -> (the holder's lowest blocks [(start, end)], whether that is all of them)
        self._held: dict[tuple[str, str], tuple[list[tuple[int, int]], bool]] = {}
        #: (instrument, start) -> (end, holder, seq) of blocks changed and not yet written
        self._blocks: dict[tuple[str, int], tuple[int, str, int]] = {}
        #: (kind, key) -> document of market objects read or written (None: absent), and those to write
        self._market: dict[tuple[str, str], dict | None] = {}
        self._market_dirty: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------ submission
    def mark(self) -> tuple:
        """A snapshot of what is held in memory (taken with a savepoint; block changes are written first)."""
        self._write_blocks()
        return (dict(self._balances), set(self._dirty), {k: len(v) for k, v in self.pending.items()}, dict(self._instruments), self.dvp_open,
                dict(self._market), dict(self._market_dirty))

    def reset(self, mark: tuple) -> None:
        """Back to :meth:`mark` (after rolling back to its savepoint)."""
        self._balances, self._dirty, lengths, self._instruments, self.dvp_open, self._market, self._market_dirty = mark
        self._balances, self._dirty, self._instruments = dict(self._balances), set(self._dirty), dict(self._instruments)
        self._market, self._market_dirty = dict(self._market), dict(self._market_dirty)
        for k, n in lengths.items():
            del self.pending[k][n:]
        self._blocks.clear()
        self._held.clear()

    def _write_blocks(self) -> None:
        if self._blocks:
            self.tx.many("INSERT INTO blocks (instrument, start_serial, end_serial, holder, seq) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (instrument, start_serial) DO UPDATE SET end_serial = excluded.end_serial, holder = excluded.holder, seq = excluded.seq",
                         [(i, s, e, h, q) for (i, s), (e, h, q) in sorted(self._blocks.items())])
            self._blocks.clear()

    def flush(self) -> None:
        """Write the pending rows, the changed blocks and the changed balances."""
        self._write_blocks()
        for name, sql in self.PENDING.items():
            self.tx.many(sql, self.pending[name])
            self.pending[name].clear()
        self.tx.many("INSERT INTO balances (account, instrument, amount) VALUES (?, ?, ?) "
                     "ON CONFLICT (account, instrument) DO UPDATE SET amount = excluded.amount",
                     [(a, i, self._balances[(a, i)]) for a, i in sorted(self._dirty)])
        self._dirty.clear()
        if self._market_dirty:
            self.tx.many("INSERT INTO market (kind, key, doc, seq) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, seq = excluded.seq",
                         [(k, key, canonical(self._market[(k, key)]).decode(), seq) for (k, key), seq in sorted(self._market_dirty.items())])
            self._market_dirty.clear()

    # ------------------------------------------------------------ reads
    def account(self, account_id):
        acc = self._accounts.get(account_id)
        if acc is None:  # accounts never change once opened
            row = self.tx.one("SELECT kind, owner, zone, role FROM accounts WHERE id = ?", (account_id,))
            if row is None:
                return None
            acc = self._accounts[account_id] = Account(account_id, *row)
        return acc

    def instrument(self, instrument_id):
        ins = self._instruments.get(instrument_id)
        if ins is None:
            row = self.tx.one("SELECT kind, binding FROM instruments WHERE id = ?", (instrument_id,))
            if row is None:
                return None
            ins = self._instruments[instrument_id] = instrument_info(row[0], row[1])
        return ins

    def balance(self, account_id, instrument_id):
        key = (account_id, instrument_id)
        if key not in self._balances:
            row = self.tx.one("SELECT amount FROM balances WHERE account = ? AND instrument = ?", key)
            self._balances[key] = int(row[0]) if row else 0
        return self._balances[key]

    def evidence_used(self, key):
        row = self.tx.one("SELECT COALESCE(SUM(amount), 0) FROM evidence_use WHERE key = ?", (key,))
        return int(row[0]) + sum(r[3] for r in self.pending["evidence_use"] if r[1] == key)

    def cap(self, instrument_id):
        row = self.tx.one("SELECT key, manifest_sha256, cap, seq FROM caps WHERE instrument = ? ORDER BY seq DESC LIMIT 1", (instrument_id,))
        return {"key": row[0], "manifest_sha256": row[1], "cap": int(row[2]), "seq": int(row[3])} if row else None

    def evidence_instrument(self, key):
        row = self.tx.one("SELECT instrument FROM caps WHERE key = ? LIMIT 1", (key,))
        return row[0] if row else None

    def _query_blocks(self, holder: str, instrument_id: str, after: int, limit: int) -> list[tuple[int, int]]:
        self._write_blocks()
        return [(int(a), int(b)) for a, b in self.tx.q(
            "SELECT start_serial, end_serial FROM blocks WHERE holder = ? AND instrument = ? AND start_serial > ? ORDER BY start_serial LIMIT ?",
            (holder, instrument_id, after, limit))]

    def holder_blocks(self, account_id, instrument_id, after, limit):
        key = (account_id, instrument_id)
        if key not in self._held:
            rows = self._query_blocks(account_id, instrument_id, 0, self.BLOCKS_AHEAD)
            self._held[key] = (rows, len(rows) < self.BLOCKS_AHEAD)
        blocks, complete = self._held[key]
        out = [b for b in blocks if b[0] > after][:limit]
        if len(out) < limit and not complete:  # beyond what is held in memory
            horizon = max(after, blocks[-1][0] if blocks else 0)
            out += self._query_blocks(account_id, instrument_id, horizon, limit - len(out))
        return out

    def _hold(self, holder: str, instrument_id: str, start: int, end: int) -> None:
        """A block now held by ``holder``: add it to the blocks in memory when it falls among them."""
        held = self._held.get((holder, instrument_id))
        if held is not None and (held[1] or (held[0] and start < held[0][-1][0])):
            insort(held[0], (start, end))

    # ------------------------------------------------------------ writes
    def set_genesis(self, ledger_id, registry, params, operators):
        self.tx.many("INSERT INTO meta (key, value) VALUES (?, ?)", [("ledger_id", ledger_id), ("registry", registry)])
        self.ledger_id, self.registry, self.params, self.operators = ledger_id, registry, params, tuple(operators)

    def add_account(self, account, seq):
        self.tx.x("INSERT INTO accounts (id, kind, owner, seq, zone, role) VALUES (?, ?, ?, ?, ?, ?)",
                  (account.id, account.kind, account.owner, seq, account.zone, account.role))

    def add_instrument(self, instrument: Instrument, binding, seq):
        self._instruments[instrument.id] = instrument_info(instrument.kind, binding)
        self.tx.x("INSERT INTO instruments (id, kind, base_unit, display_unit, binding, seq) VALUES (?, ?, ?, ?, ?, ?)",
                  (instrument.id, instrument.kind, instrument.base_unit, instrument.display_unit, binding, seq))

    def post(self, seq, instrument_id, account_id, amount):
        self.pending["postings"].append((seq, instrument_id, account_id, amount))
        key = (account_id, instrument_id)
        self._balances[key] = self.balance(account_id, instrument_id) + amount
        self._dirty.add(key)

    def new_block(self, instrument_id, start, end, holder, seq):
        self._blocks[(instrument_id, start)] = (end, holder, seq)
        self._hold(holder, instrument_id, start, end)

    def give(self, instrument_id, start, end, src, dst, seq):
        self._blocks[(instrument_id, start)] = (end, dst, seq)
        held = self._held.get((src, instrument_id))
        if held is not None:
            held[0][:] = [b for b in held[0] if b[0] != start]
        self._hold(dst, instrument_id, start, end)

    def move_head(self, instrument_id, start, cut, end, src, dst, seq):
        self._blocks[(instrument_id, start)] = (cut - 1, dst, seq)
        self._blocks[(instrument_id, cut)] = (end, src, seq)
        held = self._held.get((src, instrument_id))
        if held is not None:
            held[0][:] = [(cut, end) if s == start else (s, e) for s, e in held[0]]
        self._hold(dst, instrument_id, start, cut - 1)

    # move() uses give() and move_head(); these two write through (and forget the blocks held)
    def set_holder(self, instrument_id, start, holder, seq):
        self._write_blocks()
        self._held.clear()
        self.tx.x("UPDATE blocks SET holder = ?, seq = ? WHERE instrument = ? AND start_serial = ?", (holder, seq, instrument_id, start))

    def split_block(self, instrument_id, start, cut, end, holder, seq):
        self._write_blocks()
        self._held.clear()
        self.tx.x("UPDATE blocks SET end_serial = ? WHERE instrument = ? AND start_serial = ?", (cut - 1, instrument_id, start))
        self.tx.x("INSERT INTO blocks (instrument, start_serial, end_serial, holder, seq) VALUES (?, ?, ?, ?, ?)", (instrument_id, cut, end, holder, seq))

    def use_evidence(self, seq, key, instrument_id, amount, cap):
        self.pending["evidence_use"].append((seq, key, instrument_id, amount, cap))

    def set_cap(self, seq, instrument_id, key, manifest_sha256, cap):
        self.tx.x("INSERT INTO caps (seq, instrument, key, manifest_sha256, cap) VALUES (?, ?, ?, ?, ?)", (seq, instrument_id, key, manifest_sha256, cap))

    def add_price(self, seq, instrument_id, amount, price, time_):
        self.pending["prices"].append((seq, instrument_id, amount, price, time_))

    def market_get(self, kind, key):
        k = (kind, key)
        if k not in self._market:
            row = self.tx.one("SELECT doc FROM market WHERE kind = ? AND key = ?", k)
            self._market[k] = json.loads(row[0]) if row else None
        return self._market[k]

    def market_put(self, kind, key, doc, seq):
        self._market[(kind, key)] = doc
        self._market_dirty[(kind, key)] = seq

    def add_trade(self, seq, n, trade):
        self.pending["trades"].append((seq, n, *(trade[f] for f in TRADE_FIELDS)))
