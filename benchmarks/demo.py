"""``gep run --demo`` (or ``gep run SCENARIO``) from two source trees, side by side: whole processes, alternately, several rounds.

Each tree runs as a fresh ``python -m gep.cli run --demo --out <tmp>`` with ``PYTHONPATH=<tree>`` (an exported
commit, e.g. ``git archive <commit> | tar -x -C <dir>``, or a worktree), in the same environment; the order
of the two is swapped every round so that load drift falls on both. Per run: wall seconds, user and system
CPU seconds and peak RSS of the process (``wait4``), the 1-minute load average when it started and the share
of CPU time the hypervisor took for other guests during it (steal, ``benchmarks/host.py``). One
untimed run of each tree comes first (file caches; the report's font subset cached for the user,
``gep.io.report.font_subset``).

Usage::

    python benchmarks/demo.py /work/scratch/base /work/wt/mine --rounds 3 --json demo.json
    python benchmarks/demo.py /work/scratch/base /work/wt/mine --scenario gvi/data-8000/carbon.toml --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.host import cpu_ticks, percent, percent_range, steal_share  # noqa: E402

ENV_PASS = ("PATH", "HOME", "LANG", "LC_ALL", "XDG_CACHE_HOME", "GEP_CACHE_DIR", "TMPDIR")


def run_once(tree: Path, work: Path, scenario: Path | None = None) -> dict:
    """One whole ``gep run --demo`` (or ``gep run scenario``) from ``tree``: wall, user, system [s], peak RSS [MiB],
    load when it started."""
    out = work / "run"
    shutil.rmtree(out, ignore_errors=True)
    env = {k: os.environ[k] for k in ENV_PASS if k in os.environ}
    env["PYTHONPATH"] = str(tree)
    load, ticks = os.getloadavg()[0], cpu_ticks()
    start = time.perf_counter()
    # -P and a neutral working folder: gep is imported from PYTHONPATH, never from the folder the script runs in
    proc = subprocess.Popen([sys.executable, "-P", "-c", "import sys; from gep.cli import main; sys.argv[0] = 'gep'; sys.exit(main())",
                             "run", str(scenario) if scenario else "--demo", "--out", str(out)], env=env, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"gep run {scenario or '--demo'} from {tree} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall_s": wall, "user_s": usage.ru_utime, "sys_s": usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024, "load": load,
            "steal": steal_share(ticks, cpu_ticks())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="source tree run first in odd rounds (e.g. the base commit exported)")
    ap.add_argument("after", type=Path, help="the other source tree")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write every run's figures here")
    ap.add_argument("--scenario", type=Path, help="run this scenario file instead of the demo")
    args = ap.parse_args(argv)
    scenario = args.scenario.resolve() if args.scenario else None
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, tree in trees.items():  # each tree's own gep, not an installed one
        found = subprocess.run([sys.executable, "-P", "-c", "import gep; print(gep.__file__)"], env={**os.environ, "PYTHONPATH": str(tree)},
                               cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True).stdout.strip()
        if not Path(found).resolve().is_relative_to(tree):
            raise SystemExit(f"{name}: PYTHONPATH={tree} imports gep from {found}")
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    with tempfile.TemporaryDirectory(prefix="gep-demo-bench-") as tmp:
        work = Path(tmp)
        for name, tree in trees.items():
            run_once(tree, work, scenario)  # warm-up, not timed
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                fig = run_once(trees[name], work, scenario)
                runs[name].append(fig)
                print(f"round {r + 1} {name:6s} wall {fig['wall_s']:6.2f} s  user {fig['user_s']:6.2f} s  sys {fig['sys_s']:5.2f} s  "
                      f"peak {fig['peak_mib']:6.0f} MiB  load {fig['load']:.1f}  steal {percent(fig['steal'])}", flush=True)
    print("\nmedian over the rounds (min–max):")
    for name, figs in runs.items():
        line = []
        for key, unit in (("wall_s", "s"), ("user_s", "s"), ("sys_s", "s"), ("peak_mib", "MiB")):
            vals = [f[key] for f in figs]
            line.append(f"{key[:-2] if key.endswith('_s') else 'peak'} {statistics.median(vals):.2f} ({min(vals):.2f}–{max(vals):.2f}) {unit}")
        cpu = [f["user_s"] + f["sys_s"] for f in figs]
        line.append(f"cpu {statistics.median(cpu):.2f} ({min(cpu):.2f}–{max(cpu):.2f}) s")
        line.append(f"steal {percent_range([f['steal'] for f in figs])}")
        print(f"  {name:6s} " + "; ".join(line))
    if args.json:
        args.json.write_text(json.dumps({"trees": {k: str(v) for k, v in trees.items()}, "scenario": str(scenario or "--demo"), "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
