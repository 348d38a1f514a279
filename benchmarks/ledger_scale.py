"""Scale run of the rights ledger on SQLite: build a ledger of N transactions, then verify it.

Usage::

    python benchmarks/ledger_scale.py --transactions 100000 [--dir DIR] [--batch 1000]

The log holds exactly N transactions: genesis, two account openings and one issuance
(``capacity/2/COD/2024`` to alice, against the test evidence of
``tests/ledger/helpers.py``), then ``--singles`` single transfers of 1 kg alice -> bob (one
request per database transaction and signed tree head, timed) and the rest as linked
batches of ``--batch`` transfers (``submit_many``, timed). Single transfers are signed one
by one; a batch is signed by the client with one batch signature (``Ledger.sign_many``).
Signing is inside the timing, as a client does it; one batch is also timed pre-signed
(submission alone). The ledger is then closed and reopened, and ``verify`` (full replay,
signed heads and table comparison, ``gep.ledger.verify.verify_ledger``) is timed, then again
keeping its checkpoint; then ``--incremental`` more transfers are added and verified from it.
Last (untimed), one more batch is written with SQLite's automatic checkpoints off, to count the
database pages a batch writes (``wal_pages_per_batch``: what each commit writes to the WAL and fsyncs).

With ``--market N`` (format 3 ledgers), the script then measures the market: a buyer with cash
takes a fixed-price listing of N kg in N fills of 1 kg (each a bid settled delivery versus payment:
rights out of escrow, cash to the seller), signed with one batch signature per ``--batch`` bids and
submitted as linked batches (timed), and verifies them incrementally from a checkpoint (timed).

Every figure is given as wall-clock time and as CPU time (user + system, of the process and of
the children it waited for: a long verify forks a second process for the records' own checks);
on a shared machine the wall clock also counts the time other processes held the cores.

Prints one JSON line: transactions, build seconds, batch and single transfers per second,
verify seconds, incremental verify, pages written per batch, database size [bytes] and peak RSS [MiB].
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gep.audit.evidence import RunFiles  # noqa: E402
from gep.ledger import keys  # noqa: E402
from gep.ledger.verify import verify_ledger  # noqa: E402
from gep.ledger.ledger import Ledger  # noqa: E402
from tests.ledger.helpers import make_runs, operator  # noqa: E402

#: Instrument of the benchmarks: its evidence cap is 10^9 kg, so 1 kg transfers never run out.
INS = "capacity/2/COD/2024"
#: Issued to alice [kg]; every transfer moves 1 kg alice -> bob.
ISSUED = 10**8
#: Records written by :func:`setup` (genesis, open alice, open bob, issue).
SETUP_RECORDS = 4


def setup(db: Path, folder: Path):
    """A fresh SQLite ledger at ``db`` with accounts alice and bob; alice holds ``ISSUED`` kg of ``INS``.

    Returns ``(ledger, alice key pair)``.
    """
    runs = make_runs(folder)
    registry, alice, bob = keys.generate(), keys.generate(), keys.generate()
    keys.write_keypair(registry, folder / "registry.key")
    led = Ledger.init(str(db), registry, operators=[operator().public], files=RunFiles())
    led.open_account(registry, "alice", alice.public, id="open-alice")
    led.open_account(registry, "bob", bob.public, id="open-bob")
    led.issue(registry, INS, ISSUED, "alice", runs["capacity"], id="issue-1")
    return led, alice


def cpu_seconds() -> float:
    """CPU seconds of this process and of its ended children (verify's forked record checker, :mod:`gep.ledger.records`).

    From ``getrusage`` (microseconds), not ``os.times`` (clock ticks of 10 ms: one pre-signed batch takes about 0.1 s).
    """
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """Wall-clock and CPU seconds of a block (CPU: this process and the children it waited for)."""

    def __enter__(self) -> "Clock":
        self.w, self.c = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w, cpu_seconds() - self.c

    def rates(self, n: int, name: str) -> dict:
        return {f"{name}_per_s_wall": round(n / self.wall, 1), f"{name}_per_s_cpu": round(n / self.cpu, 1)}


def single(led: Ledger, alice) -> None:
    """One signed 1 kg transfer alice -> bob in its own database transaction."""
    led.transfer(alice, INS, 1, "alice", "bob")


def signed_batch(led: Ledger, alice, n: int) -> list:
    """``n`` 1 kg transfers alice -> bob, signed by the client with one batch signature."""
    fields = led.transfer_fields(INS, 1, "alice", "bob")
    return led.sign_many(alice, [("transfer", fields, None) for _ in range(n)])


def batch(led: Ledger, alice, n: int) -> None:
    """``n`` 1 kg transfers alice -> bob, signed with one batch signature, in one linked database transaction."""
    led.submit_many(signed_batch(led, alice, n), linked=True)


def fill(led: Ledger, alice, transfers: int, size: int = 1000) -> None:
    """Append ``transfers`` transfers in linked batches of ``size``."""
    while transfers > 0:
        n = min(size, transfers)
        batch(led, alice, n)
        transfers -= n


def db_bytes(db: Path) -> int:
    """Size of the SQLite database with its WAL and shared-memory files (if any)."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transactions", type=int, default=100_000, help="log size to build (>= %d)" % (SETUP_RECORDS + 1))
    p.add_argument("--singles", type=int, default=1000, help="single transfers measured (default 1000)")
    p.add_argument("--batch", type=int, default=1000, help="transfers per linked batch (default 1000)")
    p.add_argument("--incremental", type=int, default=1000, help="transfers added after the full verify and verified from its checkpoint")
    p.add_argument("--market", type=int, default=0, help="market fills measured after everything else (0: none)")
    p.add_argument("--dir", default=None, help="folder for the database (default: a temporary folder, removed)")
    a = p.parse_args()
    if a.transactions <= SETUP_RECORDS:
        p.error(f"--transactions must exceed {SETUP_RECORDS}")

    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        folder = Path(tmp)
        db = folder / "ledger.db"
        t_build = time.perf_counter()
        led, alice = setup(db, folder)
        transfers = a.transactions - SETUP_RECORDS
        singles = min(a.singles, transfers)
        with Clock() as c_single:
            for _ in range(singles):
                single(led, alice)
        batched = transfers - singles
        with Clock() as c_batch:
            fill(led, alice, batched, a.batch)
        size = led.head()["tree_size"]
        assert size == a.transactions, (size, a.transactions)
        items = signed_batch(led, alice, a.batch)
        with Clock() as c_submit:
            led.submit_many(items, linked=True)
        led.close()
        build_s = time.perf_counter() - t_build
        size_bytes = db_bytes(db)
        total = a.transactions + a.batch

        with Ledger.open(str(db)) as led:
            with Clock() as c_verify:
                summary = verify_ledger(led)
            assert summary["ok"] and summary["size"] == total, summary
            with Clock() as c_keep:
                summary = verify_ledger(led, keep=True)  # the same, keeping the checkpoint for the incremental verify
        led = Ledger.open(str(db), led_key(folder))
        fill(led, alice, a.incremental, a.batch)
        with Clock() as c_inc:
            inc = verify_ledger(led, since=summary["checkpoint"], keep=bool(a.market))
        assert inc["size"] == total + a.incremental and inc["incremental_from"] == total
        market = measure_market(led, alice, a.market, a.batch, inc["checkpoint"] if a.market else None) if a.market else {}
        pages = wal_pages(led, alice, a.batch)
        led.close()

    out = {
        "transactions_verified": total,
        "build_s": round(build_s, 3),
        "batch_size": a.batch,
        "batch_transfers": batched,
        **(c_batch.rates(batched, "batch_transfers_signed") if batched else {}),
        **c_submit.rates(a.batch, "batch_transfers_presigned"),
        "single_transfers": singles,
        **c_single.rates(singles, "single_transfers"),
        "verify_s_wall": round(c_verify.wall, 3), "verify_s_cpu": round(c_verify.cpu, 3),
        **c_verify.rates(total, "verify_tx"),
        "verify_with_checkpoint_s_wall": round(c_keep.wall, 3), "verify_with_checkpoint_s_cpu": round(c_keep.cpu, 3),
        "incremental_transactions": a.incremental,
        "incremental_verify_s_wall": round(c_inc.wall, 3), "incremental_verify_s_cpu": round(c_inc.cpu, 3),
        **market,
        "wal_pages_per_batch": pages,
        "db_bytes": size_bytes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
        "sqlite": __import__("sqlite3").sqlite_version,
    }
    print(json.dumps(out))


def measure_market(led: Ledger, alice, n: int, size: int, checkpoint: dict) -> dict:
    """``n`` fills of 1 kg of a fixed-price listing by alice, bid by a new account with cash, in linked batches of ``size``."""
    from datetime import datetime, timedelta, timezone

    from gep.ledger.market import Market

    m, buyer = Market(led), keys.generate()
    led.open_account(led.head_key, "buyer", buyer.public)
    m.deposit(led.head_key, "buyer", f"{n} CNY")  # 1 kg at 1000 CNY/t costs 1 CNY
    listing = m.create_listing(alice, "alice", INS, n, "1000", closes=(datetime.now(timezone.utc) + timedelta(days=1)).isoformat()).seq
    fields = {"listing": listing, "account": "buyer", "instrument": INS, "quantity": 1, "price": "1000"}
    with Clock() as c:
        left = n
        while left:
            k = min(size, left)
            led.submit_many(led.sign_many(buyer, [("bid", fields, None) for _ in range(k)]), linked=True)
            left -= k
    with Clock() as v:
        inc = verify_ledger(led, since=checkpoint)
    assert inc["ok"] and len(m.trades(listing=listing)) == n
    return {"market_fills": n, **c.rates(n, "market_fills"), "market_incremental_verify_s_wall": round(v.wall, 3),
            "market_incremental_verify_s_cpu": round(v.cpu, 3), "market_incremental_verify_transactions": inc["size"] - inc["incremental_from"]}


def wal_pages(led: Ledger, alice, size: int) -> int:
    """Database pages one more linked batch of ``size`` transfers writes: the growth of the emptied WAL, automatic checkpoints off for it.

    Each commit writes every page it changed to the WAL (and fsyncs it); a checkpoint later copies them
    into the database file. Measured last, untimed, so no other figure is affected.
    """
    conn = led.store.conn
    wal = Path(f"{led.store.path}-wal")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        batch(led, alice, size)
    finally:
        conn.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default, which the store keeps
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    return (wal.stat().st_size - 32) // (page + 24)  # WAL header 32 bytes, each frame a 24-byte header and a page


def led_key(folder: Path):
    """The registry key written by :func:`setup` (to write again after reopening)."""
    return keys.load_private(folder / "registry.key")


if __name__ == "__main__":
    main()
