"""A small pool of open ledgers, one per concurrent request (a database connection is not thread-safe)."""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterator

from gep.ledger.errors import StorageError


class PoolBusy(StorageError):
    """Every connection of the pool stayed busy (the only storage error whose message the API sends as it is)."""

__all__ = ["LedgerPool"]


class LedgerPool:
    """Up to ``size`` :class:`~gep.ledger.ledger.Ledger` objects on one database.

    Parameters
    ----------
    target : str
        SQLite path or PostgreSQL URL.
    size : int
        Most connections open at once; a request waits up to ``timeout`` seconds for one.
    head_key : str, optional
        The registry's private key file: every commit ends with a tree head signed by it.
        Without it the ledger is read-only (a write is refused, saying so).
    clock : callable, optional
        The ledgers' clock (default: the system's UTC time; tests move a clock by hand).
    """

    def __init__(self, target: str, size: int = 8, timeout: float = 30.0, head_key: str | None = None, clock=None):
        from gep.audit.evidence import RunFiles
        from gep.ledger.keys import load_private

        self.target = target
        self.size = size
        self.timeout = timeout
        self.head_key = load_private(head_key) if head_key else None
        self.files = RunFiles()
        self.clock = clock
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._open = 0
        self._lock = threading.Lock()
        self._owners: dict[str, str] = {}
        first = self._open_one()  # fails now (exit 2) when the database holds no ledger
        self.id, self.registry, self.coefficients = first.id, first.registry, first.coefficients
        self.dialect = first.store.dialect
        self._open = 1
        self._idle.put(first)

    def _open_one(self):
        from gep.ledger.ledger import Ledger

        return Ledger.open(self.target, self.head_key, clock=self.clock, files=self.files)

    @property
    def writable(self) -> bool:
        """True when the server holds the head key (it can record signed requests)."""
        return self.head_key is not None

    @contextmanager
    def ledger(self) -> Iterator:
        """Borrow a ledger for the duration of a ``with`` block."""
        try:
            led = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._open < self.size
                if grow:
                    self._open += 1
            if grow:
                try:
                    led = self._open_one()
                except BaseException:
                    with self._lock:
                        self._open -= 1
                    raise
            else:
                try:
                    led = self._idle.get(timeout=self.timeout)
                except queue.Empty:
                    raise PoolBusy(f"all {self.size} ledger connections stayed busy for {self.timeout:.0f} s", hint="retry later") from None
        broken = False
        try:
            yield led
        except StorageError:
            broken = True  # the connection may be gone: open a fresh one next time
            raise
        finally:
            if broken:
                led.close()
                with self._lock:
                    self._open -= 1
            else:
                self._idle.put(led)

    def info(self) -> dict:
        """What a page needs to build requests: ledger id, registry key, request format version, whether writes are recorded."""
        from gep.ledger.rules import VERSION

        return {"ledger": self.id, "registry": self.registry, "version": VERSION, "writable": self.writable}

    def owner(self, led, account: str) -> str | None:
        """The owner key of ``account`` (None: no such account), from a cache filled from ``led.accounts()``.

        Accounts are append-only and an owner never changes (docs/ledger.md), so a cached entry
        stays right; an unknown id re-reads the accounts once (it may have been opened since).
        """
        found = self._owners.get(account)
        if found is None:
            fresh = {a["id"]: a["owner"] for a in led.accounts()}
            with self._lock:
                self._owners.update(fresh)
            found = fresh.get(account)
        return found

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
