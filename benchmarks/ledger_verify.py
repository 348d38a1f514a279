"""``verify`` alone, side by side: source trees alternately on the same ledger file, fresh processes.

Usage::

    python benchmarks/ledger_scale.py --transactions 100000 --dir /tmp/l100k   # build once (kept)
    git archive <base-commit> | tar -x -C /tmp/base
    python benchmarks/ledger_verify.py /tmp/l100k/ledger.db --tree base=/tmp/base --tree new=. --rounds 3

Each round runs, for every tree, one fresh Python process that opens the ledger and runs
``gep.ledger.verify.verify_ledger`` on it (full replay, signed heads, every table), timed
from just before the call to just after it. A tree may be given with ``:processes=1`` or
``:processes=2`` (``--tree one=.:1``) to force verify's record checks into this process or a
forked second one (trees that know the option; the default decides by log size and cores).

``--stages`` instead times the parts of one verify with this tree's code, each alone in one
process (CPU seconds): reading the log and tables, the stored heads' signatures, the records'
own checks with their roots (:mod:`gep.ledger.records`), the rules given those checks, and the
rest of the heads' checks and the table comparison. With two processes the second one makes
the records' checks but for the roots, which the first one makes with everything else.

Every figure is wall clock and CPU (user + system of the process and of its waited-for
children, i.e. both processes of a two-process verify), with the 1-minute load average before
the run: on a shared machine the wall clock also counts time other processes held the cores.
``cpu_main_s`` is the first process's CPU alone: with two processes on two otherwise idle
cores, the wall clock cannot be below it (nor below the second process's share).
Prints one JSON document: every run, and per tree the median wall and CPU seconds and rates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

#: The measured process: open, verify, print seconds (run with the tree on PYTHONPATH).
CHILD = r"""
import json, os, sys, time
from gep.ledger.ledger import Ledger
from gep.ledger.verify import verify_ledger

def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system, t.user + t.system

db, processes = sys.argv[1], sys.argv[2]
with Ledger.open(db) as led:
    kw = {} if processes == "auto" else {"processes": int(processes)}
    w, (c, m) = time.perf_counter(), cpu()
    summary = verify_ledger(led, **kw)
    wall, (c2, m2) = time.perf_counter() - w, cpu()
print(json.dumps({"size": summary["size"], "ok": summary["ok"], "wall_s": round(wall, 3), "cpu_s": round(c2 - c, 3), "cpu_main_s": round(m2 - m, 3)}))
"""


def run(tree: Path, db: str, processes: str) -> dict:
    """One fresh process verifying ``db`` with ``tree``'s code; its figures and the load before it."""
    load = os.getloadavg()[0]
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", CHILD, db, processes], capture_output=True, text=True, env=env, check=True, cwd=tree)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    doc.update(load_before=round(load, 2), tx_per_s_wall=round(doc["size"] / doc["wall_s"]), tx_per_s_cpu=round(doc["size"] / doc["cpu_s"]))
    return doc


STAGES = r"""
import gc, json, sys, time
from gep.ledger import merkle, records
from gep.ledger import verify as V
from gep.ledger.ledger import Ledger

spent = {}

def timed(name, fn):
    def wrapper(*args, **kwargs):
        c = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - c
    return wrapper

with Ledger.open(sys.argv[1]) as led:
    read = led.store.read
    led.store.read = timed("read log and tables", read)
    V.check_heads = timed("signed heads", V.check_heads)
    V.heads_mod.signed = timed("stored heads' signatures", V.heads_mod.signed)
    V._compare_tables = timed("compare tables", V._compare_tables)
    V.verify_ledger(led, processes=1)
    rows = read(lambda tx: tx.q("SELECT seq, client_id, record, leaf_hash, root FROM log ORDER BY seq"))
gc.disable()
c = time.process_time()
checks = records.Checks(rows, merkle.Frontier(), set(), keep_records=False)
chunks = list(checks.chunks())
checks.tree()
spent["records' own checks with their roots (stage 1)"] = time.process_time() - c
c = time.process_time()
V._replay(V.Replay(), rows, iter(chunks))
spent["decode and rules, given the checks (stage 2)"] = time.process_time() - c
n = len(rows)
print(json.dumps({"size": n, "cpu_s": {k: round(v, 3) for k, v in spent.items()}, "us_per_tx": {k: round(v / n * 1e6, 1) for k, v in spent.items()}}))
"""


def stages(db: str) -> dict:
    """CPU seconds of each part of a verify of ``db`` with this tree (one fresh process)."""
    tree = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", STAGES, db], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tree)),
                         check=True, cwd=tree)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), load_before=round(os.getloadavg()[0], 2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("db", help="ledger database (SQLite file) to verify")
    p.add_argument("--tree", action="append", default=[], help="NAME=PATH[:PROCESSES] of a source tree (repeatable)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stages", action="store_true", help="time the parts of one verify with this tree instead")
    a = p.parse_args()
    if a.stages:
        print(json.dumps(stages(str(Path(a.db).resolve())), indent=1))
        return
    if not a.tree:
        p.error("give --tree NAME=PATH (repeatable), or --stages")
    trees = []
    for spec in a.tree:
        name, _, rest = spec.partition("=")
        path, _, processes = rest.partition(":")
        trees.append((name, Path(path).resolve(), processes or "auto"))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in trees}
    for k in range(a.rounds):
        for name, tree, processes in trees:
            runs[name].append(run(tree, str(Path(a.db).resolve()), processes))
            print(f"round {k + 1} {name}: {json.dumps(runs[name][-1])}", file=sys.stderr, flush=True)
    medians = {name: {f: statistics.median(r[f] for r in rs) for f in ("wall_s", "cpu_s", "cpu_main_s", "tx_per_s_wall", "tx_per_s_cpu", "load_before")}
               for name, rs in runs.items()}
    print(json.dumps({"db": a.db, "runs": runs, "median": medians}, indent=1))


if __name__ == "__main__":
    main()
