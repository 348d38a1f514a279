"""Side by side: ``benchmarks/ledger_scale.py`` of two source trees, alternately, on the same machine.

Usage::

    git archive <base-commit> | tar -x -C /tmp/base          # the tree to compare against
    python benchmarks/ledger_ab.py --base /tmp/base --new . --rounds 3 --transactions 100000

Each round runs the base tree's script and the new tree's (whole fresh processes, each
building its own ledger of the same size with the same options; the order swapped every
round, so neither tree always runs first), and records the 1-minute load average before
and after each run. Prints one JSON document: every run, and per tree the median
of each figure (wall-clock and CPU rates, verify seconds), so a change in the write or verify
paths shows against the noise of a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

FIGURES = ("batch_transfers_signed_per_s_wall", "batch_transfers_signed_per_s_cpu", "batch_transfers_presigned_per_s_wall",
           "batch_transfers_presigned_per_s_cpu", "single_transfers_per_s_wall", "single_transfers_per_s_cpu", "verify_s_wall", "verify_s_cpu",
           "verify_tx_per_s_cpu", "incremental_verify_s_cpu", "db_bytes", "peak_rss_mib")


def run(tree: Path, args: list[str]) -> dict:
    """One fresh process of ``tree``'s ledger_scale.py; its JSON line and the load before it."""
    load = os.getloadavg()[0]
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / "ledger_scale.py"), *args], capture_output=True, text=True, env=env, check=True)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    doc["load_before"], doc["load_after"] = round(load, 2), round(os.getloadavg()[0], 2)
    return doc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="source tree to compare against")
    p.add_argument("--new", type=Path, default=Path(__file__).resolve().parents[1], help="source tree measured (default: this one)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--transactions", type=int, default=100_000)
    a = p.parse_args()
    args = ["--transactions", str(a.transactions), "--singles", "1000", "--incremental", "1000"]
    runs: dict[str, list[dict]] = {"base": [], "new": []}
    for k in range(a.rounds):
        for name, tree in (("base", a.base), ("new", a.new))[::1 if k % 2 == 0 else -1]:
            runs[name].append(run(tree.resolve(), args))
            print(f"round {k + 1} {name}: {json.dumps({f: runs[name][-1].get(f) for f in FIGURES + ('load_before', 'load_after')})}", file=sys.stderr, flush=True)
    medians = {name: {f: statistics.median(r[f] for r in rs) for f in FIGURES} for name, rs in runs.items()}
    ratio = {f: round(medians["new"][f] / medians["base"][f], 3) for f in FIGURES if medians["base"][f]}
    print(json.dumps({"args": args, "runs": runs, "median": medians, "new_over_base": ratio}, indent=1))


if __name__ == "__main__":
    main()
