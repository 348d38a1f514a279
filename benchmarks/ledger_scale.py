"""Scale run of the rights ledger on SQLite: build a ledger of N transactions, then verify it.

Usage::

    python benchmarks/ledger_scale.py --transactions 100000 [--dir DIR] [--batch 1000]

The log holds exactly N transactions: genesis, two account openings and one issuance
(``capacity/2/COD/2024`` to alice, against the test evidence of
``tests/ledger/helpers.py``), then 1,000 single transfers of 1 kg alice -> bob (one request
per database transaction, timed) and the rest as linked batches of ``--batch`` transfers
(``submit_many``, timed). Times include signing each request (Ed25519), as a client does.
The ledger is then closed and reopened, and ``verify`` (full replay and table comparison,
``gep.ledger.audit.verify_ledger``) is timed.

Prints one JSON line: transactions, build seconds, batch and single transfers per second,
verify seconds, database size [bytes] and peak RSS [MiB] of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gep.ledger import keys  # noqa: E402
from gep.ledger.audit import verify_ledger  # noqa: E402
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
    led = Ledger.init(str(db), registry, operators=[operator().public])
    led.open_account(registry, "alice", alice.public, id="open-alice")
    led.open_account(registry, "bob", bob.public, id="open-bob")
    led.issue(registry, INS, ISSUED, "alice", runs["capacity"], id="issue-1")
    return led, alice


def single(led: Ledger, alice) -> None:
    """One signed 1 kg transfer alice -> bob in its own database transaction."""
    led.transfer(alice, INS, 1, "alice", "bob")


def batch(led: Ledger, alice, n: int) -> None:
    """``n`` 1 kg transfers alice -> bob, signed with one batch signature, in one linked database transaction."""
    fields = led.transfer_fields(INS, 1, "alice", "bob")
    led.submit_many(led.sign_many(alice, [("transfer", fields, None) for _ in range(n)]), linked=True)


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

        t0 = time.perf_counter()
        for _ in range(singles):
            single(led, alice)
        single_s = time.perf_counter() - t0

        batched = transfers - singles
        t0 = time.perf_counter()
        fill(led, alice, batched, a.batch)
        batch_s = time.perf_counter() - t0
        size = led.head()["tree_size"]
        led.close()
        build_s = time.perf_counter() - t_build
        assert size == a.transactions, (size, a.transactions)
        size_bytes = db_bytes(db)

        with Ledger.open(str(db)) as led:
            t0 = time.perf_counter()
            summary = verify_ledger(led)
            verify_s = time.perf_counter() - t0
        assert summary["ok"] and summary["size"] == a.transactions, summary

    out = {
        "transactions": a.transactions,
        "build_s": round(build_s, 3),
        "batch_size": a.batch,
        "batch_transfers": batched,
        "batch_transfers_per_s": round(batched / batch_s, 1) if batched else None,
        "single_transfers": singles,
        "single_transfers_per_s": round(singles / single_s, 1),
        "verify_s": round(verify_s, 3),
        "verify_tx_per_s": round(a.transactions / verify_s, 1),
        "db_bytes": size_bytes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": sys.version.split()[0],
        "sqlite": __import__("sqlite3").sqlite_version,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
